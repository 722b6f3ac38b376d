import ConduitAggregator
import ConduitCore
import ConduitReplay
import ConduitState
import Foundation
import ZeroMQ

/// What tests of a live aggregator against a ``TestBroker`` share: sample events to publish, waiting until the
/// aggregator has settled, asking its snapshot endpoint, and the journal's fold to compare it with.
public enum AggregatorProbe {
    /// An aggregator's configuration against `broker`: its three endpoints, a snapshot endpoint on an ephemeral
    /// loopback port, and whether to publish the alerts it derives.
    public static func configuration(for broker: TestBroker, publishAlerts: Bool) -> AggregatorConfiguration {
        var configuration = AggregatorConfiguration()
        configuration.fanoutEndpoint = broker.endpoints.fanout
        configuration.queryEndpoint = broker.endpoints.query
        configuration.ingestEndpoint = broker.endpoints.ingest
        configuration.snapshotEndpoint = "tcp://127.0.0.1:*"
        configuration.publishAlerts = publishAlerts
        return configuration
    }

    /// Publishes `g<index>` for every index in `range` (a progress report when odd, an outage when even), waiting for
    /// each reply.
    public static func publish(_ agent: TestClient, _ range: ClosedRange<Int>) throws {
        for index in range {
            let event = index % 2 == 1 ? SampleEvents.progress(id: "g\(index)", percent: index) : SampleEvents.outage(id: "g\(index)")
            _ = try agent.publishAndWait(event, correlation: UInt64(index))
        }
    }

    /// Waits until the aggregator has applied the broker's head, its clock has reached the head's recorded time (a
    /// fan-out heartbeat moved it: the time-based rules have run), and every alert it sent has been stored and
    /// folded back: then nothing more is on its way.
    public static func settle(_ aggregator: Aggregator, _ broker: TestBroker, _ query: TestClient) throws -> UInt64 {
        var head: UInt64 = 0
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            try query.send(QueryRequest.head(request: 1).encode())
            guard case .head(let reply) = try query.queryReply() else { continue }
            head = reply.headSequence
            // In this order: the clock's alerts are sent before the clock shows, an event's before its sequence.
            if let clock = aggregator.clock, clock >= reply.headRecordedTime, aggregator.alertsSettled,
                aggregator.sequence == head
            {
                return head
            }
            usleep(20_000)
        }
        throw TestClientError("the aggregator did not catch up (at \(aggregator.sequence), broker at \(head))")
    }

    /// The fold of the journal up to `sequence`, its clock advanced to the live state's: the aggregator's clock also
    /// moves with the fan-out heartbeats while nothing happens, which a fold of the journal alone cannot see.
    public static func rebuild(_ broker: TestBroker, at sequence: UInt64, asOf live: [UInt8]) throws -> AggregateState {
        var rebuilt = try StateReplay(directory: broker.directory.appending("journal")).state(atSequence: sequence)
        let liveState = try AggregateState.restore(json: live, scenario: .default)
        if let now = liveState.now { _ = rebuilt.advance(to: now) }
        return rebuilt
    }

    /// Where two JSON texts first differ, with some context on each side, for a failed comparison's message.
    public static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
        guard a != b else { return "the same" }
        var index = 0
        while index < min(a.count, b.count) && a[index] == b[index] { index += 1 }
        let from = max(0, index - 200)
        func around(_ bytes: [UInt8]) -> String { String(decoding: bytes[min(from, bytes.count)..<min(bytes.count, index + 300)], as: UTF8.self) }
        return "at byte \(index) of \(a.count) and \(b.count):\n\(around(a))\n---\n\(around(b))"
    }

    /// The aggregator's state at `path` from its snapshot endpoint: the sequence it is at, and the JSON.
    public static func snapshot(_ endpoint: String, context: Context, path: String = "") throws -> (UInt64, [UInt8]) {
        let client = try TestClient(context: context, endpoint: endpoint)
        try client.send(SnapshotRequest(request: 7, path: path).encode())
        guard let frames = try client.receive(), case .state(let request, let sequence, let json) = try SnapshotReply.decode(frames)
        else { throw TestClientError("no STATE") }
        guard request == 7 else { throw TestClientError("a STATE for request \(request), not 7") }
        return (sequence, json)
    }
}
