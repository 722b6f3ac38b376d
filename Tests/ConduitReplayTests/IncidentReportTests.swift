import ConduitCore
import ConduitJournal
import ConduitState
import ConduitTesting
import Foundation
import Testing

@testable import ConduitReplay

/// An entry in a few words: `<sequence> <source>#<id>` for an event, `<sequence> <status> <key>` for a derived alert.
func summary(_ entry: IncidentEntry) -> String {
    switch entry.content {
    case .event(let event): "\(entry.sequence) \(event.source)#\(event.id)"
    case .derivedAlert(let change): "\(entry.sequence) \(change.status.rawValue) \(change.key)"
    }
}

@Suite(.timeLimit(.minutes(5))) struct IncidentReportTests {
    static let shortNotice = "short_notice/" + Story.outageKey
    static let overrun = "outage_overrun/" + Story.outageKey
    static let unrestored = "outage_unrestored/" + Story.outageKey

    /// The outage's story: its three reports (the first names no cause), the aggregator's alert, and what the fold
    /// derives: the short notice, the overrun seen at the next event after the window, both cleared on restoration.
    /// The short notice stays on the record; past its window the outage is unrestored until the restoration comes,
    /// which records the overrun.
    static let outageTimeline = [
        "2 \(Story.power)#o1", "2 raised \(shortNotice)", "3 /conduit/aggregator#a1", "5 \(Story.power)#o2",
        "6 raised \(unrestored)", "7 \(Story.power)#o3", "7 raised \(overrun)", "7 cleared \(unrestored)",
    ]

    static func outageDurations(asOf: Timestamp) -> [IncidentDuration] {
        [
            IncidentDuration(
                kind: .noticeLeadTime, subject: Story.outageKey, from: .instant(Story.time("2023-06-02T09:00:00+08:00")),
                to: .instant(Story.time("2023-06-05T09:00:00+08:00")), seconds: 3 * 86_400, ongoing: false,
                expectedSeconds: 7 * 86_400, note: "short of the required notice"),
            IncidentDuration(
                kind: .outageLength, subject: Story.outageKey, from: .instant(Story.time("2023-06-05T09:10:00+08:00")),
                to: .instant(Story.time("2023-06-05T18:30:00+08:00")), seconds: 9 * 3600 + 20 * 60, ongoing: false,
                expectedSeconds: 8 * 3600, note: nil),
        ]
    }

    @Test func aWorkItemsTimelineHoldsItsReportsItsOutagesAndTheAlertsAboutThem() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let report = try IncidentReplay(directory: path).report(for: "ganjiaba-power")
        #expect(report.subject == .workItem("ganjiaba-power"))
        #expect(report.outages.map(\.key) == [Story.outageKey])
        #expect(report.entries.map(summary) == [
            "1 \(Story.power)#p1",
        ] + Self.outageTimeline + [
            "8 \(Story.bureau)#i1", "8 raised behind_schedule/ganjiaba-power", "9 raised reinspection_overdue/ganjiaba-power",
            "10 \(Story.bureau)#i2", "10 cleared reinspection_overdue/ganjiaba-power", "11 \(Story.power)#p2",
            "11 cleared behind_schedule/ganjiaba-power",
        ])
        #expect(report.asOf == Story.time("2023-10-05T16:00:00+08:00"))
        #expect(report.workItem?.status == .completed)
        // Who published each step: the source, and the identity the broker authenticated.
        let first = try #require(report.entries.first)
        guard case .event(let event) = first.content else { throw TestClientError("not an event") }
        #expect(event.source == Story.power && event.authenticatedIdentity == "power-supply-bureau")
        #expect(first.recordedTime == Story.time("2023-06-01T08:00:02+08:00"))

        #expect(report.durations == [
            IncidentDuration(
                kind: .start, subject: "ganjiaba-power", from: .day(Story.date("2023-04-01")), to: .day(Story.date("2023-04-03")),
                seconds: 2 * 86_400, ongoing: false, expectedSeconds: nil, note: nil),
            IncidentDuration(
                kind: .finish, subject: "ganjiaba-power", from: .day(Story.date("2023-09-30")), to: .day(Story.date("2023-10-05")),
                seconds: 5 * 86_400, ongoing: false, expectedSeconds: nil, note: nil),
            IncidentDuration(
                kind: .reinspection, subject: "ganjiaba-power joint_acceptance",
                from: .instant(Story.time("2023-08-01T10:00:00+08:00")), to: .instant(Story.time("2023-08-15T10:00:00+08:00")),
                seconds: 14 * 86_400, ongoing: false, expectedSeconds: nil, note: "failed, re-inspected: passed"),
        ] + Self.outageDurations(asOf: report.asOf!))
        #expect(!report.reading.interrupted && report.reading.tail == nil)
    }

    @Test(arguments: ["gjb-cut-1", "ganjiaba/power/gjb-cut-1"])
    func anOutagesTimelineByItsKeyOrItsSubject(id: String) throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let report = try IncidentReplay(directory: path).report(for: id)
        #expect(report.subject == .outage(Story.outageKey))
        #expect(report.workItem == nil)
        #expect(report.outages.map(\.report.status) == [.restored])
        #expect(report.entries.map(summary) == Self.outageTimeline)
        #expect(report.durations == Self.outageDurations(asOf: report.asOf!))
    }

    /// A window lists only its events, folds those before it, stops the fold at its end and measures up to it.
    @Test func aWindowLimitsTheTimelineAndEndsTheFold() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        var window = ReplaySelection()
        window.since = Story.time("2023-06-05T00:00:00Z")
        window.until = Story.time("2023-08-14T00:00:00Z")
        let report = try IncidentReplay(directory: path).report(for: "ganjiaba-power", window: window)
        #expect(report.entries.map(summary) == [
            "5 \(Story.power)#o2", "6 raised \(Self.unrestored)", "7 \(Story.power)#o3", "7 raised \(Self.overrun)",
            "7 cleared \(Self.unrestored)", "8 \(Story.bureau)#i1", "8 raised behind_schedule/ganjiaba-power",
            "9 raised reinspection_overdue/ganjiaba-power",
        ])
        #expect(report.asOf == window.until)
        let reinspection = try #require(report.durations.first { $0.kind == .reinspection })
        #expect(reinspection.to == nil && reinspection.ongoing)
        let twelveDaysAndTwentyTwoHours: Int64 = 12 * 86_400 + 22 * 3600
        #expect(reinspection.seconds == twelveDaysAndTwentyTwoHours)
        #expect(reinspection.note == "failed, not re-inspected")
        let finish = try #require(report.durations.first { $0.kind == .finish })
        #expect(finish.ongoing && finish.to == nil)
        let fortySevenDaysAhead: Int64 = -47 * 86_400
        #expect(finish.seconds == fortySevenDaysAhead, "47 days before its planned finish")

        var after = ReplaySelection()
        after.fromSequence = 12
        #expect {
            try IncidentReplay(directory: path).report(for: "ganjiaba-power", window: after)
        } throws: { error in
            (error as? IncidentError)?.code == .outsideWindow
                && "\(error)".contains("none in the window; the first is sequence 1, the last 11")
        }
    }

    @Test func anUnknownIdSaysWhatIsNear() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        #expect {
            try IncidentReplay(directory: path).report(for: "ganjiaba-powr")
        } throws: { error in
            guard let error = error as? IncidentError else { return false }
            return error.code == .notFound && error.candidates == ["ganjiaba-power", "ganjiaba-water"]
        }
        #expect {
            try IncidentReplay(directory: path).report(for: "gjb-cut")
        } throws: { error in
            (error as? IncidentError)?.candidates == [Story.outageKey]
        }
    }

    @Test func aSubjectOfSeveralOutagesIsAmbiguous() throws {
        let directory = TemporaryDirectory()
        var elsewhere = Story.outage("x1", .noticed, at: "2023-06-03T09:00:00+08:00")
        elsewhere.site = "ruijing-biyuan"
        let path = try writeJournal(Story.events + [elsewhere], in: directory)
        #expect {
            try IncidentReplay(directory: path).report(for: "gjb-cut-1")
        } throws: { error in
            guard let error = error as? IncidentError else { return false }
            return error.code == .ambiguous && error.candidates == [Story.outageKey, "ruijing-biyuan/power/gjb-cut-1"]
        }
        // Its notice, its short notice, and its window passing with no start reported.
        #expect(try IncidentReplay(directory: path).report(for: "ruijing-biyuan/power/gjb-cut-1").entries.count == 3)
    }

    @Test func anInterruptedReportSaysSo() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let report = try IncidentReplay(directory: path).report(for: "ganjiaba-power", shouldStop: { true })
        #expect(report.reading.interrupted)
        #expect(report.entries.isEmpty)
    }

    @Test func alertKeysMentionWholeComponentsOnly() {
        #expect(IncidentCollector.mentions("behind_schedule/ganjiaba-power", "ganjiaba-power"))
        #expect(IncidentCollector.mentions("lifecycle_anomaly/workitem/ganjiaba-power/transition", "ganjiaba-power"))
        #expect(!IncidentCollector.mentions("behind_schedule/ganjiaba-power-2", "ganjiaba-power"))
        #expect(!IncidentCollector.mentions("behind_schedule/old-ganjiaba-power", "ganjiaba-power"))
        #expect(IncidentCollector.mentions("outage_overlap/a/water/x+a/power/y", "a/water/x"))
        #expect(IncidentCollector.mentions("outage_overlap/a/water/x+a/power/y", "a/power/y"))
        #expect(!IncidentCollector.mentions("outage_overlap/a/water/x+a/power/y", "a/power"))
    }
}

/// Durations that come out negative say what happened instead of dropping the sign.
struct IncidentDurationTextTests {
    @Test func aNoticeAfterTheWindowBeganAndARestorationBeforeTheStartSaySo() {
        let writer = ReplayWriter(format: .timeline, timeZone: TimeZone(identifier: "UTC")!)
        let start = Timestamp(secondsSinceEpoch: 1_688_342_400)
        let late = IncidentDuration(
            kind: .noticeLeadTime, subject: "o", from: .instant(start.adding(seconds: 7200)), to: .instant(start), seconds: -7200,
            ongoing: false, expectedSeconds: 86_400, note: nil)
        #expect(IncidentReport.line(late, writer).contains("notice lead time of o: none: noticed 2 h 0 min after the window began"))
        let backwards = IncidentDuration(
            kind: .outageLength, subject: "o", from: .instant(start), to: .instant(start.adding(seconds: -600)), seconds: -600,
            ongoing: false, expectedSeconds: 3600, note: nil)
        let text = IncidentReport.line(backwards, writer)
        #expect(text.contains("contradictory: restored 10 min before it started"))
        #expect(!text.contains("within it"))
    }
}
