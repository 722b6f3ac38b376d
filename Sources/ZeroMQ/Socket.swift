import CZeroMQ

/// The kinds of socket the product uses, with the pattern each belongs to.
public enum SocketType: Sendable, CaseIterable {
    /// Publishes to every matching subscriber; drops at the high-water mark.
    case pub
    /// Subscribes by topic prefix.
    case sub
    /// A publisher that also receives subscription messages.
    case xpub
    /// A subscriber that sends subscriptions as messages.
    case xsub
    /// Addresses peers by routing id; the server side of request/reply and of the ingest and query endpoints.
    case router
    /// Load-balances outgoing messages, fair-queues incoming ones; the client side of a ROUTER.
    case dealer
    /// One exclusive peer; used over inproc for wake-ups and monitors.
    case pair
    /// Sends down a pipeline.
    case push
    /// Receives from a pipeline.
    case pull
    /// Strict request/reply client (used by tests and the ZAP protocol).
    case req
    /// Strict request/reply server (the ZAP handler).
    case rep

    var rawValue: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .pair: ZMQ_PAIR
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        }
    }
}

/// A ZeroMQ socket.
///
/// A socket belongs to the thread that made it: the type is not `Sendable`, so strict concurrency refuses to hand
/// it to another thread. It keeps its ``Context`` alive. Close it explicitly with ``close()``; a socket that is
/// forgotten is closed when its last reference goes (with a linger of zero, since nobody is waiting for it).
///
/// Each new socket gets a bounded linger (``defaultLinger``) instead of libzmq's infinite default, so closing with
/// messages still queued never hangs.
public final class Socket {
    /// The linger every new socket starts with: pending messages get this long to leave after ``close()``.
    public static let defaultLinger: Duration = .milliseconds(500)

    /// Read on every send and receive. A socket is used by one thread and the handle is never borrowed across a
    /// call, so the dynamic check of exclusive access (one runtime call per access) is left out.
    @exclusivity(unchecked) @usableFromInline var handle: UnsafeMutableRawPointer?
    /// The context the socket was made in; kept alive as long as the socket.
    public let context: Context
    /// The socket's type.
    public let type: SocketType

    /// Makes a socket of `type` in `context`.
    ///
    /// The corresponding C function is `zmq_socket`.
    public init(_ context: Context, type: SocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError(code: ZMQError.Code(rawValue: zmq_errno()), operation: "zmq_socket(\(type))")
        }
        self.handle = handle
        self.context = context
        self.type = type
        try set(.linger, Self.defaultLinger)
    }

    deinit {
        if let handle {
            var zero: Int32 = 0
            _ = zmq_setsockopt(handle, ZMQ_LINGER, &zero, MemoryLayout<Int32>.size)
            _ = zmq_close(handle)
        }
    }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { handle == nil }

    @usableFromInline
    func liveHandle(_ operation: @autoclosure () -> String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(code: .notASocket, operation: operation()) }
        return handle
    }

    /// Closes the socket. Messages still queued get the socket's linger to leave; then they are dropped.
    /// Closing twice is harmless.
    ///
    /// The corresponding C function is `zmq_close`.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        _ = zmq_close(handle)
    }

    /// Closes the socket after setting its linger.
    public func close(linger: Duration) {
        try? set(.linger, linger)
        close()
    }

    // MARK: Endpoints

    /// Binds to `endpoint`, such as `tcp://127.0.0.1:*` (an ephemeral port; read it back with ``lastEndpoint``),
    /// `tcp://*:5555`, `ipc:///tmp/feed` or `inproc://name`.
    ///
    /// The corresponding C function is `zmq_bind`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_bind(\(endpoint))")
        try zmqCheck("zmq_bind(\(endpoint))") { zmq_bind(handle, endpoint) }
    }

    /// Connects to `endpoint`. The connection is made (and remade) in the background.
    ///
    /// The corresponding C function is `zmq_connect`.
    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_connect(\(endpoint))")
        try zmqCheck("zmq_connect(\(endpoint))") { zmq_connect(handle, endpoint) }
    }

    /// Stops listening on an endpoint given to ``bind(_:)`` (use the resolved ``lastEndpoint`` for wildcards).
    ///
    /// The corresponding C function is `zmq_unbind`.
    public func unbind(_ endpoint: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_unbind(\(endpoint))")
        try zmqCheck("zmq_unbind(\(endpoint))") { zmq_unbind(handle, endpoint) }
    }

    /// Drops the connection to an endpoint given to ``connect(_:)``.
    ///
    /// The corresponding C function is `zmq_disconnect`.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_disconnect(\(endpoint))")
        try zmqCheck("zmq_disconnect(\(endpoint))") { zmq_disconnect(handle, endpoint) }
    }

    /// The endpoint most recently bound, with a wildcard port resolved (`tcp://127.0.0.1:41235`).
    ///
    /// The corresponding C function is `zmq_getsockopt` with `ZMQ_LAST_ENDPOINT`.
    public var lastEndpoint: String {
        get throws(ZMQError) { try get(.lastEndpoint) }
    }

    // MARK: Sending

    /// Sends one frame from `bytes` (libzmq copies them). With `more`, further frames of the same message follow.
    /// Without `wait`, returns `false` instead of blocking when the message cannot be queued now (`EAGAIN`: the
    /// high-water mark is reached, or there is no peer). A ROUTER with `ROUTER_MANDATORY` throws
    /// ``ZMQError/Code/hostUnreachable`` for an unknown routing id.
    ///
    /// The corresponding C function is `zmq_send`.
    @inlinable
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        let handle = try liveHandle("zmq_send")
        let flags = (more ? ZMQ_SNDMORE : 0) | (wait ? 0 : ZMQ_DONTWAIT)
        switch try zmqCall("zmq_send", { zmq_send(handle, bytes.baseAddress, bytes.count, flags) }) {
        case .success: return true
        case .wouldBlock: return false
        }
    }

    /// Sends one frame holding a copy of `bytes`; see ``send(_:more:wait:)-(UnsafeRawBufferPointer,_,_)``.
    @inlinable
    @discardableResult
    public func send(_ bytes: [UInt8], more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        try withBytes(of: bytes) { (buffer) throws(ZMQError) -> Bool in try send(buffer, more: more, wait: wait) }
    }

    /// Sends a copy of a received frame's bytes, such as a ROUTER echoing a routing id; `message` stays usable.
    ///
    /// The corresponding C function is `zmq_send`.
    @inlinable
    @discardableResult
    public func send(contentsOf message: borrowing Message, more: Bool = false, wait: Bool = true) throws(ZMQError)
        -> Bool
    {
        let bytes = UnsafeRawBufferPointer(start: zmq_msg_data(message.pointer), count: zmq_msg_size(message.pointer))
        return try send(bytes, more: more, wait: wait)
    }

    /// Sends the UTF-8 bytes of `text` as one frame.
    @discardableResult
    public func send(_ text: String, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        try send(Array(text.utf8), more: more, wait: wait)
    }

    /// Sends an owned ``Message`` as one frame without copying its bytes; libzmq takes its content.
    ///
    /// The corresponding C function is `zmq_msg_send`.
    @discardableResult
    public func send(_ message: consuming Message, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        let handle = try liveHandle("zmq_msg_send")
        let flags = (more ? ZMQ_SNDMORE : 0) | (wait ? 0 : ZMQ_DONTWAIT)
        let pointer = message.pointer
        switch try zmqCall("zmq_msg_send", { zmq_msg_send(pointer, handle, flags) }) {
        case .success: return true
        case .wouldBlock: return false
        }
    }

    /// Sends a multipart message. ZeroMQ delivers all of its frames or none. Without `wait`, returns `false` when
    /// the message cannot be queued now; nothing of it is sent in that case.
    ///
    /// The corresponding C function is `zmq_send`, once per frame.
    @discardableResult
    public func send(frames: [[UInt8]], wait: Bool = true) throws(ZMQError) -> Bool {
        guard !frames.isEmpty else { return true }
        let last = frames.count - 1
        for index in frames.indices {
            // Only the first frame can meet the high-water mark: once it is queued, the rest of the message is
            // accepted with it, so the remaining frames are sent blocking.
            let accepted = try send(frames[index], more: index < last, wait: wait || index > 0)
            if !accepted { return false }
        }
        return true
    }

    // MARK: Receiving

    /// Receives one frame into `message`, reusing its storage. Without `wait`, returns `false` when no frame is
    /// waiting. ``Message/hasMore`` then says whether the message has further frames.
    ///
    /// The corresponding C function is `zmq_msg_recv`.
    @inlinable
    @discardableResult
    public func receive(into message: inout Message, wait: Bool = true) throws(ZMQError) -> Bool {
        let handle = try liveHandle("zmq_msg_recv")
        let pointer = message.pointer
        switch try zmqCall("zmq_msg_recv", { zmq_msg_recv(pointer, handle, wait ? 0 : ZMQ_DONTWAIT) }) {
        case .success: return true
        case .wouldBlock: return false
        }
    }

    /// Receives a whole multipart message, each frame copied out whole (never truncated). Without `wait`,
    /// returns `nil` when no message is waiting.
    ///
    /// The corresponding C function is `zmq_msg_recv`, once per frame.
    public func receiveFrames(wait: Bool = true) throws(ZMQError) -> [[UInt8]]? {
        try receiveMessage(wait: wait)?.frames
    }

    /// Receives a whole multipart message with the connection's authenticated user id (see ``ZAPHandler``).
    /// Without `wait`, returns `nil` when no message is waiting.
    ///
    /// The corresponding C functions are `zmq_msg_recv` and `zmq_msg_gets`.
    public func receiveMessage(wait: Bool = true) throws(ZMQError) -> ReceivedMessage? {
        var message = Message()
        guard try receive(into: &message, wait: wait) else { return nil }
        var received = ReceivedMessage(frames: [message.bytes], userId: message.property("User-Id"))
        while message.hasMore {
            // The rest of a multipart message is already here: ZeroMQ delivers messages whole.
            try receive(into: &message, wait: true)
            received.frames.append(message.bytes)
        }
        return received
    }

    /// Receives one frame as text (UTF-8, invalid sequences repaired); for tests and tools.
    public func receiveString(wait: Bool = true) throws(ZMQError) -> String? {
        var message = Message()
        guard try receive(into: &message, wait: wait) else { return nil }
        return String(decoding: message.bytes, as: UTF8.self)
    }

    /// Whether a frame of a multipart message being received has more frames after it.
    ///
    /// The corresponding C function is `zmq_getsockopt` with `ZMQ_RCVMORE`.
    public var hasMoreToReceive: Bool {
        get throws(ZMQError) { try get(.receiveMore) }
    }
}
