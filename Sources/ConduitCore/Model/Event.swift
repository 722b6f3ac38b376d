/// One event: a CloudEvents 1.0 envelope in structured JSON mode around a typed payload.
///
/// The JSON attribute names are in parentheses. `specversion` is always `1.0` and `type` is
/// `conduit.<kind>`, derived from ``data``. The broker stamps ``sequence``, ``recordedTime`` and
/// ``authenticatedIdentity``, overwriting whatever a client sent. Events are deduplicated by
/// ``dedupeKey`` (`source` + `id`).
public struct Event: Sendable, Hashable {
    /// The producer's id for this event (`id`), unique per source. 1 to 128 bytes.
    public var id: String
    /// The producing agent (`source`), a URI reference `/<organisation>` or `/<organisation>/<agent>…`.
    public var source: String
    /// When the reported fact happened (`time`, RFC 3339). Required by Conduit.
    public var time: Timestamp
    /// A free-form subject (`subject`), such as a building or a defect reference.
    public var subject: String?
    /// `datacontenttype`; if present it must be `application/json`.
    public var dataContentType: String?
    /// The utility the event is about (`utility` extension).
    public var utility: Utility?
    /// The community the event is about (`site` extension), a scenario community id.
    public var site: String?
    /// The work item the event is about (`workitem` extension), a scenario work item id.
    public var workItem: String?
    /// The broker's sequence number (`sequence` extension, a JSON integer), contiguous per broker, from 1.
    public var sequence: UInt64?
    /// When the broker recorded the event (`recordedtime` extension, RFC 3339).
    public var recordedTime: Timestamp?
    /// The identity the broker authenticated for the publisher (`authidentity` extension).
    public var authenticatedIdentity: String?
    /// Other extension attributes, kept verbatim (see ``ExtensionAttribute``), sorted by name.
    public var extensions: [ExtensionAttribute]
    /// The typed payload (`data`); it determines ``kind``.
    public var data: EventData

    public init(
        id: String, source: String, time: Timestamp, subject: String? = nil, dataContentType: String? = nil,
        utility: Utility? = nil, site: String? = nil, workItem: String? = nil, sequence: UInt64? = nil,
        recordedTime: Timestamp? = nil, authenticatedIdentity: String? = nil,
        extensions: [ExtensionAttribute] = [], data: EventData
    ) {
        self.id = id
        self.source = source
        self.time = time
        self.subject = subject
        self.dataContentType = dataContentType
        self.utility = utility
        self.site = site
        self.workItem = workItem
        self.sequence = sequence
        self.recordedTime = recordedTime
        self.authenticatedIdentity = authenticatedIdentity
        self.extensions = extensions.count > 1 ? extensions.sorted { $0.name < $1.name } : extensions
        self.data = data
    }

    /// The kind of the payload.
    public var kind: EventKind { data.kind }

    /// The CloudEvents `type`: `conduit.<kind>`.
    public var type: String { kind.typeName }

    /// The key under which the broker deduplicates: `source` and `id`.
    public var dedupeKey: DedupeKey { DedupeKey(source: source, id: id) }

    /// The organisation the source names: the first path segment of `source`.
    public var sourceOrganisation: Substring { Self.organisation(ofSource: source) }

    /// The organisation a source names: its first path segment (`/china-telecom/nms` → `china-telecom`).
    public static func organisation(ofSource source: String) -> Substring {
        var text = source
        // The byte offset of the second slash, over the string's UTF-8 (a byte loop, not the generic index walk).
        let end = text.withUTF8 { bytes -> Int in
            var i = 1
            while i < bytes.count && bytes[i] != UInt8(ascii: "/") { i += 1 }
            return min(i, bytes.count)
        }
        guard end > 1 else { return source[source.endIndex...] }
        let utf8 = source.utf8
        return Substring(source[utf8.index(after: utf8.startIndex)..<utf8.index(utf8.startIndex, offsetBy: end)])
    }

    /// This event with the broker's stamps, overwriting whatever the client sent.
    public func stamped(sequence: UInt64, recordedTime: Timestamp, authenticatedIdentity: String?) -> Event {
        var copy = self
        copy.sequence = sequence
        copy.recordedTime = recordedTime
        copy.authenticatedIdentity = authenticatedIdentity
        return copy
    }

    /// The work item an outage names as its cause (`data.causedBy`), if any.
    public var outageCause: String? {
        guard case .outage(let report) = data else { return nil }
        return report.causedBy
    }

    /// The fan-out topic of this event (see ``Topic``).
    public var topic: [UInt8] { Topic.make(kind: kind, utility: utility, community: site) }
}

/// The deduplication key of an event.
///
/// Keys compare and hash by their UTF-8 bytes, as they are on the wire: Swift's `String` equality treats canonically
/// equivalent text (a precomposed "é" and "e" + combining accent) as equal, but they are different ids.
public struct DedupeKey: Sendable, Hashable {
    public var source: String
    public var id: String
    public init(source: String, id: String) {
        self.source = source
        self.id = id
    }

    public static func == (lhs: DedupeKey, rhs: DedupeKey) -> Bool {
        lhs.source.utf8.elementsEqual(rhs.source.utf8) && lhs.id.utf8.elementsEqual(rhs.id.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        var source = source
        var id = id
        source.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(0xFF as UInt8)  // never part of UTF-8: separates the two fields
        id.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// An extension attribute Conduit does not define, kept as its raw JSON value and written back verbatim.
///
/// Decision: unknown top-level attributes are **kept**, not rejected, because CloudEvents requires
/// intermediaries to forward extensions. They must still follow the CloudEvents rules: a name of 1 to
/// 20 characters `a-z0-9`, and a scalar value (string, number or boolean; `null`, arrays and objects are
/// rejected with `event.extension`). At most 16 per event. A name must not be one of the attributes
/// Conduit defines (`id`, `utility`, `data`…); the decoder never produces such an extension.
public struct ExtensionAttribute: Sendable, Hashable {
    public var name: String
    /// The value's JSON text, as received (a string keeps its quotes and escapes).
    public var json: [UInt8]
    public init(name: String, json: [UInt8]) {
        self.name = name
        self.json = json
    }
}

/// The typed payload of an event; one case per kind.
public enum EventData: Sendable, Hashable {
    case progress(ProgressReport)
    case inspection(InspectionReport)
    case outage(OutageReport)
    case presence(PresenceReport)
    case alert(AlertReport)
    /// The whole plan in force from this event on: `data` is a plan document (`conduit-plan/1`).
    case plan(Scenario)

    public var kind: EventKind {
        switch self {
        case .progress: .progress
        case .inspection: .inspection
        case .outage: .outage
        case .presence: .presence
        case .alert: .alert
        case .plan: .plan
        }
    }
}

/// The state of one work item (`data` of `conduit.progress`). Requires the `workitem` extension.
public struct ProgressReport: Sendable, Hashable {
    /// Lifecycle status (`status`). Required.
    public var status: WorkStatus
    /// Percent complete, 0 to 100 (`percent`).
    public var percent: Double?
    /// `plannedStart`, `plannedFinish`, `actualStart`, `actualFinish`: `YYYY-MM-DD`.
    public var plannedStart: CalendarDate?
    public var plannedFinish: CalendarDate?
    public var actualStart: CalendarDate?
    public var actualFinish: CalendarDate?
    /// Households affected by the work (`householdsAffected`), zero or more.
    public var householdsAffected: Int?
    /// Why the work is blocked or suspended (`blockingReason`).
    public var blockingReason: String?

    public init(
        status: WorkStatus, percent: Double? = nil, plannedStart: CalendarDate? = nil,
        plannedFinish: CalendarDate? = nil, actualStart: CalendarDate? = nil, actualFinish: CalendarDate? = nil,
        householdsAffected: Int? = nil, blockingReason: String? = nil
    ) {
        self.status = status
        self.percent = percent
        self.plannedStart = plannedStart
        self.plannedFinish = plannedFinish
        self.actualStart = actualStart
        self.actualFinish = actualFinish
        self.householdsAffected = householdsAffected
        self.blockingReason = blockingReason
    }
}

/// An inspection requested or performed on a work item (`data` of `conduit.inspection`).
/// Requires the `workitem` extension.
public struct InspectionReport: Sendable, Hashable {
    /// `status`: requested or performed. Required.
    public var status: InspectionStatus
    /// `kind`. Required.
    public var kind: InspectionKind
    /// The inspecting organisation's id (`authority`). Required.
    public var authority: String
    /// When it is scheduled (`scheduledAt`).
    public var scheduledAt: Timestamp?
    /// When it was carried out (`performedAt`); required when performed.
    public var performedAt: Timestamp?
    /// The outcome (`result`); required when performed, forbidden when requested.
    public var result: InspectionResult?
    /// Defects found or followed up (`defects`).
    public var defects: [Defect]

    public init(
        status: InspectionStatus, kind: InspectionKind, authority: String, scheduledAt: Timestamp? = nil,
        performedAt: Timestamp? = nil, result: InspectionResult? = nil, defects: [Defect] = []
    ) {
        self.status = status
        self.kind = kind
        self.authority = authority
        self.scheduledAt = scheduledAt
        self.performedAt = performedAt
        self.result = result
        self.defects = defects
    }

    /// Whether any defect is still open (not rectified or verified) and blocks acceptance.
    public var hasOpenBlockingDefect: Bool {
        defects.contains { $0.status == .open && $0.severity.blocksAcceptance }
    }
}

/// One defect found by an inspection.
public struct Defect: Sendable, Hashable {
    /// Unique within the work item (`id`).
    public var id: String
    public var severity: DefectSeverity
    /// What is wrong (`description`).
    public var description: String
    /// When it must be rectified (`dueDate`, `YYYY-MM-DD`).
    public var dueDate: CalendarDate?
    /// `status`: open, rectified, verified.
    public var status: DefectStatus

    public init(id: String, severity: DefectSeverity, description: String, dueDate: CalendarDate? = nil, status: DefectStatus = .open) {
        self.id = id
        self.severity = severity
        self.description = description
        self.dueDate = dueDate
        self.status = status
    }
}

/// An interruption of a service (`data` of `conduit.outage`). Requires the `site` extension.
public struct OutageReport: Sendable, Hashable {
    /// `status`. Required.
    public var status: OutageStatus
    /// `nature`: planned or unplanned. Required.
    public var nature: OutageNature
    /// The interrupted service (`service`). Required.
    public var service: Utility
    /// The planned window (`windowStart`, `windowEnd`); required for planned outages, both or neither.
    public var windowStart: Timestamp?
    public var windowEnd: Timestamp?
    /// When residents were notified (`noticedAt`).
    public var noticedAt: Timestamp?
    /// When the service actually went off (`startedAt`) and came back (`restoredAt`).
    public var startedAt: Timestamp?
    public var restoredAt: Timestamp?
    /// Affected buildings of the community (`buildings`), scenario building ids.
    public var buildings: [String]
    /// Affected households (`households`), zero or more. Required.
    public var households: Int
    /// The work item that caused it (`causedBy`).
    public var causedBy: String?

    public init(
        status: OutageStatus, nature: OutageNature, service: Utility, windowStart: Timestamp? = nil,
        windowEnd: Timestamp? = nil, noticedAt: Timestamp? = nil, startedAt: Timestamp? = nil,
        restoredAt: Timestamp? = nil, buildings: [String] = [], households: Int, causedBy: String? = nil
    ) {
        self.status = status
        self.nature = nature
        self.service = service
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.noticedAt = noticedAt
        self.startedAt = startedAt
        self.restoredAt = restoredAt
        self.buildings = buildings
        self.households = households
        self.causedBy = causedBy
    }
}

/// An agent's birth, heartbeat or death (`data` of `conduit.presence`).
public struct PresenceReport: Sendable, Hashable {
    public var status: PresenceStatus
    /// The agent's id (`agent`), an identifier. Required.
    public var agent: String
    /// How often it promises a heartbeat (`heartbeatIntervalMs`), 100 to 3 600 000 ms.
    public var heartbeatIntervalMs: Int?
    /// Its software version (`version`).
    public var version: String?

    public init(status: PresenceStatus, agent: String, heartbeatIntervalMs: Int? = nil, version: String? = nil) {
        self.status = status
        self.agent = agent
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.version = version
    }
}

/// An entry of the supervision office's ledger raised or cleared by the aggregator, or acknowledged by a coordinator
/// (`data` of `conduit.alert`).
///
/// The aggregator's alerts (`raised`, `cleared`) name the entry's responsible organisation, community, work item
/// or outage, when it was raised, its figures at that moment and its rectification deadline; the earlier form
/// (status, kind, key, message, refs) still decodes. An acknowledgement (`acknowledged`) names the entry by `kind`
/// and `key`, with the coordinator's note as its `message`.
public struct AlertReport: Sendable, Hashable {
    public var status: AlertStatus
    /// `kind`. Required.
    public var kind: AlertKind
    /// A stable key: a clear names the same key as its raise (`key`). Required.
    public var key: String
    /// A readable explanation (`message`); for an acknowledgement, the coordinator's note. Required.
    public var message: String
    /// References to the events behind it, `source#id` (`refs`).
    public var refs: [String]
    /// The organisation responsible for the entry (`organisation`), a plan organisation id.
    public var organisation: String?
    /// The community it concerns (`community`).
    public var community: String?
    /// The work item it concerns (`workItem`).
    public var workItem: String?
    /// The outage it concerns (`outage`), by its key `<site>/<service>/<reference>`.
    public var outage: String?
    /// When the entry was (last) raised (`raisedAt`).
    public var raisedAt: Timestamp?
    /// The day by which the responsible organisation is to rectify it (`deadline`), from the plan's ledger rules.
    public var deadline: CalendarDate?
    /// The entry's figures when the event was derived (`figures`).
    public var figures: AlertFigures

    public init(
        status: AlertStatus, kind: AlertKind, key: String, message: String, refs: [String] = [], organisation: String? = nil,
        community: String? = nil, workItem: String? = nil, outage: String? = nil, raisedAt: Timestamp? = nil,
        deadline: CalendarDate? = nil, figures: AlertFigures = AlertFigures()
    ) {
        self.status = status
        self.kind = kind
        self.key = key
        self.message = message
        self.refs = refs
        self.organisation = organisation
        self.community = community
        self.workItem = workItem
        self.outage = outage
        self.raisedAt = raisedAt
        self.deadline = deadline
        self.figures = figures
    }
}

/// The figures of a ledger entry: named values, each name at most once, kept in ``FigureName``'s order.
public struct AlertFigures: Sendable, Hashable {
    /// The type of a figure's value.
    public enum ValueType: String, Sendable {
        case number, integer, date, time, text
    }

    /// A figure's value.
    public enum Value: Sendable, Hashable {
        case number(Double)
        case integer(Int64)
        case date(CalendarDate)
        case time(Timestamp)
        case text(String)

        /// The type of this value.
        public var type: ValueType {
            switch self {
            case .number: .number
            case .integer: .integer
            case .date: .date
            case .time: .time
            case .text: .text
            }
        }
    }

    /// One figure.
    public struct Figure: Sendable, Hashable {
        public var name: FigureName
        public var value: Value
    }

    /// The figures, in ``FigureName`` order.
    public private(set) var entries: [Figure] = []

    /// No figures.
    public init() {}

    /// Whether there are none.
    public var isEmpty: Bool { entries.isEmpty }

    /// The value of `name`; setting `nil` removes it. A value must be of the name's ``FigureName/valueType``.
    public subscript(name: FigureName) -> Value? {
        get { entries.first { $0.name == name }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.name == name }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                let order = name.order
                if entries.last.map({ $0.name.order < order }) ?? true {
                    // Figures are mostly set in their order: append without a search.
                    if entries.isEmpty { entries.reserveCapacity(6) }
                    entries.append(Figure(name: name, value: newValue))
                } else {
                    let position = entries.firstIndex { $0.name.order > order } ?? entries.endIndex
                    entries.insert(Figure(name: name, value: newValue), at: position)
                }
            }
        }
    }

    /// A number figure (a number or an integer), if present.
    public func number(_ name: FigureName) -> Double? {
        switch self[name] {
        case .number(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    /// An integer figure, if present.
    public func integer(_ name: FigureName) -> Int64? {
        if case .integer(let value) = self[name] { value } else { nil }
    }

    /// A date figure, if present.
    public func date(_ name: FigureName) -> CalendarDate? {
        if case .date(let value) = self[name] { value } else { nil }
    }

    /// A time figure, if present.
    public func time(_ name: FigureName) -> Timestamp? {
        if case .time(let value) = self[name] { value } else { nil }
    }

    /// A text figure, if present.
    public func text(_ name: FigureName) -> String? {
        if case .text(let value) = self[name] { value } else { nil }
    }
}
