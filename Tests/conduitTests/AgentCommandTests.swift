import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import Testing

/// `conduit publish` and `conduit agent` as a user runs them, against a live broker.
@Suite(.timeLimit(.minutes(10))) struct AgentCommandTests {
    /// What clients stored in the journal (not the plan the broker states first).
    static func journal(_ directory: String) throws -> [Event] { try JournalContents.clientEvents(in: directory) }

    /// Given several brokers (a hub whose brokers stand by for each other), `publish` and `agent` find the one that
    /// listens: here the first endpoint has nothing behind it, as a broker standing by.
    @Test func severalBrokersTheOneThatListensAnswers() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let nobody = "tcp://127.0.0.1:\(try Browser.freePort())"
        let published = try ChildProcess.conduit([
            "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
            "--percent", "45", "--id", "p-1", "--time", "2023-06-01T08:00:00+08:00", "--ingest", "\(nobody),\(broker.endpoints.ingest)",
            "--outbox", outbox.path,
        ])
        #expect(published.status == 0, "\(published.errors)")
        #expect(published.output.contains("acknowledged /power-supply-bureau/cli p-1: sequence 2\n"), "\(published.output)")
        #expect(!published.errors.contains("built-in plan"), "the plan came from the broker that listens: \(published.errors)")
        let empty = try ChildProcess.conduit([
            "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
            "--percent", "45", "--id", "p-2", "--ingest", "\(broker.endpoints.ingest),", "--outbox", outbox.path,
        ])
        #expect(empty.status == 64)
        #expect(empty.errors.contains("--ingest needs an endpoint, or several separated by commas"), "\(empty.errors)")
        broker.stop()
    }

    @Test func publishPrintsTheSequenceAndRecordsNoPresence() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let published = try ChildProcess.conduit([
            "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
            "--percent", "45", "--id", "p-1", "--time", "2023-06-01T08:00:00+08:00", "--ingest", broker.endpoints.ingest,
            "--outbox", outbox.path,
        ])
        #expect(published.status == 0, "\(published.errors)")
        #expect(published.output.contains("acknowledged /power-supply-bureau/cli p-1: sequence 2\n"), "sequence 1 is the broker's plan")
        // The same event again is a resend: acknowledged with its original sequence, stored once.
        let again = try ChildProcess.conduit([
            "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
            "--percent", "45", "--id", "p-1", "--time", "2023-06-01T08:00:00+08:00", "--ingest", broker.endpoints.ingest,
            "--outbox", outbox.path,
        ])
        #expect(again.status == 0)
        #expect(again.output.contains("sequence 2 (the broker had it already)"))
        broker.stop()
        let events = try Self.journal(broker.directory.appending("journal"))
        #expect(events.map(\.id) == ["p-1"])
        guard case .progress(let report) = events.first?.data else { Issue.record("expected progress"); return }
        #expect(report.status == .inProgress && report.percent == 45)
        #expect(events.first?.site == "ganjiaba" && events.first?.utility == .power)
    }

    @Test func anInvalidEventIsRefusedWithItsReasonAndNothingIsStored() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let outcome = try ChildProcess.conduit([
            "publish", "outage", "--org", "water-investment-company", "--site", "ruijing-biyuan", "--service", "water",
            "--status", "noticed", "--window-start", "2023-07-03T17:00:00+08:00", "--window-end", "2023-07-03T09:00:00+08:00",
            "--ingest", broker.endpoints.ingest, "--outbox", outbox.path,
        ])
        #expect(outcome.status == 65)
        #expect(outcome.errors.contains("data.windowEnd"))
        let unknownBuilding = try ChildProcess.conduit([
            "publish", "outage", "--org", "water-investment-company", "--site", "ruijing-biyuan", "--service", "water",
            "--status", "noticed", "--window-start", "2023-07-03T09:00:00+08:00", "--window-end", "2023-07-03T17:00:00+08:00",
            "--buildings", "b99", "--ingest", broker.endpoints.ingest, "--outbox", outbox.path,
        ])
        #expect(unknownBuilding.status == 65)
        #expect(unknownBuilding.errors.contains("scenario.building"))
        broker.stop()
        #expect(try Self.journal(broker.directory.appending("journal")).isEmpty)
    }

    @Test func anEventStoredWhileTheBrokerIsDownIsSentByTheNextRun() throws {
        let data = TemporaryDirectory()
        let first = try TestBroker(directory: data)
        let ingest = first.endpoints.ingest
        first.stop()
        let outbox = TemporaryDirectory()
        let arguments = [
            "--org", "water-investment-company", "--work-item", "ruijing-biyuan-water", "--status", "performed",
            "--inspection-kind", "water_acceptance", "--authority", "water-investment-company", "--result", "conditional",
            "--defect", "d1:minor::valve label missing", "--ingest", ingest, "--outbox", outbox.path,
        ]
        let stored = try ChildProcess.conduit(["publish", "inspection", "--id", "i-1", "--timeout", "0.5"] + arguments)
        #expect(stored.status == 75, "\(stored.errors)")
        #expect(stored.errors.contains("stored in"))
        let second = try TestBroker(directory: data) { $0.ingestEndpoint = ingest }
        let sent = try ChildProcess.conduit(["publish", "inspection", "--id", "i-2"] + arguments)
        #expect(sent.status == 0, "\(sent.errors)")
        #expect(sent.errors.contains("also delivered 1 event(s) stored by an earlier run"))
        second.stop()
        #expect(try Self.journal(data.appending("journal")).map(\.id) == ["i-1", "i-2"])
    }

    @Test func theAgentForwardsLinesAndReportsTheBadOnes() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let lines = [
            SampleEvents.progressJSON(id: "l-1", source: "/power-supply-bureau/agent"),
            SampleEvents.progressJSON(id: "l-2", source: "/power-supply-bureau/agent"),
            #"{"specversion":"1.0","id":"broken""#,
            SampleEvents.progressJSON(id: "l-4", percent: 150, source: "/power-supply-bureau/agent"),
            SampleEvents.progressJSON(id: "l-5", source: "/power-supply-bureau/agent"),
        ]
        let outcome = try ChildProcess.conduit(
            ["agent", "--org", "power-supply-bureau", "--ingest", broker.endpoints.ingest, "--outbox", outbox.path],
            input: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(outcome.status == 65, "\(outcome.errors)")
        #expect(outcome.output.contains("rejected stdin:3"))
        #expect(outcome.output.contains("rejected stdin:4") && outcome.output.contains("data.range"))
        for id in ["l-1", "l-2", "l-5"] { #expect(outcome.output.contains("acknowledged \(id): sequence")) }
        #expect(outcome.errors.contains("acknowledged 3"))
        broker.stop()
        let events = try Self.journal(broker.directory.appending("journal"))
        #expect(events.filter { $0.kind == .progress }.map(\.id) == ["l-1", "l-2", "l-5"])
        // The agent announced itself and said goodbye: a birth and a death.
        let presence = events.compactMap { event -> PresenceStatus? in
            if case .presence(let report) = event.data { return report.status } else { return nil }
        }
        #expect(presence == [.birth, .death])
    }

    @Test func theAgentForwardsFilesDroppedInAWatchedDirectory() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let spool = TemporaryDirectory()
        let agent = try RunningConduit([
            "agent", "--org", "power-supply-bureau", "--agent", "spool", "--watch-dir", spool.path, "--ingest", broker.endpoints.ingest,
            "--outbox", outbox.path,
        ])
        let lines = [
            SampleEvents.progressJSON(id: "f-1", source: "/power-supply-bureau/spool"),
            SampleEvents.progressJSON(id: "f-2", percent: 101, source: "/power-supply-bureau/spool"),
            SampleEvents.progressJSON(id: "f-3", source: "/power-supply-bureau/spool"),
        ]
        // Written under another name, then renamed: the agent only takes complete *.jsonl files.
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: spool.appending("batch-1.tmp")))
        try FileManager.default.moveItem(atPath: spool.appending("batch-1.tmp"), toPath: spool.appending("batch-1.jsonl"))
        #expect(Poll.until(120) { FileManager.default.fileExists(atPath: spool.appending("batch-1.jsonl.done")) }, "\(agent.errors.all)")
        #expect(Poll.until(120) { agent.output.all.contains("acknowledged f-3") }, "\(agent.output.all)")
        let rejected = try String(contentsOfFile: spool.appending("batch-1.jsonl.rejected"), encoding: .utf8)
        #expect(rejected.contains("line 2") && rejected.contains("data.range"))
        agent.signal(SIGINT)
        #expect(agent.finish() != nil)
        broker.stop()
        #expect(try Self.journal(broker.directory.appending("journal")).filter { $0.kind == .progress }.map(\.id) == ["f-1", "f-3"])
    }

    /// A watched directory is a place others write to: links, FIFOs and devices named *.jsonl are skipped, not
    /// followed or read for ever; a huge file of bad lines and a line without end make a bounded report; Ctrl-C ends it.
    @Test func aWatchedDirectoryTakesOnlyRegularFilesAndBoundsWhatItKeeps() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let spool = TemporaryDirectory()
        let outside = TemporaryDirectory()
        let secret = outside.appending("secret.txt")
        try Data("top secret line\n".utf8).write(to: URL(fileURLWithPath: secret))
        try FileManager.default.createSymbolicLink(atPath: spool.appending("link.jsonl"), withDestinationPath: secret)
        #expect(mkfifo(spool.appending("fifo.jsonl"), 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: spool.appending("zero.jsonl"), withDestinationPath: "/dev/zero")
        // 400,000 bad 12-byte lines, then a line of 8 MiB with no end, written before the agent starts.
        var junk = Data(capacity: 400_000 * 12 + (8 << 20))
        for _ in 0..<400_000 { junk.append(contentsOf: Array("not-json-ok\n".utf8)) }
        junk.append(Data(repeating: UInt8(ascii: "x"), count: 8 << 20))
        try junk.write(to: URL(fileURLWithPath: spool.appending("a-junk.jsonl")))
        let valid = SampleEvents.progressJSON(id: "v-1", source: "/power-supply-bureau/spool") + "\n"
        try Data(valid.utf8).write(to: URL(fileURLWithPath: spool.appending("b-valid.jsonl")))
        // Old enough to be taken at once.
        for name in ["a-junk.jsonl", "b-valid.jsonl"] {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: spool.appending(name))
        }

        let agent = try RunningConduit([
            "agent", "--org", "power-supply-bureau", "--agent", "spool", "--watch-dir", spool.path, "--ingest", broker.endpoints.ingest,
            "--outbox", outbox.path, "--quiet",
        ])
        #expect(Poll.until(120) { agent.output.all.contains("acknowledged v-1") || FileManager.default.fileExists(atPath: spool.appending("b-valid.jsonl.done")) }, "\(agent.errors.all)")
        #expect(Poll.until(120) { FileManager.default.fileExists(atPath: spool.appending("a-junk.jsonl.done")) }, "\(agent.errors.all)")
        let report = try Data(contentsOf: URL(fileURLWithPath: spool.appending("a-junk.jsonl.rejected")))
        #expect(report.count < 512 << 10, "the report is \(report.count) bytes")
        let text = String(decoding: report, as: UTF8.self)
        #expect(text.contains("more rejected line(s)"))
        #expect(agent.errors.all.contains("a-junk.jsonl: forwarded, 400001 line(s) rejected"), "\(agent.errors.all)")
        for name in ["link.jsonl", "fifo.jsonl", "zero.jsonl"] {
            #expect(agent.errors.all.contains("\(name): not a regular file"), "\(name): \(agent.errors.all)")
            #expect(!FileManager.default.fileExists(atPath: spool.appending(name + ".rejected")))
        }
        // What the agent wrote there: the regular files (the links and the FIFO are the test's own).
        let everything = try FileManager.default.contentsOfDirectory(atPath: spool.path).filter {
            (try? FileManager.default.attributesOfItem(atPath: spool.appending($0))[.type] as? FileAttributeType) == .typeRegular
        }.compactMap { try? String(contentsOfFile: spool.appending($0), encoding: .utf8) }.joined()
        #expect(!everything.contains("top secret"), "nothing of the linked file came in")
        agent.signal(SIGINT)
        #expect(agent.finish() != nil, "Ctrl-C ends it")
        broker.stop()
    }
}
