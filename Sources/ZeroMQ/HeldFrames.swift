import CZeroMQ

/// A ring of references to the last frames sent through ``Socket/send(_:more:wait:holdingIn:)``, so that the thread
/// that sends them is also, as a rule, the one that frees them.
///
/// libzmq frees a sent frame of more than 33 bytes when its last reference is dropped: without a ring, on its I/O
/// thread, once the frame has gone to every peer. The sending thread allocated it, so every such frame crosses threads,
/// and with glibc's allocator the two threads then meet on the lock of the sender's arena (the sender to allocate,
/// the I/O thread to free), a futex call every few frames under load. A ring keeps one more reference to each of its
/// last `capacity` frames and drops it when the slot comes round again, on the sending thread: by then the I/O thread
/// has usually sent the frame and dropped its own, so the sender frees the memory into its own cache and allocates
/// the next frame from there. A frame still queued for a slow peer is freed by the I/O thread when it goes, as before.
///
/// Only frames of 34 to `maximumBytes` bytes are held (libzmq keeps smaller ones inside the message, and a larger
/// one is rare enough, and costly enough to copy, that one free more does not count): a ring keeps at most
/// `capacity` × `maximumBytes` bytes alive beyond what libzmq holds, also while nothing is sent. Use it from one
/// thread, the sending one.
public final class HeldFrames {
    /// The slots, and a message to build each frame in, at fixed heap addresses (libzmq keeps a small frame's bytes
    /// inside the `zmq_msg_t`).
    private let slots: UnsafeMutablePointer<zmq_msg_t>
    private let scratch: UnsafeMutablePointer<zmq_msg_t>
    public let capacity: Int
    public let maximumBytes: Int
    private var next = 0

    public init(capacity: Int, maximumBytes: Int) {
        precondition(capacity > 0, "a ring of held frames holds at least one")
        self.capacity = capacity
        self.maximumBytes = maximumBytes
        slots = .allocate(capacity: capacity)
        for index in 0..<capacity { zmq_msg_init(slots + index) }
        scratch = .allocate(capacity: 1)
        zmq_msg_init(scratch)
    }

    deinit {
        for index in 0..<capacity { zmq_msg_close(slots + index) }
        slots.deallocate()
        zmq_msg_close(scratch)
        scratch.deallocate()
    }

    /// A frame holding a copy of `bytes`, in the scratch message (which must be empty), with a reference kept in
    /// the next slot when its size is one the ring holds.
    fileprivate func frame(copying bytes: UnsafeRawBufferPointer) throws(ZMQError) -> UnsafeMutablePointer<zmq_msg_t> {
        guard zmq_msg_init_size(scratch, bytes.count) == 0 else {
            zmq_msg_init(scratch)
            throw ZMQError(code: ZMQError.Code(rawValue: zmq_errno()), operation: "zmq_msg_init_size(\(bytes.count))")
        }
        if let base = bytes.baseAddress, bytes.count > 0 { zmq_msg_data(scratch).copyMemory(from: base, byteCount: bytes.count) }
        if bytes.count > 33 && bytes.count <= maximumBytes {
            let slot = slots + next
            next = next + 1 == capacity ? 0 : next + 1
            zmq_msg_close(slot)
            zmq_msg_init(slot)
            zmq_msg_copy(slot, scratch)
        }
        return scratch
    }

    /// Empties the scratch message after a send that did not take it.
    fileprivate func discard(_ message: UnsafeMutablePointer<zmq_msg_t>) {
        zmq_msg_close(message)
        zmq_msg_init(message)
    }
}

extension Socket {
    /// Sends one frame holding a copy of `bytes`, as ``send(_:more:wait:)-(UnsafeRawBufferPointer,_,_)`` does, and
    /// keeps a reference to it in `held`, so that the sending thread frees it later (see ``HeldFrames``).
    ///
    /// The corresponding C functions are `zmq_msg_init_size`, `zmq_msg_copy` and `zmq_msg_send`.
    @discardableResult
    public func send(
        _ bytes: UnsafeRawBufferPointer, more: Bool = false, wait: Bool = true, holdingIn held: HeldFrames
    ) throws(ZMQError) -> Bool {
        let handle = try liveHandle("zmq_msg_send")
        let message = try held.frame(copying: bytes)
        let flags = (more ? ZMQ_SNDMORE : 0) | (wait ? 0 : ZMQ_DONTWAIT)
        let outcome: CallResult
        do {
            // On success libzmq takes the content and leaves the message empty; otherwise it is untouched.
            outcome = try zmqCall("zmq_msg_send", { zmq_msg_send(message, handle, flags) })
        } catch {
            held.discard(message)
            throw error
        }
        switch outcome {
        case .success: return true
        case .wouldBlock:
            held.discard(message)
            return false
        }
    }

    /// Sends one frame holding a copy of `bytes`, keeping a reference to it in `held`; see
    /// ``send(_:more:wait:holdingIn:)-(UnsafeRawBufferPointer,_,_,_)``.
    @discardableResult
    public func send(_ bytes: [UInt8], more: Bool = false, wait: Bool = true, holdingIn held: HeldFrames) throws(ZMQError) -> Bool {
        try withBytes(of: bytes) { (buffer) throws(ZMQError) -> Bool in try send(buffer, more: more, wait: wait, holdingIn: held) }
    }
}
