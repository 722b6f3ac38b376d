import ArgumentParser
import ConduitBench

/// `conduit bench state`: how fast the aggregate state folds events on one core.
struct BenchState: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Fold events into the aggregate state on one core; time an aggregator's catch-up through a broker.",
        discussion: """
            Generates a seeded stream of valid, sequenced events for the default scenario — progress \
            reports (70 %), heartbeats (20 %, each agent every few minutes with a 5-minute interval), outages going noticed → started → restored (8 %) and \
            inspections (2 %), 15 s apart so that the day-based rules run — validates them all, then times \
            folding them into a fresh AggregateState, alerts included.

            Then the catch-up: the same kind of stream (--catch-up-events of it) is written to a journal, a broker \
            is started on it in this process, and a fresh aggregator (no checkpoint, alerts not published back) is \
            timed from its start until it has applied the journal's last sequence: replayed through the broker's \
            query endpoint with credit-based flow control, decoded and folded. Build with -c release before \
            reading the figures.
            """
    )

    private static let defaults = StateBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(name: .long, help: "How many events each run folds.")
    var events: Int = Self.defaults.events

    @Option(name: .long, help: "How many events the catch-up journal holds (0 skips the catch-up).")
    var catchUpEvents: Int = Self.defaults.catchUpEvents

    @Option(help: "Where to write the catch-up journal (default: the temporary directory).")
    var dir: String?

    private var benchmark: StateBenchmark.Options {
        StateBenchmark.Options(runs: options.runs, events: events, catchUpEvents: catchUpEvents, directory: dir)
    }

    func validate() throws {
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        try StateBenchmark.run(benchmark, progress: options.progress).print(json: options.json)
    }
}
