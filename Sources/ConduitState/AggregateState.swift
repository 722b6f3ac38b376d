import ConduitCore

/// The aggregate state of the renovation: a pure fold of events, with the alerts it derives.
///
/// The aggregator, the CLI's live view and replay's "state at time T" share this one definition.
/// It does no I/O and never reads the wall clock: its clock ``now`` is the latest `time` of the
/// events applied (when the reported facts happened), or a time given to ``advance(to:)`` (a fan-out
/// heartbeat's, while nothing happens), so a replay reproduces the same alerts in the same order. The
/// facts' time, not the broker's `recordedtime`: a report that takes an hour to arrive must not make
/// the outage it restores look an hour overdue.
///
/// - Duplicates: an event whose broker `sequence` is not above ``lastSequence`` is ignored.
///   Events without a sequence (folded before reaching a broker) are always applied.
/// - Out of order: a progress or presence report older (by `time`) than the latest one applied for
///   its work item or agent is ignored; an inspection is always recorded, in `time` order; an older
///   outage report only fills in times the outage does not have yet.
/// - `conduit.alert` events (published back by an aggregator) are recorded in ``publishedAlerts``
///   and derive nothing.
/// - `conduit.plan` events put their plan in force and do not move the clock.
public struct AggregateState: Sendable, Equatable {
    /// The version of the fold's rules: raised whenever a rule changes what a sequence of events folds into, so
    /// that snapshots kept from an earlier version (``StateCheckpoints``) are not taken for this one's.
    public static let foldVersion = 3

    /// The plan in force: the one the state began with, or the latest `conduit.plan` event applied.
    public internal(set) var scenario: Scenario
    /// The sequence of the `conduit.plan` event that put ``scenario`` in force; 0 for the plan the state began with.
    public internal(set) var planSequence: UInt64 = 0
    /// The thresholds of the alert rules: given, or those of the plan in force.
    public internal(set) var options: StateOptions
    /// Whether ``options`` follow the plan in force (they were not given).
    public let optionsFollowPlan: Bool
    /// The highest broker sequence applied; 0 before any.
    public internal(set) var lastSequence: UInt64 = 0
    /// The fold clock: the latest event `time` or advance seen; `nil` before any.
    public internal(set) var now: Timestamp?
    /// Events folded: every event but duplicates (including those whose content was then ignored).
    public internal(set) var eventsApplied: Int = 0
    /// Events ignored: duplicates, and folded events whose content was ignored — reports older than
    /// what they would replace, references the scenario does not know.
    public internal(set) var eventsIgnored: Int = 0
    /// Every work item of the scenario, in scenario order.
    public internal(set) var workItems: [WorkItemState]
    /// Outages in the order they were first reported.
    public internal(set) var outages: [OutageState] = []
    /// Agents in the order they were first heard of.
    public internal(set) var agents: [AgentState] = []
    /// The ledger, by key: every entry raised, open or closed (see ``LedgerEntry``).
    public internal(set) var ledger: [String: LedgerEntry] = [:]
    /// The latest `conduit.alert` event seen per key.
    public internal(set) var publishedAlerts: [String: PublishedAlert] = [:]
    /// The local day the day-based rules were last evaluated for.
    var evaluatedDay: CalendarDate?
    /// The earliest fold time at which a time-based rule may change; `nil`: at the next event.
    var nextTimeCheck: Timestamp?

    // Indexes derived from the arrays above (rebuilt on restore).
    var workItemIndex: [String: Int]
    /// The alert keys of each work item, in scenario order.
    var itemKeys: [WorkItemKeys]
    var outageIndex: [String: Int] = [:]
    /// Positions in ``outages`` of those neither restored nor cancelled, ascending: the only ones the
    /// overlap and overrun rules can concern.
    var openOutages: [Int] = []
    /// Per work item, in scenario order: whether its `behind_schedule` alert is raised (a flag instead of a lookup
    /// of the alert's key on every report).
    var behindScheduleRaised: [Bool]
    /// The positions of the work items whose `deadline_at_risk` entry is raised (so that the rule is skipped for the
    /// others while nothing can raise it).
    var deadlineRaised: Set<Int> = []
    var agentIndex: [String: Int] = [:]

    /// An empty state: every work item of `scenario` planned and unreported, no outages, no alerts.
    /// - Parameter options: the rules' thresholds; by default those of the plan (``StateOptions/init(plan:)``).
    public init(scenario: Scenario, options: StateOptions? = nil) {
        self.scenario = scenario
        self.options = options ?? StateOptions(plan: scenario)
        self.optionsFollowPlan = options == nil
        self.workItems = scenario.workItems.map(WorkItemState.init(item:))
        var index: [String: Int] = [:]
        for (position, item) in scenario.workItems.enumerated() { index[item.id] = position }
        self.workItemIndex = index
        self.itemKeys = scenario.workItems.map(WorkItemKeys.init(item:))
        self.behindScheduleRaised = Array(repeating: false, count: scenario.workItems.count)
    }

    /// The open entries of the ledger, by key: conditions raised and not cleared, violations not acknowledged.
    public var activeAlerts: [String: LedgerEntry] { ledger.filter { $0.value.isOpen } }

    /// The entries raised and not cleared, by key: the open ones and the violations acknowledged.
    public var raisedEntries: [String: LedgerEntry] { ledger.filter { $0.value.isRaised } }

    /// The state of one work item.
    public func workItem(_ id: String) -> WorkItemState? { workItemIndex[id].map { workItems[$0] } }

    /// The state of one outage, by key (see ``OutageState``).
    public func outage(_ key: String) -> OutageState? { outageIndex[key].map { outages[$0] } }

    /// The state of one agent, by `<organisation>/<agent>`.
    public func agent(_ key: String) -> AgentState? { agentIndex[key].map { agents[$0] } }

    /// The local calendar day of the fold clock.
    public var today: CalendarDate? { now.map(options.localDate(of:)) }

    // MARK: - Folding

    /// Applies one event and returns the alerts it raised or cleared, in a deterministic order.
    ///
    /// The event should have passed `EventValidator`; references the scenario does not know are ignored.
    public mutating func apply(_ event: Event) -> [AlertChange] {
        if let sequence = event.sequence {
            guard sequence > lastSequence else {
                eventsIgnored += 1
                return []
            }
            lastSequence = sequence
        }
        eventsApplied += 1
        // A plan statement is no field fact: its time (when the broker or a coordinator stated it) moves no clock.
        let eventTime = event.time
        if event.kind != .plan, now.map({ eventTime > $0 }) ?? true { now = eventTime }
        var changes: [AlertChange] = []
        switch event.data {
        case .progress(let report): applyProgress(report, event, &changes)
        case .inspection(let report): applyInspection(report, event, &changes)
        case .outage(let report): applyOutage(report, event, &changes)
        case .presence(let report): applyPresence(report, event, &changes)
        case .alert(let report): applyAlert(report, event)
        case .plan(let plan): applyPlan(plan, sequence: event.sequence ?? 0, &changes)
        }
        runTimeRules(&changes)
        return changes
    }

    /// Moves the fold clock forward to `time` (a fan-out heartbeat's time, or "as of" for replay) and
    /// returns the alerts the time-based rules raised or cleared. An earlier time changes nothing.
    public mutating func advance(to time: Timestamp) -> [AlertChange] {
        guard now.map({ time > $0 }) ?? true else { return [] }
        now = time
        var changes: [AlertChange] = []
        runTimeRules(&changes)
        return changes
    }

    @inline(__always)
    static func ref(_ event: Event) -> String { event.source + "#" + event.id }

    /// Puts `plan` in force: work items keep their state by id and take the plan's new definition, new items
    /// start unreported, the conditions of items the plan no longer has are cleared (violations stay on the record),
    /// and the time-based rules run again.
    private mutating func applyPlan(_ plan: Scenario, sequence: UInt64, _ changes: inout [AlertChange]) {
        planSequence = sequence
        guard plan != scenario else { return }
        var previous: [String: WorkItemState] = [:]
        for item in workItems { previous[item.item.id] = item }
        let previousKeys = Dictionary(uniqueKeysWithValues: zip(workItems.map(\.item.id), itemKeys))
        scenario = plan
        if optionsFollowPlan { options = StateOptions(plan: plan) }
        workItems = plan.workItems.map { item in
            guard var state = previous.removeValue(forKey: item.id) else { return WorkItemState(item: item) }
            if state.item.plannedStart == state.plannedStart { state.plannedStart = item.plannedStart }
            if state.item.plannedFinish == state.plannedFinish { state.plannedFinish = item.plannedFinish }
            state.item = item
            return state
        }
        workItemIndex = Dictionary(uniqueKeysWithValues: plan.workItems.enumerated().map { ($1.id, $0) })
        itemKeys = plan.workItems.map { WorkItemKeys(item: $0) }
        behindScheduleRaised = itemKeys.map { ledger[$0.behindSchedule]?.isRaised ?? false }
        deadlineRaised = Set(itemKeys.indices.filter { ledger[itemKeys[$0].deadline]?.isRaised ?? false })
        let time = now ?? .earliest
        for removed in previous.keys.sorted() {
            guard let keys = previousKeys[removed] else { continue }
            for key in [keys.transition, keys.acceptance, keys.behindSchedule, keys.deadline, keys.reinspectionOverdue, keys.regression] {
                guard let position = ledger.index(forKey: key), ledger.values[position].kind.ledgerClass == .condition,
                    let change = ledger.values[position].clear(at: time)
                else { continue }
                changes.append(change)
            }
        }
        evaluatedDay = nil
        nextTimeCheck = nil
    }

    private mutating func applyProgress(_ report: ProgressReport, _ event: Event, _ changes: inout [AlertChange]) {
        guard let id = event.workItem, let index = workItemIndex[id] else {
            eventsIgnored += 1
            return
        }
        var item = workItems[index]
        if let reportedAt = item.reportedAt, event.time < reportedAt {
            eventsIgnored += 1
            return
        }
        let previous = item.status
        let previousPercent = item.reportedAt == nil ? nil : item.percent
        if previous != report.status { item.statusSince = event.time }
        item.status = report.status
        if let percent = report.percent {
            item.percent = percent
        } else if report.status == .completed || report.status == .accepted {
            item.percent = 100
        }
        if let start = report.plannedStart { item.plannedStart = start }
        if let finish = report.plannedFinish { item.plannedFinish = finish }
        if let start = report.actualStart { item.actualStart = start }
        if let finish = report.actualFinish { item.actualFinish = finish }
        if let households = report.householdsAffected { item.householdsAffected = households }
        item.blockingReason = report.blockingReason
        item.reportedAt = event.time
        let ref = Self.ref(event)
        item.lastRef = ref
        item.reportedBy = event.source
        workItems[index] = item

        if let previousPercent, item.percent < previousPercent {
            noteRegression(index, from: previousPercent, ref: ref, &changes)
        }
        let statusChanged = previous != report.status
        if statusChanged {
            let finding = Lifecycle.checkTransition(workItem: id, from: previous, to: report.status)
            update(itemKeys[index].transition, finding, subject: itemKeys[index].subject, refs: [ref], &changes)
            evaluateAcceptance(index, &changes)
        }
        // The rules judge the report on the day it moved the clock to (the clock rules catch the other items up on
        // that day next): judged on the day before, a report could clear an alert that the same instant raises again.
        if evaluatedDay != nil, let now {
            let day = options.localDate(of: now)
            evaluateSchedule(index, today: day, &changes)
            evaluateDeadline(index, today: day, &changes)
            if statusChanged || report.status == .suspended { evaluateEscalations(index, today: day, &changes) }
        }
    }

    private mutating func applyInspection(_ report: InspectionReport, _ event: Event, _ changes: inout [AlertChange]) {
        guard let id = event.workItem, let index = workItemIndex[id] else {
            eventsIgnored += 1
            return
        }
        let record = InspectionRecord(report: report, time: event.time, ref: Self.ref(event))
        var position = workItems[index].inspections.endIndex
        while position > 0 && workItems[index].inspections[position - 1].time > event.time { position -= 1 }
        workItems[index].inspections.insert(record, at: position)
        evaluateAcceptance(index, &changes)
        if let day = evaluatedDay { evaluateReinspection(index, today: day, &changes) }
    }

    /// The key of the outage an event reports (see ``OutageState``).
    static func outageKey(_ report: OutageReport, _ event: Event, site: String) -> String {
        let reference = event.subject ?? report.windowStart?.rfc3339 ?? report.startedAt?.rfc3339 ?? event.id
        return site + "/" + report.service.rawValue + "/" + reference
    }

    private mutating func applyOutage(_ report: OutageReport, _ event: Event, _ changes: inout [AlertChange]) {
        guard let site = event.site, scenario.community(site) != nil else {
            eventsIgnored += 1
            return
        }
        let key = Self.outageKey(report, event, site: site)
        let ref = Self.ref(event)
        let index: Int
        var statusChanged = false
        if let existing = outageIndex[key] {
            index = existing
            // Mutated in place: a copy of the outage would copy its refs on every report.
            if event.time >= outages[index].reportedAt {
                let earlier = outages[index].report
                var merged = report
                merged.windowStart = merged.windowStart ?? earlier.windowStart
                merged.windowEnd = merged.windowEnd ?? earlier.windowEnd
                merged.noticedAt = merged.noticedAt ?? earlier.noticedAt
                merged.startedAt = merged.startedAt ?? earlier.startedAt
                merged.restoredAt = merged.restoredAt ?? earlier.restoredAt
                merged.causedBy = merged.causedBy ?? earlier.causedBy
                if merged.buildings.isEmpty { merged.buildings = earlier.buildings }
                if earlier.status != merged.status {
                    outages[index].previousStatus = earlier.status
                    statusChanged = true
                }
                outages[index].report = merged
                outages[index].reportedAt = event.time
            } else {
                outages[index].report.windowStart = outages[index].report.windowStart ?? report.windowStart
                outages[index].report.windowEnd = outages[index].report.windowEnd ?? report.windowEnd
                outages[index].report.noticedAt = outages[index].report.noticedAt ?? report.noticedAt
                outages[index].report.startedAt = outages[index].report.startedAt ?? report.startedAt
                outages[index].report.restoredAt = outages[index].report.restoredAt ?? report.restoredAt
            }
            outages[index].addRef(ref)
        } else {
            index = outages.count
            outages.append(OutageState(
                key: key, community: site, organisation: String(event.sourceOrganisation), report: report,
                previousStatus: nil, reportedAt: event.time, refs: [ref]))
            outageIndex[key] = index
            statusChanged = true
        }
        evaluateOutage(index, statusChanged: statusChanged, &changes)
    }

    private mutating func applyPresence(_ report: PresenceReport, _ event: Event, _ changes: inout [AlertChange]) {
        let organisation = String(event.sourceOrganisation)
        let key = organisation + "/" + report.agent
        // The broker records a death for silence with the subject `silent` (for `GOODBYE`: `goodbye`).
        let silentDeath = report.status == .death && event.subject == "silent"
        let liveness: AgentLiveness = report.status == .death ? (silentDeath ? .stale : .dead) : .online
        let judgedByClock = report.status == .heartbeat
        let ref = Self.ref(event)
        var wasStale = false
        if let index = agentIndex[key] {
            guard event.time >= agents[index].lastSeen else {
                eventsIgnored += 1
                return
            }
            wasStale = agents[index].liveness == .stale
            agents[index].lastSeen = event.time
            agents[index].heartbeatIntervalMs = report.heartbeatIntervalMs ?? agents[index].heartbeatIntervalMs
            agents[index].version = report.version ?? agents[index].version
            agents[index].liveness = liveness
            agents[index].lastRef = ref
            agents[index].judgedByClock = judgedByClock
        } else {
            agentIndex[key] = agents.count
            agents.append(AgentState(
                key: key, organisation: organisation, lastSeen: event.time, heartbeatIntervalMs: report.heartbeatIntervalMs,
                version: report.version, liveness: liveness, lastRef: ref, judgedByClock: judgedByClock))
        }
        // An agent is stale exactly while its agent_silent alert is raised.
        if silentDeath {
            let finding = LifecycleFinding(
                kind: .agentSilent,
                reason: "agent \(key) went silent: the broker heard nothing from it for three heartbeat intervals; its data is stale")
            update(Keys.agentSilent(key), finding, subject: LedgerSubject(organisation: organisation), refs: [ref], &changes)
        } else if wasStale {
            update(Keys.agentSilent(key), nil, subject: LedgerSubject(), refs: [], &changes)
        }
        if liveness == .online && judgedByClock {
            let silentFrom = silenceDeadline(agents[agentIndex[key]!])
            if nextTimeCheck.map({ silentFrom < $0 }) ?? false { nextTimeCheck = silentFrom }
        }
    }

    private mutating func applyAlert(_ report: AlertReport, _ event: Event) {
        if report.status == .acknowledged {
            acknowledge(report, event)
            return
        }
        if let published = publishedAlerts[report.key], published.time > event.time { return }
        publishedAlerts[report.key] = PublishedAlert(report: report, ref: Self.ref(event), time: event.time)
    }
}
