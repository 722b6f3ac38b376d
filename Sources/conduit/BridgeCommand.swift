import ArgumentParser
import ConduitAggregator
import ConduitBridge
import ConduitOperations
import Foundation
import Logging
import NATS
import ZeroMQ

/// `conduit bridge`: a hub's journal carried into another system.
struct BridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: "Carry a hub's journal into another system (NATS JetStream).",
        subcommands: [BridgeNATS.self]
    )
}

/// `conduit bridge nats`: every event of a hub's journal, in order, into a JetStream stream whose sequence is the
/// journal's.
struct BridgeNATS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nats",
        abstract: "Publish every event of a hub's journal into a NATS JetStream stream, sequence for sequence.",
        discussion: """
            Follows the broker as the aggregator does (catch-up through --query, then the live --fanout, gaps \
            replayed) and publishes each event into the stream --stream (default CONDUIT_<HUB>, made with --replicas \
            replicas and the subjects <prefix>.> if it is missing) on the subject \
            <prefix>.<kind>.<utility>.<site>, e.g. conduit.progress.power.ganjiaba. The payload is the event's \
            canonical JSON as the journal holds it; the headers are Nats-Msg-Id <hub>:<sequence>, \
            Nats-Expected-Last-Sequence <sequence - 1>, Conduit-Sequence and Conduit-Recorded-Time.

            So the stream's message N is the journal's event N: JetStream stores an event only as the stream's next \
            message and never twice, and a second bridge on the same stream is refused (exit status 1). A bridge \
            that stops, crashes or is killed starts again from the stream's last message; a NATS server that stops \
            or a cluster electing a leader delays publication (it is tried again, with the same id) but loses \
            nothing. A stream whose last message is not this hub's event of that sequence is refused.

            Hubs that share one NATS account give each a --subject-prefix of its own (conduit.<county>), since two \
            streams cannot take the same subjects. SIGINT or SIGTERM stops after the event being published.

            Example:
              conduit bridge nats --hub jiangkou --nats nats://127.0.0.1:4222
              nats stream info CONDUIT_JIANGKOU
            """
    )

    @OptionGroup var settings: SettingsOptions

    @Option(help: ArgumentHelp(
        "A connection profile for the broker's fan-out, query and keys, saved with conduit profile save (default: CONDUIT_PROFILE, else the one conduit profile use selected); its values come above the file's bridge section, below the environment and the flags.",
        valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp(SettingsSchema.bridge.help("hub"), valueName: "name"))
    var hub: String?

    @Option(help: ArgumentHelp(
        "A NATS server, repeatable for a cluster's servers (default nats://127.0.0.1:4222; CONDUIT_NATS, comma-separated).",
        valueName: "nats://host:port"))
    var nats: [String] = []

    @Option(help: ArgumentHelp(SettingsSchema.bridge.help("stream"), valueName: "name"))
    var stream: String?

    @Option(help: ArgumentHelp(SettingsSchema.bridge.help("subjectPrefix"), valueName: "prefix"))
    var subjectPrefix: String?

    @Option(help: ArgumentHelp(SettingsSchema.bridge.help("replicas")))
    var replicas: Int?

    @Option(help: ArgumentHelp(SettingsSchema.bridge.help("fanout"), valueName: "endpoint"))
    var fanout: String?

    @Option(help: ArgumentHelp(SettingsSchema.bridge.help("query"), valueName: "endpoint"))
    var query: String?

    @Option(help: ArgumentHelp(SettingsSchema.bridge.help("key"), valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp(SettingsSchema.bridge.help("serverKey"), valueName: "file"))
    var serverKey: String?

    @OptionGroup var log: LogOptions

    static let schema = SettingsSchema.bridge

    /// What the bridge's settings resolve to, checked; an error names the file member, variable or flag.
    struct Resolved {
        var hub: String
        var servers: [String]
        var stream: String?
        var subjectPrefix: String
        var replicas: Int
        var fanout: String
        var query: String

        /// `standIn` is the hub to check the other settings with when none is given (a file checked alone).
        init(_ resolved: Settings, standIn: String? = nil) throws {
            func origin(_ key: String) -> String { HubStreamSettings.origin(resolved, key) }
            guard let hub = resolved.text("hub") ?? standIn else {
                throw SettingsError("--hub is required (or hub in the bridge section of the configuration file, or CONDUIT_HUB): the hub's name")
            }
            self.hub = try HubStreamSettings.hub(resolved, hub, names: "the stream and the message ids")
            servers = try HubStreamSettings.servers(resolved)
            stream = resolved.text("stream")
            replicas = try HubStreamSettings.replicas(resolved)
            subjectPrefix = resolved.text("subjectPrefix") ?? "conduit"
            let tokens = subjectPrefix.split(separator: ".", omittingEmptySubsequences: false)
            guard tokens.allSatisfy({ !$0.isEmpty && !$0.contains(where: { " *>\t".contains($0) }) }) else {
                throw SettingsError("\(origin("subjectPrefix")) must be dot-separated tokens without spaces, * or >; got \"\(subjectPrefix)\"")
            }
            fanout = resolved.text("fanout") ?? "tcp://127.0.0.1:5571"
            query = resolved.text("query") ?? "tcp://127.0.0.1:5572"
        }
    }

    /// The checks `conduit config check` makes of a file's bridge section: each value's range and form (a file need
    /// not name the hub: it may come from the environment or a flag).
    static func check(_ resolved: Settings) throws {
        _ = try Resolved(resolved, standIn: "hub")
    }

    func run() async throws {
        let chosen: ConnectionProfile?
        do { chosen = try ConnectionProfile.chosen(flag: profile, environment: ProcessInfo.processInfo.environment) } catch {
            throw ValidationError("\(error)")
        }
        let resolved = try settings.resolve(
            Self.schema, profile: chosen,
            flags: [
                "hub": hub, "nats": nats.isEmpty ? nil : nats.joined(separator: ","), "stream": stream, "subjectPrefix": subjectPrefix,
                "replicas": replicas.map(String.init), "fanout": fanout, "query": query, "key": key, "serverKey": serverKey,
            ].merging(log.flags) { $1 },
            derivedDefaults: HubStreamSettings.derivedDefaults)
        let bridgeSettings: Resolved
        do { bridgeSettings = try Resolved(resolved) } catch {
            throw RuntimeFailure.exit("bridge nats", "\(error)", status: RuntimeFailure.usage)
        }
        LogOptions.bootstrap(resolved, level: .info)
        let logger = Logger(label: "conduit-bridge")
        var follower = FanoutFollower.Configuration(fanout: bridgeSettings.fanout, query: bridgeSettings.query)
        // Its keys as resolved: the flags, the environment, the profile, the file.
        follower.curve = try ClientKeyOptions.keys(resolved)
        let configuration = JetStreamBridge.Configuration(
            hub: bridgeSettings.hub, stream: bridgeSettings.stream, subjectPrefix: bridgeSettings.subjectPrefix,
            replicas: bridgeSettings.replicas, servers: bridgeSettings.servers, follower: follower)
        let bridge = JetStreamBridge(configuration: configuration, logger: logger)
        let context = try Context()
        let stopping = JetStreamBridge.StopSignal()
        let signals = await TrappedSignals([.sigint, .sigterm]) { _ in stopping.stop() }
        defer { signals.cancel() }
        FileHandle.standardOutput.write(Data("bridge \(follower.fanout) → \(configuration.stream) on \(bridgeSettings.servers.joined(separator: ","))\n".utf8))
        let reporter = Task {
            var last: UInt64 = .max
            while !Task.isCancelled {
                // Cancelled when the bridge stops: nothing more to report.
                guard (try? await Task.sleep(for: .seconds(10))) != nil else { return }
                let stored = bridge.progress.storedSequence
                if stored != last {
                    logger.info("bridge.progress", metadata: ["stored": "\(stored)", "retries": "\(bridge.progress.retryCount)"])
                    last = stored
                }
            }
        }
        defer { reporter.cancel() }
        do {
            try await onOwnThread { try bridge.run(context: context, stopping: stopping) }
        } catch let refusal as JetStreamBridge.Refusal {
            throw RuntimeFailure.exit("bridge nats", "\(refusal)", status: RuntimeFailure.failure)
        } catch let error as NATSError {
            throw RuntimeFailure.exit("bridge nats", "\(error)", status: RuntimeFailure.unavailable)
        }
        FileHandle.standardOutput.write(Data("bridge stopped at sequence \(bridge.progress.storedSequence)\n".utf8))
    }
}
