import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import Testing

@testable import ConduitReplay

@Suite(.timeLimit(.minutes(5))) struct TornTailTests {
    @Test func statisticsNameTheTornTail() throws {
        let directory = TemporaryDirectory()
        let (path, tail) = try makeTornJournal(in: directory)
        let statistics = try JournalInspector.statistics(directory: path)
        #expect(statistics.lastSequence == 59)
        #expect(statistics.tail == tail)
        #expect(statistics.tail?.recordAfter == nil)

        let intact = TemporaryDirectory()
        #expect(try JournalInspector.statistics(directory: makeJournal(in: intact)).tail == nil)
    }

    @Test func replayReadsTheIntactPartAndLeavesTheJournalAsItIs() throws {
        let directory = TemporaryDirectory()
        let (path, tail) = try makeTornJournal(in: directory)
        let before = try journalFiles(path)
        let (text, summary) = try replay(path, ReplaySelection())
        #expect(text.split(separator: "\n").count == 59)
        #expect(summary.matched == 59)
        #expect(summary.lastSequence == 59)
        #expect(summary.tail == tail)
        var window = ReplaySelection()
        window.toSequence = 10
        #expect(try replay(path, window).1.tail == tail, "the tail is reported even when the window ends before it")
        #expect(try journalFiles(path) == before)
    }

    @Test func theStateFoldsTheIntactPart() throws {
        let directory = TemporaryDirectory()
        let (path, tail) = try makeTornJournal(in: directory)
        let before = try journalFiles(path)
        let (state, reading) = try StateReplay(directory: path).fold()
        #expect(state.lastSequence == 59)
        #expect(reading.scanned == 59)
        #expect(reading.lastSequence == 59)
        #expect(reading.tail == tail)
        #expect(!reading.interrupted)
        #expect(try journalFiles(path) == before)
    }

    /// A tail a reading went past was a record being written, not a torn one.
    @Test func aTailTheReadingWentPastIsNotReported() {
        let tail = JournalTail(path: "j", offset: 10, bytes: 5, nextSequence: 60, reason: "incomplete record")
        var past = JournalReading()
        past.lastSequence = 60
        past.note(tail)
        #expect(past.tail == nil)
        var before = JournalReading()
        before.lastSequence = 59
        before.note(tail)
        #expect(before.tail == tail)
    }
}
