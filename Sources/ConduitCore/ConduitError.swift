/// A failure to decode or validate a frame, an event or a scenario.
///
/// Every error names where it happened (a JSON path such as `data.percent`, or a frame such as
/// `frame[2]`) and why, and carries a stable machine-readable ``Code`` that the broker sends back
/// in its rejection. Its ``description`` reads `data.percent: 140 is above 100`.
public struct ConduitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable error code: a dotted lowercase string such as `data.range`.
    ///
    /// Codes never change meaning once published; new codes may be added. The full list is
    /// ``Code/all`` and is documented in the WireProtocol article.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // Frames and messages.
        /// The message has the wrong number of frames for its command.
        public static let frameArity = Code(rawValue: "frame.arity")
        /// The protocol signature frame is not `CONDUIT/1`.
        public static let frameVersion = Code(rawValue: "frame.version")
        /// The command frame names no command of this socket.
        public static let frameCommand = Code(rawValue: "frame.command")
        /// A fixed-width binary frame has the wrong length.
        public static let frameSize = Code(rawValue: "frame.size")
        /// A text frame is not valid UTF-8 or has a value outside its allowed set.
        public static let frameValue = Code(rawValue: "frame.value")
        /// A topic frame is malformed.
        public static let frameTopic = Code(rawValue: "frame.topic")

        // JSON syntax (RFC 8259, strict).
        /// The bytes are not JSON: unexpected byte, trailing comma, missing colon, trailing data.
        public static let jsonSyntax = Code(rawValue: "json.syntax")
        /// A string is not valid UTF-8.
        public static let jsonUTF8 = Code(rawValue: "json.utf8")
        /// A string has an invalid escape, an unpaired surrogate or an unescaped control character.
        public static let jsonString = Code(rawValue: "json.string")
        /// A number is malformed (leading zero, missing digits) or out of range.
        public static let jsonNumber = Code(rawValue: "json.number")
        /// An object has the same key twice.
        public static let jsonDuplicateKey = Code(rawValue: "json.duplicate_key")
        /// Arrays and objects are nested deeper than allowed.
        public static let jsonDepth = Code(rawValue: "json.depth")

        // Event structure.
        /// The event is larger than ``EventCodec/maximumEventBytes``.
        public static let eventOversize = Code(rawValue: "event.oversize")
        /// A required attribute or field is missing.
        public static let eventMissing = Code(rawValue: "event.missing")
        /// A value has the wrong JSON type (a string where a number belongs, for instance).
        public static let eventType = Code(rawValue: "event.type")
        /// A field that is not part of the kind's payload, or an attribute that is not allowed.
        public static let eventUnknownField = Code(rawValue: "event.unknown_field")
        /// `specversion` is not `1.0`.
        public static let eventSpecVersion = Code(rawValue: "event.specversion")
        /// `type` names no known kind.
        public static let eventKind = Code(rawValue: "event.kind")
        /// A value is malformed: an empty id, a bad timestamp or date, a bad identifier.
        public static let eventFormat = Code(rawValue: "event.format")
        /// An unknown extension attribute breaks the CloudEvents naming or type rules.
        public static let eventExtension = Code(rawValue: "event.extension")

        // Payload values that one event gets wrong by itself.
        /// A status the kind does not have (`restored` in a progress event).
        public static let dataStatus = Code(rawValue: "data.status")
        /// A value that is not one of its enumeration's values (utility, severity, result…).
        public static let dataEnum = Code(rawValue: "data.enum")
        /// A number outside its range (percent above 100, negative households).
        public static let dataRange = Code(rawValue: "data.range")
        /// A window or date range that ends before it begins.
        public static let dataWindow = Code(rawValue: "data.window")
        /// Times within one event in an impossible order (restored before started).
        public static let dataOrder = Code(rawValue: "data.order")
        /// Fields that contradict each other within one event (a result on a requested inspection).
        public static let dataConflict = Code(rawValue: "data.conflict")

        // References to the scenario.
        /// An unknown community.
        public static let scenarioCommunity = Code(rawValue: "scenario.community")
        /// An unknown work item, or one that belongs to another community or utility.
        public static let scenarioWorkItem = Code(rawValue: "scenario.work_item")
        /// An unknown organisation (in `source` or an inspection's authority).
        public static let scenarioOrganisation = Code(rawValue: "scenario.organisation")
        /// A utility that the organisation does not run.
        public static let scenarioUtility = Code(rawValue: "scenario.utility")
        /// An unknown building of the community.
        public static let scenarioBuilding = Code(rawValue: "scenario.building")
        /// A scenario file that contradicts itself (duplicate ids, wrong totals, dangling references).
        public static let scenarioInvalid = Code(rawValue: "scenario.invalid")

        // Broker and query service.
        /// The publisher is not allowed to speak for this organisation.
        public static let authForbidden = Code(rawValue: "auth.forbidden")
        /// The request names something the service does not have (a snapshot path, a request id).
        public static let queryNotFound = Code(rawValue: "query.not_found")
        /// The service is busy or shutting down; retry later.
        public static let serviceUnavailable = Code(rawValue: "service.unavailable")
        /// An internal failure of the service (a journal error); the request may be retried.
        public static let serviceInternal = Code(rawValue: "service.internal")

        /// Every code defined by this version of the protocol.
        public static let all: [Code] = [
            .frameArity, .frameVersion, .frameCommand, .frameSize, .frameValue, .frameTopic,
            .jsonSyntax, .jsonUTF8, .jsonString, .jsonNumber, .jsonDuplicateKey, .jsonDepth,
            .eventOversize, .eventMissing, .eventType, .eventUnknownField, .eventSpecVersion, .eventKind,
            .eventFormat, .eventExtension,
            .dataStatus, .dataEnum, .dataRange, .dataWindow, .dataOrder, .dataConflict,
            .scenarioCommunity, .scenarioWorkItem, .scenarioOrganisation, .scenarioUtility,
            .scenarioBuilding, .scenarioInvalid,
            .authForbidden, .queryNotFound, .serviceUnavailable, .serviceInternal,
        ]
    }

    /// What kind of failure this is.
    public var code: Code
    /// Where it happened: a JSON path (`data.defects[1].severity`, `$` for the whole document)
    /// or a frame (`frame[3]`).
    public var path: String
    /// Why, in words, naming the offending value where that helps.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, path: String, _ reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    /// The message a person reads: `path: reason`.
    public var message: String { "\(path): \(reason)" }

    public var description: String { "\(message) [\(code.rawValue)]" }

    /// The same error with its path placed under `prefix` (used when a document is embedded in another).
    public func nested(under prefix: String) -> ConduitError {
        var copy = self
        if path == "$" || path.isEmpty {
            copy.path = prefix
        } else if path.hasPrefix("[") {
            copy.path = prefix + path
        } else {
            copy.path = prefix + "." + path
        }
        return copy
    }
}
