import ConduitCore

/// A stop in a work item's progress: after `workedDays` days of work, work stands still for `length` days.
struct Suspension: Sendable, Hashable {
    /// Days of work done when it stops.
    var workedDays: Int
    /// Calendar days it stands still.
    var length: Int
    /// Why (`blockingReason`).
    var reason: String
}

/// How one work item actually goes: when it starts, how many days of work it takes, when it stands
/// still, and when it finishes (for a late item, when it would finish, after the simulated year).
///
/// Days are local days (``LocalClock``). Work runs every calendar day from ``startDay`` except while
/// suspended, so the item finishes on ``finishDay`` = start + working days + suspended days.
struct WorkTimeline: Sendable, Hashable {
    let item: WorkItem
    /// Whether it is still unfinished at the deadline.
    let isLate: Bool
    /// The day work starts (`actualStart`).
    var startDay: Int
    /// Days of work it takes.
    var workingDays: Int
    /// Its stops, in order, each after a different number of worked days inside `1..<workingDays`.
    var suspensions: [Suspension]

    /// Calendar days it stands still in all.
    var suspendedDays: Int { suspensions.reduce(0) { $0 + $1.length } }

    /// The day the work is finished (`actualFinish`), or would be for a late item.
    var finishDay: Int { startDay + workingDays + suspendedDays }

    /// The day suspension `index` begins: its `suspended` report.
    func suspensionStart(_ index: Int) -> Int {
        var day = startDay + suspensions[index].workedDays
        for earlier in suspensions[..<index] { day += earlier.length }
        return day
    }

    /// The day work resumes after suspension `index`: its `in_progress` report.
    func suspensionEnd(_ index: Int) -> Int { suspensionStart(index) + suspensions[index].length }

    /// The suspension in force on `day`, if any.
    func suspension(on day: Int) -> Int? {
        suspensions.indices.first { suspensionStart($0) <= day && day < suspensionEnd($0) }
    }

    /// Days of work done before `day` begins.
    func workedDays(before day: Int) -> Int {
        guard day > startDay else { return 0 }
        var worked = day - startDay
        for index in suspensions.indices {
            let overlap = min(day, suspensionEnd(index)) - suspensionStart(index)
            if overlap > 0 { worked -= overlap }
        }
        return min(worked, workingDays)
    }

    /// The share of the work done before `day` begins, 0 to 1.
    func fractionDone(before day: Int) -> Double {
        Double(workedDays(before: day)) / Double(max(workingDays, 1))
    }

    /// The calendar day of working day `index` (0 is the start day).
    func calendarDay(ofWorkingDay index: Int) -> Int {
        var day = startDay + index
        for suspension in suspensions where suspension.workedDays <= index { day += suspension.length }
        return day
    }

    /// The working day when the share `fraction` of the work is reached.
    func calendarDay(atFraction fraction: Double) -> Int {
        calendarDay(ofWorkingDay: min(max(Int(Double(workingDays) * fraction), 0), max(workingDays - 1, 0)))
    }

    /// Whether work goes on (started, not finished, not suspended) on `day`.
    func isWorking(on day: Int) -> Bool {
        day >= startDay && day < finishDay && suspension(on: day) == nil
    }
}

extension WorkTimeline {
    /// Draws how an item on time goes: it starts near its planned start (a few days early to twelve days late,
    /// or 15 to 25 days late if `startsClearlyLate`), may stop once or twice for days to weeks, and catches up
    /// to finish within a week before to ten days after its planned finish, by `finishLimit` at the latest.
    static func onTime(
        _ item: WorkItem, startsClearlyLate: Bool, earliestStart: Int, finishLimit: Int, random: inout SimulationRandom
    ) -> WorkTimeline {
        let plannedStart = LocalClock.day(item.plannedStart)
        let plannedFinish = LocalClock.day(item.plannedFinish)
        let plannedDays = max(7, plannedFinish - plannedStart)
        let delay: Int
        if startsClearlyLate {
            delay = random.int(15...25)
        } else {
            let draw = random.unit()
            delay = draw < 0.15 ? -random.int(1...5) : draw < 0.75 ? random.int(0...3) : random.int(4...12)
        }
        let slip = startsClearlyLate ? random.int(0...10) : random.int(-7...10)
        var suspensions: [Suspension] = []
        if random.chance(0.35) {
            suspensions.append(Suspension(
                workedDays: 0, length: random.int(3...20), reason: random.pick(FieldText.shortStopReasons + FieldText.longStopReasons)))
            if random.chance(0.3) {
                suspensions.append(Suspension(workedDays: 0, length: random.int(2...10), reason: random.pick(FieldText.shortStopReasons)))
            }
        }
        let startDay = max(plannedStart + delay, earliestStart)
        let stopped = suspensions.reduce(0) { $0 + $1.length }
        let workingDays = max(14, plannedDays * 3 / 5, plannedFinish + slip - startDay - stopped)
        if !suspensions.isEmpty { suspensions[0].workedDays = Int(Double(workingDays) * random.double(0.15...0.45)) }
        if suspensions.count > 1 { suspensions[1].workedDays = Int(Double(workingDays) * random.double(0.55...0.8)) }
        var timeline = WorkTimeline(item: item, isLate: false, startDay: startDay, workingDays: workingDays, suspensions: suspensions)
        // An item on time is finished by the limit: it works faster, then does without its stops.
        if timeline.finishDay > finishLimit {
            timeline.workingDays = max(14, finishLimit - timeline.startDay - timeline.suspendedDays)
            timeline.suspensions.removeAll { $0.workedDays >= timeline.workingDays }
        }
        if timeline.finishDay > finishLimit {
            timeline.suspensions = []
            timeline.workingDays = max(7, finishLimit - timeline.startDay)
        }
        return timeline
    }

    /// Draws how a late item goes: it starts 25 to 50 days late, stands still for weeks (residents object,
    /// an illegal structure blocks the way), and would finish 45 to 120 days after `endDay`.
    static func late(_ item: WorkItem, earliestStart: Int, endDay: Int, random: inout SimulationRandom) -> WorkTimeline {
        let plannedStart = LocalClock.day(item.plannedStart)
        let plannedDays = max(7, LocalClock.day(item.plannedFinish) - plannedStart)
        let startDay = max(plannedStart + random.int(25...50), earliestStart)
        let targetFinish = endDay + random.int(45...120)
        var suspensions = [Suspension(workedDays: 0, length: random.int(20...45), reason: random.pick(FieldText.longStopReasons))]
        let second = random.chance(0.3) ? Suspension(workedDays: 0, length: random.int(3...10), reason: random.pick(FieldText.shortStopReasons)) : nil
        if let second { suspensions.append(second) }
        let stopped = suspensions.reduce(0) { $0 + $1.length }
        let workingDays = max(plannedDays, targetFinish - startDay - stopped)
        suspensions[0].workedDays = Int(Double(workingDays) * random.double(0.2...0.4))
        if suspensions.count > 1 { suspensions[1].workedDays = Int(Double(workingDays) * random.double(0.55...0.7)) }
        return WorkTimeline(item: item, isLate: true, startDay: startDay, workingDays: workingDays, suspensions: suspensions)
    }
}
