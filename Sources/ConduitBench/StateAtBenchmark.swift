import ConduitCore
import ConduitJournal
import ConduitReplay
import ConduitState
import Foundation

/// How long `conduit state --at` takes on a long journal, with and without checkpoints.
///
/// Writes a journal of alternating progress and outage events (as ``ReplayBenchmark`` does; 10M make about 3.7 GB),
/// then times the first fold to the end, which leaves a checkpoint every 250,000 events beside the journal, and
/// then states at seeded random moments, each restored from the nearest checkpoint and folded on from it.
public enum StateAtBenchmark {
    public struct Options: Sendable {
        /// Events in the journal.
        public var events: Int
        /// How many moments to ask for after the first fold (at least one is).
        public var queries: Int
        /// Where to write the temporary journal; `nil` for the system's temporary directory.
        public var directory: String?

        public init(events: Int = 10_000_000, queries: Int = 9, directory: String? = nil) {
            self.events = events
            self.queries = queries
            self.directory = directory
        }
    }

    /// Writes the journal, folds it once leaving checkpoints, asks for the states and removes it all; `progress`
    /// hears what is being done.
    public static func run(_ options: Options, progress: (String) -> Void = { _ in }) throws -> BenchReport {
        let (events, queries) = (options.events, options.queries)
        let base = scratchPath(in: options.directory, "conduit-bench-state-at-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let journal = base + "/journal"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        progress("writing a journal of \(events) events…")
        let bytes = try ReplayBenchmark.writeJournal(at: journal, events: events) { written in progress("  \(written) written") }
        let replay = StateReplay(directory: journal, checkpoints: StateCheckpoints.beside(journal: journal))
        let plain = StateReplay(directory: journal)
        progress("the first fold, leaving checkpoints…")
        let firstStart = ContinuousClock.now
        let whole = try replay.state()
        let first = (ContinuousClock.now - firstStart).seconds
        precondition(whole.lastSequence == UInt64(events))

        let statistics = try JournalInspector.statistics(directory: journal)
        let from = statistics.firstTime!, to = statistics.maxTime!
        var random = SplitMix64(seed: 11)
        var seconds: [Double] = []
        var checked = false
        for _ in 0..<max(1, queries) {
            let moment = Timestamp(microsecondsSinceEpoch: from + Int64(random.next() % UInt64(max(1, to - from))))
            let start = ContinuousClock.now
            let state = try replay.state(atTime: moment)
            seconds.append((ContinuousClock.now - start).seconds)
            if !checked {
                // Once: the same state as a fold from the start.
                let reference = try plain.state(atTime: moment)
                precondition(state == reference, "a fold from a checkpoint differs from a fold from the start")
                checked = true
            }
        }
        var report = BenchReport(benchmark: "state-at")
        report.parameters = [
            ("events", "\(events)"), ("journal", "\(bytes / 1_000_000) MB of events"), ("checkpoints", "every 250000 events"),
            ("queries", "\(seconds.count), at seeded random moments"), ("build", buildConfiguration),
        ]
        report.add("first_fold", unit: "s", runs: [first])
        report.add("state_at", unit: "s", runs: seconds)
        report.add("state_at_max", unit: "s", runs: [seconds.max() ?? 0])
        return report
    }
}
