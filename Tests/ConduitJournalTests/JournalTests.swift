import ConduitTesting
import Foundation
import Testing

@testable import ConduitJournal

@Suite(.timeLimit(.minutes(5))) struct JournalTests {
    @Test func appendReadAndReopen() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions())
            #expect(report.isClean)
            #expect(journal.lastSequence == 0 && journal.nextSequence == 1)
            #expect(try journal.append(TestPattern.records(1...100)) == 100)
            #expect(try journal.append(TestPattern.records(101...250)) == 250)
            #expect(journal.durableSequence == 250)
            #expect(try readAll(journal.reader(from: 1)) == TestPattern.records(1...250))
            try journal.close()
        }
        let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions())
        #expect(report.isClean, "\(report)")
        #expect(report.segmentCount > 1)
        #expect(journal.lastSequence == 250)
        #expect(try readAll(journal.reader(from: 77)) == TestPattern.records(77...250))
        try journal.append(TestPattern.records(251...260))
        #expect(try readAll(journal.reader(from: 249)) == TestPattern.records(249...260))
        try journal.close()
        #expect(try readAll(JournalReader.open(directory: dir.path, from: 1)) == TestPattern.records(1...260))
        #expect(try JournalInspector.verify(directory: dir.path).isSound)
    }

    /// `conduit broker` with its default `./conduit-data/journal` in a fresh directory: the missing parents are made.
    @Test func aJournalIsMadeWithItsMissingParents() throws {
        let dir = TemporaryDirectory()
        let path = dir.appending("data/county/journal")
        let (journal, _) = try Journal.open(directory: path, options: smallOptions())
        #expect(try journal.append(TestPattern.records(1...3)) == 3)
        try journal.close()
        #expect(try readAll(JournalReader.open(directory: path, from: 1)) == TestPattern.records(1...3))
        var options = smallOptions()
        options.createIfMissing = false
        #expect(throws: JournalError.self) { _ = try Journal.open(directory: dir.appending("other/journal"), options: options) }
    }

    @Test func rejectsGapsAndReuse() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
        defer { try? journal.close() }
        try journal.append(TestPattern.records(1...5))
        #expect(throws: JournalError.self) { try journal.append(TestPattern.records(7...8)) }
        do {
            try journal.append(TestPattern.records(5...6))
            Issue.record("reuse accepted")
        } catch {
            #expect(error.code == .sequenceReused)
        }
        do {
            try journal.append([TestPattern.record(6), TestPattern.record(8)])
            Issue.record("gap inside a batch accepted")
        } catch {
            #expect(error.code == .sequenceGap)
        }
        #expect(journal.lastSequence == 5)
        try journal.append(TestPattern.records(6...6))
        #expect(try readAll(journal.reader(from: 1)) == TestPattern.records(1...6))
    }

    @Test func batchIsReusedAndEmptiedByCommit() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 64 << 10))
        defer { try? journal.close() }
        let batch = JournalBatch(capacity: 4096)
        for round in 0..<20 {
            for i in 0..<50 {
                let record = TestPattern.record(UInt64(round * 50 + i + 1))
                try batch.append(record)
            }
            #expect(try journal.commit(batch) == UInt64(round * 50 + 50))
            #expect(batch.isEmpty)
        }
        var count = 0
        let reader = try journal.reader(from: 1)
        try reader.read { record in
            count += 1
            #expect(record.copy() == TestPattern.record(record.sequence))
        }
        #expect(count == 1000)
    }

    @Test func readersSeeOnlyDurableRecords() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = smallOptions()
        options.durability = .interval(.seconds(3600))
        let (journal, _) = try Journal.open(directory: dir.path, options: options)
        defer { try? journal.close() }
        let reader = try journal.reader(from: 1)
        #expect(try journal.append(TestPattern.records(1...10)) == 0)
        #expect(journal.lastSequence == 10 && journal.durableSequence == 0)
        #expect(try reader.next() == nil)
        #expect(try journal.sync() == 10)
        #expect(try readAll(reader) == TestPattern.records(1...10))
        // A reader follows the journal as it grows.
        try journal.append(TestPattern.records(11...12))
        #expect(try reader.next() == nil)
        try journal.sync()
        #expect(try readAll(reader) == TestPattern.records(11...12))
    }

    @Test func readerOnAnotherThreadFollowsTheWriter() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
        let readers = journal.readers
        let task = Task.detached { () throws -> [UInt64] in
            let reader = try readers.reader(from: 1)
            var sequences: [UInt64] = []
            while sequences.count < 2000 {
                if let record = try reader.next() {
                    #expect(record.sequence <= readers.durableSequence)
                    sequences.append(record.sequence)
                } else {
                    usleep(100)
                }
            }
            return sequences
        }
        for start in stride(from: UInt64(1), through: 2000, by: 100) {
            try journal.append(TestPattern.records(start...(start + 99)))
        }
        #expect(try await task.value == Array(1...2000))
        try journal.close()
    }

    @Test func seekByTimeAcrossSegments() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
        // Times 10 µs apart, with one step back of the clock at sequence 500.
        var records = TestPattern.records(1...1000)
        for i in records.indices { records[i].recordedTime = Int64(records[i].sequence) * 10 }
        records[499].recordedTime = 4000
        try appendInBatches(journal, records)
        #expect(dir.segmentPaths().count > 10)
        for target: Int64 in [0, 10, 11, 2505, 4000, 4991, 5010, 7777, 10_000] {
            let expected = records.first(where: { $0.recordedTime >= target })?.sequence
            #expect(try journal.reader(fromTime: target).next()?.sequence == expected, "time \(target)")
            #expect(try JournalReader.open(directory: dir.path, fromTime: target).next()?.sequence == expected)
        }
        // Past the end: nothing yet, then the next record appended.
        let reader = try journal.reader(fromTime: 20_000)
        #expect(try reader.next() == nil)
        var late = TestPattern.record(1001)
        late.recordedTime = 30_000
        try journal.append([late])
        #expect(try reader.next() == late)
        // Seek by sequence lands on each record, including segment boundaries.
        for sequence: UInt64 in [1, 2, 63, 64, 65, 500, 999, 1000, 1001] {
            #expect(try journal.reader(from: sequence).next()?.sequence == sequence)
            #expect(try JournalReader.open(directory: dir.path, from: sequence).next()?.sequence == sequence)
        }
        try journal.close()
    }

    @Test func onlyOneWriter() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
        do {
            _ = try Journal.open(directory: dir.path, options: smallOptions())
            Issue.record("second writer opened")
        } catch {
            #expect(error.code == .locked)
        }
        try journal.close()
        let (again, _) = try Journal.open(directory: dir.path, options: smallOptions())
        try again.close()
    }

    @Test func offlineReaderStopsAtAnIncompleteTail() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
        try journal.append(TestPattern.records(1...20))
        let reader = try JournalReader.open(directory: dir.path, from: 1)
        #expect(try readAll(reader) == TestPattern.records(1...20))
        // Half a record at the tail, as another process sees a write in progress: not an error, not a record.
        let segment = try #require(dir.segmentPaths().last)
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        try handle.seekToEnd()
        try handle.write(contentsOf: [60, 0, 0, 0, 1, 2, 3])
        try handle.close()
        #expect(try reader.next() == nil)
        try journal.close()
    }

    @Test func offlineReaderWaitsForASegmentBeingCreated() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
            try journal.append(TestPattern.records(1...20))
            try journal.close()
        }
        let reader = try JournalReader.open(directory: dir.path, from: 1)
        #expect(try readAll(reader) == TestPattern.records(1...20))
        // The next segment exists but its header is not written yet.
        let next = dir.appending(JournalFormat.segmentFileName(firstSequence: 21))
        #expect(FileManager.default.createFile(atPath: next, contents: Data([0x43, 0x4E])))
        #expect(try reader.next() == nil)
        let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions())
        #expect(report.repairedHeader == next)
        try journal.append(TestPattern.records(21...25))
        #expect(try readAll(reader) == TestPattern.records(21...25))
        try journal.close()
    }
}
