import ArgumentParser
import ConduitCore
import ConduitJournal
import ConduitReplay
import ConduitState
import Foundation

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

    @OptionGroup var options: BenchOptions

    @Option(help: "Events in the journal.")
    var events: Int = 10_000_000

    @Option(help: "How many moments to ask for after the first fold.")
    var queries: Int = 9

    @Option(help: "Directory for the temporary journal (default: the system's temporary directory).")
    var dir: String?

    func run() throws {
        let base = (dir ?? NSTemporaryDirectory()) + "/conduit-bench-state-at-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let journal = base + "/journal"
        let quiet = options.json
        func note(_ text: String) { if !quiet { FileHandle.standardError.write(Data((text + "\n").utf8)) } }
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        note("writing a journal of \(events) events…")
        let bytes = try BenchReplay.writeJournal(at: journal, events: events) { written in note("  \(written) written") }
        let replay = StateReplay(directory: journal, checkpoints: StateCheckpoints.beside(journal: journal))
        let plain = StateReplay(directory: journal)
        note("the first fold, leaving checkpoints…")
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
            ("queries", "\(seconds.count), at seeded random moments"), ("build", BenchCodec.buildConfiguration),
        ]
        report.add("first_fold", unit: "s", runs: [first])
        report.add("state_at", unit: "s", runs: seconds)
        report.add("state_at_max", unit: "s", runs: [seconds.max() ?? 0])
        report.print(json: options.json)
    }
}
