/// A bound server socket whose connections a ``ConnectionGuard`` keeps in bounds: a monitor reports each connection
/// as libzmq accepts it (refused ones are shut down at once), the loop that owns the socket reports the whole messages
/// it takes (``took(descriptor:wireBytes:)``), and ``inspect(now:)`` compares that with the kernel's counters and
/// shuts down the connections the guard cuts.
///
/// A refused or cut peer sees its TCP connection closed; a ZeroMQ peer reconnects by itself after its reconnect
/// interval. Like its socket, a guarded endpoint belongs to the thread that made it.
public final class GuardedEndpoint {
    /// How the socket's frames are carried: what a frame of `n` bytes costs on the wire.
    public enum Framing: Sendable {
        /// ZMTP 3 without encryption: a 2-byte header (9 above 255 bytes) and the bytes.
        case plain
        /// CURVE: each frame is a `MESSAGE` command (name, nonce, authenticator and flags, 33 bytes) with its header.
        case curve

        /// The wire bytes of a frame of `size` bytes.
        public func wireBytes(frame size: Int) -> Int {
            let body = self == .plain ? size : size + 33
            return body + (body > 255 ? 9 : 2)
        }
    }

    /// What happened to a connection, for the owner's logs and counters.
    public enum Event: Sendable, Equatable {
        case admitted(PeerConnection)
        case refused(PeerConnection, ConnectionGuard.Reason)
        case cut(PeerConnection, ConnectionGuard.Reason)
        /// The connection ended (by either side); its descriptor may be reused from now on.
        case closed(descriptor: Int32)
    }

    public let socket: Socket
    public let framing: Framing
    private let monitor: SocketMonitor
    public private(set) var rules: ConnectionGuard
    private var peers: [Int32: PeerConnection] = [:]
    /// A ROUTER's peers by routing id, and back: what is sent to a routing id is counted against its connection.
    private var routes: [[UInt8]: Int32] = [:]
    private var routingIds: [Int32: [UInt8]] = [:]
    /// How often ``inspect(now:)`` reads the kernel's counters, in microseconds.
    public let inspectionInterval: Int64
    private var nextInspection: Int64 = 0

    /// Starts watching `socket`'s connections. Call before binding, so that no connection is missed.
    public init(
        _ socket: Socket, limits: ConnectionGuard.Limits, framing: Framing, inspectionInterval: Duration = .milliseconds(20)
    ) throws(ZMQError) {
        self.socket = socket
        self.framing = framing
        self.rules = ConnectionGuard(limits: limits)
        self.inspectionInterval = max(1000, inspectionInterval.components.seconds * 1_000_000 + inspectionInterval.components.attoseconds / 1_000_000_000_000)
        monitor = try SocketMonitor(socket, events: [.accepted, .disconnected])
    }

    /// Called with the descriptor of each connection that ends (closed, cut, or its descriptor found reused), at
    /// the moment the endpoint learns it: what the owner keeps per connection goes with it.
    public var onEnd: ((Int32) -> Void)?

    /// Forgets a connection that ended or was cut.
    private func forget(_ descriptor: Int32) {
        if peers[descriptor] != nil { onEnd?(descriptor) }
        peers[descriptor] = nil
        rules.closed(descriptor: descriptor)
        if let routingId = routingIds.removeValue(forKey: descriptor), routes[routingId] == descriptor {
            routes[routingId] = nil
        }
    }

    /// Adds the monitor to `poller`, so that the owner's loop wakes for a new connection; returns its index.
    @discardableResult
    public func addTo(_ poller: Poller) -> Int { monitor.addTo(poller) }

    /// Connections admitted and open.
    public var connectionCount: Int { rules.count }

    /// Whether `descriptor` names a connection admitted and open (not one refused or cut, whose last messages may
    /// still be read).
    public func isAdmitted(_ descriptor: Int32) -> Bool { peers[descriptor] != nil }

    /// When ``inspect(now:)`` is next due; `nil` while there is no connection to inspect.
    public var nextDeadline: Int64? { rules.count > 0 ? nextInspection : nil }

    /// Takes the monitor's events: admits new connections or shuts them down, forgets those that ended. Returns
    /// what happened since the last call (some of it may have been taken while receiving, see
    /// ``receiveMessage(maximumFrames:)``).
    public func takeEvents() throws(ZMQError) -> [Event] {
        try absorbMonitorEvents()
        defer { unreported.removeAll() }
        return unreported
    }

    private var unreported: [Event] = []

    private func absorbMonitorEvents() throws(ZMQError) {
        while let event = try monitor.next() {
            let descriptor = Int32(bitPattern: event.value)
            switch event.kind {
            case .accepted:
                guard let peer = PeerConnection(descriptor: descriptor) else { continue }  // already gone
                forget(descriptor)
                if let refusal = rules.accepted(descriptor: descriptor, address: peer.address) {
                    peer.shutDown()
                    unreported.append(.refused(peer, refusal))
                } else {
                    peers[descriptor] = peer
                    unreported.append(.admitted(peer))
                }
            case .disconnected:
                if peers[descriptor] != nil { unreported.append(.closed(descriptor: descriptor)) }
                forget(descriptor)
            default:
                continue
            }
        }
    }

    /// The application took a whole message from the connection behind `descriptor` (``Message/sourceDescriptor``),
    /// whose frames came over the wire as `wireBytes` (see ``Framing/wireBytes(frame:)``; a ROUTER's routing id is
    /// not on the wire).
    public func took(descriptor: Int32?, wireBytes: Int) {
        guard let descriptor else { return }
        rules.took(descriptor: descriptor, wireBytes: wireBytes)
    }

    /// The application sent a message of `wireBytes` (``Framing/wireBytes(frame:)`` of each frame) to the
    /// connection behind `descriptor`.
    public func sent(descriptor: Int32, wireBytes: Int) {
        rules.sent(descriptor: descriptor, wireBytes: wireBytes)
    }

    /// The application sent a message of `wireBytes` to the ROUTER peer `routingId` (known from a message it sent).
    public func sent(to routingId: [UInt8], wireBytes: Int) {
        guard let descriptor = routes[routingId] else { return }
        rules.sent(descriptor: descriptor, wireBytes: wireBytes)
    }

    /// Cuts the connection behind `descriptor` for a reason of the application's own; `nil` if it is not (or no
    /// longer) an admitted connection.
    @discardableResult
    public func cut(descriptor: Int32?, reason: String) -> Event? {
        guard let descriptor, let peer = peers[descriptor] else { return nil }
        forget(descriptor)
        peer.shutDown()
        return .cut(peer, .violation(reason))
    }

    /// When due, reads the kernel's counters of every connection and cuts those the guard cuts. Returns the cuts.
    public func inspect(now: Int64) -> [Event] {
        guard now >= nextInspection else { return [] }
        nextInspection = now + inspectionInterval
        guard !peers.isEmpty else { return [] }
        var samples: [ConnectionGuard.Sample] = []
        samples.reserveCapacity(peers.count)
        var events: [Event] = []
        for (descriptor, peer) in peers {
            if let counters = peer.counters() {
                samples.append(ConnectionGuard.Sample(descriptor: descriptor, received: counters.taken, written: counters.written))
            } else if !peer.isCurrent {
                // Closed without a word from the monitor (libzmq reports only the ends it sees as errors). A
                // connection that is still there but gave no reading this time stays.
                forget(descriptor)
                events.append(.closed(descriptor: descriptor))
            }
        }
        for (descriptor, reason) in rules.inspect(samples, now: now) {
            guard let peer = peers[descriptor] else { continue }
            forget(descriptor)
            peer.shutDown()
            events.append(.cut(peer, reason))
        }
        return events
    }

    /// A whole message received through ``receiveMessage(maximumFrames:)``.
    public enum Received {
        /// The message, its frames copied (a ROUTER's routing id first), with the connection's authenticated user id
        /// and the descriptor of the connection it came from.
        case message(ReceivedMessage, descriptor: Int32?)
        /// A message with more frames than allowed: it was dropped unread and its connection cut (the event is
        /// `nil` if the connection was not, or no longer, an admitted one).
        case tooManyFrames(Int, Event?)
    }

    private var frame = Message()

    /// Receives a whole message without waiting (`nil` when none is waiting), copying at most `maximumFrames` of
    /// its frames (a ROUTER's routing id not counted), and counts it for the guard. A message with more frames is
    /// dropped and its connection cut: no message of the protocol has that many, and reading them one by one costs
    /// nothing more than libzmq already holds.
    public func receiveMessage(maximumFrames: Int) throws(ZMQError) -> Received? {
        guard try socket.receive(into: &frame, wait: false) else { return nil }
        // A ROUTER's routing id carries the connection's metadata only sometimes (not when zmq_poll prefetched the
        // message): the descriptor is read from the first frame that came over the wire.
        var descriptor = frame.sourceDescriptor
        var message = ReceivedMessage(frames: [])
        var wireBytes = 0
        var count = 0
        let hasRoutingId = socket.type == .router
        if hasRoutingId {
            message.frames.append(frame.bytes)
        } else {
            count = 1
            wireBytes += framing.wireBytes(frame: frame.count)
            message.userId = frame.property("User-Id")
            message.frames.append(frame.bytes)
        }
        while frame.hasMore {
            // The rest of a multipart message is already here: ZeroMQ delivers messages whole.
            try socket.receive(into: &frame, wait: true)
            count += 1
            wireBytes += framing.wireBytes(frame: frame.count)
            // The connection's metadata rides on the frames that came over the wire, not on the routing id.
            if count == 1 && hasRoutingId {
                message.userId = frame.property("User-Id")
                descriptor = frame.sourceDescriptor ?? descriptor
            }
            if count <= maximumFrames { message.frames.append(frame.bytes) }
        }
        // An XPUB passes subscriptions on as messages of a flag byte and the topic; ZMTP 3.1 peers send them as
        // `SUBSCRIBE`/`CANCEL` commands, 9 bytes longer on the wire. Counted as the longer (see `took`).
        if socket.type == .xpub { wireBytes += 9 * count }
        // libzmq reports a connection to the monitor before it reads from it, but the loop may see the message
        // first: the monitor's news is taken then, so that the message counts for its connection.
        if let descriptor, peers[descriptor] == nil { try absorbMonitorEvents() }
        took(descriptor: descriptor, wireBytes: wireBytes)
        if hasRoutingId, let descriptor, peers[descriptor] != nil, routingIds[descriptor] != message.frames[0] {
            if let previous = routingIds[descriptor], routes[previous] == descriptor { routes[previous] = nil }
            routingIds[descriptor] = message.frames[0]
            routes[message.frames[0]] = descriptor
        }
        if count > maximumFrames {
            return .tooManyFrames(count, cut(descriptor: descriptor, reason: "a message of \(count) frames (at most \(maximumFrames))"))
        }
        return .message(message, descriptor: descriptor)
    }

    /// Stops watching (before the socket closes).
    public func close() { monitor.close() }
}
