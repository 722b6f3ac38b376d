import ConduitBroker
import ConduitCore
import ConduitTesting
import Foundation
import Synchronization
import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(5)))
struct PresenceTests {
    func presence(_ record: RecordedEvent?) throws -> (Event, PresenceReport)? {
        guard let record else { return nil }
        let event = try EventCodec.decode(record.event)
        guard case .presence(let report) = event.data else { return nil }
        return (event, report)
    }

    /// The broker's clock is moved forward by the test instead of waited for, so that neither a heartbeat in time nor
    /// a silence long enough depends on how fast the machine runs.
    @Test func helloIsWelcomedAndRecordedAsABirthAndSilenceAsADeath() throws {
        let offset = Atomic<Int64>(0)
        let interval: Int64 = 60_000_000  // µs: a minute, far longer than any stall of the test itself
        let broker = try TestBroker(
            configure: { $0.agentHeartbeatInterval = .seconds(60) },
            clock: { Broker.wallClock() + offset.load(ordering: .acquiring) })
        let context = try Context()
        let subscriber = try TestSubscriber(context: context, endpoint: broker.endpoints.fanout, prefixes: ["presence/"])
        try subscriber.awaitReady()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        try agent.send(IngestRequest.hello(source: "/power-supply-bureau/agent-1", heartbeatIntervalMs: 60_000).encode())
        guard case .welcome(let welcome) = try agent.ingestReply() else { Issue.record("expected WELCOME"); return }
        #expect(welcome.heartbeatIntervalMs == 60_000)
        #expect(welcome.maximumEventBytes == 65_536)
        let (birth, born) = try #require(try presence(subscriber.nextEvent()))
        #expect(born.status == .birth)
        #expect(birth.source == "/power-supply-bureau/agent-1")
        #expect(born.agent == "power-supply-bureau-agent-1")

        // Heartbeats two intervals apart keep it alive past three intervals.
        for _ in 0..<3 {
            offset.add(2 * interval, ordering: .acquiringAndReleasing)
            try agent.send(IngestRequest.heartbeat.encode())
            guard case .heartbeat = try agent.ingestReply() else { Issue.record("expected HEARTBEAT"); return }
        }
        #expect(broker.broker.currentStatistics.agentsOnline == 1)
        #expect(try subscriber.nextEvent(timeout: .milliseconds(300)) == nil, "no death while it speaks")
        // Then it falls silent: after three intervals it is declared dead.
        offset.add(3 * interval + 1, ordering: .acquiringAndReleasing)
        let (death, died) = try #require(try presence(subscriber.nextEvent()))
        #expect(died.status == .death)
        #expect(death.subject == "silent")
        // The counters are refreshed after the loop's iteration that published the death.
        #expect(Poll.until(60) { broker.broker.currentStatistics.agentsOnline == 0 })
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

    /// The agent drives heartbeats: the broker answers each and sends none unprompted, as the spec says.
    @Test func theBrokerHeartbeatsOnlyInAnswer() throws {
        let broker = try TestBroker { $0.agentHeartbeatInterval = .milliseconds(100) }
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        try agent.send(IngestRequest.hello(source: "/power-supply-bureau/agent-1", heartbeatIntervalMs: 100).encode())
        guard case .welcome = try agent.ingestReply() else { Issue.record("expected WELCOME"); return }
        #expect(try agent.receive(timeout: .milliseconds(500)) == nil, "nothing unprompted over five intervals")
        try agent.send(IngestRequest.heartbeat.encode())
        guard case .heartbeat = try agent.ingestReply() else { Issue.record("expected HEARTBEAT"); return }
    }
}
