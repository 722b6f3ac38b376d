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

/// Checkpoints beside the journal: a fold starts from the nearest one and ends in the same state as a fold from the
/// start; one that does not fit the journal, or is damaged, is ignored.
struct StateCheckpointTests {
    @Test func aFoldFromACheckpointEqualsAFoldFromTheStart() throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        let plain = StateReplay(directory: path)
        let cached = StateReplay(directory: path, checkpoints: StateCheckpoints(directory: directory.appending("state"), every: 10))
        // The first fold leaves checkpoints at 10, 20, … 60.
        #expect(try cached.state() == plain.state())
        let folder = directory.appending("state/fold-\(AggregateState.foldVersion)-\(Scenario.default.id)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names.count == 6)
        #expect(names.allSatisfy { $0.hasPrefix("state-") && $0.hasSuffix(".json") })
        // Later folds start from the nearest one: a few records read, the same state.
        let (atSequence, reading) = try cached.fold(atSequence: 37)
        #expect(reading.scanned <= 8)
        #expect(atSequence == (try plain.state(atSequence: 37)))
        let moment = Timestamp(secondsSinceEpoch: 1_685_577_600 + 44)
        #expect(try cached.state(atTime: moment) == plain.state(atTime: moment))
        #expect(try cached.state(atSequence: 5) == plain.state(atSequence: 5))
        // A diff starts from the checkpoint before its earlier end, and says the same.
        let (cachedDiff, diffReading) = try cached.diff(fromSequence: 33, toSequence: 47)
        #expect(diffReading.scanned <= 18)
        #expect(cachedDiff.json() == (try plain.diff(fromSequence: 33, toSequence: 47)).diff.json())
        let from = Timestamp(secondsSinceEpoch: 1_685_577_600 + 21), to = Timestamp(secondsSinceEpoch: 1_685_577_600 + 52)
        #expect(try cached.diff(fromTime: from, toTime: to).diff.json() == plain.diff(fromTime: from, toTime: to).diff.json())
    }

    @Test func aCheckpointThatDoesNotFitTheJournalIsIgnored() throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        let checkpoints = StateCheckpoints(directory: directory.appending("state"), every: 10)
        let cached = StateReplay(directory: path, checkpoints: checkpoints)
        _ = try cached.state()
        let manager = FileManager.default
        let entries = checkpoints.entries(.default)
        // A checkpoint claiming another recorded time (another journal), and one damaged.
        try manager.moveItem(atPath: entries[2].path, toPath: checkpoints.folder(.default) + "/state-30-12345.json")
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: entries[1].path))
        let expected = try StateReplay(directory: path).state(atSequence: 35)
        let (state, reading) = try cached.fold(atSequence: 35)
        #expect(state == expected)
        #expect(reading.scanned == 26, "from the checkpoint at 10 (records 11 to 36, which ends the fold): those at 20 and 30 are unusable")
    }
}
