import ConduitCore

/// The ledger's bookkeeping: raising, keeping current, clearing and acknowledging entries.
extension AggregateState {
    /// Raises the entry `key` if `finding` is not `nil` and it is not raised yet (a raised condition's figures and
    /// message are kept current instead); clears it if `finding` is `nil` and it is raised. For a violation, `nil`
    /// means that later reports showed it did not happen.
    mutating func update(
        _ key: String, _ finding: LifecycleFinding?, subject: LedgerSubject, refs: @autoclosure () -> [String],
        _ changes: inout [AlertChange]
    ) {
        let time = now ?? .earliest
        if let finding {
            if let entry = ledger[key], entry.isRaised {
                if entry.kind.ledgerClass == .condition && (entry.figures != finding.figures || entry.message != finding.reason) {
                    ledger[key]!.figures = finding.figures
                    ledger[key]!.message = finding.reason
                }
                return
            }
            let refs = refs()
            let deadline = rectificationDeadline(finding.kind, raisedAt: time)
            if ledger[key] != nil {
                ledger[key]!.reopen(finding, refs: refs, subject: subject, at: time, deadline: deadline)
            } else {
                ledger[key] = LedgerEntry(
                    kind: finding.kind, key: key, subject: subject, message: finding.reason, refs: refs, figures: finding.figures,
                    raisedAt: time, deadline: deadline)
            }
            changes.append(AlertChange(
                kind: finding.kind, key: key, status: .raised, message: finding.reason, refs: refs, time: time, subject: subject,
                raisedAt: time, deadline: deadline, figures: finding.figures))
        } else if let entry = ledger[key], entry.isRaised {
            let message = "cleared: " + entry.message
            ledger[key]!.isRaised = false
            ledger[key]!.clearedAt = time
            ledger[key]!.record(LedgerStep(status: .cleared, time: time, message: message))
            changes.append(AlertChange(
                kind: entry.kind, key: key, status: .cleared, message: message, refs: entry.refs, time: time, subject: entry.subject,
                raisedAt: entry.raisedAt, deadline: entry.deadline, figures: entry.figures))
        }
    }

    /// The rectification deadline of an entry of `kind` raised at `time`: the plan's period after that local day.
    func rectificationDeadline(_ kind: AlertKind, raisedAt time: Timestamp) -> CalendarDate? {
        scenario.ledger.rectificationDays(for: kind).map { days in
            CalendarDate(daysSinceEpoch: options.localDate(of: time).daysSinceEpoch + days)
        }
    }

    /// A work item's percent fell: a `progress_regression` violation, or, while one is on the record and not
    /// acknowledged, a repeat of it (its figures the latest fall's).
    mutating func noteRegression(_ index: Int, from previous: Double, ref: String, _ changes: inout [AlertChange]) {
        let key = itemKeys[index].regression
        let percent = workItems[index].percent
        if let entry = ledger[key], entry.isOpen {
            ledger[key]!.repeats += 1
            ledger[key]!.figures[.previousPercent] = .number(previous)
            ledger[key]!.figures[.percent] = .number(percent)
            return
        }
        if ledger[key]?.isRaised == true {
            // Acknowledged: a new fall goes on the record as the entry raised again.
            ledger[key]!.isRaised = false
        }
        let finding = Lifecycle.checkRegression(workItem: workItems[index].item.id, from: previous, to: percent)
        let subject = itemSubject(index)
        update(key, finding, subject: subject, refs: [ref], &changes)
    }

    /// A coordinator's acknowledgement of an entry; one of an entry the ledger does not have is ignored.
    mutating func acknowledge(_ report: AlertReport, _ event: Event) {
        guard ledger[report.key] != nil else {
            eventsIgnored += 1
            return
        }
        let organisation = String(event.sourceOrganisation)
        ledger[report.key]!.acknowledgement = LedgerAcknowledgement(
            time: event.time, organisation: organisation, note: report.message, ref: Self.ref(event))
        ledger[report.key]!.record(LedgerStep(status: .acknowledged, time: event.time, message: report.message, by: organisation))
    }

    /// The subject of an entry about work item `index`: its organisation, community and id.
    func itemSubject(_ index: Int) -> LedgerSubject {
        let item = workItems[index].item
        return LedgerSubject(organisation: item.organisation, community: item.community, workItem: item.id, utility: item.utility)
    }

    /// The subject of an entry about outage `index`: the organisation that reported it, its community, the work item
    /// that caused it and its key.
    func outageSubject(_ index: Int) -> LedgerSubject {
        let outage = outages[index]
        return LedgerSubject(
            organisation: outage.organisation, community: outage.community, workItem: outage.report.causedBy, outage: outage.key,
            utility: outage.report.service)
    }
}

extension LedgerEntry {
    /// Raises a cleared entry again: a new episode, with no acknowledgement yet.
    mutating func reopen(_ finding: LifecycleFinding, refs: [String], subject: LedgerSubject, at time: Timestamp, deadline: CalendarDate?) {
        isRaised = true
        message = finding.reason
        figures = finding.figures
        self.refs = refs
        self.subject = subject
        raisedAt = time
        self.deadline = deadline
        acknowledgement = nil
        repeats = 0
        record(LedgerStep(status: .raised, time: time, message: finding.reason))
    }
}

/// The alert keys of one work item, made once.
struct WorkItemKeys: Sendable, Hashable {
    var transition: String
    var acceptance: String
    var behindSchedule: String
    var deadline: String
    var reinspectionOverdue: String
    var regression: String

    init(id: String) {
        transition = Keys.workItemTransition(id)
        acceptance = Keys.acceptanceMissing(id)
        behindSchedule = Keys.behindSchedule(id)
        deadline = Keys.deadlineAtRisk(id)
        reinspectionOverdue = Keys.reinspectionOverdue(id)
        regression = Keys.progressRegression(id)
    }
}

/// The alert keys: `<kind>/<subject>`, stable so that a clear names its raise.
enum Keys {
    static func workItemTransition(_ id: String) -> String { "lifecycle_anomaly/workitem/\(id)/transition" }
    static func acceptanceMissing(_ id: String) -> String { "acceptance_missing/\(id)" }
    static func outageTransition(_ key: String) -> String { "lifecycle_anomaly/outage/\(key)" }
    static func behindSchedule(_ id: String) -> String { "behind_schedule/\(id)" }
    static func deadlineAtRisk(_ id: String) -> String { "deadline_at_risk/\(id)" }
    static func reinspectionOverdue(_ id: String) -> String { "reinspection_overdue/\(id)" }
    static func progressRegression(_ id: String) -> String { "progress_regression/\(id)" }
    static func shortNotice(_ key: String) -> String { "short_notice/\(key)" }
    static func noNotice(_ key: String) -> String { "no_notice/\(key)" }
    static func outageOverrun(_ key: String) -> String { "outage_overrun/\(key)" }
    static func outageUnrestored(_ key: String) -> String { "outage_unrestored/\(key)" }
    static func outageLapsed(_ key: String) -> String { "outage_lapsed/\(key)" }
    static func outageOverlap(_ first: String, _ second: String) -> String {
        first < second ? "outage_overlap/\(first)+\(second)" : "outage_overlap/\(second)+\(first)"
    }
    static func agentSilent(_ key: String) -> String { "agent_silent/\(key)" }
    static func escalation(_ rule: String, _ id: String) -> String { "escalation/\(rule)/\(id)" }
}
