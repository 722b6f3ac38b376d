import ConduitTesting
import Foundation
import Testing

@testable import ConduitJournal

@Suite(.timeLimit(.minutes(5))) struct RetentionTests {
    @Test func retentionBySizeStopsAtASegmentAReaderHolds() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = smallOptions()
        options.retention = JournalRetention(maximumTotalBytes: 20_000)
        // Fill without retention, then enforce it explicitly.
        var filling = options
        filling.retention = nil
        do {
            let (journal, _) = try Journal.open(directory: dir.path, options: filling)
            try appendInBatches(journal, TestPattern.records(1...600))
            try journal.close()
        }
        let (journal, _) = try Journal.open(directory: dir.path, options: options)
        let segmentsBefore = dir.segmentPaths()
        #expect(segmentsBefore.count > 10)

        // A reader in the first segment: nothing may go.
        let reader = try journal.reader(from: 1)
        #expect(try reader.next()?.sequence == 1)
        #expect(try journal.enforceRetention().isEmpty)
        #expect(dir.segmentPaths() == segmentsBefore)

        // Move the reader into the fourth segment: only the three before it go.
        let fourth = JournalFormat.firstSequence(ofSegmentFileName: URL(fileURLWithPath: segmentsBefore[3]).lastPathComponent)!
        while let record = try reader.next(), record.sequence < fourth {}
        let removed = try journal.enforceRetention()
        #expect(removed == Array(segmentsBefore[0..<3]))
        #expect(journal.firstSequence == fourth)
        // The reader goes on to the end.
        #expect(try readAll(reader).last?.sequence == 600)

        // Released: retention brings the total under the limit, keeping the segment being written.
        reader.close()
        try journal.enforceRetention()
        let remaining = dir.segmentPaths()
        #expect(remaining.count >= 1 && remaining.last == segmentsBefore.last)
        #expect(remaining.reduce(0) { $0 + fileSize($1) } <= 20_000 || remaining.count == 1)
        do {
            _ = try journal.reader(from: 1)
            Issue.record("removed sequence readable")
        } catch {
            #expect(error.code == .notAvailable)
        }
        #expect(try readAll(journal.reader(from: journal.firstSequence)).last?.sequence == 600)
        try journal.close()
        // Reopening finds a consistent journal starting later.
        let (reopened, report) = try Journal.open(directory: dir.path, options: options)
        #expect(report.isClean && report.firstSequence == reopened.firstSequence)
        try reopened.close()
    }

    @Test func retentionByAgeRemovesOldSegmentsOnRoll() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = smallOptions()
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        options.retention = JournalRetention(maximumAge: .seconds(3600))
        let (journal, _) = try Journal.open(directory: dir.path, options: options)
        // Old records (two hours ago) then new ones; rolling applies retention.
        var old = TestPattern.records(1...200)
        for i in old.indices { old[i].recordedTime = now - 7_200_000_000 }
        try appendInBatches(journal, old)
        var new = TestPattern.records(201...400)
        for i in new.indices { new[i].recordedTime = now }
        for chunk in stride(from: 0, to: 200, by: 20) { try journal.append(new[chunk..<(chunk + 20)]) }
        #expect(journal.firstSequence > 150)
        #expect(try readAll(journal.reader(from: journal.firstSequence)).allSatisfy {
            $0.sequence > 200 || $0.sequence >= journal.firstSequence
        })
        let stats = try JournalInspector.statistics(directory: dir.path)
        #expect(stats.lastSequence == 400)
        try journal.close()
    }
}
