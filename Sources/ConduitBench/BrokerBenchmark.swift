import ConduitBroker
import ConduitCore
import ConduitTesting
import Foundation
import Synchronization
import TransportReference
import ZeroMQ

/// Agents and subscribers against a `conduit broker` process, with durable acknowledgements.
///
/// Starts `conduit broker` (``Options/executable``) as a child process (ConduitTesting's `BrokerProcess`) with its
/// journal in a temporary directory (durability: fdatasync before every acknowledgement), then runs three phases
/// over tcp loopback: throughput (agents publish as fast as their window allows while subscribers receive
/// everything), paced (a fixed rate in all; latencies of the acknowledgement and of delivery), and stalled (a fixed
/// rate with one subscriber that never reads; the broker's peak resident memory must stay bounded). Events are
/// ~330-byte progress reports of the default scenario.
public enum BrokerBenchmark {
    /// Another broker the throughput phase is run against, in the same run.
    public enum Peer: String, Sendable, CaseIterable {
        /// NATS JetStream (`nats-server -js`, file storage) as it ships: it acknowledges once the stream has the
        /// message, and syncs to disk every two minutes by default.
        case jetstream
        /// The same with `sync_interval: always`: JetStream syncs every write before acknowledging it, the promise
        /// Conduit makes (nats-server 2.10 or later).
        case jetstreamSynced = "jetstream-sync"

        /// The prefix of its figures in the report.
        var figurePrefix: String { self == .jetstream ? "jetstream" : "jetstream_sync" }

        var description: String {
            self == .jetstream ? "JetStream as it ships (file storage, default sync)" : "JetStream with sync_interval: always (file storage)"
        }
    }

    public struct Options: Sendable {
        /// How many times each phase runs; the median is reported.
        public var runs: Int
        /// Publishing agents (DEALER sockets, one thread each): at least 1.
        public var agents: Int
        /// Subscribers receiving every event in the throughput and paced phases.
        public var subscribers: Int
        /// Events each agent publishes in the throughput phase: at least 100.
        public var events: Int
        /// Unacknowledged events an agent keeps in flight: at least 1.
        public var window: Int
        /// Events/s in all during the paced phase.
        public var pacedRate: Int
        /// Seconds of the paced phase: at least 1.
        public var pacedSeconds: Int
        /// Events/s during the stalled-subscriber phase; 0 skips it.
        public var stalledRate: Int
        /// Seconds of the stalled-subscriber phase: at least 1.
        public var stalledSeconds: Int
        /// Where to make the temporary journals; `nil` for the system's temporary directory.
        public var directory: String?
        /// Also run the throughput phase with CURVE on every connection, beside the plain one, and report the ratio.
        public var curve = false
        /// Also run the throughput phase against these peers in each run, and report the ratios.
        public var peers: [Peer] = []
        /// Also run the throughput phase with the hub's JetStream stream as the journal of record (`conduit broker
        /// --hub`), once for each of these replica counts (1: one nats-server; 3: a cluster of three), beside the local
        /// journal, and report the ratios.
        public var journalsOfRecord: [Int] = []
        /// The `nats-server` the JetStream peers run; `nil`: `CONDUIT_NATS_SERVER`, else the one on `PATH`.
        public var natsServer: String?
        /// Also run the throughput phase with the broker's metrics on (`--http-address`), beside the plain one, and
        /// report the ratio.
        public var metrics = false
        /// A command the throughput phase's broker runs under (`valgrind --tool=callgrind …`), for profiles; the
        /// other phases' brokers run as they are.
        public var brokerWrapper: [String] = []
        /// A command the paced phase's broker runs under (`Deploy/paced-histograms.sh` adds `--http-address` to read
        /// the broker's own latency histograms).
        public var pacedBrokerWrapper: [String] = []
        /// Also run the paced workload against a broker loop in C that does the least Conduit's broker does for the
        /// same promise (`PacedReference`), in each run, and report its latencies beside the broker's.
        public var pacedReference = false
        /// Where to write each paced run's acknowledgement latencies, by when each event was sent, as CSV
        /// (`run-N-broker.csv`, and with `pacedReference` `run-N-reference.csv` and `run-N-broker-c-agents.csv`).
        public var pacedLatencyDirectory: String?
        /// The `conduit` executable that runs the broker; by default the running program, which is `conduit` when
        /// `conduit bench broker` runs this.
        public var executable: URL

        public init(
            runs: Int = 3, agents: Int = 4, subscribers: Int = 2, events: Int = 50_000, window: Int = 256,
            pacedRate: Int = 10_000, pacedSeconds: Int = 5, stalledRate: Int = 50_000, stalledSeconds: Int = 60,
            directory: String? = nil, executable: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        ) {
            self.runs = runs
            self.agents = agents
            self.subscribers = subscribers
            self.events = events
            self.window = window
            self.pacedRate = pacedRate
            self.pacedSeconds = pacedSeconds
            self.stalledRate = stalledRate
            self.stalledSeconds = stalledSeconds
            self.directory = directory
            self.executable = executable
        }

        public func validate() throws(BenchError) {
            try BenchError.checkRuns(runs)
            guard agents >= 1, subscribers >= 0, events >= 100, window >= 1 else {
                throw .invalidOptions("--agents ≥ 1, --subscribers ≥ 0, --events ≥ 100 and --window ≥ 1 are required")
            }
            guard pacedRate >= 0, pacedSeconds >= 1, stalledRate >= 0, stalledSeconds >= 1 else {
                throw .invalidOptions("rates must be ≥ 0 and durations ≥ 1 s")
            }
            guard !pacedReference || pacedRate >= 1 else {
                throw .invalidOptions("--paced-reference needs a paced phase: --paced-rate ≥ 1")
            }
        }
    }

    /// Writes `samples` as CSV to `name` in `directory`, if there is one.
    private static func writeLatencies(_ samples: LatencySamples, _ directory: String?, _ name: String) throws {
        guard let directory else { return }
        let path = directory + "/" + name
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(samples.csv().utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw BenchError.failed("could not write the paced latencies to \(path): \(error.localizedDescription)", cause: error)
        }
    }

    /// A peer's figures over the runs.
    struct PeerFigures {
        var acked: [Double] = [], delivered: [Double] = [], cpu: [Double] = [], cores: [Double] = []
        var generatorCPU: [Double] = [], ratio: [Double] = []

        mutating func add(_ outcome: JetStreamPeer.Outcome, conduitAcked: Double) {
            acked.append(outcome.ackedPerSecond)
            delivered.append(outcome.deliveredPerSecondPerSubscriber)
            cpu.append(outcome.serverCPUPerEvent)
            cores.append(outcome.serverCores)
            generatorCPU.append(outcome.generatorCPUPerEvent)
            ratio.append(conduitAcked / outcome.ackedPerSecond)
        }
    }

    /// Runs the three phases `options.runs` times, each against a fresh broker process; `progress` hears which
    /// phase is starting. A phase that fails (no heartbeat or acknowledgement for 10 s, a broker that does not
    /// start) throws ``BenchError`` (`.failed`).
    public static func run(_ options: Options, progress: (String) -> Void = { _ in }) throws -> BenchReport {
        try options.validate()
        let (agents, subscribers, events, window) = (options.agents, options.subscribers, options.events, options.window)
        let (pacedRate, pacedSeconds) = (options.pacedRate, options.pacedSeconds)
        let (stalledRate, stalledSeconds, dir) = (options.stalledRate, options.stalledSeconds, options.directory)
        var acked: [Double] = [], delivered: [Double] = [], cpuPerEvent: [Double] = [], cores: [Double] = []
        var ackP50: [Double] = [], ackP99: [Double] = [], ackP999: [Double] = []
        var deliveryP50: [Double] = [], deliveryP99: [Double] = [], deliveryP999: [Double] = []
        var pacedAckP50: [Double] = [], pacedAckP99: [Double] = [], pacedAckP999: [Double] = []
        var pacedDeliveryP50: [Double] = [], pacedDeliveryP99: [Double] = [], pacedDeliveryP999: [Double] = []
        var pacedBrokerCPU: [Double] = [], pacedGeneratorCPU: [Double] = [], pacedBusyCores: [Double] = []
        var referenceAckP50: [Double] = [], referenceAckP99: [Double] = [], referenceAckP999: [Double] = []
        var referenceDeliveryP99: [Double] = [], referenceCPU: [Double] = [], referenceRatio: [Double] = []
        var cAgentsAckP50: [Double] = [], cAgentsAckP99: [Double] = [], cAgentsDeliveryP99: [Double] = []
        var cAgentsBrokerCPU: [Double] = [], cAgentsGeneratorCPU: [Double] = []
        var stalledRSS: [Double] = [], stalledAchieved: [Double] = [], stalledDelivered: [Double] = []
        var curveAcked: [Double] = [], curveRatio: [Double] = [], curveCPU: [Double] = []
        // What the subscribers got: a subscriber that falls too far behind is cut, and the broker then does less.
        var deliveredShare: [Double] = [], connectionsCut: [Double] = []
        var curveDeliveredShare: [Double] = [], curveConnectionsCut: [Double] = []
        var generatorCPU: [Double] = []
        var metricsAcked: [Double] = [], metricsRatio: [Double] = []
        var peerFigures: [Peer: PeerFigures] = [:]
        var recordFigures: [Int: (acked: [Double], cpu: [Double], ratio: [Double], p50: [Double], p99: [Double])] = [:]
        let natsServer = options.peers.isEmpty ? nil : try JetStreamPeer.serverExecutable(options.natsServer)
        for run in 1...options.runs {
            progress("run \(run)/\(options.runs): throughput…")
            let throughput = try BrokerBenchRun(parent: dir, executable: options.executable, wrapper: options.brokerWrapper).throughput(
                agents: agents, subscribers: subscribers, eventsPerAgent: events, window: window)
            acked.append(throughput.ackedPerSecond)
            generatorCPU.append(throughput.generatorCPUPerEvent)
            cpuPerEvent.append(throughput.brokerCPUPerEvent)
            cores.append(throughput.brokerCores)
            delivered.append(throughput.deliveredPerSecondPerSubscriber)
            deliveredShare.append(throughput.deliveredShare)
            connectionsCut.append(Double(throughput.connectionsCut ?? -1))
            ackP50.append(throughput.ack.percentile(50)); ackP99.append(throughput.ack.percentile(99))
            ackP999.append(throughput.ack.percentile(99.9))
            deliveryP50.append(throughput.delivery.percentile(50)); deliveryP99.append(throughput.delivery.percentile(99))
            deliveryP999.append(throughput.delivery.percentile(99.9))
            if options.curve {
                progress("run \(run)/\(options.runs): throughput with CURVE…")
                let secured = try BrokerBenchRun(parent: dir, executable: options.executable, curve: true).throughput(
                    agents: agents, subscribers: subscribers, eventsPerAgent: events, window: window)
                curveAcked.append(secured.ackedPerSecond)
                curveCPU.append(secured.brokerCPUPerEvent)
                curveRatio.append(secured.ackedPerSecond / throughput.ackedPerSecond)
                curveDeliveredShare.append(secured.deliveredShare)
                curveConnectionsCut.append(Double(secured.connectionsCut ?? -1))
            }
            if options.metrics {
                progress("run \(run)/\(options.runs): throughput with metrics on…")
                let measured = try BrokerBenchRun(parent: dir, executable: options.executable, metrics: true).throughput(
                    agents: agents, subscribers: subscribers, eventsPerAgent: events, window: window)
                metricsAcked.append(measured.ackedPerSecond)
                metricsRatio.append(measured.ackedPerSecond / throughput.ackedPerSecond)
            }
            for peer in options.peers {
                progress("run \(run)/\(options.runs): throughput against NATS \(peer.description)…")
                let payload = BrokerBenchRun.eventTemplate(agent: 0)
                let outcome = try JetStreamPeer(parent: dir, server: natsServer!, syncAlways: peer == .jetstreamSynced).throughput(
                    publishers: agents, subscribers: subscribers, messagesPerPublisher: events, window: window,
                    payload: payload.prefix + Array("1-1700000000000000".utf8) + payload.suffix)
                peerFigures[peer, default: PeerFigures()].add(outcome, conduitAcked: throughput.ackedPerSecond)
            }

            for replicas in options.journalsOfRecord {
                progress("run \(run)/\(options.runs): throughput with a JetStream journal of record, R\(replicas)…")
                let natsDirectory = TemporaryDirectory(prefix: "conduit-bench-jetstream-journal")
                let nodes = replicas == 1
                    ? [try NATSServerProcess(directory: natsDirectory.appending("nats"))]
                    : try NATSServerProcess.cluster(replicas, directory: natsDirectory.appending("nats"))
                // The servers live until the phase ends (a value may otherwise go as soon as it was last used). A long
                // lease: this phase measures the journal of record, and its broker must not step down under the load
                // (it would come back on other wildcard ports).
                let recorded = try withExtendedLifetime((nodes, natsDirectory)) {
                    try BrokerBenchRun(
                        parent: dir, executable: options.executable,
                        extraArguments: ["--hub", "bench", "--replicas", String(replicas), "--lease", "30"] + nodes.flatMap { ["--nats", $0.url] }
                    ).throughput(agents: agents, subscribers: subscribers, eventsPerAgent: events, window: window)
                }
                recordFigures[replicas, default: ([], [], [], [], [])].acked.append(recorded.ackedPerSecond)
                recordFigures[replicas]!.cpu.append(recorded.brokerCPUPerEvent)
                recordFigures[replicas]!.ratio.append(recorded.ackedPerSecond / throughput.ackedPerSecond)
                recordFigures[replicas]!.p50.append(recorded.ack.percentile(50))
                recordFigures[replicas]!.p99.append(recorded.ack.percentile(99))
            }

            progress("run \(run)/\(options.runs): paced \(pacedRate)/s for \(pacedSeconds) s…")
            let paced = try BrokerBenchRun(parent: dir, executable: options.executable, wrapper: options.pacedBrokerWrapper).paced(
                agents: agents, subscribers: max(1, subscribers), rate: pacedRate, seconds: pacedSeconds, window: window)
            pacedAckP50.append(paced.ack.percentile(50)); pacedAckP99.append(paced.ack.percentile(99))
            pacedAckP999.append(paced.ack.percentile(99.9))
            pacedDeliveryP50.append(paced.delivery.percentile(50)); pacedDeliveryP99.append(paced.delivery.percentile(99))
            pacedDeliveryP999.append(paced.delivery.percentile(99.9))
            pacedBrokerCPU.append(paced.brokerCPUPerEvent); pacedGeneratorCPU.append(paced.generatorCPUPerEvent)
            pacedBusyCores.append(paced.brokerCores + paced.generatorCores)
            try writeLatencies(paced.ack, options.pacedLatencyDirectory, "run-\(run)-broker.csv")
            if options.pacedReference {
                progress("run \(run)/\(options.runs): paced \(pacedRate)/s for \(pacedSeconds) s against the reference loop in C…")
                let template = BrokerBenchRun.eventTemplate(agent: 0)
                let reference = try PacedReference.run(
                    parent: dir, agents: agents, subscribers: max(1, subscribers), rate: pacedRate, seconds: pacedSeconds,
                    payloadSize: template.prefix.count + "1-1700000000000000".utf8.count + template.suffix.count)
                referenceAckP50.append(reference.ack.percentile(50)); referenceAckP99.append(reference.ack.percentile(99))
                referenceAckP999.append(reference.ack.percentile(99.9))
                referenceDeliveryP99.append(reference.delivery.percentile(99))
                referenceCPU.append(reference.cpuPerEvent)
                referenceRatio.append(paced.ack.percentile(99) / reference.ack.percentile(99))
                try writeLatencies(reference.ack, options.pacedLatencyDirectory, "run-\(run)-reference.csv")
                progress("run \(run)/\(options.runs): paced \(pacedRate)/s for \(pacedSeconds) s from the reference's agents in C…")
                let byReference = try BrokerBenchRun(parent: dir, executable: options.executable).pacedByReferenceAgents(
                    agents: agents, subscribers: max(1, subscribers), rate: pacedRate, seconds: pacedSeconds)
                cAgentsAckP50.append(byReference.ack.percentile(50)); cAgentsAckP99.append(byReference.ack.percentile(99))
                cAgentsDeliveryP99.append(byReference.delivery.percentile(99))
                cAgentsBrokerCPU.append(byReference.brokerCPUPerEvent); cAgentsGeneratorCPU.append(byReference.generatorCPUPerEvent)
                try writeLatencies(byReference.ack, options.pacedLatencyDirectory, "run-\(run)-broker-c-agents.csv")
            }

            if stalledRate > 0 {
                progress("run \(run)/\(options.runs): \(stalledRate)/s for \(stalledSeconds) s with a stalled subscriber…")
                let stalled = try BrokerBenchRun(parent: dir, executable: options.executable).stalled(
                    agents: agents, rate: stalledRate, seconds: stalledSeconds, window: window)
                stalledRSS.append(stalled.peakRSSMegabytes)
                stalledAchieved.append(stalled.ackedPerSecond)
                stalledDelivered.append(stalled.deliveredPerSecondPerSubscriber)
            }
        }
        var report = BenchReport(benchmark: "broker")
        report.parameters = [
            ("agents", "\(agents), window \(window)"), ("subscribers", "\(subscribers) receiving everything"),
            ("throughput phase", "\(events) events per agent"), (
                "paced phase",
                "\(pacedRate) events/s for \(pacedSeconds) s"
                    + (subscribers == 0 ? ", with 1 subscriber (its delivery latency needs one)" : "")
            ),
            ("stalled phase", stalledRate > 0 ? "\(stalledRate) events/s for \(stalledSeconds) s, 1 subscriber stalled" : "skipped"),
            ("durability", "fdatasync before every acknowledgement"),
            ("transport", options.curve ? "tcp://127.0.0.1, plain and with CURVE (the throughput phase of each run)" : "tcp://127.0.0.1"),
        ]
        for peer in options.peers {
            report.parameters.append(("peer \(peer.rawValue)", "\(JetStreamPeer.serverVersion(natsServer!)), \(peer.description), through libnats"))
        }
        report.add("acknowledged", unit: "events/s", runs: acked)
        report.add("delivered_per_subscriber", unit: "events/s", runs: delivered)
        if subscribers > 0 {
            // The share of the events the slowest subscriber received, and the connections the broker cut for falling
            // behind (-1: the broker did not say): below 1 and above 0, the throughput was not measured with every
            // subscriber served.
            report.add("delivered_share", unit: "ratio", runs: deliveredShare)
            report.add("connections_cut", unit: "connections", runs: connectionsCut)
        }
        report.add("broker_cpu_per_event", unit: "µs", runs: cpuPerEvent)
        report.add("broker_cpu_use", unit: "cores", runs: cores)
        report.add("generator_cpu_per_event", unit: "µs", runs: generatorCPU)
        if options.metrics {
            report.add("metrics_acknowledged", unit: "events/s", runs: metricsAcked)
            report.add("metrics_to_plain_acknowledged", unit: "ratio", runs: metricsRatio)
        }
        for peer in options.peers {
            let figures = peerFigures[peer] ?? PeerFigures()
            let prefix = peer.figurePrefix
            report.add("\(prefix)_acknowledged", unit: "events/s", runs: figures.acked)
            report.add("\(prefix)_delivered_per_subscriber", unit: "events/s", runs: figures.delivered)
            report.add("\(prefix)_server_cpu_per_event", unit: "µs", runs: figures.cpu)
            report.add("\(prefix)_server_cpu_use", unit: "cores", runs: figures.cores)
            report.add("\(prefix)_generator_cpu_per_event", unit: "µs", runs: figures.generatorCPU)
            report.add("conduit_to_\(prefix)_acknowledged", unit: "ratio", runs: figures.ratio)
        }
        for replicas in options.journalsOfRecord {
            report.parameters.append(
                ("jetstream_r\(replicas) journal", "conduit broker --hub: each batch stored in a file-storage stream with \(replicas) replica(s) before the local journal and the acknowledgements"))
            let figures = recordFigures[replicas] ?? ([], [], [], [], [])
            report.add("jetstream_r\(replicas)_journal_acknowledged", unit: "events/s", runs: figures.acked)
            report.add("jetstream_r\(replicas)_journal_broker_cpu_per_event", unit: "µs", runs: figures.cpu)
            report.add("jetstream_r\(replicas)_journal_ack_latency_p50", unit: "ms", runs: figures.p50)
            report.add("jetstream_r\(replicas)_journal_ack_latency_p99", unit: "ms", runs: figures.p99)
            report.add("jetstream_r\(replicas)_journal_to_local_acknowledged", unit: "ratio", runs: figures.ratio)
        }
        if options.curve {
            report.add("curve_acknowledged", unit: "events/s", runs: curveAcked)
            report.add("curve_broker_cpu_per_event", unit: "µs", runs: curveCPU)
            report.add("curve_to_plain_acknowledged", unit: "ratio", runs: curveRatio)
            if subscribers > 0 {
                report.add("curve_delivered_share", unit: "ratio", runs: curveDeliveredShare)
                report.add("curve_connections_cut", unit: "connections", runs: curveConnectionsCut)
            }
        }
        report.add("throughput_ack_latency_p50", unit: "ms", runs: ackP50)
        report.add("throughput_ack_latency_p99", unit: "ms", runs: ackP99)
        report.add("throughput_ack_latency_p99.9", unit: "ms", runs: ackP999)
        report.add("throughput_delivery_latency_p50", unit: "ms", runs: deliveryP50)
        report.add("throughput_delivery_latency_p99", unit: "ms", runs: deliveryP99)
        report.add("throughput_delivery_latency_p99.9", unit: "ms", runs: deliveryP999)
        report.add("paced_ack_latency_p50", unit: "ms", runs: pacedAckP50)
        report.add("paced_ack_latency_p99", unit: "ms", runs: pacedAckP99)
        report.add("paced_ack_latency_p99.9", unit: "ms", runs: pacedAckP999)
        report.add("paced_delivery_latency_p50", unit: "ms", runs: pacedDeliveryP50)
        report.add("paced_delivery_latency_p99", unit: "ms", runs: pacedDeliveryP99)
        report.add("paced_delivery_latency_p99.9", unit: "ms", runs: pacedDeliveryP999)
        // At a paced rate each batch holds an event or a few: every one pays a `fdatasync` and the wake-ups of each
        // thread on its way, so the CPU an event costs here, and how much of the machine broker and generator take
        // together, say how much room is left for latency.
        report.add("paced_broker_cpu_per_event", unit: "µs", runs: pacedBrokerCPU)
        report.add("paced_generator_cpu_per_event", unit: "µs", runs: pacedGeneratorCPU)
        report.add("paced_busy_cores", unit: "cores", runs: pacedBusyCores)
        if options.pacedReference {
            report.parameters.append(
                ("paced reference", "the paced workload against a broker loop in C on libzmq: one pwrite and one fdatasync per turn, then publish and acknowledge; no decoding, validation or deduplication"))
            report.add("paced_reference_ack_latency_p50", unit: "ms", runs: referenceAckP50)
            report.add("paced_reference_ack_latency_p99", unit: "ms", runs: referenceAckP99)
            report.add("paced_reference_ack_latency_p99.9", unit: "ms", runs: referenceAckP999)
            report.add("paced_reference_delivery_latency_p99", unit: "ms", runs: referenceDeliveryP99)
            // Broker loop and agents together, in one process: compare with paced_broker_cpu_per_event plus
            // paced_generator_cpu_per_event.
            report.add("paced_reference_cpu_per_event", unit: "µs", runs: referenceCPU)
            report.add("paced_ack_p99_to_reference", unit: "ratio", runs: referenceRatio)
            // The broker again, driven by the reference's agents and subscribers in C instead of the load generator in
            // Swift: what of the gap is the broker's, and what the generator's.
            report.add("paced_c_agents_ack_latency_p50", unit: "ms", runs: cAgentsAckP50)
            report.add("paced_c_agents_ack_latency_p99", unit: "ms", runs: cAgentsAckP99)
            report.add("paced_c_agents_delivery_latency_p99", unit: "ms", runs: cAgentsDeliveryP99)
            report.add("paced_c_agents_broker_cpu_per_event", unit: "µs", runs: cAgentsBrokerCPU)
            report.add("paced_c_agents_generator_cpu_per_event", unit: "µs", runs: cAgentsGeneratorCPU)
        }
        if stalledRate > 0 {
            report.add("stalled_phase_acknowledged", unit: "events/s", runs: stalledAchieved)
            report.add("stalled_phase_delivered_to_live_subscriber", unit: "events/s", runs: stalledDelivered)
            report.add("stalled_phase_broker_peak_rss", unit: "MB", runs: stalledRSS)
        }
        return report
    }
}

/// Latencies in microseconds.
struct LatencySamples {
    var values: [UInt32] = []
    /// When each sample's message was sent (µs on the monotonic clock), where it was given: one per value or none.
    var sentAt: [Int64] = []
    mutating func append(_ microseconds: Int64) { values.append(UInt32(clamping: max(0, microseconds))) }
    mutating func append(_ microseconds: Int64, sentAt sent: Int64) {
        append(microseconds)
        sentAt.append(sent)
    }
    mutating func merge(_ other: LatencySamples) {
        values += other.values
        sentAt += other.sentAt
    }

    /// The samples as CSV lines `sent_ms,latency_ms`, in order of sending, the first send at 0; empty without send times.
    func csv() -> String {
        guard sentAt.count == values.count, let first = sentAt.min() else { return "" }
        var lines = ["sent_ms,latency_ms"]
        for index in sentAt.indices.sorted(by: { sentAt[$0] < sentAt[$1] }) {
            lines.append(String(format: "%.3f,%.3f", Double(sentAt[index] - first) / 1000, Double(values[index]) / 1000))
        }
        return lines.joined(separator: "\n") + "\n"
    }
    /// The percentile in milliseconds.
    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)
        return Double(sorted[max(0, index)]) / 1000
    }
}

/// One phase against a fresh broker process.
struct BrokerBenchRun {
    struct Outcome {
        var ackedPerSecond: Double = 0
        var deliveredPerSecondPerSubscriber: Double = 0
        var ack = LatencySamples()
        var delivery = LatencySamples()
        var peakRSSMegabytes: Double = 0
        /// CPU time the broker process used per acknowledged event, in microseconds (user + system).
        var brokerCPUPerEvent: Double = .nan
        /// The broker process's CPU use during the phase, in cores (1.0 = one core busy all the time).
        var brokerCores: Double = .nan
        /// CPU time the load generator (this process) used per acknowledged event, in microseconds.
        var generatorCPUPerEvent: Double = .nan
        /// Cores the load generator used in all (its threads and its libzmq I/O thread).
        var generatorCores: Double = .nan
        /// Events each subscriber received, of `eventsPerSubscriber`.
        var received: [Int] = []
        var eventsPerSubscriber = 0
        /// Connections the broker cut during the run (`nil`: it did not say).
        var connectionsCut: Int?

        /// The share of the events that the subscriber that received the fewest received (1 with no subscriber).
        var deliveredShare: Double {
            guard let fewest = received.min(), eventsPerSubscriber > 0 else { return 1 }
            return Double(fewest) / Double(eventsPerSubscriber)
        }
    }

    let parent: String?
    let executable: URL
    /// With CURVE on every connection: the broker's key pair, and the one client key (of an organisation the broker
    /// admits) that agents and subscribers use; made for the run.
    let serverKeys: CurveKeyPair?
    let clientKeys: CurveClientKeys?

    /// With the broker's metrics and HTTP endpoint on (`--http-address 127.0.0.1:0`).
    let metrics: Bool
    /// The command the broker runs under, if any.
    let wrapper: [String]
    /// More of `conduit broker`'s arguments.
    let extraArguments: [String]

    init(
        parent: String?, executable: URL, curve: Bool = false, metrics: Bool = false, wrapper: [String] = [], extraArguments: [String] = []
    ) throws {
        self.parent = parent
        self.executable = executable
        self.metrics = metrics
        self.wrapper = wrapper
        self.extraArguments = extraArguments
        if curve {
            let server = try CurveKeyPair.generate()
            serverKeys = server
            clientKeys = CurveClientKeys(keys: try CurveKeyPair.generate(), serverKey: server.publicKey)
        } else {
            serverKeys = nil
            clientKeys = nil
        }
    }

    /// The bytes of an event before and after its id's tail: the id is `b<agent>-<n>-<µs sent>`, so a subscriber
    /// can measure delivery latency from the event alone.
    static func eventTemplate(agent: Int) -> (prefix: [UInt8], suffix: [UInt8]) {
        let prefix = #"{"specversion":"1.0","id":"b"# + "\(agent)-"
        let suffix =
            #"","source":"/power-supply-bureau/bench-\#(agent)","type":"conduit.progress","time":"2023-06-01T08:30:00Z","utility":"power","site":"ganjiaba","workitem":"ganjiaba-power","data":{"status":"in_progress","percent":45,"plannedStart":"2023-04-01","plannedFinish":"2023-09-30","actualStart":"2023-04-03","householdsAffected":120}}"#
        return (Array(prefix.utf8), Array(suffix.utf8))
    }

    /// The send time in an event id `b<agent>-<n>-<µs>`, found in the event JSON without decoding it all.
    static func sentAt(inEvent bytes: UnsafeRawBufferPointer) -> Int64? {
        let marker = Array(#""id":"b"#.utf8)
        guard bytes.count > marker.count else { return nil }
        var start = -1
        for offset in 0...(bytes.count - marker.count) where bytes[offset] == marker[0] {
            if (0..<marker.count).allSatisfy({ bytes[offset + $0] == marker[$0] }) { start = offset + marker.count; break }
        }
        guard start >= 0 else { return nil }
        var index = start
        var dashes = 0
        while index < bytes.count && dashes < 2 {
            if bytes[index] == UInt8(ascii: "-") { dashes += 1 }
            index += 1
        }
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            value = value * 10 + Int64(bytes[index] - 48)
            index += 1
        }
        return value
    }

    final class Results: Sendable {
        let ack = Mutex(LatencySamples())
        let delivery = Mutex(LatencySamples())
        let acked = Atomic<Int>(0)
        let delivered = Mutex<[Int]>([])
        let failure = Mutex<String?>(nil)
    }

    /// Runs `body` against `conduit broker` started as a child process, its journal in a temporary directory that
    /// is removed afterwards with the broker stopped.
    func withBroker<T>(_ body: (BrokerProcess) throws -> T) throws -> T {
        let directory = scratchPath(in: parent, "conduit-bench-broker-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker: BrokerProcess
        do {
            var arguments: [String] = []
            if let server = serverKeys, let client = clientKeys?.keys {
                try FileManager.default.createDirectory(atPath: directory + "/clients", withIntermediateDirectories: true)
                try CurveKeyFile.writePair(server, owner: "broker", secretPath: directory + "/broker.key", publicPath: nil, replacing: false)
                try CurveKeyFile.writePublic(client.publicKey, owner: "power-supply-bureau", to: directory + "/clients/power-supply-bureau.pub")
                arguments = ["--server-key", directory + "/broker.key", "--client-keys", directory + "/clients"]
            }
            if metrics { arguments += ["--http-address", "127.0.0.1:0"] }
            arguments += extraArguments
            broker = try BrokerProcess(
                journalDirectory: directory + "/journal", extraArguments: arguments, executable: executable,
                standardError: .standardError, wrapper: wrapper)
        } catch {
            throw BenchError.failed("\(error)", cause: error)
        }
        defer { broker.stop() }
        return try body(broker)
    }

    func throughput(agents: Int, subscribers: Int, eventsPerAgent: Int, window: Int) throws -> Outcome {
        try withBroker { broker in
            try Self.measuringCPU(of: broker, events: agents * eventsPerAgent) {
                try drive(broker: broker, agents: agents, subscribers: subscribers, stalled: 0, window: window) {
                    _ in eventsPerAgent
                } pace: { _ in nil }
            }
        }
    }

    func paced(agents: Int, subscribers: Int, rate: Int, seconds: Int, window: Int) throws -> Outcome {
        let perAgent = max(1, rate * seconds / agents)
        let interval = Int64(1_000_000 * agents / max(1, rate))  // µs between two events of one agent
        return try withBroker { broker in
            try Self.measuringCPU(of: broker, events: agents * perAgent) {
                try drive(broker: broker, agents: agents, subscribers: subscribers, stalled: 0, window: window) { _ in
                    perAgent
                } pace: { number in Int64(number) * interval }
            }
        }
    }

    /// The paced workload from the reference's agents and subscribers in C (`PacedReference`) against the broker.
    func pacedByReferenceAgents(agents: Int, subscribers: Int, rate: Int, seconds: Int) throws -> Outcome {
        let events = agents * Int(transport_reference_paced_per_agent(Int32(agents), Int32(rate), Int32(seconds)))
        return try withBroker { broker in
            try Self.measuringCPU(of: broker, events: events) {
                let reference = try PacedReference.run(broker: broker, agents: agents, subscribers: subscribers, rate: rate, seconds: seconds)
                var outcome = Outcome()
                (outcome.ack, outcome.delivery) = (reference.ack, reference.delivery)
                return outcome
            }
        }
    }

    /// Runs `body` and adds to its outcome the CPU the broker and the load generator (this process) used meanwhile:
    /// per event of `events`, and in cores.
    private static func measuringCPU(of broker: BrokerProcess, events: Int, _ body: () throws -> Outcome) throws -> Outcome {
        let brokerBefore = broker.cpuSeconds()
        let generatorBefore = JetStreamPeer.cpuSeconds(of: getpid())
        let started = monotonicMicroseconds()
        var outcome = try body()
        let brokerCPU = broker.cpuSeconds() - brokerBefore
        let generatorCPU = JetStreamPeer.cpuSeconds(of: getpid()) - generatorBefore
        let seconds = Double(monotonicMicroseconds() - started) / 1e6
        outcome.brokerCPUPerEvent = brokerCPU * 1e6 / Double(events)
        outcome.generatorCPUPerEvent = generatorCPU * 1e6 / Double(events)
        outcome.brokerCores = brokerCPU / seconds
        outcome.generatorCores = generatorCPU / seconds
        return outcome
    }

    func stalled(agents: Int, rate: Int, seconds: Int, window: Int) throws -> Outcome {
        let perAgent = max(1, rate * seconds / agents)
        let interval = Int64(1_000_000 * agents / max(1, rate))
        return try withBroker { broker in
            var outcome = try drive(broker: broker, agents: agents, subscribers: 1, stalled: 1, window: window) { _ in
                perAgent
            } pace: { number in Int64(number) * interval }
            outcome.peakRSSMegabytes = broker.peakRSSMegabytes()
            return outcome
        }
    }

    /// Runs the agents, `subscribers` subscribers that read everything and `stalled` that never read; `count` gives each agent's number of events, `pace` the offset (µs from
    /// the start) before which event `n` may not be sent, or `nil` to send as fast as the window allows.
    private func drive(
        broker: BrokerProcess, agents: Int, subscribers: Int, stalled: Int, window: Int,
        count: @escaping @Sendable (Int) -> Int, pace: @escaping @Sendable (Int) -> Int64?
    ) throws -> Outcome {
        let results = Results()
        results.delivered.withLock { $0 = Array(repeating: 0, count: subscribers) }
        let total = (0..<agents).reduce(0) { $0 + count($1) }
        let context = try Context()
        let ready = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let curve = clientKeys
        let stalledSockets = try (0..<stalled).map { _ -> Socket in
            let socket = try Socket(context, type: .sub)
            if let curve { try socket.makeCurveClient(curve) }
            try socket.set(.receiveHighWaterMark, 1000)
            try socket.subscribe("progress/")
            try socket.connect(broker.fanout)
            return socket  // never read: it stalls
        }
        let fanout = broker.fanout
        for index in 0..<subscribers {
            Thread.detachNewThread {
                do {
                    try Self.subscribe(
                        index: index, context: context, endpoint: fanout, curve: curve, expected: total, results: results, ready: ready)
                } catch {
                    results.failure.withLock { $0 = "subscriber \(index): \(error)" }
                    ready.signal()
                }
                done.signal()
            }
        }
        for _ in 0..<subscribers { ready.wait() }
        let start = monotonicMicroseconds() + 10_000
        let ingest = broker.ingest
        for agent in 0..<agents {
            Thread.detachNewThread {
                do {
                    try Self.publish(
                        agent: agent, context: context, endpoint: ingest, curve: curve, events: count(agent), window: window, start: start,
                        pace: pace, results: results)
                } catch {
                    results.failure.withLock { $0 = "agent \(agent): \(error)" }
                }
                done.signal()
            }
        }
        for _ in 0..<agents { done.wait() }
        let ackedEnd = monotonicMicroseconds()
        if let failure = results.failure.withLock({ $0 }) {
            // The broker's counters say where the events stopped.
            let counters = Self.brokerStatistics(broker: broker, context: context, curve: curve).map { String(decoding: $0, as: UTF8.self) }
            throw BenchError.failed("the benchmark failed: \(failure); the broker's counters: \(counters ?? "")")
        }
        for _ in 0..<subscribers { done.wait() }
        let deliveredEnd = monotonicMicroseconds()
        for socket in stalledSockets { socket.close(linger: .zero) }
        if let failure = results.failure.withLock({ $0 }) { throw BenchError.failed("the benchmark failed: \(failure)") }
        var outcome = Outcome()
        outcome.connectionsCut = Self.connectionsCut(broker: broker, context: context, curve: curve)
        outcome.eventsPerSubscriber = total
        outcome.ackedPerSecond = Double(results.acked.load(ordering: .acquiring)) / (Double(ackedEnd - start) / 1e6)
        let received = results.delivered.withLock { $0 }
        if !received.isEmpty {
            outcome.deliveredPerSecondPerSubscriber =
                Double(received.reduce(0, +)) / Double(received.count) / (Double(deliveredEnd - start) / 1e6)
        }
        outcome.received = received
        outcome.ack = results.ack.withLock { $0 }
        outcome.delivery = results.delivery.withLock { $0 }
        return outcome
    }

    /// The broker's counters (`STATS` over the query endpoint, as JSON); `nil` if it did not answer within 5 s.
    private static func brokerStatistics(broker: BrokerProcess, context: Context, curve: CurveClientKeys?) -> [UInt8]? {
        guard let client = try? TestClient(context: context, endpoint: broker.query, curve: curve.map { ($0.keys, $0.serverKey) })
        else { return nil }
        defer { client.socket.close() }
        guard (try? client.send(QueryRequest.stats(request: 1).encode())) != nil,
            case .stats(_, let json)? = try? client.queryReply(timeout: .seconds(5))
        else { return nil }
        return json
    }

    /// The connections the broker cut since it started (its `connectionsCut` counter): a subscriber that falls too
    /// far behind is cut, and the broker stops sending it events.
    private static func connectionsCut(broker: BrokerProcess, context: Context, curve: CurveClientKeys?) -> Int? {
        guard let json = brokerStatistics(broker: broker, context: context, curve: curve),
            let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]
        else { return nil }
        return object["connectionsCut"] as? Int
    }

    private static func subscribe(
        index: Int, context: Context, endpoint: String, curve: CurveClientKeys?, expected: Int, results: Results,
        ready: DispatchSemaphore
    ) throws {
        let socket = try Socket(context, type: .sub)
        if let curve { try socket.makeCurveClient(curve) }
        try socket.set(.receiveHighWaterMark, 100_000)
        try socket.set(.linger, .zero)
        try socket.subscribe("progress/")
        try socket.subscribe(Topic.heartbeat)
        try socket.connect(endpoint)
        let poller = Poller()
        poller.add(socket)
        // The first heartbeat shows the subscription is in place.
        while true {
            guard try poller.poll(timeout: .seconds(10)) > 0, let frames = try socket.receiveFrames(wait: false) else {
                throw BenchError.failed("no heartbeat from the broker")
            }
            if frames.first == Topic.heartbeat { break }
        }
        ready.signal()
        var received = 0
        var latencies = LatencySamples()
        var lastSequence: UInt64 = 0
        var frame = ZeroMQ.Message()
        var header = [UInt8](repeating: 0, count: 16)
        var lastEventAt = monotonicMicroseconds()
        while received < expected {
            // Ten seconds without an event (heartbeats aside): the rest was lost, or the agents gave up. Report what came.
            guard monotonicMicroseconds() - lastEventAt < 10_000_000, try poller.poll(timeout: .seconds(1)) > 0 else {
                if monotonicMicroseconds() - lastEventAt < 10_000_000 { continue }
                break
            }
            // Frames in place, without copying the event: [topic][signature][header][event].
            while try socket.receive(into: &frame, wait: false) {
                var index = 0
                var sentAt: Int64? = nil
                while true {
                    if index == 2 && frame.count == 16 { frame.withUnsafeBytes { source in header.withUnsafeMutableBytes { $0.copyMemory(from: source) } } }
                    if index == 3 { sentAt = frame.withUnsafeBytes { Self.sentAt(inEvent: $0) } }
                    guard frame.hasMore else { break }
                    try socket.receive(into: &frame)
                    index += 1
                }
                guard index == 3 else { continue }  // a heartbeat
                let now = monotonicMicroseconds()
                let sequence = header.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                guard sequence > lastSequence else { continue }
                lastSequence = sequence
                received += 1
                lastEventAt = now
                if let sentAt { latencies.append(now - sentAt) }
            }
        }
        socket.close()
        results.delivered.withLock { $0[index] = received }
        results.delivery.withLock { $0.merge(latencies) }
    }

    private static func publish(
        agent: Int, context: Context, endpoint: String, curve: CurveClientKeys?, events: Int, window: Int, start: Int64,
        pace: (Int) -> Int64?, results: Results
    ) throws {
        let socket = try Socket(context, type: .dealer)
        try socket.set(.linger, .zero)
        if let curve { try socket.makeCurveClient(curve) }
        try socket.connect(endpoint)
        let poller = Poller()
        poller.add(socket)
        var sentAt = [Int64](repeating: 0, count: events)
        var latencies = LatencySamples()
        var sent = 0
        var acknowledged = 0
        let signature = ProtocolSignature.frame
        let command = Array("BATCH".utf8)
        let (prefix, suffix) = eventTemplate(agent: agent)
        // The events the window lets go at once travel in one BATCH (at most 80 KiB of events, as agents send them);
        // each is acknowledged in an ACKS.
        var body: [UInt8] = []
        body.reserveCapacity(96 << 10)
        var frame = ZeroMQ.Message()
        while monotonicMicroseconds() < start { usleep(100) }
        while acknowledged < events {
            var now = monotonicMicroseconds()
            // Every event the window lets go is sent now, as conduit agent does: in BATCHes of at most 80 KiB.
            var due = true
            while due {
                body.removeAll(keepingCapacity: true)
                while sent < events && sent - acknowledged < window && body.count < 80 << 10 {
                    if let offset = pace(sent), start + offset > now { due = false; break }
                    sentAt[sent] = now
                    let event = prefix + Array("\(sent)-\(now)".utf8) + suffix
                    withUnsafeBytes(of: UInt64(sent).bigEndian) { body += $0 }
                    withUnsafeBytes(of: UInt32(event.count).bigEndian) { body += $0 }
                    body += event
                    sent += 1
                    now = monotonicMicroseconds()
                }
                if body.isEmpty { break }
                try socket.send(signature, more: true)
                try socket.send(command, more: true)
                try socket.send(body)
                due = due && body.count >= 80 << 10
            }
            var timeout: Duration = .seconds(10)
            if sent < events && sent - acknowledged < window, let offset = pace(sent) {
                timeout = .microseconds(max(0, start + offset - monotonicMicroseconds()))
            }
            guard try poller.poll(timeout: timeout) > 0 else {
                if timeout == .seconds(10) {
                    throw BenchError.failed("no acknowledgement for 10 s (\(sent) events sent, \(acknowledged) acknowledged)")
                }
                continue
            }
            // Replies in place: [signature][ACKS][17 bytes per acknowledgement], or a REJECT.
            while try socket.receive(into: &frame, wait: false) {
                var index = 0
                var isAcks = false
                var numbers: [Int] = []
                var reply: [String] = []
                while true {
                    if index == 1 { isAcks = frame.withUnsafeBytes { $0.elementsEqual("ACKS".utf8) } }
                    if !isAcks && index >= 1 && index <= 5 { reply.append(frame.withUnsafeBytes { String(decoding: $0.prefix(200), as: UTF8.self) }) }
                    if index == 2 && isAcks {
                        frame.withUnsafeBytes { bytes in
                            for offset in stride(from: 0, to: bytes.count - 16, by: 17) {
                                numbers.append(Int(bytes[offset..<(offset + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))
                            }
                        }
                    }
                    guard frame.hasMore else { break }
                    try socket.receive(into: &frame)
                    index += 1
                }
                guard isAcks, !numbers.isEmpty, numbers.allSatisfy({ $0 >= 0 && $0 < events }) else {
                    throw BenchError.failed("the broker did not acknowledge an event: \(reply)")
                }
                let received = monotonicMicroseconds()
                for number in numbers { latencies.append(received - sentAt[number], sentAt: sentAt[number]) }
                acknowledged += numbers.count
            }
        }
        socket.close()
        results.acked.add(acknowledged, ordering: .relaxed)
        results.ack.withLock { $0.merge(latencies) }
    }
}

extension BrokerProcess {
    /// The CPU time (user + system) the broker's own process has used, in seconds (not a wrapper's).
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(brokerIdentifier)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return .nan }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The broker's peak resident set (VmHWM), in megabytes.
    func peakRSSMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(brokerIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return .nan }
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kilobytes / 1024
    }
}
