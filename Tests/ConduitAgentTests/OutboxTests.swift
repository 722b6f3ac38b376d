import ConduitCore
import ConduitTesting
import Foundation
import Testing

@testable import ConduitAgent

@Suite struct OutboxTests {
    static func record(_ number: Int) -> (source: String, id: String, json: [UInt8]) {
        ("/power-supply-bureau/agent-1", "e-\(number)", SampleEvents.progress(id: "e-\(number)"))
    }

    @Test func pendingEntriesAndTheCursorSurviveReopening() throws {
        let directory = TemporaryDirectory()
        do {
            let outbox = try Outbox(directory: directory.path)
            let entries = try outbox.enqueue((1...5).map(Self.record), cursor: 42)
            #expect(entries.map(\.number) == [1, 2, 3, 4, 5])
            try outbox.markDone(2, .acknowledged)
            try outbox.markDone(4, .rejected)
            try outbox.markDone(4, .acknowledged)  // already done: ignored
        }
        let reopened = try Outbox(directory: directory.path)
        #expect(reopened.pending.map(\.number) == [1, 3, 5])
        #expect(reopened.pending.map(\.id) == ["e-1", "e-3", "e-5"])
        #expect(reopened.pending.first?.event == SampleEvents.progress(id: "e-1"))
        #expect(reopened.cursor == 42)
        #expect(reopened.tornTailBytes == 0)
        // Numbers keep increasing across runs.
        #expect(try reopened.enqueue([Self.record(6)]).map(\.number) == [6])
    }

    @Test func aTornTailIsDroppedAndTheRestKept() throws {
        let directory = TemporaryDirectory()
        do {
            let outbox = try Outbox(directory: directory.path)
            try outbox.enqueue((1...3).map(Self.record), cursor: 3)
        }
        let path = directory.appending("outbox.log")
        let intact = try Data(contentsOf: URL(fileURLWithPath: path))
        // A crash in the middle of the next write: half a record at the end.
        var torn = intact
        torn.append(contentsOf: [0, 0, 1, 0, 0xAB, 0xCD, 0xEF, 0x01, UInt8(ascii: "E"), 0, 0])
        try torn.write(to: URL(fileURLWithPath: path))
        let reopened = try Outbox(directory: directory.path)
        #expect(reopened.pending.map(\.id) == ["e-1", "e-2", "e-3"])
        #expect(reopened.tornTailBytes == 11)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == intact)
        try reopened.enqueue([Self.record(4)])
        reopened.close()
        #expect(try Outbox(directory: directory.path).pending.map(\.id) == ["e-1", "e-2", "e-3", "e-4"])
    }

    @Test func aDamagedRecordEndsTheFile() throws {
        let directory = TemporaryDirectory()
        do {
            let outbox = try Outbox(directory: directory.path)
            try outbox.enqueue((1...3).map(Self.record))
        }
        let path = directory.appending("outbox.log")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let recordLength = bytes.count / 3
        bytes[recordLength + 40] ^= 0xFF  // a bit flip inside the second record
        try bytes.write(to: URL(fileURLWithPath: path))
        let reopened = try Outbox(directory: directory.path)
        #expect(reopened.pending.map(\.id) == ["e-1"])
        #expect(reopened.tornTailBytes == bytes.count - recordLength)
    }

    @Test func compactionKeepsWhatIsPendingAndTheNumbering() throws {
        let directory = TemporaryDirectory()
        let path = directory.appending("outbox.log")
        let outbox = try Outbox(directory: directory.path)
        // Enough traffic to pass the 1 MiB compaction threshold, everything done.
        var number: UInt64 = 0
        for _ in 0..<40 {
            let entries = try outbox.enqueue((0..<100).map { Self.record($0) }, cursor: number)
            for entry in entries { try outbox.markDone(entry.number, .acknowledged) }
            number = entries.last!.number
        }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size < 1 << 20)
        #expect(outbox.pendingCount == 0)
        outbox.close()
        let reopened = try Outbox(directory: directory.path)
        #expect(reopened.pendingCount == 0)
        #expect(reopened.cursor == number - 100)
        #expect(try reopened.enqueue([Self.record(1)]).map(\.number) == [number + 1])
    }

    /// Under steady traffic something is always pending; the file is still compacted and stays bounded.
    @Test func steadyTrafficDoesNotGrowTheFileWithoutBound() throws {
        let directory = TemporaryDirectory()
        let path = directory.appending("outbox.log")
        let outbox = try Outbox(directory: directory.path)
        var previous: OutboxEntry?
        var largest = 0
        for _ in 0..<400 {
            let entries = try outbox.enqueue((0..<100).map { Self.record($0) })
            if let previous { try outbox.markDone(previous.number, .acknowledged) }
            for entry in entries.dropLast() { try outbox.markDone(entry.number, .acknowledged) }
            previous = entries.last
            largest = max(largest, try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int)
        }
        #expect(largest < 9 << 20, "without compaction it would pass 14 MB")
        #expect(outbox.pending.map(\.number) == [previous!.number])
        outbox.close()
        let reopened = try Outbox(directory: directory.path)
        #expect(reopened.pending.map(\.number) == [previous!.number])
    }

    @Test func oneProcessAtATime() throws {
        let directory = TemporaryDirectory()
        let outbox = try Outbox(directory: directory.path)
        // flock is per open file description: a second open in this process conflicts like another process would.
        let error = #expect(throws: OutboxError.self) { try Outbox(directory: directory.path) }
        #expect(error?.message.contains("in use") == true)
        _ = outbox
    }

    /// The lock holds across compaction: a new log renamed over the old one once left the new file unlocked for a
    /// moment, and a process that had opened the old file could lock that.
    @Test func theLockHoldsAcrossCompaction() throws {
        let directory = TemporaryDirectory()
        let outbox = try Outbox(directory: directory.path)
        // Enough done records to compact (beyond 8 MiB and four times what is pending).
        var compacted = false
        let path = directory.appending("outbox.log")
        let inode = { (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int) ?? nil }
        let first = inode()
        let lockPath = directory.appending("outbox.lock")
        let lockInode = try FileManager.default.attributesOfItem(atPath: lockPath)[.systemFileNumber] as? Int
        for _ in 0..<400 where !compacted {
            let entries = try outbox.enqueue((0..<100).map { Self.record($0) })
            for entry in entries { try outbox.markDone(entry.number, .acknowledged) }
            compacted = inode() != first
        }
        #expect(compacted, "the log was replaced by compaction")
        #expect(try FileManager.default.attributesOfItem(atPath: lockPath)[.systemFileNumber] as? Int == lockInode,
            "the lock is on a file compaction never replaces")
        let error = #expect(throws: OutboxError.self) { try Outbox(directory: directory.path) }
        #expect(error?.message.contains("in use") == true)
        outbox.close()
        #expect(try Outbox(directory: directory.path).pendingCount == 0, "closed, it is free again")
    }

    @Test func anUnwritableDirectoryIsAClearError() {
        #expect(throws: OutboxError.self) { try Outbox(directory: "/proc/conduit-no-such/outbox") }
    }
}
