import ArgumentParser
import ConduitBench
import Foundation

/// `conduit bench …`: commands that measure and print figures. Each prints a table by default and,
/// with `--json`, one JSON object of named figures with their units.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Conduit's components and print the figures.",
        discussion: """
            Every benchmark prints a readable table by default, or with --json one JSON object \
            whose figures each carry a value and a unit. The machine may be noisy: run a benchmark \
            several times (--runs) and read the median.
            """,
        subcommands: [
            BenchTransport.self, BenchCodec.self, BenchJournal.self, BenchBroker.self, BenchReplay.self, BenchState.self,
            BenchStateAt.self, BenchFuzz.self, BenchDashboard.self, BenchFailover.self,
        ]
    )
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object of named figures instead of a table.")
    var json = false

    @Option(name: .long, help: "How many times to run each measurement; the median is reported.")
    var runs: Int = 3

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1, got \(runs)") }
    }
}

extension BenchOptions {
    /// Prints a benchmark's progress note on standard error, unless the output is JSON.
    func progress(_ note: String) {
        if !json { FileHandle.standardError.write(Data((note + "\n").utf8)) }
    }
}

/// Runs `body`, turning options a benchmark refuses into a usage error; every other error is thrown as it is.
func benchmarkValidation<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as BenchError where error.code == .invalidOptions {
        throw ValidationError(error.message)
    }
}
