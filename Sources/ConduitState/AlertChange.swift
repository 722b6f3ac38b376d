import ConduitCore

/// An alert the fold raised or cleared while applying one event or advancing its clock.
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

    /// A change of the alert `key`.
    public init(kind: AlertKind, key: String, status: AlertStatus, message: String, refs: [String], time: Timestamp) {
        self.kind = kind
        self.key = key
        self.status = status
        self.message = message
        self.refs = refs
        self.time = time
    }

    /// The payload of the `conduit.alert` event that announces this change.
    public var report: AlertReport {
        AlertReport(status: status, kind: kind, key: key, message: message, refs: refs)
    }

    /// `raised <key>: <message>` or `cleared <key>: …`.
    public var description: String { "\(status.rawValue) \(key): \(message)" }
}

/// An alert that is raised and not yet cleared, as the fold's ledger holds it.
public struct ActiveAlert: Sendable, Hashable {
    /// What the alert is about.
    public var kind: AlertKind
    /// Its stable key.
    public var key: String
    /// The message it was raised with.
    public var message: String
    /// The events behind it, `source#id`.
    public var refs: [String]
    /// The fold clock when it was raised.
    public var raisedAt: Timestamp

    /// An alert raised at `raisedAt`.
    public init(kind: AlertKind, key: String, message: String, refs: [String], raisedAt: Timestamp) {
        self.kind = kind
        self.key = key
        self.message = message
        self.refs = refs
        self.raisedAt = raisedAt
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
