import ArgumentParser
import ConduitAggregator
import ConduitBroker
import ConduitOperations
import Foundation
import Logging

/// `conduit aggregator`: keeps the aggregate state live and serves snapshots.
struct AggregatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregator",
        abstract: "Keep the aggregate state live from the broker, serve snapshots, publish derived alerts.",
        discussion: """
            Subscribes to the broker's fan-out first, catches up from its checkpoint through the query endpoint, then \
            applies live events in sequence, filling any gap by replay. Serves the state (or a subtree) on the \
            snapshot endpoint, stamped with the sequence it reflects, and publishes the alerts it derives back \
            through ingest as events of /conduit/aggregator. Checkpoints atomically; SIGINT/SIGTERM stop it after a \
            last checkpoint.

            Settings come from, in increasing priority: the defaults, the "aggregator" section of the configuration \
            file (--config or CONDUIT_CONFIG), the environment (CONDUIT_ and the key in capitals: CONDUIT_SNAPSHOT) \
            and the flags; `conduit config keys aggregator` lists them, --show-settings prints those in force.
            """
    )

    @OptionGroup var settings: SettingsOptions

    @Option(help: ArgumentHelp(SettingsSchema.aggregator.help("fanout"), valueName: "endpoint"))
    var fanout: String?

    @Option(help: ArgumentHelp(SettingsSchema.aggregator.help("query"), valueName: "endpoint"))
    var query: String?

    @Option(help: ArgumentHelp(SettingsSchema.aggregator.help("ingest"), valueName: "endpoint"))
    var ingest: String?

    @Option(help: ArgumentHelp(SettingsSchema.aggregator.help("snapshot"), valueName: "endpoint"))
    var snapshot: String?

    @Option(help: ArgumentHelp(SettingsSchema.aggregator.help("checkpoint"), valueName: "file"))
    var checkpoint: String?

    @Flag(help: ArgumentHelp(SettingsSchema.aggregator.help("noAlerts")))
    var noAlerts = false

    @Option(help: ArgumentHelp(SettingsSchema.aggregator.help("key"), valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp(SettingsSchema.aggregator.help("serverKey"), valueName: "file"))
    var serverKey: String?

    @Option(help: ArgumentHelp(
        "Require CURVE on the snapshot endpoint, admitting the public keys (*.pub) in this directory; the aggregator serves with its --key (CONDUIT_SNAPSHOT_CLIENT_KEYS).",
        valueName: "directory"))
    var snapshotClientKeys: String?

    @Option(help: ArgumentHelp(
        "Require CURVE on the snapshot endpoint, admitting the keys of this authorisation file (conduit-authorisation/1) whose role reads snapshots: coordinator, reviewer, dashboard (CONDUIT_SNAPSHOT_AUTHORISATION).",
        valueName: "file"))
    var snapshotAuthorisation: String?

    @OptionGroup var log: LogOptions

    @Option(help: ArgumentHelp(
        SettingsSchema.aggregator.help("httpAddress") + ". Ready means within 1000 events of the broker's head; the port is printed as `http …`.",
        valueName: "host:port"))
    var httpAddress: String?

    static let schema = SettingsSchema.aggregator

    func run() async throws {
        let resolved = try settings.resolve(
            Self.schema,
            flags: [
                "fanout": fanout, "query": query, "ingest": ingest, "snapshot": snapshot, "checkpoint": checkpoint,
                "noAlerts": noAlerts ? "true" : nil, "key": key, "serverKey": serverKey,
                "snapshotClientKeys": snapshotClientKeys, "snapshotAuthorisation": snapshotAuthorisation,
                "httpAddress": httpAddress,
            ].merging(log.flags) { $1 })
        LogOptions.bootstrap(resolved, level: .info)
        var configuration = AggregatorConfiguration()
        if let fanout = resolved.text("fanout") { configuration.fanoutEndpoint = fanout }
        if let query = resolved.text("query") { configuration.queryEndpoint = query }
        if let ingest = resolved.text("ingest") { configuration.ingestEndpoint = ingest }
        if let snapshot = resolved.text("snapshot") { configuration.snapshotEndpoint = snapshot }
        let checkpoint = resolved.text("checkpoint") ?? "conduit-data/aggregator.checkpoint"
        configuration.checkpointPath = checkpoint
        configuration.publishAlerts = resolved.boolean("noAlerts") != true
        // Its own keys, from its settings only (a client's profile is not the aggregator's).
        configuration.curve = try ClientKeyOptions.keys(resolved)
        let snapshotClientKeys = resolved.text("snapshotClientKeys")
        if let snapshotClientKeys {
            guard configuration.curve != nil else {
                throw ValidationError("--snapshot-client-keys needs --key: the aggregator serves snapshots with its own key pair")
            }
            configuration.snapshotClients = try admittedKeys(in: snapshotClientKeys)
        }
        if let snapshotAuthorisation = resolved.text("snapshotAuthorisation") {
            guard snapshotClientKeys == nil else {
                throw ValidationError("--snapshot-client-keys and --snapshot-authorisation are two ways to admit snapshot readers: give one")
            }
            guard let curve = configuration.curve else {
                throw ValidationError("--snapshot-authorisation needs --key: the aggregator serves snapshots with its own key pair")
            }
            // The file names organisations of the hub's plan.
            let plan = CommandPlan.of(query: configuration.queryEndpoint, curve: curve)
            do {
                let principals = try BrokerAuthentication.principals(from: .authorisationFile(snapshotAuthorisation), scenario: plan)
                configuration.snapshotClients = BrokerAuthentication.snapshotClients(principals)
            } catch {
                FileHandle.standardError.write(Data("conduit aggregator: \(error)\n".utf8))
                throw ExitCode(64)
            }
            if configuration.snapshotClients?.isEmpty != false {
                throw ValidationError("\(snapshotAuthorisation) gives no key a role that reads snapshots (coordinator, reviewer, dashboard)")
            }
        }
        let httpAddress = resolved.text("httpAddress")
        let directory = (checkpoint as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let aggregator = Aggregator(configuration: configuration)
        let http = HTTPHolder()
        let announce = OnceStarted(notifying: true) {
            print("snapshot \(try await aggregator.start())")
            if let httpAddress {
                let metrics = Aggregator.metrics(version: Conduit.version)
                let server = try OperationsServer(
                    address: httpAddress,
                    endpoints: OperationsEndpoints(
                        metrics: { aggregator.metricsExposition(metrics) }, readiness: { aggregator.readiness() }))
                http.server.withLock { $0 = server }
                print("http http://\(server.address)")
            }
            fflush(nil)
        }
        defer { http.server.withLock { $0 }?.stop() }
        do {
            try await ServiceRunning.run([aggregator, announce], logger: Logger(label: "conduit.aggregator"))
        } catch {
            FileHandle.standardError.write(Data("conduit aggregator: \(error)\n".utf8))
            throw ExitCode(69)
        }
    }
}
