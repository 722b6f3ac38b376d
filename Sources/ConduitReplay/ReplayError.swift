import ConduitCore

/// Why a replay, a fold of the journal or a diff failed: what kind of failure, a sentence for a person, and the error
/// beneath, if any. The same shape as every other error of Conduit's libraries.
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The broker did not answer in time.
        case noAnswer
        /// The broker turned this client's CURVE handshake down: a key it does not admit there, or the wrong server
        /// key.
        case handshakeFailed
        /// The broker answered the replay with an `ERROR`.
        case refused
        /// Two moments or sequences given the wrong way round.
        case invalidRange
    }

    public var code: Code
    /// What went wrong, in a sentence.
    public var message: String
    /// The error beneath (the broker's `ERROR`), if any.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}

extension ReplayError {
    /// The broker at `endpoint` said nothing for `timeout`.
    public static func noAnswer(from endpoint: String, within timeout: Duration) -> ReplayError {
        ReplayError(.noAnswer, "no answer from the broker at \(endpoint) within \(timeout)")
    }

    /// The broker turned the handshake down; `refusal` says how (``MonitorEvent/refusal(by:)``).
    public static func handshakeFailed(_ refusal: String) -> ReplayError {
        ReplayError(.handshakeFailed, refusal)
    }

    /// The broker answered the replay with `ERROR`.
    public static func refused(_ error: ConduitError) -> ReplayError {
        ReplayError(.refused, "the broker refused the replay: \(error)", underlying: error)
    }
}
