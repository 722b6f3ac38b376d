import ConduitAggregator
import ConduitCore
import ConduitState
import ConduitTesting
import Foundation
import Synchronization
import Testing
import ZeroMQ

/// The aggregator process: a subscriber that falls behind fills its gaps from the journal, the snapshot endpoint's
/// errors, and alerts derived while the broker is down. (A late joiner and a restart from the checkpoint, checked
/// through `conduit state --snapshot` too, are in conduitTests.)
@Suite(.timeLimit(.minutes(5)))
struct AggregatorTests {
    /// A subscriber that cannot keep up (a high-water mark of one message, an observer that stalls it) loses live
    /// events; it sees the gaps and fills them from the journal, and ends equal to the journal's fold.
    @Test func aStalledAggregatorWithATinyHighWaterMarkFillsItsGapsAndConverges() throws {
        // Small buffers on both sides, so that the burst overflows them on any machine (a kernel that grows its
        // send buffers further would otherwise swallow it).
        let broker = try TestBroker {
            $0.fanoutHighWaterMark = 2
            $0.fanoutSendBuffer = 4096
        }
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let query = try TestClient(context: context, endpoint: broker.endpoints.query)
        var configuration = AggregatorConfiguration()
        configuration.fanoutEndpoint = broker.endpoints.fanout
        configuration.queryEndpoint = broker.endpoints.query
        configuration.ingestEndpoint = broker.endpoints.ingest
        configuration.snapshotEndpoint = "tcp://127.0.0.1:*"
        configuration.subscriberHighWaterMark = 1
        configuration.subscriberReceiveBuffer = 4096  // and no kernel buffer to speak of
        let released = Atomic<Bool>(false)
        configuration.observer = { _ in
            // A consumer that stalls until the whole burst is published: more than the kernel's send buffer (at
            // most 4 MiB by default on Linux) and the 4 KiB receive buffer can hold.
            while !released.load(ordering: .acquiring) { usleep(1000) }
        }
        let aggregator = Aggregator(configuration: configuration)
        let endpoint = try aggregator.start()
        // A first event, and the aggregator stalls in its observer; then a burst, pipelined.
        _ = try agent.publishAndWait(SampleEvents.progress(id: "t0"), correlation: 0)
        let stalled = Date().addingTimeInterval(120)
        while aggregator.sequence < 1 && Date() < stalled { usleep(1000) }
        for index in 1...15_000 {
            let event = index % 2 == 1 ? SampleEvents.progress(id: "t\(index)", percent: index % 100) : SampleEvents.outage(id: "t\(index)")
            try agent.publish(event, correlation: UInt64(index))
        }
        for _ in 1...15_000 { _ = try agent.ingestReply() }
        released.store(true, ordering: .releasing)
        let head = try AggregatorProbe.settle(aggregator, broker, query)
        #expect(aggregator.gapsFilled > 0, "the burst overflowed the high-water marks")
        let (sequence, json) = try AggregatorProbe.snapshot(endpoint, context: context)
        #expect(sequence == head)
        let rebuilt = try AggregatorProbe.rebuild(broker, at: sequence, asOf: json).json()
        #expect(json == rebuilt, "the live state (first) and the journal's fold: \(AggregatorProbe.firstDifference(json, rebuilt))")
        aggregator.stop()
    }

    /// An ERROR from the snapshot endpoint carries the request id whenever it could be read.
    @Test func snapshotErrorsEchoTheRequestId() throws {
        let broker = try TestBroker()
        var configuration = AggregatorConfiguration()
        configuration.fanoutEndpoint = broker.endpoints.fanout
        configuration.queryEndpoint = broker.endpoints.query
        configuration.ingestEndpoint = broker.endpoints.ingest
        configuration.snapshotEndpoint = "tcp://127.0.0.1:*"
        let aggregator = Aggregator(configuration: configuration)
        let endpoint = try aggregator.start()
        defer { aggregator.stop() }
        let context = try Context()
        let client = try TestClient(context: context, endpoint: endpoint)
        let id = { (value: UInt64) in (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
        let requests: [(UInt64, [[UInt8]])] = [
            (42, [ProtocolSignature.frame, Array("SNAPSHOT".utf8), id(42), Array("communities//ganjiaba".utf8)]),
            (43, [ProtocolSignature.frame, Array("SNAPSHOT".utf8), id(43), [], Array("extra".utf8)]),
            (44, [ProtocolSignature.frame, Array("SNAPSHOTS".utf8), id(44), []]),
            (0, [ProtocolSignature.frame, Array("SNAPSHOT".utf8), [1, 2, 3], []]),
        ]
        for (expected, frames) in requests {
            try client.send(frames)
            let reply = try #require(try client.receive())
            guard case .error(let request, let error) = try SnapshotReply.decode(reply) else {
                Issue.record("expected ERROR for request \(expected)")
                continue
            }
            #expect(request == expected, "\(error)")
        }
    }

    /// Alerts derived while the broker is down wait in the aggregator's outbox, across a restart of the aggregator
    /// too, and reach the broker when it is back, each stored exactly once. A raw send lost them: the checkpoint
    /// recorded them raised, and nothing sent them again.
    @Test func alertsDerivedWhileTheBrokerIsDownAreStoredOnceItIsBack() throws {
        let data = TemporaryDirectory()
        let first = try TestBroker(directory: data)
        let endpoints = first.endpoints
        let context = try Context()
        let released = Atomic<Bool>(false)
        var configuration = AggregatorConfiguration()
        configuration.fanoutEndpoint = endpoints.fanout
        configuration.queryEndpoint = endpoints.query
        configuration.ingestEndpoint = endpoints.ingest
        configuration.snapshotEndpoint = "tcp://127.0.0.1:*"
        configuration.checkpointPath = data.appending("aggregator.checkpoint")
        var stalling = configuration
        // Stalls after its first update until released: the events behind are applied, and their alerts derived,
        // only once the broker is gone.
        stalling.observer = { _ in
            while !released.load(ordering: .acquiring) { usleep(1000) }
        }
        let aggregator = Aggregator(configuration: stalling)
        _ = try aggregator.start()
        do {
            let agent = try TestClient(context: context, endpoint: endpoints.ingest)
            try AggregatorProbe.publish(agent, 1...1)
            #expect(Poll.until(120) { aggregator.sequence >= 1 })
            try AggregatorProbe.publish(agent, 2...30)
        }
        first.stop()
        let sentBefore = aggregator.sentAlertIds.count
        released.store(true, ordering: .releasing)
        #expect(Poll.until(120) { aggregator.sentAlertIds.count > sentBefore }, "alerts derived while the broker is down")
        #expect(Poll.until(120) { aggregator.sequence >= 30 })
        // The aggregator stops before the broker is back: its checkpoint holds those alerts as raised.
        aggregator.stop()
        let derived = aggregator.sentAlertIds

        let second = try TestBroker(directory: data) {
            $0.ingestEndpoint = endpoints.ingest
            $0.fanoutEndpoint = endpoints.fanout
            $0.queryEndpoint = endpoints.query
        }
        let restarted = Aggregator(configuration: configuration)
        _ = try restarted.start()
        defer { restarted.stop() }
        let query = try TestClient(context: context, endpoint: endpoints.query)
        _ = try AggregatorProbe.settle(restarted, second, query)
        let alerts = try JournalContents.events(in: data.appending("journal")).filter { $0.kind == .alert }.map(\.id)
        #expect(alerts.count == Set(alerts).count, "no alert stored twice")
        #expect(Set(derived).isSubset(of: Set(alerts)), "every alert derived before the restart is stored")
        #expect(Set(alerts) == Set(derived + restarted.sentAlertIds))
    }
}
