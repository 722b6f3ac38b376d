import ConduitAgent
import ConduitCore
import ConduitOperations
import ConduitState
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Where the aggregator connects and listens, and how it keeps its checkpoints.
public struct AggregatorConfiguration: Sendable {
    public var fanoutEndpoint = "tcp://127.0.0.1:5571"
    public var queryEndpoint = "tcp://127.0.0.1:5572"
    public var ingestEndpoint = "tcp://127.0.0.1:5570"
    /// The snapshot endpoint (ROUTER) it binds.
    public var snapshotEndpoint = "tcp://127.0.0.1:5573"
    /// The checkpoint file; `nil` keeps the state in memory only (it is rebuilt from the journal on start).
    public var checkpointPath: String?
    /// A checkpoint is written after this many applied events, and when the aggregator stops.
    public var checkpointEvery = 10_000
    public var scenario: Scenario = .default
    /// The rules' thresholds; `nil`: those of the plan in force.
    public var options: StateOptions? = nil
    /// Publish derived alerts back through ingest, as the aggregator's own events (journaled and replayable).
    public var publishAlerts = true
    /// The outbox of the alerts: each is stored here (synced) before the checkpoint that records it raised, and
    /// resent until the broker acknowledges it, across restarts of either side. `nil`: beside the checkpoint
    /// (`<checkpoint>.alerts`), or a temporary directory removed at stop when there is no checkpoint.
    public var alertOutboxDirectory: String?
    /// The subscriber's receive high-water mark, in messages: beyond it, live events are dropped by ZeroMQ and
    /// the aggregator fills the gap from the journal.
    public var subscriberHighWaterMark: Int32 = 100_000
    /// The kernel receive buffer of the subscriber's connection in bytes; `nil` for the system's (self-tuning).
    public var subscriberReceiveBuffer: Int32?
    /// The aggregator's keys (its principal is `conduit`) and the broker's public key, when the broker requires
    /// CURVE: used for the fan-out, the query endpoint and the alerts it publishes.
    public var curve: CurveClientKeys?
    /// Who may read snapshots (public key → principal), when the snapshot endpoint requires CURVE; it then serves
    /// with the aggregator's own key pair (``curve``). `nil`: the snapshot endpoint takes plain connections.
    public var snapshotClients: [[UInt8]: String]?
    /// Called on the aggregator's thread after each round of work that changed the state (events applied, the
    /// clock advanced), with the state and what changed; at most about ten times a second while events stream in.
    /// For an embedding process's live view. Keep it short: the aggregator waits for it.
    public var observer: (@Sendable (AggregatorUpdate) -> Void)?

    public init() {}
}

/// What an ``AggregatorConfiguration/observer`` is told.
public struct AggregatorUpdate: Sendable {
    /// The state after the changes.
    public var state: AggregateState
    /// The events applied since the previous update, in sequence order.
    public var events: [Event]
    /// The alerts raised or cleared since the previous update, in order.
    public var alertChanges: [AlertChange]
}

/// The state aggregator: subscribes to the fan-out first, catches up from the journal through the query endpoint
/// (from its checkpoint), then applies live events in sequence, filling any gap by replay (the ZeroMQ Guide's Clone
/// pattern). It serves snapshots stamped with the sequence they reflect, and publishes the alerts the fold derives.
public final class Aggregator: Sendable {
    public let configuration: AggregatorConfiguration
    private let logger: Logger
    private let thread: LoopThread<String>
    private let appliedSequence = Progress()

    final class Progress: Sendable {
        let value = Atomic<UInt64>(0)
        let gaps = Atomic<Int>(0)
        let alertIds = Mutex<[String]>([])
        /// Alert events stored in the outbox for the broker, and answered by it (ACK or REJECT).
        let alertsSent = Atomic<Int>(0)
        let alertsAnswered = Atomic<Int>(0)
        /// The highest sequence the broker acknowledged an alert with.
        let alertSequence = Atomic<UInt64>(0)
        /// The fold's clock in µs (`Int64.min`: none yet).
        let clock = Atomic<Int64>(.min)
        /// The broker's head as far as the fan-out told (events and heartbeats).
        let known = Atomic<UInt64>(0)
    }

    /// The broker's latest sequence as far as the fan-out has told the aggregator; ``sequence`` trails it by the
    /// events not yet applied.
    public var knownSequence: UInt64 { appliedSequence.known.load(ordering: .acquiring) }

    /// Alerts stored for the broker, and those it answered.
    public var alertCounts: (sent: Int, answered: Int) {
        (appliedSequence.alertsSent.load(ordering: .relaxed), appliedSequence.alertsAnswered.load(ordering: .relaxed))
    }

    /// The aggregator's metrics in Prometheus' text format: the applied and known sequences, the lag between them,
    /// gaps filled, alerts sent and answered, and the build.
    public func metricsExposition(_ metrics: ScrapedMetrics) -> [UInt8] {
        let (sent, answered) = alertCounts
        let applied = sequence, known = max(knownSequence, applied)
        return metrics.exposition(
            counts: ["gaps_filled": Int64(gapsFilled), "alerts_sent": Int64(sent), "alerts_answered": Int64(answered)],
            levels: ["applied_sequence": Double(applied), "known_sequence": Double(known), "lag": Double(known - applied)])
    }

    /// The aggregator's metrics (swift-prometheus), read from its counters when scraped.
    public static func metrics(version: String) -> ScrapedMetrics {
        ScrapedMetrics(
            subsystem: "aggregator", version: version,
            metrics: [
                .init("applied_sequence", .gauge, "The sequence of the last event folded."),
                .init("known_sequence", .gauge, "The broker's head as far as the fan-out told."),
                .init("lag", .gauge, "Events the broker has that the fold has not applied yet."),
                .init("gaps_filled", .counter, "Gaps in the live stream filled from the journal."),
                .init("alerts_sent", .counter, "Alert events stored for the broker."),
                .init("alerts_answered", .counter, "Alert events the broker answered."),
            ])
    }

    /// Whether the aggregator is running and caught up within `maximumLag` events of the broker's head as the fan-out
    /// told it (`GET /readyz`).
    public func readiness(maximumLag: UInt64 = 1000) -> (ready: Bool, reason: String) {
        guard !thread.hasEnded, !thread.control.isStopRequested else { return (false, "the aggregator is not running") }
        let applied = sequence, known = knownSequence
        if known > applied + maximumLag { return (false, "\(known - applied) events behind the broker (at most \(maximumLag))") }
        return (true, "")
    }

    public init(configuration: AggregatorConfiguration, logger: Logger = Logger(label: "conduit.aggregator")) {
        self.configuration = configuration
        self.logger = logger
        self.thread = LoopThread(name: "conduit-aggregator")
    }

    /// The sequence of the last event applied (for progress and tests).
    public var sequence: UInt64 { appliedSequence.value.load(ordering: .acquiring) }

    /// How many gaps in the live stream (events lost at a high-water mark, or announced by a heartbeat) were
    /// filled from the journal.
    public var gapsFilled: Int { appliedSequence.gaps.load(ordering: .relaxed) }

    /// The fold's clock: the latest event time or fan-out heartbeat it has advanced to (alerts derived from it are
    /// sent before it shows here); `nil` before any.
    public var clock: Timestamp? {
        let value = appliedSequence.clock.load(ordering: .acquiring)
        return value == .min ? nil : Timestamp(microsecondsSinceEpoch: value)
    }

    /// The ids of the alert events stored for the broker, in order: the most recent ``keptAlertIds`` of them.
    public var sentAlertIds: [String] { appliedSequence.alertIds.withLock { $0 } }

    /// How many of the latest alert ids ``sentAlertIds`` keeps.
    public static let keptAlertIds = 10_000

    /// Whether nothing of the aggregator's own is on its way: every alert it derived has been answered by the
    /// broker and folded back (its sequence applied). With the broker's head applied too, the aggregator is idle
    /// until something new is published.
    public var alertsSettled: Bool {
        let progress = appliedSequence
        let sent = progress.alertsSent.load(ordering: .acquiring)
        guard progress.alertsAnswered.load(ordering: .acquiring) == sent else { return false }
        let acknowledged = progress.alertSequence.load(ordering: .acquiring)
        guard sequence >= acknowledged else { return false }
        // An alert derived from an event is sent before that event's sequence is announced: one sent while the
        // above was read shows here.
        return progress.alertsSent.load(ordering: .acquiring) == sent
    }

    /// The loop's body on its thread: load the checkpoint, connect, bind, say ready, fold until asked to stop.
    private var body: @Sendable (LoopThread<String>.Setup) throws -> Void {
        { [configuration, logger, appliedSequence, thread] setup in
            let loop: AggregatorLoop
            do {
                loop = try AggregatorLoop(
                    configuration: configuration, logger: logger, control: setup.control, applied: appliedSequence)
            } catch {
                throw error as? AggregatorError ?? AggregatorError(.startFailed, "\(error)", underlying: error)
            }
            thread.use(loop.context)
            setup.ready(loop.snapshotEndpoint)
            loop.run()
        }
    }

    /// Loads the checkpoint, binds the snapshot endpoint and starts; returns the bound snapshot endpoint.
    @discardableResult
    public func start() throws -> String {
        try thread.start(body)
    }

    /// ``start()`` without blocking the caller's thread.
    @discardableResult
    public func start() async throws -> String {
        try await thread.start(body)
    }

    /// Stops after the current step, writes a last checkpoint and closes; returns when done.
    public func stop() {
        thread.stop(grace: .seconds(30))
    }

    /// Asks the aggregator to stop, without waiting.
    public func requestStop() { thread.requestStop() }

    /// Blocks until the aggregator has stopped.
    public func wait() { thread.join() }

    /// Awaits the end of the aggregator's thread without blocking the caller's thread.
    public func finished() async { await thread.finished() }
}

extension Aggregator: Service {
    /// Starts (if not yet), folds until the service group shuts down gracefully or the task is cancelled, then
    /// stops gracefully (a last checkpoint, the alerts' last answers).
    public func run() async throws {
        try await thread.runAsService(body)
    }
}

/// Why the aggregator could not start.
public struct AggregatorError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The snapshot endpoint cannot be bound.
        case endpointUnavailable
        /// The alerts' outbox cannot be used.
        case outboxUnusable
        /// The configuration contradicts itself (snapshot clients without the aggregator's own keys).
        case invalidConfiguration
        /// Anything else that kept it from starting.
        case startFailed
    }

    public var code: Code
    /// What went wrong, in a sentence.
    public var message: String
    /// The error beneath, if any.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
