import ConduitCore
import ZeroMQ

/// Asks a broker which plan it runs (`PLAN` on the ingest endpoint), for commands that need the plan before they
/// connect: `conduit publish` builds its event from the hub's work items.
public enum HubPlan {
    /// Why the plan could not be had.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
        /// The broker refused this client's key in the handshake: asking again with the same key will not help.
        public var keyRefused = false
    }

    /// The plan of the broker at `endpoint` (its ingest endpoint, or its query endpoint with `query`), or
    /// ``Unavailable`` when it does not answer within `timeout`, saying so when it turned the handshake down.
    ///
    /// With `alternates` (the other brokers of a hub whose brokers stand by for each other), the question goes to
    /// whichever of them accepts a connection first: brokers standing by listen on nothing.
    public static func fetch(
        endpoint: String, alternates: [String] = [], query: Bool = false, curve: (keys: CurveKeyPair, serverKey: [UInt8])?,
        timeout: Duration
    ) throws(Unavailable) -> PlanInForce {
        do {
            let context = try Context()
            let socket = try Socket(context, type: .dealer)
            defer {
                socket.close(linger: .zero)
                context.terminate()
            }
            var handshakes: SocketMonitor?
            defer { handshakes?.close() }
            if let curve {
                try socket.makeCurveClient(curve.keys, serverKey: curve.serverKey)
                handshakes = try SocketMonitor.handshakeFailures(of: socket)
            }
            if !alternates.isEmpty {
                // Queued only to a connection that completed: not to a broker that does not listen.
                try socket.set(.immediate, true)
                for alternate in alternates { try socket.connect(alternate) }
            }
            try socket.connect(endpoint)
            _ = try socket.send(frames: query ? QueryRequest.plan(request: 0).encode() : IngestRequest.plan(correlation: 0).encode())
            let poller = Poller()
            let index = poller.add(socket)
            var remaining = timeout
            while remaining > .zero {
                let step = min(remaining, .milliseconds(100))
                remaining -= step
                guard try poller.poll(timeout: step) > 0, poller.isReadable(index),
                    let frames = try socket.receiveFrames(wait: false)
                else {
                    // A handshake turned down is turned down again on every retry: said at once.
                    if let failure = handshakes?.latestHandshakeFailure(), let refusal = failure.refusal(by: "broker") {
                        throw Unavailable(description: refusal, keyRefused: failure.kind == .handshakeFailedAuth)
                    }
                    continue
                }
                if query {
                    switch try QueryReply.decode(frames) {
                    case .plan(_, let plan): return plan
                    case .error(_, let error):
                        throw Unavailable(description: "the broker at \(endpoint) refused to tell its plan: \(error)")
                    default: continue
                    }
                }
                switch try IngestReply.decode(frames) {
                case .plan(_, let plan): return plan
                case .reject(let rejection):
                    throw Unavailable(description: "the broker at \(endpoint) refused to tell its plan: \(rejection.error)")
                default: continue
                }
            }
            throw Unavailable(description: "the broker at \(endpoint) did not tell its plan within \(timeout)")
        } catch let error as Unavailable {
            throw error
        } catch {
            throw Unavailable(description: "cannot ask the broker at \(endpoint) for its plan: \(error)")
        }
    }
}
