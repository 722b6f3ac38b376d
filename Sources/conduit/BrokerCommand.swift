import ArgumentParser
import ConduitBridge
import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitOperations
import NATS
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
            Settings come from, in increasing priority: the defaults, the "broker" section of the configuration \
            file (--config or CONDUIT_CONFIG; a flat JSON object of broker settings is read too), the environment \
            (CONDUIT_ and the key in capitals: CONDUIT_DEDUPE_WINDOW), and the flags. `conduit config keys broker` \
            lists every key with its default, the tuning ones too (segmentMegabytes, maximumBatch, retention, \
            connection limits); --show-settings prints what is in force and where each value came from.

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

            Failover (--hub): the hub's JetStream stream becomes the journal of record and the local journal a \
            copy. Run two or more brokers with the same --hub and --nats (each with its own --name, --data and \
            endpoints); one is active, the others stand by without listening, keep their copy up to date and take \
            over when the active one stops renewing its lease. An event is acknowledged only once JetStream stored \
            it (on a replicated stream, on a majority of its nodes). Give agents every broker's ingest endpoint \
            (--ingest a,b). The active broker prints its endpoints as usual; a standby prints `standby <holder>`.

            Mirror (--hub with --mirror): a read-only broker on a copy of the hub's events in --stream (the hub's \
            own stream, or a province's that sources it): it publishes them on its fan-out as they arrive and \
            serves replays, so an aggregator, a dashboard or conduit watch can follow a hub from JetStream; agents \
            are refused. Its --data must be a directory of its own.

            Exit status: 0 after a graceful stop; 69 when an endpoint is taken or cannot be bound; 74 when the \
            journal directory cannot be used, or the journal failed (a failed fdatasync) and the broker stopped \
            rather than acknowledge anything it cannot vouch for; 64 for a bad setting.
            """
    )

    @OptionGroup var settings: SettingsOptions

    @Option(help: ArgumentHelp(SettingsSchema.broker.help("ingest"), valueName: "endpoint"))
    var ingest: String?

    @Option(help: ArgumentHelp(SettingsSchema.broker.help("fanout"), valueName: "endpoint"))
    var fanout: String?

    @Option(help: ArgumentHelp(SettingsSchema.broker.help("query"), valueName: "endpoint"))
    var query: String?

    @Option(help: ArgumentHelp(SettingsSchema.broker.help("data"), valueName: "directory"))
    var data: String?

    @Option(help: ArgumentHelp(SettingsSchema.broker.help("dedupeWindow") + "; up to twice as many are kept."))
    var dedupeWindow: Int?

    @Option(help: ArgumentHelp(SettingsSchema.broker.help("durability"), valueName: "policy"))
    var durability: String?

    @OptionGroup var log: LogOptions

    @Option(help: ArgumentHelp(
        SettingsSchema.broker.help("httpAddress") + ". The port is printed as `http …`. Keep it on loopback or behind a firewall.",
        valueName: "host:port"))
    var httpAddress: String?

    @Option(
        name: [.customLong("plan"), .customLong("scenario", withSingleDash: false)],
        help: ArgumentHelp(
            "A plan file (conduit-plan/1, see conduit plan init) to put in force. Without it the journal's latest plan stays in force (the built-in seed plan for a new journal) (CONDUIT_PLAN).",
            valueName: "file"))
    var scenario: String?

    @Option(help: ArgumentHelp("Turn CURVE authentication on with the broker's secret key file (see conduit keygen) (CONDUIT_SERVER_KEY).", valueName: "file"))
    var serverKey: String?

    @Option(help: ArgumentHelp("With --server-key: the directory of the admitted clients' public key files (*.pub) (CONDUIT_CLIENT_KEYS).", valueName: "directory"))
    var clientKeys: String?

    @Option(
        help: ArgumentHelp(
            "With --server-key: an authorisation file (conduit-authorisation/1) of principals with roles, instead of --client-keys (CONDUIT_AUTHORISATION).",
            valueName: "file"))
    var authorisation: String?

    @Option(help: ArgumentHelp(
        "Run as one of a hub's brokers that stand by for each other, with the hub's JetStream stream as the journal of record (see above); the hub's name (CONDUIT_HUB).",
        valueName: "name"))
    var hub: String?

    @Flag(help: "With --hub: mirror the hub's events from --stream (its own stream, or a province's that sources it) instead of taking events; read-only (CONDUIT_MIRROR).")
    var mirror = false

    @Option(help: ArgumentHelp("With --hub: a NATS server (repeatable: a cluster's servers; default nats://127.0.0.1:4222) (CONDUIT_NATS, comma-separated).", valueName: "nats://host:port"))
    var nats: [String] = []

    @Option(help: ArgumentHelp("With --hub: the stream (default CONDUIT_<HUB>, as conduit bridge nats names it) (CONDUIT_STREAM).", valueName: "name"))
    var stream: String?

    @Option(help: "With --hub: the stream's and the lease's replicas when this broker makes them: 1 (the default), or 3 or 5 on a cluster (CONDUIT_REPLICAS).")
    var replicas: Int?

    @Option(help: ArgumentHelp("With --hub: this broker's name in the lease, unique among the hub's brokers (default: the host's name and the ingest endpoint) (CONDUIT_NAME).", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("With --hub: how long the lease lasts unrenewed before a standby takes over (default 2, 0.2 to 600) (CONDUIT_LEASE).", valueName: "seconds"))
    var lease: Double?

    /// What `--hub` and its companions resolve to (from flags, the environment or the settings file).
    struct HubSettings {
        var hub: String
        var mirror: Bool
        var servers: [String]
        var stream: String?
        var replicas: Int
        var name: String?
        var lease: Double

        /// `nil` without a hub; throws a setting's error, naming where it came from. `standIn` is the hub to check
        /// the other settings with when none is given (a file checked alone: its hub may come from elsewhere).
        init?(_ resolved: Settings, standIn: String? = nil) throws {
            func origin(_ key: String) -> String { HubStreamSettings.origin(resolved, key) }
            guard let hub = resolved.text("hub") ?? standIn else {
                // Without a hub they would be ignored: a setting given for nothing is a mistake to point out.
                if resolved.boolean("mirror") == true {
                    throw SettingsError("\(origin("mirror")) needs a hub (--hub): the hub whose events to mirror")
                }
                if let stray = ["nats", "stream", "replicas", "name", "lease"].first(where: { resolved.text($0) != nil }) {
                    throw SettingsError("\(origin(stray)) is a setting of a hub's broker and needs a hub (--hub)")
                }
                return nil
            }
            self.hub = try HubStreamSettings.hub(resolved, hub, names: "the stream, the message ids and the lease")
            mirror = resolved.boolean("mirror") ?? false
            servers = try HubStreamSettings.servers(resolved)
            stream = resolved.text("stream")
            replicas = try HubStreamSettings.replicas(resolved)
            name = resolved.text("name")
            lease = resolved.number("lease") ?? 2
            guard lease >= 0.2, lease <= 600 else {
                throw SettingsError("\(origin("lease")) must be between 0.2 and 600 seconds; got \(Settings.text(of: lease))")
            }
        }
    }

    static let schema = SettingsSchema.broker

    /// The broker's settings that have a range or a form beyond their kind (what `conduit config check` checks in a
    /// file); the broker checks the same when it starts.
    static func check(_ resolved: Settings) throws {
        _ = try HubSettings(resolved, standIn: "hub")
        _ = try configuration(resolved)
    }

    /// The broker's configuration for its settings; an error names the file member, variable or flag that holds the
    /// value.
    static func configuration(_ resolved: Settings) throws -> BrokerConfiguration {
        do { return try BrokerSettings(resolved).configuration() } catch let invalid as BrokerSettings.Invalid {
            // The reason begins with the key's name: it is told where the value came from instead.
            if let key = schema.keys.first(where: { invalid.description.hasPrefix($0.name + " ") }), let origin = resolved.origin(key.name) {
                throw SettingsError("\(origin)" + invalid.description.dropFirst(key.name.count))
            }
            throw SettingsError(invalid.description)
        }
    }

    func run() async throws {
        let resolved = try settings.resolve(
            Self.schema,
            flags: [
                "ingest": ingest, "fanout": fanout, "query": query, "data": data, "dedupeWindow": dedupeWindow.map(String.init),
                "durability": durability, "httpAddress": httpAddress, "plan": scenario, "serverKey": serverKey,
                "clientKeys": clientKeys, "authorisation": authorisation, "hub": hub, "mirror": mirror ? "true" : nil,
                "nats": nats.isEmpty ? nil : nats.joined(separator: ","), "stream": stream, "replicas": replicas.map(String.init),
                "name": name, "lease": lease.map(Settings.text(of:)),
            ].merging(log.flags) { $1 },
            derivedDefaults: HubStreamSettings.derivedDefaults)
        LogOptions.bootstrap(resolved, level: .info)
        let httpAddress = resolved.text("httpAddress")
        var configuration: BrokerConfiguration
        let hubSettings: HubSettings?
        do {
            hubSettings = try HubSettings(resolved)
            configuration = try Self.configuration(resolved)
            if let scenario = resolved.text("plan") {
                configuration.scenario = try loadScenario(scenario)
            }
            // The keys are checked against the plan the broker will run: the given one, else the journal's.
            let plan = { configuration.scenario ?? CommandPlan.stated(journal: configuration.journalDirectory) ?? .default }
            switch (resolved.text("serverKey"), resolved.text("clientKeys"), resolved.text("authorisation")) {
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
        if let hubSettings, hubSettings.mirror {
            try await runMirror(hubSettings, configuration: configuration)
            return
        }
        if let hubSettings {
            try await runFailover(hubSettings, configuration: configuration)
            return
        }
        let metrics = httpAddress == nil ? nil : BrokerMetrics(version: Conduit.version)
        configuration.metrics = metrics
        let broker = Broker(configuration: configuration, logger: Logger(label: "conduit.broker"))
        let http = HTTPHolder()
        let announce = OnceStarted(notifying: true) { [configuration] in
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

extension BrokerCommand {
    /// Runs as one of the hub's brokers that stand by for each other, until SIGINT or SIGTERM.
    func runFailover(_ settings: HubSettings, configuration: BrokerConfiguration) async throws {
        let hub = settings.hub
        var failover = FailoverBroker.Configuration(
            hub: hub, stream: settings.stream, servers: settings.servers,
            name: settings.name ?? "\(ProcessInfo.processInfo.hostName) \(configuration.ingestEndpoint)", broker: configuration)
        failover.replicas = settings.replicas
        failover.lease = .milliseconds(Int64(settings.lease * 1000))
        let streamName = failover.stream
        let broker = FailoverBroker(configuration: failover, logger: Logger(label: "conduit.broker")) { role in
            switch role {
            case .standby(let holder): print("standby \(holder.isEmpty ? "(no broker is active)" : holder)")
            case .active(let endpoints):
                print(endpoints.announcement)
                print("journal \(configuration.journalDirectory)")
                print("active \(streamName)")
            }
            fflush(nil)
        }
        try await Self.untilSignalled { stopping in try broker.run(stopping: stopping) }
    }
}

extension BrokerCommand {
    /// Mirrors the hub's events from the stream, read-only, until SIGINT or SIGTERM.
    func runMirror(_ settings: HubSettings, configuration: BrokerConfiguration) async throws {
        let hub = settings.hub
        let streamName = settings.stream ?? JetStreamBridge.Configuration.streamName(hub: hub)
        let mirror = StreamMirror(
            configuration: StreamMirror.Configuration(hub: hub, stream: streamName, servers: settings.servers, broker: configuration),
            logger: Logger(label: "conduit.broker")
        ) { endpoints, last in
            print(endpoints.announcement)
            print("journal \(configuration.journalDirectory)")
            print("mirror \(streamName) of hub \(hub), at sequence \(last)")
            fflush(nil)
        }
        try await Self.untilSignalled { stopping in try mirror.run(stopping: stopping) }
    }

    /// Runs `work` on a thread of its own until it returns, SIGINT or SIGTERM setting its stop signal; what stopped
    /// it for good becomes the exit status: 69 for NATS out of reach or an endpoint taken, 74 for a stream or
    /// journal it cannot use.
    static func untilSignalled(_ work: @escaping @Sendable (JetStreamBridge.StopSignal) throws -> Void) async throws {
        let stopping = JetStreamBridge.StopSignal()
        let signals = await TrappedSignals([.sigint, .sigterm]) { _ in stopping.stop() }
        defer { signals.cancel() }
        do {
            try await onOwnThread { try work(stopping) }
        } catch let error as NATSError {
            throw RuntimeFailure.exit("broker", "\(error)", status: RuntimeFailure.unavailable)
        } catch let error as BrokerError {
            throw RuntimeFailure.exit("broker", "\(error)", status: error.code == .endpointUnavailable ? 69 : 74)
        } catch let refusal as FailoverBroker.Refusal {
            throw RuntimeFailure.exit("broker", "\(refusal)", status: 74)
        } catch let refusal as StreamMirror.Refusal {
            throw RuntimeFailure.exit("broker", "\(refusal)", status: 74)
        } catch let failure as ProvinceView.Failure {
            throw RuntimeFailure.exit("broker", "\(failure)", status: 74)
        }
    }
}

/// The operations server, once the broker is up.
final class HTTPHolder: Sendable {
    let server = Mutex<OperationsServer?>(nil)
}

