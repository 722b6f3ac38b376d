import ConduitTesting
import Foundation

/// The resource suite at any size: every attack of ``ResourceSuite/cases`` against a `conduit broker` process of its
/// own, `scale` times the size it was found with, while a well-behaved agent publishes; the broker's peak resident
/// memory for each. A case fails when the broker is not alive at its end, its peak reaches the bound, or an event
/// of the agent goes unacknowledged.
public enum FuzzBenchmark {
    public struct Options: Sendable {
        /// How many times the size each attack was found with: 500 sends a million messages and more to each
        /// endpoint.
        public var scale = 500
        /// Only the cases whose names contain this (case-insensitive); all when `nil`.
        public var only: String?
        /// Events the well-behaved agent publishes during each attack.
        public var validEvents = 1000
        /// The peak resident memory a case may reach, in MiB.
        public var peakLimitMiB = 150.0
        /// The `conduit` executable that runs the broker; by default the running program.
        public var executable: URL

        public init(
            scale: Int = 500, only: String? = nil, validEvents: Int = 1000, peakLimitMiB: Double = 150,
            executable: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        ) {
            self.scale = scale
            self.only = only
            self.validEvents = validEvents
            self.peakLimitMiB = peakLimitMiB
            self.executable = executable
        }

        public func validate() throws(BenchError) {
            guard scale >= 1 else { throw BenchError(.invalidOptions, "--scale must be at least 1, got \(scale)") }
            guard validEvents >= 1 else { throw BenchError(.invalidOptions, "--valid-events must be at least 1") }
            if let only, !ResourceSuite.cases.contains(where: { $0.name.localizedCaseInsensitiveContains(only) }) {
                throw BenchError(
                    .invalidOptions,
                    "no case matches \"\(only)\"; the cases: \(ResourceSuite.cases.map(\.name).joined(separator: ", "))")
            }
        }
    }

    /// The figures, and the reports of the cases that failed (empty when all held).
    public static func run(
        _ options: Options, progress: (String) -> Void = { _ in }
    ) throws -> (report: BenchReport, failures: [ResourceReport]) {
        try options.validate()
        var report = BenchReport(benchmark: "fuzz")
        report.parameters = [
            ("scale", "\(options.scale)"), ("valid events per case", "\(options.validEvents)"),
            ("peak limit", "\(options.peakLimitMiB) MiB"),
        ]
        var failures: [ResourceReport] = []
        for resourceCase in ResourceSuite.cases {
            if let only = options.only, !resourceCase.name.localizedCaseInsensitiveContains(only) { continue }
            progress("\(resourceCase.name)…")
            let result = try ResourceSuite.run(
                resourceCase, scale: options.scale, validEvents: options.validEvents, executable: options.executable)
            progress("  \(result)")
            let key = resourceCase.name.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
                .lowercased()
            report.add("\(key)_peak_rss", unit: "MiB", runs: [result.peakMiB])
            report.add("\(key)_valid_acknowledged", unit: "events", runs: [Double(result.validAcknowledged)])
            report.add("\(key)_seconds", unit: "s", runs: [result.seconds])
            if !result.alive || result.exitStatus != 0 || result.peakMiB >= options.peakLimitMiB
                || result.validAcknowledged != result.validPublished
            {
                failures.append(result)
            }
        }
        return (report, failures)
    }
}
