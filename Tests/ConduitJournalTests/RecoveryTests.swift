import ConduitTesting
import Foundation
import Testing

@testable import ConduitJournal

/// Damaged files: torn tails, bit flips, missing or damaged indexes, truncated sealed segments.
@Suite(.timeLimit(.minutes(5))) struct RecoveryTests {
    /// A journal of records 1...600 in many small segments, closed.
    func makeJournal(_ dir: TemporaryDirectory) throws {
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
        for start in stride(from: UInt64(1), through: 600, by: 50) {
            try journal.append(TestPattern.records(start...(start + 49)))
        }
        try journal.close()
    }

    @Test(arguments: [1, 5, 27, 28, 100])
    func tornTailIsTruncatedAndReported(cut: UInt64) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try makeJournal(dir)
        let last = try #require(dir.segmentPaths().last)
        let size = fileSize(last)
        // Cut into the last record: everything before it survives.
        let lastRecordLength = UInt64(JournalFormat.recordHeaderLength + TestPattern.topic(600).count + TestPattern.event(600).count)
        try truncateFile(last, to: size - lastRecordLength + min(cut, lastRecordLength - 1))
        let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions())
        let tail = try #require(report.truncatedTail)
        #expect(tail.path == last)
        #expect(tail.offset == size - lastRecordLength)
        #expect(tail.bytes == min(cut, lastRecordLength - 1))
        #expect(tail.fromSequence == 600)
        #expect(report.problems.isEmpty)
        #expect(fileSize(last) == size - lastRecordLength)
        #expect(journal.lastSequence == 599)
        try journal.append(TestPattern.records(600...601))
        #expect(try readAll(journal.reader(from: 1)) == TestPattern.records(1...601))
        try journal.close()
        let (again, secondReport) = try Journal.open(directory: dir.path, options: smallOptions())
        #expect(secondReport.isClean)
        try again.close()
    }

    @Test func bitFlipInTheLastRecordIsATornTail() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try makeJournal(dir)
        let last = try #require(dir.segmentPaths().last)
        try flipBit(path: last, offset: fileSize(last) - 3, bit: 4)
        let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions())
        #expect(report.truncatedTail?.fromSequence == 600)
        #expect(report.truncatedTail?.reason == "checksum mismatch")
        #expect(journal.lastSequence == 599)
        try journal.close()
    }

    @Test(arguments: [JournalFormat.segmentHeaderLength + 2, JournalFormat.segmentHeaderLength + 13, 3000])
    func bitFlipInASealedSegmentIsReportedWithItsLocation(offset: Int) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try makeJournal(dir)
        let segments = dir.segmentPaths()
        let damaged = segments[2]
        try flipBit(path: damaged, offset: UInt64(offset), bit: 1)
        let firstOfDamaged = JournalFormat.firstSequence(ofSegmentFileName: URL(fileURLWithPath: damaged).lastPathComponent)!

        // verify names the file and offset, and fails.
        let verification = try JournalInspector.verify(directory: dir.path)
        #expect(!verification.isSound)
        let problem = try #require(verification.errors.first)
        #expect(problem.path == damaged)
        #expect(Int(problem.offset) <= offset && Int(problem.offset) >= offset - 400)

        // A reader stops there with an error naming the file and offset; it never skips.
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
        let reader = try journal.reader(from: 1)
        var sequences: [UInt64] = []
        do {
            while let record = try reader.next() { sequences.append(record.sequence) }
            Issue.record("read past the damage")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.path == damaged)
            #expect(error.offset == problem.offset)
        }
        #expect(sequences == Array(1..<(problem.sequence ?? 0)))
        #expect(sequences.last.map { $0 >= firstOfDamaged - 1 } ?? false)
        // Offline readers too.
        #expect(throws: JournalError.self) { _ = try readAll(JournalReader.open(directory: dir.path, from: 1)) }
        // Appending goes on; the damaged file is left as it is.
        try journal.append(TestPattern.records(601...610))
        try journal.close()
    }

    @Test func truncatedSealedSegmentIsReportedNotRepaired() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try makeJournal(dir)
        let damaged = dir.segmentPaths()[1]
        let size = fileSize(damaged)
        try truncateFile(damaged, to: size - 10)
        let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions())
        let problem = try #require(report.problems.first)
        #expect(problem.path == damaged)
        #expect(report.truncatedTail == nil)
        #expect(fileSize(damaged) == size - 10)
        #expect(throws: JournalError.self) { _ = try readAll(journal.reader(from: 1)) }
        try journal.close()
        #expect(try !JournalInspector.verify(directory: dir.path).isSound)
    }

    @Test func missingAndDamagedIndexesAreRebuilt() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try makeJournal(dir)
        let indexes = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".index") }.sorted()
        #expect(indexes.count == dir.segmentPaths().count - 1)
        let missing = dir.appending(indexes[0])
        let damaged = dir.appending(indexes[3])
        let original = try Data(contentsOf: URL(fileURLWithPath: missing))
        try FileManager.default.removeItem(atPath: missing)
        try flipBit(path: damaged, offset: 100)
        let verification = try JournalInspector.verify(directory: dir.path)
        #expect(verification.isSound)
        #expect(Set(verification.warnings.map(\.path)) == [missing, damaged])

        // Offline readers seek without the index (scanning the segment instead).
        #expect(try JournalReader.open(directory: dir.path, from: 30).next()?.sequence == 30)

        let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions())
        #expect(Set(report.rebuiltIndexes) == [missing, damaged])
        #expect(report.problems.isEmpty && report.truncatedTail == nil)
        #expect(try Data(contentsOf: URL(fileURLWithPath: missing)) == original)
        #expect(try readAll(journal.reader(from: 1)) == TestPattern.records(1...600))
        try journal.close()
        let after = try JournalInspector.verify(directory: dir.path)
        #expect(after.isSound && after.warnings.isEmpty)
    }

    @Test func tornSegmentHeaderIsRewritten() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try makeJournal(dir)
        // A crash right after a segment file was created: its header is incomplete.
        let next = JournalFormat.segmentFileName(firstSequence: 601)
        #expect(FileManager.default.createFile(atPath: dir.appending(next), contents: Data([0x43, 0x4E, 0x44])))
        let (reopened, report) = try Journal.open(directory: dir.path, options: smallOptions())
        #expect(report.repairedHeader == dir.appending(next))
        #expect(reopened.nextSequence == 601)
        try reopened.append(TestPattern.records(601...602))
        #expect(try readAll(reopened.reader(from: 598)) == TestPattern.records(598...602))
        try reopened.close()
    }
}

@Suite(.timeLimit(.minutes(5))) struct DamagedActiveSegmentTests {
    @Test func damageFollowedByValidRecordsIsNotTruncatedSilently() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
            try appendInBatches(journal, TestPattern.records(1...300))
            try journal.close()
        }
        let segment = try #require(dir.segmentPaths().last)
        let size = fileSize(segment)
        try flipBit(path: segment, offset: 20_000, bit: 3)
        do {
            _ = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
            Issue.record("damaged segment opened and truncated silently")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.path == segment)
            #expect(error.offset.map { $0 <= 20_000 && $0 > 19_000 } ?? false)
        }
        #expect(fileSize(segment) == size)

        var options = smallOptions(segmentSize: 1 << 20)
        options.discardDamagedTail = true
        let (journal, report) = try Journal.open(directory: dir.path, options: options)
        let tail = try #require(report.truncatedTail)
        #expect(report.problems.count == 1)
        #expect(FileManager.default.fileExists(atPath: segment + ".damaged-\(tail.offset)"))
        #expect(fileSize(segment + ".damaged-\(tail.offset)") == size - tail.offset)
        #expect(journal.lastSequence == tail.fromSequence - 1)
        #expect(try readAll(journal.reader(from: 1)) == TestPattern.records(1...(tail.fromSequence - 1)))
        try journal.close()
    }
}
