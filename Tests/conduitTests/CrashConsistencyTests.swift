import ConduitTesting
import Foundation
import struct ConduitCore.SplitMix64
import Synchronization
import Testing

@testable import ConduitJournal

/// Kills a writer process with SIGKILL at random moments, many times, and checks after each kill that every
/// record it reported durable is present and intact, that the journal is a clean prefix, and that appends
/// continue with the next sequence.
///
/// Nothing here depends on where a kill happens to land or on how fast the machine is: every other round tears the
/// tail itself (as a machine crash may), so recovery from a torn tail is exercised in every run, and most rounds
/// kill only after the child has reported a durable batch, so the journal grows whatever the load.
@Suite(.timeLimit(.minutes(10))) struct CrashConsistencyTests {
    @Test func sigkillAtRandomMomentsLosesNoDurableRecord() throws {
        let executable = try ConduitExecutable.url()
        let dir = TemporaryDirectory(prefix: "crash")
        defer { dir.remove() }
        var random = SplitMix64(seed: 0xC0DE_F00D)
        var reportedDurable: UInt64 = 0
        var kills = 0
        var truncations = 0
        var checkedThrough: UInt64 = 0
        var roundsThatWrote = 0
        for round in 0..<24 {
            let process = Process()
            process.executableURL = executable
            process.arguments = [
                "journal", "append-test", "--dir", dir.path, "--seed", String(round), "--segment-size", String(256 << 10),
                // Some rounds write large batches, so that a kill can land inside one write.
                "--max-batch", round % 3 == 2 ? "2000" : "64",
            ]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            let collector = OutputCollector()
            collector.start(pipe.fileHandleForReading)
            try process.run()
            // Every fourth round kills at a random moment after the start (perhaps during recovery); the others wait
            // for a first durable batch, then kill at a random moment: between batches, mid-write, mid-fdatasync,
            // mid-roll. The wait's bound is only a safety net for a child that never writes.
            if round % 4 != 0 {
                let deadline = Date().addingTimeInterval(120)
                while !collector.lines().contains(where: { $0.hasPrefix("durable ") }) && !collector.finished
                    && Date() < deadline
                {
                    usleep(1000)
                }
            }
            usleep(useconds_t(random.next() % 100_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            kills += 1
            let deadline = Date().addingTimeInterval(120)
            while !collector.finished && Date() < deadline { usleep(1000) }

            let lines = collector.lines()
            var opened: UInt64?
            var durableInRound: [UInt64] = []
            for line in lines {
                if line.hasPrefix("open last=") {
                    opened = UInt64(line.dropFirst("open last=".count).prefix(while: { $0.isNumber }))
                } else if line.hasPrefix("durable ") {
                    durableInRound.append(UInt64(line.dropFirst("durable ".count))!)
                }
            }
            if let opened {
                // The child saw every record reported durable before, and went on with the next sequence.
                #expect(opened >= reportedDurable, "round \(round): reopened at \(opened), \(reportedDurable) was durable")
                if let first = durableInRound.first { #expect(first > opened) }
            }
            #expect(durableInRound == durableInRound.sorted())
            if !durableInRound.isEmpty { roundsThatWrote += 1 }
            reportedDurable = max(reportedDurable, durableInRound.last ?? 0)

            // Every other round, tear the tail as a machine crash may: cut the newest segment back inside the records
            // that were never reported durable, then leave a partial record after them.
            let tore = round % 2 == 1
            if tore { try tearTail(directory: dir.path, after: reportedDurable, random: &random) }

            // Reopen here: every durable record present and intact, a clean prefix, appends go on.
            let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 256 << 10))
            #expect(report.problems.isEmpty, "round \(round): \(report)")
            if tore { #expect(report.truncatedTail != nil, "round \(round): the torn tail was not recovered") }
            if report.truncatedTail != nil { truncations += 1 }
            #expect(journal.lastSequence >= reportedDurable, "round \(round): lost durable records")
            let reader = try journal.reader(from: 1)
            var expected: UInt64 = 1
            var intact = true
            // Every record's checksum and sequence is checked by the reader; records new since the last round
            // are also compared byte for byte with what the child wrote.
            try reader.read { record in
                if record.sequence != expected { intact = false }
                if expected > checkedThrough
                    && (record.recordedTime != TestPattern.time(expected)
                        || !record.topic.elementsEqual(TestPattern.topic(expected))
                        || !record.event.elementsEqual(TestPattern.event(expected)))
                {
                    intact = false
                }
                expected += 1
            }
            #expect(intact, "round \(round): a record differs from what was written")
            #expect(expected - 1 == journal.lastSequence)
            try journal.close()
            checkedThrough = journal.lastSequence
        }
        // One last clean run continues from the end.
        let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 256 << 10))
        #expect(report.isClean)
        let next = journal.nextSequence
        try journal.append([TestPattern.record(next)])
        try journal.close()
        #expect(try JournalInspector.verify(directory: dir.path).isSound)
        #expect(kills == 24)
        #expect(truncations >= 12, "every other round tears the tail")
        #expect(roundsThatWrote >= 18, "the rounds that wait for a durable batch")
    }

    /// Cuts the newest segment at a random record boundary among the records after `durable` (never reported
    /// durable, so a crash may lose them), then appends a prefix of the next record: a torn tail, whatever the kill did.
    private func tearTail(directory: String, after durable: UInt64, random: inout SplitMix64) throws {
        guard let last = TemporaryDirectory.segmentPaths(in: directory).last,
            let lastFirst = JournalFormat.firstSequence(ofSegmentFileName: URL(fileURLWithPath: last).lastPathComponent)
        else { return }
        var keptThrough = lastFirst - 1
        if lastFirst <= durable + 1 {
            let reader = try JournalReader.open(directory: directory, from: durable + 1)
            var frames: [(sequence: UInt64, length: Int)] = []
            try reader.read { frames.append(($0.sequence, $0.frameLength)) }
            reader.close()
            let keep = frames.isEmpty ? 0 : Int(random.next() % UInt64(frames.count + 1))
            let cut = frames[keep...].reduce(0) { $0 + $1.length }
            try truncateFile(last, to: fileSize(last) - UInt64(cut))
            keptThrough = keep > 0 ? frames[keep - 1].sequence : durable
        } else {
            // The newest segment begins after the durable records: keep everything the kill left in it.
            let reader = try JournalReader.open(directory: directory, from: lastFirst)
            try reader.read { keptThrough = $0.sequence }
            reader.close()
        }
        let next = TestPattern.record(keptThrough + 1)
        let length = JournalFormat.recordHeaderLength + next.topic.count + next.event.count
        var frame = [UInt8](repeating: 0, count: length)
        frame.withUnsafeMutableBytes { out in
            next.topic.withUnsafeBytes { topic in
                next.event.withUnsafeBytes { event in
                    JournalFormat.encodeRecord(
                        into: out.baseAddress!, sequence: next.sequence, recordedTime: next.recordedTime, topic: topic, event: event)
                }
            }
        }
        let handle = try #require(FileHandle(forWritingAtPath: last))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: frame[..<(1 + Int(random.next() % UInt64(length - 1)))])
    }
}

