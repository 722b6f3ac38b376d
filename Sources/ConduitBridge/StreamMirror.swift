import ConduitBroker
import ConduitCore
import ConduitJournal
import Glibc
import Logging
import NATS
import Synchronization

/// A read-only broker that mirrors one hub's events from a JetStream stream (`conduit broker --mirror`): the hub's
/// own stream (as `conduit bridge nats` or a broker with `--hub` writes it) or a province's stream that sources it.
///
/// It copies the hub's events into its local journal, under their own sequences and recorded times, then runs a
/// ``Broker`` on that journal whose events come from the stream instead of from agents: it publishes them on its
/// fan-out as they arrive and serves its query endpoint, so an aggregator, a dashboard, `conduit watch` and
/// `conduit replay --query` follow the stream as they follow a hub; `conduit state`, `ledger`, `replay` and
/// `incident` read its journal (`--dir`). Agents are refused (`service.unavailable`).
public final class StreamMirror: Sendable {
    public struct Configuration: Sendable {
        public var hub: String
        public var stream: String
        public var servers: [String]
        /// The broker it runs; its journal directory holds the copy (mirrored events only).
        public var broker: BrokerConfiguration
        /// How often the stream is asked for new messages while there are none.
        public var poll: Duration = .milliseconds(50)

        public init(hub: String, stream: String, servers: [String], broker: BrokerConfiguration) {
            self.hub = hub
            self.stream = stream
            self.servers = servers
            self.broker = broker
        }
    }

    /// Why the mirror cannot run: no such stream, or a local journal that is not a copy of the hub's events.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    public let configuration: Configuration
    let logger: Logger
    let onReady: @Sendable (BrokerEndpoints, UInt64) -> Void

    /// `onReady` hears the endpoints and the journal's last sequence once the copy caught up and the broker serves.
    public init(configuration: Configuration, logger: Logger, onReady: @escaping @Sendable (BrokerEndpoints, UInt64) -> Void = { _, _ in }) {
        self.configuration = configuration
        self.logger = logger
        self.onReady = onReady
    }

    /// Catches up, then serves until `stopping` is set. Throws ``Refusal``, `NATSError` when NATS cannot be reached,
    /// and `BrokerError` when the broker cannot start or the stream can no longer be followed.
    public func run(stopping: JetStreamBridge.StopSignal) throws {
        let connection = try NATSConnection(servers: configuration.servers, name: "conduit-mirror \(configuration.hub)")
        let jetStream = try connection.jetStream()
        guard try jetStream.streamState(configuration.stream) != nil else {
            throw Refusal(description: "there is no stream \(configuration.stream) on \(configuration.servers.joined(separator: ","))")
        }
        // The copy first, with the journal opened here: the broker then opens a journal that holds the stream's plan.
        let (journal, _) = try Journal.open(directory: configuration.broker.journalDirectory, options: configuration.broker.journal)
        let position: UInt64
        let last: UInt64
        do {
            defer { try? journal.close() }
            (_, last, position) = try ProvinceView.append(
                jetStream, stream: configuration.stream, hub: configuration.hub, to: journal, fromStreamSequence: nil, checkingLast: true)
        }
        logger.info("mirror.caught_up", metadata: ["journal.last_sequence": "\(last)", "stream.sequence": "\(position)"])
        let feed = StreamFeed(
            connection: connection, stream: configuration.stream, hub: configuration.hub, after: position, lastHubSequence: last,
            poll: configuration.poll, logger: logger)
        var brokerConfiguration = configuration.broker
        brokerConfiguration.recordFeed = feed
        let broker = Broker(configuration: brokerConfiguration, logger: logger)
        let endpoints = try broker.start()
        feed.start()
        defer { feed.stop() }
        onReady(endpoints, last)
        while !stopping.isSet && broker.failure == nil { usleep(50_000) }
        broker.stop()
        if let failure = broker.failure { throw failure }
    }

}

/// The stream's new messages of one hub, read on a thread of their own, for a mirror's broker to take.
final class StreamFeed: RecordFeed, @unchecked Sendable {
    let stream: String
    let hub: String
    let connection: NATSConnection
    let poll: Duration
    let logger: Logger
    private let queue = Mutex<[JournalRecord]>([])
    private let stopped = Atomic<Bool>(false)
    private let failed = Mutex<String?>(nil)
    private var position: UInt64
    private var lastHubSequence: UInt64
    private var thread: pthread_t?
    /// The most records waiting for the broker before the feed waits.
    static let maximumQueued = 50_000

    init(connection: NATSConnection, stream: String, hub: String, after position: UInt64, lastHubSequence: UInt64, poll: Duration, logger: Logger) {
        self.connection = connection
        self.stream = stream
        self.hub = hub
        self.position = position
        self.lastHubSequence = lastHubSequence
        self.poll = poll
        self.logger = logger
    }

    var readOnlyReason: String { "this broker mirrors hub \(hub) from stream \(stream) and takes no events; publish to the hub's broker" }
    var failure: String? { failed.withLock { $0 } }

    func take(maximum: Int) -> [JournalRecord] {
        queue.withLock { queued in
            guard !queued.isEmpty else { return [] }
            let count = min(maximum, queued.count)
            let taken = Array(queued.prefix(count))
            queued.removeFirst(count)
            return taken
        }
    }

    func start() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        pthread_create(&thread, nil, { argument in
            let feed = Unmanaged<StreamFeed>.fromOpaque(argument!).takeRetainedValue()
            feed.follow()
            return nil
        }, box.toOpaque())
        self.thread = thread
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func follow() {
        let idle = UInt32(poll.components.seconds * 1_000_000 + poll.components.attoseconds / 1_000_000_000_000)
        do {
            let jetStream = try connection.jetStream()
            while !stopped.load(ordering: .acquiring) {
                let before = position
                do {
                    position = try ProvinceView.forEachEvent(jetStream, stream: stream, only: hub, from: position + 1, progress: { _ in }) {
                        _, hubSequence, event, bytes, _ in
                        guard hubSequence > lastHubSequence else { return }
                        try ProvinceView.follows(hubSequence, lastHubSequence, hub: hub, stream: stream)
                        guard let recorded = event.recordedTime else {
                            throw ProvinceView.Failure(description: "\(hub):\(hubSequence) in \(stream) lacks its recorded time")
                        }
                        while queue.withLock({ $0.count }) >= Self.maximumQueued && !stopped.load(ordering: .acquiring) { usleep(5_000) }
                        let record = JournalRecord(
                            sequence: hubSequence, recordedTime: recorded.microsecondsSinceEpoch, topic: event.topic, event: bytes)
                        queue.withLock { $0.append(record) }
                        lastHubSequence = hubSequence
                    }
                } catch let error as NATSError where error.isTransient {
                    logger.warning("mirror.retry", metadata: ["error": "\(error)"])
                }
                if position == before { usleep(idle) }
            }
        } catch {
            failed.withLock { $0 = "\(error)" }
            logger.error("mirror.failed", metadata: ["error": "\(error)"])
        }
    }
}
