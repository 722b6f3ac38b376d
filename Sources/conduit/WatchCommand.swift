import ArgumentParser
import ConduitConsole
import ConduitCore
import ConduitReplay
import Foundation
import ZeroMQ

/// `conduit watch`: live events from the broker's fan-out, filtered, one line each.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch live events from the broker, filtered by kind, utility, community or work item.",
        discussion: """
            Subscribes to the broker's fan-out with ZeroMQ prefix subscriptions built from --kind, --utility and \
            --community; --work-item takes glob patterns (ganjiaba-*) checked on each event. Prints a timeline line \
            per event (or --format jsonl). The fan-out heartbeat carries the latest sequence, so a gap — events lost \
            while this terminal fell behind — is reported as it is noticed. Ctrl-C stops.

            With --state, shows the aggregate state live instead: it subscribes to everything first, takes the state \
            of an aggregator (--snapshot) or folds the journal from sequence 1 through the broker's query endpoint \
            (--query), then applies only live events above that sequence, replaying any gap. On a terminal the \
            state is redrawn in place (progress bars, open outages, alerts, the latest events); otherwise it prints \
            a line per event and per alert raised or cleared, and a roll-up line (= #sequence …) every 100 events \
            or 10 seconds.
            """
    )

    @Flag(help: "Show the aggregate state live (caught up from the journal or an aggregator's snapshot) instead of event lines.")
    var state = false

    @Option(help: "With --state: the broker's query endpoint, to catch up and fill gaps (default tcp://127.0.0.1:5572; CONDUIT_QUERY, or the profile's).")
    var query: String?

    @Option(help: "With --state: take the state from this aggregator's snapshot endpoint (e.g. tcp://127.0.0.1:5573) instead of folding the journal.")
    var snapshot: String?

    @Option(help: "The broker's fan-out endpoint (default tcp://127.0.0.1:5571; CONDUIT_FANOUT, or the profile's).")
    var fanout: String?

    @Option(help: "Only this kind: progress, inspection, outage, presence, alert (repeatable).")
    var kind: [String] = []

    @Option(help: "Only this utility: power, water, telecom, broadcast (repeatable; needs --kind for a server-side filter).")
    var utility: [String] = []

    @Option(help: "Only this community id (repeatable).")
    var community: [String] = []

    @Option(help: "Only work items matching this glob pattern, e.g. ganjiaba-* (repeatable).")
    var workItem: [String] = []

    @Option(help: "Output: timeline or jsonl.")
    var format: String = "timeline"

    @OptionGroup var language: LanguageOption

    @OptionGroup var keys: ClientKeyOptions

    @Option(help: "The time zone of the timeline, e.g. UTC (default: the plan's; with --state the hub's, asked through --query, else Asia/Shanghai, the seed plan's).")
    var timeZone: String?

    @Option(help: "Stop after this many events (for scripts; with --state, events applied, caught up included).")
    var count: Int?

    func run() async throws {
        // SIGINT/SIGTERM shut the context down: the blocking receive ends at once. The watching itself runs on a
        // thread of its own.
        let context = try Context()
        let stopping = ReplayCommand.Interruption()
        let signals = await TrappedSignals([.sigint, .sigterm]) { _ in
            stopping.flag.store(true, ordering: .releasing)
            context.shutdown()
        }
        defer { signals.cancel() }
        let command = self
        try await onOwnThread {
            if command.state {
                try command.runState(context: context, stopping: stopping)
            } else {
                try command.runEvents(context: context, stopping: stopping)
            }
        }
    }

    private func runEvents(context: Context, stopping: ReplayCommand.Interruption) throws {
        if snapshot != nil {
            throw ValidationError("--snapshot goes with --state")
        }
        guard let format = ReplayFormat(rawValue: format), format != .csv else {
            throw ValidationError("--format must be timeline or jsonl; got \"\(format)\"")
        }
        var selection = ReplaySelection()
        selection.kinds = Set(try kind.map { try ReplayCommand.value(EventKind.self, $0, option: "--kind") })
        selection.utilities = Set(try utility.map { try ReplayCommand.value(Utility.self, $0, option: "--utility") })
        selection.communities = Set(community)
        let writer = ReplayWriter(
            format: format, timeZone: try CommandPlan.timeZone(timeZone, plan: .default), language: try language.language())
        let patterns = workItem

        let socket = try Socket(context, type: .sub)
        try socket.set(.linger, .zero)
        let handshakes = try socket.makeCurveClientWatchingHandshakes(try keys.broker())
        defer { handshakes?.close() }
        let prefixes = BrokerReplay.prefixes(for: selection)
        if prefixes.isEmpty { try socket.subscribe() } else { for prefix in prefixes { try socket.subscribe(prefix) } }
        try socket.subscribe(Topic.heartbeat)
        let fanout = try keys.endpoint("fanout", flag: fanout)!
        try socket.connect(fanout)
        FileHandle.standardError.write(Data("watching \(fanout) (Ctrl-C to stop)\n".utf8))

        var expected: UInt64?  // the next sequence, once known; with topic filters gaps are judged by heartbeats only
        var shown = 0
        var output: [UInt8] = []
        let everything = prefixes.isEmpty && selection.communities.isEmpty && selection.utilities.isEmpty
        while !stopping.flag.load(ordering: .acquiring) {
            guard let frames = try Self.nextMessage(socket, handshakes: handshakes) else { break }
            let message = try? FanoutMessage.decode(frames)
            switch message {
            case .heartbeat(let latest):
                if let next = expected, latest.sequence >= next, everything {
                    FileHandle.standardError.write(Data("! missed events \(next)…\(latest.sequence) (replay them with conduit replay --from-seq \(next))\n".utf8))
                }
                if everything { expected = latest.sequence + 1 }
            case .event(let topic, let record):
                if everything, let next = expected, record.header.sequence > next {
                    FileHandle.standardError.write(Data("! missed events \(next)…\(record.header.sequence - 1)\n".utf8))
                }
                expected = record.header.sequence + 1
                guard topic.withUnsafeBytes({ selection.matches(topic: $0) }), let event = try? EventCodec.decode(record.event)
                else { continue }
                if !patterns.isEmpty {
                    guard let item = event.workItem, patterns.contains(where: { fnmatch($0, item, 0) == 0 }) else { continue }
                }
                output.removeAll(keepingCapacity: true)
                record.event.withUnsafeBytes { bytes in
                    writer.write(
                        sequence: record.header.sequence, recordedTime: record.header.recordedTime.microsecondsSinceEpoch,
                        bytes: bytes, event: event, into: &output)
                }
                FileHandle.standardOutput.write(Data(output))
                shown += 1
                if let count, shown >= count { return }
            case nil:
                continue
            }
        }
    }

    /// `--state`: the live aggregate state (see ``StateWatch``).
    private func runState(context: Context, stopping: ReplayCommand.Interruption) throws {
        guard kind.isEmpty, utility.isEmpty, community.isEmpty, workItem.isEmpty else {
            throw ValidationError("--state folds every event: --kind, --utility, --community and --work-item do not apply")
        }
        guard format == "timeline" else {
            throw ValidationError("--state shows the state, not events in a format: leave out --format")
        }
        let curve = try keys.broker()
        let query = try keys.endpoint("query", flag: query)!
        let fanout = try keys.endpoint("fanout", flag: fanout)!
        let snapshot = try keys.endpoint("snapshot", flag: snapshot)
        let plan = CommandPlan.of(query: query, curve: curve)
        let zone = try CommandPlan.timeZone(timeZone, plan: plan)
        do {
            try StateWatch(
                fanout: fanout, query: query, snapshot: snapshot, timeZone: zone, plan: plan, count: count, curve: curve,
                snapshotCurve: try keys.snapshot(), context: context,
                shouldStop: { stopping.flag.load(ordering: .acquiring) }
            ).run()
        } catch let failure as StateWatch.Failure {
            throw RuntimeFailure.exit("watch", failure.description, status: RuntimeFailure.unavailable)
        }
    }

    /// The next fan-out message; `nil` once the context is shut down (Ctrl-C).
    /// The next message from the fan-out; `nil` once Ctrl-C shut the context down. With CURVE, a broker that refuses
    /// this client's key ends the watch with the reason (exit status 69): no event would ever come.
    private static func nextMessage(_ socket: Socket, handshakes: SocketMonitor?) throws -> [[UInt8]]? {
        do {
            guard let handshakes else { return try socket.receiveFrames() }
            // A busy stream is read without polling; the monitor is looked at while the stream is quiet.
            if let frames = try socket.receiveFrames(wait: false) { return frames }
            let poller = Poller()
            let messages = poller.add(socket)
            handshakes.addTo(poller)
            while true {
                _ = try poller.poll(timeout: nil)
                if poller.isReadable(messages), let frames = try socket.receiveFrames(wait: false) { return frames }
                // Other failed handshakes (a connection reset while the broker restarts) are retried by ZeroMQ.
                if let failure = handshakes.latestHandshakeFailure(), failure.kind == .handshakeFailedAuth,
                    let refusal = failure.refusal(by: "broker")
                {
                    throw RuntimeFailure.exit("watch", refusal, status: RuntimeFailure.unavailable)
                }
            }
        } catch let error as ZMQError {
            if error.isContextTerminated { return nil }
            throw error
        }
    }

}
