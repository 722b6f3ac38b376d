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
            """
    )

    @Option(help: "The broker's fan-out endpoint.")
    var fanout: String = "tcp://127.0.0.1:5571"

    @Option(help: "The broker's query endpoint.")
    var query: String = "tcp://127.0.0.1:5572"

    @Option(help: "The broker's ingest endpoint (for the derived alerts).")
    var ingest: String = "tcp://127.0.0.1:5570"

    @Option(help: "The snapshot endpoint to bind.")
    var snapshot: String = "tcp://127.0.0.1:5573"

    @Option(help: "The checkpoint file.")
    var checkpoint: String = "conduit-data/aggregator.checkpoint"

    @Flag(help: "Do not publish derived alerts back to the broker.")
    var noAlerts = false

    @Option(help: ArgumentHelp("The aggregator's secret key file (conduit keygen --owner conduit), when the broker requires CURVE.", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("The broker's public key file, with --key.", valueName: "file"))
    var serverKey: String?

    @Option(help: ArgumentHelp(
        "Require CURVE on the snapshot endpoint, admitting the public keys (*.pub) in this directory; the aggregator serves with its --key.",
        valueName: "directory"))
    var snapshotClientKeys: String?

    @Option(help: ArgumentHelp(
        "Require CURVE on the snapshot endpoint, admitting the keys of this authorisation file (conduit-authorisation/1) whose role reads snapshots: coordinator, reviewer, dashboard.",
        valueName: "file"))
    var snapshotAuthorisation: String?

    @OptionGroup var log: LogOptions

    @Option(help: ArgumentHelp(
        "Serve GET /metrics (Prometheus), /healthz and /readyz (ready: within 1000 events of the broker's head) over HTTP at host:port (port 0: any free one; printed as `http …`).",
        valueName: "host:port"))
    var httpAddress: String?

    func run() async throws {
        log.bootstrap(level: .info)
        var configuration = AggregatorConfiguration()
        configuration.fanoutEndpoint = fanout
        configuration.queryEndpoint = query
        configuration.ingestEndpoint = ingest
        configuration.snapshotEndpoint = snapshot
        configuration.checkpointPath = checkpoint
        configuration.publishAlerts = !noAlerts
        var keys = ClientKeyOptions()
        keys.key = key
        keys.serverKey = serverKey
        configuration.curve = try keys.broker()
        if let snapshotClientKeys {
            guard configuration.curve != nil else {
                throw ValidationError("--snapshot-client-keys needs --key: the aggregator serves snapshots with its own key pair")
            }
            configuration.snapshotClients = try admittedKeys(in: snapshotClientKeys)
        }
        if let snapshotAuthorisation {
            guard snapshotClientKeys == nil else {
                throw ValidationError("--snapshot-client-keys and --snapshot-authorisation are two ways to admit snapshot readers: give one")
            }
            guard let curve = configuration.curve else {
                throw ValidationError("--snapshot-authorisation needs --key: the aggregator serves snapshots with its own key pair")
            }
            // The file names organisations of the hub's plan.
            let plan = CommandPlan.of(query: query, curve: curve)
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
        let directory = (checkpoint as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let aggregator = Aggregator(configuration: configuration)
        let http = HTTPHolder()
        let httpAddress = httpAddress
        let announce = OnceStarted {
            print("snapshot \(try await aggregator.start())")
            if let httpAddress {
                let server = try OperationsServer(
                    address: httpAddress,
                    endpoints: OperationsEndpoints(
                        metrics: { aggregator.metricsExposition(version: Conduit.version) }, readiness: { aggregator.readiness() }))
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
