import ConduitCore
import ConduitState
import ZeroMQ

/// Follows a broker by the ZeroMQ Guide's Clone pattern: a SUB socket on its fan-out (subscribed to everything,
/// heartbeats included, and connected first) and a DEALER on its query endpoint, driven by a ``FanoutSync``. It
/// sends the sync's requests itself and hands every other action to its caller, in order: the events to apply, the
/// clock to advance, the gaps and the replays' ends.
///
/// ```swift
/// let follower = try FanoutFollower(context: context, configuration: .init(fanout: fanout, query: query))
/// try follower.start(from: state.lastSequence) { action in … }
/// let poller = Poller()
/// follower.add(to: poller)
/// while running {
///     try poller.poll(timeout: follower.nextDeadline)
///     try follower.receive { action in … }
/// }
/// follower.close()
/// ```
///
/// Like its sockets, a follower belongs to the thread that made it.
public final class FanoutFollower {
    public struct Configuration: Sendable {
        /// The broker's fan-out (XPUB) and query (ROUTER) endpoints.
        public var fanout: String
        public var query: String
        /// The subscriber's receive high-water mark, in messages: beyond it ZeroMQ drops live events, and the
        /// gap is filled from the journal.
        public var receiveHighWaterMark: Int32 = 100_000
        /// The kernel receive buffer of the subscriber's connection in bytes; `nil` for the system's.
        public var receiveBuffer: Int32?
        /// The most fan-out messages taken in one ``FanoutFollower/receive(_:)``, so that a flood cannot starve
        /// the caller's other work.
        public var fanoutBatch = 4096
        public var sync = FanoutSync.Settings()
        /// The keys for a broker that requires CURVE; `nil` for plain connections.
        public var curve: CurveClientKeys?

        public init(fanout: String, query: String) {
            self.fanout = fanout
            self.query = query
        }
    }

    public let configuration: Configuration
    /// The sync's state: the sequence applied, the replay in progress, the events held back.
    public private(set) var sync: FanoutSync
    private let subscriber: Socket
    private let query: Socket
    /// The query connection's failed handshakes, with CURVE; the latest since the broker last answered a query.
    private let queryHandshakes: SocketMonitor?
    private var queryHandshakeFailure: MonitorEvent?
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    /// Subscribes to the fan-out and connects to the query endpoint: from here on, what is published is kept (up
    /// to the high-water mark) until ``receive(_:)`` takes it.
    public init(context: Context, configuration: Configuration) throws(ZMQError) {
        self.configuration = configuration
        sync = FanoutSync(settings: configuration.sync)
        origin = clock.now
        subscriber = try Socket(context, type: .sub)
        query = try Socket(context, type: .dealer)
        try subscriber.set(.linger, .zero)
        if let curve = configuration.curve { try subscriber.makeCurveClient(curve) }
        queryHandshakes = try query.makeCurveClientWatchingHandshakes(configuration.curve)
        try subscriber.set(.receiveHighWaterMark, configuration.receiveHighWaterMark)
        if let bytes = configuration.receiveBuffer { try subscriber.set(.receiveBuffer, bytes) }
        try subscriber.subscribe()  // everything, heartbeats included: the sync needs every event
        try subscriber.connect(configuration.fanout)
        try query.set(.linger, .zero)
        try query.connect(configuration.query)
    }

    /// Adds both sockets to a poller.
    public func add(to poller: Poller) {
        poller.add(subscriber)
        poller.add(query)
    }

    /// Starts from `sequence` (the one the state holds): catches up from the journal, or, with `catchUp` false
    /// (the state is a snapshot taken after subscribing), goes live at once.
    public func start(from sequence: UInt64, catchUp: Bool = true, _ handle: (FanoutSync.Action) throws -> Void) throws {
        let now = microseconds()
        try carryOut(catchUp ? sync.start(from: sequence, now: now) : sync.startLive(from: sequence, now: now), handle)
    }

    /// Takes what has arrived, without waiting: every query reply, then up to ``Configuration/fanoutBatch`` fan-out
    /// messages; then lets time pass (a replay's time-out). Messages that do not decode are skipped.
    public func receive(_ handle: (FanoutSync.Action) throws -> Void) throws {
        // Read every time, so that the monitor's queue never fills (libzmq's I/O thread would wait for it).
        if let failure = queryHandshakes?.latestHandshakeFailure() { queryHandshakeFailure = failure }
        while let frames = try query.receiveFrames(wait: false) {
            queryHandshakeFailure = nil
            guard let reply = try? QueryReply.decode(frames) else { continue }
            try carryOut(sync.receiveQuery(reply, now: microseconds()), handle)
        }
        var taken = 0
        while taken < configuration.fanoutBatch, let frames = try subscriber.receiveFrames(wait: false) {
            taken += 1
            guard let message = try? FanoutMessage.decode(frames) else { continue }
            try carryOut(sync.receiveFanout(message, now: microseconds()), handle)
        }
        try carryOut(sync.tick(now: microseconds()), handle)
    }

    /// How long until ``receive(_:)`` has something to do even if nothing arrives; `nil`: nothing.
    public var nextDeadline: Duration? {
        sync.nextDeadline.map { .microseconds(max(0, $0 - microseconds())) }
    }

    /// Closes both sockets at once (nothing waits to be sent).
    public func close() {
        queryHandshakes?.close()
        subscriber.close(linger: .zero)
        query.close(linger: .zero)
    }

    private func carryOut(_ actions: [FanoutSync.Action], _ handle: (FanoutSync.Action) throws -> Void) throws {
        for action in actions {
            if case .send(let request) = action {
                // Never waits: with no connection to queue it on (a broker that refuses the key, between retries), a
                // DEALER would block the follower for good. A request not sent goes unanswered, and the replay fails
                // at its time-out.
                _ = try query.send(frames: request.encode(), wait: false)
            } else if case .replayFailed(let replay, .noAnswer) = action,
                let reason = queryHandshakeFailure?.refusal(by: "broker")
            {
                try handle(.replayFailed(replay, .handshakeFailed(reason: reason)))
            } else {
                try handle(action)
            }
        }
    }

    private func microseconds() -> Int64 {
        let (seconds, attoseconds) = (clock.now - origin).components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
