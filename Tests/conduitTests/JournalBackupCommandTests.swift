import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import Synchronization
import Testing
import ZeroMQ

/// `conduit journal backup` as an operator runs it: against a live broker while an agent publishes, then checked by
/// `conduit journal verify` and opened by `conduit broker`.
@Suite(.timeLimit(.minutes(5))) struct JournalBackupCommandTests {
    /// An agent that publishes one event after the other, each once acknowledged, until it is told to stop.
    final class Publisher: Sendable {
        let acknowledged = Atomic<Int>(0)
        let lastSequence = Atomic<UInt64>(0)
        let stopping = Atomic<Bool>(false)
        let finished = Atomic<Bool>(false)
        let failure = Mutex<String?>(nil)

        init(endpoint: String) {
            Thread.detachNewThread { [self] in
                defer { finished.store(true, ordering: .releasing) }
                do {
                    let context = try Context()
                    let agent = try TestClient(context: context, endpoint: endpoint)
                    var count = 0
                    while !stopping.load(ordering: .acquiring) {
                        count += 1
                        guard case .ack(let ack) = try agent.publishAndWait(
                            SampleEvents.progress(id: "backup-\(count)", percent: count % 100), correlation: UInt64(count))
                        else { throw TestClientError("event \(count) was not acknowledged") }
                        lastSequence.store(ack.sequence, ordering: .releasing)
                        acknowledged.store(count, ordering: .releasing)
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
            }
        }

        /// Waits until `count` events in all were acknowledged.
        func waitFor(_ count: Int) -> Bool {
            Poll.until(120) { acknowledged.load(ordering: .acquiring) >= count || finished.load(ordering: .acquiring) }
                && acknowledged.load(ordering: .acquiring) >= count
        }

        func stop() {
            stopping.store(true, ordering: .releasing)
            _ = Poll.until(120) { finished.load(ordering: .acquiring) }
        }
    }

    func manifest(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + JournalBackupManifest.fileName))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func aBackupOfALiveBrokerIsASoundPrefixThatABrokerContinues() throws {
        let directory = TemporaryDirectory()
        // Small segments, so that the backup copies several sealed segments and the one being written.
        let broker = try TestBroker(directory: directory) { $0.journal.segmentSize = 16 << 10 }
        defer { broker.stop() }
        let live = directory.appending("journal")
        let publisher = Publisher(endpoint: broker.endpoints.ingest)
        defer { publisher.stop() }

        #expect(publisher.waitFor(200), "\(publisher.failure.withLock { $0 } ?? "")")
        let headBefore = publisher.lastSequence.load(ordering: .acquiring)
        let backup = directory.appending("backup")
        let run = try ChildProcess.conduit(["journal", "backup", "--dir", live, "--to", backup])
        // The agent keeps publishing after the backup: at least 50 more events.
        let afterBackup = publisher.acknowledged.load(ordering: .acquiring)
        #expect(publisher.waitFor(afterBackup + 50))
        publisher.stop()
        #expect(publisher.failure.withLock { $0 } == nil, "\(publisher.failure.withLock { $0 } ?? "")")
        #expect(run.status == 0, "\(run.output)\(run.errors)")
        #expect(run.output.contains("backup of "), "\(run.output)")

        let verify = try ChildProcess.conduit(["journal", "verify", "--dir", backup])
        #expect(verify.status == 0, "\(verify.output)\(verify.errors)")
        #expect(verify.output.contains("journal is sound"))
        #expect(verify.output.contains("checked against backup.json"))

        // A contiguous prefix 1...k of the live journal, k at least the head before the backup began, the same records
        // byte for byte; each copied segment is the live one, or the start of it.
        let k = try #require((try manifest(backup)["lastSequence"] as? NSNumber)?.uint64Value)
        #expect(k >= headBefore)
        let copied = try journalRecords(backup)
        let liveRecords = try journalRecords(live)
        #expect(copied.map(\.sequence) == Array(1...k))
        #expect(liveRecords.count > copied.count, "the live journal went on past the backup")
        #expect(Array(liveRecords.prefix(copied.count)) == copied)
        let segments = TemporaryDirectory.segmentPaths(in: backup)
        #expect(segments.count >= 3)
        for segment in segments {
            let name = URL(fileURLWithPath: segment).lastPathComponent
            let mine = try Data(contentsOf: URL(fileURLWithPath: segment))
            let theirs = try Data(contentsOf: URL(fileURLWithPath: live + "/" + name))
            #expect(segment == segments.last ? theirs.starts(with: mine) : theirs == mine, "\(name)")
        }

        // A broker started on the backup continues its sequence.
        let restored = try BrokerProcess(journalDirectory: backup)
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: restored.ingest)
        guard case .ack(let ack) = try agent.publishAndWait(SampleEvents.progress(id: "after-restore"), correlation: 1) else {
            Issue.record("the restored broker did not acknowledge the event")
            return
        }
        #expect(ack.sequence == k + 1)
        restored.stop(signal: SIGTERM)
        #expect(restored.process.terminationStatus == 0)
        // The backup's manifest still holds for what the restored broker appended to.
        #expect(try ChildProcess.conduit(["journal", "verify", "--dir", backup]).status == 0)
    }

    /// A journal of records 1...300 in small segments, closed.
    func makeJournal(_ path: String) throws {
        let (journal, _) = try Journal.open(directory: path, options: smallOptions())
        try appendInBatches(journal, TestPattern.records(1...300))
        try journal.close()
    }

    @Test func aTruncatedOrAlteredBackupFailsVerify() throws {
        let directory = TemporaryDirectory()
        let live = directory.appending("journal")
        try makeJournal(live)
        for damage in ["truncate a sealed segment", "flip a byte of the newest segment", "cut the newest at a record"] {
            let backup = directory.appending("backup-\(damage.count)")
            let run = try ChildProcess.conduit(["journal", "backup", "--dir", live, "--to", backup])
            #expect(run.status == 0, "\(run.output)\(run.errors)")
            let segments = TemporaryDirectory.segmentPaths(in: backup)
            let damaged: String
            switch damage {
            case "truncate a sealed segment":
                damaged = segments[1]
                try truncateFile(damaged, to: fileSize(damaged) - 100)
            case "flip a byte of the newest segment":
                damaged = segments.last!
                try flipBit(path: damaged, offset: fileSize(damaged) - 10, bit: 3)
            default:
                damaged = segments.last!
                let reader = try JournalReader.open(directory: backup, from: 300)
                var length: UInt64 = 0
                try reader.read(maxRecords: 1) { length = UInt64($0.frameLength) }
                reader.close()
                try truncateFile(damaged, to: fileSize(damaged) - length)
            }
            let verify = try ChildProcess.conduit(["journal", "verify", "--dir", backup])
            #expect(verify.status == 1, "\(damage): \(verify.output)")
            #expect(verify.output.contains("journal is damaged"), "\(damage)")
            #expect(verify.output.contains("ERROR   \(damaged)"), "\(damage): \(verify.output)")
        }
    }

    @Test func whatCannotBeBackedUpSaysWhyWithItsExitStatus() throws {
        let directory = TemporaryDirectory()
        let live = directory.appending("journal")
        try makeJournal(live)

        let none = try ChildProcess.conduit(["journal", "backup", "--dir", directory.appending("nothing"), "--to", directory.appending("b")])
        #expect(none.status == 66)
        #expect(none.errors.contains("no journal at \(directory.appending("nothing"))"), "\(none.errors)")

        let occupied = directory.appending("occupied")
        try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: occupied + "/keep", contents: Data())
        let taken = try ChildProcess.conduit(["journal", "backup", "--dir", live, "--to", occupied])
        #expect(taken.status == 73)
        #expect(taken.errors.contains("not empty"), "\(taken.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: occupied) == ["keep"])

        let noCheckpoint = try ChildProcess.conduit([
            "journal", "backup", "--dir", live, "--to", directory.appending("b"), "--aggregator-checkpoint",
            directory.appending("missing.checkpoint"),
        ])
        #expect(noCheckpoint.status == 66)
        #expect(noCheckpoint.errors.contains("no aggregator checkpoint file at"), "\(noCheckpoint.errors)")

        // A damaged live journal is not copied.
        try flipBit(path: TemporaryDirectory.segmentPaths(in: live)[1], offset: 500)
        let damaged = try ChildProcess.conduit(["journal", "backup", "--dir", live, "--to", directory.appending("b")])
        #expect(damaged.status == 65)
        #expect(damaged.errors.contains("is damaged"), "\(damaged.errors)")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("b")))
    }
}
