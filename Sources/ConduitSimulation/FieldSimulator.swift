import ConduitCore

/// Plans the events a year of field work on a scenario would produce: seeded, pure and deterministic.
///
/// For every work item: a `planned` report in early March, a `scheduled` report some weeks before the
/// planned start, the start near the planned start (a few clearly late), weekly `in_progress` reports with
/// the percent rising along a noisy S-curve, now and then a stop (`suspended` with a `blockingReason`, then
/// `in_progress` again), `completed`, the acceptance inspection asked for by the utility and performed by
/// the organisation that inspects the item's acceptance kind (sometimes failed or conditional with
/// defects, then re-inspected after the fix), and `accepted` (work that needs no acceptance, such as the household
/// survey, ends at `completed`). An added elevator is accepted by the supervisory inspection of the organisation
/// that inspects elevators. Fire safety inspections on some items; power, water, telecom and broadcast outages for the cut-overs (see
/// ``organisations(in:)`` for who publishes).
///
/// Guaranteed for every seed on a scenario shaped like `Scenario.default`: one or two work items are late
/// (still unfinished at the deadline, the others finish by a month before it and are accepted), at least
/// one acceptance fails or passes on conditions first, one planned outage is noticed too late, one runs
/// past its window, and two outages of different services overlap on a building of one community.
///
/// The same scenario and options give the same plan in every process: every choice comes from
/// `SplitMix64` streams derived from the seed, and nothing depends on hashing or dictionary order.
public enum FieldSimulator {
    /// The simulated year's span: from local midnight (UTC+08:00) of 1 January of the deadline's year to local
    /// midnight after the scenario's deadline; for the default scenario 2023-01-01T00:00:00+08:00 to
    /// 2024-01-01T00:00:00+08:00.
    public static func span(of scenario: Scenario) -> (start: Timestamp, end: Timestamp) {
        let days = yearDays(of: scenario)
        return (LocalClock.instant(day: days.startDay, minute: 0), LocalClock.instant(day: days.endDay, minute: 0))
    }

    /// Every event of the year for all organisations, sorted by `due`, ties broken by `time` and then by the
    /// order the plan drew them. Event ids are `<seed>-<n>`, `n` counting from 1 within each organisation in
    /// that order; sources are `/<organisation>/<agent>`.
    public static func plan(scenario: Scenario, options: SimulationOptions) -> [SimulatedEvent] {
        let days = yearDays(of: scenario)
        var random = SimulationRandom(seed: options.seed, stream: "year")
        let items = scenario.workItems
        let authorities = items.map { acceptanceAuthority(of: $0, in: scenario) }

        let late = chooseLate(items, authorities: authorities, random: &random)
        let onTime = items.indices.filter { !late.contains($0) }
        let clearlyLateStart = random.chance(0.5) && !onTime.isEmpty ? random.pick(onTime) : nil
        let timelines = items.indices.map { index in
            var itemRandom = SimulationRandom(seed: options.seed, stream: "item/" + items[index].id)
            return late.contains(index)
                ? WorkTimeline.late(items[index], earliestStart: days.startDay + 14, endDay: days.endDay, random: &itemRandom)
                : WorkTimeline.onTime(
                    items[index], startsClearlyLate: index == clearlyLateStart, earliestStart: days.startDay + 14,
                    finishLimit: days.deadlineDay - 30, random: &itemRandom)
        }

        var visits = Array(repeating: [InspectionVisit](), count: items.count)
        let readyDays = timelines.map(\.finishDay)
        if let inspector = inspector(of: .fireSafety, in: scenario) {
            let cabled = onTime.filter { items[$0].utility != nil && items[$0].utility != .water }
            let candidates = cabled.isEmpty ? onTime : cabled
            for index in random.shuffled(candidates).prefix(random.int(1...3)) {
                let timeline = timelines[index]
                let day = LocalClock.workday(onOrAfter: timeline.calendarDay(atFraction: random.double(0.7...0.85)))
                let visit = InspectionVisit(
                    kind: .fireSafety, authority: inspector, requestDay: max(timeline.startDay, day - random.int(2...4)), day: day,
                    note: nil)
                visits[index].append(withNote(visit, prefix: "fs", notes: FieldText.fireSafetyNotes, scenario: scenario, item: items[index], random: &random))
            }
        }

        var acceptances = [AcceptancePlan?](repeating: nil, count: items.count)
        for index in onTime {
            guard let authority = authorities[index] else { continue }
            var itemRandom = SimulationRandom(seed: options.seed, stream: "acceptance/" + items[index].id)
            var acceptance = AcceptancePlan.draw(
                items[index], authority: authority, readyDay: readyDays[index], buildings: buildingIDs(items[index], scenario),
                random: &itemRandom)
            if acceptance.outcome != .passed && !fits(acceptance, days) { acceptance.outcome = .passed }
            acceptances[index] = acceptance
        }
        // At least one acceptance does not pass at first: the earliest, if none did by chance.
        if !acceptances.contains(where: { $0.map { $0.outcome != .passed } ?? false }) {
            let earliest = acceptances.indices
                .filter { index in
                    acceptances[index].map { plan in
                        var failing = plan
                        failing.outcome = .failed
                        return fits(failing, days)
                    } ?? false
                }
                .min { acceptances[$0]!.inspectionDay < acceptances[$1]!.inspectionDay }
            if let earliest { acceptances[earliest]!.outcome = .failed }
        }

        var builder = PlanBuilder(options: options, end: span(of: scenario).end)
        let outages = OutagePlan.draw(timelines: timelines, scenario: scenario, days: days, seed: options.seed, random: &random)
        outages.add(to: &builder)
        for index in items.indices {
            var itemRandom = SimulationRandom(seed: options.seed, stream: "progress/" + items[index].id)
            WorkItemEvents(timeline: timelines[index], acceptance: acceptances[index], visits: visits[index], days: days)
                .add(to: &builder, random: &itemRandom)
        }
        return builder.finish()
    }

    /// The organisations that publish anything in the plan, in scenario order: those that run a work item,
    /// those that perform a work item's acceptance kind, and the first organisation inspecting fire safety.
    /// The same for every seed.
    public static func organisations(in scenario: Scenario) -> [String] {
        var publishing: Set<String> = []
        for item in scenario.workItems {
            publishing.insert(item.organisation)
            if let authority = acceptanceAuthority(of: item, in: scenario) { publishing.insert(authority) }
        }
        if !scenario.workItems.isEmpty, let inspector = inspector(of: .fireSafety, in: scenario) {
            publishing.insert(inspector)
        }
        return scenario.organisations.map(\.id).filter(publishing.contains)
    }

    // MARK: - Choices

    static func yearDays(of scenario: Scenario) -> YearDays {
        let newYear = CalendarDate(year: scenario.deadline.year, month: 1, day: 1)!
        return YearDays(startDay: LocalClock.day(newYear), deadlineDay: LocalClock.day(scenario.deadline))
    }

    /// The first organisation, in scenario order, that performs inspections of `kind`.
    static func inspector(of kind: InspectionKind, in scenario: Scenario) -> String? {
        scenario.organisations.first { $0.inspects.contains(kind) }?.id
    }

    /// The organisation that accepts `item`: the first that performs its acceptance kind.
    static func acceptanceAuthority(of item: WorkItem, in scenario: Scenario) -> String? {
        item.acceptance.flatMap { inspector(of: $0, in: scenario) }
    }

    /// One late item, or two (three times in ten); at most a third of the items, never work that needs no
    /// acceptance (the household survey comes before the works), and never the last item an acceptance authority
    /// would have to accept (so that every authority has something to publish).
    static func chooseLate(_ items: [WorkItem], authorities: [String?], random: inout SimulationRandom) -> Set<Int> {
        let wanted = min(random.chance(0.3) ? 2 : 1, items.count / 3)
        var late: Set<Int> = []
        for index in random.shuffled(Array(items.indices)) where late.count < wanted && items[index].acceptance != nil {
            let others = items.indices.filter { $0 != index && !late.contains($0) && authorities[$0] == authorities[index] }
            if authorities[index] == nil || !others.isEmpty { late.insert(index) }
        }
        return late
    }

    /// Whether an acceptance ends in time: the `accepted` report a day before the deadline, the passing
    /// inspection three days before it (room for a result published late).
    static func fits(_ acceptance: AcceptancePlan, _ days: YearDays) -> Bool {
        acceptance.acceptedDay <= days.deadlineDay - 1 && acceptance.passDay <= days.deadlineDay - 3
    }

    /// The building ids of the item's community (its own id if it lists none), to name in defects.
    static func buildingIDs(_ item: WorkItem, _ scenario: Scenario) -> [String] {
        let ids = scenario.community(item.community)?.buildings.map(\.id) ?? []
        return ids.isEmpty ? [item.community] : ids
    }

    /// `visit` with, one time in three, a minor point noted, due two weeks later.
    static func withNote(
        _ visit: InspectionVisit, prefix: String, notes: [String], scenario: Scenario, item: WorkItem, random: inout SimulationRandom
    ) -> InspectionVisit {
        var noted = visit
        if random.chance(1.0 / 3) {
            noted.note = Defect(
                id: prefix + "-1", severity: .minor,
                description: FieldText.fill(random.pick(notes), building: random.pick(buildingIDs(item, scenario))),
                dueDate: LocalClock.date(visit.day + 14))
        }
        return noted
    }
}
