import ConduitOperations
import Foundation
import Logging
import ServiceLifecycle

/// How the long-running commands run their parts: one `ServiceGroup`, shut down gracefully on SIGINT or SIGTERM
/// (the signals are trapped before any part starts, so a signal sent as soon as a command announces itself is
/// never lost). A part that ends, or fails, shuts the others down gracefully too.
enum ServiceRunning {
    static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map {
                    .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                          failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// A part of a command that does its work once the others are ready (announce endpoints, print a line), then stays
/// until the group shuts down. With `notifying`, it tells a service manager (systemd, `Type=notify`) that the
/// command is ready once the work is done, and that it is stopping when the shutdown begins.
struct OnceStarted: Service {
    let work: @Sendable () async throws -> Void
    let notifying: Bool

    init(notifying: Bool = false, _ work: @escaping @Sendable () async throws -> Void) {
        self.work = work
        self.notifying = notifying
    }

    func run() async throws {
        try await work()
        let environment = ProcessInfo.processInfo.environment
        if notifying { ServiceNotification.ready(environment: environment) }
        try? await gracefulShutdown()
        if notifying { ServiceNotification.stopping(environment: environment) }
    }
}
