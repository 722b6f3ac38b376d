import ConduitConsole
import ConduitCore
import ConduitState
import ConduitTesting
import Foundation
import Testing

/// The live view's frame and plain lines, without a terminal.
struct LiveStateViewTests {
    /// The default scenario with some progress, two overlapping outages at Ganjiaba and the alerts they raise.
    static func sampleState() throws -> (AggregateState, [Event], [AlertChange]) {
        var state = AggregateState(scenario: .default)
        var events: [Event] = []
        var changes: [AlertChange] = []
        let reports = [
            SampleJSON.progress(sequence: 1, item: "ganjiaba-power", percent: 60),
            Array(OverlappingOutages.power), Array(OverlappingOutages.water),
        ]
        for (index, bytes) in reports.enumerated() {
            var event = try EventCodec.decode(bytes)
            event.sequence = UInt64(index + 1)
            event.recordedTime = try Timestamp(rfc3339: "2023-07-01T0\(index):00:00Z")
            events.append(event)
            changes += state.apply(event)
        }
        return (state, events, changes)
    }

    @Test(arguments: [(100, 30), (60, 20), (40, 12), (200, 60), (20, 5)])
    func theFrameFitsTheTerminal(_ width: Int, _ height: Int) throws {
        let (state, _, _) = try Self.sampleState()
        let recent = (1...50).map { "2023-07-01 09:00:00  #\($0)  progress  甘家坝 Ganjiaba: a long line about work item number \($0) that goes on" }
        let frame = LiveStateView.render(state: state, recent: recent, width: width, height: height)
        #expect(frame.count <= height)
        for line in frame { #expect(TerminalText.width(line) <= width, "\(line)") }
    }

    @Test func theFrameShowsTheClockTheBarsTheOutagesAndTheAlerts() throws {
        let (state, _, changes) = try Self.sampleState()
        #expect(changes.contains { $0.kind == .outageOverlap && $0.status == .raised })
        let frame = LiveStateView.render(state: state, recent: ["the latest line"], width: 120, height: 60)
        let text = frame.joined(separator: "\n")
        #expect(frame[0].hasPrefix("Conduit · sequence 3 · 2023-07-01 09:00:00 +08:00"))
        #expect(frame[1].hasPrefix("Overall "))
        let ganjiaba = try #require(frame.first { $0.hasPrefix("甘家坝 Ganjiaba") })
        #expect(ganjiaba.contains("██████░░░░  60%"), "ganjiaba-power at 60%: \(ganjiaba)")
        #expect(frame.contains { $0.hasPrefix("瑞景碧苑 Ruijing Biyuan") } && frame.contains { $0.hasPrefix("锦绣新城 Jinxiu Xincheng") })
        #expect(text.contains("Open outages (2):"))
        #expect(text.contains("甘家坝 Ganjiaba water noticed, 54 households (water-investment-company)"))
        #expect(text.contains("[outage_overlap] outages ganjiaba/water/water-cut-b01 and ganjiaba/power/power-cut-b01 overlap"))
        #expect(frame.last == "  the latest line")
        // The bars' columns line up: CJK names take two columns per character.
        let rows = frame.filter { row in state.scenario.communities.contains { row.hasPrefix($0.name.zh) } }
        #expect(rows.count == 3)
        let barColumns = rows.map { row in
            row.firstIndex { $0 == "█" || $0 == "░" }.map { TerminalText.width(String(row[..<$0])) }
        }
        #expect(Set(barColumns).count == 1 && barColumns[0] != nil, "\(rows)")
    }

    @Test func aShortTerminalCutsTheListsAndSaysSo() throws {
        let (state, _, _) = try Self.sampleState()
        let recent = (1...40).map { "event \($0)" }
        let frame = LiveStateView.render(state: state, recent: recent, width: 100, height: 16)
        #expect(frame.count == 16)
        #expect(frame.contains { $0.hasPrefix("Active alerts (") })
        #expect(frame.contains { $0.hasPrefix("  … and ") && $0.hasSuffix(" more") }, "\(frame)")
        #expect(frame.last == "  event 40", "the latest recent line is kept")
    }

    @Test func textIsFittedByColumns() {
        #expect(TerminalText.width("甘家坝 Ganjiaba") == 15)
        #expect(TerminalText.fit("甘家坝 Ganjiaba", 5) == "甘家…")
        #expect(TerminalText.width(TerminalText.fit("甘家坝 Ganjiaba", 6)) <= 6)
        #expect(TerminalText.pad("甘", 4) == "甘  ")
        #expect(TerminalText.fit("a\nb", 10) == "a b")
        #expect(TerminalText.fit("short", 10) == "short")
    }

    @Test func plainLinesAreOnePerEventAndAlertWithRollups() throws {
        let (state, events, changes) = try Self.sampleState()
        let lines = LinesBox()
        let view = LiveView(
            scenario: .default, interactive: false, timeZone: TimeZone(identifier: "UTC")!, rollupEvery: 2,
            rollupInterval: .seconds(3600), output: { lines.text += $0 })
        view.update(state: state, newEvents: Array(events.prefix(1)), alertChanges: [])
        #expect(lines.text.split(separator: "\n").count == 1)
        view.update(state: state, newEvents: Array(events.dropFirst()), alertChanges: changes.filter { $0.kind == .outageOverlap })
        view.finish(state: state)
        let printed = lines.text.split(separator: "\n").map(String.init)
        #expect(printed.count == 6, "\(printed)")
        #expect(printed[0].hasPrefix("2023-06-30 08:30:00  #1  progress"), "the time of the report, in UTC")
        #expect(printed[3].hasPrefix("alert raised [outage_overlap] outages ganjiaba/water/water-cut-b01"))
        #expect(printed[4].hasPrefix("= #3 as of 2023-07-01 09:00:00 +08:00: "), "after two events")
        #expect(printed[5].hasPrefix("= #3 "), "and at the end")
    }
}

/// A mutable sink for the view's output.
final class LinesBox: @unchecked Sendable {
    // Only touched by the test's own thread.
    var text = ""
}

enum SampleJSON {
    static func progress(sequence: Int, item: String, percent: Int) -> [UInt8] {
        Array(
            (#"{"specversion":"1.0","id":"lv-"# + "\(sequence)"
                + #"","source":"/power-supply-bureau/agent-1","type":"conduit.progress","time":"2023-06-30T08:30:00Z","utility":"power","site":"ganjiaba","workitem":""#
                + item + #"","data":{"status":"in_progress","percent":"# + "\(percent)" + "}}").utf8)
    }
}
