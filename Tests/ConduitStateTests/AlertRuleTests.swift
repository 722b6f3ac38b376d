import ConduitCore
import Testing

@testable import ConduitState

/// One table-driven test per alert rule: each row says whether the rule raises, and a follow-up
/// event shows it cleared when the cause goes. Times are UTC; "today" is the China Standard Time day.
@Suite struct AlertRuleTests {
    // MARK: behind schedule

    struct BehindRow: Sendable, CustomTestStringConvertible {
        var percent: Double
        var raised: Bool
        var testDescription: String { "\(percent)% on day 15 of 30 → \(raised ? "raised" : "quiet")" }
    }

    /// north-power: 2023-01-01 → 2023-01-31; on 2023-01-16 the plan expects 50%; the threshold is 10 points.
    @Test(arguments: [
        BehindRow(percent: 30, raised: true), BehindRow(percent: 39.5, raised: true),
        BehindRow(percent: 40, raised: false), BehindRow(percent: 55, raised: false),
    ])
    func behindSchedule(_ row: BehindRow) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "behind_schedule/north-power"
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 5, at: "2023-01-02T02:00:00Z"))
        #expect(!state.isRaised(key))
        let changes = state.apply(factory.progress("north-power", .inProgress, percent: row.percent, at: "2023-01-16T02:00:00Z"))
        #expect(changes.of(key) == (row.raised ? [.raised] : []))
        #expect(state.isRaised(key) == row.raised)
        let caughtUp = state.apply(factory.progress("north-power", .inProgress, percent: 60, at: "2023-01-16T03:00:00Z"))
        #expect(caughtUp.of(key) == (row.raised ? [.cleared] : []))
        #expect(!state.isRaised(key))
    }

    /// Raised beyond 10 points behind; cleared only within 5: an item hovering near the threshold does not flap.
    @Test func behindScheduleClearsOnlyWithinHalfTheThreshold() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "behind_schedule/north-power"
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 5, at: "2023-01-02T02:00:00Z"))
        #expect(state.apply(factory.progress("north-power", .inProgress, percent: 38, at: "2023-01-16T02:00:00Z")).of(key) == [.raised])
        #expect(state.apply(factory.progress("north-power", .inProgress, percent: 42, at: "2023-01-16T03:00:00Z")).of(key) == [])
        #expect(state.isRaised(key), "8 points behind: still raised")
        #expect(state.apply(factory.progress("north-power", .inProgress, percent: 46, at: "2023-01-16T04:00:00Z")).of(key) == [.cleared])
        #expect(state.apply(factory.progress("north-power", .inProgress, percent: 42, at: "2023-01-16T05:00:00Z")).of(key) == [])
        #expect(!state.isRaised(key), "8 points behind again: not raised again")
    }

    @Test func behindScheduleThresholdIsConfigurable() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario, options: StateOptions(behindScheduleThreshold: 25))
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 30, at: "2023-01-16T02:00:00Z"))
        #expect(!state.isRaised("behind_schedule/north-power"))
    }

    @Test func behindScheduleRaisedWhenTimeAlonePasses() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 50, at: "2023-01-16T02:00:00Z"))
        #expect(!state.isRaised("behind_schedule/north-power"))
        let changes = state.advance(to: Fixtures.time("2023-01-22T02:00:00Z"))
        #expect(changes.of("behind_schedule/north-power") == [.raised])
    }

    // MARK: not started by the planned start

    struct NotStartedRow: Sendable, CustomTestStringConvertible {
        var status: WorkStatus
        var raised: Bool
        var testDescription: String { "\(status.rawValue) after the planned start → \(raised ? "raised" : "cleared")" }
    }

    @Test(arguments: [
        NotStartedRow(status: .planned, raised: true), NotStartedRow(status: .scheduled, raised: true),
        NotStartedRow(status: .inProgress, raised: false), NotStartedRow(status: .cancelled, raised: false),
    ])
    func notStarted(_ row: NotStartedRow) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "behind_schedule/south-telecom"
        _ = state.apply(factory.progress("south-telecom", .planned, at: "2023-01-31T02:00:00Z"))
        #expect(!state.isRaised(key), "the plan starts on 2023-02-01")
        let changes = state.advance(to: Fixtures.time("2023-02-02T02:00:00Z"))
        #expect(changes.of(key) == [.raised])
        if row.status == .inProgress { _ = state.apply(factory.progress("south-telecom", .scheduled, at: "2023-02-02T03:00:00Z")) }
        _ = state.apply(factory.progress("south-telecom", row.status, percent: 1, at: "2023-02-02T04:00:00Z"))
        #expect(state.isRaised(key) == row.raised)
    }

    // MARK: outages of different utilities overlapping on the same buildings

    struct OverlapRow: Sendable, CustomTestStringConvertible {
        var name: String
        var service: Utility
        var window: (String, String)
        var buildings: [String]
        var raised: Bool
        var testDescription: String { name }
    }

    /// A power outage on north b1 from 2023-01-10T00:00Z to 06:00Z, against a second outage.
    @Test(arguments: [
        OverlapRow(name: "water on b1 overlapping", service: .water, window: ("2023-01-10T04:00:00Z", "2023-01-10T08:00:00Z"), buildings: ["b1"], raised: true),
        OverlapRow(name: "water on all buildings", service: .water, window: ("2023-01-10T05:00:00Z", "2023-01-10T08:00:00Z"), buildings: [], raised: true),
        OverlapRow(name: "water on b2 only", service: .water, window: ("2023-01-10T04:00:00Z", "2023-01-10T08:00:00Z"), buildings: ["b2"], raised: false),
        OverlapRow(name: "water after the power window", service: .water, window: ("2023-01-10T06:00:00Z", "2023-01-10T08:00:00Z"), buildings: ["b1"], raised: false),
        OverlapRow(name: "power again (same utility)", service: .power, window: ("2023-01-10T04:00:00Z", "2023-01-10T08:00:00Z"), buildings: ["b1"], raised: false),
    ])
    func outageOverlap(_ row: OverlapRow) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.outage(
            .power, .noticed, subject: "p1", at: "2023-01-01T00:00:00Z", window: ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z"),
            noticedAt: "2023-01-01T00:00:00Z"))
        let window = row.window
        let changes = state.apply(factory.outage(
            row.service, .noticed, subject: "second", at: "2023-01-02T00:00:00Z", window: window, noticedAt: "2023-01-01T00:00:00Z",
            buildings: row.buildings))
        let overlaps = changes.filter { $0.kind == .outageOverlap }
        #expect(overlaps.map(\.status) == (row.raised ? [.raised] : []))
        guard row.raised else { return }
        #expect(overlaps[0].message.contains("north/power/p1"))
        let cleared = state.apply(factory.outage(row.service, .cancelled, subject: "second", at: "2023-01-03T00:00:00Z", window: window))
        #expect(cleared.filter { $0.kind == .outageOverlap }.map(\.status) == [.cleared])
        #expect(state.activeAlerts.values.allSatisfy { $0.kind != .outageOverlap })
    }

    // MARK: short notice

    struct NoticeRow: Sendable, CustomTestStringConvertible {
        var service: Utility
        var leadHours: Int64
        var raised: Bool
        var testDescription: String { "\(service.rawValue) noticed \(leadHours) h ahead → \(raised ? "raised" : "quiet")" }
    }

    /// Defaults: power 7 days, water 24 hours.
    @Test(arguments: [
        NoticeRow(service: .power, leadHours: 72, raised: true), NoticeRow(service: .power, leadHours: 167, raised: true),
        NoticeRow(service: .power, leadHours: 168, raised: false), NoticeRow(service: .water, leadHours: 12, raised: true),
        NoticeRow(service: .water, leadHours: 24, raised: false), NoticeRow(service: .telecom, leadHours: 30, raised: false),
    ])
    func shortNotice(_ row: NoticeRow) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let start = Fixtures.time("2023-01-20T00:00:00Z")
        let noticed = start.adding(seconds: -row.leadHours * 3600).rfc3339
        let window = ("2023-01-20T00:00:00Z", "2023-01-20T04:00:00Z")
        let changes = state.apply(factory.outage(row.service, .noticed, subject: "o", at: noticed, window: window, noticedAt: noticed))
        let key = "short_notice/north/\(row.service.rawValue)/o"
        #expect(changes.of(key) == (row.raised ? [.raised] : []))
        // A violation: calling the outage off does not take the short notice off the record.
        let cancelled = state.apply(factory.outage(row.service, .cancelled, subject: "o", at: "2023-01-19T23:00:00Z", window: window))
        #expect(cancelled.of(key) == [])
        #expect(state.isRaised(key) == row.raised)
    }

    @Test func requiredNoticeIsConfigurable() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario, options: StateOptions(requiredNotice: [.power: .seconds(86_400)]))
        let changes = state.apply(factory.outage(
            .power, .noticed, subject: "o", at: "2023-01-17T00:00:00Z", window: ("2023-01-20T00:00:00Z", "2023-01-20T04:00:00Z"),
            noticedAt: "2023-01-17T00:00:00Z"))
        #expect(changes.filter { $0.kind == .shortNotice }.isEmpty)
    }

    // MARK: failed inspection not re-inspected by its due date

    struct ReinspectionRow: Sendable, CustomTestStringConvertible {
        var result: InspectionResult
        var reinspectedBeforeDue: Bool
        var raised: Bool
        var testDescription: String { "\(result.rawValue), re-inspected before due: \(reinspectedBeforeDue)" }
    }

    @Test(arguments: [
        ReinspectionRow(result: .failed, reinspectedBeforeDue: false, raised: true),
        ReinspectionRow(result: .conditional, reinspectedBeforeDue: false, raised: true),
        ReinspectionRow(result: .failed, reinspectedBeforeDue: true, raised: false),
    ])
    func reinspectionOverdue(_ row: ReinspectionRow) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "reinspection_overdue/north-water"
        let defect = Defect(id: "d1", severity: .major, description: "leak", dueDate: Fixtures.date("2023-01-20"))
        _ = state.apply(factory.inspection(
            "north-water", kind: .waterAcceptance, result: row.result, at: "2023-01-15T02:00:00Z", authority: "waterco", defects: [defect]))
        var verified = defect
        verified.status = .verified
        if row.reinspectedBeforeDue {
            _ = state.apply(factory.inspection(
                "north-water", kind: .waterAcceptance, result: .passed, at: "2023-01-19T02:00:00Z", authority: "waterco", defects: [verified]))
        }
        #expect(state.advance(to: Fixtures.time("2023-01-20T12:00:00Z")).of(key) == [], "due today is not past due")
        #expect(state.advance(to: Fixtures.time("2023-01-21T02:00:00Z")).of(key) == (row.raised ? [.raised] : []))
        guard row.raised else { return }
        let cleared = state.apply(factory.inspection(
            "north-water", kind: .waterAcceptance, result: .passed, at: "2023-01-22T02:00:00Z", authority: "waterco", defects: [verified]))
        #expect(cleared.of(key) == [.cleared])
    }

    // MARK: outage past its planned end and not restored

    struct OverrunRow: Sendable, CustomTestStringConvertible {
        var restoredAt: String?
        var checkedAt: String
        var raised: Bool
        var testDescription: String { "restored \(restoredAt ?? "never"), checked \(checkedAt)" }
    }

    /// The window ends at 2023-01-10T06:00Z. Still off past it as far as the reports tell: `outage_unrestored`, a
    /// condition cleared by the restoration; restored after it: `outage_overrun`, a violation that stays.
    @Test(arguments: [
        OverrunRow(restoredAt: nil, checkedAt: "2023-01-10T05:59:00Z", raised: false),
        OverrunRow(restoredAt: nil, checkedAt: "2023-01-10T06:01:00Z", raised: true),
        OverrunRow(restoredAt: "2023-01-10T05:30:00Z", checkedAt: "2023-01-10T07:00:00Z", raised: false),
    ])
    func outageOverrun(_ row: OverrunRow) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "outage_unrestored/north/power/p1"
        let overrun = "outage_overrun/north/power/p1"
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        _ = state.apply(factory.outage(.power, .noticed, subject: "p1", at: "2023-01-01T00:00:00Z", window: window, noticedAt: "2023-01-01T00:00:00Z"))
        _ = state.apply(factory.outage(.power, .started, subject: "p1", at: "2023-01-10T00:00:00Z", window: window, startedAt: "2023-01-10T00:00:00Z"))
        if let restoredAt = row.restoredAt {
            _ = state.apply(factory.outage(.power, .restored, subject: "p1", at: restoredAt, window: window, restoredAt: restoredAt))
        }
        #expect(state.advance(to: Fixtures.time(row.checkedAt)).of(key) == (row.raised ? [.raised] : []))
        #expect(!state.isRaised(overrun))
        guard row.raised else { return }
        let restored = state.apply(factory.outage(
            .power, .restored, subject: "p1", at: "2023-01-10T08:00:00Z", window: window, restoredAt: "2023-01-10T08:00:00Z"))
        #expect(restored.of(key) == [.cleared])
        #expect(restored.of(overrun) == [.raised])
        #expect(state.ledger[overrun]?.figures.integer(.overrunMinutes) == 120)
    }

    /// Restored late, but the clock never saw it still off: the overrun is recorded when the restoration arrives,
    /// and stays on the record (it was raised and cleared in the same instant before).
    @Test func anOverrunLearntFromTheRestorationIsRecorded() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "outage_overrun/north/power/p1"
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        _ = state.apply(factory.outage(.power, .noticed, subject: "p1", at: "2023-01-01T00:00:00Z", window: window, noticedAt: "2023-01-01T00:00:00Z"))
        _ = state.apply(factory.outage(.power, .started, subject: "p1", at: "2023-01-10T00:00:00Z", window: window, startedAt: "2023-01-10T00:00:00Z"))
        let restored = state.apply(factory.outage(
            .power, .restored, subject: "p1", at: "2023-01-10T07:30:00Z", window: window, restoredAt: "2023-01-10T07:30:00Z"))
        #expect(restored.of(key) == [.raised])
        #expect(restored.first { $0.key == key }?.message.contains("1 h 30 min after its window ended") == true)
        #expect(state.isRaised(key))
        #expect(state.ledger[key]?.ledgerClass == .violation)
    }

    // MARK: agent silent past its timeout

    struct SilenceRow: Sendable, CustomTestStringConvertible {
        var intervalMs: Int?
        var silentSeconds: Int64
        var raised: Bool
        var testDescription: String { "interval \(intervalMs.map(String.init) ?? "default") ms, silent \(silentSeconds) s" }
    }

    /// Three missed heartbeats: 10 s → 30 s; the default interval 30 s → 90 s.
    @Test(arguments: [
        SilenceRow(intervalMs: 10_000, silentSeconds: 30, raised: false), SilenceRow(intervalMs: 10_000, silentSeconds: 31, raised: true),
        SilenceRow(intervalMs: nil, silentSeconds: 89, raised: false), SilenceRow(intervalMs: nil, silentSeconds: 91, raised: true),
    ])
    func agentSilent(_ row: SilenceRow) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "agent_silent/grid/agent"
        let start = Fixtures.time("2023-01-10T00:00:00Z")
        _ = state.apply(factory.presence(.heartbeat, intervalMs: row.intervalMs, at: start.rfc3339))
        #expect(state.agent("grid/agent")?.liveness == .online)
        #expect(state.advance(to: start.adding(seconds: row.silentSeconds)).of(key) == (row.raised ? [.raised] : []))
        #expect(state.agent("grid/agent")?.liveness == (row.raised ? .stale : .online))
        let heartbeat = state.apply(factory.presence(.heartbeat, intervalMs: row.intervalMs, at: start.adding(seconds: 100).rfc3339))
        #expect(heartbeat.of(key) == (row.raised ? [.cleared] : []))
        #expect(state.agent("grid/agent")?.liveness == .online)
    }

    /// A broker-tracked agent heartbeats on the wire, not in the journal: the fold leaves its liveness to the
    /// broker's records, and its `death` for silence is what raises the alert.
    @Test func brokerTrackedAgentIsSilentOnlyWhenTheBrokerSaysSo() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "agent_silent/grid/agent"
        _ = state.apply(factory.presence(.birth, at: "2023-01-10T00:00:00Z"))
        #expect(state.advance(to: Fixtures.time("2023-01-12T00:00:00Z")).of(key) == [])
        #expect(state.agent("grid/agent")?.liveness == .online)
        var silent = factory.presence(.death, intervalMs: nil, at: "2023-01-12T00:00:01Z")
        silent.subject = "silent"
        #expect(state.apply(silent).of(key) == [.raised])
        #expect(state.agent("grid/agent")?.liveness == .stale)
        #expect(state.apply(factory.presence(.birth, at: "2023-01-12T00:01:00Z")).of(key) == [.cleared])
        var goodbye = factory.presence(.death, intervalMs: nil, at: "2023-01-12T00:02:00Z")
        goodbye.subject = "goodbye"
        #expect(state.apply(goodbye).of(key) == [])
        #expect(state.agent("grid/agent")?.liveness == .dead)
    }

    @Test func deadAgentIsNeverSilent() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.presence(.death, at: "2023-01-10T00:00:00Z"))
        #expect(state.advance(to: Fixtures.time("2023-01-11T00:00:00Z")).filter { $0.kind == .agentSilent }.isEmpty)
        #expect(state.agent("grid/agent")?.liveness == .dead)
    }

    @Test func staleAgentMarksItsDataStale() throws {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.presence(.heartbeat, at: "2023-01-10T00:00:00Z"))
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 40, at: "2023-01-10T00:00:01Z"))
        _ = state.advance(to: Fixtures.time("2023-01-10T00:05:00Z"))
        let item = try JSONValue.parse(try #require(state.json(at: "workitems/north-power")))
        #expect(item["stale"] == .bool(true))
    }

    // MARK: deadline at risk

    struct DeadlineRow: Sendable, CustomTestStringConvertible {
        var today: String
        var raised: Bool
        var testDescription: String { "north unfinished on \(today) → \(raised ? "raised" : "quiet")" }
    }

    /// The deadline is 2023-06-30; north-power (planned 2023-01-01 → 2023-01-31) is at 80 % from 2023-01-12. On
    /// 1 March its pace (80 % in 59 days) finishes it in mid-March: no risk. By 30 May, four months past its planned
    /// finish, the same 80 % means a pace that finishes it only in July: at risk, more than 30 days before the
    /// deadline. Within 30 days of the deadline, and after it, an unfinished item is at risk whatever its pace.
    @Test(arguments: [
        DeadlineRow(today: "2023-03-01T02:00:00Z", raised: false), DeadlineRow(today: "2023-05-30T02:00:00Z", raised: true),
        DeadlineRow(today: "2023-06-02T02:00:00Z", raised: true), DeadlineRow(today: "2023-07-02T02:00:00Z", raised: true),
    ])
    func deadlineAtRisk(_ row: DeadlineRow) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "deadline_at_risk/north-power"
        _ = state.apply(factory.progress("north-water", .inProgress, percent: 100, at: "2023-01-10T00:00:00Z"))
        _ = state.apply(factory.progress("north-water", .completed, percent: 100, at: "2023-01-11T00:00:00Z"))
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 80, at: "2023-01-12T00:00:00Z"))
        #expect(state.advance(to: Fixtures.time(row.today)).of(key) == (row.raised ? [.raised] : []))
        // north-water is completed, not accepted: no risk before the deadline, missed after it.
        #expect(state.isRaised("deadline_at_risk/north-water") == (row.today > "2023-07"))
        guard row.raised else { return }
        // The entry names the deadline once, with the item's own figures.
        let message = state.ledger[key]?.message ?? ""
        #expect(message.ranges(of: "2023-06-30").count == 1, "\(message)")
        #expect(state.ledger[key]?.subject == LedgerSubject(organisation: "grid", community: "north", workItem: "north-power", utility: .power))
        let done = state.apply(factory.progress("north-power", .completed, percent: 100, at: row.today))
        // Completed before the deadline: no longer at risk. After it, still waiting for its acceptance.
        #expect(done.of(key) == (row.today < "2023-07" ? [.cleared] : []))
    }

    // MARK: lifecycle anomalies across events

    @Test func acceptedWithoutPassedAcceptanceThenInspectionArrivesLate() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "acceptance_missing/north-power"
        _ = state.apply(factory.progress("north-power", .completed, percent: 100, at: "2023-01-30T00:00:00Z"))
        let accepted = state.apply(factory.progress("north-power", .accepted, percent: 100, at: "2023-02-05T00:00:00Z"))
        #expect(accepted.of(key) == [.raised])
        // The joint acceptance happened before, but its report arrives after the acceptance.
        let late = state.apply(factory.inspection("north-power", kind: .jointAcceptance, result: .passed, at: "2023-02-03T00:00:00Z"))
        #expect(late.of(key) == [.cleared])
        #expect(state.workItem("north-power")?.isAcceptedByInspections == true)
    }

    @Test func acceptedWithOpenMajorDefect() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let defect = Defect(id: "d7", severity: .major, description: "cable", dueDate: Fixtures.date("2023-02-10"))
        _ = state.apply(factory.inspection("north-power", kind: .jointAcceptance, result: .failed, at: "2023-02-01T00:00:00Z", defects: [defect]))
        _ = state.apply(factory.progress("north-power", .completed, percent: 100, at: "2023-02-02T00:00:00Z"))
        let accepted = state.apply(factory.progress("north-power", .accepted, percent: 100, at: "2023-02-03T00:00:00Z"))
        let change = accepted.first { $0.key == "acceptance_missing/north-power" }
        #expect(change?.message.contains("d7") == true)
    }

    @Test func illegalTransitionRaisedThenClearedByALegalMove() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "lifecycle_anomaly/workitem/north-water/transition"
        _ = state.apply(factory.progress("north-water", .inProgress, percent: 10, at: "2023-01-02T00:00:00Z"))
        #expect(state.apply(factory.progress("north-water", .planned, at: "2023-01-03T00:00:00Z")).of(key) == [.raised])
        #expect(state.apply(factory.progress("north-water", .scheduled, at: "2023-01-04T00:00:00Z")).of(key) == [.cleared])
    }

    @Test func outageRestoredThatNeverStartedUntilTheStartArrivesLate() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let key = "lifecycle_anomaly/outage/north/water/w1"
        _ = state.apply(factory.outage(.water, .noticed, subject: "w1", at: "2023-01-01T00:00:00Z", window: ("2023-01-05T00:00:00Z", "2023-01-05T06:00:00Z"), noticedAt: "2023-01-01T00:00:00Z"))
        let restored = state.apply(factory.outage(.water, .restored, subject: "w1", at: "2023-01-05T05:00:00Z", restoredAt: "2023-01-05T05:00:00Z"))
        #expect(restored.of(key) == [.raised])
        let late = state.apply(factory.outage(.water, .started, subject: "w1", at: "2023-01-05T00:10:00Z", startedAt: "2023-01-05T00:10:00Z"))
        #expect(late.of(key) == [.cleared])
        #expect(state.outage("north/water/w1")?.report.status == .restored)
    }
}
