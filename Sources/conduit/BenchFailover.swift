import ArgumentParser
import ConduitBench
import Foundation

/// `conduit bench failover`: how long agents wait when the active broker of a hub dies, and that nothing is lost.
struct BenchFailover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Kill the active broker of a hub again and again: failover time, and every acknowledged event checked in the stream.",
        discussion: """
            Starts --nodes nats-servers (a JetStream cluster for 3, the stream R3), --brokers `conduit broker --hub` \
            processes and --agents agents (in this process) that each publish --rate events/s and know every \
            broker's endpoint, all on loopback in a temporary directory. Then --kills times: waits for acknowledgements, \
            kills the broker holding the lease with SIGKILL and starts it again (it comes back standing by), and \
            waits for the next acknowledgement. With --node-kill (the default on 3 nodes) a NATS node is killed \
            halfway and started again after the next failover.

            The failover time of a kill runs from the last acknowledgement before it to the first after it; the \
            median and the worst are printed. At the end the agents' outboxes must drain, and every acknowledged \
            event must be in the stream exactly once at its acknowledged sequence: the command fails (exit 1) \
            otherwise. Needs nats-server 2.10 or later (Deploy/bootstrap.sh --tests installs one).
            """
    )

    private static let defaults = FailoverBenchmark.Options()

    @Flag(name: .long, help: "Print one JSON object of named figures instead of a table.")
    var json = false

    @Option(help: "NATS nodes: 1, or 3 for a cluster with the stream replicated three times.")
    var nodes: Int = Self.defaults.nodes

    @Option(help: "Brokers of the hub (one active, the others standing by).")
    var brokers: Int = Self.defaults.brokers

    @Option(help: "Agents publishing.")
    var agents: Int = Self.defaults.agents

    @Option(help: "Events/s each agent publishes.")
    var rate: Int = Self.defaults.rate

    @Option(help: "How many times the active broker is killed.")
    var kills: Int = Self.defaults.kills

    @Option(help: "The brokers' lease in seconds (conduit broker --lease).")
    var lease: Double = Self.defaults.lease

    @Flag(inversion: .prefixedNo, help: "Kill a NATS node once halfway (on 3 nodes).")
    var nodeKill = Self.defaults.nodeKill

    private var benchmark: FailoverBenchmark.Options {
        var options = FailoverBenchmark.Options()
        options.nodes = nodes
        options.brokers = brokers
        options.agents = agents
        options.rate = rate
        options.kills = kills
        options.lease = lease
        options.nodeKill = nodeKill
        return options
    }

    func validate() throws {
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        let (report, outcome) = try FailoverBenchmark.run(benchmark) { note in
            if !json { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        }
        report.print(json: json)
        guard outcome.problems.isEmpty, outcome.undrained == 0 else {
            throw RuntimeFailure.exit(
                "bench failover", "\(outcome.problems.count) problems, \(outcome.undrained) events left in outboxes: \(outcome.problems.prefix(5))",
                status: RuntimeFailure.failure)
        }
    }
}
