import ConduitCore
import ConduitJournal

/// Everything a broker needs to run: where it listens, where it keeps its journal, and its limits.
///
/// The defaults suit one county hub on one machine. `conduit broker` fills this from a JSON file, then the
/// environment (`CONDUIT_*`), then flags, each overriding the one before.
public struct BrokerConfiguration: Sendable {
    /// The ingest endpoint (ROUTER) agents connect to.
    public var ingestEndpoint = "tcp://127.0.0.1:5570"
    /// The fan-out endpoint (XPUB) subscribers connect to.
    public var fanoutEndpoint = "tcp://127.0.0.1:5571"
    /// The query endpoint (ROUTER) for replay, catch-up, head and statistics.
    public var queryEndpoint = "tcp://127.0.0.1:5572"
    /// The journal's directory; created if missing.
    public var journalDirectory: String
    /// The journal's options: durability policy, segment size, retention.
    public var journal = JournalOptions()
    /// Where each batch is stored for good before the local journal and before any acknowledgement; `nil`: the local
    /// journal is the record. A broker with one runs from a local journal that holds every event the record holds.
    public var journalOfRecord: (any JournalOfRecord)?
    /// A mirror's feed: the broker takes its events from it instead of from agents (which are refused with
    /// `service.unavailable`), and states no plan of its own; `nil` for a broker that takes events.
    public var recordFeed: (any RecordFeed)?
    /// The plan to put in force. `nil`: the latest plan the journal states, or for a journal that states none the
    /// built-in ``Scenario/default``. A plan other than the journal's latest is journaled as a `conduit.plan` event
    /// before any other event is taken.
    public var scenario: Scenario?
    /// How many recent events (by `source` + `id`) the broker remembers at least to deduplicate resends (it keeps
    /// up to twice as many). Rebuilt from the journal's tail on start, so it survives a restart.
    public var dedupeWindow = 500_000
    /// The most ingest messages taken into one journal batch (one `fdatasync`).
    public var maximumBatch = 1024
    /// The fan-out high-water mark per subscriber: a subscriber that falls this far behind loses live events
    /// (and sees the gap in the sequence) instead of growing the broker's memory. A subscriber more than 8 MiB
    /// behind is disconnected before that, whatever the size of the events.
    public var fanoutHighWaterMark: Int32 = 10_000
    /// The kernel send buffer of each fan-out connection in bytes (`ZMQ_SNDBUF`); `nil`: the system's default.
    public var fanoutSendBuffer: Int32?
    /// When nothing was published for this long, a fan-out heartbeat carries the latest sequence.
    public var fanoutHeartbeatInterval: Duration = .seconds(1)
    /// The heartbeat interval offered to agents that ask for none (and the bounds of what they may ask).
    public var agentHeartbeatInterval: Duration = .seconds(5)
    /// An agent silent for this many of its heartbeat intervals is declared dead.
    public var agentMissedHeartbeats = 3
    /// The most unacknowledged events an agent should keep in flight (announced in `WELCOME`).
    public var maximumInFlight: UInt32 = 256
    /// A replay that received no credit for this long ends with reason `idle`.
    public var replayIdleTimeout: Duration = .seconds(60)
    /// CURVE authentication on every endpoint; `nil` accepts everyone (a trusted network only).
    public var authentication: BrokerAuthentication?
    /// Metrics for `GET /metrics` (``BrokerMetrics``); `nil` keeps none.
    public var metrics: BrokerMetrics?
    /// How long closing waits for queued acknowledgements and replies to leave.
    public var shutdownLinger: Duration = .seconds(1)
    /// Connections each endpoint keeps at once, in all and from one address.
    public var ingestConnections = ConnectionLimit(total: 256, perAddress: 32)
    public var fanoutConnections = ConnectionLimit(total: 256, perAddress: 32)
    public var queryConnections = ConnectionLimit(total: 64, perAddress: 16)
    /// A connection that holds part of a message this long without completing one is closed.
    public var stalledConnectionTimeout: Duration = .seconds(10)
    /// The most a connection's ZMTP handshake (the CURVE handshake and its authentication included) may take.
    public var handshakeTimeout: Duration = .seconds(10)

    public init(journalDirectory: String) {
        self.journalDirectory = journalDirectory
    }
}

/// How many connections an endpoint keeps at once: in all, and from one address (any port). A connection beyond
/// either is closed as soon as it is accepted.
public struct ConnectionLimit: Sendable, Equatable {
    public var total: Int
    public var perAddress: Int

    public init(total: Int, perAddress: Int) {
        self.total = total
        self.perAddress = perAddress
    }
}

extension BrokerConfiguration {
    /// Descriptors the broker keeps for itself, beside its connections: a journal reader per replay (256), the
    /// journal, libzmq's own (its poller, a mailbox per socket) and the process's.
    static let reservedDescriptors = 384

    /// The connection limits the broker applies when the process may hold `descriptorLimit` descriptors: those
    /// configured or, when the three endpoints' totals would not leave a quarter of what remains after
    /// ``reservedDescriptors`` free, those scaled down to fit. libzmq accepts a connection before the broker can
    /// close it, so the quarter left free is what a burst of connections beyond the limits may briefly use: the
    /// process never runs out of descriptors, where libzmq would retry `accept` in a busy loop.
    func connectionLimits(descriptorLimit: Int) -> (ingest: ConnectionLimit, fanout: ConnectionLimit, query: ConnectionLimit) {
        let configured = [ingestConnections, fanoutConnections, queryConnections]
        let room = max(3, (descriptorLimit - Self.reservedDescriptors) * 3 / 4)
        let total = configured.reduce(0) { $0 + $1.total }
        guard total > room else { return (ingestConnections, fanoutConnections, queryConnections) }
        let scaled = configured.map { limit in
            let share = max(1, limit.total * room / total)
            return ConnectionLimit(total: share, perAddress: min(limit.perAddress, share))
        }
        return (scaled[0], scaled[1], scaled[2])
    }
}
