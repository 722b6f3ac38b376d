import ConduitCore
import ConduitReplay
import ConduitTesting
import Testing

/// `conduit state --diff-seq | --diff`: the changes between two moments of Story's journal as text and JSON.
@Suite(.timeLimit(.minutes(5))) struct StateDiffReplayTests {
    @Test func conduitStateDiffPrintsTheChangesAsTextOrJSON() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let text = try ChildProcess.conduit(["state", "--dir", path, "--diff-seq", "3", "7"])
        #expect(text.status == 0, "\(text.errors)")
        let lines = text.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "Changes from sequence 3 (2023-06-02 09:00:01 +08:00) to sequence 7 (2023-06-05 18:30:00 +08:00)")
        #expect(lines.contains("Work items (1):"))
        #expect(lines.contains("  ganjiaba-water: unreported 0.0% → in_progress 25.0%"))
        #expect(lines.contains("Outages restored or cancelled (1):"))
        #expect(lines.contains("  \(Story.outageKey): noticed → restored, planned, 108 households (power-supply-bureau)"))
        #expect(lines.contains("Alerts raised and cleared again in between (1):"))
        let unrestored = lines.first { $0.hasPrefix("  [outage_unrestored] outage \(Story.outageKey) is not reported restored") }
        // Its times are in the plan's zone too, as the window's end in its message is.
        #expect(unrestored?.contains(" (raised 2023-06-") == true && unrestored?.hasSuffix(" +08:00)") == true, "\(unrestored ?? "")")
        #expect(lines.contains { $0.hasPrefix("Overall: ") && $0.contains("households without service 0 → 0 (+0)") })
        #expect(lines.contains { $0.hasPrefix("  甘家坝 Ganjiaba: ") })

        let json = try ChildProcess.conduit(["state", "--dir", path, "--diff-seq", "3", "7", "--json"])
        #expect(json.status == 0)
        let (diff, _) = try StateReplay(directory: path).diff(fromSequence: 3, toSequence: 7)
        #expect(json.output == String(decoding: diff.json(), as: UTF8.self) + "\n")

        let byTime = try ChildProcess.conduit(["state", "--dir", path, "--diff", "2023-06-05T12:00:00+08:00", "2023-06-06", "--json"])
        #expect(byTime.status == 0)
        let document = try JSONValue.parse(Array(byTime.output.utf8))
        #expect(document["from"]?["lastSequence"] == .number("5"))
        // A date is the start of that day in the plan's time zone (UTC+08:00), not UTC midnight.
        #expect(document["to"]?["now"] == .string("2023-06-05T16:00:00Z"))

        let reversed = try ChildProcess.conduit(["state", "--dir", path, "--diff-seq", "7", "3"])
        #expect(reversed.status != 0)
        #expect(reversed.errors.contains("give the earlier sequence first"))
        let one = try ChildProcess.conduit(["state", "--dir", path, "--diff", "2023-06-05"])
        #expect(one.status != 0)
        #expect(one.errors.contains("--diff takes two times"))
        let nothing = try ChildProcess.conduit(["state", "--dir", path, "--diff-seq", "11", "11"])
        #expect(nothing.output.contains("Nothing changed."))
    }
}
