import ConduitBroker
import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct PresenceTests {
    func presence(_ record: RecordedEvent?) throws -> (Event, PresenceReport)? {
        guard let record else { return nil }
        let event = try EventCodec.decode(record.event)
        guard case .presence(let report) = event.data else { return nil }
        return (event, report)
    }

    @Test func helloIsWelcomedAndRecordedAsABirthAndSilenceAsADeath() throws {
        let broker = try TestBroker { $0.agentHeartbeatInterval = .milliseconds(300) }
        let context = try Context()
        let subscriber = try TestSubscriber(context: context, endpoint: broker.endpoints.fanout, prefixes: ["presence/"])
        try subscriber.awaitReady()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        try agent.send(IngestRequest.hello(source: "/power-supply-bureau/agent-1", heartbeatIntervalMs: 300).encode())
        guard case .welcome(let welcome) = try agent.ingestReply() else { Issue.record("expected WELCOME"); return }
        #expect(welcome.heartbeatIntervalMs == 300)
        #expect(welcome.maximumEventBytes == 65_536)
        let (birth, born) = try #require(try presence(subscriber.nextEvent()))
        #expect(born.status == .birth)
        #expect(birth.source == "/power-supply-bureau/agent-1")
        #expect(born.agent == "power-supply-bureau-agent-1")

        // Heartbeats keep it alive past three intervals.
        for _ in 0..<12 {
            try agent.send(IngestRequest.heartbeat.encode())
            guard case .heartbeat = try agent.ingestReply() else { Issue.record("expected HEARTBEAT"); return }
            Thread.sleep(forTimeInterval: 0.08)
        }
        #expect(broker.broker.currentStatistics.agentsOnline == 1)
        // Then it falls silent: after three intervals it is declared dead.
        let (death, died) = try #require(try presence(subscriber.nextEvent(timeout: .seconds(3))))
        #expect(died.status == .death)
        #expect(death.subject == "silent")
        // The counters are refreshed after the loop's iteration that published the death.
        let deadline = Date().addingTimeInterval(2)
        while broker.broker.currentStatistics.agentsOnline != 0 && Date() < deadline { usleep(5000) }
        #expect(broker.broker.currentStatistics.agentsOnline == 0)
    }

    @Test func goodbyeRecordsADeathAndUnknownOrganisationsAreRejected() throws {
        let broker = try TestBroker()
        let context = try Context()
        let subscriber = try TestSubscriber(context: context, endpoint: broker.endpoints.fanout, prefixes: ["presence/"])
        try subscriber.awaitReady()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        try agent.send(IngestRequest.hello(source: "/china-unicom/agent", heartbeatIntervalMs: 5000).encode())
        guard case .welcome = try agent.ingestReply() else { Issue.record("expected WELCOME"); return }
        #expect(try presence(subscriber.nextEvent())?.1.status == .birth)
        try agent.send(IngestRequest.goodbye.encode())
        let goodbye = try #require(try presence(subscriber.nextEvent()))
        #expect(goodbye.1.status == .death)
        #expect(goodbye.0.subject == "goodbye")

        try agent.send(IngestRequest.hello(source: "/nobody/agent", heartbeatIntervalMs: 5000).encode())
        guard case .reject(let rejection) = try agent.ingestReply() else { Issue.record("expected REJECT"); return }
        #expect(rejection.error.code == .scenarioOrganisation)
    }
}
