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
    /// JSON, with the sequence it is as of. A handshake turned down is reported at once, not after `timeout`: it would
    /// be turned down again on every retry.
    public static func fetch(
        endpoint: String, path: String = "", curve: CurveClientKeys?, context: Context, timeout: Duration = .seconds(10)
    ) throws -> (sequence: UInt64, json: [UInt8]) {
        let socket = try Socket(context, type: .dealer)
        try socket.set(.linger, .zero)
        defer { socket.close() }
        var handshakes: SocketMonitor?
        defer { handshakes?.close() }
        if let curve {
            try socket.makeCurveClient(curve)
            handshakes = try SocketMonitor.handshakeFailures(of: socket)
        }
        try socket.connect(endpoint)
        try socket.send(frames: SnapshotRequest(request: 1, path: path).encode())
        let poller = Poller()
        poller.add(socket)
        var remaining = timeout
        while remaining > .zero {
            let step = min(remaining, .milliseconds(100))
            remaining -= step
            guard try poller.poll(timeout: step) > 0, let frames = try socket.receiveFrames(wait: false) else {
                if let refusal = handshakes?.latestHandshakeFailure()?.refusal(by: "aggregator") {
                    throw Unavailable(description: refusal)
                }
                continue
            }
            switch try SnapshotReply.decode(frames) {
            case .state(_, let sequence, let json):
                return (sequence, json)
            case .error(_, let error):
                throw Unavailable(description: "the aggregator at \(endpoint) answered: \(error)")
            }
        }
        throw Unavailable(description: "no answer from the aggregator at \(endpoint) within \(timeout)")
    }
}
