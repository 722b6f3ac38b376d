import ConduitCore
import ConduitJournal
import ConduitState

/// The aggregate state as it was at a moment, folded from the journal with the same fold the aggregator runs, so
/// the two agree by construction.
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
        var state = AggregateState(scenario: scenario, options: options)
        let statistics = try JournalInspector.statistics(directory: directory)
        guard statistics.firstSequence != nil else { return state }
        let reader = try JournalReader.open(directory: directory, from: statistics.firstSequence!)
        defer { reader.close() }
        var finished = false
        while !finished {
            let read = try reader.read(maxRecords: 65_536) { view in
                guard !finished else { return }
                if let sequence, view.sequence > sequence { finished = true; return }
                if let time, view.recordedTime > time.microsecondsSinceEpoch { finished = true; return }
                let buffer = UnsafeBufferPointer(
                    start: view.event.baseAddress?.assumingMemoryBound(to: UInt8.self), count: view.event.count)
                if let event = try? EventCodec.decode(buffer) { _ = state.apply(event) }
            }
            if read < 65_536 { break }
        }
        if let time { _ = state.advance(to: time) }
        return state
    }
}
