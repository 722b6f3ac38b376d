import ConduitAggregator
import ConduitBroker
import ConduitCore
import ConduitOperations
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// With authentication on, the aggregator subscribes, replays and publishes its alerts with its own key (principal
/// `conduit`), and its snapshot endpoint admits only the keys it lists.
@Suite(.timeLimit(.minutes(5)))
struct AggregatorCurveTests {
    /// Two power outages on the same building at the same time, from the power bureau's agent: the aggregator raises
    /// an alert for them. Whether both were acknowledged (an issue is recorded otherwise).
    static func publishOverlappingOutages(_ agent: TestClient) throws -> Bool {
        for (index, id) in ["o-1", "o-2"].enumerated() {
            let outage = String(decoding: SampleEvents.outage(id: id), as: UTF8.self)
                .replacingOccurrences(of: "/water-investment-company/agent-1", with: "/power-supply-bureau/agent-1")
                .replacingOccurrences(of: #""utility":"water""#, with: #""utility":"power""#)
                .replacingOccurrences(of: #""service":"water""#, with: #""service":"power""#)
                .replacingOccurrences(of: #""households":40"#, with: #""buildings":["b01"],"households":40"#)
            guard case .ack = try agent.publishAndWait(Array(outage.utf8), correlation: UInt64(index)) else {
                Issue.record("outage \(id) was not acknowledged")
                return false
            }
        }
        return true
    }
    @Test func theAggregatorWorksBehindCurveAndGuardsItsSnapshots() throws {
        let server = try CurveKeyPair.generate(), power = try CurveKeyPair.generate()
        let aggregatorKeys = try CurveKeyPair.generate(), coordinator = try CurveKeyPair.generate()
        let broker = try TestBroker {
            $0.authentication = BrokerAuthentication(
                serverKeys: server,
                clients: [power.publicKey: "power-supply-bureau", aggregatorKeys.publicKey: "conduit", coordinator.publicKey: "housing-bureau"])
        }
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (power, server.publicKey))
        let query = try TestClient(context: context, endpoint: broker.endpoints.query, curve: (coordinator, server.publicKey))
        // Two outages on the same buildings at the same time: the aggregator raises an alert and publishes it.
        guard try Self.publishOverlappingOutages(agent) else { return }

        var configuration = AggregatorProbe.configuration(for: broker, publishAlerts: true)
        configuration.curve = CurveClientKeys(keys: aggregatorKeys, serverKey: server.publicKey)
        configuration.snapshotClients = [coordinator.publicKey: "housing-bureau"]
        let aggregator = Aggregator(configuration: configuration)
        let endpoint = try aggregator.start()
        let head = try AggregatorProbe.settle(aggregator, broker, query)
        #expect(aggregator.sentAlertIds.count > 0, "the alert went out through ingest with the aggregator's key")

        // A listed key reads the state; it is the journal's fold.
        let reader = try TestClient(context: context, endpoint: endpoint, curve: (coordinator, aggregatorKeys.publicKey))
        try reader.send(SnapshotRequest(request: 7).encode())
        guard let frames = try reader.receive(), case .state(_, let sequence, _) = try SnapshotReply.decode(frames) else {
            Issue.record("no STATE for a listed key")
            return
        }
        #expect(sequence == head)
        // A plain client, and a key the aggregator does not list, never get past the handshake.
        let plain = try TestClient(context: context, endpoint: endpoint)
        try plain.send(SnapshotRequest(request: 8).encode())
        #expect(try plain.receive(timeout: .milliseconds(500)) == nil)
        let stranger = try TestClient(context: context, endpoint: endpoint, curve: (power, aggregatorKeys.publicKey))
        try stranger.send(SnapshotRequest(request: 9).encode())
        #expect(try stranger.receive(timeout: .milliseconds(500)) == nil)
        // The client the commands ask with: the listed key gets the state; a key the aggregator does not list is told
        // that it was refused, not that nobody answered.
        let fetched = try SnapshotClient.fetch(
            endpoint: endpoint, curve: CurveClientKeys(keys: coordinator, serverKey: aggregatorKeys.publicKey), context: context)
        #expect(fetched.sequence == head)
        do {
            _ = try SnapshotClient.fetch(
                endpoint: endpoint, curve: CurveClientKeys(keys: power, serverKey: aggregatorKeys.publicKey), context: context,
                timeout: .seconds(60))
            Issue.record("a key the aggregator does not list got its state")
        } catch let unavailable as SnapshotClient.Unavailable {
            #expect(
                unavailable.description.hasPrefix(
                    "the aggregator at \(endpoint) refused this client's key (authentication refused (ZAP status 400))"),
                "\(unavailable)")
        }
        aggregator.stop()
        broker.stop()
    }
    /// With roles: the aggregator's key (role aggregator) subscribes, replays and publishes its alerts; its snapshot
    /// endpoint admits the roles that read snapshots and refuses an agent's key.
    @Test func theAggregatorWorksWithRolesAndAdmitsOnlySnapshotReaders() throws {
        let server = try CurveKeyPair.generate(), power = try CurveKeyPair.generate(), aggregatorKeys = try CurveKeyPair.generate()
        let reviewer = try CurveKeyPair.generate()
        let principals: [[UInt8]: Principal] = [
            power.publicKey: Principal(name: "power-field", organisation: "power-supply-bureau", role: .agent),
            aggregatorKeys.publicKey: Principal(name: "ledger", organisation: "conduit", role: .aggregator),
            reviewer.publicKey: Principal(name: "auditor", organisation: "county-government-office", role: .reviewer),
        ]
        let broker = try TestBroker { $0.authentication = BrokerAuthentication(serverKeys: server, principals: principals) }
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (power, server.publicKey))
        let query = try TestClient(context: context, endpoint: broker.endpoints.query, curve: (reviewer, server.publicKey))
        guard try Self.publishOverlappingOutages(agent) else { return }
        var configuration = AggregatorProbe.configuration(for: broker, publishAlerts: true)
        configuration.curve = CurveClientKeys(keys: aggregatorKeys, serverKey: server.publicKey)
        configuration.snapshotClients = BrokerAuthentication.snapshotClients(principals)
        #expect(configuration.snapshotClients == [reviewer.publicKey: "auditor"])
        let aggregator = Aggregator(configuration: configuration)
        let endpoint = try aggregator.start()
        let head = try AggregatorProbe.settle(aggregator, broker, query)
        #expect(aggregator.sentAlertIds.count > 0, "the alert went out through ingest with the aggregator's key")
        #expect(broker.broker.currentStatistics.eventsForbidden == 0)

        let reader = try TestClient(context: context, endpoint: endpoint, curve: (reviewer, aggregatorKeys.publicKey))
        try reader.send(SnapshotRequest(request: 7).encode())
        guard let frames = try reader.receive(), case .state(_, let sequence, _) = try SnapshotReply.decode(frames) else {
            Issue.record("no STATE for a reviewer")
            return
        }
        #expect(sequence == head)
        let field = try TestClient(context: context, endpoint: endpoint, curve: (power, aggregatorKeys.publicKey))
        try field.send(SnapshotRequest(request: 8).encode())
        #expect(try field.receive(timeout: .milliseconds(500)) == nil, "an agent's key does not read snapshots")
        aggregator.stop()
        broker.stop()
    }
}

/// The aggregator's operations endpoints: its metrics follow the fold, and it is ready once within reach of the head.
@Suite(.timeLimit(.minutes(5)))
struct AggregatorOperationsTests {
    @Test func metricsFollowTheFoldAndReadinessTheRun() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for index in 1...12 {
            _ = try agent.publishAndWait(SampleEvents.progress(id: "op-\(index)", percent: index), correlation: UInt64(index))
        }
        let configuration = AggregatorProbe.configuration(for: broker, publishAlerts: false)
        let aggregator = Aggregator(configuration: configuration)
        _ = try aggregator.start()
        let metrics = Aggregator.metrics(version: "test")
        let server = try OperationsServer(
            address: "127.0.0.1:0",
            endpoints: OperationsEndpoints(metrics: { aggregator.metricsExposition(metrics) }, readiness: { aggregator.readiness() }))
        defer { server.stop() }
        let head = UInt64(13)  // the plan and twelve events
        #expect(Poll.until(60) {
            PrometheusText.sample((try? HTTPProbe.get(server.address, "/metrics"))?.body ?? "", "conduit_aggregator_applied_sequence") == Double(head)
        })
        let exposition = try HTTPProbe.get(server.address, "/metrics").body
        #expect(PrometheusText.sample(exposition, "conduit_aggregator_lag") == 0, "\(exposition)")
        #expect(PrometheusText.sample(exposition, "conduit_aggregator_gaps_filled_total") == 0)
        #expect(PrometheusText.sample(exposition, #"conduit_build_info{version="test",component="aggregator"}"#) == 1)
        #expect(try HTTPProbe.get(server.address, "/readyz").status == 200)
        aggregator.stop()
        let stopped = try HTTPProbe.get(server.address, "/readyz")
        #expect(stopped.status == 503 && stopped.body.contains("not running"), "\(stopped)")
        broker.stop()
    }
}
