import CZeroMQ
import Synchronization

/// A ZeroMQ context: the container for sockets and the I/O threads that serve them.
///
/// A context is thread-safe and may be shared freely; every ``Socket`` keeps its context alive. Shutting down
/// (``shutdown()``) makes every blocking call on its sockets fail with ``ZMQError/Code/contextTerminated``, so
/// their loops can close their sockets; the context is terminated when the last reference goes away, or
/// explicitly with ``terminate()`` once every socket is closed.
public final class Context: Sendable {
    // The handle is set once in `init` and only passed to libzmq's context functions, which are thread-safe.
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer
    private let terminated = Atomic<Bool>(false)

    /// Creates a context.
    ///
    /// The corresponding C functions are `zmq_ctx_new` and `zmq_ctx_set`.
    /// - Parameters:
    ///   - ioThreads: the number of I/O threads (libzmq's default is 1, enough for about a gigabyte a second).
    ///   - maxSockets: the most sockets the context may hold at once.
    public init(ioThreads: Int32 = 1, maxSockets: Int32 = 1023) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZMQError(code: ZMQError.Code(rawValue: zmq_errno()), operation: "zmq_ctx_new")
        }
        self.handle = handle
        try zmqCheck("zmq_ctx_set(ZMQ_IO_THREADS)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) }
        try zmqCheck("zmq_ctx_set(ZMQ_MAX_SOCKETS)") { zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, maxSockets) }
    }

    /// Shuts the context down: every blocking operation on its sockets returns ``ZMQError/Code/contextTerminated``
    /// at once, and new sockets cannot be made. Sockets must still be closed. Safe to call more than once, from
    /// any thread.
    ///
    /// The corresponding C function is `zmq_ctx_shutdown`.
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    /// Terminates the context, blocking until every socket made in it is closed (each socket's linger applies).
    /// Called automatically when the last reference to the context goes away; the sockets keep it alive.
    ///
    /// The corresponding C function is `zmq_ctx_term`.
    public func terminate() {
        guard terminated.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    deinit {
        // Every socket holds a strong reference to its context, so none can be open here.
        terminate()
    }
}
