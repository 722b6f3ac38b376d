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
        // Entries are read and changed where they are in the dictionary (one lookup, no copy of the entry).
        let position = ledger.index(forKey: key)
        if let finding {
            // Through a mutating method the entry is read and changed in place (a getter would copy it).
            if let position, ledger.values[position].keepCurrent(finding) { return }
            let refs = refs()
            let deadline = rectificationDeadline(finding.kind, raisedAt: time)
            if let position {
                ledger.values[position].reopen(finding, refs: refs, subject: subject, at: time, deadline: deadline)
            } else {
                ledger[key] = LedgerEntry(
                    kind: finding.kind, key: key, subject: subject, message: finding.reason, refs: refs, figures: finding.figures,
                    raisedAt: time, deadline: deadline)
            }
            changes.append(AlertChange(
                kind: finding.kind, key: key, status: .raised, message: finding.reason, refs: refs, time: time, subject: subject,
                raisedAt: time, deadline: deadline, figures: finding.figures))
        } else if let position, let change = ledger.values[position].clear(at: time) {
            changes.append(change)
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
        if let position = ledger.index(forKey: key), ledger.values[position].repeatFall(from: previous, to: percent) { return }
        let finding = Lifecycle.checkRegression(workItem: workItems[index].item.id, from: previous, to: percent)
        update(key, finding, subject: itemKeys[index].subject, refs: [ref], &changes)
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

    /// ``update(_:_:subject:refs:_:)`` of one of outage `index`'s entries, skipped when there is nothing to raise and
    /// nothing raised to clear.
    mutating func updateOutage(
        _ index: Int, _ entry: OutageEntries, _ key: String, _ finding: LifecycleFinding?, subject: LedgerSubject, refs: [String],
        _ changes: inout [AlertChange]
    ) {
        guard finding != nil || outages[index].raised.contains(entry) else { return }
        update(key, finding, subject: subject, refs: refs, &changes)
        if finding != nil { outages[index].raised.insert(entry) } else { outages[index].raised.remove(entry) }
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
    /// If raised, keeps a condition's message and figures those of `finding` (a violation's stay as they were) and
    /// returns true; false if it is not raised.
    mutating func keepCurrent(_ finding: LifecycleFinding) -> Bool {
        guard isRaised else { return false }
        guard kind.ledgerClass == .condition else { return true }
        if message != finding.reason { message = finding.reason }
        if figures != finding.figures { figures = finding.figures }
        return true
    }

    /// Clears it if raised, and returns the change that says so.
    mutating func clear(at time: Timestamp) -> AlertChange? {
        guard isRaised else { return nil }
        let cleared = "cleared: " + message
        isRaised = false
        clearedAt = time
        record(LedgerStep(status: .cleared, time: time, message: cleared))
        return AlertChange(
            kind: kind, key: key, status: .cleared, message: cleared, refs: refs, time: time, subject: subject, raisedAt: raisedAt,
            deadline: deadline, figures: figures)
    }

    /// A work item's percent fell again: while the entry is open, a repeat with the latest fall's figures (true);
    /// once acknowledged, the entry is put down to be raised again (false).
    mutating func repeatFall(from previous: Double, to percent: Double) -> Bool {
        guard isOpen else {
            isRaised = false
            return false
        }
        repeats += 1
        figures[.previousPercent] = .number(previous)
        figures[.percent] = .number(percent)
        return true
    }

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

/// The alert keys of one work item, and the subject of its entries (its organisation, community, id and utility), made once.
struct WorkItemKeys: Sendable, Hashable {
    var transition: String
    var acceptance: String
    var behindSchedule: String
    var deadline: String
    var reinspectionOverdue: String
    var regression: String
    var subject: LedgerSubject

    init(item: WorkItem) {
        let id = item.id
        subject = LedgerSubject(organisation: item.organisation, community: item.community, workItem: id, utility: item.utility)
        transition = Keys.workItemTransition(id)
        acceptance = Keys.acceptanceMissing(id)
        behindSchedule = Keys.behindSchedule(id)
        deadline = Keys.deadlineAtRisk(id)
        reinspectionOverdue = Keys.reinspectionOverdue(id)
        regression = Keys.progressRegression(id)
    }
}

/// The entries of one outage that are raised.
struct OutageEntries: OptionSet, Sendable, Hashable {
    let rawValue: UInt8
    static let transition = OutageEntries(rawValue: 1 << 0)
    static let shortNotice = OutageEntries(rawValue: 1 << 1)
    static let noNotice = OutageEntries(rawValue: 1 << 2)
    static let overrun = OutageEntries(rawValue: 1 << 3)
    static let unrestored = OutageEntries(rawValue: 1 << 4)
    static let lapsed = OutageEntries(rawValue: 1 << 5)
}

/// The alert keys of one outage, made once.
struct OutageKeys: Sendable, Hashable {
    var transition: String
    var shortNotice: String
    var noNotice: String
    var overrun: String
    var unrestored: String
    var lapsed: String

    init(key: String) {
        transition = Keys.outageTransition(key)
        shortNotice = Keys.shortNotice(key)
        noNotice = Keys.noNotice(key)
        overrun = Keys.outageOverrun(key)
        unrestored = Keys.outageUnrestored(key)
        lapsed = Keys.outageLapsed(key)
    }

    /// Each entry with its key.
    var all: [(OutageEntries, String)] {
        [(.transition, transition), (.shortNotice, shortNotice), (.noNotice, noNotice), (.overrun, overrun), (.unrestored, unrestored), (.lapsed, lapsed)]
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
