/// Something wrong that only shows across events; the aggregator raises it as an alert.
public struct LifecycleFinding: Sendable, Hashable, CustomStringConvertible {
    /// The alert kind to raise.
    public var kind: AlertKind
    /// Why, in words.
    public var reason: String
    /// The figures behind it (the ledger entry's figures).
    public var figures: AlertFigures

    public init(kind: AlertKind, reason: String, figures: AlertFigures = AlertFigures()) {
        self.kind = kind
        self.reason = reason
        self.figures = figures
    }

    public var description: String { "\(kind.rawValue): \(reason)" }
}

/// The lifecycle rules, as pure functions of earlier and later facts.
///
/// None of these rejects an event: field reports arrive late and out of order, so what contradicts
/// earlier events is stored and raised as an alert by the aggregator, which calls these rules.
public enum Lifecycle {
    /// The statuses a work item may move to from `status` (repeating a status is always allowed).
    public static func successors(of status: WorkStatus) -> Set<WorkStatus> {
        switch status {
        case .planned: [.scheduled, .cancelled]
        case .scheduled: [.inProgress, .cancelled]
        case .inProgress: [.suspended, .completed, .cancelled]
        case .suspended: [.inProgress, .cancelled]
        case .completed: [.accepted]
        case .accepted: []
        case .cancelled: []
        }
    }

    /// Checks a work item's move from its previous status (`nil`: the first report) to a new one.
    /// A first report may start anywhere: the agent may have joined late.
    public static func checkTransition(workItem: String, from previous: WorkStatus?, to next: WorkStatus) -> LifecycleFinding? {
        guard let previous, previous != next else { return nil }
        if successors(of: previous).contains(next) { return nil }
        return LifecycleFinding(
            kind: .lifecycleAnomaly,
            reason: "\(workItem) went from \(previous.rawValue) to \(next.rawValue), which its lifecycle does not allow")
    }

    /// Whether these inspections of a work item accept it: a performed inspection of its acceptance kind (and of
    /// no other: a joint acceptance does not accept water or elevator work) that passed, after which no critical or
    /// major defect of any of them remains open. Work that needs no acceptance (`nil`) needs no inspection.
    public static func isAccepted(by inspections: [InspectionReport], acceptance: InspectionKind?) -> Bool {
        guard let acceptance else { return openBlockingDefects(in: inspections).isEmpty }
        let passed = inspections.contains { $0.status == .performed && $0.result == .passed && $0.kind == acceptance }
        return passed && openBlockingDefects(in: inspections).isEmpty
    }

    /// Defects that block acceptance and are still open, taking the latest report of each defect id.
    /// `inspections` are in the order they were recorded.
    ///
    /// Only performed inspections count: a request may list the defects it asks to have checked, but a defect is
    /// rectified or verified when an inspector says so, not when the utility does.
    public static func openBlockingDefects(in inspections: [InspectionReport]) -> [Defect] {
        var latest: [String: Defect] = [:]
        var order: [String] = []
        for inspection in inspections where inspection.status == .performed {
            for defect in inspection.defects {
                if latest.updateValue(defect, forKey: defect.id) == nil { order.append(defect.id) }
            }
        }
        return order.compactMap { latest[$0] }.filter { $0.status == .open && $0.severity.blocksAcceptance }
    }

    /// Checks a work item reported `accepted` against its inspections up to then (`acceptance_missing`).
    public static func checkAcceptance(workItem: String, status: WorkStatus, inspections: [InspectionReport], acceptance: InspectionKind?) -> LifecycleFinding? {
        guard status == .accepted, !isAccepted(by: inspections, acceptance: acceptance) else { return nil }
        let open = openBlockingDefects(in: inspections)
        if !open.isEmpty {
            return LifecycleFinding(
                kind: .acceptanceMissing,
                reason: "\(workItem) is marked accepted with open \(open.map { "\($0.severity.rawValue) defect \($0.id)" }.joined(separator: ", "))")
        }
        return LifecycleFinding(
            kind: .acceptanceMissing,
            reason: "\(workItem) is marked accepted without a passed \(acceptance?.rawValue ?? "acceptance") inspection")
    }

    /// Checks a work item's reported percent against the one before (`progress_regression`): any fall is noted.
    public static func checkRegression(workItem: String, from previous: Double, to percent: Double) -> LifecycleFinding? {
        guard percent < previous else { return nil }
        var figures = AlertFigures()
        figures[.previousPercent] = .number(previous)
        figures[.percent] = .number(percent)
        return LifecycleFinding(
            kind: .progressRegression,
            reason: "\(workItem) went back from \(EventValidator.format(previous))% to \(EventValidator.format(percent))% done",
            figures: figures)
    }

    /// The statuses an outage may move to from `status`.
    public static func successors(of status: OutageStatus) -> Set<OutageStatus> {
        switch status {
        case .proposed: [.noticed, .started, .cancelled]
        case .noticed: [.started, .cancelled]
        case .started: [.restored]
        case .restored: []
        case .cancelled: []
        }
    }

    /// Checks an outage's move from its previous status (`nil`: first report) to a new one.
    /// Restored without ever having started is an anomaly; so is a first report of `restored`
    /// that carries no `startedAt`.
    public static func checkTransition(outage key: String, from previous: OutageStatus?, to next: OutageStatus, startedAt: Timestamp? = nil) -> LifecycleFinding? {
        guard let previous else {
            if next == .restored && startedAt == nil {
                return LifecycleFinding(kind: .lifecycleAnomaly, reason: "outage \(key) was restored but never started")
            }
            return nil
        }
        if previous == next || successors(of: previous).contains(next) { return nil }
        if next == .restored {
            return LifecycleFinding(kind: .lifecycleAnomaly, reason: "outage \(key) was restored but never started (it was \(previous.rawValue))")
        }
        return LifecycleFinding(
            kind: .lifecycleAnomaly,
            reason: "outage \(key) went from \(previous.rawValue) to \(next.rawValue), which its lifecycle does not allow")
    }

    /// The default lead time residents must be notified before a planned outage: 24 hours.
    public static let requiredNoticeSeconds: Int64 = 24 * 3600

    /// Which notice violation a planned outage's report shows, if any: `short_notice` or `no_notice` (the kind of
    /// ``checkNotice(outage:_:requiredSeconds:)``'s finding, without building it).
    public static func noticeViolation(_ report: OutageReport, requiredSeconds: Int64 = requiredNoticeSeconds) -> AlertKind? {
        guard report.nature == .planned else { return nil }
        guard let noticed = report.noticedAt else {
            return report.status == .started || report.status == .restored || report.startedAt != nil ? .noNotice : nil
        }
        guard let start = report.windowStart else { return nil }
        return (start.microsecondsSinceEpoch - noticed.microsecondsSinceEpoch) / 1_000_000 < requiredSeconds ? .shortNotice : nil
    }

    /// Checks that a planned outage was noticed at least `required` seconds before its window (`short_notice`), and
    /// that one which started (or was restored) was noticed at all (`no_notice`).
    public static func checkNotice(
        outage key: String, _ report: OutageReport, requiredSeconds: Int64 = requiredNoticeSeconds, zone: PlanTimeZone = .chinaStandardTime
    ) -> LifecycleFinding? {
        guard noticeViolation(report, requiredSeconds: requiredSeconds) != nil else { return nil }
        var figures = AlertFigures()
        figures[.windowStart] = report.windowStart.map(AlertFigures.Value.time)
        figures[.windowEnd] = report.windowEnd.map(AlertFigures.Value.time)
        figures[.requiredNoticeHours] = .integer(requiredSeconds / 3600)
        figures[.households] = .integer(Int64(report.households))
        guard let noticed = report.noticedAt else {
            guard report.status == .started || report.status == .restored || report.startedAt != nil else { return nil }
            figures[.startedAt] = report.startedAt.map(AlertFigures.Value.time)
            return LifecycleFinding(
                kind: .noNotice,
                reason: "outage \(key) went off\(report.startedAt.map { " at \($0.localText(zone))" } ?? "") with no notice; \(requiredSeconds / 3600) h are required",
                figures: figures)
        }
        guard let start = report.windowStart else { return nil }
        let lead = (start.microsecondsSinceEpoch - noticed.microsecondsSinceEpoch) / 1_000_000
        guard lead < requiredSeconds else { return nil }
        let when = lead >= 0
            ? "\(lead / 3600) h \(lead % 3600 / 60) min before its window"
            : "\(-lead / 3600) h \(-lead % 3600 / 60) min after its window had begun"
        figures[.noticedAt] = .time(noticed)
        figures[.noticeLeadMinutes] = .integer(lead / 60)
        return LifecycleFinding(
            kind: .shortNotice,
            reason: "outage \(key) was noticed \(when); \(requiredSeconds / 3600) h are required", figures: figures)
    }

    /// Checks an outage still off, as far as the reports tell, after its planned window ended (`outage_unrestored`):
    /// a condition, until a restoration is reported; the restoration's own time decides whether it overran.
    public static func checkOverrun(
        outage key: String, _ report: OutageReport, now: Timestamp, zone: PlanTimeZone = .chinaStandardTime
    ) -> LifecycleFinding? {
        guard report.status == .started, report.restoredAt == nil, let end = report.windowEnd, now > end else { return nil }
        var figures = AlertFigures()
        figures[.windowStart] = report.windowStart.map(AlertFigures.Value.time)
        figures[.windowEnd] = .time(end)
        figures[.startedAt] = report.startedAt.map(AlertFigures.Value.time)
        figures[.households] = .integer(Int64(report.households))
        return LifecycleFinding(
            kind: .outageUnrestored, reason: "outage \(key) is not reported restored; its window ended at \(end.localText(zone))", figures: figures)
    }

    /// Checks a restored outage against its window (`outage_overrun`): restored after the window ended, by the
    /// restoration's own time.
    public static func checkRestoration(outage key: String, _ report: OutageReport, zone: PlanTimeZone = .chinaStandardTime) -> LifecycleFinding? {
        guard let end = report.windowEnd, let restored = report.restoredAt, restored > end else { return nil }
        let minutes = (restored.microsecondsSinceEpoch - end.microsecondsSinceEpoch) / 60_000_000
        var figures = AlertFigures()
        figures[.windowStart] = report.windowStart.map(AlertFigures.Value.time)
        figures[.windowEnd] = .time(end)
        figures[.startedAt] = report.startedAt.map(AlertFigures.Value.time)
        figures[.restoredAt] = .time(restored)
        figures[.overrunMinutes] = .integer(minutes)
        figures[.households] = .integer(Int64(report.households))
        return LifecycleFinding(
            kind: .outageOverrun,
            reason: "outage \(key) was restored at \(restored.localText(zone)), \(minutes / 60) h \(minutes % 60) min after its window ended at \(end.localText(zone))",
            figures: figures)
    }

    /// Checks a planned outage whose window ended without a start or cancellation reported (`outage_lapsed`).
    public static func checkLapsed(
        outage key: String, _ report: OutageReport, now: Timestamp, zone: PlanTimeZone = .chinaStandardTime
    ) -> LifecycleFinding? {
        guard report.status == .proposed || report.status == .noticed, report.startedAt == nil, let end = report.windowEnd, now > end
        else { return nil }
        var figures = AlertFigures()
        figures[.windowStart] = report.windowStart.map(AlertFigures.Value.time)
        figures[.windowEnd] = .time(end)
        figures[.noticedAt] = report.noticedAt.map(AlertFigures.Value.time)
        figures[.households] = .integer(Int64(report.households))
        return LifecycleFinding(
            kind: .outageLapsed,
            reason: "outage \(key) was \(report.status.rawValue) for a window that ended at \(end.localText(zone)), and never reported started or cancelled",
            figures: figures)
    }

    /// Whether two outage windows overlap in time and share a building (or either names none, meaning all).
    public static func overlaps(_ first: OutageReport, _ second: OutageReport) -> Bool {
        guard let firstStart = first.windowStart, let firstEnd = first.windowEnd,
            let secondStart = second.windowStart, let secondEnd = second.windowEnd,
            firstStart < secondEnd, secondStart < firstEnd
        else { return false }
        if first.buildings.isEmpty || second.buildings.isEmpty { return true }
        return !Set(first.buildings).isDisjoint(with: second.buildings)
    }

    /// Checks two outages of a community for an overlap (see ``overlaps(_:_:)``).
    public static func checkOverlap(outage key: String, _ report: OutageReport, with otherKey: String, _ other: OutageReport) -> LifecycleFinding? {
        guard report.status != .cancelled, other.status != .cancelled, report.status != .restored, other.status != .restored,
            overlaps(report, other)
        else { return nil }
        return LifecycleFinding(kind: .outageOverlap, reason: "outages \(key) and \(otherKey) overlap in time on the same buildings")
    }

    /// Checks a failed or conditional inspection whose defects are past due with no later inspection.
    public static func checkReinspection(workItem: String, failed: InspectionReport, laterInspections: [InspectionReport], today: CalendarDate) -> LifecycleFinding? {
        guard failed.status == .performed, failed.result == .failed || failed.result == .conditional,
            !laterInspections.contains(where: { $0.status == .performed && $0.kind == failed.kind })
        else { return nil }
        let overdue = failed.defects.filter { defect in
            defect.status == .open && (defect.dueDate.map { $0 < today } ?? false)
        }
        guard !overdue.isEmpty else { return nil }
        var figures = AlertFigures()
        figures[.dueDate] = overdue.compactMap(\.dueDate).min().map(AlertFigures.Value.date)
        return LifecycleFinding(
            kind: .reinspectionOverdue,
            reason: "\(workItem): \(overdue.map(\.id).joined(separator: ", ")) past due and not re-inspected", figures: figures)
    }

    /// The percent a work item should have reached on `today` if its plan were linear.
    public static func expectedPercent(plannedStart: CalendarDate, plannedFinish: CalendarDate, today: CalendarDate) -> Double {
        let total = plannedFinish.daysSinceEpoch - plannedStart.daysSinceEpoch
        let elapsed = today.daysSinceEpoch - plannedStart.daysSinceEpoch
        guard elapsed > 0 else { return 0 }
        guard total > 0, elapsed < total else { return 100 }
        return Double(elapsed) * 100 / Double(total)
    }

    /// Checks a work item behind its plan (`behind_schedule`): not started although its planned start has passed, or
    /// more than `tolerance` percentage points behind its linear plan. One finding per item.
    public static func checkBehind(
        workItem: WorkItem, status: WorkStatus, percent: Double, today: CalendarDate, tolerance: Double
    ) -> LifecycleFinding? {
        checkBehind(
            workItem: workItem.id, plannedStart: workItem.plannedStart, plannedFinish: workItem.plannedFinish, status: status,
            percent: percent, today: today, tolerance: tolerance)
    }

    /// ``checkBehind(workItem:status:percent:today:tolerance:)`` of the work item `id` with these planned dates.
    public static func checkBehind(
        workItem id: String, plannedStart: CalendarDate, plannedFinish: CalendarDate, status: WorkStatus, percent: Double,
        today: CalendarDate, tolerance: Double
    ) -> LifecycleFinding? {
        guard status != .completed, status != .accepted, status != .cancelled else { return nil }
        let expected = expectedPercent(plannedStart: plannedStart, plannedFinish: plannedFinish, today: today)
        let notStarted = (status == .planned || status == .scheduled) && plannedStart < today
        guard notStarted || expected - percent > tolerance else { return nil }
        var figures = AlertFigures()
        figures[.percent] = .number(percent)
        figures[.expectedPercent] = .number(expected.rounded())
        figures[.plannedStart] = .date(plannedStart)
        figures[.plannedFinish] = .date(plannedFinish)
        if notStarted {
            return LifecycleFinding(
                kind: .behindSchedule,
                reason: "\(id) has not started; its plan started on \(plannedStart) and expects \(EventValidator.format(expected.rounded()))% by \(today)",
                figures: figures)
        }
        return LifecycleFinding(
            kind: .behindSchedule,
            reason: "\(id) is \(EventValidator.format(percent))% done; the plan expects \(EventValidator.format(expected.rounded()))% by \(today)",
            figures: figures)
    }

    /// The day a work item finishes at its pace so far: `percent` done from `start` to `today`; `nil` when it has
    /// made no progress (it never finishes at that pace).
    public static func projectedFinish(percent: Double, start: CalendarDate, today: CalendarDate) -> CalendarDate? {
        guard percent > 0 else { return nil }
        guard percent < 100 else { return today }
        let elapsed = Double(max(1, today.daysSinceEpoch - start.daysSinceEpoch))
        let remaining = ((100 - percent) * elapsed / percent).rounded(.up)
        guard remaining < 36_500 else { return nil }
        return CalendarDate(daysSinceEpoch: today.daysSinceEpoch + Int(remaining))
    }

    /// Checks a work item against the plan's deadline (`deadline_at_risk`):
    /// - after the deadline, any item not accepted (a completed item still waiting for its acceptance included;
    ///   work that needs no acceptance is done when completed);
    /// - before it, an unfinished item past its planned finish when the deadline is less than `marginDays` away or
    ///   its pace so far (its percent over the days since it started) does not finish it by the deadline.
    public static func checkDeadline(
        workItem: WorkItem, status: WorkStatus, percent: Double, actualStart: CalendarDate?, today: CalendarDate,
        deadline: CalendarDate, marginDays: Int = 30
    ) -> LifecycleFinding? {
        guard status != .accepted, status != .cancelled else { return nil }
        if status == .completed && (workItem.acceptance == nil || today <= deadline) { return nil }
        guard today > deadline || workItem.plannedFinish < today else { return nil }
        var figures = AlertFigures()
        figures[.percent] = .number(percent)
        figures[.plannedFinish] = .date(workItem.plannedFinish)
        figures[.deadline] = .date(deadline)
        if today > deadline {
            let state = status == .completed
                ? "is completed but not accepted (\(workItem.acceptance?.rawValue ?? "acceptance") not passed)"
                : "is \(EventValidator.format(percent))% done"
            return LifecycleFinding(kind: .deadlineAtRisk, reason: "\(workItem.id) \(state); the deadline \(deadline) has passed", figures: figures)
        }
        let started = status != .planned && status != .scheduled
        let projected = started ? projectedFinish(percent: percent, start: actualStart ?? workItem.plannedStart, today: today) : nil
        let daysLeft = deadline.daysSinceEpoch - today.daysSinceEpoch
        guard daysLeft < marginDays || projected.map({ $0 > deadline }) ?? true else { return nil }
        figures[.projectedFinish] = projected.map(AlertFigures.Value.date)
        let late = today.daysSinceEpoch - workItem.plannedFinish.daysSinceEpoch
        let pace = projected.map { "at its pace so far it finishes on \($0)" } ?? (started ? "it has made no progress" : "it has not started")
        return LifecycleFinding(
            kind: .deadlineAtRisk,
            reason: "\(workItem.id) is \(EventValidator.format(percent))% done, \(late) days past its planned finish \(workItem.plannedFinish); \(pace); \(daysLeft) days to the deadline \(deadline)",
            figures: figures)
    }

    /// The deadline finding of ``checkDeadline(workItem:status:percent:actualStart:today:deadline:marginDays:)``
    /// if any, else the behind-plan finding of ``checkBehind(workItem:status:percent:today:tolerance:)``.
    public static func checkSchedule(
        workItem: WorkItem, status: WorkStatus, percent: Double, today: CalendarDate, deadline: CalendarDate, tolerance: Double = 15
    ) -> LifecycleFinding? {
        checkDeadline(workItem: workItem, status: status, percent: percent, actualStart: nil, today: today, deadline: deadline)
            ?? checkBehind(workItem: workItem, status: status, percent: percent, today: today, tolerance: tolerance)
    }

    /// Checks an agent silent for more than three heartbeat intervals.
    public static func checkSilence(agent: String, lastSeen: Timestamp, heartbeatIntervalMs: Int, now: Timestamp) -> LifecycleFinding? {
        let silentMicros = now.microsecondsSinceEpoch - lastSeen.microsecondsSinceEpoch
        guard silentMicros > Int64(heartbeatIntervalMs) * 3_000 else { return nil }
        return LifecycleFinding(kind: .agentSilent, reason: "agent \(agent) has been silent for \(silentMicros / 1_000_000) s")
    }
}
