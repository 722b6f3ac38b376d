import CZeroMQ

/// What a poll waits for, or found.
public struct PollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// At least one message can be received without blocking (`ZMQ_POLLIN`).
    public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// At least one message can be sent without blocking (`ZMQ_POLLOUT`).
    public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
    /// An error condition on a file descriptor (`ZMQ_POLLERR`).
    public static let error = PollEvents(rawValue: Int16(ZMQ_POLLERR))
}

/// Waits on several sockets (and plain file descriptors, such as a wake-up pipe) at once.
///
/// Register each item once, then call ``poll(timeout:)`` in a loop and ask ``events(at:)`` what each item
/// found. Like the sockets it holds, a poller belongs to one thread. libzmq is built here without the draft
/// `zmq_poller_*` API, so this wraps `zmq_poll`.
public final class Poller {
    private var items: [zmq_pollitem_t] = []
    private var sockets: [Socket?] = []

    public init() {}

    /// Adds a socket to watch for `events` and returns its index.
    @discardableResult
    public func add(_ socket: Socket, events: PollEvents = .readable) -> Int {
        items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: events.rawValue, revents: 0))
        sockets.append(socket)
        return items.count - 1
    }

    /// Adds a plain file descriptor to watch for `events` and returns its index.
    @discardableResult
    public func add(fileDescriptor: Int32, events: PollEvents = .readable) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events.rawValue, revents: 0))
        sockets.append(nil)
        return items.count - 1
    }

    /// Changes the events watched for the item at `index`.
    public func setEvents(_ events: PollEvents, at index: Int) {
        items[index].events = events.rawValue
    }

    /// Waits until at least one item is ready or `timeout` passes (`nil` waits forever; `.zero` only checks;
    /// libzmq counts in milliseconds, so a timeout is rounded up to the next millisecond).
    /// Returns how many items are ready. Throws ``ZMQError/Code/contextTerminated`` once the context is shut down.
    ///
    /// The corresponding C function is `zmq_poll`.
    @discardableResult
    public func poll(timeout: Duration?) throws(ZMQError) -> Int {
        for index in items.indices {
            items[index].revents = 0
            // A socket closed after it was added would hand libzmq a dangling handle: skip it.
            if let socket = sockets[index], socket.isClosed { items[index].socket = nil; items[index].fd = -1 }
        }
        let milliseconds: Int
        if let timeout {
            // Rounded up: a wait shorter than libzmq's millisecond resolution waits one millisecond rather than
            // returning at once, so a caller polling until a deadline never spins.
            let (seconds, attoseconds) = timeout.components
            let partial = attoseconds % 1_000_000_000_000_000 > 0 ? 1 : 0
            milliseconds = max(0, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000) + partial)
        } else {
            milliseconds = -1
        }
        let count = items.count
        let ready = try items.withUnsafeMutableBufferPointer { (buffer) throws(ZMQError) -> Int32 in
            switch try zmqCall("zmq_poll", { zmq_poll(buffer.baseAddress, Int32(count), milliseconds) }) {
            case .success(let ready): return ready
            case .wouldBlock: return 0
            }
        }
        return Int(ready)
    }

    /// What the item at `index` found in the last ``poll(timeout:)``.
    public func events(at index: Int) -> PollEvents {
        PollEvents(rawValue: items[index].revents)
    }

    /// Whether the item at `index` became readable in the last ``poll(timeout:)``.
    public func isReadable(_ index: Int) -> Bool { events(at: index).contains(.readable) }
}
