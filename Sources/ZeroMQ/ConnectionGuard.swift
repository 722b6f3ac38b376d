/// What a server socket admits, and what its peers may leave unfinished in it, as a pure state machine.
///
/// libzmq has no limit on connections, and counts its queues in messages, not bytes: a peer can open connections
/// until the process runs out of descriptors, and can send frames of a message it never finishes (each frame within
/// `ZMQ_MAXMSGSIZE`) until the process runs out of memory, since libzmq keeps an unfinished message whole. The guard
/// decides from what it is told — connections accepted and closed (libzmq's monitor), the bytes of every whole
/// message the application took from a connection, and what the kernel says each connection delivered to libzmq —
/// which connections to refuse and which to cut. ``GuardedEndpoint`` tells it these things about a real socket and
/// carries its decisions out.
///
/// A connection's **unfinished bytes** are those it sent, beyond its handshake, that the application has not taken
/// as part of a whole message: a message still arriving, or whole messages waiting in libzmq to be taken. Its
/// **unsent bytes** are those the application sent it that libzmq has not yet handed to the kernel: messages queued
/// for a peer that does not read. Times are microseconds on any clock the caller keeps.
public struct ConnectionGuard: Sendable {
    public struct Limits: Sendable, Equatable {
        /// The most connections at once.
        public var maximumConnections: Int
        /// The most connections at once from one address (IPC connections count only towards the total).
        public var maximumPerAddress: Int
        /// The most unfinished bytes a connection may hold at two inspections in a row with no whole message from
        /// it between them: more than the largest message the endpoint takes, so only a message that cannot be
        /// valid reaches it.
        public var maximumUnfinishedBytes: Int
        /// The most unfinished bytes a connection may hold even while whole messages keep coming from it.
        public var maximumWaitingBytes: Int
        /// The most unfinished bytes all connections may hold together, counting those that held some at two
        /// inspections in a row with no whole message between them; beyond it, those holding the most are cut first.
        public var maximumUnfinishedInAll: Int
        /// How long a connection may keep bytes unfinished without a whole message coming from it, in microseconds.
        public var stallTimeout: Int64
        /// The bytes of a handshake (greeting, `READY`, the CURVE commands): never counted as unfinished.
        public var handshakeBytes: Int
        /// The most unsent bytes one connection may have queued (`Int.max`: not counted).
        public var maximumUnsentBytes: Int
        /// The most unsent bytes all connections together may have queued; beyond it, those with the most are cut
        /// first.
        public var maximumUnsentInAll: Int

        public init(
            maximumConnections: Int, maximumPerAddress: Int, maximumUnfinishedBytes: Int, maximumWaitingBytes: Int,
            maximumUnfinishedInAll: Int, stallTimeout: Int64, handshakeBytes: Int = 2048,
            maximumUnsentBytes: Int = .max, maximumUnsentInAll: Int = .max
        ) {
            self.maximumConnections = maximumConnections
            self.maximumPerAddress = maximumPerAddress
            self.maximumUnfinishedBytes = maximumUnfinishedBytes
            self.maximumWaitingBytes = maximumWaitingBytes
            self.maximumUnfinishedInAll = maximumUnfinishedInAll
            self.stallTimeout = stallTimeout
            self.handshakeBytes = handshakeBytes
            self.maximumUnsentBytes = maximumUnsentBytes
            self.maximumUnsentInAll = maximumUnsentInAll
        }
    }

    /// Why a connection was refused or cut.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The endpoint holds its most connections.
        case endpointFull(limit: Int)
        /// The peer's address holds its most connections.
        case addressFull(limit: Int)
        /// More than ``Limits/maximumUnfinishedBytes`` unfinished, and unfinished bytes at the inspection before, with
        /// no whole message since.
        case unfinished(bytes: Int)
        /// More than ``Limits/maximumWaitingBytes`` unfinished.
        case waiting(bytes: Int)
        /// Among those holding the most unfinished bytes when all together held more than
        /// ``Limits/maximumUnfinishedInAll``.
        case crowded(bytes: Int)
        /// Bytes unfinished for ``Limits/stallTimeout`` without a whole message.
        case stalled(bytes: Int)
        /// More than ``Limits/maximumUnsentBytes`` queued for a peer that does not read.
        case unread(bytes: Int)
        /// Among those with the most unsent bytes when all together had more than ``Limits/maximumUnsentInAll``.
        case unreadCrowded(bytes: Int)
        /// The application's own rule (a message it cannot take, too many subscriptions).
        case violation(String)

        public var description: String {
            switch self {
            case .endpointFull(let limit): "the endpoint has its most connections (\(limit))"
            case .addressFull(let limit): "the address has its most connections (\(limit))"
            case .unfinished(let bytes): "\(bytes) bytes unfinished with no whole message"
            case .waiting(let bytes): "\(bytes) bytes waiting"
            case .crowded(let bytes): "\(bytes) bytes unfinished while the endpoint held too many in all"
            case .stalled(let bytes): "\(bytes) bytes unfinished for too long"
            case .unread(let bytes): "\(bytes) bytes queued unread"
            case .unreadCrowded(let bytes): "\(bytes) bytes queued unread while the endpoint queued too many in all"
            case .violation(let text): text
            }
        }
    }

    private struct Connection {
        var address: String
        /// Wire bytes of the whole messages the application took.
        var taken: UInt64 = 0
        var messages: UInt64 = 0
        var messagesAtInspection: UInt64 = 0
        /// Since when the connection has held unfinished bytes without a whole message.
        var unfinishedSince: Int64?
        /// Whether it held unfinished bytes at the previous inspection with no whole message since the one before.
        var heldWithoutProgress = false
        /// Wire bytes of the messages the application sent the connection.
        var sent: UInt64 = 0
    }

    /// What the kernel has counted on a connection since it began: exact counts, or bounds on them when bytes
    /// moved while the kernel was asked (a peer that streams without pause moves them all the time).
    public struct Sample: Sendable, Equatable {
        public var descriptor: Int32
        /// Bytes that arrived and libzmq read: at least the lower bound, at most the upper.
        public var received: ClosedRange<UInt64>
        /// Bytes libzmq handed to the kernel to send (acknowledged by the peer, or still in the send queue).
        public var written: ClosedRange<UInt64>

        /// Exact counts.
        public init(descriptor: Int32, received: UInt64, written: UInt64) {
            self.init(descriptor: descriptor, received: received...received, written: written...written)
        }

        /// Counts known within bounds.
        public init(descriptor: Int32, received: ClosedRange<UInt64>, written: ClosedRange<UInt64>) {
            self.descriptor = descriptor
            self.received = received
            self.written = written
        }
    }

    public let limits: Limits
    private var connections: [Int32: Connection] = [:]
    private var perAddress: [String: Int] = [:]

    public init(limits: Limits) {
        self.limits = limits
    }

    /// Connections admitted and not yet closed or cut.
    public var count: Int { connections.count }

    /// The descriptors of the connections admitted.
    public var descriptors: [Int32] { Array(connections.keys) }

    /// Whether `descriptor` names an admitted connection.
    public func contains(_ descriptor: Int32) -> Bool { connections[descriptor] != nil }

    /// Connections admitted from `address`.
    public func count(address: String) -> Int { perAddress[address] ?? 0 }

    /// A connection was accepted: admits it, or returns why it is refused (nothing of it is kept then).
    public mutating func accepted(descriptor: Int32, address: String) -> Reason? {
        // A descriptor is reused once closed: an entry still under this one is a connection whose end was missed.
        closed(descriptor: descriptor)
        if connections.count >= limits.maximumConnections { return .endpointFull(limit: limits.maximumConnections) }
        let counted = address != "unix"
        if counted && count(address: address) >= limits.maximumPerAddress {
            return .addressFull(limit: limits.maximumPerAddress)
        }
        connections[descriptor] = Connection(address: address)
        if counted { perAddress[address, default: 0] += 1 }
        return nil
    }

    /// A connection closed (or was cut): forgets it. Unknown descriptors are ignored.
    public mutating func closed(descriptor: Int32) {
        guard let connection = connections.removeValue(forKey: descriptor) else { return }
        if let count = perAddress[connection.address] {
            perAddress[connection.address] = count > 1 ? count - 1 : nil
        }
    }

    /// The application took a whole message of `wireBytes` (its frames as they came over the wire) from the
    /// connection. Counting more than the message took on the wire is safe (see ``inspect(_:now:)``);
    /// counting less makes the connection look as if it held more than it does.
    public mutating func took(descriptor: Int32, wireBytes: Int) {
        guard connections[descriptor] != nil else { return }
        connections[descriptor]!.taken &+= UInt64(wireBytes)
        connections[descriptor]!.messages &+= 1
    }

    /// The application sent the connection a message of `wireBytes` (its frames as they go over the wire; a
    /// ROUTER's routing id does not). Counting more is safe: a peer is then cut a little early; counting less is
    /// made up for when the kernel shows more was written.
    public mutating func sent(descriptor: Int32, wireBytes: Int) {
        connections[descriptor]?.sent &+= UInt64(wireBytes)
    }

    /// Compares what the kernel counted on each connection with what the application took from it and sent it,
    /// and returns the connections to cut, with why. Those returned are forgotten at once. Connections without a
    /// sample are left as they are.
    public mutating func inspect(_ samples: [Sample], now: Int64) -> [(Int32, Reason)] {
        var cuts: [(Int32, Reason)] = []
        var idle: [(Int32, Int)] = []
        var idleInAll = 0
        var unsent: [(Int32, Int)] = []
        var unsentInAll = 0
        for sample in samples {
            let descriptor = sample.descriptor
            guard var connection = connections[descriptor] else { continue }
            // What was written can never be more than was sent: a count found short is brought up to what was
            // surely written. What is queued is judged against the most that may have been written, so a reading
            // taken while bytes moved never makes a connection look as if it held more than it does.
            connection.sent = max(connection.sent, sample.written.lowerBound)
            let queued = Int(clamping: Int64(clamping: connection.sent) - Int64(clamping: sample.written.upperBound)) - limits.handshakeBytes
            // The application may count a message's wire bytes generously (it cannot see every framing detail);
            // what it took can never be more than arrived, so the count is brought back to the most that arrived:
            // counting too much never lends a connection room beyond its handshake. What it holds is judged from the
            // least that surely arrived.
            connection.taken = min(connection.taken, sample.received.upperBound)
            let unfinished = Int(clamping: Int64(clamping: sample.received.lowerBound) - Int64(clamping: connection.taken)) - limits.handshakeBytes
            let progressed = connection.messages != connection.messagesAtInspection
            connection.messagesAtInspection = connection.messages
            // Bytes the kernel counted just before an inspection may be whole messages the application has not had a
            // turn to take yet (they arrived after it last looked): a connection is judged idle only when it was at
            // the inspection before too, with no whole message between the two.
            let holding = unfinished > 0 && !progressed
            let heldBefore = connection.heldWithoutProgress
            connection.heldWithoutProgress = holding
            if unfinished <= 0 {
                connection.unfinishedSince = nil
            } else if progressed || connection.unfinishedSince == nil {
                connection.unfinishedSince = now
            }
            connections[descriptor] = connection
            if queued > limits.maximumUnsentBytes {
                cuts.append((descriptor, .unread(bytes: queued)))
                continue
            }
            if queued > 0 {
                unsent.append((descriptor, queued))
                unsentInAll += queued
            }
            if unfinished > limits.maximumWaitingBytes {
                cuts.append((descriptor, .waiting(bytes: unfinished)))
            } else if unfinished > limits.maximumUnfinishedBytes && holding && heldBefore {
                cuts.append((descriptor, .unfinished(bytes: unfinished)))
            } else if let since = connection.unfinishedSince, now - since >= limits.stallTimeout {
                cuts.append((descriptor, .stalled(bytes: unfinished)))
            } else if holding && heldBefore {
                idle.append((descriptor, unfinished))
                idleInAll += unfinished
            }
        }
        if idleInAll > limits.maximumUnfinishedInAll {
            for (descriptor, bytes) in idle.sorted(by: { $0.1 > $1.1 }) {
                cuts.append((descriptor, .crowded(bytes: bytes)))
                idleInAll -= bytes
                if idleInAll <= limits.maximumUnfinishedInAll { break }
            }
        }
        if unsentInAll > limits.maximumUnsentInAll {
            let cut = Set(cuts.map(\.0))
            for (descriptor, bytes) in unsent.sorted(by: { $0.1 > $1.1 }) where !cut.contains(descriptor) {
                cuts.append((descriptor, .unreadCrowded(bytes: bytes)))
                unsentInAll -= bytes
                if unsentInAll <= limits.maximumUnsentInAll { break }
            }
        }
        for (descriptor, _) in cuts { closed(descriptor: descriptor) }
        return cuts
    }
}
