import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import Synchronization
import Testing
import ZeroMQ

@testable import ConduitAgent

/// The agent against a live broker: delivered once, across restarts of either side, rejections final.
@Suite(.timeLimit(.minutes(5))) struct AgentTests {
    static func event(_ id: String, percent: Int = 45) throws -> Event {
        try EventCodec.decode(SampleEvents.progress(id: id, percent: percent))
    }

    static func configuration(endpoint: String, outbox: String) -> Agent.Configuration {
        var configuration = Agent.Configuration(
            endpoint: endpoint, source: "/power-supply-bureau/agent-1", outboxDirectory: outbox)
        // Heartbeats far apart: no test here is about silence, and a loaded machine must not make a slow answer look
        // like a lost connection (a broker restart is noticed by the socket monitor, not by heartbeats).
        configuration.heartbeatInterval = .seconds(60)
        configuration.reconnectInitial = .milliseconds(20)
        configuration.reconnectMaximum = .milliseconds(200)
        return configuration
    }

    /// The ids of the progress events in a journal, in sequence order.
    static func journaledIds(_ directory: String) throws -> [String] {
        try JournalContents.events(in: directory).filter { $0.kind == .progress }.map(\.id)
    }

    @Test func everyEventIsAcknowledgedOnceAndLeavesTheOutbox() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let outcomes = Mutex<[UInt64]>([])
        var configuration = Self.configuration(endpoint: broker.endpoints.ingest, outbox: outbox.path)
        configuration.onOutcome = { outcome in
            if case .acknowledged(_, let sequence, _) = outcome { outcomes.withLock { $0.append(sequence) } }
        }
        let agent = try Agent(configuration: configuration)
        agent.start()
        for batch in 0..<10 {
            try agent.publish((0..<50).map { try Self.event("e-\(batch)-\($0)") })
        }
        #expect(agent.drain(timeout: .seconds(120)))
        let status = agent.status
        #expect(status.acknowledged == 500)
        #expect(status.duplicates == 0)
        #expect(status.pending == 0)
        #expect(status.connected)
        agent.stop()
        broker.stop()
        let ids = try Self.journaledIds(broker.directory.appending("journal"))
        #expect(ids.count == 500)
        #expect(Set(ids).count == 500)
        #expect(outcomes.withLock { $0.count } == 500)
        #expect(try Outbox(directory: outbox.path).pendingCount == 0)
    }

    @Test func eventsStoredWhileTheBrokerIsAwaySurviveAnAgentRestart() throws {
        let outbox = TemporaryDirectory()
        // No broker yet: the events wait in the outbox, and the agent is stopped.
        do {
            let agent = try Agent(configuration: Self.configuration(endpoint: "tcp://127.0.0.1:9", outbox: outbox.path))
            agent.start()
            try agent.publish((0..<40).map { try Self.event("offline-\($0)") })
            #expect(!agent.drain(timeout: .milliseconds(300)))
            agent.stop()
        }
        #expect(try Outbox(directory: outbox.path).pendingCount == 40)
        let broker = try TestBroker()
        let agent = try Agent(configuration: Self.configuration(endpoint: broker.endpoints.ingest, outbox: outbox.path))
        #expect(agent.status.pending == 40)
        agent.start()
        #expect(agent.drain(timeout: .seconds(120)))
        #expect(agent.status.acknowledged == 40)
        agent.stop()
        broker.stop()
        #expect(try Self.journaledIds(broker.directory.appending("journal")) == (0..<40).map { "offline-\($0)" })
    }

    @Test func aBrokerRestartMidStreamLosesNothingAndStoresNothingTwice() throws {
        let data = TemporaryDirectory()
        let first = try TestBroker(directory: data)
        let ingest = first.endpoints.ingest
        let outbox = TemporaryDirectory()
        let agent = try Agent(configuration: Self.configuration(endpoint: ingest, outbox: outbox.path))
        agent.start()
        try agent.publish((0..<300).map { try Self.event("a-\($0)") })
        // Stop the broker while events are in flight, publish more while it is down, then bring it back on the
        // same port and journal.
        first.stop()
        try agent.publish((0..<300).map { try Self.event("b-\($0)") })
        Thread.sleep(forTimeInterval: 0.8)  // the agent notices the silence and starts backing off
        let second = try TestBroker(directory: data) { $0.ingestEndpoint = ingest }
        #expect(agent.drain(timeout: .seconds(120)))
        let status = agent.status
        #expect(status.reconnects >= 1)
        #expect(status.acknowledged == 600)
        agent.stop()
        second.stop()
        let ids = try Self.journaledIds(data.appending("journal"))
        #expect(ids.count == 600)
        #expect(Set(ids) == Set((0..<300).map { "a-\($0)" } + (0..<300).map { "b-\($0)" }))
    }

    /// The broker is back before the agent could notice any silence (heartbeats an hour apart): the dropped
    /// connection itself makes the agent start afresh, say HELLO to the new broker and resend what was unanswered.
    @Test func aBrokerBackAtOnceStillGetsEverythingAndAHello() throws {
        let data = TemporaryDirectory()
        let first = try TestBroker(directory: data)
        let ingest = first.endpoints.ingest
        let outbox = TemporaryDirectory()
        var configuration = Self.configuration(endpoint: ingest, outbox: outbox.path)
        configuration.heartbeatInterval = .seconds(3600)
        let agent = try Agent(configuration: configuration)
        agent.start()
        try agent.publish((0..<200).map { try Self.event("c-\($0)") })
        #expect(agent.drain(timeout: .seconds(120)))
        try agent.publish((0..<500).map { try Self.event("d-\($0)") })
        first.stop()
        let second = try TestBroker(directory: data) { $0.ingestEndpoint = ingest }
        #expect(agent.drain(timeout: .seconds(120)), "long before three hour-long heartbeat intervals")
        #expect(agent.status.reconnects >= 1)
        agent.stop()
        second.stop()
        let events = try JournalContents.events(in: data.appending("journal"))
        #expect(Set(events.filter { $0.kind == .progress }.map(\.id)).count == 700)
        #expect(events.filter { $0.kind == .progress }.count == 700, "nothing stored twice")
        let births = events.filter { if case .presence(let report) = $0.data { report.status == .birth } else { false } }
        #expect(births.count == 2, "the restarted broker heard HELLO too")
    }

    @Test func aRejectionIsReportedAndNeverResent() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let rejections = Mutex<[ConduitError]>([])
        var configuration = Self.configuration(endpoint: broker.endpoints.ingest, outbox: outbox.path)
        configuration.scenario = nil  // the broker alone validates
        configuration.onOutcome = { outcome in
            if case .rejected(_, let error) = outcome { rejections.withLock { $0.append(error) } }
        }
        do {
            let agent = try Agent(configuration: configuration)
            agent.start()
            try agent.publish([try Self.event("good"), try Self.event("bad", percent: 150)])
            #expect(agent.drain(timeout: .seconds(120)))
            #expect(agent.status.acknowledged == 1)
            #expect(agent.status.rejected == 1)
            agent.stop()
        }
        #expect(rejections.withLock { $0.map(\.code) } == [.dataRange])
        // A second run has nothing to resend.
        let again = try Agent(configuration: configuration)
        #expect(again.status.pending == 0)
        again.start()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(again.status.acknowledged == 0 && again.status.rejected == 0)
        again.stop()
        broker.stop()
        #expect(try Self.journaledIds(broker.directory.appending("journal")) == ["good"])
    }

    @Test func anInvalidEventIsRefusedBeforeItIsStored() throws {
        let outbox = TemporaryDirectory()
        let agent = try Agent(configuration: Self.configuration(endpoint: "tcp://127.0.0.1:9", outbox: outbox.path))
        let error = #expect(throws: AgentError.self) {
            try agent.publish([try Self.event("fine"), try Self.event("bad", percent: 150)])
        }
        #expect(error?.rejection?.code == .dataRange)
        #expect(error?.description.contains("event 1") == true)
        #expect(agent.status.pending == 0)
    }

    @Test func anUnknownOrganisationIsRefusedAtHello() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        var configuration = Self.configuration(endpoint: broker.endpoints.ingest, outbox: outbox.path)
        configuration.source = "/nobody/agent"
        let agent = try Agent(configuration: configuration)
        agent.start()
        let deadline = Date().addingTimeInterval(60)
        while agent.status.refused == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(agent.status.refused?.code == .scenarioOrganisation)
        agent.stop()
    }
}

/// The feed of what concerns an organisation: the others' outages and inspections at its communities.
@Suite(.timeLimit(.minutes(5))) struct AgentFeedTests {
    @Test func theFeedCarriesTheOthersOutagesAtItsSitesOnly() throws {
        let broker = try TestBroker()
        let received = Mutex<[String]>([])
        let feed = AgentFeed(endpoint: broker.endpoints.fanout, organisation: "power-supply-bureau") { event in
            received.withLock { $0.append(event.id) }
        }
        #expect(feed.sites == ["ganjiaba", "ruijing-biyuan", "jinxiu-xincheng"])
        try feed.start()
        defer { feed.stop() }
        let context = try ZeroMQ.Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        // Publish until the feed's subscription has reached the broker, then the events that matter. A probe still
        // on its way may land later: probes are left out of the comparison.
        var probe = 0
        let probing = Date().addingTimeInterval(120)
        while received.withLock({ $0.isEmpty }) && Date() < probing {
            probe += 1
            _ = try agent.publishAndWait(SampleEvents.outage(id: "probe-\(probe)"), correlation: UInt64(probe))
            usleep(20_000)
        }
        _ = try agent.publishAndWait(SampleEvents.outage(id: "water-cut"), correlation: 1000)  // the water company's: concerns power
        _ = try agent.publishAndWait(SampleEvents.progress(id: "own-progress"), correlation: 1001)  // progress: not in the feed
        var own = try EventCodec.decode(SampleEvents.outage(id: "own-cut"))
        own.source = "/power-supply-bureau/agent-1"
        own.utility = .power
        if case .outage(var report) = own.data {
            report.service = .power
            own.data = .outage(report)
        }
        _ = try agent.publishAndWait(EventCodec.encode(own), correlation: 1002)  // its own outage: not in the feed
        _ = try agent.publishAndWait(SampleEvents.outage(id: "water-cut-2"), correlation: 1003)
        // The fan-out keeps the broker's order: once the last one is here, anything wrongly forwarded would be too.
        #expect(Poll.until(120) { received.withLock { $0.contains("water-cut-2") } })
        #expect(received.withLock { $0.filter { !$0.hasPrefix("probe-") } } == ["water-cut", "water-cut-2"])
    }

    @Test func anOrganisationWithoutWorkItemsHasNoSites() {
        // The supervision office runs no work: the housing bureau does now (its contractors add the elevators).
        let feed = AgentFeed(endpoint: "tcp://127.0.0.1:9", organisation: "county-government-office") { _ in }
        #expect(feed.sites.isEmpty)
    }
}
