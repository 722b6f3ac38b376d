import ConduitTesting
import Foundation
import Testing

@testable import ConduitJournal

/// `conduit journal verify | stats | dump`, run as the operator runs them.
@Suite(.timeLimit(.minutes(5))) struct JournalCommandTests {
    struct Run {
        var status: Int32
        var output: String
        var error: String
    }

    func conduit(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = try ConduitExecutable.url()
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            error: String(decoding: errorData, as: UTF8.self))
    }

    func makeJournal(_ dir: TemporaryDirectory) throws {
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
        var records = TestPattern.records(1...300)
        records[9].event = Array(#"{"type":"outage","data":{"households":42}}"#.utf8)
        try appendInBatches(journal, records)
        try journal.close()
    }

    @Test func verifyExitStatusSaysWhetherTheJournalIsSound() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try makeJournal(dir)
        let sound = try conduit(["journal", "verify", "--dir", dir.path])
        #expect(sound.status == 0, "\(sound.output)")
        #expect(sound.output.contains("300 record(s)"))

        let index = dir.segmentPaths()[0].replacingOccurrences(of: ".journal", with: ".index")
        try FileManager.default.removeItem(atPath: index)
        let warned = try conduit(["journal", "verify", "--dir", dir.path])
        #expect(warned.status == 2)
        #expect(warned.output.contains(index))

        try flipBit(path: dir.segmentPaths()[1], offset: 200)
        let damaged = try conduit(["journal", "verify", "--dir", dir.path])
        #expect(damaged.status == 1)
        #expect(damaged.output.contains(dir.segmentPaths()[1]))

        let missing = try conduit(["journal", "verify", "--dir", dir.appending("nothing-here")])
        #expect(missing.status != 0)
        #expect(missing.error.contains("no journal directory"))
    }

    @Test func dumpPrintsAWindowAsJSONLines() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try makeJournal(dir)
        let bySequence = try conduit(["journal", "dump", "--dir", dir.path, "--from-seq", "8", "--to-seq", "12"])
        #expect(bySequence.status == 0)
        let lines = bySequence.output.split(separator: "\n").map { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        #expect(lines.compactMap { $0?["sequence"] as? Int } == [8, 9, 10, 11, 12])
        let ten = try #require(lines[2])
        #expect((ten["event"] as? [String: Any])?["type"] as? String == "outage")
        #expect(ten["topic"] as? String == "test/3")
        #expect(ten["recordedTimeMicros"] as? Int == Int(TestPattern.time(10)))
        #expect(ten["recordedTime"] as? String == "2023-11-14T22:13:20.010000Z")
        #expect(lines[0]?["eventBase64"] != nil)

        let byTime = try conduit([
            "journal", "dump", "--dir", dir.path, "--since", "2023-11-14T22:13:20.250Z", "--until",
            String(TestPattern.time(253)),
        ])
        #expect(byTime.status == 0)
        #expect(byTime.output.split(separator: "\n").count == 3)
        #expect(byTime.output.hasPrefix(#"{"event"#) || byTime.output.contains(#""sequence":250"#))

        let stats = try conduit(["journal", "stats", "--dir", dir.path, "--json"])
        #expect(stats.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as? [String: Any])
        #expect(object["records"] as? Int == 300)
        #expect(object["firstSequence"] as? Int == 1 && object["lastSequence"] as? Int == 300)
        #expect(object["segments"] as? Int == dir.segmentPaths().count)
    }

    /// The dump shows each event's stored bytes: an id that is U+FEFF (a byte-order mark, which some JSON
    /// readers drop) comes out as stored, not as the empty string.
    @Test func dumpPrintsTheStoredBytesFaithfully() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (journal, _) = try Journal.open(directory: dir.path, options: smallOptions())
        let event = Array(#"{"id":"\#u{FEFF}","tab":"\t","type":"conduit.progress"}"#.utf8)
        try journal.append([JournalRecord(sequence: 1, recordedTime: 0, topic: Array("progress/-/-/".utf8), event: event)])
        try journal.close()
        let run = try conduit(["journal", "dump", "--dir", dir.path])
        #expect(run.status == 0, "\(run.error)")
        let line = try #require(run.output.split(separator: "\n").first)
        #expect(Array(line.utf8).starts(with: Array("{\"event\":".utf8) + event), "\(line)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(parsed["sequence"] as? Int == 1)
        #expect(parsed["topic"] as? String == "progress/-/-/")
    }
}
