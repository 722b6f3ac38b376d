import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reported by libzmq: the operation that failed, the errno it set and libzmq's text for it.
///
/// `EAGAIN` is not an error in this API (non-blocking calls return `nil` or `false` instead), and `EINTR` is retried.
/// Context termination arrives as an error whose ``code`` is ``Code/contextTerminated``, so a loop can end cleanly
/// on it (see ``isContextTerminated``).
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable classification of the errno values the product reacts to.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// `ETERM`: the context was shut down or terminated.
        public static let contextTerminated = Code(rawValue: ETERM)
        /// `EADDRINUSE`: the endpoint is already bound.
        public static let addressInUse = Code(rawValue: EADDRINUSE)
        /// `EINVAL`: an invalid argument, endpoint or option.
        public static let invalidArgument = Code(rawValue: EINVAL)
        /// `EHOSTUNREACH`: a ROUTER with `ROUTER_MANDATORY` has no peer with that routing id.
        public static let hostUnreachable = Code(rawValue: EHOSTUNREACH)
        /// `EFSM`: the socket is in the wrong state for the operation (e.g. REQ sending twice).
        public static let wrongState = Code(rawValue: EFSM)
        /// `EPROTONOSUPPORT`: the transport protocol is not supported.
        public static let protocolNotSupported = Code(rawValue: EPROTONOSUPPORT)
        /// `ENOTSOCK`: the socket was already closed.
        public static let notASocket = Code(rawValue: ENOTSOCK)
        /// `EMTHREAD`: no I/O thread is available.
        public static let noIOThread = Code(rawValue: EMTHREAD)
        /// `ENOENT`: the endpoint was not bound or connected (unbind/disconnect).
        public static let noSuchEndpoint = Code(rawValue: ENOENT)

        public var description: String { "errno \(rawValue)" }
    }

    /// The errno value.
    public let code: Code
    /// The C function (and argument, where useful) that failed, for example `zmq_bind(tcp://127.0.0.1:5555)`.
    public let operation: String
    /// libzmq's description of the errno (`zmq_strerror`).
    public let message: String

    public init(code: Code, operation: String) {
        self.code = code
        self.operation = operation
        self.message = String(cString: zmq_strerror(code.rawValue))
    }

    /// Whether the context was shut down or terminated (`ETERM`): the signal for a loop to close its sockets and stop.
    public var isContextTerminated: Bool { code == .contextTerminated }

    public var description: String { "\(operation) failed: \(message) (errno \(code.rawValue))" }
}

/// The outcome of a libzmq call that may report `EAGAIN`.
@usableFromInline
enum CallResult {
    case success(Int32)
    case wouldBlock
}

/// Calls a libzmq function that returns -1 on error, reading errno at once. `EINTR` is retried; `EAGAIN` becomes
/// ``CallResult/wouldBlock``; any other errno is thrown as a ``ZMQError`` naming `operation`.
@inlinable
func zmqCall(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws(ZMQError) -> CallResult {
    while true {
        let result = body()
        if result >= 0 { return .success(result) }
        let errorNumber = zmq_errno()
        if errorNumber == EINTR { continue }
        if errorNumber == EAGAIN { return .wouldBlock }
        throw ZMQError(code: ZMQError.Code(rawValue: errorNumber), operation: operation())
    }
}

/// Calls a libzmq function that cannot meaningfully report `EAGAIN`; any failure is thrown.
@inlinable
@discardableResult
func zmqCheck(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws(ZMQError) -> Int32 {
    switch try zmqCall(operation(), body) {
    case .success(let value): return value
    case .wouldBlock: throw ZMQError(code: ZMQError.Code(rawValue: EAGAIN), operation: operation())
    }
}

/// Calls `body` with the bytes of `array`, keeping the typed error (Array's own method rethrows untyped).
@inlinable
func withBytes<Result>(
    of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ZMQError) -> Result
) throws(ZMQError) -> Result {
    let outcome: Swift.Result<Result, ZMQError> = array.withUnsafeBytes { buffer in
        do throws(ZMQError) { return .success(try body(buffer)) } catch { return .failure(error) }
    }
    return try outcome.get()
}
