import CZeroMQ

/// One frame of a ZeroMQ message, owned: libzmq's `zmq_msg_t`, kept at a fixed heap address and never copied.
///
/// Receiving into a reused `Message` (``Socket/receive(into:wait:)``) costs no allocation per frame; the bytes
/// can be read in place with ``withUnsafeBytes(_:)``.
public struct Message: ~Copyable {
    @usableFromInline let pointer: UnsafeMutablePointer<zmq_msg_t>

    /// An empty message, ready to receive into.
    ///
    /// The corresponding C function is `zmq_msg_init`.
    public init() {
        pointer = .allocate(capacity: 1)
        zmq_msg_init(pointer)
    }

    /// A message of `count` bytes, to be filled through ``withUnsafeMutableBytes(_:)``.
    ///
    /// The corresponding C function is `zmq_msg_init_size`.
    public init(count: Int) throws(ZMQError) {
        pointer = .allocate(capacity: 1)
        guard zmq_msg_init_size(pointer, count) == 0 else {
            let error = ZMQError(code: ZMQError.Code(rawValue: zmq_errno()), operation: "zmq_msg_init_size(\(count))")
            pointer.deallocate()
            throw error
        }
    }

    /// A message holding a copy of `bytes`.
    public init(copying bytes: UnsafeRawBufferPointer) throws(ZMQError) {
        try self.init(count: bytes.count)
        if let base = bytes.baseAddress, bytes.count > 0 {
            zmq_msg_data(pointer).copyMemory(from: base, byteCount: bytes.count)
        }
    }

    /// A message holding a copy of `bytes`.
    public init(_ bytes: [UInt8]) throws(ZMQError) {
        try self.init(count: bytes.count)
        let destination = zmq_msg_data(pointer)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress, source.count > 0 { destination?.copyMemory(from: base, byteCount: source.count) }
        }
    }

    deinit {
        zmq_msg_close(pointer)
        pointer.deallocate()
    }

    /// The number of bytes in the frame.
    ///
    /// The corresponding C function is `zmq_msg_size`.
    @inlinable public var count: Int { zmq_msg_size(pointer) }

    /// Whether more frames of the same message follow this one (after a receive).
    ///
    /// The corresponding C function is `zmq_msg_more`.
    @inlinable public var hasMore: Bool { zmq_msg_more(pointer) == 1 }

    /// Calls `body` with the frame's bytes in place, without copying.
    ///
    /// The corresponding C function is `zmq_msg_data`.
    @inlinable
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(pointer), count: zmq_msg_size(pointer)))
    }

    /// Calls `body` with the frame's bytes, writable in place (to fill a message made with ``init(count:)``).
    @inlinable
    public mutating func withUnsafeMutableBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeMutableRawBufferPointer(start: zmq_msg_data(pointer), count: zmq_msg_size(pointer)))
    }

    /// A copy of the frame's bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The descriptor of the connection the frame came from; `nil` for a frame that did not come over TCP or IPC.
    /// libzmq sets it on every frame it reads from a connection; the routing id a ROUTER prepends has it only when
    /// the message was not prefetched by `zmq_poll`, so read it from a frame that came over the wire.
    /// ``PeerConnection`` reads the kernel's counters for it.
    ///
    /// The corresponding C function is `zmq_msg_get` with `ZMQ_SRCFD`.
    public var sourceDescriptor: Int32? {
        let descriptor = zmq_msg_get(pointer, ZMQ_SRCFD)
        return descriptor >= 0 ? descriptor : nil
    }

    /// A metadata property of the connection the frame came from, such as `"User-Id"` (set by a ZAP handler),
    /// `"Peer-Address"`, `"Socket-Type"` or `"Routing-Id"`; `nil` when absent.
    ///
    /// The corresponding C function is `zmq_msg_gets`.
    public func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(pointer, name) else { return nil }
        return String(cString: value)
    }
}

/// A multipart message as received: its frames, and the connection's authenticated user id when a ZAP handler set one.
public struct ReceivedMessage: Sendable, Equatable {
    public var frames: [[UInt8]]
    /// The `User-Id` metadata of the connection (the identity a ZAP handler reported), if any.
    public var userId: String?

    public init(frames: [[UInt8]], userId: String? = nil) {
        self.frames = frames
        self.userId = userId
    }
}
