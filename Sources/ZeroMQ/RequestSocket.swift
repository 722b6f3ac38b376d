/// A client's DEALER for requests to one server: linger 0, CURVE when it is given keys, and a wait for the next reply
/// that tells a handshake the server turned down from a server that does not answer.
///
/// A server that refuses the client's key (ZAP) refuses it again on every retry, so ``reply(within:)`` says so at
/// once. Other failed handshakes (a wrong server key, which the server cannot tell from noise, or a connection reset
/// while it restarts) may pass: they are said only when no reply came in time.
public final class RequestSocket {
    /// The server turned the handshake down; the description says how (``MonitorEvent/refusal(by:)``).
    public struct HandshakeFailed: Error, CustomStringConvertible {
        /// libzmq's report of the failed handshake.
        public let event: MonitorEvent
        /// What the server is called in the description.
        let server: String

        public var description: String { event.refusal(by: server) ?? "\(event)" }
    }

    private let socket: Socket
    private let handshakes: SocketMonitor?
    private let poller = Poller()
    private let index: Int
    private let server: String

    /// Connects to `endpoints` (with more than one, a request goes to whichever completed its connection first);
    /// `server` names the server in what is said ("broker", "aggregator").
    public init(_ context: Context, endpoints: [String], curve: CurveClientKeys?, server: String) throws(ZMQError) {
        socket = try Socket(context, type: .dealer)
        self.server = server
        do {
            try socket.set(.linger, .zero)
            handshakes = try socket.makeCurveClientWatchingHandshakes(curve)
        } catch {
            socket.close()
            throw error
        }
        index = poller.add(socket)
        // Queued only to a connection that completed: not to a server that does not listen.
        if endpoints.count > 1 { try socket.set(.immediate, true) }
        for endpoint in endpoints { try socket.connect(endpoint) }
    }

    /// Requests that could not be queued yet (no connection to queue them on), in order.
    private var unsent: [[[UInt8]]] = []

    /// Sends a request, never waiting: one that cannot be queued now (no connection yet to several servers, or the
    /// connection to a server that refuses the key between retries) goes out from ``reply(within:)`` as soon as it can.
    public func send(_ frames: [[UInt8]]) throws(ZMQError) {
        unsent.append(frames)
        try flush()
    }

    private func flush() throws(ZMQError) {
        while let next = unsent.first {
            guard try socket.send(frames: next, wait: false) else { return }
            unsent.removeFirst()
        }
    }

    /// The next reply, waiting at most `timeout` (and sending what ``send(_:)`` could not); `nil` if none came and no
    /// handshake failed.
    /// - Throws: ``HandshakeFailed`` at once when the server refused the key, or at `timeout` when another handshake
    ///   failed; `ZMQError`.
    public func reply(within timeout: Duration) throws -> [[UInt8]]? {
        var remaining = timeout
        var failure: MonitorEvent?
        while remaining > .zero {
            try flush()
            let step = handshakes == nil && unsent.isEmpty ? remaining : min(remaining, .milliseconds(100))
            remaining -= step
            if try poller.poll(timeout: step) > 0, poller.isReadable(index), let frames = try socket.receiveFrames(wait: false) {
                return frames
            }
            if let latest = handshakes?.latestHandshakeFailure() {
                failure = latest
                if latest.kind == .handshakeFailedAuth { throw handshakeFailed(latest) }
            }
        }
        if let failure { throw handshakeFailed(failure) }
        return nil
    }

    private func handshakeFailed(_ event: MonitorEvent) -> HandshakeFailed { HandshakeFailed(event: event, server: server) }

    /// Closes the monitor, then the socket, at once.
    public func close() {
        handshakes?.close()
        socket.close(linger: .zero)
    }

    deinit { close() }
}
