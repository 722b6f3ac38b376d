import ConduitCore
import ConduitJournal
import ConduitState
import ConduitTesting
import Foundation
import Testing

@testable import ConduitReplay

struct StateReplayTests {
    /// `state --seq N` equals a subscriber's state that stopped after event N: the same fold of the same events.
    @Test(arguments: [1, 17, 60])
    func theStateAtASequenceEqualsTheFoldOfTheEventsUpToIt(sequence: Int) throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        var expected = AggregateState(scenario: .default)
        let reader = try JournalReader.open(directory: path, from: 1)
        while let record = try reader.next(), record.sequence <= UInt64(sequence) {
            _ = expected.apply(try EventCodec.decode(record.event))
        }
        reader.close()
        let replayed = try StateReplay(directory: path).state(atSequence: UInt64(sequence))
        #expect(replayed == expected)
        #expect(replayed.lastSequence == UInt64(sequence))
    }

    @Test func theStateAtATimeHoldsTheEventsRecordedUpToIt() throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        // Event n is recorded at 2023-06-01T00:00:00Z + n seconds.
        let moment = Timestamp(secondsSinceEpoch: 1_685_577_600 + 25)
        let state = try StateReplay(directory: path).state(atTime: moment)
        #expect(state.lastSequence == 25)
        // The same as a fold of those 25 events with its clock advanced to the moment.
        var expected = AggregateState(scenario: .default)
        let reader = try JournalReader.open(directory: path, from: 1)
        while let record = try reader.next(), record.sequence <= 25 { _ = expected.apply(try EventCodec.decode(record.event)) }
        reader.close()
        _ = expected.advance(to: moment)
        #expect(state == expected)
        #expect(state.now.map { $0 >= moment } == true)
    }
}
