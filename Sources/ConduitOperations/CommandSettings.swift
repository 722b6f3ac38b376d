/// The settings of each long-running command: the one list that `--help`, `conduit config keys`, the checks of a
/// configuration file and the Configuration article all follow.
extension SettingsSchema {
    /// Settings every long-running command shares: the log and the operations endpoint.
    static func operations(_ port: String, logLevel: String = "info") -> [SettingKey] {
        [
            SettingKey("logFormat", default: "text", "the log's format on standard error: text, or json (one object a line)"),
            SettingKey("logLevel", default: logLevel, "the least level logged: trace, debug, info, notice, warning, error, critical"),
            SettingKey(
                "httpAddress",
                "serve GET /metrics, /healthz and /readyz over HTTP at host:port (e.g. 127.0.0.1:\(port); port 0 picks one); off unless given"),
        ]
    }

    public static let broker = SettingsSchema(
        section: "broker",
        keys: [
            SettingKey("ingest", default: "tcp://127.0.0.1:5570", "the ingest endpoint agents connect to"),
            SettingKey("fanout", default: "tcp://127.0.0.1:5571", "the fan-out endpoint subscribers connect to"),
            SettingKey("query", default: "tcp://127.0.0.1:5572", "the query endpoint for replay, head and statistics"),
            SettingKey("data", default: "conduit-data/journal", "the journal directory (made if missing)"),
            SettingKey("plan", "a plan file (conduit-plan/1) to put in force; without it the journal's latest plan stays"),
            SettingKey("serverKey", "the broker's secret key file: turns CURVE on, with clientKeys or authorisation"),
            SettingKey("clientKeys", "the directory of admitted clients' public key files (*.pub)"),
            SettingKey("authorisation", "an authorisation file (conduit-authorisation/1) of principals with roles"),
            SettingKey("dedupeWindow", .whole, default: "500000", "recent events remembered at least, to deduplicate resends"),
            SettingKey("durability", default: "batch", "batch (fdatasync before every acknowledgement) or unsafe-no-sync (tests only)"),
            SettingKey("segmentMegabytes", .whole, default: "128", "the size at which a journal segment is sealed"),
            SettingKey("maximumBatch", .whole, default: "1024", "the most ingest messages in one journal batch (one fdatasync)"),
            SettingKey("fanoutHighWaterMark", .whole, default: "10000", "messages queued per subscriber before it loses live events"),
            SettingKey("fanoutHeartbeatMs", .whole, default: "1000", "a fan-out heartbeat after this long without a message"),
            SettingKey("agentHeartbeatMs", .whole, default: "5000", "the heartbeat interval offered to agents"),
            SettingKey("retentionMegabytes", .whole, "remove the oldest sealed segments beyond this total; keep all unless given"),
            SettingKey("retentionHours", .whole, "remove sealed segments older than this; keep all unless given"),
            SettingKey("ingestConnections", .whole, default: "256", "connections the ingest endpoint keeps at once"),
            SettingKey("fanoutConnections", .whole, default: "256", "connections the fan-out endpoint keeps at once"),
            SettingKey("queryConnections", .whole, default: "64", "connections the query endpoint keeps at once"),
            SettingKey("connectionsPerAddress", .whole, default: "32 (16 on query)", "connections one address may hold on an endpoint"),
            SettingKey("stalledConnectionMs", .whole, default: "10000", "how long a connection may hold part of a message"),
            SettingKey(
                "hub",
                "run as one of a hub's brokers that stand by for each other, the hub's JetStream stream the journal of record; the hub's name"),
            SettingKey("mirror", .boolean, default: "false", "with hub: mirror the hub's events from stream, read-only, instead of taking events"),
            SettingKey("nats", default: "nats://127.0.0.1:4222", "with hub: the NATS servers, comma-separated (a cluster's)"),
            SettingKey("stream", default: "CONDUIT_<HUB>", "with hub: the stream (as conduit bridge nats names it)"),
            SettingKey("replicas", .whole, default: "1", "with hub: the stream's and the lease's replicas when this broker makes them: 1, 3 or 5"),
            SettingKey("name", default: "the host's name and the ingest endpoint", "with hub: this broker's name in the lease, unique among the hub's"),
            SettingKey("lease", .number, default: "2", "with hub: the seconds the lease lasts unrenewed before a standby takes over (0.2 to 600)"),
        ] + operations("9570"))

    public static let aggregator = SettingsSchema(
        section: "aggregator",
        keys: [
            SettingKey("ingest", default: "tcp://127.0.0.1:5570", "the broker's ingest endpoint, for the derived alerts"),
            SettingKey("fanout", default: "tcp://127.0.0.1:5571", "the broker's fan-out endpoint"),
            SettingKey("query", default: "tcp://127.0.0.1:5572", "the broker's query endpoint"),
            SettingKey("snapshot", default: "tcp://127.0.0.1:5573", "the snapshot endpoint to bind"),
            SettingKey("checkpoint", default: "conduit-data/aggregator.checkpoint", "the checkpoint file"),
            SettingKey("noAlerts", .boolean, default: "false", "do not publish derived alerts back to the broker"),
            SettingKey("key", "the aggregator's secret key file (owner conduit), when the broker requires CURVE"),
            SettingKey("serverKey", "the broker's public key file, with key"),
            SettingKey("snapshotClientKeys", "require CURVE on the snapshot endpoint, admitting the *.pub keys in this directory"),
            SettingKey("snapshotAuthorisation", "require CURVE on the snapshot endpoint, admitting this authorisation file's readers"),
        ] + operations("9571"))

    public static let agent = SettingsSchema(
        section: "agent",
        keys: [
            SettingKey("org", "the organisation this agent speaks for (an id of the plan)"),
            SettingKey("agent", default: "agent (sim with simulate)", "the agent's name: the second segment of its events' source"),
            SettingKey("ingest", default: "tcp://127.0.0.1:5570", "the broker's ingest endpoint"),
            SettingKey("fanout", default: "tcp://127.0.0.1:5571", "the broker's fan-out endpoint, for follow"),
            SettingKey("outbox", default: "conduit-data/outbox/<org>-<agent>", "the outbox directory"),
            SettingKey("key", "this agent's secret key file, when the broker requires CURVE"),
            SettingKey("serverKey", "the broker's public key file, with key"),
            SettingKey("watchDir", "forward *.jsonl files dropped in this directory instead of standard input"),
            SettingKey("drainTimeout", .number, default: "30", "seconds to wait at the end of the input for the last answers"),
        ] + operations("9572", logLevel: "warning"))

    /// How a client (publish, watch, state, replay, …) reaches a hub: no file section (a profile instead), the
    /// environment and flags.
    public static let client = SettingsSchema(
        section: "client",
        keys: ConnectionProfile.keys.map { key in
            let defaults = ["ingest": "tcp://127.0.0.1:5570", "fanout": "tcp://127.0.0.1:5571", "query": "tcp://127.0.0.1:5572"]
            return SettingKey(key.name, default: defaults[key.name], key.summary)
        })

    public static let dashboard = SettingsSchema(
        section: "dashboard",
        keys: [
            SettingKey("fanout", default: "tcp://127.0.0.1:5571", "the broker's fan-out endpoint"),
            SettingKey("query", default: "tcp://127.0.0.1:5572", "the broker's query endpoint (catch-up, gaps)"),
            SettingKey("snapshot", "start from this aggregator's snapshot instead of folding the journal"),
            SettingKey("dir", "the journal directory, read-only, for history: time travel, diffs, incidents, windows of events"),
            SettingKey("key", "the dashboard's secret key file, when the broker requires CURVE"),
            SettingKey("serverKey", "the broker's public key file, with key"),
            SettingKey("snapshotServerKey", "the aggregator's public key file, with key"),
            SettingKey("tokens", "a tokens file (conduit-dashboard-tokens/1): every request needs one of its tokens"),
            SettingKey("logFormat", default: "text", "the log's format on standard error: text, or json (one object a line)"),
            SettingKey("logLevel", default: "info", "the least level logged: trace, debug, info, notice, warning, error, critical"),
            SettingKey("httpAddress", default: "127.0.0.1:8080", "where the dashboard serves its page and API (host:port; port 0 picks one)"),
        ])

    public static let bridge = SettingsSchema(
        section: "bridge",
        keys: [
            SettingKey("hub", "the hub's name (required): message ids are <hub>:<sequence>, the stream CONDUIT_<HUB> unless stream is given"),
            SettingKey("nats", default: "nats://127.0.0.1:4222", "the NATS servers, comma-separated (a cluster's)"),
            SettingKey("stream", default: "CONDUIT_<HUB>", "the JetStream stream to publish into"),
            SettingKey("subjectPrefix", default: "conduit", "the subjects' first tokens (conduit.<county> when hubs share an account)"),
            SettingKey("replicas", .whole, default: "1", "the stream's replicas when the bridge makes it: 1, 3 or 5"),
            SettingKey("fanout", default: "tcp://127.0.0.1:5571", "the broker's fan-out endpoint"),
            SettingKey("query", default: "tcp://127.0.0.1:5572", "the broker's query endpoint (catch-up, gaps)"),
            SettingKey("key", "the bridge's secret key file, when the broker requires CURVE"),
            SettingKey("serverKey", "the broker's public key file, with key"),
            SettingKey("logFormat", default: "text", "the log's format on standard error: text, or json (one object a line)"),
            SettingKey("logLevel", default: "info", "the least level logged: trace, debug, info, notice, warning, error, critical"),
        ])

    /// Every command's schema, in the order of the reference.
    public static let all = [broker, aggregator, agent, dashboard, bridge]
}
