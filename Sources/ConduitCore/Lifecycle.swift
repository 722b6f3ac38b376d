/// Something wrong that only shows across events; the aggregator raises it as an alert.
public struct LifecycleFinding: Sendable, Hashable, CustomStringConvertible {
    /// The alert kind to raise.
    public var kind: AlertKind
    /// Why, in words.
    public var reason: String

    public init(kind: AlertKind, reason: String) {
        self.kind = kind
        self.reason = reason
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

    /// Whether these inspections of a work item accept it: a performed inspection of the acceptance
    /// kind that passed, after which no critical or major defect of any of them remains open.
    public static func isAccepted(by inspections: [InspectionReport], acceptance: InspectionKind) -> Bool {
        let passed = inspections.contains {
            $0.status == .performed && $0.result == .passed && ($0.kind == acceptance || $0.kind == .jointAcceptance)
        }
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

    /// Checks a work item reported `accepted` against its inspections so far.
    public static func checkAcceptance(workItem: String, status: WorkStatus, inspections: [InspectionReport], acceptance: InspectionKind) -> LifecycleFinding? {
        guard status == .accepted, !isAccepted(by: inspections, acceptance: acceptance) else { return nil }
        let open = openBlockingDefects(in: inspections)
        if !open.isEmpty {
            return LifecycleFinding(
                kind: .lifecycleAnomaly,
                reason: "\(workItem) is marked accepted with open \(open.map { "\($0.severity.rawValue) defect \($0.id)" }.joined(separator: ", "))")
        }
        return LifecycleFinding(
            kind: .lifecycleAnomaly,
            reason: "\(workItem) is marked accepted without a passed \(acceptance.rawValue) inspection")
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

    /// Checks that a planned outage was noticed at least `required` seconds before its window.
    public static func checkNotice(outage key: String, _ report: OutageReport, requiredSeconds: Int64 = requiredNoticeSeconds) -> LifecycleFinding? {
        guard report.nature == .planned, let start = report.windowStart, let noticed = report.noticedAt else { return nil }
        let lead = (start.microsecondsSinceEpoch - noticed.microsecondsSinceEpoch) / 1_000_000
        guard lead < requiredSeconds else { return nil }
        let when = lead >= 0
            ? "\(lead / 3600) h \(lead % 3600 / 60) min before its window"
            : "\(-lead / 3600) h \(-lead % 3600 / 60) min after its window had begun"
        return LifecycleFinding(
            kind: .shortNotice,
            reason: "outage \(key) was noticed \(when); \(requiredSeconds / 3600) h are required")
    }

    /// Checks an outage still off after its planned window ended.
    public static func checkOverrun(outage key: String, _ report: OutageReport, now: Timestamp) -> LifecycleFinding? {
        guard report.status == .started, report.restoredAt == nil, let end = report.windowEnd, now > end else { return nil }
        return LifecycleFinding(kind: .outageOverrun, reason: "outage \(key) is still off after its window ended at \(end)")
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
        return LifecycleFinding(
            kind: .reinspectionOverdue,
            reason: "\(workItem): \(overdue.map(\.id).joined(separator: ", ")) past due and not re-inspected")
    }

    /// The percent a work item should have reached on `today` if its plan were linear.
    public static func expectedPercent(plannedStart: CalendarDate, plannedFinish: CalendarDate, today: CalendarDate) -> Double {
        let total = plannedFinish.daysSinceEpoch - plannedStart.daysSinceEpoch
        let elapsed = today.daysSinceEpoch - plannedStart.daysSinceEpoch
        guard elapsed > 0 else { return 0 }
        guard total > 0, elapsed < total else { return 100 }
        return Double(elapsed) * 100 / Double(total)
    }

    /// Checks a work item behind its plan by more than `tolerance` percentage points,
    /// and one not completed although its planned finish or the scenario deadline has passed.
    public static func checkSchedule(
        workItem: WorkItem, status: WorkStatus, percent: Double, today: CalendarDate, deadline: CalendarDate, tolerance: Double = 15
    ) -> LifecycleFinding? {
        guard status != .completed, status != .accepted, status != .cancelled else { return nil }
        if today > deadline || (workItem.plannedFinish < today && deadline.daysSinceEpoch - today.daysSinceEpoch < 30) {
            return LifecycleFinding(
                kind: .deadlineAtRisk,
                reason: "\(workItem.id) is \(EventValidator.format(percent))% done; the deadline is \(deadline)")
        }
        let expected = expectedPercent(plannedStart: workItem.plannedStart, plannedFinish: workItem.plannedFinish, today: today)
        guard expected - percent > tolerance else { return nil }
        return LifecycleFinding(
            kind: .behindSchedule,
            reason: "\(workItem.id) is \(EventValidator.format(percent))% done; the plan expects \(EventValidator.format(expected.rounded()))% by \(today)")
    }

    /// Checks an agent silent for more than three heartbeat intervals.
    public static func checkSilence(agent: String, lastSeen: Timestamp, heartbeatIntervalMs: Int, now: Timestamp) -> LifecycleFinding? {
        let silentMicros = now.microsecondsSinceEpoch - lastSeen.microsecondsSinceEpoch
        guard silentMicros > Int64(heartbeatIntervalMs) * 3_000 else { return nil }
        return LifecycleFinding(kind: .agentSilent, reason: "agent \(agent) has been silent for \(silentMicros / 1_000_000) s")
    }
}
