import ConduitCore
import Testing

@testable import ConduitState

@Suite struct AggregateStateTests {
    /// A mix of every kind, out of order in places, raising and clearing alerts along the way.
    static func history() -> [Event] {
        var factory = EventFactory()
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        return [
            factory.presence(.birth, at: "2023-01-02T00:00:00Z"),
            factory.progress("north-power", .inProgress, percent: 10, at: "2023-01-02T01:00:00Z"),
            factory.progress("north-water", .scheduled, at: "2023-01-02T02:00:00Z"),
            factory.outage(.power, .noticed, subject: "p1", at: "2023-01-05T00:00:00Z", window: window, noticedAt: "2023-01-05T00:00:00Z"),
            factory.outage(.water, .noticed, subject: "w1", at: "2023-01-06T00:00:00Z", window: window, noticedAt: "2023-01-06T00:00:00Z", buildings: ["b1", "b2"], households: 100),
            factory.outage(.power, .started, subject: "p1", at: "2023-01-10T00:00:00Z", window: window, startedAt: "2023-01-10T00:00:00Z"),
            factory.inspection("north-water", kind: .waterAcceptance, result: .failed, at: "2023-01-11T00:00:00Z", authority: "waterco",
                defects: [Defect(id: "d1", severity: .critical, description: "破损 \"burst\"", dueDate: Fixtures.date("2023-01-15"))]),
            factory.progress("north-power", .inProgress, percent: 35, at: "2023-01-16T00:00:00Z"),
            factory.progress("north-power", .inProgress, percent: 20, at: "2023-01-03T00:00:00Z"),
            factory.outage(.power, .restored, subject: "p1", at: "2023-01-10T09:00:00Z", window: window, restoredAt: "2023-01-10T09:00:00Z"),
            factory.presence(.heartbeat, at: "2023-01-17T00:00:00Z"),
            factory.stamp(Event(
                id: "", source: "/conduit/aggregator", time: Fixtures.time("2023-01-17T00:00:01Z"),
                data: .alert(AlertReport(status: .raised, kind: .behindSchedule, key: "behind_schedule/north-power", message: "behind")))),
            factory.progress("north-power", .completed, percent: 100, at: "2023-01-30T00:00:00Z", plannedFinish: "2023-01-31"),
        ]
    }

    @Test func duplicateSequenceIsIgnored() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let event = factory.progress("north-power", .inProgress, percent: 10, at: "2023-01-02T00:00:00Z")
        _ = state.apply(event)
        let before = state
        var again = event
        if case .progress(var report) = again.data {
            report.percent = 90
            again.data = .progress(report)
        }
        #expect(state.apply(again).isEmpty)
        #expect(state.workItem("north-power")?.percent == 10)
        #expect(state.lastSequence == 1)
        #expect(state.eventsIgnored == before.eventsIgnored + 1)
        #expect(state.eventsApplied == before.eventsApplied)
        var older = event
        older.sequence = 0
        #expect(state.apply(older).isEmpty, "a lower sequence is a duplicate too")
    }

    @Test func olderProgressReportIsIgnored() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 50, at: "2023-01-10T00:00:00Z"))
        _ = state.apply(factory.progress("north-power", .scheduled, percent: 0, at: "2023-01-05T00:00:00Z"))
        #expect(state.workItem("north-power")?.status == .inProgress)
        #expect(state.workItem("north-power")?.percent == 50)
        #expect(state.eventsIgnored == 1)
        #expect(!state.isRaised("lifecycle_anomaly/workitem/north-power/transition"))
    }

    @Test func inspectionsAreKeptInTimeOrder() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.inspection("north-power", kind: .jointAcceptance, result: .passed, at: "2023-02-03T00:00:00Z"))
        _ = state.apply(factory.inspection("north-power", kind: .jointAcceptance, result: nil, at: "2023-01-20T00:00:00Z"))
        #expect(state.workItem("north-power")?.inspections.map(\.report.status) == [.requested, .performed])
    }

    @Test func clockComesFromTheEvents() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        #expect(state.now == nil)
        var event = factory.progress("north-power", .inProgress, percent: 10, at: "2023-01-02T00:00:00Z")
        event.recordedTime = Fixtures.time("2023-01-02T06:00:00Z")
        _ = state.apply(event)
        #expect(state.now == Fixtures.time("2023-01-02T00:00:00Z"), "the facts' time, not when the broker recorded them")
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 10, at: "2023-01-01T00:00:00Z"))
        #expect(state.now == Fixtures.time("2023-01-02T00:00:00Z"), "the clock never goes back")
        #expect(state.advance(to: Fixtures.time("2022-01-01T00:00:00Z")).isEmpty)
        #expect(state.today == Fixtures.date("2023-01-02"))
    }

    @Test func publishedAlertsAreRecordedAndDeriveNothing() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 50, at: "2023-01-16T00:00:00Z"))
        let active = state.activeAlerts
        let alert = factory.stamp(Event(
            id: "", source: "/conduit/aggregator", time: Fixtures.time("2023-01-16T00:00:01Z"),
            data: .alert(AlertReport(status: .raised, kind: .outageOverlap, key: "outage_overlap/x+y", message: "overlap"))))
        #expect(state.apply(alert).isEmpty)
        #expect(state.activeAlerts == active)
        #expect(state.publishedAlerts["outage_overlap/x+y"]?.report.status == .raised)
    }

    @Test func alertChangesMakeValidAlertEvents() throws {
        var state = AggregateState(scenario: Fixtures.scenario)
        let changes = state.apply(Self.history())
        let validator = EventValidator(scenario: Fixtures.scenario)
        for (position, change) in changes.enumerated() {
            let event = Event(id: "alert-\(position)", source: "/conduit/aggregator", time: change.time, data: .alert(change.report))
            try validator.validate(event)
            #expect(state.apply(event).isEmpty)
        }
        // The history holds one alert event of its own, behind_schedule/north-power.
        #expect(Set(state.publishedAlerts.keys) == Set(changes.map(\.key) + ["behind_schedule/north-power"]))
    }

    @Test func foldingTwiceIsDeterministic() {
        var first = AggregateState(scenario: Fixtures.scenario)
        var second = AggregateState(scenario: Fixtures.scenario)
        let firstChanges = first.apply(Self.history())
        let secondChanges = second.apply(Self.history())
        #expect(!firstChanges.isEmpty)
        #expect(first == second)
        #expect(firstChanges == secondChanges)
        #expect(first.json() == second.json())
    }

    @Test func everyRaiseIsClearedByItsKeyAtMostOnce() {
        var state = AggregateState(scenario: Fixtures.scenario)
        var open: Set<String> = []
        for change in state.apply(Self.history()) {
            switch change.status {
            case .raised: #expect(open.insert(change.key).inserted, "raised twice: \(change.key)")
            case .cleared: #expect(open.remove(change.key) != nil, "cleared without a raise: \(change.key)")
            case .acknowledged: Issue.record("the fold derives no acknowledgement")
            }
        }
        #expect(open == Set(state.raisedEntries.keys))
    }

    @Test func checkpointRoundTrips() throws {
        let events = Self.history()
        var state = AggregateState(scenario: Fixtures.scenario, options: StateOptions(behindScheduleThreshold: 12.5, missedHeartbeats: 4))
        let half = events.count / 2
        _ = state.apply(Array(events[..<half]))
        let restored = try AggregateState.restore(json: state.json(), scenario: Fixtures.scenario)
        #expect(restored == state)
        #expect(restored.json() == state.json())

        var continued = restored
        let expected = state.apply(Array(events[half...]))
        #expect(continued.apply(Array(events[half...])) == expected)
        #expect(continued == state)
    }

    @Test func restoreRejectsAnotherScenarioAndBadDocuments() throws {
        let state = AggregateState(scenario: Fixtures.scenario)
        // A snapshot carries its plan: it restores under that plan whatever plan the reader expected.
        #expect(try AggregateState.restore(json: state.json(), scenario: .default) == state)
        // One written before snapshots carried their plan is checked against the plan given.
        guard case .object(let members) = try JSONValue.parse(state.json()) else { Issue.record("not an object"); return }
        let withoutPlan = JSONValue.object(members.filter { $0.key != "plan" }).encoded
        #expect(throws: ConduitError.self) { try AggregateState.restore(json: withoutPlan, scenario: .default) }
        #expect(try AggregateState.restore(json: withoutPlan, scenario: Fixtures.scenario) == state)
        #expect(throws: ConduitError.self) { try AggregateState.restore(json: Array("{}".utf8), scenario: Fixtures.scenario) }
        #expect(throws: ConduitError.self) { try AggregateState.restore(json: Array("not json".utf8), scenario: Fixtures.scenario) }
    }

    @Test(arguments: [
        ("communities/north", true), ("communities/south", true), ("communities/nowhere", false),
        ("utilities/water", true), ("utilities/broadcast", false), ("workitems/north-power", true), ("workitems/x", false),
        ("organisations/grid", true), ("alerts", true), ("outages", true), ("outages/0", true), ("outages/9", false),
        ("agents", true), ("summary", true), ("nope", false),
    ])
    func subtreePaths(_ path: String, _ exists: Bool) throws {
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(Self.history())
        let bytes = state.json(at: path)
        #expect((bytes != nil) == exists)
        if let bytes { _ = try JSONValue.parse(bytes) }
    }

    @Test func subtreeContents() throws {
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(Self.history())
        let north = try JSONValue.parse(try #require(state.json(at: "communities/north")))
        #expect(north["rollup"]?["households"] == .number("100"))
        #expect(north["workitems"] == .array([.string("north-power"), .string("north-water")]))
        let item = try JSONValue.parse(try #require(state.json(at: "workitems/north-water")))
        #expect(item["openBlockingDefects"] == .array([.string("d1")]))
        #expect(item["status"] == .string("scheduled"))
        let whole = try JSONValue.parse(state.json())
        #expect(whole["workitems"]?["north-water"] == item)
    }

    @Test func jsonMembersAreSorted() throws {
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(Self.history())
        func check(_ value: JSONValue) {
            switch value {
            case .object(let members):
                #expect(members.map(\.key) == members.map(\.key).sorted())
                // The plan is a document of its own format, in its documented order.
                members.filter { $0.key != "plan" }.forEach { check($0.value) }
            case .array(let elements): elements.forEach(check)
            default: break
            }
        }
        check(try JSONValue.parse(state.json()))
    }

    /// The clock can be moved to any instant a 64-bit time can hold (a heartbeat is a peer's number): the time
    /// rules run without trapping.
    @Test(arguments: [Int64.max, Int64.max - 1, Timestamp.latest.microsecondsSinceEpoch])
    func theClockMovesToTheEndOfTimeWithoutTrapping(_ micros: Int64) {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply([
            factory.progress("north-power", .inProgress, percent: 10, at: "2023-01-10T08:00:00Z"),
            factory.outage(.power, .started, subject: "cut", at: "2023-01-11T08:00:00Z", startedAt: "2023-01-11T08:00:00Z"),
            factory.presence(.birth, at: "2023-01-11T09:00:00Z"),
        ])
        _ = state.advance(to: Timestamp(microsecondsSinceEpoch: micros))
        #expect(state.now == Timestamp(microsecondsSinceEpoch: micros))
    }
}

/// A `conduit.plan` event puts its plan in force for the events after it.
@Suite struct PlanChangeTests {
    static func amended(noticeHours: Int, dropping: String? = nil, adding: WorkItem? = nil) throws -> Scenario {
        let base = Fixtures.scenario
        var rules = base.noticeRules
        rules[0].leadHours = noticeHours
        return try Scenario(
            id: base.id, name: base.name, deadline: base.deadline, timeZone: base.timeZone, noticeRules: rules,
            communities: base.communities, organisations: base.organisations,
            workItems: base.workItems.filter { $0.id != dropping } + (adding.map { [$0] } ?? []))
    }

    @Test func workItemsKeepTheirStateNewOnesStartAndDroppedOnesLoseTheirAlerts() throws {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.progress("north-water", .inProgress, percent: 40, at: "2023-01-20T08:00:00Z"))
        // north-power has not started long after its planned start: behind schedule.
        _ = state.apply(factory.progress("south-telecom", .planned, percent: 0, at: "2023-01-25T08:00:00Z"))
        let raisedBefore = state.activeAlerts.keys.filter { $0.contains("north-power") }
        #expect(!raisedBefore.isEmpty)
        var extra = Fixtures.scenario.workItems[0]
        extra.id = "north-extra"
        let plan = try Self.amended(noticeHours: 168, dropping: "north-power", adding: extra)
        let changes = state.apply(Event(
            id: "p-1", source: "/conduit/broker", time: try Timestamp(rfc3339: "2023-01-26T00:00:00Z"), sequence: nil,
            data: .plan(plan)))
        #expect(state.scenario == plan)
        #expect(state.workItem("north-power") == nil)
        #expect(state.workItem("north-extra")?.status == nil)
        #expect(state.workItem("north-water")?.percent == 40)
        #expect(state.activeAlerts.keys.allSatisfy { !$0.contains("north-power") })
        for key in raisedBefore {
            #expect(changes.contains { $0.key == key && $0.status == .cleared })
        }
    }

    @Test func theNoticeRulesOfThePlanInForceDecide() throws {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        // A day's notice is short for power under the seven-day rule.
        let short = state.apply(factory.outage(
            .power, .noticed, subject: "a", at: "2023-02-01T08:00:00Z", window: ("2023-02-02T08:00:00Z", "2023-02-02T12:00:00Z"),
            noticedAt: "2023-02-01T08:00:00Z"))
        #expect(short.contains { $0.kind == .shortNotice && $0.status == .raised })
        _ = state.apply(Event(
            id: "p-1", source: "/conduit/broker", time: try Timestamp(rfc3339: "2023-02-01T09:00:00Z"),
            data: .plan(try Self.amended(noticeHours: 12))))
        #expect(state.options.requiredNoticeSeconds(for: .power) == 12 * 3600)
        let enough = state.apply(factory.outage(
            .power, .noticed, subject: "b", at: "2023-02-01T10:00:00Z", window: ("2023-02-02T08:00:00Z", "2023-02-02T12:00:00Z"),
            noticedAt: "2023-02-01T10:00:00Z"))
        #expect(!enough.contains { $0.kind == .shortNotice && $0.status == .raised })
    }
}

extension PlanChangeTests {
    /// A plan stated long after the facts (a broker restarted today over last year's journal) must not make the
    /// whole programme look late at the moment of the statement.
    @Test func aPlanStatementMovesNoClock() throws {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 5, at: "2023-01-05T08:00:00Z"))
        let changes = state.apply(Event(
            id: "p-1", source: "/conduit/broker", time: try Timestamp(rfc3339: "2026-11-30T00:00:00Z"),
            data: .plan(try Self.amended(noticeHours: 168))))
        #expect(state.now == (try Timestamp(rfc3339: "2023-01-05T08:00:00Z")))
        #expect(!changes.contains { $0.status == .raised })
    }
}

extension PlanChangeTests {
    /// The ledger's messages give times in the plan's time zone, never in UTC.
    @Test func ledgerMessagesSpeakThePlansLocalTime() throws {
        let base = Fixtures.scenario
        let plan = try Scenario(
            id: base.id, name: base.name, deadline: base.deadline,
            timeZone: PlanTimeZone(identifier: "America/Sao_Paulo", utcOffsetSeconds: -3 * 3600), noticeRules: base.noticeRules,
            communities: base.communities, organisations: base.organisations, workItems: base.workItems)
        var factory = EventFactory()
        var state = AggregateState(scenario: plan)
        let window = ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z")
        _ = state.apply(factory.outage(.power, .noticed, subject: "p1", at: "2023-01-01T00:00:00Z", window: window, noticedAt: "2023-01-01T00:00:00Z"))
        _ = state.apply(factory.outage(.power, .started, subject: "p1", at: "2023-01-10T00:05:00Z", window: window, startedAt: "2023-01-10T00:05:00Z"))
        let changes = state.apply(factory.outage(
            .power, .restored, subject: "p1", at: "2023-01-10T07:00:00Z", window: window, startedAt: "2023-01-10T00:05:00Z",
            restoredAt: "2023-01-10T07:00:00Z"))
        let overrun = try #require(changes.first { $0.kind == .outageOverrun && $0.status == .raised })
        #expect(overrun.message.contains("restored at 2023-01-10 04:00:00 -03:00"))
        #expect(overrun.message.contains("ended at 2023-01-10 03:00:00 -03:00"))
        #expect(!overrun.message.contains("Z,") && !overrun.message.hasSuffix("Z"))
    }
}
