import ConduitCore
import ZeroMQ

/// Asks an aggregator's snapshot endpoint for its state, as `conduit state --snapshot`, `conduit watch --state` and
/// the dashboard do before they follow the fan-out.
public enum SnapshotClient {
    /// Why the aggregator gave no state: it did not answer in time, turned this client's handshake down, or answered
    /// with an error. The description says which, with the endpoint.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The state, or the subtree at `path` (`communities/ganjiaba`; empty: the whole state), as the aggregator's
    /// JSON, with the sequence it is as of. A key the aggregator refuses is reported at once (``RequestSocket``).
    public static func fetch(
        endpoint: String, path: String = "", curve: CurveClientKeys?, context: Context, timeout: Duration = .seconds(10)
    ) throws -> (sequence: UInt64, json: [UInt8]) {
        let client = try RequestSocket(context, endpoints: [endpoint], curve: curve, server: "aggregator")
        defer { client.close() }
        try client.send(SnapshotRequest(request: 1, path: path).encode())
        let frames: [[UInt8]]
        do {
            guard let reply = try client.reply(within: timeout) else {
                throw Unavailable(description: "no answer from the aggregator at \(endpoint) within \(timeout)")
            }
            frames = reply
        } catch let failed as RequestSocket.HandshakeFailed {
            throw Unavailable(description: failed.description)
        }
        switch try SnapshotReply.decode(frames) {
        case .state(_, let sequence, let json):
            return (sequence, json)
        case .error(_, let error):
            throw Unavailable(description: "the aggregator at \(endpoint) answered: \(error)")
        }
    }
}
