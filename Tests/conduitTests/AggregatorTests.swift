import ConduitAggregator
import ConduitState
import ConduitTesting
import Testing
import ZeroMQ

/// The aggregator process: a late joiner converges to the state of the whole journal, and a restart from its
/// checkpoint equals a rebuild from the journal; `conduit state --snapshot` prints what it serves.
@Suite(.timeLimit(.minutes(5)))
struct AggregatorTests {
    @Test func aLateJoinerAndARestartFromCheckpointConvergeToTheJournalsFold() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let query = try TestClient(context: context, endpoint: broker.endpoints.query)
        try AggregatorProbe.publish(agent, 1...30)

        var configuration = AggregatorConfiguration()
        configuration.fanoutEndpoint = broker.endpoints.fanout
        configuration.queryEndpoint = broker.endpoints.query
        configuration.ingestEndpoint = broker.endpoints.ingest
        configuration.snapshotEndpoint = "tcp://127.0.0.1:*"
        configuration.checkpointPath = broker.directory.appending("aggregator.checkpoint")
        let late = Aggregator(configuration: configuration)
        let endpoint = try late.start()
        try AggregatorProbe.publish(agent, 31...60)  // live, while it may still be catching up
        let head = try AggregatorProbe.settle(late, broker, query)
        let (sequence, json) = try AggregatorProbe.snapshot(endpoint, context: context)
        #expect(sequence == head)
        let rebuilt = try AggregatorProbe.rebuild(broker, at: sequence, asOf: json)
        #expect(json == rebuilt.json(), "the late joiner equals a fold of the whole journal")
        #expect(!rebuilt.publishedAlerts.isEmpty, "the alerts it derived came back through the broker")
        let (_, subtree) = try AggregatorProbe.snapshot(endpoint, context: context, path: "communities/ganjiaba")
        #expect(subtree == rebuilt.json(at: "communities/ganjiaba"))

        // `conduit state --snapshot` prints what the aggregator serves.
        let command = try ChildProcess.conduit(["state", "--snapshot", endpoint, "--json", "--path", "communities/ganjiaba"])
        #expect(command.status == 0)
        #expect(command.output == String(decoding: subtree, as: UTF8.self) + "\n")
        late.stop()

        try AggregatorProbe.publish(agent, 61...70)
        let restarted = Aggregator(configuration: configuration)
        let again = try restarted.start()
        let head2 = try AggregatorProbe.settle(restarted, broker, query)
        let (sequence2, json2) = try AggregatorProbe.snapshot(again, context: context)
        #expect(sequence2 == head2)
        let rebuilt2 = try AggregatorProbe.rebuild(broker, at: sequence2, asOf: json2)
        #expect(json2 == rebuilt2.json(), "a restart from the checkpoint equals a rebuild from the journal")
        restarted.stop()
    }
}
