import ConduitCore
import Testing

@testable import ConduitState

@Suite struct SummaryTests {
    @Test func rollupsOnTheSmallScenario() throws {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        let window = ("2023-01-31T00:00:00Z", "2023-01-31T08:00:00Z")
        _ = state.apply([
            factory.progress("north-power", .inProgress, percent: 90, at: "2023-01-20T00:00:00Z"),
            factory.progress("north-power", .completed, percent: 100, at: "2023-01-25T00:00:00Z"),
            factory.inspection("north-power", kind: .jointAcceptance, result: .passed, at: "2023-01-26T00:00:00Z"),
            factory.progress("north-power", .accepted, percent: 100, at: "2023-01-27T00:00:00Z"),
            factory.progress("north-water", .inProgress, percent: 40, at: "2023-01-31T00:00:00Z"),
            factory.outage(.water, .noticed, subject: "w1", at: "2023-01-20T00:00:00Z", window: window, noticedAt: "2023-01-20T00:00:00Z", buildings: ["b1", "b2"], households: 100),
            factory.outage(.water, .started, subject: "w1", at: "2023-01-31T00:00:00Z", window: window, startedAt: "2023-01-31T00:00:00Z", buildings: ["b1", "b2"], households: 100),
            factory.outage(.power, .noticed, subject: "p9", at: "2023-01-20T00:00:00Z", window: ("2023-02-20T00:00:00Z", "2023-02-20T04:00:00Z"), noticedAt: "2023-01-20T00:00:00Z"),
            factory.outage(.telecom, site: "south", .started, subject: "t1", at: "2023-01-31T01:00:00Z", startedAt: "2023-01-31T01:00:00Z", households: 30),
        ])
        let summary = state.summary()
        #expect(summary.today == Fixtures.date("2023-01-31"))

        let north = try #require(summary.communities["north"])
        #expect(north.workItems == 2)
        #expect(north.households == 100)
        #expect(north.householdsAffectedNow == 100)
        #expect(north.outagesOff == 1)
        #expect(north.outagesPlanned == 1)
        #expect(north.itemsAccepted == 1)
        // north-power: 30 days at 100 %; north-water: 60 days at 40 % → (3000 + 2400) / 90.
        #expect(abs(north.percentComplete - 60) < 1e-9)
        // On 2023-01-31 the plan expects 100 % and 50 %: (3000 + 3000) / 90.
        #expect(abs(north.expectedPercent - 200.0 / 3) < 1e-9)
        #expect(north.itemsLate == 0, "north-water is 10 points behind, not more")

        let south = try #require(summary.communities["south"])
        #expect(south.householdsAffectedNow == 30)
        #expect(south.itemsLate == 0)

        #expect(summary.overall.households == 140)
        #expect(summary.overall.householdsAffectedNow == 130)
        #expect(summary.overall.workItems == 3)
        #expect(summary.utilities[.water]?.householdsAffectedNow == 100)
        #expect(summary.utilities[.power]?.outagesPlanned == 1)
        #expect(summary.utilities[.broadcast] == nil)
        #expect(summary.organisations["grid"]?.itemsAccepted == 1)
        #expect(summary.organisations["telco"]?.householdsAffectedNow == 30)

        _ = state.advance(to: Fixtures.time("2023-02-05T00:00:00Z"))
        let later = state.summary()
        #expect(later.communities["south"]?.itemsLate == 1, "south-telecom has not started 4 days into a 30-day plan: 13 points behind")
        #expect(later.overall.householdsAffectedNow == 130, "the outages are still off")
    }

    @Test func householdsAffectedAreCappedPerCommunity() {
        var factory = EventFactory()
        var state = AggregateState(scenario: Fixtures.scenario)
        _ = state.apply([
            factory.outage(.power, .started, subject: "a", at: "2023-01-10T00:00:00Z", startedAt: "2023-01-10T00:00:00Z", buildings: ["b1", "b2"], households: 80),
            factory.outage(.water, .started, subject: "b", at: "2023-01-10T00:00:00Z", startedAt: "2023-01-10T00:00:00Z", buildings: ["b1", "b2"], households: 60),
        ])
        #expect(state.summary().communities["north"]?.householdsAffectedNow == 100)
    }

    @Test func defaultScenario() throws {
        var state = AggregateState(scenario: .default)
        let validator = EventValidator(scenario: .default)
        let progress = Event(
            id: "p-1", source: "/power-supply-bureau/agent-1", time: Fixtures.time("2023-06-01T00:00:00Z"), utility: .power,
            site: "ganjiaba", workItem: "ganjiaba-power", sequence: 1, data: .progress(ProgressReport(status: .inProgress, percent: 45)))
        try validator.validate(progress)
        _ = state.apply(progress)
        let summary = state.summary()
        #expect(summary.overall.households == 972)
        #expect(summary.communities.mapValues(\.households) == ["ganjiaba": 436, "ruijing-biyuan": 298, "jinxiu-xincheng": 238])
        #expect(summary.overall.workItems == Scenario.default.workItems.count)
        #expect(summary.communities.values.reduce(0) { $0 + $1.workItems } == summary.overall.workItems)
        #expect(summary.overall.householdsAffectedNow == 0)
        #expect(summary.overall.percentComplete > 0)
        #expect(summary.overall.percentComplete < summary.overall.expectedPercent)
        let community = try JSONValue.parse(try #require(state.json(at: "communities/ganjiaba")))
        #expect(community["rollup"]?["households"] == .number("436"))
        #expect(community["name"]?["zh"] == .string("甘家坝"))
        #expect(state.json(at: "utilities/water") != nil)
        #expect(state.json(at: "workitems/ganjiaba-power") != nil)
        #expect(try AggregateState.restore(json: state.json(), scenario: .default) == state)
    }
}
