import ConduitCore
import Testing

@testable import ConduitState

@Suite struct StateDiffTests {
    /// Three events before the earlier moment, eight after it.
    ///
    /// Before: north-power in progress at 10 %, a power outage p1 noticed well ahead, a water outage w1 noticed
    /// 12 h ahead (short notice, a violation that stays on the record). north-water, never reported, has not started
    /// (behind schedule from 2023-01-02). After: north-power at 35 %; w1's window passes with no start reported (it
    /// lapses) and it is then reported cancelled; p1 starts, is not reported restored when its window ends, and is
    /// restored two hours late (outage_unrestored raised and cleared in between, the overrun recorded); an unplanned
    /// water outage w2 starts and is restored; an unplanned telecom outage t1 leaves south without service; a power
    /// outage p2 is noticed too late (short notice raised at the end).
    static func history() -> (before: [Event], after: [Event]) {
        var factory = EventFactory()
        let before = [
            factory.progress("north-power", .inProgress, percent: 10, at: "2023-01-02T01:00:00Z"),
            factory.outage(.power, .noticed, subject: "p1", at: "2023-01-02T02:00:00Z",
                window: ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z"), noticedAt: "2023-01-02T02:00:00Z"),
            factory.outage(.water, .noticed, subject: "w1", at: "2023-01-06T00:00:00Z",
                window: ("2023-01-06T12:00:00Z", "2023-01-06T18:00:00Z"), noticedAt: "2023-01-06T00:00:00Z"),
        ]
        let after = [
            factory.progress("north-power", .inProgress, percent: 35, at: "2023-01-08T00:00:00Z"),
            factory.outage(.water, .cancelled, subject: "w1", at: "2023-01-08T01:00:00Z",
                window: ("2023-01-06T12:00:00Z", "2023-01-06T18:00:00Z")),
            factory.outage(.water, .started, subject: "w2", at: "2023-01-09T00:00:00Z", startedAt: "2023-01-09T00:00:00Z",
                buildings: ["b2"]),
            factory.outage(.water, .restored, subject: "w2", at: "2023-01-09T02:00:00Z", restoredAt: "2023-01-09T02:00:00Z",
                buildings: ["b2"]),
            factory.outage(.power, .started, subject: "p1", at: "2023-01-10T00:00:00Z",
                window: ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z"), startedAt: "2023-01-10T00:00:00Z"),
            factory.progress("north-power", .inProgress, percent: 35, at: "2023-01-10T07:00:00Z"),
            factory.outage(.power, .restored, subject: "p1", at: "2023-01-10T08:00:00Z",
                window: ("2023-01-10T00:00:00Z", "2023-01-10T06:00:00Z"), restoredAt: "2023-01-10T08:00:00Z"),
            factory.outage(.telecom, site: "south", .started, subject: "t1", at: "2023-01-11T00:00:00Z",
                startedAt: "2023-01-11T00:00:00Z", households: 40),
            factory.outage(.power, .noticed, subject: "p2", at: "2023-01-11T01:00:00Z",
                window: ("2023-01-12T00:00:00Z", "2023-01-12T06:00:00Z"), noticedAt: "2023-01-11T01:00:00Z"),
        ]
        return (before, after)
    }

    static func fold() -> (earlier: AggregateState, later: AggregateState, changes: [AlertChange]) {
        let (before, after) = history()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(before)
        let earlier = state
        let changes = state.apply(after)
        return (earlier, state, changes)
    }

    @Test func workItemsThatMovedAreListedFromAndTo() {
        let (earlier, later, changes) = Self.fold()
        let diff = StateDiff(from: earlier, to: later, alertChanges: changes)
        #expect(diff.from == StateDiff.Moment(lastSequence: 3, now: Fixtures.time("2023-01-06T00:00:00Z")))
        #expect(diff.to == StateDiff.Moment(lastSequence: 12, now: Fixtures.time("2023-01-11T01:00:00Z")))
        #expect(diff.workItems.map(\.item.id) == ["north-power"], "north-water and south-telecom did not move")
        let power = diff.workItems[0]
        #expect(power.fromStatus == .inProgress && power.toStatus == .inProgress)
        #expect(power.fromPercent == 10 && power.toPercent == 35)
    }

    @Test func outagesOpenedChangedAndClosed() {
        let (earlier, later, changes) = Self.fold()
        let diff = StateDiff(from: earlier, to: later, alertChanges: changes)
        #expect(diff.outagesOpened.map(\.outage.key) == ["north/water/w2", "south/telecom/t1", "north/power/p2"])
        #expect(diff.outagesOpened.allSatisfy { $0.fromStatus == nil })
        #expect(diff.outagesChanged.isEmpty, "p1 went from noticed to restored: it is closed, not changed")
        #expect(diff.outagesClosed.map(\.outage.key) == ["north/power/p1", "north/water/w1", "north/water/w2"])
        #expect(diff.outagesClosed.map(\.fromStatus) == [.noticed, .noticed, nil])
        #expect(diff.outagesClosed.map(\.toStatus) == [.restored, .cancelled, .restored])

        // Between p1's start and its restoration it is changed, not closed.
        let (before, after) = Self.history()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(before)
        let start = state
        _ = state.apply(Array(after.prefix(5)))
        let started = StateDiff(from: start, to: state)
        #expect(started.outagesChanged.map(\.outage.key) == ["north/power/p1"])
        #expect(started.outagesChanged.first?.fromStatus == .noticed)
        #expect(started.outagesChanged.first?.toStatus == .started)
    }

    @Test func alertsRaisedClearedAndRaisedAndClearedInBetween() {
        let (earlier, later, changes) = Self.fold()
        #expect(earlier.isRaised("short_notice/north/water/w1"))
        let diff = StateDiff(from: earlier, to: later, alertChanges: changes)
        // p1's overrun is recorded when its restoration is reported; p2 is noticed too late.
        #expect(diff.alertsRaised.map(\.key) == ["outage_overrun/north/power/p1", "short_notice/north/power/p2"])
        #expect(diff.alertsRaised.map(\.raisedAt) == [Fixtures.time("2023-01-10T08:00:00Z"), Fixtures.time("2023-01-11T01:00:00Z")])
        // w1's short notice is a violation: its cancellation does not take it off the record.
        #expect(diff.alertsCleared.isEmpty)
        #expect(later.isRaised("short_notice/north/water/w1"))
        #expect(diff.alertsRaisedAndCleared.map(\.key) == ["outage_lapsed/north/water/w1", "outage_unrestored/north/power/p1"])
        let lapsed = diff.alertsRaisedAndCleared[0]
        #expect(lapsed.raisedAt == Fixtures.time("2023-01-08T00:00:00Z"))
        #expect(lapsed.clearedAt == Fixtures.time("2023-01-08T01:00:00Z"))
        let unrestored = diff.alertsRaisedAndCleared[1]
        #expect(unrestored.kind == .outageUnrestored)
        #expect(unrestored.raisedAt == Fixtures.time("2023-01-10T07:00:00Z"))
        #expect(unrestored.clearedAt == Fixtures.time("2023-01-10T08:00:00Z"))

        // From the two states alone, only the ends are compared.
        let ends = StateDiff(from: earlier, to: later)
        #expect(ends.alertsRaised == diff.alertsRaised)
        #expect(ends.alertsCleared.isEmpty)
        #expect(ends.alertsRaisedAndCleared.isEmpty)
    }

    /// The earlier state advanced to its moment has raised an alert that the continued fold raises again at its
    /// next event: that raise changes nothing, and its clear is a clear of the earlier alert.
    @Test func aRaiseTheEarlierStateAlreadyHoldsIsNotCountedTwice() {
        let (before, after) = Self.history()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(before + Array(after.prefix(5)))
        var earlier = state
        let advanced = earlier.advance(to: Fixtures.time("2023-01-10T06:30:00Z"))
        #expect(advanced.map(\.key) == ["outage_unrestored/north/power/p1"])
        var changes = state.apply(Array(after.dropFirst(5)))
        changes += state.advance(to: Fixtures.time("2023-01-11T02:00:00Z"))
        #expect(changes.of("outage_unrestored/north/power/p1") == [.raised, .cleared])
        let diff = StateDiff(from: earlier, to: state, alertChanges: changes)
        #expect(diff.alertsCleared.map(\.key) == ["outage_unrestored/north/power/p1"])
        #expect(diff.alertsCleared.first?.raisedAt == Fixtures.time("2023-01-10T06:30:00Z"))
        #expect(diff.alertsCleared.first?.clearedAt == Fixtures.time("2023-01-10T08:00:00Z"))
        #expect(diff.alertsRaisedAndCleared.isEmpty)
        #expect(diff.alertsRaised.map(\.key) == ["outage_overrun/north/power/p1", "short_notice/north/power/p2"])
    }

    /// An alert held at the earlier end, cleared, raised again and cleared again: cleared when the earlier one went,
    /// and raised and cleared in between.
    @Test func anAlertThatCameAndWentTwice() {
        var factory = EventFactory()
        let key = "behind_schedule/north-power"
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 0, at: "2023-01-11T00:00:00Z"))
        let earlier = state
        #expect(earlier.isRaised(key))
        var changes = state.apply(factory.progress("north-power", .inProgress, percent: 40, at: "2023-01-12T00:00:00Z"))
        changes += state.apply(factory.progress("north-power", .inProgress, percent: 40, at: "2023-01-20T00:00:00Z"))
        changes += state.apply(factory.progress("north-power", .inProgress, percent: 70, at: "2023-01-21T00:00:00Z"))
        #expect(changes.of(key) == [.cleared, .raised, .cleared])
        let diff = StateDiff(from: earlier, to: state, alertChanges: changes)
        let cleared = diff.alertsCleared.first { $0.key == key }
        #expect(cleared?.raisedAt == Fixtures.time("2023-01-11T00:00:00Z"))
        #expect(cleared?.clearedAt == Fixtures.time("2023-01-12T00:00:00Z"))
        let within = diff.alertsRaisedAndCleared.filter { $0.key == key }
        #expect(within.map(\.raisedAt) == [Fixtures.time("2023-01-20T00:00:00Z")])
        #expect(within.map(\.clearedAt) == [Fixtures.time("2023-01-21T00:00:00Z")])
    }

    /// An alert held at both ends, cleared and raised again in between: the earlier one cleared, the later raised.
    @Test func anAlertClearedAndRaisedAgainIsBothClearedAndRaised() {
        var factory = EventFactory()
        let key = "behind_schedule/north-power"
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply(factory.progress("north-power", .inProgress, percent: 0, at: "2023-01-11T00:00:00Z"))
        let earlier = state
        var changes = state.apply(factory.progress("north-power", .inProgress, percent: 40, at: "2023-01-12T00:00:00Z"))
        changes += state.apply(factory.progress("north-power", .inProgress, percent: 40, at: "2023-01-20T00:00:00Z"))
        #expect(changes.of(key) == [.cleared, .raised])
        let diff = StateDiff(from: earlier, to: state, alertChanges: changes)
        #expect(!diff.isEmpty)
        #expect(diff.alertsCleared.first { $0.key == key }?.clearedAt == Fixtures.time("2023-01-12T00:00:00Z"))
        #expect(diff.alertsRaised.first { $0.key == key }?.raisedAt == Fixtures.time("2023-01-20T00:00:00Z"))
    }

    @Test func rollupsOverallAndPerCommunity() {
        let (earlier, later, changes) = Self.fold()
        let diff = StateDiff(from: earlier, to: later, alertChanges: changes)
        // north-power weighs 30 days, north-water 60, south-telecom 30: (10 × 30) / 120 and (35 × 30) / 120.
        #expect(diff.overall.from.percentComplete == 2.5)
        #expect(diff.overall.to.percentComplete == 8.75)
        #expect(diff.communities["north"]?.from.percentComplete == 10 * 30 / 90.0)
        #expect(diff.communities["north"]?.to.percentComplete == 35 * 30 / 90.0)
        #expect(diff.communities["south"]?.to.percentComplete == 0)
        #expect(diff.overall.from.householdsAffectedNow == 0)
        #expect(diff.overall.to.householdsAffectedNow == 40)
        #expect(diff.communities["south"]?.to.householdsAffectedNow == 40)
        #expect(diff.communities["north"]?.isChanged == true)
        #expect(diff.communityOrder == ["north", "south"])
        #expect(!diff.isEmpty)
        #expect(StateDiff(from: later, to: later).isEmpty)
    }

    @Test func jsonIsDeterministicAndComplete() throws {
        let (earlier, later, changes) = Self.fold()
        let diff = StateDiff(from: earlier, to: later, alertChanges: changes)
        let bytes = diff.json()
        #expect(bytes == StateDiff(from: earlier, to: later, alertChanges: changes).json())
        let document = try JSONValue.parse(bytes)
        #expect(document["format"] == .string("conduit-state-diff/1"))
        #expect(document["from"]?["lastSequence"] == .number("3"))
        let items = try #require(document["workitems"])
        #expect(items == .array([
            .object([
                .init("community", .string("north")), .init("id", .string("north-power")), .init("organisation", .string("grid")),
                .init("percent", .object([.init("from", .number("10.0")), .init("to", .number("35.0"))])),
                .init("status", .object([.init("from", .string("in_progress")), .init("to", .string("in_progress"))])),
                .init("utility", .string("power")),
            ])
        ]))
        #expect(document["outages"]?["opened"]?[0]?["status"] == .object([.init("to", .string("restored"))]))
        #expect(document["outages"]?["closed"]?[0]?["status"]
            == .object([.init("from", .string("noticed")), .init("to", .string("restored"))]))
        #expect(document["outages"]?["closed"]?[1]?["key"] == .string("north/water/w1"))
        #expect(document["alerts"]?["raisedAndCleared"]?[1]?["clearedAt"] == .string("2023-01-10T08:00:00Z"))
        #expect(document["rollups"]?["communities"]?["south"]?["householdsAffectedNow"]
            == .object([.init("from", .number("0")), .init("to", .number("40"))]))
    }
}

extension JSONValue {
    /// The element at `index` of an array, if any.
    fileprivate subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
}
