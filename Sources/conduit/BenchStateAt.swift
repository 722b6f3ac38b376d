import ArgumentParser
import ConduitBench

/// `conduit bench state-at`: how long `conduit state --at` takes on a long journal, with and without checkpoints.
struct BenchStateAt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state-at",
        abstract: "Seconds for the state at a moment of a long journal: the first fold, then from checkpoints.",
        discussion: """
            Writes a journal of --events events (as `conduit bench replay` does: alternating progress and outage \
            events of about 370 bytes; 10M make about 3.7 GB), then times what `conduit state --at` does: the first \
            fold to the end, which leaves a checkpoint every 250,000 events beside the journal, and then --queries \
            states at seeded random moments, each restored from the nearest checkpoint and folded on from it \
            (journal statistics, checkpoint check and restore, fold and advance, all included).
            """
    )

    private static let defaults = StateAtBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(help: "Events in the journal.")
    var events: Int = Self.defaults.events

    @Option(help: "How many moments to ask for after the first fold.")
    var queries: Int = Self.defaults.queries

    @Option(help: "Directory for the temporary journal (default: the system's temporary directory).")
    var dir: String?

    private var benchmark: StateAtBenchmark.Options {
        StateAtBenchmark.Options(events: events, queries: queries, directory: dir)
    }

    func run() throws {
        try StateAtBenchmark.run(benchmark, progress: options.progress).print(json: options.json)
    }
}
