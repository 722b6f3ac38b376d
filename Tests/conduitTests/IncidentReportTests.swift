import ConduitReplay
import ConduitTesting
import Testing

/// `conduit incident`: the incident report of Story's journal as text and JSON, and an unknown id.
@Suite(.timeLimit(.minutes(5))) struct IncidentReportTests {
    @Test func conduitIncidentPrintsTheTimelineAndTheDurations() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let text = try ChildProcess.conduit(["incident", "gjb-cut-1", "--dir", path, "--time-zone", "Asia/Shanghai"])
        #expect(text.status == 0, "\(text.errors)")
        let lines = text.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "Incident: outage \(Story.outageKey)")
        #expect(lines.contains("Timeline (8 entries, times in Asia/Shanghai; * derived by the fold on replay):"))
        #expect(lines.contains(
            "  2023-06-05 09:10:00  #5  outage     planned power outage started, 108 households 2023-06-05 09:00:00 – 2023-06-05 17:00:00"
                + " — by County Power Supply Bureau (/power-supply-bureau/agent-1), authenticated as power-supply-bureau"))
        #expect(lines.contains(
            "  2023-06-05 17:30:00  #6  alert*     outage_unrestored raised: outage \(Story.outageKey) is not reported restored; its window ended at 2023-06-05 17:00:00 +08:00"))
        #expect(lines.contains(
            "  2023-06-05 18:30:00  #7  alert*     outage_overrun raised: outage \(Story.outageKey) was restored at 2023-06-05 18:30:00 +08:00, 1 h 30 min after its window ended at 2023-06-05 17:00:00 +08:00"))
        #expect(lines.contains(
            "  notice lead time of \(Story.outageKey): 3 d 0 h (noticed 2023-06-02 09:00:00, window from 2023-06-05 09:00:00); 7 d 0 h required: 4 d 0 h short"))
        #expect(lines.contains(
            "  outage length of \(Story.outageKey): 9 h 20 min (2023-06-05 09:10:00 → 2023-06-05 18:30:00); planned window 8 h 0 min: 1 h 20 min over"))

        let item = try ChildProcess.conduit(["incident", "ganjiaba-power", "--dir", path, "--time-zone", "Asia/Shanghai"])
        #expect(item.status == 0)
        #expect(item.output.contains("\n  start of ganjiaba-power: planned 2023-04-01, actual 2023-04-03: 2 days late\n"))
        #expect(item.output.contains("\n  finish of ganjiaba-power: planned 2023-09-30, actual 2023-10-05: 5 days late\n"))
        #expect(item.output.contains(
            "\n  re-inspection of ganjiaba-power joint_acceptance: 2023-08-01 10:00:00 → 2023-08-15 10:00:00: 14 d 0 h (failed, re-inspected: passed)\n"))

        let json = try ChildProcess.conduit(["incident", "ganjiaba-power", "--dir", path, "--json"])
        #expect(json.status == 0)
        let report = try IncidentReplay(directory: path).report(for: "ganjiaba-power")
        #expect(json.output == String(decoding: report.json(), as: UTF8.self) + "\n")

        let unknown = try ChildProcess.conduit(["incident", "ganjiaba-powr", "--dir", path])
        #expect(unknown.status != 0)
        #expect(unknown.output.isEmpty)
        #expect(unknown.errors.contains("nothing in the journal in \(path) is about \"ganjiaba-powr\""))
        #expect(unknown.errors.contains("did you mean:\n  ganjiaba-power\n  ganjiaba-water"))
    }
}
