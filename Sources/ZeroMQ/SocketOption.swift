import CZeroMQ

/// A socket option and the Swift type of its value. Set with ``Socket/set(_:_:)-(SocketOption<Int32>,_)`` and
/// friends, read with ``Socket/get(_:)-(SocketOption<Int32>)``.
///
/// The corresponding C functions are `zmq_setsockopt` and `zmq_getsockopt`.
public struct SocketOption<Value>: Sendable {
    public let code: Int32
    public let name: String

    public init(code: Int32, name: String) {
        self.code = code
        self.name = name
    }
}

extension SocketOption where Value == Int32 {
    /// `ZMQ_SNDHWM`: the most messages queued for one peer before sends block or drop.
    public static var sendHighWaterMark: Self { .init(code: ZMQ_SNDHWM, name: "ZMQ_SNDHWM") }
    /// `ZMQ_RCVHWM`: the most messages queued from one peer before the peer's sends block or drop.
    public static var receiveHighWaterMark: Self { .init(code: ZMQ_RCVHWM, name: "ZMQ_RCVHWM") }
    /// `ZMQ_SNDBUF`: the kernel's send buffer for the socket's connections, in bytes (-1: the OS default).
    public static var sendBuffer: Self { .init(code: ZMQ_SNDBUF, name: "ZMQ_SNDBUF") }
    /// `ZMQ_RCVBUF`: the kernel's receive buffer for the socket's connections, in bytes (-1: the OS default). A fixed
    /// size turns off the kernel's automatic tuning.
    public static var receiveBuffer: Self { .init(code: ZMQ_RCVBUF, name: "ZMQ_RCVBUF") }
    /// `ZMQ_TCP_KEEPALIVE`: -1 (system default), 0 (off) or 1 (on).
    public static var tcpKeepAlive: Self { .init(code: ZMQ_TCP_KEEPALIVE, name: "ZMQ_TCP_KEEPALIVE") }
    /// `ZMQ_TCP_KEEPALIVE_IDLE`: seconds idle before the first keepalive probe (-1: system default).
    public static var tcpKeepAliveIdle: Self { .init(code: ZMQ_TCP_KEEPALIVE_IDLE, name: "ZMQ_TCP_KEEPALIVE_IDLE") }
    /// `ZMQ_TCP_KEEPALIVE_INTVL`: seconds between keepalive probes (-1: system default).
    public static var tcpKeepAliveInterval: Self {
        .init(code: ZMQ_TCP_KEEPALIVE_INTVL, name: "ZMQ_TCP_KEEPALIVE_INTVL")
    }
    /// `ZMQ_TCP_KEEPALIVE_CNT`: unanswered probes before the connection is dropped (-1: system default).
    public static var tcpKeepAliveCount: Self { .init(code: ZMQ_TCP_KEEPALIVE_CNT, name: "ZMQ_TCP_KEEPALIVE_CNT") }
    /// `ZMQ_EVENTS` (read only): the socket's readiness, as poll events.
    public static var events: Self { .init(code: ZMQ_EVENTS, name: "ZMQ_EVENTS") }
    /// `ZMQ_TYPE` (read only).
    public static var socketType: Self { .init(code: ZMQ_TYPE, name: "ZMQ_TYPE") }
}

extension SocketOption where Value == Int64 {
    /// `ZMQ_MAXMSGSIZE`: the largest inbound message in bytes; a peer sending more is disconnected (-1: no limit).
    public static var maximumMessageSize: Self { .init(code: ZMQ_MAXMSGSIZE, name: "ZMQ_MAXMSGSIZE") }
}

extension SocketOption where Value == Duration {
    /// `ZMQ_LINGER`: how long pending messages may delay ``Socket/close()``.
    public static var linger: Self { .init(code: ZMQ_LINGER, name: "ZMQ_LINGER") }
    /// `ZMQ_RECONNECT_IVL`: the first wait before reconnecting.
    public static var reconnectInterval: Self { .init(code: ZMQ_RECONNECT_IVL, name: "ZMQ_RECONNECT_IVL") }
    /// `ZMQ_RECONNECT_IVL_MAX`: the wait doubles after each failed attempt up to this (zero: no back-off).
    public static var reconnectIntervalMaximum: Self {
        .init(code: ZMQ_RECONNECT_IVL_MAX, name: "ZMQ_RECONNECT_IVL_MAX")
    }
    /// `ZMQ_RCVTIMEO`: a blocking receive gives up after this (returns as if non-blocking).
    public static var receiveTimeout: Self { .init(code: ZMQ_RCVTIMEO, name: "ZMQ_RCVTIMEO") }
    /// `ZMQ_SNDTIMEO`: a blocking send gives up after this (returns as if non-blocking).
    public static var sendTimeout: Self { .init(code: ZMQ_SNDTIMEO, name: "ZMQ_SNDTIMEO") }
    /// `ZMQ_HANDSHAKE_IVL`: the most a connection's security handshake may take.
    public static var handshakeInterval: Self { .init(code: ZMQ_HANDSHAKE_IVL, name: "ZMQ_HANDSHAKE_IVL") }
}

extension SocketOption where Value == Bool {
    /// `ZMQ_XPUB_VERBOSE`: an XPUB passes on every subscription, not only the first for a topic.
    public static var xpubVerbose: Self { .init(code: ZMQ_XPUB_VERBOSE, name: "ZMQ_XPUB_VERBOSE") }
    /// `ZMQ_XPUB_VERBOSER`: an XPUB passes on every subscription and every unsubscription.
    public static var xpubVerboser: Self { .init(code: ZMQ_XPUB_VERBOSER, name: "ZMQ_XPUB_VERBOSER") }
    /// `ZMQ_XPUB_NODROP`: an XPUB at its high-water mark returns `EAGAIN` instead of dropping.
    public static var xpubNoDrop: Self { .init(code: ZMQ_XPUB_NODROP, name: "ZMQ_XPUB_NODROP") }
    /// `ZMQ_ROUTER_MANDATORY`: a ROUTER reports an unknown routing id (`EHOSTUNREACH`) or a full peer (`EAGAIN`)
    /// instead of dropping silently.
    public static var routerMandatory: Self { .init(code: ZMQ_ROUTER_MANDATORY, name: "ZMQ_ROUTER_MANDATORY") }
    /// `ZMQ_ROUTER_HANDOVER`: a new connection with a routing id already in use takes it over.
    public static var routerHandover: Self { .init(code: ZMQ_ROUTER_HANDOVER, name: "ZMQ_ROUTER_HANDOVER") }
    /// `ZMQ_IMMEDIATE`: queue messages only to completed connections.
    public static var immediate: Self { .init(code: ZMQ_IMMEDIATE, name: "ZMQ_IMMEDIATE") }
    /// `ZMQ_CURVE_SERVER`: this socket is the CURVE server (needs ``SocketOption/curveSecretKey``).
    public static var curveServer: Self { .init(code: ZMQ_CURVE_SERVER, name: "ZMQ_CURVE_SERVER") }
    /// `ZMQ_RCVMORE` (read only): more frames of the current message follow.
    public static var receiveMore: Self { .init(code: ZMQ_RCVMORE, name: "ZMQ_RCVMORE") }
}

extension SocketOption where Value == [UInt8] {
    /// `ZMQ_ROUTING_ID`: the identity a ROUTER peer sees for this socket (1–255 bytes, not starting with 0).
    public static var routingId: Self { .init(code: ZMQ_ROUTING_ID, name: "ZMQ_ROUTING_ID") }
    /// `ZMQ_SUBSCRIBE` (write only): receive messages whose first frame starts with these bytes; empty for all.
    public static var subscribe: Self { .init(code: ZMQ_SUBSCRIBE, name: "ZMQ_SUBSCRIBE") }
    /// `ZMQ_UNSUBSCRIBE` (write only): remove a subscription made with the same bytes.
    public static var unsubscribe: Self { .init(code: ZMQ_UNSUBSCRIBE, name: "ZMQ_UNSUBSCRIBE") }
    /// `ZMQ_XPUB_WELCOME_MSG` (write only): the message an XPUB sends each new subscriber.
    public static var xpubWelcomeMessage: Self { .init(code: ZMQ_XPUB_WELCOME_MSG, name: "ZMQ_XPUB_WELCOME_MSG") }
    /// `ZMQ_CURVE_PUBLICKEY`: this socket's long-term public key (32 bytes).
    public static var curvePublicKey: Self { .init(code: ZMQ_CURVE_PUBLICKEY, name: "ZMQ_CURVE_PUBLICKEY") }
    /// `ZMQ_CURVE_SECRETKEY`: this socket's long-term secret key (32 bytes).
    public static var curveSecretKey: Self { .init(code: ZMQ_CURVE_SECRETKEY, name: "ZMQ_CURVE_SECRETKEY") }
    /// `ZMQ_CURVE_SERVERKEY`: the server's public key a CURVE client expects (32 bytes).
    public static var curveServerKey: Self { .init(code: ZMQ_CURVE_SERVERKEY, name: "ZMQ_CURVE_SERVERKEY") }
}

extension SocketOption where Value == String {
    /// `ZMQ_ZAP_DOMAIN`: the authentication domain sent to the ZAP handler.
    public static var zapDomain: Self { .init(code: ZMQ_ZAP_DOMAIN, name: "ZMQ_ZAP_DOMAIN") }
    /// `ZMQ_LAST_ENDPOINT` (read only).
    public static var lastEndpoint: Self { .init(code: ZMQ_LAST_ENDPOINT, name: "ZMQ_LAST_ENDPOINT") }
}

extension Socket {
    private func setRaw(_ code: Int32, _ name: String, _ value: UnsafeRawPointer?, _ size: Int) throws(ZMQError) {
        let handle = try liveHandle("zmq_setsockopt(\(name))")
        try zmqCheck("zmq_setsockopt(\(name))") { zmq_setsockopt(handle, code, value, size) }
    }

    private func getRaw(_ code: Int32, _ name: String, _ value: UnsafeMutableRawPointer, _ size: inout Int)
        throws(ZMQError)
    {
        let handle = try liveHandle("zmq_getsockopt(\(name))")
        try zmqCheck("zmq_getsockopt(\(name))") { zmq_getsockopt(handle, code, value, &size) }
    }

    /// Sets an integer option. The corresponding C function is `zmq_setsockopt`.
    public func set(_ option: SocketOption<Int32>, _ value: Int32) throws(ZMQError) {
        var value = value
        try setRaw(option.code, option.name, &value, MemoryLayout<Int32>.size)
    }

    /// Sets a 64-bit option. The corresponding C function is `zmq_setsockopt`.
    public func set(_ option: SocketOption<Int64>, _ value: Int64) throws(ZMQError) {
        var value = value
        try setRaw(option.code, option.name, &value, MemoryLayout<Int64>.size)
    }

    /// Sets a duration option, in whole milliseconds; a negative duration means "infinite" where libzmq allows it.
    /// The corresponding C function is `zmq_setsockopt`.
    public func set(_ option: SocketOption<Duration>, _ value: Duration) throws(ZMQError) {
        var milliseconds = Int32(clamping: value.components.seconds * 1000 + value.components.attoseconds / 1_000_000_000_000_000)
        if value < .zero { milliseconds = -1 }
        try setRaw(option.code, option.name, &milliseconds, MemoryLayout<Int32>.size)
    }

    /// Sets a boolean option. The corresponding C function is `zmq_setsockopt`.
    public func set(_ option: SocketOption<Bool>, _ value: Bool) throws(ZMQError) {
        var value: Int32 = value ? 1 : 0
        try setRaw(option.code, option.name, &value, MemoryLayout<Int32>.size)
    }

    /// Sets a binary option. The corresponding C function is `zmq_setsockopt`.
    public func set(_ option: SocketOption<[UInt8]>, _ value: [UInt8]) throws(ZMQError) {
        try withBytes(of: value) { (buffer) throws(ZMQError) in
            try setRaw(option.code, option.name, buffer.baseAddress, buffer.count)
        }
    }

    /// Sets a text option. The corresponding C function is `zmq_setsockopt`.
    public func set(_ option: SocketOption<String>, _ value: String) throws(ZMQError) {
        try set(SocketOption<[UInt8]>(code: option.code, name: option.name), Array(value.utf8))
    }

    /// Reads an integer option. The corresponding C function is `zmq_getsockopt`.
    public func get(_ option: SocketOption<Int32>) throws(ZMQError) -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try getRaw(option.code, option.name, &value, &size)
        return value
    }

    /// Reads a 64-bit option. The corresponding C function is `zmq_getsockopt`.
    public func get(_ option: SocketOption<Int64>) throws(ZMQError) -> Int64 {
        var value: Int64 = 0
        var size = MemoryLayout<Int64>.size
        try getRaw(option.code, option.name, &value, &size)
        return value
    }

    /// Reads a duration option (milliseconds; -1, "infinite", reads as a negative duration).
    /// The corresponding C function is `zmq_getsockopt`.
    public func get(_ option: SocketOption<Duration>) throws(ZMQError) -> Duration {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try getRaw(option.code, option.name, &value, &size)
        return .milliseconds(value)
    }

    /// Reads a boolean option. The corresponding C function is `zmq_getsockopt`.
    public func get(_ option: SocketOption<Bool>) throws(ZMQError) -> Bool {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try getRaw(option.code, option.name, &value, &size)
        return value != 0
    }

    /// Reads a binary option (up to 255 bytes). The corresponding C function is `zmq_getsockopt`.
    public func get(_ option: SocketOption<[UInt8]>) throws(ZMQError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
        defer { buffer.deallocate() }
        var size = buffer.count
        try getRaw(option.code, option.name, buffer.baseAddress!, &size)
        return Array(buffer.prefix(size))
    }

    /// Reads a text option. The corresponding C function is `zmq_getsockopt`.
    public func get(_ option: SocketOption<String>) throws(ZMQError) -> String {
        var bytes = try get(SocketOption<[UInt8]>(code: option.code, name: option.name))
        while bytes.last == 0 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Subscribes a SUB socket to messages whose first frame starts with `prefix` (empty: everything).
    public func subscribe(_ prefix: [UInt8] = []) throws(ZMQError) { try set(.subscribe, prefix) }
    /// Subscribes to a UTF-8 topic prefix.
    public func subscribe(_ prefix: String) throws(ZMQError) { try set(.subscribe, Array(prefix.utf8)) }
    /// Removes a subscription made with the same prefix.
    public func unsubscribe(_ prefix: [UInt8]) throws(ZMQError) { try set(.unsubscribe, prefix) }
    /// Removes a subscription made with the same UTF-8 prefix.
    public func unsubscribe(_ prefix: String) throws(ZMQError) { try set(.unsubscribe, Array(prefix.utf8)) }
}
