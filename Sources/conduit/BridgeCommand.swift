import ArgumentParser
import ConduitAggregator
import ConduitBridge
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

    @Option(help: ArgumentHelp("The hub's name: message ids are <hub>:<sequence>, and the stream is CONDUIT_<HUB> unless --stream is given.", valueName: "name"))
    var hub: String

    @OptionGroup var server: NATSServerOptions

    @Option(help: ArgumentHelp("The JetStream stream to publish into (default CONDUIT_<HUB>).", valueName: "name"))
    var stream: String?

    @Option(help: ArgumentHelp("The subjects' first tokens.", valueName: "prefix"))
    var subjectPrefix: String = "conduit"

    @Option(help: "The stream's replicas when the bridge makes it: 1, or 3 on a cluster.")
    var replicas: Int = 1

    @Option(help: "The broker's fan-out endpoint (default tcp://127.0.0.1:5571; CONDUIT_FANOUT, or the profile's).")
    var fanout: String?

    @Option(help: "The broker's query endpoint (default tcp://127.0.0.1:5572; CONDUIT_QUERY, or the profile's).")
    var query: String?

    @Option(help: ArgumentHelp("How much to log: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "info"

    @OptionGroup var keys: ClientKeyOptions

    func validate() throws {
        guard !hub.isEmpty, hub.allSatisfy(JetStreamBridge.isTokenCharacter) else {
            throw ValidationError("--hub must be letters, digits, - and _ (it names the stream and the message ids); got \"\(hub)\"")
        }
        guard [1, 3, 5].contains(replicas) else { throw ValidationError("--replicas must be 1, 3 or 5; got \(replicas)") }
        let tokens = subjectPrefix.split(separator: ".", omittingEmptySubsequences: false)
        guard !tokens.isEmpty, tokens.allSatisfy({ !$0.isEmpty && !$0.contains(where: { " *>\t".contains($0) }) }) else {
            throw ValidationError("--subject-prefix must be dot-separated tokens without spaces, * or >; got \"\(subjectPrefix)\"")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical; got \"\(logLevel)\"")
        }
    }

    func run() async throws {
        var logger = Logger(label: "conduit-bridge") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var follower = FanoutFollower.Configuration(
            fanout: try keys.endpoint("fanout", flag: fanout)!, query: try keys.endpoint("query", flag: query)!)
        follower.curve = try keys.broker()
        let configuration = JetStreamBridge.Configuration(
            hub: hub, stream: stream, subjectPrefix: subjectPrefix, replicas: replicas, servers: server.nats, follower: follower)
        let bridge = JetStreamBridge(configuration: configuration, logger: logger)
        let context = try Context()
        let stopping = JetStreamBridge.StopSignal()
        let signals = await TrappedSignals([.sigint, .sigterm]) { _ in stopping.stop() }
        defer { signals.cancel() }
        FileHandle.standardOutput.write(Data("bridge \(follower.fanout) → \(configuration.stream) on \(server.nats.joined(separator: ","))\n".utf8))
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
