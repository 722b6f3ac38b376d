import ConduitCore

/// What the fold knows about one work item of the scenario.
public struct WorkItemState: Sendable, Hashable {
    /// The scenario work item (its id, community, organisation, utility and acceptance kind).
    public var item: WorkItem
    /// The latest reported status; `nil` before any report.
    public var status: WorkStatus?
    /// The latest reported percent complete (0 when never reported).
    public var percent: Double
    /// The planned start: the latest reported one, else the scenario's.
    public var plannedStart: CalendarDate
    /// The planned finish: the latest reported one, else the scenario's.
    public var plannedFinish: CalendarDate
    /// The latest reported actual start.
    public var actualStart: CalendarDate?
    /// The latest reported actual finish.
    public var actualFinish: CalendarDate?
    /// Households the work affects: the latest report's figure, else the scenario's.
    public var householdsAffected: Int
    /// Why it is blocked or suspended, from the latest report.
    public var blockingReason: String?
    /// Since when it has its current status: the `time` of the report that moved it there (for a suspended item, when
    /// the suspension began; for an accepted one, when it was reported accepted).
    public var statusSince: Timestamp?
    /// The `time` of the latest applied progress report; older reports are ignored.
    public var reportedAt: Timestamp?
    /// The latest progress report, `source#id`.
    public var lastRef: String?
    /// The `source` of the latest progress report (`/<organisation>/<agent>`).
    public var reportedBy: String?
    /// Inspections of this work item in the order of their `time` (ties in arrival order).
    public var inspections: [InspectionRecord]

    init(item: WorkItem) {
        self.item = item
        self.status = nil
        self.percent = 0
        self.plannedStart = item.plannedStart
        self.plannedFinish = item.plannedFinish
        self.householdsAffected = item.households
        self.inspections = []
    }

    /// The scenario work item with the current plan.
    public var plannedItem: WorkItem {
        var planned = item
        planned.plannedStart = plannedStart
        planned.plannedFinish = plannedFinish
        return planned
    }

    /// Whether the work is done (completed or accepted) or cancelled.
    public var isClosed: Bool { status == .completed || status == .accepted || status == .cancelled }

    /// Whether its inspections accept it (`Lifecycle/isAccepted(by:acceptance:)`).
    public var isAcceptedByInspections: Bool {
        Lifecycle.isAccepted(by: inspections.map(\.report), acceptance: item.acceptance)
    }

    /// Critical or major defects still open (`Lifecycle/openBlockingDefects(in:)`).
    public var openBlockingDefects: [Defect] { Lifecycle.openBlockingDefects(in: inspections.map(\.report)) }

    /// The percent the plan expects on `today`.
    public func expectedPercent(on today: CalendarDate) -> Double {
        Lifecycle.expectedPercent(plannedStart: plannedStart, plannedFinish: plannedFinish, today: today)
    }

    /// Whether it is late on `today`: not closed and either past its planned finish or behind its plan
    /// by more than `threshold` percentage points.
    public func isLate(on today: CalendarDate, threshold: Double) -> Bool {
        guard !isClosed else { return false }
        return plannedFinish < today || expectedPercent(on: today) - percent > threshold
    }
}

/// One inspection event of a work item.
public struct InspectionRecord: Sendable, Hashable {
    /// The inspection as reported.
    public var report: InspectionReport
    /// The event's `time`.
    public var time: Timestamp
    /// The event's `source#id`.
    public var ref: String

    /// The inspection `report` of the event `ref` of `time`.
    public init(report: InspectionReport, time: Timestamp, ref: String) {
        self.report = report
        self.time = time
        self.ref = ref
    }
}

/// What the fold knows about one outage.
///
/// Outage reports carry no id of their own, so an outage is keyed by the community, the service and
/// the reporter's reference: `<site>/<service>/<ref>` where `<ref>` is the event's `subject` if any,
/// else its `windowStart`, else its `startedAt`, else the event id.
public struct OutageState: Sendable, Hashable {
    /// `<site>/<service>/<ref>` (see the type's description).
    public var key: String
    /// The community.
    public var community: String
    /// The organisation that reported it.
    public var organisation: String
    /// The latest report, with times from earlier or late reports filled in where it has none.
    public var report: OutageReport
    /// The status before the latest change (for the lifecycle rule).
    public var previousStatus: OutageStatus?
    /// The `time` of the latest applied report.
    public var reportedAt: Timestamp
    /// Its reports, `source#id`, in arrival order: the first and the latest (see ``refsKept``).
    public var refs: [String]

    /// The keys of its ledger entries, made once.
    let keys: OutageKeys
    /// Which of its entries are raised: the rules look an entry up only to raise it, or to clear one that is raised.
    var raised: OutageEntries = []

    /// The outage `key` of `community`, as reported by `organisation`.
    init(
        key: String, community: String, organisation: String, report: OutageReport, previousStatus: OutageStatus?,
        reportedAt: Timestamp, refs: [String]
    ) {
        self.key = key
        self.community = community
        self.organisation = organisation
        self.report = report
        self.previousStatus = previousStatus
        self.reportedAt = reportedAt
        self.refs = refs
        self.keys = OutageKeys(key: key)
    }

    /// At most this many refs are kept: the first report and the latest ones (an outage reported every few
    /// minutes for weeks must not make the state grow without bound). An alert about the outage carries them, and an
    /// alert's `refs` holds at most 64 on the wire: more, and the broker would refuse the aggregator's alert.
    public static let refsKept = 64

    /// Notes one more report of the outage, keeping the first and the latest ``refsKept`` − 1.
    mutating func addRef(_ ref: String) {
        refs.append(ref)
        if refs.count > Self.refsKept { refs.remove(at: 1) }
    }

    /// Whether the service is off now: started and not restored.
    public var isOff: Bool { report.status == .started && report.restoredAt == nil }
    /// Whether its window ended while it was still only proposed or noticed (never reported started or cancelled):
    /// it is closed then, and an `outage_lapsed` entry says so, until a report tells what became of it.
    public var lapsed: Bool = false

    /// Whether it is neither restored, cancelled nor lapsed.
    public var isOpen: Bool { report.status != .restored && report.status != .cancelled && !lapsed }
    /// Whether it is planned and still ahead: proposed or noticed, and not lapsed.
    public var isPlanned: Bool { (report.status == .proposed || report.status == .noticed) && !lapsed }
}

/// An agent's liveness, as presence events and the fold clock tell it.
public enum AgentLiveness: String, Sendable, Hashable {
    /// Heard from within its timeout.
    case online
    /// Silent past its timeout: its data is stale.
    case stale
    /// It said goodbye (a `death` presence).
    case dead
}

/// What the fold knows about one agent.
public struct AgentState: Sendable, Hashable {
    /// `<organisation>/<agent>`.
    public var key: String
    /// Its organisation (the first segment of its `source`).
    public var organisation: String
    /// The `time` of its latest presence event.
    public var lastSeen: Timestamp
    /// The heartbeat interval it announced, if any.
    public var heartbeatIntervalMs: Int?
    /// The software version it announced, if any.
    public var version: String?
    /// Online, stale or dead.
    public var liveness: AgentLiveness
    /// Its latest presence event, `source#id`.
    public var lastRef: String
    /// Whether the fold judges its silence by the clock: true while its latest presence event is a `heartbeat` it
    /// published itself. An agent the broker tracks (a `birth` on `HELLO`, a `death` on `GOODBYE` or silence)
    /// heartbeats on the wire, not in the journal, so only the broker's `death` with subject `silent` marks it stale.
    public var judgedByClock: Bool = false
}
