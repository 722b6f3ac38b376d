import ArgumentParser
import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitOperations
import Foundation
import Synchronization
import Logging
import ServiceLifecycle
import UnixSignals

/// `conduit broker`: runs the broker until SIGINT or SIGTERM.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the broker: ingest from agents, durable journal, fan-out to subscribers, replay queries.",
        discussion: """
            Settings come from, in increasing priority: the defaults, a JSON file (--config), the environment \
            (CONDUIT_INGEST, CONDUIT_FANOUT, CONDUIT_QUERY, CONDUIT_DATA, CONDUIT_DEDUPE_WINDOW, CONDUIT_LOG_LEVEL), \
            and the flags below. The JSON file may hold any of: ingest, fanout, query, data, segmentMegabytes, \
            dedupeWindow, maximumBatch, fanoutHighWaterMark, fanoutHeartbeatMs, agentHeartbeatMs, \
            retentionMegabytes, retentionHours, durability ("batch" or "unsafe-no-sync"), ingestConnections, \
            fanoutConnections, queryConnections (connections each endpoint keeps at once; 256, 256, 64), \
            connectionsPerAddress (32, and 16 on query), stalledConnectionMs (how long a connection may hold part of \
            a message; 10000).

            Every event is acknowledged only once it is in the journal and synced to disk (fdatasync). \
            SIGINT or SIGTERM stops the broker gracefully: the current batch is finished and acknowledged, \
            then the sockets and the journal are closed.

            Authentication (CURVE on all three endpoints): --server-key with either --client-keys (a directory of \
            public key files; each key may do all its organisation may do under the plan) or --authorisation (a \
            conduit-authorisation/1 file of principals, each with an organisation, a role and its keys; roles: agent, \
            inspector, coordinator, reviewer, aggregator, bridge, dashboard). SIGHUP reads the keys again: new \
            handshakes follow them at once, and the connections of principals removed or changed are closed; a file \
            with an error changes nothing (the error is logged). Refusals are logged (auth.refused) and counted \
            (conduit stats: handshakesRefused, eventsForbidden, connectionsRevoked).

            Exit status: 0 after a graceful stop; 69 when an endpoint is taken or cannot be bound; 74 when the \
            journal directory cannot be used, or the journal failed (a failed fdatasync) and the broker stopped \
            rather than acknowledge anything it cannot vouch for; 64 for a bad setting.
            """
    )

    @Option(help: "A JSON file of settings (see above).")
    var config: String?

    @Option(help: "The ingest endpoint agents connect to (default tcp://127.0.0.1:5570).")
    var ingest: String?

    @Option(help: "The fan-out endpoint subscribers connect to (default tcp://127.0.0.1:5571).")
    var fanout: String?

    @Option(help: "The query endpoint for replay, head and statistics (default tcp://127.0.0.1:5572).")
    var query: String?

    @Option(help: "The journal directory (default ./conduit-data/journal).")
    var data: String?

    @Option(help: "Recent events remembered at least, to deduplicate resends (default 500000; up to twice as many are kept).")
    var dedupeWindow: Int?

    @Option(help: "Journal durability: batch (fdatasync before every acknowledgement) or unsafe-no-sync (tests only).")
    var durability: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @OptionGroup var log: LogOptions

    @Option(help: ArgumentHelp(
        "Serve GET /metrics (Prometheus), /healthz and /readyz over HTTP at host:port (port 0: any free one; it is printed as `http …`). Off by default; keep it on loopback or behind a firewall.",
        valueName: "host:port"))
    var httpAddress: String?

    @Option(
        name: [.customLong("plan"), .customLong("scenario", withSingleDash: false)],
        help: ArgumentHelp(
            "A plan file (conduit-plan/1, see conduit plan init) to put in force. Without it the journal's latest plan stays in force (the built-in seed plan for a new journal).",
            valueName: "file"))
    var scenario: String?

    @Option(help: "Turn CURVE authentication on with the broker's secret key file (see conduit keygen).")
    var serverKey: String?

    @Option(help: "With --server-key: the directory of the admitted clients' public key files (*.pub).")
    var clientKeys: String?

    @Option(
        help: ArgumentHelp(
            "With --server-key: an authorisation file (conduit-authorisation/1) of principals with roles, instead of --client-keys.",
            valueName: "file"))
    var authorisation: String?

    func run() async throws {
        let settings: BrokerSettings
        do {
            settings = try BrokerSettings.resolve(
                file: config, environment: ProcessInfo.processInfo.environment,
                flags: BrokerSettings(
                    ingest: ingest, fanout: fanout, query: query, data: data, dedupeWindow: dedupeWindow,
                    durability: durability, logLevel: logLevel))
        } catch {
            FileHandle.standardError.write(Data("conduit broker: \(error)\n".utf8))
            throw ExitCode(64)
        }
        let level = settings.logLevel.flatMap(Logger.Level.init(rawValue:)) ?? .info
        log.bootstrap(level: level)
        var configuration: BrokerConfiguration
        do {
            configuration = try settings.configuration()
            if let scenario {
                configuration.scenario = try loadScenario(scenario)
            }
            // The keys are checked against the plan the broker will run: the given one, else the journal's.
            let plan = { configuration.scenario ?? CommandPlan.stated(journal: configuration.journalDirectory) ?? .default }
            switch (serverKey, clientKeys, authorisation) {
            case (nil, nil, nil): break
            case (let serverKey?, let clientKeys?, nil):
                configuration.authentication = try BrokerAuthentication.load(
                    serverKeyFile: serverKey, clientsDirectory: clientKeys, scenario: plan())
            case (let serverKey?, nil, let authorisation?):
                configuration.authentication = try BrokerAuthentication.load(
                    serverKeyFile: serverKey, authorisationFile: authorisation, scenario: plan())
            case (_, _?, _?):
                throw BrokerSettings.Invalid(description: "--client-keys and --authorisation are two ways to admit clients: give one")
            default:
                throw BrokerSettings.Invalid(description: "--server-key goes with --client-keys or --authorisation")
            }
        } catch {
            FileHandle.standardError.write(Data("conduit broker: \(error)\n".utf8))
            throw ExitCode(64)
        }
        let metrics = httpAddress == nil ? nil : BrokerMetrics(version: Conduit.version)
        configuration.metrics = metrics
        let broker = Broker(configuration: configuration, logger: Logger(label: "conduit.broker"))
        let http = HTTPHolder()
        let announce = OnceStarted { [configuration] in
            let endpoints = try await broker.start()
            print(endpoints.announcement)
            print("journal \(configuration.journalDirectory)")
            if let authentication = configuration.authentication {
                print("curve \(authentication.serverKeys.publicKeyText) (\(authentication.principals.count) client keys)")
            }
            if let address = httpAddress, let metrics {
                let server = try OperationsServer(
                    address: address, endpoints: OperationsEndpoints(metrics: metrics.exposition, readiness: { broker.readiness }))
                http.server.withLock { $0 = server }
                print("http http://\(server.address)")
            }
            fflush(nil)
        }
        // SIGHUP reads the keys again; an error leaves those in force (and is logged).
        let reload = await TrappedSignals([.sighup]) { _ in
            let logger = Logger(label: "conduit.broker")
            do {
                let (keys, closed) = try broker.reloadAuthorisation()
                FileHandle.standardError.write(Data("conduit broker: keys read again: \(keys) admitted\(closed.isEmpty ? "" : "; connections of \(closed.sorted().joined(separator: ", ")) closed")\n".utf8))
            } catch {
                logger.error("broker.authorisation_reload_failed", metadata: ["error": "\(error)"])
                FileHandle.standardError.write(Data("conduit broker: the keys were not read again, those in force stay: \(error)\n".utf8))
            }
        }
        defer {
            reload.cancel()
            http.server.withLock { $0 }?.stop()
        }
        do {
            try await ServiceRunning.run([broker, announce], logger: Logger(label: "conduit.broker"))
        } catch let error as BrokerError where broker.failure == nil {
            // It could not start: nothing is running.
            FileHandle.standardError.write(Data("conduit broker: \(error)\n".utf8))
            throw ExitCode(error.code == .endpointUnavailable ? 69 : error.code == .journalUnusable ? 74 : 1)
        } catch {
            if broker.failure == nil { throw error }
        }
        if let failure = broker.failure {
            FileHandle.standardError.write(Data("conduit broker: stopped: \(failure)\n".utf8))
            throw ExitCode(74)
        }
    }
}

/// The operations server, once the broker is up.
final class HTTPHolder: Sendable {
    let server = Mutex<OperationsServer?>(nil)
}

