import ConduitCore
import Testing

@testable import ConduitState

/// The ledger as the supervision office keeps it: structured entries, conditions and violations, rectification
/// deadlines, acknowledgements, escalations, and the rules' defects that each of these tests pins down.
@Suite struct LedgerTests {
    /// ``Fixtures/scenario`` with a supervision office and a sub-district office (coordinators) and ledger rules:
    /// 14 days to rectify a behind-schedule item, 7 for a short notice; an item suspended because households refuse
    /// access for 7 days goes to the sub-district office.
    static let scenario: Scenario = {
        var plan = Fixtures.scenario
        let name = LocalizedText(zh: "测试", en: "test")
        plan.organisations += [
            Organisation(id: "office", name: name, roles: [.coordinator], duty: name),
            Organisation(id: "subdistrict", name: name, roles: [.coordinator], duty: name),
        ]
        let ledger = LedgerRules(
            rectification: [
                RectificationRule(kinds: [.behindSchedule], days: 14, source: name, assumed: true),
                RectificationRule(kinds: [.shortNotice], days: 7, source: name, assumed: true),
            ],
            escalations: [
                EscalationRule(
                    id: "access-refused", reason: LocalizedText(zh: "住户拒绝入户", en: "households refuse access"),
                    reasonContains: ["refuse access"], afterDays: 7, organisation: "subdistrict", source: name, assumed: true)
            ])
        return try! Scenario(
            id: plan.id, name: plan.name, deadline: plan.deadline, noticeRules: plan.noticeRules, ledger: ledger,
            communities: plan.communities, organisations: plan.organisations, workItems: plan.workItems)
    }()

    static func factory() -> EventFactory {
        var factory = EventFactory()
        factory.scenario = scenario
        return factory
    }

    static func acknowledgement(_ key: String, kind: AlertKind, by organisation: String = "office", note: String, at time: String) -> Event {
        Event(
            id: "", source: "/\(organisation)/desk", time: Fixtures.time(time),
            data: .alert(AlertReport(status: .acknowledged, kind: kind, key: key, message: note)))
    }

    // MARK: structured entries

    /// An entry names its organisation, community and work item as fields, keeps its figures current while it is a
    /// raised condition (raised at 0 %, now 62 %), and has a rectification deadline from the plan's rules.
    @Test func aConditionNamesItsSubjectAndKeepsItsFiguresCurrent() throws {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let key = "behind_schedule/north-water"
        _ = state.apply(factory.progress("north-water", .inProgress, percent: 0, at: "2023-01-20T02:00:00Z"))
        let entry = try #require(state.ledger[key])
        #expect(entry.subject == LedgerSubject(organisation: "waterco", community: "north", workItem: "north-water", utility: .water))
        #expect(entry.ledgerClass == .condition)
        #expect(entry.figures.number(.percent) == 0)
        #expect(entry.deadline == Fixtures.date("2023-02-03"), "raised on 20 January, 14 days to rectify")
        // 30 % on 25 January is still behind: the figures say 30. 62 % on 1 February is ahead of the plan: it clears.
        _ = state.apply(factory.progress("north-water", .inProgress, percent: 30, at: "2023-01-25T02:00:00Z"))
        #expect(state.ledger[key]?.figures.number(.percent) == 30)
        #expect(state.ledger[key]?.message.contains("30% done") == true)
        #expect(state.ledger[key]?.raisedAt == Fixtures.time("2023-01-20T02:00:00Z"), "kept current, not raised again")
        #expect(state.ledger[key]?.isOverdue(on: Fixtures.date("2023-02-04")) == true)
        _ = state.apply(factory.progress("north-water", .inProgress, percent: 62, at: "2023-02-01T02:00:00Z"))
        #expect(state.ledger[key]?.isOpen == false)
        #expect(state.ledger[key]?.history.map(\.status) == [.raised, .cleared])
    }

    /// The alert event carries the entry's fields, and decodes to the same report.
    @Test func theAlertEventCarriesTheEntry() throws {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let changes = state.apply(factory.progress("north-water", .inProgress, percent: 0, at: "2023-01-20T02:00:00Z"))
        let change = try #require(changes.first { $0.key == "behind_schedule/north-water" })
        let event = Event(
            id: "a-1", source: "/conduit/aggregator", time: change.time, utility: change.subject.utility,
            site: change.subject.community, workItem: change.subject.workItem, data: .alert(change.report))
        try EventValidator(scenario: Self.scenario).validate(event)
        let decoded = try EventCodec.decode(EventCodec.encode(event))
        #expect(decoded == event)
        guard case .alert(let report) = decoded.data else { return }
        #expect(report.organisation == "waterco" && report.community == "north" && report.workItem == "north-water")
        #expect(report.deadline == Fixtures.date("2023-02-03"))
        #expect(report.figures.number(.expectedPercent) != nil)
        #expect(decoded.topic == Array("alert/water/north/".utf8))
    }

    // MARK: violations

    /// A planned outage that starts with no notice at all is a violation (it raised nothing before); its restoration
    /// does not clear it; a notice reported late, given before the start, withdraws it.
    @Test func anOutageStartedWithoutNoticeIsAViolation() {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let key = "no_notice/north/power/p1"
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        let started = state.apply(factory.outage(.power, .started, subject: "p1", at: "2023-01-10T00:05:00Z", window: window, startedAt: "2023-01-10T00:05:00Z"))
        #expect(started.of(key) == [.raised])
        #expect(state.ledger[key]?.ledgerClass == .violation)
        let restored = state.apply(factory.outage(
            .power, .restored, subject: "p1", at: "2023-01-10T05:00:00Z", restoredAt: "2023-01-10T05:00:00Z", planned: true))
        #expect(restored.of(key) == [])
        #expect(state.isRaised(key))

        var late = factory
        var other = AggregateState(scenario: Self.scenario)
        _ = other.apply(late.outage(.water, .started, subject: "w1", at: "2023-01-10T00:05:00Z", window: window, startedAt: "2023-01-10T00:05:00Z"))
        #expect(other.isRaised("no_notice/north/water/w1"))
        let notice = other.apply(late.outage(.water, .noticed, subject: "w1", at: "2023-01-08T00:00:00Z", window: window, noticedAt: "2023-01-08T00:00:00Z"))
        #expect(notice.of("no_notice/north/water/w1") == [.cleared], "the notice was given two days ahead after all")
        #expect(!other.isRaised("short_notice/north/water/w1"))
    }

    /// Short notice is a violation: it stays when the outage ends (it used to clear itself then), and a coordinator's
    /// acknowledgement closes it.
    @Test func shortNoticeStaysWhenTheOutageEndsUntilAcknowledged() throws {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let key = "short_notice/north/water/w1"
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        _ = state.apply(factory.outage(.water, .noticed, subject: "w1", at: "2023-01-09T18:00:00Z", window: window, noticedAt: "2023-01-09T18:00:00Z"))
        #expect(state.isRaised(key))
        #expect(state.ledger[key]?.deadline == Fixtures.date("2023-01-17"))
        #expect(state.ledger[key]?.figures.integer(.noticeLeadMinutes) == 360)
        _ = state.apply(factory.outage(.water, .started, subject: "w1", at: "2023-01-10T00:00:00Z", startedAt: "2023-01-10T00:00:00Z", planned: true))
        let ended = state.apply(factory.outage(
            .water, .restored, subject: "w1", at: "2023-01-10T05:00:00Z", restoredAt: "2023-01-10T05:00:00Z", planned: true))
        #expect(ended.of(key) == [])
        #expect(state.activeAlerts[key] != nil)
        let acknowledged = state.apply(factory.stamp(Self.acknowledgement(key, kind: .shortNotice, note: "notice rules re-issued to the crew", at: "2023-01-11T02:00:00Z")))
        #expect(acknowledged.isEmpty)
        let entry = try #require(state.ledger[key])
        #expect(entry.isRaised && !entry.isOpen)
        #expect(entry.acknowledgement?.organisation == "office")
        #expect(entry.history.map(\.status) == [.raised, .acknowledged])
        #expect(state.activeAlerts[key] == nil)
    }

    /// An acknowledgement of an entry the ledger does not have changes nothing.
    @Test func anAcknowledgementOfAnUnknownEntryIsIgnored() {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        _ = state.apply(factory.stamp(Self.acknowledgement("short_notice/north/water/x", kind: .shortNotice, note: "n", at: "2023-01-11T02:00:00Z")))
        #expect(state.ledger["short_notice/north/water/x"] == nil)
        #expect(state.eventsIgnored == 1)
    }

    /// Progress that goes backwards is noted (it passed without a note); falls while the note is open repeat it; once
    /// acknowledged, a new fall is raised again.
    @Test func progressThatGoesBackwardsIsOnTheRecord() {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let key = "progress_regression/north-power"
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 60, at: "2023-01-20T02:00:00Z"))
        let fell = state.apply(factory.progress("north-power", .inProgress, percent: 20, at: "2023-01-21T02:00:00Z"))
        #expect(fell.of(key) == [.raised])
        #expect(state.ledger[key]?.figures.number(.previousPercent) == 60)
        #expect(state.ledger[key]?.figures.number(.percent) == 20)
        #expect(state.ledger[key]?.ledgerClass == .violation)
        #expect(state.apply(factory.progress("north-power", .inProgress, percent: 10, at: "2023-01-22T02:00:00Z")).of(key) == [])
        #expect(state.ledger[key]?.repeats == 1)
        #expect(state.ledger[key]?.figures.number(.percent) == 10)
        _ = state.apply(factory.stamp(Self.acknowledgement(key, kind: .progressRegression, note: "rework after the failed test", at: "2023-01-23T02:00:00Z")))
        #expect(state.activeAlerts[key] == nil)
        #expect(state.apply(factory.progress("north-power", .inProgress, percent: 50, at: "2023-01-24T02:00:00Z")).of(key) == [])
        #expect(state.apply(factory.progress("north-power", .inProgress, percent: 40, at: "2023-01-25T02:00:00Z")).of(key) == [.raised])
        #expect(state.ledger[key]?.history.map(\.status) == [.raised, .acknowledged, .raised])
    }

    /// A passed joint acceptance does not accept water work: marked accepted with only that, the item is on the record.
    @Test func aJointAcceptanceDoesNotAcceptWaterWork() {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let key = "acceptance_missing/north-water"
        _ = state.apply(factory.inspection("north-water", kind: .jointAcceptance, result: .passed, at: "2023-02-20T00:00:00Z"))
        _ = state.apply(factory.progress("north-water", .completed, percent: 100, at: "2023-02-21T00:00:00Z"))
        #expect(state.workItem("north-water")?.isAcceptedByInspections == false)
        #expect(state.apply(factory.progress("north-water", .accepted, percent: 100, at: "2023-02-22T00:00:00Z")).of(key) == [.raised])
        // The water acceptance passes only afterwards: the violation stays.
        let later = state.apply(factory.inspection(
            "north-water", kind: .waterAcceptance, result: .passed, at: "2023-02-25T00:00:00Z", authority: "waterco"))
        #expect(later.of(key) == [])
        #expect(state.isRaised(key))
    }

    // MARK: conditions

    /// A work item that has not started long after its planned start has one behind-schedule entry, not two.
    @Test func aNotStartedItemHasOneBehindScheduleEntry() {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        _ = state.apply(factory.progress("north-power", .planned, at: "2023-01-01T00:00:00Z"))
        let changes = state.advance(to: Fixtures.time("2023-01-20T02:00:00Z"))
        let behind = changes.filter { $0.kind == .behindSchedule && $0.key.contains("north-power") }
        #expect(behind.map(\.key) == ["behind_schedule/north-power"])
        #expect(state.ledger.keys.filter { $0.hasPrefix("behind_schedule/north-power") }.count == 1)
    }

    /// An item completed but not accepted when the deadline passes misses the deadline (it raised nothing).
    @Test func anItemCompletedButNotAcceptedAtTheDeadlineIsAtRisk() {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let key = "deadline_at_risk/north-power"
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 50, at: "2023-01-15T00:00:00Z"))
        _ = state.apply(factory.progress("north-power", .completed, percent: 100, at: "2023-01-30T00:00:00Z"))
        #expect(state.advance(to: Fixtures.time("2023-06-30T12:00:00Z")).of(key) == [], "the deadline day itself")
        #expect(state.advance(to: Fixtures.time("2023-07-01T02:00:00Z")).of(key) == [.raised])
        #expect(state.ledger[key]?.message.contains("completed but not accepted") == true)
        _ = state.apply(factory.inspection("north-power", kind: .jointAcceptance, result: .passed, at: "2023-07-02T00:00:00Z"))
        #expect(state.apply(factory.progress("north-power", .accepted, percent: 100, at: "2023-07-03T00:00:00Z")).of(key) == [.cleared])
    }

    /// A restoration reported after the window ended, but made inside it, is no overrun: the restoration's own time
    /// decides. Until it is reported, the outage is unrestored as far as the ledger knows.
    @Test func aRestorationReportedLateInsideItsWindowIsNoOverrun() {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        _ = state.apply(factory.outage(.power, .noticed, subject: "p1", at: "2023-01-01T00:00:00Z", window: window, noticedAt: "2023-01-01T00:00:00Z"))
        _ = state.apply(factory.outage(.power, .started, subject: "p1", at: "2023-01-10T00:00:00Z", startedAt: "2023-01-10T00:00:00Z", planned: true))
        #expect(state.advance(to: Fixtures.time("2023-01-10T09:00:00Z")).of("outage_unrestored/north/power/p1") == [.raised])
        let restored = state.apply(factory.outage(
            .power, .restored, subject: "p1", at: "2023-01-10T09:30:00Z", restoredAt: "2023-01-10T05:40:00Z", planned: true))
        #expect(restored.of("outage_unrestored/north/power/p1") == [.cleared])
        #expect(restored.of("outage_overrun/north/power/p1") == [])
        #expect(state.ledger["outage_overrun/north/power/p1"] == nil)
    }

    /// A noticed outage whose window ends with no start reported lapses: it is no longer open or planned, its
    /// overlaps clear, and an entry says so until a report tells what became of it.
    @Test func aNoticedOutageThatNeverStartsLapses() throws {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        _ = state.apply(factory.outage(.power, .noticed, subject: "p1", at: "2023-01-01T00:00:00Z", window: window, noticedAt: "2023-01-01T00:00:00Z"))
        _ = state.apply(factory.outage(.water, .noticed, subject: "w1", at: "2023-01-08T00:00:00Z", window: window, noticedAt: "2023-01-08T00:00:00Z"))
        #expect(state.isRaised("outage_overlap/north/power/p1+north/water/w1"))
        let passed = state.advance(to: Fixtures.time("2023-01-10T07:00:00Z"))
        #expect(passed.of("outage_lapsed/north/power/p1") == [.raised])
        #expect(passed.of("outage_overlap/north/power/p1+north/water/w1") == [.cleared])
        let outage = try #require(state.outage("north/power/p1"))
        #expect(!outage.isOpen && !outage.isPlanned)
        #expect(state.summary().overall.outagesPlanned == 0)
        let cancelled = state.apply(factory.outage(.power, .cancelled, subject: "p1", at: "2023-01-10T08:00:00Z", planned: true))
        #expect(cancelled.of("outage_lapsed/north/power/p1") == [.cleared])
    }

    /// An outage reported many times keeps its first report and its latest, 64 in all: an alert about it carries them,
    /// and an alert's refs hold at most 64 on the wire (more, and the broker refuses the aggregator's alert).
    @Test func anOutageReportedOftenKeepsTheRefsAnAlertCanCarry() throws {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        var refs: [String] = []
        for day in 1...3 {
            for minute in 0..<40 {
                let time = "2023-01-0\(day)T01:\(minute < 10 ? "0" : "")\(minute):00Z"
                let event = factory.outage(.power, .noticed, subject: "p1", at: time, window: window, noticedAt: "2023-01-01T00:00:00Z")
                refs.append("\(event.source)#\(event.id)")
                _ = state.apply(event)
            }
        }
        let outage = try #require(state.outage("north/power/p1"))
        #expect(outage.refs.count == 64)
        #expect(outage.refs.first == refs.first && Array(outage.refs.dropFirst()) == Array(refs.suffix(63)))
        let lapsed = try #require(state.advance(to: Fixtures.time("2023-01-10T07:00:00Z")).first { $0.key == "outage_lapsed/north/power/p1" })
        #expect(lapsed.refs.count <= 64)
        let alert = AlertReport(status: .raised, kind: .outageLapsed, key: lapsed.key, message: lapsed.message, refs: lapsed.refs)
        let event = Event(id: "a1", source: "/conduit/aggregator", time: Fixtures.time("2023-01-10T07:00:00Z"), data: .alert(alert))
        #expect(throws: Never.self) { try EventCodec.decode(EventCodec.encode(event)) }
    }

    // MARK: escalation

    /// Suspended because households refuse access: after 7 days, an entry for the sub-district office (whose duty is
    /// the household survey and mediation), cleared when the work resumes. Other reasons are not escalated.
    @Test(arguments: [("some households refuse access", true), ("cables not delivered", false)])
    func aSuspensionForRefusedAccessIsEscalated(reason: String, escalated: Bool) throws {
        var factory = Self.factory()
        var state = AggregateState(scenario: Self.scenario)
        let key = "escalation/access-refused/north-water"
        _ = state.apply(factory.progress("north-water", .inProgress, percent: 10, at: "2023-01-05T02:00:00Z"))
        var suspended = factory.progress("north-water", .suspended, percent: 10, at: "2023-01-06T02:00:00Z")
        if case .progress(var report) = suspended.data {
            report.blockingReason = reason
            suspended.data = .progress(report)
        }
        _ = state.apply(suspended)
        #expect(state.advance(to: Fixtures.time("2023-01-12T02:00:00Z")).of(key) == [], "6 days")
        #expect(state.advance(to: Fixtures.time("2023-01-13T02:00:00Z")).of(key) == (escalated ? [.raised] : []))
        guard escalated else { return }
        let entry = try #require(state.ledger[key])
        #expect(entry.subject.organisation == "subdistrict")
        #expect(entry.subject.workItem == "north-water" && entry.subject.community == "north")
        #expect(entry.figures.integer(.suspendedDays) == 7)
        let resumed = state.apply(factory.progress("north-water", .inProgress, percent: 12, at: "2023-01-14T02:00:00Z"))
        #expect(resumed.of(key) == [.cleared])
    }
}
