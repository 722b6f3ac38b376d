import ArgumentParser
import ConduitBench

/// `conduit bench codec`: how fast events are decoded and validated, and encoded, on one core,
/// with Foundation's `JSONDecoder` on the same events as the reference.
struct BenchCodec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Decode + validate and encode progress events of about 300 bytes on one core.",
        discussion: """
            Builds a set of distinct progress events for the default scenario's work items, then times \
            decode + validate (ConduitCore's strict parser and EventValidator), encode (canonical JSON), \
            and, for reference, Foundation's JSONDecoder decoding the same bytes into a Codable mirror \
            of the event. Build with -c release before reading the figures.
            """
    )

    private static let defaults = CodecBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(name: .long, help: "How many distinct events each pass decodes and encodes.")
    var events: Int = Self.defaults.events

    private var benchmark: CodecBenchmark.Options {
        CodecBenchmark.Options(runs: options.runs, events: events)
    }

    func validate() throws {
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        try CodecBenchmark.run(benchmark).print(json: options.json)
    }
}
