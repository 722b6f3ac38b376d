import ConduitBroker
import ConduitCore
import ConduitJournal
import Glibc
import Logging
import NATS
import Synchronization

/// A broker whose journal of record is its hub's JetStream stream (R3 on a cluster), one of several that stand by
/// for each other (`conduit broker --hub`).
///
/// - **Standby**: it keeps its local journal (a copy) up to date from the stream and watches the lease
///   (``BrokerLease``). Its endpoints are not bound: agents that try it are refused at once and try the next.
/// - **Active**: once it holds the lease, it brings its local journal up to the stream's last message, then runs a
///   ``Broker`` on it whose batches go to the stream first (``StreamJournal``): an event is acknowledged only once
///   JetStream stored it. It renews the lease while it runs.
/// - It **stops being active** when another broker took the lease, when it could not renew it for three quarters of
///   the lease time, or when the stream refused a batch (the stream moved on, or did not answer in time): its broker
///   stops, and it brings its local journal up to date before it takes events again, if it still holds the lease.
public final class FailoverBroker: Sendable {
    public struct Configuration: Sendable {
        /// The hub's name: the stream's message ids and the lease's bucket.
        public var hub: String
        /// The hub's stream (made if missing).
        public var stream: String
        public var subjectPrefix = "conduit"
        /// The stream's and the lease's replicas when this broker makes them (3 on a cluster).
        public var replicas = 1
        /// NATS servers (`nats://host:port`), any of a cluster's.
        public var servers: [String]
        /// This broker's name in the lease: unique among the hub's brokers.
        public var name: String
        /// How long a lease lasts without renewal before a standby takes it.
        public var lease: Duration = .seconds(2)
        /// How long a batch may wait for JetStream's acknowledgements before the broker stops being active.
        public var storeTimeout: Duration = .seconds(5)
        /// The broker it runs while active; its journal directory holds the local copy.
        public var broker: BrokerConfiguration

        public init(hub: String, stream: String? = nil, servers: [String], name: String, broker: BrokerConfiguration) {
            self.hub = hub
            self.stream = stream ?? JetStreamBridge.Configuration.streamName(hub: hub)
            self.servers = servers
            self.name = name
            self.broker = broker
        }
    }

    /// What the broker is doing, as told to ``init(configuration:logger:onRole:)``'s `onRole`.
    public enum Role: Sendable, Equatable {
        /// Standing by while `holder` (empty: nobody) holds the lease.
        case standby(holder: String)
        /// Active and taking events on these endpoints.
        case active(BrokerEndpoints)
    }

    /// Why the broker stopped for good: the stream is not this hub's, or the local journal is not a copy of it.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    public let configuration: Configuration
    let logger: Logger
    let onRole: @Sendable (Role) -> Void
    /// How many times this broker became active.
    public let activations = Atomic<Int>(0)

    public init(configuration: Configuration, logger: Logger, onRole: @escaping @Sendable (Role) -> Void = { _ in }) {
        self.configuration = configuration
        self.logger = logger
        self.onRole = onRole
    }

    static func monotonicMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    var quarter: UInt32 {
        let lease = configuration.lease.components
        return UInt32(max(10_000, (lease.seconds * 1_000_000 + lease.attoseconds / 1_000_000_000_000) / 4))
    }

    /// Stands by and serves as the active broker in turn until `stopping` is set. Throws ``Refusal`` when the
    /// stream or the local journal cannot be used, `BrokerError` when the broker cannot start (an endpoint taken, a
    /// journal directory unusable), and `NATSError` when NATS cannot be reached at all.
    public func run(stopping: JetStreamBridge.StopSignal) throws {
        let connection = try NATSConnection(servers: configuration.servers, name: "conduit-broker \(configuration.name)")
        let jetStream = try connection.jetStream()
        // The lease has a connection of its own, so that its renewals do not queue behind a batch's publications.
        let leaseConnection = try NATSConnection(servers: configuration.servers, name: "conduit-broker-lease \(configuration.name)")
        let leaseJetStream = try leaseConnection.jetStream()
        let lease = try retrying(stopping, "opening the lease") { () throws in
            try BrokerLease(
                leaseJetStream, hub: configuration.hub, name: configuration.name, replicas: configuration.replicas, lease: configuration.lease)
        }
        try retrying(stopping, "reading stream \(configuration.stream)") { () throws in try checkStream(jetStream) }
        defer { lease.release() }
        while !stopping.isSet {
            guard try standBy(jetStream, lease: lease, stopping: stopping) else { return }
            try serve(connection: connection, jetStream: jetStream, lease: lease, stopping: stopping)
        }
    }

    /// Makes the stream if missing; refuses one that is not this hub's journal.
    func checkStream(_ jetStream: JetStream) throws {
        let state = try jetStream.streamState(configuration.stream)
            ?? jetStream.addStream(
                StreamConfiguration(name: configuration.stream, subjects: [configuration.subjectPrefix + ".>"], replicas: configuration.replicas))
        guard state.lastSequence > 0 else { return }
        let last = try jetStream.message(stream: configuration.stream, sequence: state.lastSequence, headers: ["Nats-Msg-Id"])
        let expected = "\(configuration.hub):\(state.lastSequence)"
        guard last?.headers["Nats-Msg-Id"] == expected else {
            throw Refusal(
                description:
                    "stream \(configuration.stream) is not hub \(configuration.hub)'s journal: its message \(state.lastSequence) has id \(last?.headers["Nats-Msg-Id"] ?? "none"), not \(expected)"
            )
        }
    }

    /// Keeps the local journal up to date and waits for the lease. Returns true once it holds it, false if stopped.
    func standBy(_ jetStream: JetStream, lease: BrokerLease, stopping: JetStreamBridge.StopSignal) throws -> Bool {
        let (journal, _) = try Journal.open(directory: configuration.broker.journalDirectory, options: configuration.broker.journal)
        defer { try? journal.close() }
        try checkCopy(journal, jetStream)
        var told: String?
        while !stopping.isSet {
            do {
                _ = try ProvinceView.append(
                    jetStream, stream: configuration.stream, hub: configuration.hub, to: journal, fromStreamSequence: journal.lastSequence + 1)
                if try lease.tryAcquire(now: Self.monotonicMicroseconds()) { return true }
                if told != lease.holder {
                    told = lease.holder
                    logger.info("failover.standby", metadata: ["lease.holder": "\(lease.holder)", "journal.last_sequence": "\(journal.lastSequence)"])
                    onRole(.standby(holder: lease.holder))
                }
            } catch let error as NATSError where error.isTransient {
                logger.warning("failover.retry", metadata: ["doing": "standing by", "error": "\(error)"])
            }
            usleep(quarter)
        }
        return false
    }

    /// Refuses a local journal that is not a copy of the stream's first messages.
    func checkCopy(_ journal: Journal, _ jetStream: JetStream) throws {
        let last = journal.lastSequence
        guard last > 0 else { return }
        let state = try jetStream.streamState(configuration.stream)
        let local = try journal.reader(from: last).next()
        let stored = (state?.lastSequence ?? 0) >= last
            ? try jetStream.message(stream: configuration.stream, sequence: last, headers: ["Nats-Msg-Id"]) : nil
        guard let local, let stored, stored.data == local.event, stored.headers["Nats-Msg-Id"] == "\(configuration.hub):\(last)" else {
            throw Refusal(
                description:
                    "the local journal in \(configuration.broker.journalDirectory) is not a copy of stream \(configuration.stream): its event \(last) is not the stream's (start from an empty directory)"
            )
        }
    }

    /// Serves as the active broker while the lease is held; returns when it is lost (or the broker is stopping).
    func serve(connection: NATSConnection, jetStream: JetStream, lease: BrokerLease, stopping: JetStreamBridge.StopSignal) throws {
        var renewed = Self.monotonicMicroseconds()
        while !stopping.isSet {
            // The local journal must hold every event the stream holds before the broker opens it.
            do {
                let (journal, _) = try Journal.open(directory: configuration.broker.journalDirectory, options: configuration.broker.journal)
                defer { try? journal.close() }
                _ = try ProvinceView.append(
                    jetStream, stream: configuration.stream, hub: configuration.hub, to: journal, fromStreamSequence: journal.lastSequence + 1)
            } catch let error as NATSError where error.isTransient {
                logger.warning("failover.retry", metadata: ["doing": "catching up", "error": "\(error)"])
                guard keep(lease, renewed: &renewed) else { return }
                usleep(quarter)
                continue
            }
            var brokerConfiguration = configuration.broker
            brokerConfiguration.journalOfRecord = try StreamJournal(
                connection: connection, hub: configuration.hub, stream: configuration.stream, subjectPrefix: configuration.subjectPrefix,
                timeout: configuration.storeTimeout)
            let broker = Broker(configuration: brokerConfiguration, logger: logger)
            let endpoints = try broker.start()
            activations.add(1, ordering: .relaxed)
            logger.notice("failover.active", metadata: ["endpoint.ingest": "\(endpoints.ingest)"])
            onRole(.active(endpoints))
            var holding = true
            var next = Self.monotonicMicroseconds() + Int64(quarter)
            while !stopping.isSet && broker.failure == nil {
                usleep(20_000)
                let now = Self.monotonicMicroseconds()
                guard now >= next else { continue }
                next = now + Int64(quarter)
                holding = keep(lease, renewed: &renewed)
                if !holding { break }
            }
            broker.stop()
            if let failure = broker.failure, failure.code != .journalOfRecordFailed { throw failure }
            if let failure = broker.failure { logger.warning("failover.resync", metadata: ["error": "\(failure)"]) }
            guard holding, keep(lease, renewed: &renewed) else { return }
        }
    }

    /// Renews the lease; false when it is lost, or could not be renewed for three quarters of a lease time.
    func keep(_ lease: BrokerLease, renewed: inout Int64) -> Bool {
        do {
            if try lease.renew() {
                renewed = Self.monotonicMicroseconds()
                return true
            }
            logger.warning("failover.lease_lost", metadata: ["lease.holder": "\(lease.holder)"])
            return false
        } catch {
            logger.warning("failover.retry", metadata: ["doing": "renewing the lease", "error": "\(error)"])
            if Self.monotonicMicroseconds() - renewed < lease.leaseMicroseconds * 3 / 4 { return true }
            lease.forget()
            return false
        }
    }

    /// Runs `body` until it succeeds or fails for a reason that is not transient.
    func retrying<T>(_ stopping: JetStreamBridge.StopSignal, _ what: String, _ body: () throws -> T) throws -> T {
        try stopping.retrying(what, logger: logger, event: "failover.retry", pause: quarter, stopped: { $0 }, body)
    }
}
