import CZeroMQ
import Synchronization

/// A connection event reported by a ``SocketMonitor``.
public struct MonitorEvent: Sendable, Equatable, CustomStringConvertible {
    /// The kind of event (libzmq's `ZMQ_EVENT_*` values).
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public static let connected = Kind(rawValue: UInt16(ZMQ_EVENT_CONNECTED))
        public static let connectDelayed = Kind(rawValue: UInt16(ZMQ_EVENT_CONNECT_DELAYED))
        public static let connectRetried = Kind(rawValue: UInt16(ZMQ_EVENT_CONNECT_RETRIED))
        public static let listening = Kind(rawValue: UInt16(ZMQ_EVENT_LISTENING))
        public static let bindFailed = Kind(rawValue: UInt16(ZMQ_EVENT_BIND_FAILED))
        public static let accepted = Kind(rawValue: UInt16(ZMQ_EVENT_ACCEPTED))
        public static let acceptFailed = Kind(rawValue: UInt16(ZMQ_EVENT_ACCEPT_FAILED))
        public static let closed = Kind(rawValue: UInt16(ZMQ_EVENT_CLOSED))
        public static let closeFailed = Kind(rawValue: UInt16(ZMQ_EVENT_CLOSE_FAILED))
        public static let disconnected = Kind(rawValue: UInt16(ZMQ_EVENT_DISCONNECTED))
        public static let monitorStopped = Kind(rawValue: UInt16(ZMQ_EVENT_MONITOR_STOPPED))
        public static let handshakeFailedNoDetail = Kind(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
        public static let handshakeSucceeded = Kind(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_SUCCEEDED))
        public static let handshakeFailedProtocol = Kind(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
        public static let handshakeFailedAuth = Kind(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))

        /// Whether this is one of the three handshake failures.
        public var isHandshakeFailure: Bool {
            self == .handshakeFailedNoDetail || self == .handshakeFailedProtocol || self == .handshakeFailedAuth
        }

        public var description: String {
            switch self {
            case .connected: "connected"
            case .connectDelayed: "connect delayed"
            case .connectRetried: "connect retried"
            case .listening: "listening"
            case .bindFailed: "bind failed"
            case .accepted: "accepted"
            case .acceptFailed: "accept failed"
            case .closed: "closed"
            case .closeFailed: "close failed"
            case .disconnected: "disconnected"
            case .monitorStopped: "monitor stopped"
            case .handshakeFailedNoDetail: "handshake failed"
            case .handshakeSucceeded: "handshake succeeded"
            case .handshakeFailedProtocol: "handshake failed (protocol)"
            case .handshakeFailedAuth: "handshake failed (authentication)"
            default: "event 0x\(String(rawValue, radix: 16))"
            }
        }
    }

    public var kind: Kind
    /// The event's value: a file descriptor, an errno, a retry interval, a ZAP status code (for
    /// ``Kind/handshakeFailedAuth``) or a `ZMQ_PROTOCOL_ERROR_*` code (for ``Kind/handshakeFailedProtocol``).
    public var value: UInt32
    /// The endpoint the event concerns.
    public var endpoint: String

    /// Why a handshake failed, in words; `nil` for other events.
    public var handshakeFailureReason: String? {
        switch kind {
        case .handshakeFailedAuth: return "authentication refused (ZAP status \(value))"
        case .handshakeFailedProtocol: return Self.protocolErrorText(value)
        case .handshakeFailedNoDetail: return "handshake failed (errno \(value))"
        default: return nil
        }
    }

    static func protocolErrorText(_ code: UInt32) -> String {
        switch Int32(bitPattern: code) {
        case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: return "cryptographic error (wrong server key?)"
        case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: return "security mechanism mismatch"
        case ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: return "unexpected ZMTP command"
        case ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE: return "invalid ZMTP sequence"
        case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE: return "key exchange failed"
        case ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY: return "malformed ZAP reply"
        case ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID: return "bad ZAP request id"
        case ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION: return "bad ZAP version"
        case ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE: return "invalid ZAP status code"
        case ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA: return "invalid ZAP metadata"
        case ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED: return "ZAP error"
        default: return "protocol error 0x\(String(code, radix: 16))"
        }
    }

    /// What a client tells its user when the `server` (such as "broker") at ``endpoint`` turned its handshake down,
    /// for a request that then got no answer; `nil` for other events.
    public func refusal(by server: String) -> String? {
        guard let reason = handshakeFailureReason else { return nil }
        if kind == .handshakeFailedAuth {
            return "the \(server) at \(endpoint) refused this client's key (\(reason)): the key is not one it admits there"
        }
        return "the CURVE handshake with the \(server) at \(endpoint) failed (\(reason)): check that the server key given is the \(server)'s public key"
    }

    public var description: String {
        if let reason = handshakeFailureReason { return "\(endpoint): \(reason)" }
        return "\(endpoint): \(kind)"
    }
}

private let monitorCounter = Atomic<Int>(0)

/// Watches a socket's connections: connected, disconnected, handshake succeeded or failed (with the reason), and
/// the rest of libzmq's socket events. Belongs, like its socket, to the thread that made it.
///
/// The corresponding C function is `zmq_socket_monitor`; events arrive on an inproc PAIR socket.
public final class SocketMonitor {
    private let pair: Socket
    private let monitored: Socket

    /// Starts monitoring `socket` for `events` (every event by default).
    ///
    /// libzmq's I/O thread hands each event to the monitor's queue and waits while that queue is full (about 2,000
    /// events), so a monitor must be read; watching only the events needed keeps the queue short.
    public init(_ socket: Socket, events: [MonitorEvent.Kind]? = nil) throws(ZMQError) {
        let id = monitorCounter.wrappingAdd(1, ordering: .relaxed).newValue
        let endpoint = "inproc://zeromq.monitor.\(id)"
        let handle = try socket.liveHandle("zmq_socket_monitor(\(endpoint))")
        let mask = events.map { $0.reduce(Int32(0)) { $0 | Int32($1.rawValue) } } ?? ZMQ_EVENT_ALL
        try zmqCheck("zmq_socket_monitor(\(endpoint))") { zmq_socket_monitor(handle, endpoint, mask) }
        pair = try Socket(socket.context, type: .pair)
        try pair.set(.linger, .zero)
        try pair.connect(endpoint)
        monitored = socket
    }

    /// Adds the monitor's event socket to `poller`, so a loop wakes when an event comes; returns its index.
    @discardableResult
    public func addTo(_ poller: Poller) -> Int { poller.add(pair) }

    /// The next event, waiting at most `timeout` (`nil`: forever); `nil` if none came in time.
    public func next(timeout: Duration?) throws(ZMQError) -> MonitorEvent? {
        let poller = Poller()
        poller.add(pair)
        guard try poller.poll(timeout: timeout) > 0 else { return nil }
        return try next()
    }

    /// The next event if one is waiting, without blocking (for a loop that polls the monitor with its other
    /// sockets, see ``addTo(_:)``); `nil` if none is.
    public func next() throws(ZMQError) -> MonitorEvent? {
        while let frames = try pair.receiveFrames(wait: false) {
            guard frames.count >= 2, frames[0].count >= 6 else { continue }
            let header = frames[0]
            let kind = UInt16(header[0]) | UInt16(header[1]) << 8
            let value = UInt32(header[2]) | UInt32(header[3]) << 8 | UInt32(header[4]) << 16 | UInt32(header[5]) << 24
            return MonitorEvent(
                kind: MonitorEvent.Kind(rawValue: kind), value: value, endpoint: String(decoding: frames[1], as: UTF8.self))
        }
        return nil
    }

    /// Waits for the first event matching `predicate`, up to `timeout` in all; `nil` if none came in time.
    public func waitFor(timeout: Duration, _ predicate: (MonitorEvent) -> Bool) throws(ZMQError) -> MonitorEvent? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            guard let event = try next(timeout: deadline - clock.now) else { return nil }
            if predicate(event) { return event }
        }
        return nil
    }

    /// A monitor of a client socket's failed handshakes, made before the socket connects: when a request gets no
    /// answer, ``latestHandshakeFailure()`` tells whether the server turned the connection down, and why. A client
    /// that lives long reads it now and then (see ``init(_:events:)``).
    public static func handshakeFailures(of socket: Socket) throws(ZMQError) -> SocketMonitor {
        try SocketMonitor(socket, events: [.handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth])
    }

    /// The latest handshake failure among the events come so far, read without waiting; `nil` if no handshake failed.
    public func latestHandshakeFailure() -> MonitorEvent? {
        var latest: MonitorEvent?
        while let event = try? next() {
            if event.kind.isHandshakeFailure { latest = event }
        }
        return latest
    }

    /// Stops monitoring and closes the event socket.
    ///
    /// The corresponding C function is `zmq_socket_monitor` with a null endpoint.
    public func close() {
        if let handle = monitored.handle { _ = zmq_socket_monitor(handle, nil, 0) }
        pair.close()
    }

    deinit { close() }
}
