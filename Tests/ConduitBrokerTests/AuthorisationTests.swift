import ConduitBroker
import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// An authorisation file gives each key a principal with a role: the role decides the endpoints it may use and the
/// kinds it may publish; a reload (SIGHUP) puts a new file in force and closes the connections of revoked keys.
@Suite(.timeLimit(.minutes(5)))
struct AuthorisationTests {
    let server = try! CurveKeyPair.generate()
    let agent = try! CurveKeyPair.generate()
    let coordinator = try! CurveKeyPair.generate()
    let reviewer = try! CurveKeyPair.generate()
    let dashboard = try! CurveKeyPair.generate()
    let housingAgent = try! CurveKeyPair.generate()
    let directory = TemporaryDirectory()

    var file: String { directory.appending("authorisation.json") }

    /// Writes the authorisation file: the agent's key by key file, the others inline; `without` leaves principals out.
    func writeFile(without: Set<String> = [], agentRole: String = "agent") throws {
        try JSONEncoder().encode(CurveKeyFile(owner: "power-supply-bureau", publicKey: agent.publicKeyText, secretKey: nil))
            .write(to: URL(fileURLWithPath: directory.appending("power.pub")))
        let principals = [
            ("power-field", #""organisation":"power-supply-bureau","role":"\#(agentRole)","keyFiles":["power.pub"]"#),
            ("desk", #""organisation":"county-government-office","role":"coordinator","publicKeys":["\#(coordinator.publicKeyText)"]"#),
            ("auditor", #""organisation":"county-government-office","role":"reviewer","publicKeys":["\#(reviewer.publicKeyText)"]"#),
            ("wall", #""organisation":"housing-bureau","role":"dashboard","publicKeys":["\#(dashboard.publicKeyText)"]"#),
            ("elevators", #""organisation":"housing-bureau","role":"agent","publicKeys":["\#(housingAgent.publicKeyText)"]"#),
        ].filter { !without.contains($0.0) }.map { #"{"name":"\#($0.0)",\#($0.1)}"# }
        let text = #"{"format":"conduit-authorisation/1","principals":[\#(principals.joined(separator: ","))]}"#
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    func broker() throws -> TestBroker {
        try writeFile()
        let source = BrokerAuthentication.Source.authorisationFile(file)
        let principals = try BrokerAuthentication.principals(from: source, scenario: .default)
        return try TestBroker { $0.authentication = BrokerAuthentication(serverKeys: server, principals: principals, source: source) }
    }

    @Test func aRoleDecidesTheEndpointsAndTheKinds() throws {
        let broker = try broker()
        let context = try Context()
        let field = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (agent, server.publicKey))
        let ack = try #require(acknowledgement(try field.publishAndWait(SampleEvents.progress(id: "r-1"), correlation: 1)))
        #expect(ack.sequence == TestBroker.firstEventSequence)
        // The housing bureau coordinates the programme, but the key of its elevator site agent does not change the plan.
        let elevators = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (housingAgent, server.publicKey))
        let plan = EventCodec.encode(Event(
            id: "plan-x", source: "/housing-bureau/site", time: Timestamp(secondsSinceEpoch: 1_690_000_000), data: .plan(.default)))
        let refused = try #require(rejection(try elevators.publishAndWait(plan, correlation: 2)))
        #expect(refused.error.code == .authForbidden && refused.error.path == "type", "\(refused.error)")

        // A reviewer reads the journal but cannot connect to ingest.
        let review = try TestClient(context: context, endpoint: broker.endpoints.query, curve: (reviewer, server.publicKey))
        try review.send(QueryRequest.head(request: 1).encode())
        guard case .head(let head) = try review.queryReply() else { Issue.record("expected HEAD"); return }
        #expect(head.headSequence == ack.sequence)
        let intruder = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (reviewer, server.publicKey))
        try intruder.publish(SampleEvents.progress(id: "r-2", source: "/county-government-office/x"), correlation: 3)
        #expect(Poll.until(60) { broker.broker.currentStatistics.handshakesRefused >= 1 }, "the reviewer's ingest handshake is refused")

        // A coordinator acknowledges a ledger entry; a dashboard publishes nothing.
        let desk = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (coordinator, server.publicKey))
        let acknowledging = EventCodec.encode(Event(
            id: "ack-1", source: "/county-government-office/desk", time: Timestamp(secondsSinceEpoch: 1_690_000_000),
            data: .alert(AlertReport(status: .acknowledged, kind: .outageOverrun, key: "outage_overrun/ganjiaba/power/x", message: "noted"))))
        #expect(acknowledgement(try desk.publishAndWait(acknowledging, correlation: 4)) != nil)
        broker.stop()
        let statistics = broker.broker.currentStatistics
        #expect(statistics.eventsForbidden == 1)
        #expect(try journalRecords(broker.directory.appending("journal")).count == 3, "the plan, the progress and the acknowledgement")
        #expect(try EventCodec.decode(journalRecords(broker.directory.appending("journal"))[1].event).authenticatedIdentity == "power-supply-bureau")
    }

    @Test func aReloadClosesTheConnectionsOfRevokedKeysAndABadFileChangesNothing() throws {
        let broker = try broker()
        let context = try Context()
        let wall = try TestSubscriber(
            context: context, endpoint: broker.endpoints.fanout, prefixes: ["progress/"], curve: (dashboard, server.publicKey))
        try wall.awaitReady()
        let field = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (agent, server.publicKey))
        _ = try #require(acknowledgement(try field.publishAndWait(SampleEvents.progress(id: "v-1"), correlation: 1)))
        #expect(try EventCodec.decode(try #require(try wall.nextEvent()).event).id == "v-1", "the dashboard reads the fan-out")

        // A file with an error: nothing changes.
        try "{\"format\":\"conduit-authorisation/1\",\"principals\":[{\"name\":\"x\"}]}".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: BrokerError.self) { try broker.broker.reloadAuthorisation() }
        _ = try #require(acknowledgement(try field.publishAndWait(SampleEvents.progress(id: "v-2"), correlation: 2)))
        #expect(try EventCodec.decode(try #require(try wall.nextEvent()).event).id == "v-2")

        // The dashboard is revoked and the agent demoted to reviewer: both connections are closed, and neither key
        // is let in again where its principal may not be.
        try writeFile(without: ["wall"], agentRole: "reviewer")
        let refusedBefore = broker.broker.currentStatistics.handshakesRefused
        let (keys, closed) = try broker.broker.reloadAuthorisation()
        #expect(keys == 4)
        #expect(closed == ["wall", "power-field"])
        #expect(Poll.until(60) { broker.broker.currentStatistics.connectionsRevoked == 2 }, "\(broker.broker.currentStatistics)")
        // Both clients reconnect by themselves, and are refused.
        #expect(Poll.until(60) { broker.broker.currentStatistics.handshakesRefused >= refusedBefore + 2 })
        let desk = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (coordinator, server.publicKey))
        let acknowledging = EventCodec.encode(Event(
            id: "ack-2", source: "/county-government-office/desk", time: Timestamp(secondsSinceEpoch: 1_690_000_000),
            data: .alert(AlertReport(status: .acknowledged, kind: .outageOverrun, key: "outage_overrun/ganjiaba/power/x", message: "noted"))))
        #expect(acknowledgement(try desk.publishAndWait(acknowledging, correlation: 3)) != nil, "the others stay in")
        broker.stop()
        #expect(try journalRecords(broker.directory.appending("journal")).map(\.sequence) == [1, 2, 3, 4])
    }
}
