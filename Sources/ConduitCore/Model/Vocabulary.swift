/// A closed set of values written as lowercase snake_case strings on the wire.
public protocol WireEnum: RawRepresentable, CaseIterable, Sendable, Hashable where RawValue == String {}

extension WireEnum {
    /// The case whose wire name equals `bytes`, if any.
    @inline(__always)
    static func match(_ bytes: UnsafeBufferPointer<UInt8>) -> Self? {
        // Compared with each case's name as bytes: no String is built from the input.
        guard bytes.count <= 40, let base = bytes.baseAddress else { return nil }
        for candidate in allCases {
            var name = candidate.rawValue
            let equal = name.withUTF8 { utf8 in utf8.count == bytes.count && memoryEqual(base, utf8.baseAddress!, utf8.count) }
            if equal { return candidate }
        }
        return nil
    }

    /// The wire names of every case, for error messages: `"a", "b" or "c"`.
    static var choices: String {
        let names = allCases.map { "\"\($0.rawValue)\"" }
        guard names.count > 1 else { return names.joined() }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// The wire names of a ``WireEnum``'s cases as bytes, made once: ``match(_:)`` finds a case without allocating, where
/// ``WireEnum/match(_:)`` has `allCases` make an array at every call. For the few lookups made for every event.
package struct WireNames<E: WireEnum>: Sendable {
    private let cases: [E]
    /// The names one after another; the name of `cases[i]` ends at `ends[i]`.
    private let bytes: [UInt8]
    private let ends: [Int]

    package init() {
        cases = Array(E.allCases)
        bytes = cases.flatMap { Array($0.rawValue.utf8) }
        var end = 0
        ends = cases.map { end += $0.rawValue.utf8.count; return end }
    }

    /// The case whose wire name equals `candidate`, if any: what ``WireEnum/match(_:)`` answers.
    package func match(_ candidate: UnsafeBufferPointer<UInt8>) -> E? {
        bytes.withUnsafeBufferPointer { names in
            var start = 0
            for index in ends.indices {
                let end = ends[index]
                if end - start == candidate.count, memoryEqual(candidate.baseAddress, names.baseAddress! + start, candidate.count) {
                    return cases[index]
                }
                start = end
            }
            return nil
        }
    }
}

extension Utility {
    static let wireNames = WireNames<Utility>()
}

extension WorkStatus {
    static let wireNames = WireNames<WorkStatus>()
}

extension EventKind {
    package static let wireNames = WireNames<EventKind>()
}

/// A utility service that relocation work touches and an outage interrupts.
public enum Utility: String, WireEnum {
    case power
    case water
    case telecom
    case broadcast
}

/// The kind of an event; its CloudEvents `type` is `conduit.<kind>`.
public enum EventKind: String, WireEnum {
    case progress
    case inspection
    case outage
    case presence
    case alert
    /// The plan in force from this event on (published by the broker, or by a coordinator to change it).
    case plan

    /// The CloudEvents `type` attribute value.
    public var typeName: String { "conduit." + rawValue }
}

/// The lifecycle of a work item: planned → scheduled → in progress ⇄ suspended → completed → accepted;
/// any status before acceptance may go to cancelled.
public enum WorkStatus: String, WireEnum {
    case planned
    case scheduled
    case inProgress = "in_progress"
    case suspended
    case completed
    case accepted
    case cancelled
}

/// Whether an inspection has been asked for or carried out.
public enum InspectionStatus: String, WireEnum {
    case requested
    case performed
}

/// What an inspection checks.
public enum InspectionKind: String, WireEnum {
    /// The joint completion acceptance led by the housing and construction bureau.
    case jointAcceptance = "joint_acceptance"
    /// Water supply and drainage acceptance by the water investment company.
    case waterAcceptance = "water_acceptance"
    /// Supervisory inspection of a newly installed or modified elevator (market supervision).
    case elevatorSupervisoryInspection = "elevator_supervisory_inspection"
    /// Fire safety inspection by the fire and rescue brigade.
    case fireSafety = "fire_safety"
}

/// The outcome of a performed inspection.
public enum InspectionResult: String, WireEnum {
    case passed
    case failed
    /// Passed on condition that listed defects are rectified by their due dates.
    case conditional
}

/// How serious a defect is; an open critical or major defect blocks acceptance.
public enum DefectSeverity: String, WireEnum {
    case critical
    case major
    case minor

    /// Whether an open defect of this severity blocks acceptance.
    public var blocksAcceptance: Bool { self != .minor }
}

/// Where a defect stands: found, fixed by the contractor, confirmed fixed by the authority.
public enum DefectStatus: String, WireEnum {
    case open
    case rectified
    case verified
}

/// The lifecycle of an outage: proposed → noticed → started → restored; proposed or noticed → cancelled.
public enum OutageStatus: String, WireEnum {
    case proposed
    case noticed
    case started
    case restored
    case cancelled
}

/// Whether an outage was planned (with a window and a notice) or not.
public enum OutageNature: String, WireEnum {
    case planned
    case unplanned
}

/// An agent's presence: it started, is alive, or stopped.
public enum PresenceStatus: String, WireEnum {
    case birth
    case heartbeat
    case death
}

/// What an alert event says of its ledger entry: the aggregator raised or cleared it, or a coordinator acknowledged it.
public enum AlertStatus: String, WireEnum {
    case raised
    case cleared
    /// A coordinator's acknowledgement of the entry, published by the coordinator (not by the aggregator).
    case acknowledged
}

/// The two classes of entry of the supervision office's ledger.
public enum LedgerClass: String, WireEnum {
    /// A state of affairs: raised while its cause lasts, cleared when the cause goes.
    case condition
    /// Something that happened: it stays on the record once raised (cleared only when later reports show that it
    /// did not happen), and is closed by a coordinator's acknowledgement.
    case violation
}

/// What an alert derived by the aggregator is about: the kind of a ledger entry.
public enum AlertKind: String, WireEnum {
    /// A work item behind its linear plan, or not started by its planned start (condition).
    case behindSchedule = "behind_schedule"
    /// Planned outages of different services overlapping on the same buildings (condition).
    case outageOverlap = "outage_overlap"
    /// A planned outage noticed later than its service's rule requires (violation).
    case shortNotice = "short_notice"
    /// A failed or conditional inspection's defects past due and not re-inspected (condition).
    case reinspectionOverdue = "reinspection_overdue"
    /// An outage restored after its planned window ended, by its own restoration time (violation).
    case outageOverrun = "outage_overrun"
    /// An agent silent past its heartbeat timeout (condition).
    case agentSilent = "agent_silent"
    /// A work item that will not, or did not, finish and pass its acceptance by the plan's deadline (condition).
    case deadlineAtRisk = "deadline_at_risk"
    /// A move of a work item or outage that its lifecycle does not allow (condition: a late report may explain it).
    case lifecycleAnomaly = "lifecycle_anomaly"
    /// A planned outage that started with no notice at all (violation).
    case noNotice = "no_notice"
    /// A work item reported accepted when no acceptance inspection of its kind had passed by then (violation).
    case acceptanceMissing = "acceptance_missing"
    /// A work item's reported percent went down (violation: on the record until a coordinator acknowledges it).
    case progressRegression = "progress_regression"
    /// A started outage whose window ended with no restoration reported yet (condition).
    case outageUnrestored = "outage_unrestored"
    /// A noticed outage whose window ended with no start or cancellation reported (condition).
    case outageLapsed = "outage_lapsed"
    /// A work item suspended for one of a plan escalation rule's reasons longer than the rule allows: an entry for
    /// the organisation the rule names (condition).
    case escalation

    /// The ledger class of entries of this kind.
    public var ledgerClass: LedgerClass {
        switch self {
        case .shortNotice, .outageOverrun, .noNotice, .acceptanceMissing, .progressRegression: .violation
        case .behindSchedule, .outageOverlap, .reinspectionOverdue, .agentSilent, .deadlineAtRisk, .lifecycleAnomaly,
            .outageUnrestored, .outageLapsed, .escalation:
            .condition
        }
    }
}

/// The name of one figure of a ledger entry (`figures` of an alert). Each name has one type of value
/// (``AlertFigures/Value``), stated here; figures are written in this order.
public enum FigureName: String, WireEnum {
    /// Percent complete of the work item (number).
    case percent
    /// The percent its plan expects today (number).
    case expectedPercent
    /// The percent it had before a regression (number).
    case previousPercent
    /// Planned start and finish of the work item (dates).
    case plannedStart
    case plannedFinish
    /// When the work item would finish at its pace so far (date).
    case projectedFinish
    /// The plan's deadline (date).
    case deadline
    /// The planned window of an outage, and when it was noticed, started and restored (times).
    case windowStart
    case windowEnd
    case noticedAt
    case startedAt
    case restoredAt
    /// How long before its window an outage was noticed, in minutes; negative after the window began (integer).
    case noticeLeadMinutes
    /// The notice the service's rule requires, in hours (integer).
    case requiredNoticeHours
    /// How long after its window an outage was restored, in minutes (integer).
    case overrunMinutes
    /// Households affected (integer).
    case households
    /// How long an agent has been silent, in seconds (integer).
    case silentSeconds
    /// When the current suspension of a work item began (time), and for how many whole days it has lasted (integer).
    case suspendedSince
    case suspendedDays
    /// The earliest due date of the overdue defects (date).
    case dueDate
    /// The other outage of an overlap (text: its key).
    case otherOutage
    /// Why the work is suspended (text: the latest blocking reason).
    case blockingReason

    /// The type of this figure's value.
    public var valueType: AlertFigures.ValueType {
        switch self {
        case .percent, .expectedPercent, .previousPercent: .number
        case .plannedStart, .plannedFinish, .projectedFinish, .deadline, .dueDate: .date
        case .windowStart, .windowEnd, .noticedAt, .startedAt, .restoredAt, .suspendedSince: .time
        case .noticeLeadMinutes, .requiredNoticeHours, .overrunMinutes, .households, .silentSeconds, .suspendedDays: .integer
        case .otherOutage, .blockingReason: .text
        }
    }

    /// The position of this name in the canonical order (the order of the cases).
    var order: Int {
        switch self {
        case .percent: 0
        case .expectedPercent: 1
        case .previousPercent: 2
        case .plannedStart: 3
        case .plannedFinish: 4
        case .projectedFinish: 5
        case .deadline: 6
        case .windowStart: 7
        case .windowEnd: 8
        case .noticedAt: 9
        case .startedAt: 10
        case .restoredAt: 11
        case .noticeLeadMinutes: 12
        case .requiredNoticeHours: 13
        case .overrunMinutes: 14
        case .households: 15
        case .silentSeconds: 16
        case .suspendedSince: 17
        case .suspendedDays: 18
        case .dueDate: 19
        case .otherOutage: 20
        case .blockingReason: 21
        }
    }
}

/// Identifiers of communities, organisations, work items, buildings and agents: 1 to 64 bytes of
/// `a-z`, `0-9` and `-`, starting with a letter or digit. They never contain the topic delimiter `/`.
public enum Identifier {
    /// Whether `text` is a valid identifier.
    public static func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isValid($0) }
    }

    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 1 && bytes.count <= 64, let base = bytes.baseAddress, base[0] != UInt8(ascii: "-") else { return false }
        // One bit per allowed byte: '-' and '0'-'9' among the first 64 byte values, 'a'-'z' among the next 64.
        let low: UInt64 = 1 << 0x2D | 0x3FF << 0x30
        let high: UInt64 = 0x3FF_FFFF << (0x61 - 64)
        var offset = 0
        while offset < bytes.count {
            let byte = UInt64(base[offset])
            let mask = byte < 64 ? low >> byte : (byte < 128 ? high >> (byte - 64) : 0)
            if mask & 1 == 0 { return false }
            offset += 1
        }
        return true
    }
}
