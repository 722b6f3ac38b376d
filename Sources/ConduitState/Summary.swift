import ConduitCore

/// Figures rolled up over a set of work items and outages: a community, a utility, an organisation or all.
public struct Rollup: Sendable, Hashable {
    /// Work items in scope.
    public var workItems: Int = 0
    /// Households of the communities in scope (for a utility or organisation: where it has work items).
    public var households: Int = 0
    /// Households without a service now (outages started and not restored), at most each community's households.
    public var householdsAffectedNow: Int = 0
    /// Percent complete, weighted by each item's planned duration in days; cancelled items excluded.
    public var percentComplete: Double = 0
    /// What the plan expects today, with the same weights.
    public var expectedPercent: Double = 0
    /// Items late: unfinished past their planned finish, or behind their plan by more than the threshold.
    public var itemsLate: Int = 0
    /// Items whose latest status is accepted.
    public var itemsAccepted: Int = 0
    /// Outages started and not restored.
    public var outagesOff: Int = 0
    /// Outages proposed or noticed.
    public var outagesPlanned: Int = 0

    /// All zero.
    public init() {}
}

/// The roll-ups of a state at its fold clock.
public struct StateSummary: Sendable, Hashable {
    /// The local day the figures are for (`nil` before any event: plans expect nothing yet).
    public var today: CalendarDate?
    /// Every work item and outage.
    public var overall: Rollup
    /// By community id.
    public var communities: [String: Rollup]
    /// By utility.
    public var utilities: [Utility: Rollup]
    /// By organisation id (the organisation of the work items and of the outage reports).
    public var organisations: [String: Rollup]
}

extension AggregateState {
    /// The roll-ups per community, utility, organisation and overall, as of ``now``.
    public func summary() -> StateSummary {
        let today = self.today
        func rollup(items: [WorkItemState], outages scoped: [OutageState], communities: Set<String>) -> Rollup {
            var result = Rollup()
            result.workItems = items.count
            result.households = scenario.communities.filter { communities.contains($0.id) }.reduce(0) { $0 + $1.households }
            var weights = 0.0
            var done = 0.0
            var expected = 0.0
            for item in items {
                if item.status == .accepted { result.itemsAccepted += 1 }
                if let today, item.isLate(on: today, threshold: options.behindScheduleThreshold) { result.itemsLate += 1 }
                guard item.status != .cancelled else { continue }
                let weight = Double(max(1, item.plannedFinish.daysSinceEpoch - item.plannedStart.daysSinceEpoch))
                weights += weight
                done += weight * item.percent
                expected += weight * (today.map(item.expectedPercent(on:)) ?? 0)
            }
            if weights > 0 {
                result.percentComplete = done / weights
                result.expectedPercent = expected / weights
            }
            var offByCommunity: [String: Int] = [:]
            for outage in scoped {
                if outage.isOff {
                    result.outagesOff += 1
                    offByCommunity[outage.community, default: 0] += outage.report.households
                }
                if outage.isPlanned { result.outagesPlanned += 1 }
            }
            for community in scenario.communities {
                if let off = offByCommunity[community.id] { result.householdsAffectedNow += min(off, community.households) }
            }
            return result
        }

        let allCommunities = Set(scenario.communities.map(\.id))
        var communities: [String: Rollup] = [:]
        for community in scenario.communities {
            communities[community.id] = rollup(
                items: workItems.filter { $0.item.community == community.id },
                outages: outages.filter { $0.community == community.id }, communities: [community.id])
        }
        var utilities: [Utility: Rollup] = [:]
        for utility in Utility.allCases {
            let items = workItems.filter { $0.item.utility == utility }
            let scoped = outages.filter { $0.report.service == utility }
            guard !items.isEmpty || !scoped.isEmpty else { continue }
            utilities[utility] = rollup(items: items, outages: scoped, communities: Set(items.map(\.item.community)))
        }
        var organisations: [String: Rollup] = [:]
        for organisation in scenario.organisations {
            let items = workItems.filter { $0.item.organisation == organisation.id }
            let scoped = outages.filter { $0.organisation == organisation.id }
            guard !items.isEmpty || !scoped.isEmpty else { continue }
            organisations[organisation.id] = rollup(items: items, outages: scoped, communities: Set(items.map(\.item.community)))
        }
        return StateSummary(
            today: today, overall: rollup(items: workItems, outages: outages, communities: allCommunities),
            communities: communities, utilities: utilities, organisations: organisations)
    }
}
