import ConduitTesting
import Foundation
import Synchronization
import Testing

@testable import ConduitJournal

/// `JournalBackup`: a copy of a journal taken while it is written, that is itself a sound journal ending at a record
/// boundary. The moments a live broker would pick by chance (an append, retention) are made to happen at fixed steps
/// of the backup through its observer.
@Suite(.timeLimit(.minutes(5))) struct JournalBackupTests {
    /// A journal of records 1...600 in small segments (several sealed, the newest being written), left open.
    func liveJournal(_ dir: TemporaryDirectory, options: JournalOptions = smallOptions()) throws -> Journal {
        let (journal, _) = try Journal.open(directory: dir.appending("journal"), options: options)
        try appendInBatches(journal, TestPattern.records(1...600))
        return journal
    }

    /// The first `count` bytes of a record frame, as a writer caught in mid-write leaves them.
    func partialFrame(_ sequence: UInt64, count: Int) -> [UInt8] {
        let record = TestPattern.record(sequence)
        var frame = [UInt8](repeating: 0, count: JournalFormat.recordHeaderLength + record.topic.count + record.event.count)
        frame.withUnsafeMutableBytes { p in
            record.topic.withUnsafeBytes { topic in
                record.event.withUnsafeBytes { event in
                    JournalFormat.encodeRecord(
                        into: p.baseAddress!, sequence: sequence, recordedTime: record.recordedTime, topic: topic, event: event)
                }
            }
        }
        return Array(frame.prefix(count))
    }

    func append(_ bytes: [UInt8], to path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: bytes)
    }

    func contents(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func names(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    // MARK: What a backup holds

    @Test func aBackupOfALiveJournalEndsAtTheLastCompleteRecordAndLeavesATornOneOut() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let journal = try liveJournal(dir)
        defer { try? journal.close() }
        let live = dir.appending("journal")
        let segments = TemporaryDirectory.segmentPaths(in: live)
        #expect(segments.count >= 4)
        // Half of record 601 at the end of the newest segment: a record being written.
        let torn = partialFrame(601, count: 40)
        try append(torn, to: segments.last!)
        let before = try journalFiles(live)

        let target = dir.appending("backup")
        let report = try JournalBackup.run(from: live, to: target)

        #expect(try journalFiles(live) == before, "the backup only reads the journal")
        #expect(report.firstSequence == 1 && report.lastSequence == 600 && report.records == 600)
        #expect(report.segments == segments.count)
        #expect(report.removedByRetention.isEmpty && report.rebuiltIndexes.isEmpty)
        let leftOut = try #require(report.leftOut)
        #expect(leftOut.path == segments.last! && leftOut.bytes == UInt64(torn.count) && leftOut.nextSequence == 601)

        // Sealed segments and their indexes byte for byte; the newest up to the end of record 600; nothing else.
        for (i, segment) in segments.enumerated() {
            let name = URL(fileURLWithPath: segment).lastPathComponent
            let copy = try contents(target + "/" + name)
            if i < segments.count - 1 {
                #expect(copy == (try contents(segment)))
                let index = name.replacingOccurrences(of: ".journal", with: ".index")
                #expect(try contents(target + "/" + index) == (try contents(live + "/" + index)))
            } else {
                #expect(copy == (try contents(segment)).prefix(Int(leftOut.offset)))
                #expect(!FileManager.default.fileExists(atPath: target + "/" + name.replacingOccurrences(of: ".journal", with: ".index")))
            }
        }
        #expect(names(target).filter { !$0.hasPrefix("segment-") } == [JournalBackupManifest.fileName])
        #expect(try journalRecords(target) == TestPattern.records(1...600))

        let verification = try JournalInspector.verify(directory: target)
        #expect(verification.isSound && verification.warnings.isEmpty, "\(verification.errors) \(verification.warnings)")
        #expect(verification.backup == report.manifest)
        #expect(report.manifest.files.count == 2 * segments.count - 1)

        // A journal opened on the backup continues the sequence, and the backup's manifest still holds.
        let (restored, recovery) = try Journal.open(directory: target, options: smallOptions())
        #expect(recovery.isClean && restored.nextSequence == 601)
        try appendInBatches(restored, TestPattern.records(601...900))
        try restored.close()
        #expect(try journalRecords(target) == TestPattern.records(1...900))
        let continued = try JournalInspector.verify(directory: target)
        #expect(continued.isSound && continued.warnings.isEmpty, "\(continued.errors) \(continued.warnings)")
    }

    @Test func appendsAfterTheNewestSegmentIsReadAreNotInTheBackup() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let journal = try liveJournal(dir)
        defer { try? journal.close() }
        let live = dir.appending("journal")
        let newestAtStart = try #require(try Journal.segmentSequences(in: live).last)
        let headAtStart = journal.lastSequence

        var options = JournalBackupOptions()
        var endSeen: UInt64?
        var appendedWhileCopying = false
        options.observe = { step in
            switch step {
            case .openingSegment(let first) where first == newestAtStart && !appendedWhileCopying:
                // Before the backup reaches the newest segment, the journal grows past it: the segment it was about to
                // read as the newest is sealed and copied whole, and the backup goes on into the new ones.
                appendedWhileCopying = true
                try? appendInBatches(journal, TestPattern.records(601...700))
            case .newestSegmentRead(_, let last):
                endSeen = last
                // After the newest segment was read, appends are beyond the backup's end.
                try? appendInBatches(journal, TestPattern.records(701...800))
            default: break
            }
        }
        let target = dir.appending("backup")
        let report = try JournalBackup.run(from: live, to: target, options: options)

        #expect(appendedWhileCopying && journal.lastSequence == 800)
        #expect(try Journal.segmentSequences(in: live).last! > newestAtStart, "the appends rolled to a new segment")
        #expect(endSeen == 700 && report.lastSequence == 700 && report.lastSequence >= headAtStart)
        #expect(report.leftOut == nil)
        #expect(try journalRecords(target) == TestPattern.records(1...700))
        #expect(Array(try journalRecords(live).prefix(700)) == (try journalRecords(target)))
        let verification = try JournalInspector.verify(directory: target)
        #expect(verification.isSound && verification.warnings.isEmpty, "\(verification.errors) \(verification.warnings)")
    }

    @Test func retentionRemovingTheOldestSegmentBeforeTheBackupHoldsItMakesTheBackupStartAtTheNext() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try liveJournal(dir).close()
        let live = dir.appending("journal")
        // The same journal under an age limit that, applied at the moment the test chooses, removes the first segment.
        var options = smallOptions()
        options.retention = JournalRetention(maximumAge: .seconds(3600))
        let (journal, _) = try Journal.open(directory: live, options: options)
        defer { try? journal.close() }
        let firsts = try Journal.segmentSequences(in: live)
        let endOfFirst = firsts[1] - 1
        let removesTheFirst = TestPattern.time(endOfFirst) + 3_600_000_000 + 1
        let removesEverySealed = TestPattern.time(600) + 3_600_000_000 + 1

        var backupOptions = JournalBackupOptions()
        var opened: [UInt64] = []
        var removedBefore: [String] = []
        var removedWhileHeld: [String]?
        backupOptions.observe = { step in
            guard case .openingSegment(let first) = step else { return }
            opened.append(first)
            if opened.count == 1 {
                removedBefore = (try? journal.enforceRetention(now: removesTheFirst)) ?? []
            } else if first == firsts[2] {
                // The backup holds the second segment now: retention cannot remove it, nor anything after it.
                removedWhileHeld = try? journal.enforceRetention(now: removesEverySealed)
            }
        }
        let target = dir.appending("backup")
        let report = try JournalBackup.run(from: live, to: target, options: backupOptions)

        #expect(removedBefore == [live + "/" + JournalFormat.segmentFileName(firstSequence: 1)])
        #expect(removedWhileHeld == [])
        #expect(opened.prefix(3) == [1, firsts[1], firsts[2]])
        #expect(report.removedByRetention == [1])
        #expect(report.firstSequence == firsts[1] && report.lastSequence == 600)
        #expect(try readAll(JournalReader.open(directory: target, from: firsts[1])) == TestPattern.records(firsts[1]...600))
        let verification = try JournalInspector.verify(directory: target)
        #expect(verification.isSound && verification.warnings.isEmpty, "\(verification.errors) \(verification.warnings)")
        // Once the backup is done, retention goes on.
        #expect(try journal.enforceRetention(now: removesEverySealed).count == firsts.count - 2)
    }

    // MARK: What a backup refuses

    @Test func aDamagedLiveJournalIsNotBackedUpAndNothingIsLeft() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try liveJournal(dir).close()
        let live = dir.appending("journal")
        let segments = TemporaryDirectory.segmentPaths(in: live)

        // Damage in the middle of the newest segment, with valid records after it: not a record being written.
        try flipBit(path: segments.last!, offset: UInt64(JournalFormat.segmentHeaderLength + 10))
        #expect {
            try JournalBackup.run(from: live, to: dir.appending("newest"))
        } throws: { ($0 as? JournalError)?.code == .corrupt && ($0 as? JournalError)?.path == segments.last! }
        #expect(!FileManager.default.fileExists(atPath: dir.appending("newest")))
        try flipBit(path: segments.last!, offset: UInt64(JournalFormat.segmentHeaderLength + 10))

        // Damage in a sealed segment.
        try flipBit(path: segments[1], offset: 3000)
        let empty = dir.appending("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        #expect {
            try JournalBackup.run(from: live, to: empty)
        } throws: { ($0 as? JournalError)?.code == .corrupt && ($0 as? JournalError)?.path == segments[1] }
        #expect(names(empty).isEmpty, "an empty target given is left empty")
    }

    @Test func noJournalANonEmptyTargetAndTheTargetInsideTheJournalAreRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try liveJournal(dir).close()
        let live = dir.appending("journal")
        #expect {
            try JournalBackup.run(from: dir.appending("nothing"), to: dir.appending("a"))
        } throws: { ($0 as? JournalError)?.code == .notAJournal }
        try FileManager.default.createDirectory(atPath: dir.appending("no-segments"), withIntermediateDirectories: false)
        #expect {
            try JournalBackup.run(from: dir.appending("no-segments"), to: dir.appending("a"))
        } throws: { ($0 as? JournalError)?.code == .notAJournal }
        #expect(!FileManager.default.fileExists(atPath: dir.appending("a")))

        let occupied = dir.appending("occupied")
        try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: occupied + "/notes.txt", contents: Data("keep".utf8))
        #expect {
            try JournalBackup.run(from: live, to: occupied)
        } throws: { ($0 as? JournalError)?.code == .targetExists }
        #expect(names(occupied) == ["notes.txt"])
        #expect {
            try JournalBackup.run(from: live, to: live + "/backup")
        } throws: { ($0 as? JournalError)?.code == .invalidArgument }
        #expect(!FileManager.default.fileExists(atPath: live + "/backup"))
    }

    @Test func aFullDiskRemovesWhatWasCopied() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try liveJournal(dir).close()
        let live = dir.appending("journal")
        // The disk fills after 20,000 bytes: in the middle of the third segment.
        final class Disk: Sendable { let written = Atomic<Int>(0) }
        let disk = Disk()
        var options = JournalBackupOptions()
        options.fileIO = JournalFileIO(
            write: { fd, buffer, offset in
                let room = 20_000 - disk.written.load(ordering: .relaxed)
                guard room > 0 else { return -Int(ENOSPC) }
                let n = JournalFileIO.system.write(fd, UnsafeRawBufferPointer(rebasing: buffer.prefix(room)), offset)
                if n > 0 { disk.written.add(n, ordering: .relaxed) }
                return n
            }, sync: JournalFileIO.system.sync)
        let target = dir.appending("deep/backup")
        #expect {
            try JournalBackup.run(from: live, to: target, options: options)
        } throws: { error in
            guard let error = error as? JournalError else { return false }
            return error.code == .ioFailed && error.errno == ENOSPC && error.path?.hasPrefix(target) == true
        }
        #expect(disk.written.load(ordering: .relaxed) == 20_000)
        #expect(!FileManager.default.fileExists(atPath: target), "the target the backup made is removed")
    }

    @Test func aStoppedBackupRemovesWhatItCopied() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try liveJournal(dir).close()
        var options = JournalBackupOptions()
        var blocks = 0
        options.observe = { if case .copied = $0 { blocks += 1 } }
        options.shouldStop = { blocks >= 3 }
        let target = dir.appending("backup")
        #expect {
            try JournalBackup.run(from: dir.appending("journal"), to: target, options: options)
        } throws: { ($0 as? JournalError)?.code == .interrupted }
        #expect(blocks == 3)
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    // MARK: Companions

    @Test func companionsAreCopiedBeforeTheJournalWithoutReplacementsInProgress() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let journal = try liveJournal(dir)
        defer { try? journal.close() }
        let state = dir.appending("journal.state")
        try FileManager.default.createDirectory(atPath: state + "/fold-1-default", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: state + "/fold-1-default/state-250-17.json", contents: Data("{\"a\":1}".utf8))
        FileManager.default.createFile(atPath: state + "/fold-1-default/.state-500-18.json.replacing", contents: Data("{\"a".utf8))
        let aggregator = dir.appending("aggregator.checkpoint")
        FileManager.default.createFile(atPath: aggregator, contents: Data("{\"lastSequence\":590}".utf8))

        var options = JournalBackupOptions()
        options.companions = [
            JournalBackupCompanion(source: state, name: "state"),
            JournalBackupCompanion(source: aggregator, name: "aggregator.checkpoint"),
        ]
        var steps: [String] = []
        options.observe = { step in
            switch step {
            case .copied: if steps.last != "copied" { steps.append("copied") }
            case .openingSegment: if steps.last != "segment" { steps.append("segment") }
            case .newestSegmentRead: steps.append("end")
            }
        }
        let target = dir.appending("backup")
        let report = try JournalBackup.run(from: dir.appending("journal"), to: target, options: options)
        #expect(steps.prefix(2) == ["copied", "segment"], "companions first")
        #expect(report.companions.map(\.files) == [1, 1])
        #expect(try contents(target + "/state/fold-1-default/state-250-17.json") == Data("{\"a\":1}".utf8))
        #expect(names(target + "/state/fold-1-default") == ["state-250-17.json"])
        #expect(try contents(target + "/aggregator.checkpoint") == (try contents(aggregator)))
        let companions = report.manifest.files.filter { $0.kind == .companion }
        #expect(companions.map(\.name) == ["state/fold-1-default/state-250-17.json", "aggregator.checkpoint"])
        #expect(companions.map(\.source) == [state + "/fold-1-default/state-250-17.json", aggregator])
        #expect(try JournalInspector.verify(directory: target).isSound)

        // A companion altered after the backup is damage too.
        FileManager.default.createFile(atPath: target + "/aggregator.checkpoint", contents: Data("{\"lastSequence\":591}".utf8))
        let altered = try JournalInspector.verify(directory: target)
        #expect(!altered.isSound && altered.errors.map(\.path) == [target + "/aggregator.checkpoint"])
    }

    // MARK: The manifest

    @Test func theManifestCatchesWhatTheJournalsOwnChecksCannot() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try liveJournal(dir).close()
        let target = dir.appending("backup")
        _ = try JournalBackup.run(from: dir.appending("journal"), to: target)
        let segments = TemporaryDirectory.segmentPaths(in: target)
        let manifest = try contents(target + "/" + JournalBackupManifest.fileName)

        // The newest segment cut at a record boundary is a shorter, sound journal; only the manifest knows better.
        let newest = segments.last!
        let reader = try JournalReader.open(directory: target, from: 600)
        var lastLength: UInt64 = 0
        try reader.read(maxRecords: 1) { lastLength = UInt64($0.frameLength) }
        reader.close()
        let original = try contents(newest)
        try truncateFile(newest, to: UInt64(original.count) - lastLength)
        let truncated = try JournalInspector.verify(directory: target)
        #expect(!truncated.isSound)
        #expect(truncated.errors.map(\.path) == [newest])
        #expect(truncated.errors.first?.message.contains("truncated") == true)
        try FileManager.default.removeItem(atPath: target + "/" + JournalBackupManifest.fileName)
        #expect(try JournalInspector.verify(directory: target).isSound, "without the manifest, nothing looks wrong")
        try manifest.write(to: URL(fileURLWithPath: target + "/" + JournalBackupManifest.fileName))
        try original.write(to: URL(fileURLWithPath: newest))
        #expect(try JournalInspector.verify(directory: target).isSound)

        // A missing first segment looks like retention to the journal; the backup says it is missing.
        let first = try contents(segments[0])
        try FileManager.default.removeItem(atPath: segments[0])
        let missing = try JournalInspector.verify(directory: target)
        #expect(!missing.isSound && missing.errors.contains { $0.path == segments[0] && $0.message.contains("missing") })
        try first.write(to: URL(fileURLWithPath: segments[0]))

        // A flipped bit in an index is a warning to the journal, and damage to the backup.
        let index = segments[1].replacingOccurrences(of: ".journal", with: ".index")
        try flipBit(path: index, offset: 80)
        let flipped = try JournalInspector.verify(directory: target)
        #expect(!flipped.isSound && flipped.errors.map(\.path) == [index])
        #expect(flipped.errors.first?.message.contains("altered") == true)
        try flipBit(path: index, offset: 80)

        // An unfinished backup (the manifest written when it began) is damaged, even with no segment in place.
        let unfinished = JournalBackupManifest(complete: false, source: "/somewhere", startedMicros: 1_700_000_000_000_000)
        try Data(unfinished.encoded()).write(to: URL(fileURLWithPath: target + "/" + JournalBackupManifest.fileName))
        let cut = try JournalInspector.verify(directory: target)
        #expect(!cut.isSound && cut.errors.first?.message.contains("did not finish") == true)
        for segment in segments { try FileManager.default.removeItem(atPath: segment) }
        let nothing = try JournalInspector.verify(directory: target)
        #expect(!nothing.isSound && nothing.errors.count == 1)

        try Data("{\"format\": \"conduit-journal-backup/1\", \"complete\": tru".utf8)
            .write(to: URL(fileURLWithPath: target + "/" + JournalBackupManifest.fileName))
        #expect(try JournalInspector.verify(directory: target).errors.first?.message.contains("manifest damaged") == true)
    }

    @Test func aContinuedBackupIsCheckedAsAPrefixEvenAfterRetention() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try liveJournal(dir).close()
        let target = dir.appending("backup")
        let report = try JournalBackup.run(from: dir.appending("journal"), to: target)
        var options = smallOptions()
        options.retention = JournalRetention(maximumAge: .seconds(3600))
        let (journal, _) = try Journal.open(directory: target, options: options)
        // The records are from 2023: retention, applied as each new segment starts, removes the backup's segments.
        try appendInBatches(journal, TestPattern.records(601...800))
        try journal.close()
        #expect(!FileManager.default.fileExists(atPath: target + "/" + report.manifest.segments[0].name))
        let verification = try JournalInspector.verify(directory: target)
        #expect(verification.isSound, "\(verification.errors)")
        #expect(verification.backup == report.manifest)
    }

    @Test func theManifestReadsBackWhatWasWritten() throws {
        let manifest = JournalBackupManifest(
            complete: true, source: "/data/\"odd\"\\path/日志\u{01}", startedMicros: 1_700_000_000_123_456,
            finishedMicros: 1_700_000_001_000_000, firstSequence: 101, lastSequence: UInt64.max - 1,
            files: [
                .init(name: "segment-1.journal", kind: .segment, bytes: 4096, crc32c: 0xDEAD_BEEF, firstSequence: 101, lastSequence: 200),
                .init(name: "state/a.json", kind: .companion, bytes: 0, crc32c: 0, source: "/x/state/a.json"),
            ])
        let text = String(decoding: manifest.encoded(), as: UTF8.self)
        #expect(text.contains("\"started\": \"2023-11-14T22:13:20.123456Z\""))
        #expect(text.contains("\"crc32c\": \"deadbeef\""))
        #expect(try JournalBackupManifest.decode(manifest.encoded()) == manifest)
        // Foundation's reader agrees that it is JSON.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(manifest.encoded())) as? [String: Any])
        #expect(object["source"] as? String == manifest.source)
        #expect(ManifestJSON.iso8601(-1) == "1969-12-31T23:59:59.999999Z")
        #expect(ManifestJSON.iso8601(951_782_400_000_000) == "2000-02-29T00:00:00.000000Z")
    }
}
