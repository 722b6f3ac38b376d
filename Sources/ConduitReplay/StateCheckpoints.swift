import ConduitCore
import ConduitJournal
import ConduitState
import Foundation

/// Snapshots of the fold at regular sequences, kept beside a journal, so that the state at any moment is a short
/// fold away instead of a fold of the whole journal.
///
/// A checkpoint is the state's JSON (``AggregateState/json()``, which restores exactly) after folding every event up
/// to and including one sequence, with no advance of the clock: `state-<sequence>-<recorded time µs>.json`, in a
/// subdirectory `fold-<version>-<scenario id>` (see ``AggregateState/foldVersion``), so a build whose rules differ
/// never uses another's. They are
/// written by ``StateReplay`` as it folds past a multiple of ``every`` (atomically: a temporary file renamed), and
/// used only when they still fit the journal: the record at that sequence must have that recorded time, and the
/// checkpoint's scenario and options must be the fold's. They are a cache: deleting them costs time, never
/// correctness; a directory that cannot be written just means no cache.
public struct StateCheckpoints: Sendable {
    public let directory: String
    /// A checkpoint at every multiple of this sequence.
    public let every: UInt64

    /// - Parameter directory: where checkpoints of every fold version and scenario are kept.
    public init(directory: String, every: UInt64 = 250_000) {
        self.directory = directory
        self.every = max(1, every)
    }

    /// The subdirectory for one fold version and scenario.
    func folder(_ scenario: Scenario) -> String {
        let name = scenario.id.unicodeScalars.map { scalar -> String in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": String(scalar)
            default: "_"
            }
        }.joined()
        return directory + "/fold-\(AggregateState.foldVersion)-" + name
    }

    /// The checkpoint directory a journal's folds use by default: beside it, `<journal>.state`.
    public static func beside(journal: String) -> StateCheckpoints {
        var path = journal
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return StateCheckpoints(directory: path + ".state")
    }

    struct Entry: Equatable {
        var sequence: UInt64
        var recordedTime: Int64
        var path: String
    }

    /// The checkpoints present for `scenario`, by sequence.
    func entries(_ scenario: Scenario) -> [Entry] {
        let folder = folder(scenario)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.compactMap { name -> Entry? in
            guard name.hasPrefix("state-"), name.hasSuffix(".json") else { return nil }
            let parts = name.dropFirst(6).dropLast(5).split(separator: "-")
            guard parts.count == 2, let sequence = UInt64(parts[0]), let time = Int64(parts[1]) else { return nil }
            return Entry(sequence: sequence, recordedTime: time, path: folder + "/" + name)
        }.sorted { $0.sequence < $1.sequence }
    }

    /// The state of the latest usable checkpoint inside the bound (at or below `sequence`, recorded at or before
    /// `time`), checked against the journal; `nil` if there is none.
    func latest(
        atOrBefore sequence: UInt64?, time: Timestamp?, journal: String, scenario: Scenario, options: StateOptions?
    ) -> AggregateState? {
        for entry in entries(scenario).reversed() {
            if let sequence, entry.sequence > sequence { continue }
            if let time, entry.recordedTime > time.microsecondsSinceEpoch { continue }
            guard fits(entry, journal: journal),
                let data = FileManager.default.contents(atPath: entry.path),
                let state = try? AggregateState.restore(json: Array(data), scenario: scenario),
                state.lastSequence == entry.sequence, options.map({ state.options == $0 }) ?? state.optionsFollowPlan,
                state.scenario == scenario
            else { continue }
            return state
        }
        return nil
    }

    /// Whether the journal's record at the checkpoint's sequence has the checkpoint's recorded time.
    private func fits(_ entry: Entry, journal: String) -> Bool {
        guard let reader = try? JournalReader.open(directory: journal, from: entry.sequence) else { return false }
        defer { reader.close() }
        guard let record = try? reader.next() else { return false }
        return record.sequence == entry.sequence && record.recordedTime == entry.recordedTime
    }

    /// Writes a checkpoint of `state` (folded through `state.lastSequence`, recorded at `recordedTime`); returns
    /// whether it was written.
    @discardableResult
    func save(_ state: AggregateState, recordedTime: Int64) -> Bool {
        let manager = FileManager.default
        let folder = folder(state.scenario)
        if !manager.fileExists(atPath: folder) {
            guard (try? manager.createDirectory(atPath: folder, withIntermediateDirectories: true)) != nil else { return false }
        }
        let name = "state-\(state.lastSequence)-\(recordedTime).json"
        // A cache: not synced (a crash may lose it; the fold is run again).
        do { try AtomicFile.replace(folder + "/" + name, with: state.json(), durable: false) } catch { return false }
        return true
    }
}
