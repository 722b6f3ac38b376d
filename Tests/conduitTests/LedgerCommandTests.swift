import ConduitCore
import ConduitReplay
import ConduitState
import ConduitTesting
import Testing
import ZeroMQ

/// `conduit ledger` on Story's journal: the table, CSV and JSON, at a moment, and a coordinator's acknowledgement.
@Suite(.timeLimit(.minutes(5))) struct LedgerCommandTests {
    static let overrun = "outage_overrun/ganjiaba/power/gjb-cut-1"

    @Test func conduitLedgerPrintsTheEntriesAsTableCSVOrJSON() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let selection = ["--dir", path, "--organisation", "power-supply-bureau", "--community", "ganjiaba", "--no-checkpoints"]

        let table = try ChildProcess.conduit(["ledger"] + selection + ["--status", "all", "--by", "organisation"])
        #expect(table.status == 0, "\(table.errors)")
        let lines = table.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "Ledger after sequence 11, as of 2023-10-05 16:00 (UTC+08:00): 5 entries, 3 conditions, 2 violations, 2 overdue")
        #expect(lines.contains { $0.contains("violation outage_overrun") && $0.contains("rectify by 2023-06-12") })

        let csv = try ChildProcess.conduit(["ledger"] + selection + ["--format", "csv", "--class", "violation"])
        #expect(csv.status == 0)
        #expect(csv.output.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 3, "a header and two violations")

        // As it was on 5 June at noon: the short notice only (the outage was not over yet).
        let json = try ChildProcess.conduit(["ledger"] + selection + ["--format", "json", "--at", "2023-06-05T12:00:00+08:00"])
        #expect(json.status == 0)
        let document = try JSONValue.parse(Array(json.output.utf8))
        guard case .array(let entries)? = document["entries"] else { throw LedgerCommandFailure() }
        #expect(entries.map { $0["key"] } == [.string("short_notice/ganjiaba/power/gjb-cut-1")])

        let bad = try ChildProcess.conduit(["ledger", "--dir", path, "--status", "pending"])
        #expect(bad.status == 64)
        #expect(bad.errors.contains("--status must be open, closed or all"))
    }

    /// A coordinator acknowledges the overrun with `conduit publish acknowledgement`; folded, the entry is closed.
    @Test func anAcknowledgementClosesAViolation() throws {
        let broker = try TestBroker()
        let directory = TemporaryDirectory()
        let context = try Context()
        let client = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for (index, event) in Story.events.enumerated() {
            _ = try client.publishAndWait(EventCodec.encode(event), correlation: UInt64(index + 1))
        }
        let acknowledged = try ChildProcess.conduit([
            "publish", "acknowledgement", "--org", "county-government-office", "--entry", Self.overrun,
            "--note", "written explanation received", "--time", "2023-10-06T09:00:00+08:00", "--ingest", broker.endpoints.ingest,
            "--outbox", directory.appending("outbox-office"),
        ])
        #expect(acknowledged.status == 0, "\(acknowledged.errors)")
        let refused = try ChildProcess.conduit([
            "publish", "acknowledgement", "--org", "power-supply-bureau", "--entry", Self.overrun, "--note", "we did it",
            "--ingest", broker.endpoints.ingest, "--outbox", directory.appending("outbox-power"),
        ])
        #expect(refused.status == 65, "only a coordinator acknowledges: \(refused.errors)")

        let open = try ChildProcess.conduit(["ledger", "--dir", broker.directory.appending("journal"), "--no-checkpoints", "--kind", "outage_overrun"])
        #expect(open.status == 0, "\(open.errors)")
        #expect(open.output.hasPrefix("Ledger after sequence 13, ") && open.output.contains(": 0 entries"), "\(open.output)")
        let closed = try ChildProcess.conduit(["ledger", "--dir", broker.directory.appending("journal"), "--no-checkpoints", "--status", "closed", "--kind", "outage_overrun"])
        #expect(closed.output.contains("acknowledged by county-government-office 2023-10-06 09:00: written explanation received"), "\(closed.output)")
    }
}

struct LedgerCommandFailure: Error {}
