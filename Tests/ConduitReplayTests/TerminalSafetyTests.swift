import ConduitConsole
import ConduitCore
import ConduitReplay
import ConduitState
import ConduitTesting
import Foundation
import Testing

/// Text a person reads never carries an event's control characters to the terminal: an escape sequence in a
/// blocking reason or an outage subject is shown, not obeyed.
@Suite struct TerminalSafetyTests {
    static let hostile = "leak\u{1B}]0;owned\u{07}\u{1B}[2J\u{9B}31m\u{202E}txt.exe"

    static func hasControls(_ text: String) -> Bool {
        text.unicodeScalars.contains { scalar in
            (scalar.value < 0x20 && scalar != "\n") || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x202E
        }
    }

    @Test func escapingShowsEveryControlCharacter() {
        #expect("a\u{1B}[2Jb".escapingControlCharacters() == "a\\u001b[2Jb")
        #expect("tab\there\nnext".escapingControlCharacters() == "tab\\u0009here\\u000anext")
        #expect("tab\there\nnext".escapingControlCharacters(keepingLineBreaks: true) == "tab\there\nnext")
        #expect("\u{9B}\u{7F}\u{202E}甘家坝".escapingControlCharacters() == "\\u009b\\u007f\\u202e甘家坝")
    }

    @Test func timelineCSVIncidentAndStateTableEscapeThem() throws {
        let directory = TemporaryDirectory()
        var progress = Story.progress("p1", "ganjiaba-power", .suspended, 45, at: "2023-06-01T08:00:00+08:00")
        if case .progress(var report) = progress.data {
            report.blockingReason = Self.hostile
            progress.data = .progress(report)
        }
        var outage = Story.outage("o1", .noticed, at: "2023-06-02T09:00:00+08:00")
        outage.subject = "cut\u{1B}[31m"
        let path = try writeJournal([progress, outage], in: directory)

        var lines: [String] = []
        _ = try OfflineReplay(directory: path).events(ReplaySelection()) { record, event in
            let writer = ReplayWriter(format: .timeline)
            lines.append(writer.timelineLine(sequence: record.header.sequence, event: event))
        }
        #expect(lines.count == 2)
        #expect(!lines.contains(where: Self.hasControls), "\(lines)")
        #expect(lines[0].contains("\\u001b"), "shown, not dropped: \(lines[0])")

        let incident = try IncidentReplay(directory: path).report(for: "ganjiaba-power").text(timeZone: TimeZone(identifier: "Asia/Shanghai")!)
        #expect(!Self.hasControls(incident), "\(incident)")

        let state = try StateReplay(directory: path).state(atSequence: 2)
        #expect(!Self.hasControls(StateTable(state: state).text))
    }
}
