import ConduitCore

/// One planned interruption caused by a work item: a cut-over of its lines in a window, noticed ahead.
struct PlannedOutage: Sendable, Hashable {
    var item: WorkItem
    var buildings: [String]
    var households: Int
    var windowStart: Timestamp
    var windowEnd: Timestamp
    var noticedAt: Timestamp
    /// Minutes after the window opens that the service goes off.
    var startDelay: Int
    /// Minutes before the window closes that the service is back.
    var restoreMargin: Int
    /// If it overruns: minutes after the window closes that the service is back.
    var overrun: Int?
    /// If it overruns: minutes after the window closes that the utility reports it still off.
    var overrunReport: Int
    /// If it is called off: minutes before the window opens.
    var cancelledAhead: Int?

    var startedAt: Timestamp { LocalClock.adding(minutes: startDelay, to: windowStart) }
    var restoredAt: Timestamp {
        overrun.map { LocalClock.adding(minutes: $0, to: windowEnd) } ?? LocalClock.adding(minutes: -restoreMargin, to: windowEnd)
    }
}

/// An interruption nobody planned: work damages a line and the service is off for a few hours.
struct UnplannedOutage: Sendable, Hashable {
    var item: WorkItem
    var buildings: [String]
    var households: Int
    var startedAt: Timestamp
    var restoredAt: Timestamp
}

/// The outages of the year: the cut-overs each work item needs, plus the cases the year must show.
///
/// Notice leads follow the defaults of the state fold's rules (`StateOptions.defaultRequiredNotice`):
/// power at least seven days ahead, the other services at least 24 hours. Guaranteed in every plan, when the
/// scenario allows: one pair of outages of different services overlapping on a building of one community,
/// one outage noticed too late, one restored after its window (with a report while it is still off).
/// Sometimes: one called off, one or two unplanned.
struct OutagePlan {
    var planned: [PlannedOutage] = []
    var unplanned: [UnplannedOutage] = []

    /// The service a work item's outages interrupt: its utility. Outages are drawn only for work on a utility's lines.
    static func service(of item: WorkItem) -> Utility {
        guard let utility = item.utility else { preconditionFailure("\(item.id) is work of no utility: it causes no outage") }
        return utility
    }

    /// The required lead for a planned outage of `service`, in seconds.
    static func requiredNoticeSeconds(_ service: Utility) -> Int64 {
        service == .power ? 7 * 86_400 : 86_400
    }

    /// Draws the outages of every timeline (`random` for the global choices; each item draws its own
    /// cut-overs from its own stream of `seed`).
    static func draw(
        timelines: [WorkTimeline], scenario: Scenario, days: YearDays, seed: UInt64, random: inout SimulationRandom
    ) -> OutagePlan {
        var plan = OutagePlan()
        // Only work on a utility's lines cuts a service over.
        let timelines = timelines.filter { $0.item.utility != nil }
        for timeline in timelines {
            var itemRandom = SimulationRandom(seed: seed, stream: "outages/" + timeline.item.id)
            plan.planned += cutOvers(timeline, scenario: scenario, days: days, random: &itemRandom)
        }
        let cutOverCount = plan.planned.count
        plan.addOverlap(timelines: timelines, scenario: scenario, days: days, random: &random)

        let eligible = plan.planned.indices.filter { plan.planned[$0].item.utility == .power || plan.planned[$0].item.utility == .water }
        if !eligible.isEmpty {
            let short = random.pick(eligible)
            plan.planned[short].noticedAt = shortNotice(plan.planned[short], random: &random)
            for overrun in random.shuffled(eligible).prefix(random.chance(0.2) ? 2 : 1) {
                plan.planned[overrun].overrun = random.int(45...180)
            }
            // The overlapping pair is never called off: the overlap must show.
            let spare = plan.planned.indices.filter { $0 != short && $0 < cutOverCount && plan.planned[$0].overrun == nil }
            if random.chance(0.5), !spare.isEmpty {
                let cancelled = random.pick(spare)
                let lead = Int((plan.planned[cancelled].windowStart.microsecondsSinceEpoch - plan.planned[cancelled].noticedAt.microsecondsSinceEpoch) / 60_000_000)
                plan.planned[cancelled].cancelledAhead = min(random.int((4 * 60)...(20 * 60)), lead / 2)
            }
        }

        if random.chance(0.6) {
            let candidates = timelines.filter { !$0.isLate && $0.item.utility != .broadcast }
            for _ in 0..<(random.chance(0.3) ? 2 : 1) where !candidates.isEmpty {
                let timeline = random.pick(candidates)
                let day = timeline.calendarDay(atFraction: random.double(0.2...0.8))
                let (buildings, households) = affected(timeline.item, scenario: scenario, count: random.int(1...3), random: &random)
                let startedAt = LocalClock.instant(day: day, minute: random.int((10 * 60)...(16 * 60)))
                plan.unplanned.append(UnplannedOutage(
                    item: timeline.item, buildings: buildings, households: households, startedAt: startedAt,
                    restoredAt: LocalClock.adding(minutes: random.int(60...300), to: startedAt)))
            }
        }
        return plan
    }

    /// The cut-overs of one work item, spread over its working days: three or four for power, two to four
    /// for water, one or two for a telecom carrier or broadcast. None in the last days of the year.
    static func cutOvers(_ timeline: WorkTimeline, scenario: Scenario, days: YearDays, random: inout SimulationRandom) -> [PlannedOutage] {
        let count: Int
        switch timeline.item.utility {
        case .power: count = random.int(3...4)
        case .water: count = random.int(2...4)
        case .telecom, .broadcast: count = random.int(1...2)
        case nil: return []
        }
        var outages: [PlannedOutage] = []
        for index in 0..<count {
            let fraction = Double(index + 1) / Double(count + 1) + random.double(-0.05...0.05)
            let day = timeline.calendarDay(atFraction: fraction)
            let (start, length) = window(service(of: timeline.item), random: &random)
            let (buildings, households) = affected(timeline.item, scenario: scenario, count: random.int(1...3), random: &random)
            let outage = outageOn(
                day: day, start: start, length: length, item: timeline.item, buildings: buildings, households: households,
                random: &random)
            if day < days.endDay - 3 && day > days.startDay + 10 { outages.append(outage) }
        }
        return outages
    }

    /// A window's start (minutes after local midnight) and length (minutes): power and water in the
    /// daytime, telecom after midnight, broadcast after midnight or in the afternoon.
    static func window(_ service: Utility, random: inout SimulationRandom) -> (start: Int, length: Int) {
        switch service {
        case .power: (random.pick([480, 510, 540]), random.int(8...16) * 30)
        case .water: (random.pick([540, 570, 600]), random.int(8...18) * 30)
        case .telecom: (random.pick([30, 60]), random.int(4...8) * 30)
        case .broadcast: (random.pick([60, 840]), random.int(4...8) * 30)
        }
    }

    /// A planned outage of `item` on `day` with a notice of the required lead or a few days more, given in
    /// office hours.
    static func outageOn(
        day: Int, start: Int, length: Int, item: WorkItem, buildings: [String], households: Int, random: inout SimulationRandom
    ) -> PlannedOutage {
        let noticeDay = day - (item.utility == .power ? random.int(8...10) : random.int(2...3))
        return PlannedOutage(
            item: item, buildings: buildings, households: households,
            windowStart: LocalClock.instant(day: day, minute: start),
            windowEnd: LocalClock.instant(day: day, minute: start + length),
            noticedAt: LocalClock.instant(day: noticeDay, minute: random.int((9 * 60)...(17 * 60))),
            startDelay: random.int(0...20), restoreMargin: random.int(10...60), overrun: nil,
            overrunReport: random.int(10...30), cancelledAhead: nil)
    }

    /// A notice shorter than required: two to five days for power, six to eighteen hours for the others.
    static func shortNotice(_ outage: PlannedOutage, random: inout SimulationRandom) -> Timestamp {
        if outage.item.utility == .power {
            return LocalClock.instant(day: LocalClock.day(of: outage.windowStart) - random.int(2...5), minute: random.int((9 * 60)...(17 * 60)))
        }
        return LocalClock.adding(minutes: -random.int((6 * 60)...(18 * 60)), to: outage.windowStart)
    }

    /// A run of up to `count` neighbouring buildings of the item's community and their households (the
    /// whole community's households if it lists no buildings).
    static func affected(_ item: WorkItem, scenario: Scenario, count: Int, random: inout SimulationRandom) -> ([String], Int) {
        guard let community = scenario.community(item.community), !community.buildings.isEmpty else {
            return ([], scenario.community(item.community)?.households ?? 0)
        }
        let length = min(count, community.buildings.count)
        let first = random.int(0...(community.buildings.count - length))
        return building(run: community.buildings[first..<(first + length)])
    }

    static func building(run: ArraySlice<Building>) -> ([String], Int) {
        (run.map(\.id), run.reduce(0) { $0 + $1.households })
    }

    /// Adds two outages of different services in one community whose windows overlap on a shared building:
    /// the day two utilities cut over without coordinating. The day is one both items work on.
    mutating func addOverlap(timelines: [WorkTimeline], scenario: Scenario, days: YearDays, random: inout SimulationRandom) {
        var pairs: [(WorkTimeline, WorkTimeline)] = []
        for (position, first) in timelines.enumerated() {
            for second in timelines[(position + 1)...]
            where first.item.community == second.item.community && first.item.utility != second.item.utility {
                pairs.append((first, second))
            }
        }
        for (first, second) in random.shuffled(pairs) {
            let from = max(first.startDay, second.startDay, days.startDay + 11) + 7
            let to = min(first.finishDay, second.finishDay, days.endDay - 3) - 7
            guard from < to else { continue }
            let common = (from..<to).filter { first.isWorking(on: $0) && second.isWorking(on: $0) }
            guard !common.isEmpty, let community = scenario.community(first.item.community) else { continue }
            let day = random.pick(common)
            let buildings = community.buildings
            let firstRun: ([String], Int)
            let secondRun: ([String], Int)
            if buildings.count >= 3 {
                let shared = random.int(1...(buildings.count - 2))
                firstRun = Self.building(run: buildings[(shared - 1)...shared])
                secondRun = Self.building(run: buildings[shared...(shared + 1)])
            } else {
                firstRun = Self.building(run: buildings[...])
                secondRun = firstRun
            }
            planned.append(Self.outageOn(
                day: day, start: 510, length: 360, item: first.item, buildings: firstRun.0, households: firstRun.1, random: &random))
            planned.append(Self.outageOn(
                day: day, start: 600, length: 360, item: second.item, buildings: secondRun.0, households: secondRun.1, random: &random))
            return
        }
    }

    /// Adds the outage events: for a planned outage its notice, then its start, a report while it is still off
    /// past its window if it overruns, and its restoration (or the call-off); for an unplanned one its start and
    /// restoration. An outage's subject names it for its whole life: `<work item>-cutover-<n>` in window order,
    /// `<work item>-incident-<n>`.
    func add(to builder: inout PlanBuilder) {
        for (position, outage) in planned.enumerated() {
            let number = 1 + planned.indices.filter { other in
                planned[other].item.id == outage.item.id
                    && (planned[other].windowStart, other) < (outage.windowStart, position)
            }.count
            addPlanned(outage, subject: "\(outage.item.id)-cutover-\(number)", to: &builder)
        }
        var incidents: [String: Int] = [:]
        for outage in unplanned {
            let number = incidents[outage.item.id, default: 0] + 1
            incidents[outage.item.id] = number
            let subject = "\(outage.item.id)-incident-\(number)"
            var report = OutageReport(
                status: .started, nature: .unplanned, service: Self.service(of: outage.item), startedAt: outage.startedAt,
                buildings: outage.buildings, households: outage.households, causedBy: outage.item.id)
            add(outage.item, subject: subject, time: outage.startedAt, report, to: &builder)
            report.status = .restored
            report.restoredAt = outage.restoredAt
            add(outage.item, subject: subject, time: outage.restoredAt, report, to: &builder)
        }
    }

    private func addPlanned(_ outage: PlannedOutage, subject: String, to builder: inout PlanBuilder) {
        var report = OutageReport(
            status: .noticed, nature: .planned, service: Self.service(of: outage.item), windowStart: outage.windowStart,
            windowEnd: outage.windowEnd, noticedAt: outage.noticedAt, buildings: outage.buildings,
            households: outage.households, causedBy: outage.item.id)
        add(outage.item, subject: subject, time: outage.noticedAt, report, to: &builder)
        if let ahead = outage.cancelledAhead {
            report.status = .cancelled
            add(outage.item, subject: subject, time: LocalClock.adding(minutes: -ahead, to: outage.windowStart), report, to: &builder)
            return
        }
        report.status = .started
        report.startedAt = outage.startedAt
        add(outage.item, subject: subject, time: outage.startedAt, report, to: &builder)
        if outage.overrun != nil {
            add(outage.item, subject: subject, time: LocalClock.adding(minutes: outage.overrunReport, to: outage.windowEnd), report, to: &builder)
        }
        report.status = .restored
        report.restoredAt = outage.restoredAt
        add(outage.item, subject: subject, time: outage.restoredAt, report, to: &builder)
    }

    private func add(_ item: WorkItem, subject: String, time: Timestamp, _ report: OutageReport, to builder: inout PlanBuilder) {
        builder.add(
            organisation: item.organisation, time: time, subject: subject, utility: item.utility, site: item.community,
            workItem: item.id, data: .outage(report))
    }
}
