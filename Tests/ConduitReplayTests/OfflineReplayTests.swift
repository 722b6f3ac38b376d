import ConduitCore
import ConduitJournal
import ConduitState
import ConduitTesting
import Foundation
import Testing

@testable import ConduitReplay

struct OfflineReplayTests {
    @Test func filtersAreExact() throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        var outages = ReplaySelection()
        outages.kinds = [.outage]
        let (text, summary) = try replay(path, outages)
        let events = try text.split(separator: "\n").map { try EventCodec.decode(Array($0.utf8)) }
        #expect(events.map(\.sequence) == Array(stride(from: UInt64(2), through: 60, by: 2)))
        #expect(events.allSatisfy { $0.kind == .outage })
        #expect(summary.matched == 30)

        var power = ReplaySelection()
        power.utilities = [.power]
        power.communities = ["ganjiaba"]
        power.fromSequence = 11
        power.toSequence = 20
        #expect(try replay(path, power).1.matched == 5)

        var byOrganisation = ReplaySelection()
        byOrganisation.organisations = ["water-investment-company"]
        byOrganisation.workItems = ["ganjiaba-power"]
        #expect(try replay(path, byOrganisation).1.matched == 0, "different filters must all match")

        var byWorkItem = ReplaySelection()
        byWorkItem.workItems = ["ganjiaba-power"]
        let (items, _) = try replay(path, byWorkItem)
        #expect(items.split(separator: "\n").count == 30)

        // An outage by the key the state shows for it.
        let key = try #require(AggregateState.outageKey(of: try EventCodec.decode(SampleEvents.outage(id: "any"))))
        #expect(key.hasPrefix("ruijing-biyuan/water/"))
        var byOutageKey = ReplaySelection()
        byOutageKey.outages = [key]
        #expect(try replay(path, byOutageKey).1.matched == 30)

        var byTime = ReplaySelection()
        byTime.since = Timestamp(secondsSinceEpoch: 1_685_577_600 + 10)
        byTime.until = Timestamp(secondsSinceEpoch: 1_685_577_600 + 20)
        let (window, timeSummary) = try replay(path, byTime)
        #expect(try window.split(separator: "\n").map { try EventCodec.decode(Array($0.utf8)).sequence } == (10...19).map { UInt64($0) })
        #expect(timeSummary.matched == 10)
    }

    /// JSON lines decide the work item and organisation filters on the stored bytes; the other formats decode. Both
    /// must select the same events, also where an identifier appears elsewhere in the event (a subject, a reason).
    @Test func theStoredBytesAndTheDecodedEventSelectAlike() throws {
        let directory = TemporaryDirectory()
        let path = directory.appending("journal")
        let (journal, _) = try Journal.open(directory: path)
        var records: [JournalRecord] = []
        var events: [Event] = []
        events.append(try EventCodec.decode(SampleEvents.progress(id: "a")))
        var decoy = try EventCodec.decode(SampleEvents.outage(id: "b"))
        decoy.subject = "\"workitem\":\"ganjiaba-power\" and /power-supply-bureau"  // quotes inside a value
        events.append(decoy)
        var caused = try EventCodec.decode(SampleEvents.outage(id: "c"))
        if case .outage(var report) = caused.data {
            report.causedBy = "ganjiaba-power"
            caused.data = .outage(report)
        }
        events.append(caused)
        var blocked = try EventCodec.decode(SampleEvents.progress(id: "d", source: "/power-supply-bureau"))
        blocked.workItem = "ganjiaba-water"
        blocked.utility = .water
        blocked.source = "/water-investment-company/x"
        if case .progress(var report) = blocked.data {
            report.blockingReason = "waiting for ganjiaba-power"
            blocked.data = .progress(report)
        }
        events.append(blocked)
        for (index, var event) in events.enumerated() {
            event.sequence = UInt64(index + 1)
            event.recordedTime = Timestamp(secondsSinceEpoch: 1_685_577_600 + Int64(index))
            records.append(JournalRecord(
                sequence: event.sequence!, recordedTime: event.recordedTime!.microsecondsSinceEpoch, topic: event.topic,
                event: EventCodec.encode(event)))
        }
        try journal.append(records)
        try journal.close()
        for (workItems, organisations, expected) in [
            (["ganjiaba-power"], [String](), [UInt64(1), 3]), ([], ["power-supply-bureau"], [1]),
            ([], ["water-investment-company"], [2, 3, 4]), (["ganjiaba-water"], ["water-investment-company"], [4]),
        ] {
            var selection = ReplaySelection()
            selection.workItems = Set(workItems)
            selection.organisations = Set(organisations)
            let (lines, _) = try replay(path, selection)
            let fromBytes = try lines.split(separator: "\n").map { try EventCodec.decode(Array($0.utf8)).sequence! }
            let (csv, _) = try replay(path, selection, format: .csv)
            let decoded = csv.split(separator: "\n").dropFirst().map { UInt64($0.split(separator: ",")[0])! }
            #expect(fromBytes == expected, "\(workItems) \(organisations)")
            #expect(decoded == expected, "\(workItems) \(organisations)")
        }
    }

    @Test func aWindowBeyondTheJournalSaysSo() throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        var after = ReplaySelection()
        after.fromSequence = 100
        let (text, summary) = try replay(path, after)
        #expect(text.isEmpty)
        #expect(summary.notice == "the window starts at sequence 100, after the journal's last (60)")

        var past = ReplaySelection()
        past.fromSequence = 55
        past.toSequence = 80
        let (_, partial) = try replay(path, past)
        #expect(partial.matched == 6)
        #expect(partial.notice?.contains("past the journal's last (60)") == true)

        var early = ReplaySelection()
        early.until = Timestamp(secondsSinceEpoch: 1_600_000_000)
        #expect(try replay(path, early).1.notice?.contains("before the journal's first record") == true)
    }

    @Test func timelineAndCSVUseDisplayNamesAndTheTimeZone() throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        var first = ReplaySelection()
        first.toSequence = 2
        let (timeline, _) = try replay(path, first, format: .timeline)
        let lines = timeline.split(separator: "\n")
        #expect(lines.count == 2)
        // 2023-06-01T08:30:00Z is 16:30 in Shanghai.
        #expect(lines[0].hasPrefix("2023-06-01 16:30:00  #1  progress"))
        #expect(lines[0].contains("甘家坝 Ganjiaba"))
        #expect(lines[1].contains("瑞景碧苑 Ruijing Biyuan"))
        let (csv, _) = try replay(path, first, format: .csv)
        let rows = csv.split(separator: "\n")
        #expect(rows.count == 3)
        #expect(rows[0].hasPrefix("sequence,recorded,time,kind"))
        #expect(rows[2].contains("\"planned water outage noticed, 40 households"), "fields with commas are quoted")
    }
}
