import ConduitCore
import ConduitJournal
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// What a utility embeds or runs to publish to a Conduit broker.
///
/// ``publish(_:cursor:)`` validates the events, writes them to the on-disk ``Outbox`` (durably) and returns; the
/// agent's own thread then sends them through a window of unacknowledged events, resends what was not acknowledged
/// after a reconnection or a restart (same `source` and `id`: the broker deduplicates), and takes an event out of the
/// outbox only when the broker acknowledged it (durable in the journal) or rejected it (final, reported through
/// ``Configuration/onOutcome``, never retried). It announces itself with `HELLO`, heartbeats when idle, reconnects
/// with exponential backoff and jitter when the broker falls silent, and says `GOODBYE` on ``stop()``.
public final class Agent: Sendable {
    public struct Configuration: Sendable {
        /// The broker's ingest endpoint, e.g. `tcp://127.0.0.1:5570`.
        public var endpoint: String
        /// The ingest endpoints of the hub's other brokers, when it runs several that stand by for each other
        /// (`conduit broker --hub`): after a lost connection the agent tries the next broker, in turn, and stays
        /// with the one that welcomes it. Brokers standing by listen on nothing, so a try of one fails at once.
        public var alternateEndpoints: [String] = []
        /// Every broker the agent may connect to, the first first.
        public var endpoints: [String] { [endpoint] + alternateEndpoints }
        /// The agent's CloudEvents source, `/<organisation>/<agent>`; announced in `HELLO`.
        public var source: String
        /// Where the outbox lives; one directory per agent.
        public var outboxDirectory: String
        /// The heartbeat interval asked of the broker.
        public var heartbeatInterval: Duration = .seconds(1)
        /// The most events in flight (the broker's `WELCOME` may lower it).
        public var window: Int = 256
        /// The first reconnection delay and the cap of its doubling.
        public var reconnectInitial: Duration = .milliseconds(100)
        public var reconnectMaximum: Duration = .seconds(5)
        /// Events are validated against it before they enter the outbox until the hub tells its own plan (asked on
        /// every connection), and against the hub's from then on (`nil`: the broker alone validates until then).
        public var scenario: Scenario? = .default
        /// The client's key pair and the broker's public key when the broker requires CURVE.
        public var curve: (keys: CurveKeyPair, serverKey: [UInt8])?
        /// Whether the broker records the agent's presence (`HELLO`, heartbeats, `GOODBYE`: a birth and a death in
        /// the journal). A one-off publisher turns it off.
        public var announcesPresence = true
        /// Called on the agent's thread for every outcome; keep it short.
        public var onOutcome: @Sendable (AgentOutcome) -> Void = { _ in }

        public init(endpoint: String, source: String, outboxDirectory: String) {
            self.endpoint = endpoint
            self.source = source
            self.outboxDirectory = outboxDirectory
        }
    }

    public let configuration: Configuration
    /// The agent's outbox.
    public let outbox: Outbox
    private let logger: Logger
    /// The plan events are validated against: the configured one, then the hub's.
    private let validator: Mutex<EventValidator?>
    /// The hub's plan as last told, and the sequence of its event.
    private let hubPlan = Mutex<PlanInForce?>(nil)
    private let shared = Mutex<Shared>(Shared())
    private let thread: LoopThread<Void>

    private struct Shared {
        var inbox: [OutboxEntry] = []
        var status = AgentStatus()
        var outboxClosed = false
    }

    /// Opens the outbox (reading back what is pending from an earlier run). Call ``start()`` to connect.
    public init(configuration: Configuration, logger: Logger = Logger(label: "conduit.agent")) throws(AgentError) {
        guard configuration.source.hasPrefix("/"), configuration.source.count > 1 else {
            throw AgentError(.invalidConfiguration, "the source must be /<organisation>/<agent>, got \"\(configuration.source)\"")
        }
        self.configuration = configuration
        self.logger = logger
        self.validator = Mutex(configuration.scenario.map { EventValidator(scenario: $0) })
        do {
            outbox = try Outbox(directory: configuration.outboxDirectory)
        } catch {
            throw AgentError(.outboxUnusable, "cannot open the outbox: \(error)", underlying: error)
        }
        if outbox.tornTailBytes > 0 {
            logger.warning(
                "outbox.torn_tail",
                metadata: ["outbox.dropped_bytes": "\(outbox.tornTailBytes)", "outbox.path": "\(configuration.outboxDirectory)"])
        }
        thread = LoopThread(name: "conduit-agent")
        if thread.control.wakeUp.failure != 0 {
            throw AgentError(
                .system, "cannot create the agent's wake-up pipe: \(String(cString: strerror(thread.control.wakeUp.failure)))")
        }
    }

    /// The agent's counters and connection state.
    public var status: AgentStatus {
        var status = shared.withLock { $0.status }
        status.pending = outbox.pendingCount
        return status
    }

    /// The plan the hub told on the latest connection, if any.
    public var planOfHub: PlanInForce? { hubPlan.withLock { $0 } }

    /// Validates against the hub's plan from now on, and says so when it differs from the configured one.
    private func adoptHubPlan(_ told: PlanInForce) {
        let previous = hubPlan.withLock { hub in
            defer { hub = told }
            return hub
        }
        guard previous?.json != told.json else { return }
        let plan: Scenario
        do {
            plan = try told.plan()
        } catch {
            logger.warning("agent.plan_unreadable", metadata: ["error": "\(error)"])
            return
        }
        validator.withLock { $0 = EventValidator(scenario: plan) }
        if let configured = configuration.scenario, configured != plan {
            logger.notice(
                "agent.plan_differs",
                metadata: [
                    "plan.hub": "\(plan.id)", "plan.sequence": "\(told.sequence)", "plan.given": "\(configured.id)",
                    "note": "the hub's plan differs from the one given to this agent; events are validated against the hub's",
                ])
        } else {
            logger.debug("agent.plan", metadata: ["plan.hub": "\(plan.id)", "plan.sequence": "\(told.sequence)"])
        }
    }

    /// Validates `events`, stores them durably in the outbox (with `cursor`, the caller's position, stored in the
    /// same write) and hands them to the agent's thread. When this returns, the events survive a crash of the agent.
    ///
    /// - Throws: ``AgentError`` naming the event and what is wrong with it; nothing of the call is stored then.
    @discardableResult
    public func publish(_ events: [Event], cursor: UInt64? = nil) throws(AgentError) -> [OutboxEntry] {
        var records: [(source: String, id: String, json: [UInt8])] = []
        records.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            if let validator = validator.withLock({ $0 }) {
                do {
                    try validator.validate(event)  // the payload's own rules included
                } catch {
                    throw AgentError(.invalidEvent, "event \(index) (\(event.source) \(event.id)) is invalid: \(error)", underlying: error)
                }
            }
            records.append((event.source, event.id, EventCodec.encode(event)))
        }
        let entries: [OutboxEntry]
        do {
            entries = try outbox.enqueue(records, cursor: cursor)
        } catch {
            throw AgentError(.outboxUnusable, "cannot store in the outbox: \(error)", underlying: error)
        }
        guard !entries.isEmpty else { return entries }
        shared.withLock { $0.inbox += entries }
        thread.control.wakeUp.signal()
        return entries
    }

    /// Starts the agent's thread: it connects, resends what the outbox holds, then publishes as events come.
    public func start() {
        _ = try? thread.start(body)
    }

    /// ``start()`` without blocking the caller's thread.
    public func start() async {
        _ = try? await thread.start(body)
    }

    private var body: @Sendable (LoopThread<Void>.Setup) throws -> Void {
        { [self] setup in
            setup.ready(())
            run(control: setup.control)
        }
    }

    /// ``drain(timeout:)`` without blocking the caller's thread: it checks every 5 ms with a task sleep.
    public func drain(timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while outbox.pendingCount > 0 {
            if clock.now >= deadline { return false }
            if shared.withLock({ $0.status.refused != nil }) { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Waits until every event stored so far was acknowledged or rejected, or `timeout` passed; returns whether
    /// the outbox is empty.
    public func drain(timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while outbox.pendingCount > 0 {
            if clock.now >= deadline { return false }
            if shared.withLock({ $0.status.refused != nil }) { return false }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return true
    }

    /// Says `GOODBYE` (if connected), closes the connection, ends the thread and closes the outbox (releasing it
    /// for another process). What is still pending stays in the outbox for the next run. Safe to call more than once.
    public func stop() {
        thread.stop(grace: .seconds(10))
        closeOutbox()
    }

    /// Asks the agent to stop, without waiting.
    public func requestStop() { thread.requestStop() }

    /// Awaits the end of the agent's thread without blocking the caller's thread.
    public func finished() async { await thread.finished() }

    private func closeOutbox() {
        let close = shared.withLock { shared -> Bool in
            defer { shared.outboxClosed = true }
            return !shared.outboxClosed
        }
        if close { outbox.close() }
    }

    deinit {
        stop()
    }

    // MARK: - The agent's thread

    private static func monotonicMicroseconds() -> Int64 { SystemClock.monotonicMicroseconds() }

    private func run(control: LoopControl) {
        let context: Context
        do {
            context = try Context()
        } catch {
            logger.error("agent.context_failed", metadata: ["error": "\(error)"])
            return
        }
        thread.use(context)
        defer { context.terminate() }
        var session = AgentSession(
            settings: .init(
                source: configuration.source,
                // At least the 100 ms the broker grants at the least (0 would time the greeting out at once).
                heartbeatIntervalMicroseconds: max(100_000, configuration.heartbeatInterval.microseconds),
                window: max(1, configuration.window),
                reconnectInitialMicroseconds: max(1000, configuration.reconnectInitial.microseconds),
                reconnectMaximumMicroseconds: max(1000, configuration.reconnectMaximum.microseconds),
                announce: configuration.announcesPresence, endpointCount: configuration.endpoints.count),
            jitterSeed: UInt64(bitPattern: Self.monotonicMicroseconds()) ^ UInt64(getpid()))
        let pending = outbox.pending
        // What the outbox held at start is queued first; later publishes arrive through the inbox. The outbox numbers
        // entries in increasing order, so an inbox entry at or below the snapshot's highest number is one the
        // snapshot already has (published while it was read), whether or not it has been answered since.
        let snapshotHighest = pending.last?.number ?? 0
        _ = session.enqueue(pending, now: Self.monotonicMicroseconds())
        var socket: Socket?
        var monitor: SocketMonitor?
        func closeConnection(linger: Duration) {
            monitor?.close()
            monitor = nil
            socket?.close(linger: linger)
            socket = nil
        }
        defer { closeConnection(linger: .zero) }

        func carryOut(_ actions: [AgentSession.Action]) {
            for action in actions {
                switch action {
                case .connect:
                    closeConnection(linger: .zero)
                    do {
                        let fresh = try Socket(context, type: .dealer)
                        try fresh.set(.linger, .milliseconds(500))
                        if let curve = configuration.curve { try fresh.makeCurveClient(curve.keys, serverKey: curve.serverKey) }
                        // Watch the connection: when it drops (the broker stopped or restarted), start afresh at once
                        // rather than let ZeroMQ reconnect underneath, so a new broker hears HELLO.
                        monitor = try SocketMonitor(fresh)
                        let endpoint = configuration.endpoints[session.endpointIndex]
                        try fresh.connect(endpoint)
                        socket = fresh
                        logger.debug("agent.connecting", metadata: ["agent.endpoint": "\(endpoint)"])
                    } catch {
                        logger.warning("agent.connect_failed", metadata: ["error": "\(error)"])
                    }
                case .disconnect:
                    closeConnection(linger: .zero)
                    shared.withLock {
                        $0.status.connected = false
                        $0.status.reconnects = session.reconnects
                    }
                    // A refusal is reported as such, not as a lost connection.
                    if session.phase != .refused { configuration.onOutcome(.disconnected) }
                case .send(let frames):
                    do {
                        _ = try socket?.send(frames: frames, wait: false)
                    } catch {
                        logger.warning("agent.send_failed", metadata: ["error": "\(error)"])
                    }
                case .acknowledged(let entry, let acknowledgement):
                    do {
                        try outbox.markDone(entry.number, .acknowledged)
                    } catch {
                        logger.error("outbox.write_failed", metadata: ["error": "\(error)"])
                    }
                    shared.withLock {
                        $0.status.acknowledged += 1
                        if acknowledgement.duplicate { $0.status.duplicates += 1 }
                        $0.status.lastSequence = max($0.status.lastSequence, acknowledgement.sequence)
                    }
                    configuration.onOutcome(.acknowledged(entry, sequence: acknowledgement.sequence, duplicate: acknowledgement.duplicate))
                case .rejected(let entry, let rejection):
                    do {
                        try outbox.markDone(entry.number, .rejected)
                    } catch {
                        logger.error("outbox.write_failed", metadata: ["error": "\(error)"])
                    }
                    shared.withLock { $0.status.rejected += 1 }
                    logger.warning(
                        "agent.rejected",
                        metadata: ["event.id": "\(entry.id)", "error.code": "\(rejection.error.code.rawValue)", "error": "\(rejection.error)"])
                    configuration.onOutcome(.rejected(entry, rejection.error))
                case .plan(let told):
                    adoptHubPlan(told)
                case .refused(let rejection):
                    shared.withLock { $0.status.refused = rejection.error }
                    logger.error("agent.refused", metadata: ["error": "\(rejection.error)"])
                    configuration.onOutcome(.refused(rejection.error))
                }
            }
        }

        while true {
            let now = Self.monotonicMicroseconds()
            let stopping = control.isStopRequested
            let inbox = shared.withLock { shared in
                defer { shared.inbox.removeAll(keepingCapacity: true) }
                return shared.inbox
            }
            if stopping {
                carryOut(session.goodbye())
                closeConnection(linger: .milliseconds(500))
                return
            }
            let fresh = inbox.filter { $0.number > snapshotHighest }
            if !fresh.isEmpty { carryOut(session.enqueue(fresh, now: now)) }
            while let event = try? monitor?.next(timeout: .zero) {
                if event.kind == .disconnected {
                    logger.info("agent.disconnected", metadata: ["agent.endpoint": "\(configuration.endpoints[session.endpointIndex])"])
                    carryOut(session.connectionLost(now: Self.monotonicMicroseconds()))
                    break
                }
                if event.kind == .handshakeSucceeded {
                    shared.withLock { $0.status.handshakeFailure = nil }
                    continue
                }
                if let refusal = event.refusal(by: "broker") {
                    let isNew = shared.withLock {
                        let isNew = $0.status.handshakeFailure != refusal
                        $0.status.handshakeFailure = refusal
                        return isNew
                    }
                    if isNew { logger.warning("agent.handshake_failed", metadata: ["error": "\(refusal)"]) }
                    continue
                }
                if event.kind == .connectRetried, configuration.endpoints.count > 1 {
                    carryOut(session.connectionRefused(now: Self.monotonicMicroseconds()))
                    break
                }
            }
            carryOut(session.tick(now: Self.monotonicMicroseconds()))
            if case .ready = session.phase, session.welcome != nil || !configuration.announcesPresence,
                shared.withLock({ !$0.status.connected })
            {
                shared.withLock {
                    $0.status.connected = true
                    $0.status.reconnects = session.reconnects
                }
                if let welcome = session.welcome { configuration.onOutcome(.connected(welcome)) }
            }

            let poller = Poller()
            let wakeIndex = poller.add(fileDescriptor: control.wakeUp.descriptor)
            let socketIndex = socket.map { poller.add($0) }
            monitor?.addTo(poller)  // a dropped connection wakes the loop
            let wait = max(0, session.nextDeadline - Self.monotonicMicroseconds())
            do {
                _ = try poller.poll(timeout: .microseconds(wait))
            } catch {
                logger.error("agent.poll_failed", metadata: ["error": "\(error)"])
                return
            }
            if poller.isReadable(wakeIndex) { control.wakeUp.drain() }
            if let socketIndex, poller.isReadable(socketIndex), let current = socket {
                var received = 0
                while received < 1024 {
                    let frames: [[UInt8]]?
                    do {
                        frames = try current.receiveFrames(wait: false)
                    } catch {
                        logger.warning("agent.receive_failed", metadata: ["error": "\(error)"])
                        break
                    }
                    guard let frames else { break }
                    received += 1
                    do {
                        let reply = try IngestReply.decode(frames)
                        carryOut(session.receive(reply, now: Self.monotonicMicroseconds()))
                    } catch {
                        logger.warning("agent.bad_reply", metadata: ["error": "\(error)"])
                    }
                    if socket == nil { break }
                }
            }
        }
    }
}

/// What happened to the agent's events and connection, reported as it happens.
public enum AgentOutcome: Sendable {
    /// Welcomed by the broker.
    case connected(Welcome)
    /// The connection was given up (the broker fell silent); the agent reconnects after a backoff.
    case disconnected
    /// Durable in the broker's journal at `sequence` (the original one for a duplicate).
    case acknowledged(OutboxEntry, sequence: UInt64, duplicate: Bool)
    /// Refused by the broker for the reason given; it is out of the outbox and will not be resent.
    case rejected(OutboxEntry, ConduitError)
    /// The broker refused the agent's `HELLO` (unknown or forbidden source); nothing will be sent.
    case refused(ConduitError)
}

/// The agent's counters.
public struct AgentStatus: Sendable, Equatable {
    /// Welcomed by the broker now.
    public var connected = false
    /// Events in the outbox, not yet acknowledged or rejected.
    public var pending = 0
    public var acknowledged = 0
    /// Of the acknowledged, those the broker had already stored (resends).
    public var duplicates = 0
    public var rejected = 0
    /// Connections given up and retried.
    public var reconnects = 0
    /// The highest sequence acknowledged.
    public var lastSequence: UInt64 = 0
    /// Set when the broker refused the agent's source.
    public var refused: ConduitError?
    /// Why the broker turns the connection's CURVE handshake down (a key it does not admit, or the wrong server key),
    /// while it does: the agent goes on retrying, since the broker may be given the key, and clears it once a
    /// handshake succeeds.
    public var handshakeFailure: String?

    public init() {}
}

/// An error of the agent: a clear message, and the validation error when an event was refused locally.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The configuration is wrong (a source that is not `/<organisation>/<agent>`).
        case invalidConfiguration
        /// The outbox cannot be opened, is in use, or cannot be written.
        case outboxUnusable
        /// An event was refused before it was stored (``AgentError/rejection`` says why).
        case invalidEvent
        /// The system refused a resource (a descriptor for the wake-up pipe).
        case system
    }

    public var code: Code
    /// What went wrong, in a sentence.
    public var message: String
    /// The error beneath: the validation error of a refused event, the outbox's error, …
    public var underlying: (any Error & Sendable)?

    /// The validation error, when an event was refused locally.
    public var rejection: ConduitError? { underlying as? ConduitError }

    public var description: String { message }

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }
}


extension Duration {
    /// Whole microseconds.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

extension Agent: Service {
    /// Starts (if not yet) and publishes until the service group shuts down gracefully or the task is cancelled;
    /// then says `GOODBYE` and closes its outbox. What is pending stays there for the next run.
    public func run() async throws {
        defer { closeOutbox() }
        try await thread.runAsService(body)
    }
}
