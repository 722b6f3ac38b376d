import ConduitCore
import ConduitJournal
import ConduitState

/// The aggregate state as it was at a moment, or what changed between two, folded from the journal with the same
/// fold the aggregator runs, so the two agree by construction.
public struct StateReplay: Sendable {
    public let directory: String
    public let scenario: Scenario
    public let options: StateOptions?
    /// Where folds start from and leave snapshots (see ``StateCheckpoints``); `nil` folds from the journal's start.
    public var checkpoints: StateCheckpoints?

    public init(
        directory: String, scenario: Scenario = .default, options: StateOptions? = nil,
        checkpoints: StateCheckpoints? = nil
    ) {
        self.directory = directory
        self.scenario = scenario
        self.options = options
        self.checkpoints = checkpoints
    }

    /// Errors: a diff whose later moment comes before its earlier one.
    /// The state after every event recorded at or before `time` (when given) and with a sequence at or below
    /// `sequence` (when given); time-based alerts are evaluated at `time` (or at the last event).
    public func state(atTime time: Timestamp? = nil, atSequence sequence: UInt64? = nil) throws -> AggregateState {
        try fold(atTime: time, atSequence: sequence).state
    }

    /// The state as ``state(atTime:atSequence:)`` gives it, with what the reading met: an incomplete tail, an
    /// interruption. `progress` gets the records read so far; `shouldStop` is polled between chunks, and when it
    /// stops the fold early the state is as of ``JournalReading/lastSequence``.
    public func fold(
        atTime time: Timestamp? = nil, atSequence sequence: UInt64? = nil, progress: (UInt64) -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) throws -> (state: AggregateState, reading: JournalReading) {
        let bound = Bound(time: time, sequence: sequence)
        let statistics = try JournalInspector.statistics(directory: directory)
        var (state, reading) = try scan(
            startingWithin: bound, statistics: statistics, progress: progress, shouldStop: shouldStop
        ) { view, state in
            if bound.isPassed(by: view) { return false }
            if let event = JournalScan.event(view) { _ = state.apply(event) }
            return true
        }
        // An empty journal gives the empty state, whatever the time.
        if let time, !reading.interrupted, statistics.firstSequence != nil { _ = state.advance(to: time) }
        return (state, reading)
    }

    /// Reads the journal into a fold: from the latest checkpoint within `bound` that fits the journal (else from the
    /// start), calling `body` with each record and the state (which it folds); leaves a checkpoint at each multiple of
    /// the checkpoints' interval that the fold passes. `body` returns `false` to stop.
    private func scan(
        startingWithin bound: Bound, statistics: JournalStatistics, progress: (UInt64) -> Void, shouldStop: () -> Bool,
        _ body: (JournalRecordView, inout AggregateState) throws -> Bool
    ) throws -> (state: AggregateState, reading: JournalReading) {
        var state = AggregateState(scenario: scenario, options: options)
        var start: UInt64?
        if let checkpoints, let restored = checkpoints.latest(
            atOrBefore: bound.sequence, time: bound.time, journal: directory, scenario: scenario, options: options)
        {
            state = restored
            start = restored.lastSequence + 1
        }
        var saved = Set(checkpoints?.entries(scenario).map(\.sequence) ?? [])
        var reading = JournalReading()
        if let start, let last = statistics.lastSequence, start > last {
            reading.note(statistics.tail)
            return (state, reading)
        }
        reading = try JournalScan.run(
            directory: directory, statistics: statistics, from: start, progress: progress, shouldStop: shouldStop
        ) { view in
            guard try body(view, &state) else { return false }
            if let checkpoints, view.sequence % checkpoints.every == 0, state.lastSequence == view.sequence,
                !saved.contains(view.sequence), checkpoints.save(state, recordedTime: view.recordedTime)
            {
                saved.insert(view.sequence)
            }
            return true
        }
        return (state, reading)
    }

    /// What changed between the state at the recorded time `from` and the state at `to` (see
    /// ``state(atTime:atSequence:)``), with the alerts the fold raised and cleared in between.
    /// - Throws: ``Failure`` if `to` is before `from`; journal errors.
    public func diff(
        fromTime from: Timestamp, toTime to: Timestamp, progress: (UInt64) -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) throws -> (diff: StateDiff, reading: JournalReading) {
        guard from <= to else { throw ReplayError(.invalidRange, "the later time \(to.rfc3339) is before the earlier \(from.rfc3339)") }
        return try diff(Bound(time: from), Bound(time: to), progress: progress, shouldStop: shouldStop)
    }

    /// What changed between the state after the event with sequence `from` and the state after `to`, with the
    /// alerts the fold raised and cleared in between.
    /// - Throws: ``Failure`` if `to` is below `from`; journal errors.
    public func diff(
        fromSequence from: UInt64, toSequence to: UInt64, progress: (UInt64) -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) throws -> (diff: StateDiff, reading: JournalReading) {
        guard from <= to else { throw ReplayError(.invalidRange, "the later sequence \(to) is below the earlier \(from)") }
        return try diff(Bound(sequence: from), Bound(sequence: to), progress: progress, shouldStop: shouldStop)
    }

    /// One pass: fold up to `earlier`, keep a copy advanced to its time, fold on up to `later`. The two ends equal
    /// the states ``state(atTime:atSequence:)`` gives for each moment. The alert changes come from folding on from
    /// the copy, so that they start from its ledger: an alert the advance raised is cleared in them, not raised
    /// again. (Without a time to advance to, the copy and the fold are the same.)
    private func diff(
        _ earlier: Bound, _ later: Bound, progress: (UInt64) -> Void, shouldStop: () -> Bool
    ) throws -> (diff: StateDiff, reading: JournalReading) {
        var before: AggregateState?
        var observed: AggregateState?
        var changes: [AlertChange] = []
        let statistics = try JournalInspector.statistics(directory: directory)
        var (state, reading) = try scan(
            startingWithin: earlier, statistics: statistics, progress: progress, shouldStop: shouldStop
        ) { view, state in
            if before == nil && earlier.isPassed(by: view) {
                before = earlier.snapshot(state)
                observed = before
            }
            if later.isPassed(by: view) { return false }
            if let event = JournalScan.event(view) {
                let applied = state.apply(event)
                if observed != nil {
                    changes += earlier.time == nil ? applied : observed!.apply(event)
                }
            }
            return true
        }
        if before == nil {
            before = earlier.snapshot(state)
            observed = before
        }
        if let time = later.time, !reading.interrupted {
            let advanced = state.advance(to: time)
            changes += earlier.time == nil ? advanced : observed!.advance(to: time)
        }
        return (StateDiff(from: before!, to: state, alertChanges: changes), reading)
    }

    /// Where a fold stops: after the last record recorded at or before `time` and with a sequence at or below
    /// `sequence`, whichever comes first.
    struct Bound {
        var time: Timestamp?
        var sequence: UInt64?

        init(time: Timestamp? = nil, sequence: UInt64? = nil) {
            self.time = time
            self.sequence = sequence
        }

        /// Whether the record lies beyond the bound (recorded times only grow: nothing after it is inside).
        func isPassed(by view: JournalRecordView) -> Bool {
            if let sequence, view.sequence > sequence { return true }
            if let time, view.recordedTime > time.microsecondsSinceEpoch { return true }
            return false
        }

        /// The state as of the bound: advanced to its time, if it has one.
        func snapshot(_ state: AggregateState) -> AggregateState {
            var copy = state
            if let time { _ = copy.advance(to: time) }
            return copy
        }
    }
}
