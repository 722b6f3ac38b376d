import ConduitJournal
import ZeroMQ

/// Why a broker could not start or had to stop.
public struct BrokerError: Error, Sendable, CustomStringConvertible {
    /// A stable classification.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// An endpoint is already in use, or cannot be bound.
        public static let endpointUnavailable = Code(rawValue: "endpoint.unavailable")
        /// The journal directory cannot be created, opened or written, or the journal is damaged.
        public static let journalUnusable = Code(rawValue: "journal.unusable")
        /// A configuration value is invalid.
        public static let invalidConfiguration = Code(rawValue: "configuration.invalid")
        /// The broker is already running or was stopped.
        public static let wrongState = Code(rawValue: "broker.state")
    }

    public var code: Code
    /// What went wrong and where, for a person.
    public var message: String
    /// The error underneath, if any.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message): \(underlying)" }
        return message
    }
}

/// The text of an error that is not itself `Sendable`, kept as the cause of a ``BrokerError``.
public struct ErrorDescription: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ error: any Error) { description = "\(error)" }
}
