import Foundation
import struct ConduitCore.SplitMix64
import Synchronization
import Testing
import enum ConduitTesting.ConduitExecutable
import class ConduitTesting.OutputCollector

@testable import ConduitJournal

/// Kills a writer process with SIGKILL at random moments, many times, and checks after each kill that every
/// record it reported durable is present and intact, that the journal is a clean prefix, and that appends
/// continue with the next sequence.
@Suite(.timeLimit(.minutes(1))) struct CrashConsistencyTests {
    @Test func sigkillAtRandomMomentsLosesNoDurableRecord() throws {
        let executable = try ConduitExecutable.url()
        let dir = TemporaryDirectory("crash")
        defer { dir.remove() }
        var random = SplitMix64(seed: 0xC0DE_F00D)
        var reportedDurable: UInt64 = 0
        var kills = 0
        var truncations = 0
        var checkedThrough: UInt64 = 0
        let started = Date()
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
            // Kill at a random moment: during recovery, between batches, mid-write, mid-fdatasync, mid-roll.
            usleep(useconds_t(10_000 + random.next() % 140_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            kills += 1
            let deadline = Date().addingTimeInterval(5)
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
            reportedDurable = max(reportedDurable, durableInRound.last ?? 0)

            // Every other round, also lose part of what was written after the last reported durable sequence, as a
            // machine crash may: cut the newest segment inside the records that were never reported durable.
            if round % 2 == 1, let last = dir.segmentPaths().last,
                let lastFirst = JournalFormat.firstSequence(ofSegmentFileName: URL(fileURLWithPath: last).lastPathComponent),
                lastFirst <= reportedDurable + 1
            {
                let reader = try JournalReader.open(directory: dir.path, from: reportedDurable + 1)
                var undurableBytes = 0
                try reader.read { undurableBytes += $0.frameLength }
                reader.close()
                if undurableBytes > 1 {
                    try truncateFile(last, to: fileSize(last) - UInt64(1 + Int(random.next() % UInt64(undurableBytes - 1))))
                }
            }

            // Reopen here: every durable record present and intact, a clean prefix, appends go on.
            let (journal, report) = try Journal.open(directory: dir.path, options: smallOptions(segmentSize: 256 << 10))
            #expect(report.problems.isEmpty, "round \(round): \(report)")
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
        #expect(truncations > 0, "no round produced a torn tail to recover")
        #expect(reportedDurable > 1000, "the child made too little progress to test anything")
        #expect(Date().timeIntervalSince(started) < 40)
    }
}

