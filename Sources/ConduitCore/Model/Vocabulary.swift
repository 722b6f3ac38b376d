/// A closed set of values written as lowercase snake_case strings on the wire.
public protocol WireEnum: RawRepresentable, CaseIterable, Sendable, Hashable where RawValue == String {}

extension WireEnum {
    /// The case whose wire name equals `bytes`, if any.
    @inline(__always)
    static func match(_ bytes: UnsafeBufferPointer<UInt8>) -> Self? {
        // Wire names are short ASCII: the String is built inline, without allocating.
        guard bytes.count <= 40 else { return nil }
        return Self(rawValue: String(decoding: bytes, as: UTF8.self))
    }

    /// The wire names of every case, for error messages: `"a", "b" or "c"`.
    static var choices: String {
        let names = allCases.map { "\"\($0.rawValue)\"" }
        guard names.count > 1 else { return names.joined() }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
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

/// Whether an alert is raised or cleared.
public enum AlertStatus: String, WireEnum {
    case raised
    case cleared
}

/// What an alert derived by the aggregator is about.
public enum AlertKind: String, WireEnum {
    case behindSchedule = "behind_schedule"
    case outageOverlap = "outage_overlap"
    case shortNotice = "short_notice"
    case reinspectionOverdue = "reinspection_overdue"
    case outageOverrun = "outage_overrun"
    case agentSilent = "agent_silent"
    case deadlineAtRisk = "deadline_at_risk"
    case lifecycleAnomaly = "lifecycle_anomaly"
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
        guard bytes.count >= 1 && bytes.count <= 64 else { return false }
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): continue
            case UInt8(ascii: "-") where offset > 0: continue
            default: return false
            }
        }
        return true
    }
}
