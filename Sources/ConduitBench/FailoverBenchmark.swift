import ConduitAgent
import ConduitBridge
import ConduitCore
import ConduitTesting
import Foundation
import Glibc
import NATS
import Synchronization

/// Brokers that stand by for each other on a JetStream cluster, their active one killed again and again while
/// agents publish (`conduit bench failover`, and the failover test).
///
/// It starts `--nodes` nats-servers (a cluster for 3), `--brokers` `conduit broker --hub` processes and `--agents`
/// in-process agents that each publish `--rate` events/s and know every broker's endpoint. Then `--kills` times: it
/// waits for acknowledgements, kills the active broker (the lease's holder) with SIGKILL, starts it again (it comes
/// back as a standby), and waits for the next acknowledgement. With `--node-kill`, a NATS node is killed once halfway
/// and started again after the next failover. Then publishing stops, the agents' outboxes must drain, and the stream
/// is read back: every acknowledged event must be in it exactly once, at its acknowledged sequence.
///
/// The failover time of a kill runs from the last acknowledgement before it (from the old broker) to the first
/// after it (from the new one).
public enum FailoverBenchmark {
    public struct Options: Sendable {
        public var nodes = 3
        public var brokers = 2
        public var agents = 4
        public var kills = 10
        public var nodeKill = true
        /// Events/s each agent publishes.
        public var rate = 200
        /// The brokers' lease, in seconds.
        public var lease = 2.0
        /// Acknowledgements to wait for between kills.
        public var acknowledgementsBetweenKills = 200

        public init() {}

        public func validate() throws(BenchError) {
            guard nodes == 1 || nodes == 3 else { throw BenchError(.invalidOptions, "--nodes must be 1 or 3, got \(nodes)") }
            guard brokers >= 2 else { throw BenchError(.invalidOptions, "--brokers must be at least 2, got \(brokers)") }
            guard (1...16).contains(agents) else { throw BenchError(.invalidOptions, "--agents must be 1 to 16, got \(agents)") }
            guard kills >= 1 else { throw BenchError(.invalidOptions, "--kills must be at least 1, got \(kills)") }
            guard (1...20_000).contains(rate) else { throw BenchError(.invalidOptions, "--rate must be 1 to 20000, got \(rate)") }
            guard lease >= 0.2 else { throw BenchError(.invalidOptions, "--lease must be at least 0.2 s, got \(lease)") }
        }
    }

    /// What a run found.
    public struct Outcome: Sendable {
        /// Each kill's failover time, in seconds.
        public var failoverSeconds: [Double] = []
        public var acknowledged = 0
        public var streamMessages: UInt64 = 0
        /// Acknowledged events the stream does not hold at their sequence, holds more than once, or holds elsewhere.
        public var problems: [String] = []
        /// Events left in the agents' outboxes when the run gave up waiting for them.
        public var undrained = 0
    }

    public static let hub = "failover"

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// The acknowledgements the agents received: when, and which event at which sequence.
    final class Acknowledgements: Sendable {
        struct Entry {
            var at: Double
            var source: String
            var id: String
            var sequence: UInt64
        }
        let entries = Mutex<[Entry]>([])

        var count: Int { entries.withLock { $0.count } }
        /// The latest acknowledgement before `time`, and the first after it.
        func around(_ time: Double) -> (before: Double?, after: Double?) {
            entries.withLock { all in
                (all.last { $0.at <= time }?.at, all.first { $0.at > time }?.at)
            }
        }
    }

    /// One `conduit broker --hub` process, started again on the same endpoints and directory after a kill.
    final class BrokerSlot {
        let name: String
        let arguments: [String]
        let ingest: String
        var process: RunningConduit

        init(index: Int, directory: String, servers: [String], replicas: Int, lease: Double) throws {
            name = "broker-\(index)"
            let ports = try (0..<3).map { _ in try Browser.freePort() }
            ingest = "tcp://127.0.0.1:\(ports[0])"
            arguments = [
                "broker", "--hub", FailoverBenchmark.hub, "--name", name, "--data", directory + "/" + name, "--ingest", ingest,
                "--fanout", "tcp://127.0.0.1:\(ports[1])", "--query", "tcp://127.0.0.1:\(ports[2])", "--replicas", String(replicas),
                "--lease", String(lease), "--log-level", "warning",
            ] + servers.flatMap { ["--nats", $0] }
            process = try RunningConduit(arguments)
        }

        func kill() {
            process.signal(SIGKILL)
            _ = process.finish(timeout: 30)
        }

        func start() throws { process = try RunningConduit(arguments) }

        var activations: Int { process.output.all.components(separatedBy: "active CONDUIT_").count - 1 }
    }

    /// The message at `sequence`, asked again for up to a minute while the cluster answers that it cannot yet (a
    /// node killed a moment ago may still be electing a leader).
    static func read(_ jetStream: JetStream, stream: String, sequence: UInt64) throws -> StoredMessage? {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let answer = Result { () throws(NATSError) in try jetStream.message(stream: stream, sequence: sequence, headers: ["Nats-Msg-Id"]) }
            if case .failure(let error) = answer, error.isTransient, ContinuousClock.now < deadline {
                usleep(100_000)
                continue
            }
            return try answer.get()
        }
    }

    public static func run(_ options: Options, progress: (String) -> Void = { _ in }) throws -> (BenchReport, Outcome) {
        try options.validate()
        let directory = TemporaryDirectory(prefix: "conduit-failover")
        let nodes: [NATSServerProcess] = options.nodes == 3
            ? try NATSServerProcess.cluster(3, directory: directory.appending("nats"))
            : [try NATSServerProcess(directory: directory.appending("nats"))]
        // The servers and the directory live until the run ends (a value may otherwise go as soon as it was last used).
        defer { withExtendedLifetime((nodes, directory)) {} }
        let servers = nodes.map(\.url)
        let replicas = options.nodes == 3 ? 3 : 1
        progress("nats: \(nodes.count) node(s) on \(servers.joined(separator: ","))")
        var slots: [BrokerSlot] = []
        for index in 0..<options.brokers {
            slots.append(try BrokerSlot(index: index + 1, directory: directory.path, servers: servers, replicas: replicas, lease: options.lease))
            if index == 0 {
                // The first becomes active; the others then stand by.
                guard Poll.until(60, { slots[0].activations > 0 || !slots[0].process.isRunning }), slots[0].activations > 0 else {
                    throw BenchError(.failed, "the first broker did not become active: \(slots[0].process.errors.all.suffix(800))")
                }
            }
        }
        progress("brokers: \(slots.map(\.name).joined(separator: ", "))")

        let acknowledgements = Acknowledgements()
        var agents: [Agent] = []
        let endpoints = slots.map(\.ingest)
        for index in 0..<options.agents {
            let source = "/power-supply-bureau/failover-\(index + 1)"
            var configuration = Agent.Configuration(
                endpoint: endpoints[0], source: source, outboxDirectory: directory.appending("outbox-\(index + 1)"))
            configuration.alternateEndpoints = Array(endpoints.dropFirst())
            configuration.heartbeatInterval = .milliseconds(500)
            configuration.reconnectMaximum = .seconds(1)
            configuration.onOutcome = { outcome in
                guard case .acknowledged(let entry, let sequence, _) = outcome else { return }
                let at = monotonicSeconds()
                acknowledgements.entries.withLock {
                    $0.append(Acknowledgements.Entry(at: at, source: entry.source, id: entry.id, sequence: sequence))
                }
            }
            let agent = try Agent(configuration: configuration)
            agent.start()
            agents.append(agent)
        }

        // Publishers: each agent publishes `rate` events/s, in ticks of 20 ms.
        let publishing = Atomic<Bool>(true)
        let agentsBox = UncheckedBox(agents)
        let publishers = (0..<options.agents).map { index in
            Thread {
                let agent = agentsBox.value[index]
                let source = agent.configuration.source
                var number = 0
                let started = monotonicSeconds()
                while publishing.load(ordering: .acquiring) {
                    let due = Int((monotonicSeconds() - started) * Double(options.rate))
                    if due > number {
                        let events = (number..<due).compactMap { n in
                            try? EventCodec.decode(SampleEvents.progress(id: "f\(index + 1)-\(n)", percent: n % 100, source: source))
                        }
                        _ = try? agent.publish(events)
                        number = due
                    }
                    usleep(20_000)
                }
            }
        }
        publishers.forEach { $0.start() }

        var outcome = Outcome()
        let connection = try NATSConnection(servers: servers, name: "conduit-bench-failover")
        let jetStream = try connection.jetStream()
        let lease = try KeyValueBucket(jetStream, name: BrokerLease.bucketName(hub: hub), replicas: replicas)
        var nodeKilled: NATSServerProcess?
        for kill in 1...options.kills {
            let target = acknowledgements.count + options.acknowledgementsBetweenKills
            guard Poll.until(120, { acknowledgements.count >= target }) else {
                throw BenchError(.failed, "no acknowledgements before kill \(kill): \(slots.map { $0.process.errors.all.suffix(400) })")
            }
            if let node = nodeKilled {
                try node.restart()
                nodeKilled = nil
            }
            if options.nodeKill && kill == (options.kills + 1) / 2 && nodes.count == 3 {
                // A node of the cluster dies too (the stream's leader or not): the other two keep a majority.
                nodes[kill % 3].kill(SIGKILL)
                nodeKilled = nodes[kill % 3]
                progress("nats node \(nodes[kill % 3].name) killed")
            }
            guard let holder = try? lease.get("active")?.value, let slot = slots.first(where: { $0.name == holder }) else {
                throw BenchError(.failed, "no broker holds the lease before kill \(kill)")
            }
            let killedAt = monotonicSeconds()
            slot.kill()
            guard Poll.until(120, { acknowledgements.around(killedAt).after != nil }) else {
                throw BenchError(.failed, "no broker took over after kill \(kill): \(slots.map { $0.process.errors.all.suffix(600) })")
            }
            // Started again once another broker took over, it stands by (started at once, it would take its own
            // lease back as soon as it is up: a restart, not a failover).
            try slot.start()
            let (before, after) = acknowledgements.around(killedAt)
            let seconds = after! - (before ?? killedAt)
            outcome.failoverSeconds.append(seconds)
            progress("kill \(kill): \(holder) killed; acknowledgements again after \(String(format: "%.2f", seconds)) s")
        }
        if let node = nodeKilled { try node.restart() }
        publishing.store(false, ordering: .releasing)
        usleep(100_000)
        _ = Poll.until(120) { agents.allSatisfy { $0.status.pending == 0 } }
        outcome.undrained = agents.reduce(0) { $0 + $1.status.pending }
        for agent in agents { agent.stop() }
        outcome.acknowledged = acknowledgements.count

        // The stream, read back: each acknowledged event exactly once, at its sequence.
        let state = try jetStream.streamState(JetStreamBridge.Configuration.streamName(hub: hub))
        outcome.streamMessages = state?.lastSequence ?? 0
        var stored: [String: [UInt64]] = [:]
        var sequence: UInt64 = 1
        while sequence <= outcome.streamMessages {
            guard let message = try Self.read(jetStream, stream: JetStreamBridge.Configuration.streamName(hub: hub), sequence: sequence)
            else {
                outcome.problems.append("message \(sequence) is missing from the stream")
                sequence += 1
                continue
            }
            if message.headers["Nats-Msg-Id"] != "\(hub):\(sequence)" {
                outcome.problems.append("message \(sequence) has id \(message.headers["Nats-Msg-Id"] ?? "none")")
            }
            if let event = try? EventCodec.decode(message.data) { stored[event.source + " " + event.id, default: []].append(sequence) }
            sequence += 1
        }
        for entry in acknowledgements.entries.withLock({ $0 }) {
            let found = stored[entry.source + " " + entry.id] ?? []
            if found != [entry.sequence] {
                outcome.problems.append("\(entry.source) \(entry.id) acknowledged as \(entry.sequence), in the stream at \(found)")
            }
            if outcome.problems.count > 20 { break }
        }
        for slot in slots {
            slot.process.signal(SIGTERM)
            _ = slot.process.finish(timeout: 30)
        }

        var report = BenchReport(benchmark: "failover")
        report.parameters = [
            ("nats", "\(nodes.count) node(s), stream R\(replicas)"), ("brokers", "\(options.brokers), lease \(options.lease) s"),
            ("agents", "\(options.agents), \(options.rate) events/s each"), ("kills", "\(options.kills) of the active broker (SIGKILL)"),
            ("node kill", options.nodeKill && nodes.count == 3 ? "one NATS node killed halfway, restarted after the next failover" : "none"),
            ("checked", "\(outcome.acknowledged) acknowledged events, \(outcome.streamMessages) stream messages, \(outcome.problems.count) problems, \(outcome.undrained) left in outboxes"),
        ]
        report.add("failover time", unit: "s", runs: outcome.failoverSeconds)
        report.add("failover time, worst", unit: "s", runs: [outcome.failoverSeconds.max() ?? .nan])
        return (report, outcome)
    }
}

/// A value handed to threads that only read it.
final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
