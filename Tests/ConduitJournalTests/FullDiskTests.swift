import ConduitTesting
import Foundation
import Synchronization
import Testing

@testable import ConduitJournal

/// Write and sync failures injected through ``JournalFileIO``.
@Suite(.timeLimit(.minutes(5))) struct FullDiskTests {
    /// When armed, the next write stores half its bytes, and the one after fails with `errno`.
    final class Fault: Sendable {
        let writeState = Atomic<Int>(0)  // 0 off, 1 armed, 2 half written
        let writeErrno = Atomic<Int32>(ENOSPC)
        let failSync = Atomic<Bool>(false)

        var io: JournalFileIO {
            JournalFileIO(
                write: { fd, buffer, offset in
                    switch self.writeState.load(ordering: .relaxed) {
                    case 1:
                        self.writeState.store(2, ordering: .relaxed)
                        return JournalFileIO.system.write(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<(buffer.count / 2)]), offset)
                    case 2:
                        return -Int(self.writeErrno.load(ordering: .relaxed))
                    default:
                        return JournalFileIO.system.write(fd, buffer, offset)
                    }
                },
                sync: { fd in self.failSync.load(ordering: .relaxed) ? -EIO : JournalFileIO.system.sync(fd) })
        }
    }

    @Test func fullDiskSurfacesAsAnErrorAndLeavesNoPartialRecord() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let fault = Fault()
        var options = smallOptions(segmentSize: 1 << 20)
        options.fileIO = fault.io
        let (journal, _) = try Journal.open(directory: dir.path, options: options)
        try journal.append(TestPattern.records(1...10))
        let segment = try #require(dir.segmentPaths().last)
        let sizeBefore = fileSize(segment)
        let reader = try journal.reader(from: 1)
        #expect(try readAll(reader) == TestPattern.records(1...10))

        fault.writeState.store(1, ordering: .relaxed)
        let batch = JournalBatch()
        for record in TestPattern.records(11...40) { try batch.append(record) }
        do {
            try journal.commit(batch)
            Issue.record("write failure not reported")
        } catch {
            #expect(error.code == .ioFailed)
            #expect(error.errno == ENOSPC)
            #expect(error.path == segment)
        }
        // Nothing of the batch is visible, in memory or on disk.
        #expect(journal.lastSequence == 10 && journal.durableSequence == 10)
        #expect(fileSize(segment) == sizeBefore)
        #expect(try reader.next() == nil)
        #expect(try readAll(JournalReader.open(directory: dir.path, from: 1)) == TestPattern.records(1...10))
        #expect(batch.count == 30)

        // Once space is back, the same batch goes in.
        fault.writeState.store(0, ordering: .relaxed)
        #expect(try journal.commit(batch) == 40)
        #expect(try readAll(reader) == TestPattern.records(11...40))
        try journal.close()
        let (reopened, report) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
        #expect(report.isClean)
        #expect(reopened.lastSequence == 40)
        try reopened.close()
    }

    @Test func fullDiskAfterCloseAndReopenShowsNoPartialRecord() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let fault = Fault()
        var options = smallOptions(segmentSize: 1 << 20)
        options.fileIO = fault.io
        let (journal, _) = try Journal.open(directory: dir.path, options: options)
        try journal.append(TestPattern.records(1...10))
        fault.writeState.store(1, ordering: .relaxed)
        #expect(throws: JournalError.self) { try journal.append(TestPattern.records(11...50)) }
        try journal.close()
        let (reopened, report) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
        #expect(report.isClean)
        #expect(reopened.lastSequence == 10)
        try reopened.append(TestPattern.records(11...12))
        try reopened.close()
    }

    @Test func failedSyncMakesTheJournalUnusableUntilReopened() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let fault = Fault()
        var options = smallOptions(segmentSize: 1 << 20)
        options.fileIO = fault.io
        let (journal, _) = try Journal.open(directory: dir.path, options: options)
        try journal.append(TestPattern.records(1...10))
        fault.failSync.store(true, ordering: .relaxed)
        do {
            try journal.append(TestPattern.records(11...20))
            Issue.record("sync failure not reported")
        } catch {
            #expect(error.code == .ioFailed && error.errno == EIO)
        }
        #expect(journal.durableSequence == 10)
        #expect(try readAll(journal.reader(from: 1)) == TestPattern.records(1...10))
        fault.failSync.store(false, ordering: .relaxed)
        do {
            try journal.append(TestPattern.records(21...22))
            Issue.record("append after a failed sync accepted")
        } catch {
            #expect(error.code == .unusable)
        }
        try journal.close()
        let (reopened, _) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 1 << 20))
        #expect(reopened.lastSequence == 10 || reopened.lastSequence == 20)
        try reopened.close()
    }
}
