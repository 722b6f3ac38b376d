import ConduitCore
import ConduitJournal
import ConduitState

/// The aggregate state as it was at a moment, folded from the journal with the same
/// fold the aggregator runs, so the two agree by construction.
public struct StateReplay: Sendable {
    public let directory: String
    public let scenario: Scenario
    public let options: StateOptions

    public init(directory: String, scenario: Scenario = .default, options: StateOptions = StateOptions()) {
        self.directory = directory
        self.scenario = scenario
        self.options = options
    }

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
        var state = AggregateState(scenario: scenario, options: options)
        let statistics = try JournalInspector.statistics(directory: directory)
        let reading = try JournalScan.run(
            directory: directory, statistics: statistics, progress: progress, shouldStop: shouldStop
        ) { view in
            if bound.isPassed(by: view) { return false }
            if let event = JournalScan.event(view) { _ = state.apply(event) }
            return true
        }
        // An empty journal gives the empty state, whatever the time.
        if let time, !reading.interrupted, statistics.firstSequence != nil { _ = state.advance(to: time) }
        return (state, reading)
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
