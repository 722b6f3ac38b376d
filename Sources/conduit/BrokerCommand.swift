import ArgumentParser
import ConduitBroker
import ConduitCore
import ConduitJournal
import Foundation
import Synchronization
import Logging
import ServiceLifecycle

/// `conduit broker`: runs the broker until SIGINT or SIGTERM.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the broker: ingest from agents, durable journal, fan-out to subscribers, replay queries.",
        discussion: """
            Settings come from, in increasing priority: the defaults, a JSON file (--config), the environment \
            (CONDUIT_INGEST, CONDUIT_FANOUT, CONDUIT_QUERY, CONDUIT_DATA, CONDUIT_DEDUPE_WINDOW, CONDUIT_LOG_LEVEL), \
            and the flags below. The JSON file may hold any of: ingest, fanout, query, data, segmentMegabytes, \
            dedupeWindow, maximumBatch, fanoutHighWaterMark, fanoutHeartbeatMs, agentHeartbeatMs, \
            retentionMegabytes, retentionHours, durability ("batch" or "unsafe-no-sync").

            Every event is acknowledged only once it is in the journal and synced to disk (fdatasync). \
            SIGINT or SIGTERM stops the broker gracefully: the current batch is finished and acknowledged, \
            then the sockets and the journal are closed.

            Exit status: 0 after a graceful stop; 69 when an endpoint is taken or cannot be bound; 74 when the \
            journal directory cannot be used, or the journal failed (a failed fdatasync) and the broker stopped \
            rather than acknowledge anything it cannot vouch for; 64 for a bad setting.
            """
    )

    @Option(help: "A JSON file of settings (see above).")
    var config: String?

    @Option(help: "The ingest endpoint agents connect to (default tcp://127.0.0.1:5570).")
    var ingest: String?

    @Option(help: "The fan-out endpoint subscribers connect to (default tcp://127.0.0.1:5571).")
    var fanout: String?

    @Option(help: "The query endpoint for replay, head and statistics (default tcp://127.0.0.1:5572).")
    var query: String?

    @Option(help: "The journal directory (default ./conduit-data/journal).")
    var data: String?

    @Option(help: "Recent events remembered at least, to deduplicate resends (default 500000; up to twice as many are kept).")
    var dedupeWindow: Int?

    @Option(help: "Journal durability: batch (fdatasync before every acknowledgement) or unsafe-no-sync (tests only).")
    var durability: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "A scenario file (JSON) to validate events against, instead of the default three communities.")
    var scenario: String?

    @Option(help: "Turn CURVE authentication on with the broker's secret key file (see conduit keygen).")
    var serverKey: String?

    @Option(help: "With --server-key: the directory of the admitted clients' public key files (*.pub).")
    var clientKeys: String?

    func run() async throws {
        let settings: BrokerSettings
        do {
            settings = try BrokerSettings.resolve(
                file: config, environment: ProcessInfo.processInfo.environment,
                flags: BrokerSettings(
                    ingest: ingest, fanout: fanout, query: query, data: data, dedupeWindow: dedupeWindow,
                    durability: durability, logLevel: logLevel))
        } catch {
            FileHandle.standardError.write(Data("conduit broker: \(error)\n".utf8))
            throw ExitCode(64)
        }
        let level = settings.logLevel.flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration: BrokerConfiguration
        do {
            configuration = try settings.configuration()
            if let scenario {
                configuration.scenario = try loadScenario(scenario)
            }
            switch (serverKey, clientKeys) {
            case (nil, nil): break
            case (let serverKey?, let clientKeys?):
                configuration.authentication = try BrokerAuthentication.load(
                    serverKeyFile: serverKey, clientsDirectory: clientKeys, scenario: configuration.scenario)
            default:
                throw BrokerSettings.Invalid(description: "--server-key and --client-keys go together")
            }
        } catch {
            FileHandle.standardError.write(Data("conduit broker: \(error)\n".utf8))
            throw ExitCode(64)
        }
        let broker = Broker(configuration: configuration, logger: Logger(label: "conduit.broker"))
        let announce = OnceStarted { [configuration] in
            let endpoints = try await broker.start()
            print(endpoints.announcement)
            print("journal \(configuration.journalDirectory)")
            if let authentication = configuration.authentication {
                print("curve \(authentication.serverKeys.publicKeyText) (\(authentication.clients.count) client keys)")
            }
            fflush(nil)
        }
        do {
            try await ServiceRunning.run([broker, announce], logger: Logger(label: "conduit.broker"))
        } catch let error as BrokerError where broker.failure == nil {
            // It could not start: nothing is running.
            FileHandle.standardError.write(Data("conduit broker: \(error)\n".utf8))
            throw ExitCode(error.code == .endpointUnavailable ? 69 : error.code == .journalUnusable ? 74 : 1)
        } catch {
            if broker.failure == nil { throw error }
        }
        if let failure = broker.failure {
            FileHandle.standardError.write(Data("conduit broker: stopped: \(failure)\n".utf8))
            throw ExitCode(74)
        }
    }
}

/// Calls a handler on SIGINT/SIGTERM instead of letting the process die, so shutdown can be graceful.
final class SignalWatcher {
    private let sources: [any DispatchSourceSignal]

    /// Signals whose default action is already turned off. On Linux, libdispatch installs its own handler when the
    /// first source for a signal is made; setting `SIG_IGN` again for a second watcher would remove it.
    private static let ignored = Mutex<Set<Int32>>([])

    init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        sources = signals.map { number in
            if Self.ignored.withLock({ $0.insert(number).inserted }) { signal(number, SIG_IGN) }
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// The broker's settings as given by a file, the environment or flags; `nil` means "not given here".
struct BrokerSettings: Codable, Equatable {
    var ingest: String?
    var fanout: String?
    var query: String?
    var data: String?
    var dedupeWindow: Int?
    var durability: String?
    var logLevel: String?
    var segmentMegabytes: Int?
    var maximumBatch: Int?
    var fanoutHighWaterMark: Int?
    var fanoutHeartbeatMs: Int?
    var agentHeartbeatMs: Int?
    var retentionMegabytes: Int?
    var retentionHours: Int?

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    /// Later sources override earlier ones, field by field.
    func overridden(by other: BrokerSettings) -> BrokerSettings {
        BrokerSettings(
            ingest: other.ingest ?? ingest, fanout: other.fanout ?? fanout, query: other.query ?? query,
            data: other.data ?? data, dedupeWindow: other.dedupeWindow ?? dedupeWindow,
            durability: other.durability ?? durability, logLevel: other.logLevel ?? logLevel,
            segmentMegabytes: other.segmentMegabytes ?? segmentMegabytes, maximumBatch: other.maximumBatch ?? maximumBatch,
            fanoutHighWaterMark: other.fanoutHighWaterMark ?? fanoutHighWaterMark,
            fanoutHeartbeatMs: other.fanoutHeartbeatMs ?? fanoutHeartbeatMs,
            agentHeartbeatMs: other.agentHeartbeatMs ?? agentHeartbeatMs,
            retentionMegabytes: other.retentionMegabytes ?? retentionMegabytes,
            retentionHours: other.retentionHours ?? retentionHours)
    }

    static func resolve(file: String?, environment: [String: String], flags: BrokerSettings) throws -> BrokerSettings {
        var settings = BrokerSettings()
        if let file {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw Invalid(description: "cannot read the settings file \(file): \(error.localizedDescription)")
            }
            do { settings = try JSONDecoder().decode(BrokerSettings.self, from: data) } catch {
                throw Invalid(description: "the settings file \(file) is not valid: \(error)")
            }
        }
        var fromEnvironment = BrokerSettings()
        fromEnvironment.ingest = environment["CONDUIT_INGEST"]
        fromEnvironment.fanout = environment["CONDUIT_FANOUT"]
        fromEnvironment.query = environment["CONDUIT_QUERY"]
        fromEnvironment.data = environment["CONDUIT_DATA"]
        fromEnvironment.logLevel = environment["CONDUIT_LOG_LEVEL"]
        if let window = environment["CONDUIT_DEDUPE_WINDOW"] {
            guard let value = Int(window) else {
                throw Invalid(description: "CONDUIT_DEDUPE_WINDOW must be a whole number, got \"\(window)\"")
            }
            fromEnvironment.dedupeWindow = value
        }
        return settings.overridden(by: fromEnvironment).overridden(by: flags)
    }

    func configuration() throws -> BrokerConfiguration {
        var configuration = BrokerConfiguration(journalDirectory: data ?? "conduit-data/journal")
        if let ingest { configuration.ingestEndpoint = ingest }
        if let fanout { configuration.fanoutEndpoint = fanout }
        if let query { configuration.queryEndpoint = query }
        if let dedupeWindow {
            guard dedupeWindow >= 1 else { throw Invalid(description: "dedupeWindow must be at least 1, got \(dedupeWindow)") }
            configuration.dedupeWindow = dedupeWindow
        }
        switch durability ?? "batch" {
        case "batch": configuration.journal.durability = .perBatch
        case "unsafe-no-sync": configuration.journal.durability = .unsafeNoSyncForTestsOnly
        case let other:
            throw Invalid(
                description: "durability must be \"batch\" or \"unsafe-no-sync\", got \"\(other)\" (an acknowledgement always means synced to disk)")
        }
        if let segmentMegabytes {
            guard segmentMegabytes >= 1 else { throw Invalid(description: "segmentMegabytes must be at least 1") }
            configuration.journal.segmentSize = segmentMegabytes << 20
        }
        if let maximumBatch {
            guard maximumBatch >= 1 else { throw Invalid(description: "maximumBatch must be at least 1") }
            configuration.maximumBatch = maximumBatch
        }
        if let fanoutHighWaterMark {
            guard fanoutHighWaterMark >= 1 else { throw Invalid(description: "fanoutHighWaterMark must be at least 1") }
            configuration.fanoutHighWaterMark = Int32(clamping: fanoutHighWaterMark)
        }
        if let fanoutHeartbeatMs {
            guard fanoutHeartbeatMs >= 10 else { throw Invalid(description: "fanoutHeartbeatMs must be at least 10") }
            configuration.fanoutHeartbeatInterval = .milliseconds(fanoutHeartbeatMs)
        }
        if let agentHeartbeatMs {
            guard agentHeartbeatMs >= 100 else { throw Invalid(description: "agentHeartbeatMs must be at least 100") }
            configuration.agentHeartbeatInterval = .milliseconds(agentHeartbeatMs)
        }
        if retentionMegabytes != nil || retentionHours != nil {
            configuration.journal.retention = JournalRetention(
                maximumTotalBytes: retentionMegabytes.map { UInt64($0) << 20 },
                maximumAge: retentionHours.map { .seconds($0 * 3600) })
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw Invalid(description: "log level must be one of trace, debug, info, notice, warning, error, critical; got \"\(logLevel)\"")
        }
        return configuration
    }
}

/// Reads a scenario file, with an error that names the file and what is wrong in it.
func loadScenario(_ path: String) throws -> Scenario {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw BrokerSettings.Invalid(description: "cannot read the scenario file \(path): \(error.localizedDescription)")
    }
    do { return try Scenario.decode(Array(data)) } catch {
        throw BrokerSettings.Invalid(description: "the scenario file \(path) is not valid: \(error)")
    }
}
