import ArgumentParser
import ConduitBench

/// `conduit bench journal`: append throughput per durability policy and batch size, the fdatasync rate
/// achieved, and scan speed.
struct BenchJournal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Measure the journal: durable appends/s per policy and batch size, fdatasyncs/s, scan speed.",
        discussion: """
            Appends events of about 300 bytes in batches, as the broker forms them, to a journal in a temporary \
            directory (removed afterwards) for --seconds per measurement; then reads the journal back in place. \
            Build with -c release for meaningful figures.
            """
    )

    private static let defaults = JournalBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(name: .long, help: "Directory in which to create the temporary journal (default: /tmp).")
    var dir: String = Self.defaults.directory

    @Option(name: .long, help: "Seconds per append measurement.")
    var seconds: Double = Self.defaults.seconds

    @Option(name: .long, help: "Bytes per event (topic and event together).")
    var eventBytes: Int = Self.defaults.eventBytes

    private var benchmark: JournalBenchmark.Options {
        JournalBenchmark.Options(runs: options.runs, directory: dir, seconds: seconds, eventBytes: eventBytes)
    }

    func validate() throws {
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        try JournalBenchmark.run(benchmark).print(json: options.json)
    }
}
