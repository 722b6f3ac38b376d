import ArgumentParser
import ConduitAggregator
import ConduitConsole
import ConduitCore
import ConduitReplay
import ConduitState
import Foundation
import ZeroMQ

/// `conduit state`: the aggregate state — now, or as it was at a moment — folded from the journal.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "The aggregate state: progress per community and utility, late items, open outages, alerts.",
        discussion: """
            Folds the journal (read-only, safe while the broker runs) with the same fold the aggregator runs, up to \
            a moment (--at, a recorded time) or a sequence (--seq); without either, up to the journal's end. With \
            --snapshot, asks a running aggregator for its live state instead. Prints a table, or with --json the \
            state (or the subtree --path, such as communities/ganjiaba) as JSON.

            With --diff <from> <to> (recorded times) or --diff-seq <from> <to> (sequences), prints what changed \
            between the two states instead: work items whose status or percent moved, outages first seen, changed \
            and closed, alerts raised, cleared, and raised and cleared again in between, and the roll-ups. Ctrl-C \
            stops a long fold; nothing is printed then.

            Folds leave checkpoints of the state every 250,000 events in <journal>.state (beside the journal; \
            --checkpoints elsewhere, --no-checkpoints not at all), so that after a first fold of a long journal, \
            the state at any moment is a short fold from the nearest one. They are a cache: deleting them is safe, \
            and one that no longer fits the journal is ignored.

            Examples:
              conduit state --at 2023-07-01
              conduit state --diff 2023-07-01 2023-08-01
              conduit state --diff-seq 1200 1800 --json
            """
    )

    @OptionGroup var journal: JournalDirectoryOption

    @Option(
        name: .customLong("snapshot"),
        help: "Ask a running aggregator (its snapshot endpoint, e.g. tcp://127.0.0.1:5573) instead of folding the journal (without --dir, also CONDUIT_SNAPSHOT or the profile's).")
    var snapshotFlag: String?

    /// The aggregator to ask: --snapshot, else (without --dir) the environment's or the profile's. A bad profile is
    /// reported by the keys' resolution.
    var snapshot: String? { try? keys.remote("snapshot", flag: snapshotFlag, directoryGiven: journal.given != nil) }

    @Option(help: "The state as it was at this recorded time (RFC 3339, or a date YYYY-MM-DD: its start at the plan's UTC offset, +08:00 for the seed plan).")
    var at: String?

    @Option(help: "The state after the event with this sequence.")
    var seq: UInt64?

    @OptionGroup var keys: ClientKeyOptions

    @OptionGroup var language: LanguageOption

    @Flag(help: "Print the state as JSON instead of a table.")
    var json = false

    @Option(help: "With --json: only this subtree, e.g. communities/ganjiaba, workitems/ganjiaba-power, alerts, outages.")
    var path: String?

    @OptionGroup var checkpoints: FoldCheckpointOptions

    /// The fold over the journal, with its checkpoints.
    var replay: StateReplay { checkpoints.replay(journal: journal.dir) }

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "What changed between two recorded times (RFC 3339, or a date YYYY-MM-DD: its start at the plan's UTC offset, +08:00 for the seed plan).", valueName: "from> <to"))
    var diff: [String] = []

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("What changed between the states after two sequences.", valueName: "from> <to"))
    var diffSeq: [UInt64] = []

    func run() async throws {
        // Ctrl-C is trapped here; the folding (reading and scanning the journal) runs on a thread of its own.
        let watch = await InterruptionWatch()
        defer { watch.cancel() }
        let command = self
        try await onOwnThread { try command.fold(watch: watch) }
    }

    private func fold(watch: InterruptionWatch) throws {
        _ = try keys.settings()  // a profile that cannot be read is an error, whatever the mode
        if let snapshot {
            guard at == nil, seq == nil else {
                throw ValidationError("--at and --seq fold the journal; an aggregator's snapshot is always its latest state")
            }
            try printSnapshot(from: snapshot)
            return
        }
        if !diff.isEmpty || !diffSeq.isEmpty {
            try printDiff(watch: watch)
            return
        }
        let time = try at.map { try ReplayCommand.time($0, option: "--at") }
        let progress = ScanProgress()
        let state: AggregateState
        let reading: JournalReading
        do {
            (state, reading) = try replay.fold(
                atTime: time, atSequence: seq, progress: progress.show, shouldStop: { watch.isInterrupted })
        } catch {
            progress.finish()
            throw RuntimeFailure.exit("state", "cannot read the journal in \(journal.dir): \(error)", status: RuntimeFailure.noInput)
        }
        progress.finish()
        try RuntimeFailure.check(reading)
        if json {
            let bytes: [UInt8]
            if let path {
                guard let subtree = state.json(at: path) else {
                    throw ValidationError("no state at \(path) (try communities/<id>, utilities/<id>, workitems/<id>, alerts, outages)")
                }
                bytes = subtree
            } else {
                bytes = state.json()
            }
            FileHandle.standardOutput.write(Data(bytes + [UInt8(ascii: "\n")]))
            return
        }
        print(StateTable(state: state, language: try language.language()).text)
    }
}

extension StateCommand {
    /// `--diff` and `--diff-seq`: the difference between two states of the fold, as text or JSON.
    func printDiff(watch: InterruptionWatch) throws {
        guard snapshot == nil, at == nil, seq == nil, path == nil else {
            throw ValidationError("--diff and --diff-seq fold the journal twice over; they take no --snapshot, --at, --seq or --path")
        }
        guard diff.isEmpty || diffSeq.isEmpty else { throw ValidationError("give --diff (times) or --diff-seq (sequences), not both") }
        guard diff.isEmpty || diff.count == 2 else {
            throw ValidationError("--diff takes two times, the earlier and the later: --diff 2023-07-01 2023-08-01")
        }
        guard diffSeq.isEmpty || diffSeq.count == 2 else {
            throw ValidationError("--diff-seq takes two sequences, the earlier and the later: --diff-seq 1200 1800")
        }
        let progress = ScanProgress()
        let result: (diff: StateDiff, reading: JournalReading)
        do {
            if diff.count == 2 {
                let from = try ReplayCommand.time(diff[0], option: "--diff")
                let to = try ReplayCommand.time(diff[1], option: "--diff")
                guard from <= to else { throw ValidationError("--diff: \(diff[1]) is before \(diff[0]); give the earlier time first") }
                result = try replay.diff(fromTime: from, toTime: to, progress: progress.show, shouldStop: { watch.isInterrupted })
            } else {
                guard diffSeq[0] <= diffSeq[1] else {
                    throw ValidationError("--diff-seq: \(diffSeq[1]) is below \(diffSeq[0]); give the earlier sequence first")
                }
                result = try replay.diff(
                    fromSequence: diffSeq[0], toSequence: diffSeq[1], progress: progress.show, shouldStop: { watch.isInterrupted })
            }
        } catch let error as ValidationError {
            progress.finish()
            throw error
        } catch {
            progress.finish()
            throw RuntimeFailure.exit("state", "cannot read the journal in \(journal.dir): \(error)", status: RuntimeFailure.noInput)
        }
        progress.finish()
        try RuntimeFailure.check(result.reading)
        if json {
            FileHandle.standardOutput.write(Data(result.diff.json() + [UInt8(ascii: "\n")]))
        } else {
            print(StateDiffText(diff: result.diff, scenario: CommandPlan.of(journal: journal.dir)).text)
        }
    }

    /// Fetches the state (or `--path` subtree) from an aggregator's snapshot endpoint and prints it.
    func printSnapshot(from endpoint: String) throws {
        let wantsSubtree = json && path != nil
        let bytes: [UInt8]
        do {
            bytes = try SnapshotClient.fetch(
                endpoint: endpoint, path: wantsSubtree ? path! : "", curve: try keys.snapshot(), context: try Context()
            ).json
        } catch let unavailable as SnapshotClient.Unavailable {
            throw RuntimeFailure.exit("state", unavailable.description, status: RuntimeFailure.unavailable)
        }
        if json {
            FileHandle.standardOutput.write(Data(bytes + [UInt8(ascii: "\n")]))
        } else {
            print(StateTable(state: try AggregateState.restore(json: bytes, scenario: .default), language: try language.language()).text)
        }
    }
}
