import ArgumentParser
import ConduitBench
import Foundation

/// `conduit bench fuzz`: the resource suite's attacks at any size against `conduit broker` processes.
struct BenchFuzz: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Attack broker processes at scale; report each one's peak memory; fail if one is not bounded.",
        discussion: """
            Runs every case of the test suite's ResourceTests (unread REJECTs, unfinished and many-frame messages, \
            empty frames, slowloris, stalled replays and subscribers, large and many subscriptions, idle \
            connections beyond the descriptors, half-sent CURVE handshakes, random messages to every endpoint) \
            --scale times larger, each against a `conduit broker` of its own while a well-behaved agent publishes \
            --valid-events events. Prints each broker's peak resident memory (VmHWM). Exit status 1 when a broker \
            died, reached --peak-limit MiB, or left an event of the agent unacknowledged. With the default scale, \
            each endpoint takes a million messages and more; expect it to run for a long while.
            """
    )

    private static let defaults = FuzzBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(help: "How many times the size each attack was found with.")
    var scale: Int = Self.defaults.scale

    @Option(name: .customLong("case"), help: "Only the cases whose names contain this.")
    var only: String?

    @Option(help: "Events the well-behaved agent publishes during each attack.")
    var validEvents: Int = Self.defaults.validEvents

    @Option(help: "The peak resident memory a broker may reach, in MiB.")
    var peakLimit: Double = Self.defaults.peakLimitMiB

    private var benchmark: FuzzBenchmark.Options {
        FuzzBenchmark.Options(scale: scale, only: only, validEvents: validEvents, peakLimitMiB: peakLimit)
    }

    func validate() throws {
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        let (report, failures) = try FuzzBenchmark.run(benchmark, progress: options.progress)
        report.print(json: options.json)
        guard failures.isEmpty else {
            for failure in failures { FileHandle.standardError.write(Data("conduit bench fuzz: \(failure)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}
