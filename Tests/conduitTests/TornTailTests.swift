import ConduitJournal
import ConduitReplay
import ConduitTesting
import Foundation
import Testing

/// What `conduit replay` and `conduit state` say on standard error about a journal whose tail is torn or damaged.
@Suite(.timeLimit(.minutes(5))) struct TornTailTests {
    /// A damaged record in the newest segment with intact records after it is not a torn tail: the statistics say
    /// which record follows, since readers stop at the damage.
    @Test func damageFollowedByRecordsIsNamedAsSuch() throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        let reader = try JournalReader.open(directory: path, from: 1)
        var offsets: [UInt64: UInt64] = [:]
        var offset = UInt64(JournalFormat.segmentHeaderLength)
        try reader.read { view in
            offsets[view.sequence] = offset
            offset += UInt64(view.frameLength)
        }
        reader.close()
        let segment = try #require(try JournalInspector.statistics(directory: path).segments.last)
        let handle = try #require(FileHandle(forUpdatingAtPath: segment.path))
        let damaged = offsets[30]! + 40
        try handle.seek(toOffset: damaged)
        let byte = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: damaged)
        try handle.write(contentsOf: [byte ^ 0x10])
        try handle.close()

        let (_, summary) = try replay(path, ReplaySelection())
        #expect(summary.matched == 29)
        let tail = try #require(summary.tail)
        #expect(tail.offset == offsets[30]!)
        #expect(tail.nextSequence == 30)
        #expect(tail.recordAfter == JournalTail.Position(sequence: 31, offset: offsets[31]!))
        let replayed = try ChildProcess.conduit(["replay", "--dir", path, "--format", "jsonl"])
        #expect(replayed.status == 0)
        #expect(replayed.errors.contains("the journal's newest segment is damaged, not just torn"))
        #expect(replayed.errors.contains("a valid record with sequence 31 follows at byte \(offsets[31]!)"))
        #expect(replayed.errors.contains("Events from sequence 30 on were not read"))
    }

    @Test func theCommandsSayTheTailIsTornOnStandardError() throws {
        let directory = TemporaryDirectory()
        let (path, tail) = try makeTornJournal(in: directory)
        let before = try journalFiles(path)

        let replayed = try ChildProcess.conduit(["replay", "--dir", path, "--format", "jsonl"])
        #expect(replayed.status == 0)
        #expect(replayed.output.split(separator: "\n").count == 59)
        #expect(replayed.errors.contains("replayed 59 of 59 events scanned"))
        #expect(replayed.errors.contains("the journal's tail is torn: the last 100 byte(s) of \(tail.path), from byte \(tail.offset)"))
        #expect(replayed.errors.contains("They were ignored — the intact records end at sequence 59 — and the journal was left as it is"))

        let state = try ChildProcess.conduit(["state", "--dir", path, "--json", "--path", "lastSequence"])
        #expect(state.status == 0)
        #expect(state.output == "59\n")
        #expect(state.errors.contains("the journal's tail is torn: the last 100 byte(s) of \(tail.path), from byte \(tail.offset)"))

        let table = try ChildProcess.conduit(["state", "--dir", path])
        #expect(table.status == 0)
        #expect(table.output.hasPrefix("State after sequence 59"))
        #expect(table.errors.contains("tail is torn"))

        let intact = TemporaryDirectory()
        let clean = try ChildProcess.conduit(["replay", "--dir", try makeJournal(in: intact), "--format", "jsonl"])
        #expect(!clean.errors.contains("torn"))
        #expect(try journalFiles(path) == before)
    }
}
