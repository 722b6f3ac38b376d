/// Decodes and encodes events as CloudEvents structured JSON, strictly and without Foundation.
///
/// Decoding parses the bytes once with a strict RFC 8259 reader straight into an ``Event``: no
/// intermediate tree, no `Codable`. It checks structure and formats (required attributes, JSON types,
/// timestamps, dates, identifiers, enumeration values, unknown fields inside `data`). What needs
/// judgement across fields or a scenario — percent ranges, windows, references — is checked by
/// ``EventValidator``. Encoding writes the canonical form: attributes in a fixed order, compact, UTC times.
public enum EventCodec {
    /// The largest event accepted, in bytes of JSON: 64 KiB. Larger events fail with `event.oversize`.
    public static let maximumEventBytes = 65_536

    /// The deepest nesting of arrays and objects in an event.
    public static let maximumDepth = 8

    /// Decodes one event.
    /// - Throws: ``ConduitError`` naming the JSON path and the reason.
    public static func decode(_ bytes: [UInt8]) throws(ConduitError) -> Event {
        try bytes.withUnsafeBufferPointer { buffer throws(ConduitError) -> Event in try decode(buffer) }
    }

    /// Decodes one event from a borrowed buffer.
    public static func decode(_ buffer: UnsafeBufferPointer<UInt8>) throws(ConduitError) -> Event {
        guard buffer.count <= maximumEventBytes else {
            throw ConduitError(.eventOversize, path: "$", "the event is \(buffer.count) bytes; the limit is \(maximumEventBytes)")
        }
        var decoder = EventDecoder(reader: JSONReader(buffer, maximumDepth: maximumDepth))
        return try decoder.decodeEvent()
    }

    /// Decodes one event and validates it against a scenario: the broker's whole input check.
    /// The event comes back completed (``EventValidator/completed(_:)``): `site` and `utility` filled in from its
    /// work item, as the broker stores it.
    public static func decodeAndValidate(_ bytes: [UInt8], with validator: EventValidator) throws(ConduitError) -> Event {
        var event = try decode(bytes)
        try validator.validateAndComplete(&event)
        return event
    }

    /// Decodes one event and notes which of its members' received bytes are already their canonical JSON, so that
    /// ``storedForm(_:reusing:of:recordedTime:)`` can copy them rather than write them again.
    public static func decode(_ bytes: [UInt8], form: inout ReceivedForm) throws(ConduitError) -> Event {
        try bytes.withUnsafeBufferPointer { buffer throws(ConduitError) -> Event in
            guard buffer.count <= maximumEventBytes else {
                throw ConduitError(.eventOversize, path: "$", "the event is \(buffer.count) bytes; the limit is \(maximumEventBytes)")
            }
            var decoder = EventDecoder(reader: JSONReader(buffer, maximumDepth: maximumDepth))
            let event = try decoder.decodeEvent()
            form = decoder.form
            return event
        }
    }

    /// ``decodeAndValidate(_:with:)``, noting which members' received bytes are canonical (``decode(_:form:)``).
    public static func decodeAndValidate(
        _ bytes: [UInt8], with validator: EventValidator, form: inout ReceivedForm
    ) throws(ConduitError) -> Event {
        var event = try decode(bytes, form: &form)
        try validator.validateAndComplete(&event)
        return event
    }

    /// The canonical JSON of an event.
    public static func encode(_ event: Event) -> [UInt8] {
        var writer = JSONWriter(capacity: 384)
        writeEvent(event, to: &writer)
        return writer.bytes
    }

    /// Appends the canonical JSON of an event to `bytes`.
    public static func encode(_ event: Event, into bytes: inout [UInt8]) {
        var writer = JSONWriter(capacity: 0)
        swap(&writer.bytes, &bytes)
        writeEvent(event, to: &writer)
        swap(&writer.bytes, &bytes)
    }
}

/// Which members of a received event are already in canonical form, as ranges of the received bytes (a string with
/// its quotes; `data` whole). A string is canonical without escapes; `time` in UTC with `Z` and a fraction of six
/// digits or none; `data` (of progress, inspection and outage events) compact and without escapes, its members in
/// order, their values canonical, no empty array, every defect's status written.
public struct ReceivedForm: Sendable, Equatable {
    var id: Range<Int>?
    var source: Range<Int>?
    var time: Range<Int>?
    var subject: Range<Int>?
    var site: Range<Int>?
    var workItem: Range<Int>?
    var data: Range<Int>?

    public init() {}

    /// How many of the members are copied.
    public var reusedCount: Int {
        [id, source, time, subject, site, workItem, data].count { $0 != nil }
    }
}

// MARK: - Decoding

struct EventDecoder {
    var reader: JSONReader
    /// The members whose received bytes are already canonical.
    var form = ReceivedForm()
    /// Cleared while decoding `data` when its received bytes are not its canonical form.
    var dataCanonical = true

    /// Clears ``dataCanonical`` unless the timestamp just read is written as ``Timestamp`` writes it.
    @inline(__always)
    mutating func checkTimestampForm() {
        guard dataCanonical else { return }
        if let span = plainString, Self.isCanonicalTimestamp(reader.bytes, span) { return }
        dataCanonical = false
    }

    /// Clears ``dataCanonical`` when the member just read (whose bit `seen` gained since `before`) comes before one
    /// read earlier: the writer writes them in the order of their bits.
    @inline(__always)
    mutating func checkOrder(_ seen: UInt32, _ before: UInt32) {
        if seen ^ before < before { dataCanonical = false }
    }

    /// Reads an integer of `data`, clearing ``dataCanonical`` for `-0` (written `0`).
    mutating func readCount(_ path: String) throws(ConduitError) -> Int {
        _ = try reader.peek(path)
        let start = reader.index
        let value = try reader.readInt(path)
        if value == 0 && reader.bytes[start] == UInt8(ascii: "-") { dataCanonical = false }
        return value
    }

    /// The latest string read, as a range of the input, if it held no escape (its bytes are then its canonical JSON).
    @inline(__always)
    var plainString: Range<Int>? {
        reader.stringEscaped ? nil : reader.stringStart..<reader.index
    }

    private static let specVersionBit: UInt32 = 1 << 0

    /// Whether a timestamp string (with its quotes) is as ``Timestamp`` writes it: `"YYYY-MM-DDTHH:MM:SSZ"`, or with a
    /// fraction of six digits that are not all zero. The parser has checked the rest.
    static func isCanonicalTimestamp(_ b: UnsafeBufferPointer<UInt8>, _ span: Range<Int>) -> Bool {
        let s = span.lowerBound
        guard span.count >= 22, b[s + 11] == UInt8(ascii: "T") else { return false }
        switch span.count {
        case 22: return b[s + 20] == UInt8(ascii: "Z")
        case 29:
            guard b[s + 20] == UInt8(ascii: "."), b[s + 27] == UInt8(ascii: "Z") else { return false }
            return (s + 21..<s + 27).contains { b[$0] != UInt8(ascii: "0") }
        default: return false
        }
    }

    @inline(__always)
    static func mark(_ seen: inout UInt32, _ bit: Int, _ path: String) throws(ConduitError) {
        let mask: UInt32 = 1 << UInt32(bit)
        if seen & mask != 0 { throw ConduitError(.jsonDuplicateKey, path: path, "duplicate key \"\(path.split(separator: ".").last ?? "")\"") }
        seen |= mask
    }

    mutating func decodeEvent() throws(ConduitError) -> Event {
        try reader.beginObject("$")
        var seen: UInt32 = 0
        var id: String?
        var source: String?
        var kind: EventKind?
        var time: Timestamp?
        var subject: String?
        var dataContentType: String?
        var utility: Utility?
        var site: String?
        var workItem: String?
        var sequence: UInt64?
        var recordedTime: Timestamp?
        var identity: String?
        var extensions: [ExtensionAttribute] = []
        var data: EventData?
        var deferredData: Int?
        var first = true
        while let key = try reader.nextKey(&first, "$") {
            switch key.decoded?.count ?? key.count {
            case 2 where reader.keyEquals(key, "id"):
                try Self.mark(&seen, 1, "id")
                id = try reader.readBoundedString("id", maximum: 128)
                form.id = plainString
                continue
            case 4 where reader.keyEquals(key, "type"):
                try Self.mark(&seen, 3, "type")
                kind = try reader.readKind("type")
                continue
            case 4 where reader.keyEquals(key, "time"):
                try Self.mark(&seen, 4, "time")
                time = try reader.readTimestamp("time")
                if let span = plainString, Self.isCanonicalTimestamp(reader.bytes, span) { form.time = span }
                continue
            case 4 where reader.keyEquals(key, "site"):
                try Self.mark(&seen, 7, "site")
                site = try reader.readIdentifier("site")
                form.site = plainString
                continue
            case 4 where reader.keyEquals(key, "data"):
                try Self.mark(&seen, 13, "data")
                if let kind {
                    _ = try reader.peek("data")
                    let start = reader.index
                    let escapes = reader.escapedStrings
                    reader.sawWhitespace = false
                    dataCanonical = true
                    data = try decodeData(kind)
                    // Compact, without an escape in any key or string (the writer would choose its own).
                    if dataCanonical && !reader.sawWhitespace && reader.escapedStrings == escapes {
                        form.data = start..<reader.index
                    }
                } else {
                    _ = try reader.peek("data")
                    deferredData = reader.index
                    _ = try reader.skipValue("data")
                }
                continue
            case 6 where reader.keyEquals(key, "source"):
                try Self.mark(&seen, 2, "source")
                source = try reader.readSource("source")
                form.source = plainString
                continue
            case 7 where reader.keyEquals(key, "subject"):
                try Self.mark(&seen, 5, "subject")
                subject = try reader.readBoundedString("subject", maximum: 256)
                form.subject = plainString
                continue
            case 7 where reader.keyEquals(key, "utility"):
                try Self.mark(&seen, 8, "utility")
                utility = try reader.readEnum("utility", Utility.self)
                continue
            case 8 where reader.keyEquals(key, "workitem"):
                try Self.mark(&seen, 9, "workitem")
                workItem = try reader.readIdentifier("workitem")
                form.workItem = plainString
                continue
            case 8 where reader.keyEquals(key, "sequence"):
                try Self.mark(&seen, 10, "sequence")
                let value = try reader.readUInt64("sequence")
                guard value >= 1 else { throw ConduitError(.dataRange, path: "sequence", "sequence numbers start at 1") }
                sequence = value
                continue
            case 11 where reader.keyEquals(key, "specversion"):
                try Self.mark(&seen, 0, "specversion")
                let value = try reader.readStringBytes("specversion")
                let isOne = try reader.withBytes(of: value) { $0.count == 3 && $0[0] == 0x31 && $0[1] == 0x2E && $0[2] == 0x30 }
                guard isOne else {
                    throw ConduitError(.eventSpecVersion, path: "specversion", "\(reader.quoted(value)) is not a supported CloudEvents version; expected \"1.0\"")
                }
                continue
            case 12 where reader.keyEquals(key, "recordedtime"):
                try Self.mark(&seen, 11, "recordedtime")
                recordedTime = try reader.readTimestamp("recordedtime")
                continue
            case 12 where reader.keyEquals(key, "authidentity"):
                try Self.mark(&seen, 12, "authidentity")
                identity = try reader.readBoundedString("authidentity", maximum: 256)
                continue
            case 15 where reader.keyEquals(key, "datacontenttype"):
                try Self.mark(&seen, 6, "datacontenttype")
                let value = try reader.readString("datacontenttype")
                guard value == "application/json" else {
                    throw ConduitError(.eventFormat, path: "datacontenttype", "\"\(value)\" is not supported; data must be \"application/json\"")
                }
                dataContentType = value
                continue
            default:
                break
            }
            try decodeExtension(key, into: &extensions)
        }
        try reader.expectEnd()
        guard let id else { throw ConduitError(.eventMissing, path: "id", "the required attribute id is missing") }
        guard let source else { throw ConduitError(.eventMissing, path: "source", "the required attribute source is missing") }
        guard seen & Self.specVersionBit != 0 else {
            throw ConduitError(.eventMissing, path: "specversion", "the required attribute specversion is missing")
        }
        guard let kind else { throw ConduitError(.eventMissing, path: "type", "the required attribute type is missing") }
        guard let time else { throw ConduitError(.eventMissing, path: "time", "the required attribute time is missing") }
        if case .none = data, let deferredData {
            var inner = reader
            inner.index = deferredData
            inner.depth = 1
            var decoder = EventDecoder(reader: inner)
            data = try decoder.decodeData(kind)
        }
        // Taken out of the optional rather than copied.
        guard let data = data.take() else { throw ConduitError(.eventMissing, path: "data", "the required attribute data is missing") }
        if extensions.count > 1 { extensions.sort { $0.name < $1.name } }
        return Event(
            id: id, source: source, time: time, subject: subject, dataContentType: dataContentType,
            utility: utility, site: site, workItem: workItem, sequence: sequence, recordedTime: recordedTime,
            authenticatedIdentity: identity, extensions: extensions, data: data)
    }

    mutating func decodeExtension(_ key: JSONKey, into extensions: inout [ExtensionAttribute]) throws(ConduitError) {
        let name = reader.keyString(key)
        let path = JSONPath.member("$", name)
        if name == "data_base64" {
            throw ConduitError(.eventUnknownField, path: path, "binary data is not accepted; send JSON in data")
        }
        guard name.utf8.count <= 20, !name.isEmpty,
            name.utf8.allSatisfy({ ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) })
        else {
            throw ConduitError(.eventExtension, path: path, "\"\(name)\" is not a valid extension attribute name (1 to 20 characters a-z, 0-9)")
        }
        guard !extensions.contains(where: { $0.name == name }) else {
            throw ConduitError(.jsonDuplicateKey, path: path, "duplicate key \"\(name)\"")
        }
        guard extensions.count < 16 else {
            throw ConduitError(.eventExtension, path: path, "more than 16 extension attributes")
        }
        let byte = try reader.peek(path)
        if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "n") {
            throw ConduitError(.eventExtension, path: path, "an extension attribute must be a string, number or boolean, not \(reader.describeValueStart(byte))")
        }
        let range = try reader.skipValue(path)
        extensions.append(ExtensionAttribute(name: name, json: Array(reader.bytes[range])))
    }

    mutating func decodeData(_ kind: EventKind) throws(ConduitError) -> EventData {
        // Progress reports, inspections and outages are the kinds agents send; the broker writes the others itself.
        if kind == .presence || kind == .alert || kind == .plan { dataCanonical = false }
        switch kind {
        case .progress: return .progress(try decodeProgress())
        case .inspection: return .inspection(try decodeInspection())
        case .outage: return .outage(try decodeOutage())
        case .presence: return .presence(try decodePresence())
        case .alert: return .alert(try decodeAlert())
        case .plan: return .plan(try Scenario.decode(document: try JSONValue.parse(&reader, "data"), path: "data"))
        }
    }

    func unknownField(_ key: JSONKey, _ prefix: String, _ kind: EventKind) -> ConduitError {
        let name = reader.keyString(key)
        return ConduitError(.eventUnknownField, path: JSONPath.member(prefix, name), "\"\(name)\" is not a field of \(kind.rawValue) data")
    }

    func missing(_ path: String, _ kind: EventKind) -> ConduitError {
        ConduitError(.eventMissing, path: path, "\(kind.rawValue) data needs \(path.split(separator: ".").last ?? "")")
    }

    mutating func decodeProgress() throws(ConduitError) -> ProgressReport {
        try reader.beginObject("data")
        var seen: UInt32 = 0
        var status: WorkStatus?
        var report = ProgressReport(status: .planned)
        var first = true
        while let key = try reader.nextKey(&first, "data") {
            let before = seen
            defer { checkOrder(seen, before) }
            // By length first, as in decodeEvent: one comparison of bytes for most keys.
            switch key.decoded?.count ?? key.count {
            case 6 where reader.keyEquals(key, "status"):
                try Self.mark(&seen, 0, "data.status")
                status = try reader.readStatus("data.status", WorkStatus.self, kind: .progress)
            case 7 where reader.keyEquals(key, "percent"):
                try Self.mark(&seen, 1, "data.percent")
                report.percent = try reader.readDouble("data.percent", canonical: &dataCanonical)
            case 12 where reader.keyEquals(key, "plannedStart"):
                try Self.mark(&seen, 2, "data.plannedStart")
                report.plannedStart = try reader.readDate("data.plannedStart")
            case 13 where reader.keyEquals(key, "plannedFinish"):
                try Self.mark(&seen, 3, "data.plannedFinish")
                report.plannedFinish = try reader.readDate("data.plannedFinish")
            case 11 where reader.keyEquals(key, "actualStart"):
                try Self.mark(&seen, 4, "data.actualStart")
                report.actualStart = try reader.readDate("data.actualStart")
            case 12 where reader.keyEquals(key, "actualFinish"):
                try Self.mark(&seen, 5, "data.actualFinish")
                report.actualFinish = try reader.readDate("data.actualFinish")
            case 18 where reader.keyEquals(key, "householdsAffected"):
                try Self.mark(&seen, 6, "data.householdsAffected")
                report.householdsAffected = try readCount("data.householdsAffected")
            case 14 where reader.keyEquals(key, "blockingReason"):
                try Self.mark(&seen, 7, "data.blockingReason")
                report.blockingReason = try reader.readBoundedString("data.blockingReason", maximum: 1024)
            default:
                throw unknownField(key, "data", .progress)
            }
        }
        guard let status else { throw missing("data.status", .progress) }
        report.status = status
        return report
    }

    mutating func decodeInspection() throws(ConduitError) -> InspectionReport {
        try reader.beginObject("data")
        var seen: UInt32 = 0
        var status: InspectionStatus?
        var kind: InspectionKind?
        var authority: String?
        var report = InspectionReport(status: .requested, kind: .jointAcceptance, authority: "")
        var first = true
        while let key = try reader.nextKey(&first, "data") {
            let before = seen
            defer { checkOrder(seen, before) }
            if reader.keyEquals(key, "status") {
                try Self.mark(&seen, 0, "data.status")
                status = try reader.readStatus("data.status", InspectionStatus.self, kind: .inspection)
            } else if reader.keyEquals(key, "kind") {
                try Self.mark(&seen, 1, "data.kind")
                kind = try reader.readEnum("data.kind", InspectionKind.self)
            } else if reader.keyEquals(key, "authority") {
                try Self.mark(&seen, 2, "data.authority")
                authority = try reader.readIdentifier("data.authority")
            } else if reader.keyEquals(key, "scheduledAt") {
                try Self.mark(&seen, 3, "data.scheduledAt")
                report.scheduledAt = try reader.readTimestamp("data.scheduledAt")
                checkTimestampForm()
            } else if reader.keyEquals(key, "performedAt") {
                try Self.mark(&seen, 4, "data.performedAt")
                report.performedAt = try reader.readTimestamp("data.performedAt")
                checkTimestampForm()
            } else if reader.keyEquals(key, "result") {
                try Self.mark(&seen, 5, "data.result")
                report.result = try reader.readEnum("data.result", InspectionResult.self)
            } else if reader.keyEquals(key, "defects") {
                try Self.mark(&seen, 6, "data.defects")
                report.defects = try decodeDefects()
                if report.defects.isEmpty { dataCanonical = false }  // an empty array is left out
            } else {
                throw unknownField(key, "data", .inspection)
            }
        }
        guard let status else { throw missing("data.status", .inspection) }
        guard let kind else { throw missing("data.kind", .inspection) }
        guard let authority else { throw missing("data.authority", .inspection) }
        report.status = status
        report.kind = kind
        report.authority = authority
        return report
    }

    mutating func decodeDefects() throws(ConduitError) -> [Defect] {
        try reader.beginArray("data.defects")
        var defects: [Defect] = []
        var first = true
        while try reader.nextElement(&first, "data.defects") {
            guard defects.count < 256 else {
                throw ConduitError(.dataRange, path: "data.defects", "more than 256 defects in one inspection")
            }
            let path = "data.defects[\(defects.count)]"
            try reader.beginObject(path)
            var seen: UInt32 = 0
            var id: String?
            var severity: DefectSeverity?
            var description: String?
            var dueDate: CalendarDate?
            var status: DefectStatus?
            var firstMember = true
            while let key = try reader.nextKey(&firstMember, path) {
                let before = seen
                defer { checkOrder(seen, before) }
                if reader.keyEquals(key, "id") {
                    try Self.mark(&seen, 0, path + ".id")
                    id = try reader.readIdentifier(path + ".id")
                } else if reader.keyEquals(key, "severity") {
                    try Self.mark(&seen, 1, path + ".severity")
                    severity = try reader.readEnum(path + ".severity", DefectSeverity.self)
                } else if reader.keyEquals(key, "description") {
                    try Self.mark(&seen, 2, path + ".description")
                    description = try reader.readBoundedString(path + ".description", maximum: 1024)
                } else if reader.keyEquals(key, "dueDate") {
                    try Self.mark(&seen, 3, path + ".dueDate")
                    dueDate = try reader.readDate(path + ".dueDate")
                } else if reader.keyEquals(key, "status") {
                    try Self.mark(&seen, 4, path + ".status")
                    status = try reader.readEnum(path + ".status", DefectStatus.self)
                } else {
                    let name = reader.keyString(key)
                    throw ConduitError(.eventUnknownField, path: path + "." + name, "\"\(name)\" is not a field of a defect")
                }
            }
            guard let id else { throw ConduitError(.eventMissing, path: path + ".id", "a defect needs id") }
            guard let severity else { throw ConduitError(.eventMissing, path: path + ".severity", "a defect needs severity") }
            guard let description else { throw ConduitError(.eventMissing, path: path + ".description", "a defect needs description") }
            if status == nil { dataCanonical = false }  // the writer writes the default status
            defects.append(Defect(id: id, severity: severity, description: description, dueDate: dueDate, status: status ?? .open))
        }
        return defects
    }

    mutating func decodeOutage() throws(ConduitError) -> OutageReport {
        try reader.beginObject("data")
        var seen: UInt32 = 0
        var status: OutageStatus?
        var nature: OutageNature?
        var service: Utility?
        var households: Int?
        var report = OutageReport(status: .proposed, nature: .planned, service: .power, households: 0)
        var first = true
        while let key = try reader.nextKey(&first, "data") {
            let before = seen
            defer { checkOrder(seen, before) }
            if reader.keyEquals(key, "status") {
                try Self.mark(&seen, 0, "data.status")
                status = try reader.readStatus("data.status", OutageStatus.self, kind: .outage)
            } else if reader.keyEquals(key, "nature") {
                try Self.mark(&seen, 1, "data.nature")
                nature = try reader.readEnum("data.nature", OutageNature.self)
            } else if reader.keyEquals(key, "service") {
                try Self.mark(&seen, 2, "data.service")
                service = try reader.readEnum("data.service", Utility.self)
            } else if reader.keyEquals(key, "windowStart") {
                try Self.mark(&seen, 3, "data.windowStart")
                report.windowStart = try reader.readTimestamp("data.windowStart")
                checkTimestampForm()
            } else if reader.keyEquals(key, "windowEnd") {
                try Self.mark(&seen, 4, "data.windowEnd")
                report.windowEnd = try reader.readTimestamp("data.windowEnd")
                checkTimestampForm()
            } else if reader.keyEquals(key, "noticedAt") {
                try Self.mark(&seen, 5, "data.noticedAt")
                report.noticedAt = try reader.readTimestamp("data.noticedAt")
                checkTimestampForm()
            } else if reader.keyEquals(key, "startedAt") {
                try Self.mark(&seen, 6, "data.startedAt")
                report.startedAt = try reader.readTimestamp("data.startedAt")
                checkTimestampForm()
            } else if reader.keyEquals(key, "restoredAt") {
                try Self.mark(&seen, 7, "data.restoredAt")
                report.restoredAt = try reader.readTimestamp("data.restoredAt")
                checkTimestampForm()
            } else if reader.keyEquals(key, "buildings") {
                try Self.mark(&seen, 8, "data.buildings")
                report.buildings = try reader.readIdentifierArray("data.buildings", maximum: 256)
                if report.buildings.isEmpty { dataCanonical = false }  // an empty array is left out
            } else if reader.keyEquals(key, "households") {
                try Self.mark(&seen, 9, "data.households")
                households = try readCount("data.households")
            } else if reader.keyEquals(key, "causedBy") {
                try Self.mark(&seen, 10, "data.causedBy")
                report.causedBy = try reader.readIdentifier("data.causedBy")
            } else {
                throw unknownField(key, "data", .outage)
            }
        }
        guard let status else { throw missing("data.status", .outage) }
        guard let nature else { throw missing("data.nature", .outage) }
        guard let service else { throw missing("data.service", .outage) }
        guard let households else { throw missing("data.households", .outage) }
        report.status = status
        report.nature = nature
        report.service = service
        report.households = households
        return report
    }

    mutating func decodePresence() throws(ConduitError) -> PresenceReport {
        try reader.beginObject("data")
        var seen: UInt32 = 0
        var status: PresenceStatus?
        var agent: String?
        var report = PresenceReport(status: .birth, agent: "")
        var first = true
        while let key = try reader.nextKey(&first, "data") {
            if reader.keyEquals(key, "status") {
                try Self.mark(&seen, 0, "data.status")
                status = try reader.readStatus("data.status", PresenceStatus.self, kind: .presence)
            } else if reader.keyEquals(key, "agent") {
                try Self.mark(&seen, 1, "data.agent")
                agent = try reader.readIdentifier("data.agent")
            } else if reader.keyEquals(key, "heartbeatIntervalMs") {
                try Self.mark(&seen, 2, "data.heartbeatIntervalMs")
                report.heartbeatIntervalMs = try reader.readInt("data.heartbeatIntervalMs")
            } else if reader.keyEquals(key, "version") {
                try Self.mark(&seen, 3, "data.version")
                report.version = try reader.readBoundedString("data.version", maximum: 64)
            } else {
                throw unknownField(key, "data", .presence)
            }
        }
        guard let status else { throw missing("data.status", .presence) }
        guard let agent else { throw missing("data.agent", .presence) }
        report.status = status
        report.agent = agent
        return report
    }

    mutating func decodeAlert() throws(ConduitError) -> AlertReport {
        try reader.beginObject("data")
        var seen: UInt32 = 0
        var status: AlertStatus?
        var kind: AlertKind?
        var key: String?
        var message: String?
        var report = AlertReport(status: .raised, kind: .behindSchedule, key: "", message: "")
        var first = true
        while let member = try reader.nextKey(&first, "data") {
            if reader.keyEquals(member, "status") {
                try Self.mark(&seen, 0, "data.status")
                status = try reader.readStatus("data.status", AlertStatus.self, kind: .alert)
            } else if reader.keyEquals(member, "kind") {
                try Self.mark(&seen, 1, "data.kind")
                kind = try reader.readEnum("data.kind", AlertKind.self)
            } else if reader.keyEquals(member, "key") {
                try Self.mark(&seen, 2, "data.key")
                key = try reader.readBoundedString("data.key", maximum: 256)
            } else if reader.keyEquals(member, "message") {
                try Self.mark(&seen, 3, "data.message")
                message = try reader.readBoundedString("data.message", maximum: 2048)
            } else if reader.keyEquals(member, "refs") {
                try Self.mark(&seen, 4, "data.refs")
                report.refs = try reader.readStringArray("data.refs", maximum: 64)
            } else if reader.keyEquals(member, "organisation") {
                try Self.mark(&seen, 5, "data.organisation")
                report.organisation = try reader.readIdentifier("data.organisation")
            } else if reader.keyEquals(member, "community") {
                try Self.mark(&seen, 6, "data.community")
                report.community = try reader.readIdentifier("data.community")
            } else if reader.keyEquals(member, "workItem") {
                try Self.mark(&seen, 7, "data.workItem")
                report.workItem = try reader.readIdentifier("data.workItem")
            } else if reader.keyEquals(member, "outage") {
                try Self.mark(&seen, 8, "data.outage")
                report.outage = try reader.readBoundedString("data.outage", maximum: 256)
            } else if reader.keyEquals(member, "raisedAt") {
                try Self.mark(&seen, 9, "data.raisedAt")
                report.raisedAt = try reader.readTimestamp("data.raisedAt")
            } else if reader.keyEquals(member, "deadline") {
                try Self.mark(&seen, 10, "data.deadline")
                report.deadline = try reader.readDate("data.deadline")
            } else if reader.keyEquals(member, "figures") {
                try Self.mark(&seen, 11, "data.figures")
                report.figures = try decodeFigures()
            } else {
                throw unknownField(member, "data", .alert)
            }
        }
        guard let status else { throw missing("data.status", .alert) }
        guard let kind else { throw missing("data.kind", .alert) }
        guard let key else { throw missing("data.key", .alert) }
        guard let message else { throw missing("data.message", .alert) }
        report.status = status
        report.kind = kind
        report.key = key
        report.message = message
        return report
    }

    /// `data.figures`: an object of ``FigureName``s, each with a value of its type.
    mutating func decodeFigures() throws(ConduitError) -> AlertFigures {
        try reader.beginObject("data.figures")
        var figures = AlertFigures()
        var first = true
        while let member = try reader.nextKey(&first, "data.figures") {
            let name = reader.keyString(member)
            let path = JSONPath.member("data.figures", name)
            guard let figure = FigureName(rawValue: name) else {
                throw ConduitError(.eventUnknownField, path: path, "\"\(name)\" is not a figure; expected one of \(FigureName.choices)")
            }
            guard figures[figure] == nil else { throw ConduitError(.jsonDuplicateKey, path: path, "duplicate key \"\(name)\"") }
            switch figure.valueType {
            case .number: figures[figure] = .number(try reader.readDouble(path))
            case .integer: figures[figure] = .integer(try reader.readInt64(path))
            case .date: figures[figure] = .date(try reader.readDate(path))
            case .time: figures[figure] = .time(try reader.readTimestamp(path))
            case .text: figures[figure] = .text(try reader.readBoundedString(path, maximum: 1024))
            }
        }
        return figures
    }
}

// MARK: - Typed field readers

extension JSONReader {
    func quoted(_ token: JSONKey) -> String {
        let text = (try? withBytes(of: token) { String(decoding: $0, as: UTF8.self) }) ?? ""
        return "\"\(text)\""
    }

    @inline(__always)
    mutating func readEnum<E: WireEnum>(_ path: String, _ type: E.Type) throws(ConduitError) -> E {
        let token = try readStringBytes(path)
        if let value = try withBytes(of: token, { E.match($0) }) { return value }
        throw ConduitError(.dataEnum, path: path, "\(quoted(token)) is not one of \(E.choices)")
    }

    @inline(__always)
    mutating func readStatus<E: WireEnum>(_ path: String, _ type: E.Type, kind: EventKind) throws(ConduitError) -> E {
        let token = try readStringBytes(path)
        if let value = try withBytes(of: token, { E.match($0) }) { return value }
        throw ConduitError(.dataStatus, path: path, "\(quoted(token)) is not a status of \(kind.rawValue) events; expected \(E.choices)")
    }

    @inline(__always)
    mutating func readKind(_ path: String) throws(ConduitError) -> EventKind {
        let token = try readStringBytes(path)
        let kind = try withBytes(of: token) { bytes -> EventKind? in
            guard bytes.count > 8, memoryEqual(bytes.baseAddress, ("conduit." as StaticString).utf8Start, 8) else { return nil }
            return EventKind.match(UnsafeBufferPointer(rebasing: bytes[8...]))
        }
        guard let kind else {
            throw ConduitError(.eventKind, path: path, "\(quoted(token)) is not a known event type; expected conduit.progress, conduit.inspection, conduit.outage, conduit.presence, conduit.alert or conduit.plan")
        }
        return kind
    }

    @inline(__always)
    mutating func readTimestamp(_ path: String) throws(ConduitError) -> Timestamp {
        let token = try readStringBytes(path)
        return try withBytes(of: token) { bytes throws(ConduitError) -> Timestamp in try Timestamp.parse(bytes, path: path) }
    }

    mutating func readDate(_ path: String) throws(ConduitError) -> CalendarDate {
        let token = try readStringBytes(path)
        return try withBytes(of: token) { bytes throws(ConduitError) -> CalendarDate in try CalendarDate.parse(bytes, path: path) }
    }

    @inline(__always)
    mutating func readIdentifier(_ path: String) throws(ConduitError) -> String {
        let token = try readStringBytes(path)
        return try withBytes(of: token) { bytes throws(ConduitError) -> String in
            guard Identifier.isValid(bytes) else {
                throw ConduitError(.eventFormat, path: path, "\"\(String(decoding: bytes, as: UTF8.self))\" is not an identifier (1 to 64 characters a-z, 0-9, '-')")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    @inline(__always)
    mutating func readBoundedString(_ path: String, maximum: Int) throws(ConduitError) -> String {
        let token = try readStringBytes(path)
        return try withBytes(of: token) { bytes throws(ConduitError) -> String in
            guard !bytes.isEmpty else { throw ConduitError(.eventFormat, path: path, "must not be empty") }
            guard bytes.count <= maximum else {
                throw ConduitError(.eventFormat, path: path, "is \(bytes.count) bytes long; the limit is \(maximum)")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// A `source`: a URI reference `/<organisation>[/<more>]`.
    mutating func readSource(_ path: String) throws(ConduitError) -> String {
        let token = try readStringBytes(path)
        return try withBytes(of: token) { bytes throws(ConduitError) -> String in
            // One pass: the organisation (up to the second slash) must be an identifier, and no byte a space or control.
            var valid = bytes.count >= 2 && bytes.count <= 256 && bytes[0] == UInt8(ascii: "/")
            var organisationEnd = bytes.count
            var i = 1
            while valid && i < bytes.count {
                let byte = bytes[i]
                if byte <= 0x20 || byte == 0x7F { valid = false }
                if byte == UInt8(ascii: "/") && organisationEnd == bytes.count { organisationEnd = i }
                i += 1
            }
            guard valid, Identifier.isValid(UnsafeBufferPointer(rebasing: bytes[1..<organisationEnd])) else {
                throw ConduitError(
                    .eventFormat, path: path, "\"\(String(decoding: bytes, as: UTF8.self))\" is not a source; expected /<organisation>[/<agent>]")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    mutating func readInt(_ path: String) throws(ConduitError) -> Int {
        let value = try readInt64(path)
        guard let int = Int(exactly: value) else {
            throw ConduitError(.jsonNumber, path: path, "\(value) is out of range")
        }
        return int
    }

    mutating func readIdentifierArray(_ path: String, maximum: Int) throws(ConduitError) -> [String] {
        try beginArray(path)
        var values: [String] = []
        var first = true
        while try nextElement(&first, path) {
            guard values.count < maximum else {
                throw ConduitError(.dataRange, path: path, "more than \(maximum) elements")
            }
            values.append(try readIdentifier("\(path)[\(values.count)]"))
        }
        return values
    }

    mutating func readStringArray(_ path: String, maximum: Int) throws(ConduitError) -> [String] {
        try beginArray(path)
        var values: [String] = []
        var first = true
        while try nextElement(&first, path) {
            guard values.count < maximum else {
                throw ConduitError(.dataRange, path: path, "more than \(maximum) elements")
            }
            values.append(try readBoundedString("\(path)[\(values.count)]", maximum: 512))
        }
        return values
    }
}

// MARK: - Encoding

extension JSONWriter {
    @inline(__always)
    mutating func timestamp(_ value: Timestamp) {
        bytes.append(UInt8(ascii: "\""))
        value.write(into: &bytes)
        bytes.append(UInt8(ascii: "\""))
        markValueWritten()
    }

    @inline(__always)
    mutating func date(_ value: CalendarDate) {
        bytes.append(UInt8(ascii: "\""))
        value.write(into: &bytes)
        bytes.append(UInt8(ascii: "\""))
        markValueWritten()
    }

    @inline(__always)
    mutating func enumValue<E: WireEnum>(_ value: E) {
        string(value.rawValue)
    }

    /// `"key":value` when the value is present; nothing when it is `nil` (absent attributes are left out, never
    /// written as null).
    @inline(__always)
    mutating func member(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        self.key(key)
        string(value)
    }

    @inline(__always)
    mutating func member(_ key: StaticString, _ value: Timestamp?) {
        guard let value else { return }
        self.key(key)
        timestamp(value)
    }

    @inline(__always)
    mutating func member(_ key: StaticString, _ value: CalendarDate?) {
        guard let value else { return }
        self.key(key)
        date(value)
    }

    @inline(__always)
    mutating func member<T: BinaryInteger>(_ key: StaticString, _ value: T?) {
        guard let value else { return }
        self.key(key)
        integer(value)
    }

    @inline(__always)
    mutating func member(_ key: StaticString, _ value: Double?) {
        guard let value else { return }
        self.key(key)
        double(value)
    }

    @inline(__always)
    mutating func member<E: WireEnum>(_ key: StaticString, _ value: E?) {
        guard let value else { return }
        self.key(key)
        enumValue(value)
    }
}

extension EventCodec {
    static func writeEvent(_ event: Event, to w: inout JSONWriter) {
        w.beginObject()
        w.key("specversion")
        w.plainString("1.0")
        w.key("id")
        w.string(event.id)
        w.key("source")
        w.string(event.source)
        w.key("type")
        switch event.kind {
        case .progress: w.plainString("conduit.progress")
        case .inspection: w.plainString("conduit.inspection")
        case .outage: w.plainString("conduit.outage")
        case .presence: w.plainString("conduit.presence")
        case .alert: w.plainString("conduit.alert")
        case .plan: w.plainString("conduit.plan")
        }
        w.key("time")
        w.timestamp(event.time)
        w.member("subject", event.subject)
        w.member("datacontenttype", event.dataContentType)
        w.member("utility", event.utility)
        w.member("site", event.site)
        w.member("workitem", event.workItem)
        w.member("sequence", event.sequence)
        w.member("recordedtime", event.recordedTime)
        w.member("authidentity", event.authenticatedIdentity)
        for attribute in event.extensions {
            w.dynamicKey(attribute.name)
            w.rawValue(attribute.json)
        }
        w.key("data")
        switch event.data {
        case .progress(let report): writeProgress(report, to: &w)
        case .inspection(let report): writeInspection(report, to: &w)
        case .outage(let report): writeOutage(report, to: &w)
        case .presence(let report): writePresence(report, to: &w)
        case .alert(let report): writeAlert(report, to: &w)
        case .plan(let plan): w.write(plan.document)
        }
        w.endObject()
    }

    static func writeProgress(_ report: ProgressReport, to w: inout JSONWriter) {
        w.beginObject()
        w.key("status")
        w.enumValue(report.status)
        w.member("percent", report.percent)
        w.member("plannedStart", report.plannedStart)
        w.member("plannedFinish", report.plannedFinish)
        w.member("actualStart", report.actualStart)
        w.member("actualFinish", report.actualFinish)
        w.member("householdsAffected", report.householdsAffected)
        w.member("blockingReason", report.blockingReason)
        w.endObject()
    }

    static func writeInspection(_ report: InspectionReport, to w: inout JSONWriter) {
        w.beginObject()
        w.key("status")
        w.enumValue(report.status)
        w.key("kind")
        w.enumValue(report.kind)
        w.key("authority")
        w.string(report.authority)
        w.member("scheduledAt", report.scheduledAt)
        w.member("performedAt", report.performedAt)
        w.member("result", report.result)
        if !report.defects.isEmpty {
            w.key("defects")
            w.beginArray()
            for defect in report.defects {
                w.element()
                w.beginObject()
                w.key("id")
                w.string(defect.id)
                w.key("severity")
                w.enumValue(defect.severity)
                w.key("description")
                w.string(defect.description)
                w.member("dueDate", defect.dueDate)
                w.key("status")
                w.enumValue(defect.status)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
    }

    static func writeOutage(_ report: OutageReport, to w: inout JSONWriter) {
        w.beginObject()
        w.key("status")
        w.enumValue(report.status)
        w.key("nature")
        w.enumValue(report.nature)
        w.key("service")
        w.enumValue(report.service)
        w.member("windowStart", report.windowStart)
        w.member("windowEnd", report.windowEnd)
        w.member("noticedAt", report.noticedAt)
        w.member("startedAt", report.startedAt)
        w.member("restoredAt", report.restoredAt)
        if !report.buildings.isEmpty {
            w.key("buildings")
            w.beginArray()
            for building in report.buildings {
                w.element()
                w.string(building)
            }
            w.endArray()
        }
        w.key("households")
        w.integer(report.households)
        w.member("causedBy", report.causedBy)
        w.endObject()
    }

    static func writePresence(_ report: PresenceReport, to w: inout JSONWriter) {
        w.beginObject()
        w.key("status")
        w.enumValue(report.status)
        w.key("agent")
        w.string(report.agent)
        w.member("heartbeatIntervalMs", report.heartbeatIntervalMs)
        w.member("version", report.version)
        w.endObject()
    }

    static func writeAlert(_ report: AlertReport, to w: inout JSONWriter) {
        w.beginObject()
        w.key("status")
        w.enumValue(report.status)
        w.key("kind")
        w.enumValue(report.kind)
        w.key("key")
        w.string(report.key)
        w.key("message")
        w.string(report.message)
        if !report.refs.isEmpty {
            w.key("refs")
            w.beginArray()
            for reference in report.refs {
                w.element()
                w.string(reference)
            }
            w.endArray()
        }
        w.member("organisation", report.organisation)
        w.member("community", report.community)
        w.member("workItem", report.workItem)
        w.member("outage", report.outage)
        w.member("raisedAt", report.raisedAt)
        w.member("deadline", report.deadline)
        if !report.figures.isEmpty {
            w.key("figures")
            writeFigures(report.figures, to: &w)
        }
        w.endObject()
    }

    /// The figures of an alert, in ``FigureName`` order.
    static func writeFigures(_ figures: AlertFigures, to w: inout JSONWriter) {
        w.beginObject()
        for figure in figures.entries {
            w.dynamicKey(figure.name.rawValue)
            switch figure.value {
            case .number(let value): w.double(value)
            case .integer(let value): w.integer(value)
            case .date(let value): w.date(value)
            case .time(let value): w.timestamp(value)
            case .text(let value): w.string(value)
            }
        }
        w.endObject()
    }
}
