import ConduitCore
import Foundation
import Logging
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
    private let stopFlag = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

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
    }

    /// Whether `event` concerns the organisation.
    public func concerns(_ event: Event) -> Bool {
        guard event.kind == .outage || event.kind == .inspection, event.sourceOrganisation != organisation else { return false }
        let site = event.site ?? event.workItem.flatMap { scenario.workItem($0)?.community }
        return site.map(sites.contains) ?? false
    }

    /// Connects and starts delivering. Throws if the socket cannot be set up.
    public func start() throws(ZMQError) {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let context: Context
        let socket: Socket
        do throws(ZMQError) {
            context = try Context()
            socket = try Socket(context, type: .sub)
            try socket.set(.linger, .zero)
            if let curve { try socket.makeCurveClient(curve.keys, serverKey: curve.serverKey) }
            for prefix in Self.prefixes { try socket.subscribe(prefix) }
            try socket.connect(endpoint)
        } catch {
            started.store(false, ordering: .releasing)  // nothing runs: stop() must not wait for a thread
            throw error
        }
        let box = SocketBox(socket: socket, context: context)
        let thread = Thread { [self] in
            defer { finished.signal() }
            run(box)
        }
        thread.name = "conduit-agent-feed"
        thread.start()
    }

    /// Stops the thread and closes the socket.
    public func stop() {
        stopFlag.store(true, ordering: .releasing)
        guard started.load(ordering: .acquiring) else { return }
        finished.wait()
        finished.signal()
    }

    /// Hands the socket to the feed's thread, which alone uses it from then on.
    private final class SocketBox: @unchecked Sendable {
        // Created on the caller's thread and used only by the feed's thread after `start()` hands it over.
        let socket: Socket
        let context: Context
        init(socket: Socket, context: Context) {
            self.socket = socket
            self.context = context
        }
    }

    private func run(_ box: SocketBox) {
        let socket = box.socket
        defer {
            socket.close(linger: .zero)
            box.context.terminate()
        }
        let poller = Poller()
        poller.add(socket)
        while !stopFlag.load(ordering: .acquiring) {
            guard (try? poller.poll(timeout: .milliseconds(100))) ?? 0 > 0 else { continue }
            while let frames = try? socket.receiveFrames(wait: false) {
                guard case .event(_, let record)? = try? FanoutMessage.decode(frames) else { continue }
                guard let event = try? EventCodec.decode(record.event), concerns(event) else { continue }
                handler(event)
            }
        }
    }
}
