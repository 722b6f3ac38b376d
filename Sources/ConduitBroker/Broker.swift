import ConduitCore
import ConduitJournal
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// The endpoints a running broker is bound to, with wildcard ports resolved.
public struct BrokerEndpoints: Sendable, Equatable {
    public var ingest: String
    public var fanout: String
    public var query: String

    public init(ingest: String, fanout: String, query: String) {
        self.ingest = ingest
        self.fanout = fanout
        self.query = query
    }

    /// The lines `conduit broker` prints once it is up (`ingest <endpoint>`, `fanout …`, `query …`), for scripts
    /// and parent processes to read.
    public var announcement: String { "ingest \(ingest)\nfanout \(fanout)\nquery \(query)" }

    /// The endpoints from an announcement, or `nil` while one of its three lines is still missing. Other lines
    /// are ignored.
    public init?(announcement text: some StringProtocol) {
        var found: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { found[String(parts[0])] = String(parts[1]) }
        }
        guard let ingest = found["ingest"], let fanout = found["fanout"], let query = found["query"] else { return nil }
        self.init(ingest: ingest, fanout: fanout, query: query)
    }
}

/// The Conduit broker: takes events from agents, validates, deduplicates, sequences and journals them, and only
/// once they are durable acknowledges them and publishes them to subscribers; serves replays from the journal.
///
/// It runs one ``LoopThread`` of its own that owns every socket and the journal (ZeroMQ sockets belong to one
/// thread). ``start()`` returns once the endpoints are bound and the journal is recovered; ``stop()`` finishes the
/// current batch, sends what is durable, closes the sockets and the journal, and returns when all is done. As a
/// `Service` (``run()``) it starts, runs until a graceful shutdown or cancellation, then stops the same way.
public final class Broker: Sendable {
    public let configuration: BrokerConfiguration
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    private let calendar: @Sendable () -> Int64
    private let thread: LoopThread<BrokerEndpoints>
    private let statistics = StatisticsBox()
    private let failureBox = FailureBox()
    private let planBox = PlanBox()
    private let authorisation: AuthorisationBox?

    /// The counters, written by the broker's thread after each iteration and read by anyone.
    final class StatisticsBox: Sendable {
        let value = Mutex<BrokerStatistics>(BrokerStatistics())
    }

    /// The error that stopped the broker by itself, if any.
    final class FailureBox: Sendable {
        let value = Mutex<BrokerError?>(nil)
    }

    /// The plan in force, written by the broker's thread when it changes, read by a reload of the principals.
    final class PlanBox: Sendable {
        let value = Mutex<Scenario>(.default)
    }

    /// - Parameters:
    ///   - clock: the time the broker's timers run on (heartbeats, agent silence, replay expiry), in microseconds
    ///     since the epoch.
    ///   - calendar: the time stamped on events as their `recordedtime` and on fan-out heartbeats; `nil` (the
    ///     default) for `clock`. A simulation runs the hub on a scaled calendar (a year in a minute) while its timers
    ///     keep real time.
    public init(
        configuration: BrokerConfiguration, logger: Logger = Logger(label: "conduit.broker"),
        clock: @escaping @Sendable () -> Int64 = Broker.wallClock, calendar: (@Sendable () -> Int64)? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.calendar = calendar ?? clock
        self.thread = LoopThread(name: "conduit-broker")
        self.authorisation = configuration.authentication.map(AuthorisationBox.init)
    }

    /// Microseconds since the Unix epoch, from the system clock.
    @Sendable public static func wallClock() -> Int64 { SystemClock.realtimeMicroseconds() }

    /// The failure that stopped the broker by itself (a journal that can no longer be trusted), if any; `nil` after
    /// a requested stop.
    public var failure: BrokerError? { failureBox.value.withLock { $0 } }

    /// A snapshot of the broker's counters.
    public var currentStatistics: BrokerStatistics { statistics.value.withLock { $0 } }

    /// The loop's body on its thread: open the journal, bind, say ready, serve until asked to stop.
    private var body: @Sendable (LoopThread<BrokerEndpoints>.Setup) throws -> Void {
        { [configuration, logger, clock, calendar, statistics, failureBox, thread, authorisation, planBox] setup in
            let loop = try BrokerLoop(
                configuration: configuration, logger: logger, clock: clock, calendar: calendar, control: setup.control,
                statistics: statistics, failure: failureBox, authorisation: authorisation, plan: planBox)
            thread.use(loop.context)
            setup.ready(loop.endpoints)
            loop.run()
        }
    }

    /// Opens the journal, binds the endpoints and starts serving. Throws ``BrokerError`` when an endpoint is taken
    /// or the journal directory is unusable; nothing is left running in that case.
    @discardableResult
    public func start() throws(BrokerError) -> BrokerEndpoints {
        do {
            return try thread.start(body)
        } catch let error as BrokerError {
            throw error
        } catch {
            throw BrokerError(.wrongState, "the broker could not start: \(error)")
        }
    }

    /// ``start()`` without blocking the caller's thread.
    @discardableResult
    public func start() async throws(BrokerError) -> BrokerEndpoints {
        do {
            return try await thread.start(body)
        } catch let error as BrokerError {
            throw error
        } catch {
            throw BrokerError(.wrongState, "the broker could not start: \(error)")
        }
    }

    /// Stops gracefully: the current batch is finished and acknowledged, queued replies get the configured linger,
    /// sockets and journal are closed. Returns when the broker's thread has ended. Safe to call more than once.
    public func stop() {
        thread.stop(grace: configuration.shutdownLinger + .seconds(30))
    }

    /// Asks the broker to stop, without waiting; ``finished()`` or ``wait()`` then wait for the end.
    public func requestStop() { thread.requestStop() }

    /// Reads the principals again from where they were loaded (the `--client-keys` directory or the authorisation
    /// file, checked against the plan in force) and puts them in force: new handshakes are decided by them, and the
    /// connections of principals removed or changed are closed at once. On any error nothing changes. Returns how
    /// many keys are admitted and the principals whose connections are closed. `conduit broker` calls it on SIGHUP.
    @discardableResult
    public func reloadAuthorisation() throws(BrokerError) -> (keys: Int, closed: Set<String>) {
        guard let authorisation, let source = authorisation.authentication.source else {
            throw BrokerError(
                .invalidConfiguration, "the broker was started without principals to read again (--client-keys or --authorisation)")
        }
        let plan = planBox.value.withLock { $0 }
        let principals = try BrokerAuthentication.principals(from: source, scenario: plan)
        let (removed, count) = authorisation.replace(principals)
        logger.notice(
            "broker.authorisation_reloaded",
            metadata: ["keys": "\(count)", "principals.closed": "\(removed.sorted().joined(separator: ","))"])
        thread.control.wakeUp.signal()
        return (count, removed)
    }

    /// Whether the broker can take events now, and why not: it must be running, its journal usable and its last batch
    /// stored (`GET /readyz`).
    public var readiness: (ready: Bool, reason: String) {
        if let failure { return (false, "the broker stopped: \(failure)") }
        guard !thread.hasEnded, !thread.control.isStopRequested else { return (false, "the broker is not running") }
        let statistics = currentStatistics
        if !statistics.journalUsable { return (false, "the journal failed and cannot be trusted") }
        if !statistics.journalWritable { return (false, "the journal could not store the last batch (the disk may be full)") }
        return (true, "")
    }

    /// Blocks until the broker has stopped (after ``stop()``, or after a fatal journal failure).
    public func wait() { thread.join() }

    /// Awaits the end of the broker's thread without blocking the caller's thread.
    public func finished() async { await thread.finished() }
}

extension Broker: Service {
    /// Starts (if not yet), serves until the service group shuts down gracefully or the task is cancelled, then
    /// stops gracefully. Throws the ``BrokerError`` that stopped it by itself (a journal it can no longer trust).
    public func run() async throws {
        try await thread.runAsService(body)
        if let failure { throw failure }
    }
}

/// The broker's counters, as `STATS` reports them.
public struct BrokerStatistics: Sendable, Equatable {
    public var eventsAccepted: UInt64 = 0
    public var eventsDuplicate: UInt64 = 0
    public var eventsRejected: UInt64 = 0
    public var eventsPublished: UInt64 = 0
    public var presenceEvents: UInt64 = 0
    public var batches: UInt64 = 0
    public var fanoutHeartbeats: UInt64 = 0
    public var replaysStarted: UInt64 = 0
    public var replayEventsSent: UInt64 = 0
    /// Query requests discarded because their client had left too many waiting behind unread replies.
    public var queriesDiscarded: UInt64 = 0
    /// Connections open on the three endpoints.
    public var connections: Int = 0
    /// Connections closed as soon as they were accepted: an endpoint, or the peer's address, had its most.
    public var connectionsRefused: UInt64 = 0
    /// Connections the broker closed: a message it cannot take, too much or too long unfinished, too many
    /// subscriptions.
    public var connectionsCut: UInt64 = 0
    /// Handshakes refused with authentication on: an unknown key, no CURVE, or a role that may not use the endpoint.
    public var handshakesRefused: UInt64 = 0
    /// Events and `HELLO`s rejected as `auth.forbidden`: another organisation's source or work, or a kind the
    /// principal's role may not publish (also counted in `eventsRejected`).
    public var eventsForbidden: UInt64 = 0
    /// Connections closed because their principal was removed or changed by a reload.
    public var connectionsRevoked: UInt64 = 0
    /// Whether the journal took the last batch (false after a write failed, until one succeeds), and whether it can
    /// still be trusted (false after a failed fdatasync, which stops the broker).
    public var journalWritable = true
    public var journalUsable = true
    public var agentsOnline: Int = 0
    public var replaysActive: Int = 0
    public var firstSequence: UInt64 = 0
    public var lastSequence: UInt64 = 0

    public init() {}

    /// The counters as a JSON object.
    public var json: [UInt8] {
        let fields: [(String, String)] = [
            ("eventsAccepted", "\(eventsAccepted)"), ("eventsDuplicate", "\(eventsDuplicate)"),
            ("eventsRejected", "\(eventsRejected)"), ("eventsPublished", "\(eventsPublished)"),
            ("presenceEvents", "\(presenceEvents)"), ("batches", "\(batches)"),
            ("fanoutHeartbeats", "\(fanoutHeartbeats)"), ("replaysStarted", "\(replaysStarted)"),
            ("replayEventsSent", "\(replayEventsSent)"), ("queriesDiscarded", "\(queriesDiscarded)"),
            ("connections", "\(connections)"), ("connectionsRefused", "\(connectionsRefused)"),
            ("connectionsCut", "\(connectionsCut)"), ("handshakesRefused", "\(handshakesRefused)"),
            ("eventsForbidden", "\(eventsForbidden)"), ("connectionsRevoked", "\(connectionsRevoked)"),
            ("agentsOnline", "\(agentsOnline)"),
            ("replaysActive", "\(replaysActive)"), ("firstSequence", "\(firstSequence)"),
            ("lastSequence", "\(lastSequence)"),
        ]
        return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
    }
}
