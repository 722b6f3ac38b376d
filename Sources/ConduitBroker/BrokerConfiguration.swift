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
    /// (and sees the gap in the sequence) instead of growing the broker's memory.
    public var fanoutHighWaterMark: Int32 = 10_000
    /// The kernel send buffer of each fan-out connection in bytes (`ZMQ_SNDBUF`); `nil`: the system's default.
    public var fanoutSendBuffer: Int32?
    /// The high-water mark of the ingest and query sockets, per peer.
    public var socketHighWaterMark: Int32 = 10_000
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
    /// How long closing waits for queued acknowledgements and replies to leave.
    public var shutdownLinger: Duration = .seconds(1)

    public init(journalDirectory: String) {
        self.journalDirectory = journalDirectory
    }
}
