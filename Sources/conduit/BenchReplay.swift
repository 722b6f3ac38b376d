import ArgumentParser
import ConduitBench

/// `conduit bench replay`: scan, filter and write JSON lines from a journal, as `conduit replay` does.
struct BenchReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Events/s scanned, filtered and written as JSON lines from a journal.",
        discussion: """
            Writes a journal of --events progress and outage events (alternating, ~420 bytes, stamped and in \
            canonical form as the broker stores them) into a temporary \
            directory, then replays it three ways, discarding the output: everything, a topic filter (outages: half \
            the events, decided from the topic alone), and a work-item filter (half the events; decided on the \
            stored canonical JSON, without decoding).
            """
    )

    private static let defaults = ReplayBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(help: "Events in the journal.")
    var events: Int = Self.defaults.events

    @Option(help: "Directory for the temporary journal (default: the system's temporary directory).")
    var dir: String?

    private var benchmark: ReplayBenchmark.Options {
        ReplayBenchmark.Options(runs: options.runs, events: events, directory: dir)
    }

    func validate() throws {
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        try ReplayBenchmark.run(benchmark, progress: options.progress).print(json: options.json)
    }
}
