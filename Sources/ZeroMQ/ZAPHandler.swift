import CZeroMQ
import Foundation
import ServiceLifecycle
import Synchronization

/// A connection asking to be let in, as a ZAP handler sees it (RFC 27).
public struct ZAPRequest: Sendable, Equatable {
    /// The server socket's ZAP domain (``SocketOption/zapDomain``).
    public var domain: String
    /// The client's address, such as `127.0.0.1`.
    public var address: String
    /// The routing id the client's socket announced, if any.
    public var routingId: [UInt8]
    /// `NULL`, `PLAIN` or `CURVE`.
    public var mechanism: String
    /// The mechanism's credentials: for CURVE, one frame, the client's 32-byte long-term public key.
    public var credentials: [[UInt8]]

    /// For CURVE, the client's public key (32 bytes).
    public var clientPublicKey: [UInt8]? {
        mechanism == "CURVE" && credentials.count == 1 && credentials[0].count == 32 ? credentials[0] : nil
    }
}

/// What a ZAP handler decides for one connection.
public enum ZAPDecision: Sendable, Equatable {
    /// Let the connection in; `userId` becomes the `User-Id` property of every message it sends.
    case allow(userId: String)
    /// Refuse the connection; the client sees a failed handshake (status 400) with `reason`.
    case deny(reason: String)
}

/// The ZAP handler of a context (RFC 27, the ZeroMQ Authentication Protocol): decides, per connection, whether a
/// client may connect to a server socket with a security mechanism, and reports the authenticated user id.
///
/// Start it before binding any CURVE server socket: with no handler bound, libzmq accepts every client. It runs on
/// a ``LoopThread`` of its own, owning a REP socket bound at `inproc://zeromq.zap.01`, and stops with ``stop()``
/// (seen at once) or when its context is shut down.
public final class ZAPHandler: Sendable {
    /// The endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    private let thread: LoopThread<Void>

    /// Binds the handler in `context` and starts answering requests with `decide`, which runs on the handler's
    /// thread (keep it fast: handshakes wait for it). Throws if a handler is already bound in the context.
    public init(context: Context, decide: @escaping @Sendable (ZAPRequest) -> ZAPDecision) throws(ZMQError) {
        thread = LoopThread(name: "zmq-zap-handler")
        if thread.control.wakeUp.failure != 0 {
            throw ZMQError(code: .init(rawValue: thread.control.wakeUp.failure), operation: "the ZAP handler's wake-up pipe")
        }
        do {
            try thread.start { setup in
                let socket = try Socket(context, type: .rep)
                defer { socket.close() }
                try socket.set(.linger, .zero)
                try socket.bind(ZAPHandler.endpoint)
                setup.ready(())
                ZAPHandler.serve(socket, control: setup.control, decide: decide)
            }
        } catch let error as ZMQError {
            throw error
        } catch {
            throw ZMQError(code: .init(rawValue: EINVAL), operation: "the ZAP handler: \(error)")
        }
    }

    private static func serve(_ socket: Socket, control: LoopControl, decide: (ZAPRequest) -> ZAPDecision) {
        let poller = Poller()
        let socketIndex = poller.add(socket)
        let wakeIndex = poller.add(fileDescriptor: control.wakeUp.descriptor)
        while !control.isStopRequested {
            do throws(ZMQError) {
                try poller.poll(timeout: nil)
                if poller.isReadable(wakeIndex) { control.wakeUp.drain() }
                guard poller.isReadable(socketIndex), let frames = try socket.receiveFrames(wait: false) else { continue }
                try socket.send(frames: reply(to: frames, decide: decide))
            } catch {
                return  // ETERM: the context is shutting down.
            }
        }
    }

    /// The reply to one request: 200 with the user id, 400 when denied, 500 when the request is malformed.
    static func reply(to frames: [[UInt8]], decide: (ZAPRequest) -> ZAPDecision) -> [[UInt8]] {
        let requestId = frames.count > 1 ? frames[1] : []
        func answer(_ status: String, _ text: String, _ userId: String) -> [[UInt8]] {
            [Array("1.0".utf8), requestId, Array(status.utf8), Array(text.utf8), Array(userId.utf8), []]
        }
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            return answer("500", "malformed ZAP request", "")
        }
        let request = ZAPRequest(
            domain: String(decoding: frames[2], as: UTF8.self),
            address: String(decoding: frames[3], as: UTF8.self),
            routingId: frames[4],
            mechanism: String(decoding: frames[5], as: UTF8.self),
            credentials: Array(frames.dropFirst(6)))
        switch decide(request) {
        case .allow(let userId): return answer("200", "OK", userId)
        case .deny(let reason): return answer("400", reason, "")
        }
    }

    /// Stops the handler and waits for its thread to close its socket. With no handler bound, libzmq admits every
    /// CURVE client without asking: close the server sockets it guards before stopping it.
    public func stop() {
        thread.stop(grace: .seconds(10))
    }

    deinit { stop() }
}

extension ZAPHandler: Service {
    /// The handler is running from its creation (it must be bound before any server socket it guards): as a
    /// service it answers until the group shuts down gracefully or the task is cancelled, then stops. Put it before
    /// the services whose sockets it guards, so that it stops after them.
    public func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await self.thread.finished()
        } onCancelOrGracefulShutdown: {
            self.thread.requestStop()
        }
        stop()
    }
}
