import ConduitCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// The events that concern an organisation, from the broker's fan-out: the other organisations' outages and
/// inspections at the communities where it has work.
///
/// It subscribes to the `outage/` and `inspection/` topics and keeps the events whose `site` (or work item's
/// community) is one of the organisation's and whose source is another organisation. It runs its own thread and
/// calls `handler` there. It is a feed for people, not a ledger: it does not fill gaps from the journal as the
/// aggregator does.
public final class AgentFeed: Sendable {
    public let organisation: String
    /// The communities where the organisation has work items.
    public let sites: Set<String>
    private let endpoint: String
    private let scenario: Scenario
    private let curve: (keys: CurveKeyPair, serverKey: [UInt8])?
    private let handler: @Sendable (Event) -> Void
    private let thread: LoopThread<Void>

    /// The topic prefixes the feed subscribes to.
    public static let prefixes = ["outage/", "inspection/"]

    public init(
        endpoint: String, organisation: String, scenario: Scenario = .default,
        curve: (keys: CurveKeyPair, serverKey: [UInt8])? = nil, handler: @escaping @Sendable (Event) -> Void
    ) {
        self.endpoint = endpoint
        self.organisation = organisation
        self.scenario = scenario
        self.curve = curve
        self.handler = handler
        self.sites = Set(scenario.workItems.filter { $0.organisation == organisation }.map(\.community))
        self.thread = LoopThread(name: "conduit-agent-feed")
    }

    /// Whether `event` concerns the organisation.
    public func concerns(_ event: Event) -> Bool {
        guard event.kind == .outage || event.kind == .inspection, event.sourceOrganisation != organisation else { return false }
        let site = event.site ?? event.workItem.flatMap { scenario.workItem($0)?.community }
        return site.map(sites.contains) ?? false
    }

    /// Connects and starts delivering. Throws if the socket cannot be set up.
    public func start() throws(ZMQError) {
        do {
            try thread.start(body)
        } catch let error as ZMQError {
            throw error
        } catch {
            throw ZMQError(code: .init(rawValue: EINVAL), operation: "the agent feed: \(error)")
        }
    }

    /// ``start()`` without blocking the caller's thread.
    public func start() async throws {
        try await thread.start(body)
    }

    /// Stops the thread and closes the socket.
    public func stop() {
        thread.stop(grace: .seconds(10))
    }

    private var body: @Sendable (LoopThread<Void>.Setup) throws -> Void {
        { [self] setup in
            let context = try Context()
            let socket = try Socket(context, type: .sub)
            defer {
                socket.close(linger: .zero)
                context.terminate()
            }
            try socket.set(.linger, .zero)
            if let curve { try socket.makeCurveClient(curve.keys, serverKey: curve.serverKey) }
            for prefix in Self.prefixes { try socket.subscribe(prefix) }
            try socket.connect(endpoint)
            thread.use(context)
            setup.ready(())
            run(socket, control: setup.control)
        }
    }

    private func run(_ socket: Socket, control: LoopControl) {
        let poller = Poller()
        poller.add(socket)
        let wakeIndex = poller.add(fileDescriptor: control.wakeUp.descriptor)
        while !control.isStopRequested {
            do {
                guard try poller.poll(timeout: nil) > 0 else { continue }
            } catch {
                return  // the context was shut down
            }
            if poller.isReadable(wakeIndex) { control.wakeUp.drain() }
            while let frames = try? socket.receiveFrames(wait: false) {
                guard case .event(_, let record)? = try? FanoutMessage.decode(frames) else { continue }
                guard let event = try? EventCodec.decode(record.event), concerns(event) else { continue }
                handler(event)
            }
        }
    }
}

extension AgentFeed: Service {
    /// Starts (if not yet) and delivers until the service group shuts down gracefully or the task is cancelled.
    public func run() async throws {
        try await thread.runAsService(body)
    }
}
