import ConduitCore

/// The local days that bound the simulated year.
struct YearDays: Sendable, Hashable {
    /// The first day of the year.
    var startDay: Int
    /// The scenario's deadline, the last day.
    var deadlineDay: Int
    /// The day after the deadline, when the simulated year ends.
    var endDay: Int { deadlineDay + 1 }
}

/// Adds the events of one work item: its progress reports from `planned` to `accepted` (or to the end of the
/// year for a late item) and its inspections.
struct WorkItemEvents {
    let timeline: WorkTimeline
    let acceptance: AcceptancePlan?
    let visits: [InspectionVisit]
    let days: YearDays

    private var item: WorkItem { timeline.item }

    /// Adds the events, drawing times of day, percent noise and late reports from `random`.
    func add(to builder: inout PlanBuilder, random: inout SimulationRandom) {
        for visit in visits {
            addInspection(
                kind: visit.kind, authority: visit.authority, requestDay: visit.requestDay, day: visit.day, result: .passed,
                defects: visit.note.map { [$0] } ?? [], requestDefects: [], to: &builder, random: &random)
        }
        var passedDue: Timestamp?
        if let acceptance, let kind = item.acceptance {
            if acceptance.outcome == .passed {
                passedDue = addInspection(
                    kind: kind, authority: acceptance.authority, requestDay: acceptance.requestDay,
                    day: acceptance.inspectionDay, result: .passed, defects: acceptance.passNote.map { [$0] } ?? [],
                    requestDefects: [], to: &builder, random: &random)
            } else {
                addInspection(
                    kind: kind, authority: acceptance.authority, requestDay: acceptance.requestDay,
                    day: acceptance.inspectionDay, result: acceptance.outcome, defects: acceptance.defects,
                    requestDefects: [], to: &builder, random: &random)
                let rectified = acceptance.defects.map { defect in
                    var fixed = defect
                    fixed.status = .rectified
                    return fixed
                }
                let verified = acceptance.defects.map { defect in
                    var fixed = defect
                    fixed.status = .verified
                    return fixed
                }
                passedDue = addInspection(
                    kind: kind, authority: acceptance.authority, requestDay: acceptance.rectifiedDay,
                    day: acceptance.reinspectionDay, result: .passed, defects: verified, requestDefects: rectified,
                    to: &builder, random: &random)
            }
        }
        addProgress(passedDue: passedDue, to: &builder, random: &random)
    }

    /// Adds the request (by the utility) and the result (by `authority`) of one inspection; returns when the
    /// result is published.
    @discardableResult
    private func addInspection(
        kind: InspectionKind, authority: String, requestDay: Int, day: Int, result: InspectionResult, defects: [Defect],
        requestDefects: [Defect], to builder: inout PlanBuilder, random: inout SimulationRandom
    ) -> Timestamp? {
        let scheduledAt = LocalClock.instant(day: day, minute: 9 * 60 + 30)
        builder.add(
            organisation: item.organisation, time: LocalClock.instant(day: requestDay, minute: 10 * 60 + random.int(0...60)),
            utility: item.utility, site: item.community, workItem: item.id,
            data: .inspection(InspectionReport(
                status: .requested, kind: kind, authority: authority, scheduledAt: scheduledAt, defects: requestDefects)))
        let performedAt = LocalClock.adding(minutes: random.int(0...90), to: scheduledAt)
        let due = random.chance(0.1) ? LocalClock.adding(minutes: random.int((12 * 60)...(40 * 60)), to: performedAt) : performedAt
        return builder.add(
            organisation: authority, time: performedAt, due: due, utility: item.utility, site: item.community, workItem: item.id,
            data: .inspection(InspectionReport(
                status: .performed, kind: kind, authority: authority, scheduledAt: scheduledAt, performedAt: performedAt,
                result: result, defects: defects)))
    }

    /// One progress report, before it is published.
    private struct Report {
        var time: Timestamp
        var report: ProgressReport
    }

    /// Adds the progress reports in the order they happen; each is published no earlier than the one before,
    /// so a late report never overtakes the next and the fold sees the lifecycle in order.
    private func addProgress(passedDue: Timestamp?, to builder: inout PlanBuilder, random: inout SimulationRandom) {
        let plannedStart = item.plannedStart
        let plannedFinish = item.plannedFinish
        let actualStart = LocalClock.date(timeline.startDay)
        var reports: [Report] = []

        // Announced: the plan in early March, the schedule some weeks before the planned start.
        var scheduledDay = LocalClock.day(plannedStart) - random.int(14...35)
        let plannedDay = days.startDay + random.int(61...66)
        scheduledDay = min(max(scheduledDay, plannedDay + random.int(5...10)), timeline.startDay - 1)
        if plannedDay < scheduledDay {
            reports.append(Report(
                time: LocalClock.instant(day: plannedDay, minute: 10 * 60 + random.int(0...90)),
                report: ProgressReport(
                    status: .planned, percent: 0, plannedStart: plannedStart, plannedFinish: plannedFinish,
                    householdsAffected: item.households)))
        }
        if scheduledDay >= days.startDay {
            reports.append(Report(
                time: LocalClock.instant(day: scheduledDay, minute: 10 * 60 + random.int(0...90)),
                report: ProgressReport(
                    status: .scheduled, percent: 0, plannedStart: plannedStart, plannedFinish: plannedFinish,
                    householdsAffected: item.households)))
        }

        // The work: the start, each stop and restart, and a report every week.
        // `measured`: the report states the percent reached; the others repeat the last one (nothing moves
        // while work stands still).
        var changes: [(day: Int, minute: Int, status: WorkStatus, reason: String?, measured: Bool)] = [
            (timeline.startDay, 9 * 60 + random.int(0...60), .inProgress, nil, false)
        ]
        for index in timeline.suspensions.indices {
            changes.append((
                timeline.suspensionStart(index), 11 * 60 + random.int(0...180), .suspended, timeline.suspensions[index].reason, true))
            changes.append((timeline.suspensionEnd(index), 9 * 60 + random.int(0...60), .inProgress, nil, false))
        }
        var working = changes
        var week = timeline.startDay + 7
        while week < timeline.finishDay && week < days.endDay {
            if !changes.contains(where: { $0.day == week }) {
                let suspension = timeline.suspension(on: week)
                working.append((
                    week, 17 * 60 + random.int(0...90), suspension == nil ? .inProgress : .suspended,
                    suspension.map { timeline.suspensions[$0].reason }, suspension == nil))
            }
            week += 7
        }
        working.sort { ($0.day, $0.minute) < ($1.day, $1.minute) }
        var percent = 0.0
        for change in working {
            if change.measured {
                let done = timeline.fractionDone(before: change.minute >= 12 * 60 ? change.day + 1 : change.day)
                // A flat S-curve: slower to start and to finish than mid-way, but work on pace lags its linear
                // plan by three points at most, so that only real delays show as behind schedule.
                let curve = 0.7 * done + 0.3 * done * done * (3 - 2 * done)
                let noisy = (curve * 100 + random.double(-2...2)).rounded()
                percent = max(percent, min(max(noisy, 0), 99))
            }
            reports.append(Report(
                time: LocalClock.instant(day: change.day, minute: change.minute),
                report: ProgressReport(
                    status: change.status, percent: percent, actualStart: actualStart, blockingReason: change.reason)))
        }

        // Finished, then accepted once the passing inspection is out.
        if !timeline.isLate {
            let actualFinish = LocalClock.date(timeline.finishDay)
            reports.append(Report(
                time: LocalClock.instant(day: timeline.finishDay, minute: 16 * 60 + random.int(0...90)),
                report: ProgressReport(status: .completed, percent: 100, actualStart: actualStart, actualFinish: actualFinish)))
            if let acceptance, let passedDue {
                var time = LocalClock.instant(day: acceptance.acceptedDay, minute: 15 * 60 + random.int(0...120))
                let earliest = LocalClock.adding(minutes: random.int(60...180), to: passedDue)
                if time < earliest { time = earliest }
                reports.append(Report(
                    time: time,
                    report: ProgressReport(status: .accepted, percent: 100, actualStart: actualStart, actualFinish: actualFinish)))
            }
        }

        var published: Timestamp?
        for report in reports {
            var due = report.time
            if random.chance(0.08) { due = LocalClock.adding(minutes: random.int((20 * 60)...(50 * 60)), to: due) }
            if let published, due < published { due = published }
            published = builder.add(
                organisation: item.organisation, time: report.time, due: due, utility: item.utility, site: item.community,
                workItem: item.id, data: .progress(report.report)) ?? published
        }
    }
}
