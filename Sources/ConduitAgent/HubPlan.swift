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
            let client = try RequestSocket(
                context, endpoints: alternates + [endpoint], curve: curve.map { CurveClientKeys(keys: $0.keys, serverKey: $0.serverKey) },
                server: "broker")
            defer {
                client.close()
                context.terminate()
            }
            try client.send(query ? QueryRequest.plan(request: 0).encode() : IngestRequest.plan(correlation: 0).encode())
            let deadline = ContinuousClock.now + timeout
            while let frames = try client.reply(within: deadline - .now) {
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
        } catch let failed as RequestSocket.HandshakeFailed {
            throw Unavailable(description: failed.description, keyRefused: failed.event.kind == .handshakeFailedAuth)
        } catch let error as Unavailable {
            throw error
        } catch {
            throw Unavailable(description: "cannot ask the broker at \(endpoint) for its plan: \(error)")
        }
    }
}
