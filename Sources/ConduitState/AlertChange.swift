import ConduitCore

/// Whom and what a ledger entry concerns: the responsible organisation, and the community, work item or outage.
public struct LedgerSubject: Sendable, Hashable {
    /// The organisation responsible for rectifying it.
    public var organisation: String?
    public var community: String?
    public var workItem: String?
    /// The outage key (`<site>/<service>/<reference>`).
    public var outage: String?
    /// The utility of the work item, or the service of the outage (for the alert event's topic).
    public var utility: Utility?

    public init(
        organisation: String? = nil, community: String? = nil, workItem: String? = nil, outage: String? = nil, utility: Utility? = nil
    ) {
        self.organisation = organisation
        self.community = community
        self.workItem = workItem
        self.outage = outage
        self.utility = utility
    }
}

/// An alert the fold raised or cleared while applying one event or advancing its clock: a change of a ledger entry.
public struct AlertChange: Sendable, Hashable, CustomStringConvertible {
    /// What the alert is about.
    public var kind: AlertKind
    /// The stable key of the alert: a clear names the key of its raise (`<kind>/<subject>…`).
    public var key: String
    /// Raised or cleared.
    public var status: AlertStatus
    /// A readable explanation.
    public var message: String
    /// The events behind it, `source#id`.
    public var refs: [String]
    /// The fold clock when it changed.
    public var time: Timestamp
    /// The responsible organisation, community, work item and outage.
    public var subject: LedgerSubject
    /// When the entry was raised (for a clear: the raise it clears).
    public var raisedAt: Timestamp
    /// The rectification deadline, from the plan's ledger rules.
    public var deadline: CalendarDate?
    /// The entry's figures at the change.
    public var figures: AlertFigures

    /// A change of the alert `key`.
    public init(
        kind: AlertKind, key: String, status: AlertStatus, message: String, refs: [String], time: Timestamp,
        subject: LedgerSubject = LedgerSubject(), raisedAt: Timestamp? = nil, deadline: CalendarDate? = nil,
        figures: AlertFigures = AlertFigures()
    ) {
        self.kind = kind
        self.key = key
        self.status = status
        self.message = message
        self.refs = refs
        self.time = time
        self.subject = subject
        self.raisedAt = raisedAt ?? time
        self.deadline = deadline
        self.figures = figures
    }

    /// The payload of the `conduit.alert` event that announces this change.
    public var report: AlertReport {
        AlertReport(
            status: status, kind: kind, key: key, message: message, refs: refs, organisation: subject.organisation,
            community: subject.community, workItem: subject.workItem, outage: subject.outage, raisedAt: raisedAt,
            deadline: deadline, figures: figures)
    }

    /// `raised <key>: <message>` or `cleared <key>: …`.
    public var description: String { "\(status.rawValue) \(key): \(message)" }
}

/// One step in the history of a ledger entry.
public struct LedgerStep: Sendable, Hashable {
    /// Raised, cleared or acknowledged.
    public var status: AlertStatus
    /// The fold clock when it happened (for an acknowledgement: the acknowledgement event's `time`).
    public var time: Timestamp
    /// The entry's message then, or the coordinator's note.
    public var message: String
    /// Who acknowledged it (an organisation), for an acknowledgement.
    public var by: String?

    public init(status: AlertStatus, time: Timestamp, message: String, by: String? = nil) {
        self.status = status
        self.time = time
        self.message = message
        self.by = by
    }
}

/// A coordinator's acknowledgement of a ledger entry.
public struct LedgerAcknowledgement: Sendable, Hashable {
    /// The acknowledgement event's `time`.
    public var time: Timestamp
    /// The coordinator's organisation.
    public var organisation: String
    /// The coordinator's note.
    public var note: String
    /// The acknowledgement event, `source#id`.
    public var ref: String

    public init(time: Timestamp, organisation: String, note: String, ref: String) {
        self.time = time
        self.organisation = organisation
        self.note = note
        self.ref = ref
    }
}

/// An entry of the supervision office's ledger (督查台账), as the fold keeps it.
///
/// A **condition** is open while raised and closes when the fold clears it (its cause went). A **violation** stays
/// raised once it happened (the fold clears it only when later reports show it did not) and is open until a
/// coordinator acknowledges it. A condition's figures are kept current while it is raised; a violation's are those
/// of what happened. An entry raised again (a condition whose cause returned) is the same entry, with its history.
public struct LedgerEntry: Sendable, Hashable {
    /// What the entry is about.
    public var kind: AlertKind
    /// Its stable key.
    public var key: String
    /// The responsible organisation, community, work item and outage.
    public var subject: LedgerSubject
    /// The message of the latest raise (kept current with the figures while a condition is raised).
    public var message: String
    /// The events behind it, `source#id`.
    public var refs: [String]
    /// Its figures: current while a condition is raised, as they were when a violation happened.
    public var figures: AlertFigures
    /// When it was (last) raised.
    public var raisedAt: Timestamp
    /// The day by which the responsible organisation is to rectify it (from the plan's ledger rules).
    public var deadline: CalendarDate?
    /// Whether it is raised and not cleared.
    public var isRaised: Bool
    /// When it was last cleared.
    public var clearedAt: Timestamp?
    /// The coordinator's acknowledgement of its latest raise.
    public var acknowledgement: LedgerAcknowledgement?
    /// How many more times a violation happened again while it was on the record (a work item's percent falling
    /// again); the figures are the latest time's.
    public var repeats: Int
    /// Its raises, clears and acknowledgements in order: the first and the latest ``historyKept``.
    public var history: [LedgerStep]

    /// At most this many steps of history are kept: the first and the latest.
    public static let historyKept = 32

    public init(
        kind: AlertKind, key: String, subject: LedgerSubject, message: String, refs: [String], figures: AlertFigures,
        raisedAt: Timestamp, deadline: CalendarDate?, isRaised: Bool = true, clearedAt: Timestamp? = nil,
        acknowledgement: LedgerAcknowledgement? = nil, repeats: Int = 0, history: [LedgerStep]? = nil
    ) {
        self.kind = kind
        self.key = key
        self.subject = subject
        self.message = message
        self.refs = refs
        self.figures = figures
        self.raisedAt = raisedAt
        self.deadline = deadline
        self.isRaised = isRaised
        self.clearedAt = clearedAt
        self.acknowledgement = acknowledgement
        self.repeats = repeats
        self.history = history ?? [LedgerStep(status: .raised, time: raisedAt, message: message)]
    }

    /// Condition or violation.
    public var ledgerClass: LedgerClass { kind.ledgerClass }

    /// Whether it is open: a condition while raised, a violation while raised and not acknowledged.
    public var isOpen: Bool { isRaised && (kind.ledgerClass == .condition || acknowledgement == nil) }

    /// Whether it is open past its rectification deadline on `today`.
    public func isOverdue(on today: CalendarDate) -> Bool {
        guard isOpen, let deadline else { return false }
        return deadline < today
    }

    /// Adds a step, keeping the first and the latest ``historyKept`` − 1.
    mutating func record(_ step: LedgerStep) {
        history.append(step)
        if history.count > Self.historyKept { history.remove(at: 1) }
    }
}

/// The latest `conduit.alert` event seen for one key: alerts published by an aggregator, recorded
/// as they are and never re-derived.
public struct PublishedAlert: Sendable, Hashable {
    /// The alert event's payload.
    public var report: AlertReport
    /// The event's `source#id`.
    public var ref: String
    /// The event's `time`.
    public var time: Timestamp

    /// The alert event `ref` of `time` with this payload.
    public init(report: AlertReport, ref: String, time: Timestamp) {
        self.report = report
        self.ref = ref
        self.time = time
    }
}
