@testable import ConduitBench
import Testing

/// What each benchmark refuses before measuring anything, in the words the command prints.
@Suite struct BenchOptionsTests {
    /// The error `validate` throws, or `nil` if it accepts the options.
    static func refusal(_ validate: () throws -> Void) -> BenchError? {
        do {
            try validate()
            return nil
        } catch {
            return error as? BenchError
        }
    }

    @Test func theDefaultsAreAccepted() throws {
        try TransportBenchmark.Options().validate()
        try CodecBenchmark.Options().validate()
        try JournalBenchmark.Options().validate()
        try BrokerBenchmark.Options().validate()
        try ReplayBenchmark.Options().validate()
        try StateBenchmark.Options().validate()
        try FuzzBenchmark.Options().validate()
    }

    @Test func refusedOptionsAreNamedAsOnTheCommandLine() {
        let cases: [(BenchError?, String)] = [
            (Self.refusal { try TransportBenchmark.Options(window: 5000).validate() }, "--window must be 1 to 1000, got 5000"),
            (Self.refusal { try TransportBenchmark.Options(messages: 999).validate() }, "--messages must be at least 1000, got 999"),
            (Self.refusal { try CodecBenchmark.Options(runs: 0).validate() }, "--runs must be at least 1, got 0"),
            (Self.refusal { try JournalBenchmark.Options(seconds: 0).validate() }, "--seconds must be positive"),
            (Self.refusal { try StateBenchmark.Options(events: 0).validate() }, "--events must be at least 1, got 0"),
            (Self.refusal { try BrokerBenchmark.Options(stalledSeconds: 0).validate() }, "rates must be ≥ 0 and durations ≥ 1 s"),
            (Self.refusal { try FuzzBenchmark.Options(scale: 0).validate() }, "--scale must be at least 1, got 0"),
            (
                Self.refusal {
                    var options = BrokerBenchmark.Options(pacedRate: 0)
                    options.pacedReference = true
                    try options.validate()
                }, "--paced-reference needs a paced phase: --paced-rate ≥ 1"
            ),
        ]
        for (error, message) in cases {
            #expect(error?.code == .invalidOptions)
            #expect(error?.message == message)
        }
    }

    @Test func runRefusesWhatValidateRefuses() {
        #expect(throws: BenchError.self) { try CodecBenchmark.run(CodecBenchmark.Options(events: 0)) }
    }

    @Test func theCodecBenchmarkReportsEveryFigureForEveryRun() throws {
        let report = try CodecBenchmark.run(CodecBenchmark.Options(runs: 2, events: 20))
        #expect(report.benchmark == "codec")
        #expect(report.figures.map(\.name) == [
            "decode+validate", "decode+validate throughput", "encode", "encode throughput",
            "Foundation JSONDecoder decode", "decode+validate / Foundation",
        ])
        #expect(report.figures.allSatisfy { $0.runs.count == 2 && $0.runs.allSatisfy { $0 > 0 } })
    }
}

/// Where the benchmarks make their scratch directories.
@Suite struct ScratchPathTests {
    @Test func aScratchPathHasOneSlashWhateverItsParentEndsWith() {
        #expect(scratchPath(in: "/var/tmp/", "conduit-bench-x") == "/var/tmp/conduit-bench-x")
        #expect(scratchPath(in: "/var/tmp", "conduit-bench-x") == "/var/tmp/conduit-bench-x")
        #expect(!scratchPath(in: nil, "conduit-bench-x").contains("//"))
        #expect(scratchPath(in: nil, "conduit-bench-x").hasSuffix("/conduit-bench-x"))
    }
}
