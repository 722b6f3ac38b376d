import ConduitCore
import Testing

@testable import ConduitBroker

/// A flood of `HELLO`s with new sources is refused, not journaled: one connection may bring at most 16 agents to
/// life, and the broker keeps at most 10,000 alive. A reconnection is always welcome.
@Suite struct PresenceFloodTests {
    @Test func oneConnectionBringsAtMostSixteenAgentsToLife() throws {
        var pipeline = IngestPipeline(
            settings: IngestPipelineTests.settings, nextSequence: 1, headSequence: 0, lastRecordedTime: 0)
        let connection: [UInt8] = [0, 0, 0, 1]
        var births = 0
        var refusals: [ConduitError] = []
        for index in 0..<1000 {
            births += pipeline.receiving(
                routingId: connection,
                frames: IngestRequest.hello(source: "/power-supply-bureau/agent-\(index)", heartbeatIntervalMs: 5000).encode(),
                principal: nil, now: 0, calendar: IngestPipelineTests.calendar
            ).count
            for (_, reply) in IngestPipelineTests.replies(pipeline.commitSucceeded()) {
                if case .reject(let rejection) = reply { refusals.append(rejection.error) }
            }
        }
        #expect(births == PresenceTracker.maximumAgentsPerConnection)
        #expect(refusals.count == 1000 - PresenceTracker.maximumAgentsPerConnection)
        #expect(refusals.allSatisfy { $0.code == .serviceUnavailable && $0.path == "frame[2]" })
        #expect(pipeline.agentsOnline == PresenceTracker.maximumAgentsPerConnection)

        // A reconnection of a living agent is welcome on any connection.
        pipeline.receive(
            routingId: [0, 0, 0, 2], frames: IngestRequest.hello(source: "/power-supply-bureau/agent-3", heartbeatIntervalMs: 5000).encode(),
            principal: nil, now: 1, calendar: IngestPipelineTests.calendar)
        let again = pipeline.commitSucceeded()
        #expect(IngestPipelineTests.replies(again).contains { if case .welcome = $0.reply { true } else { false } })
    }

    @Test func aDepartureFreesItsPlace() {
        var tracker = PresenceTracker(missedHeartbeats: 3)
        let connection: [UInt8] = [7]
        for index in 0..<PresenceTracker.maximumAgentsPerConnection {
            #expect(tracker.refusal(source: "/o/a\(index)", routingId: connection) == nil)
            _ = tracker.hello(source: "/o/a\(index)", routingId: connection, intervalMicroseconds: 1_000_000, now: 0)
        }
        #expect(tracker.refusal(source: "/o/extra", routingId: connection) != nil)
        #expect(tracker.refusal(source: "/o/extra", routingId: [8]) == nil, "another connection has its own allowance")
        // The last agent said goodbye; silence ends the others: the connection may bring new ones to life.
        _ = tracker.goodbye(routingId: connection)
        #expect(tracker.refusal(source: "/o/extra", routingId: connection) == nil)
        _ = tracker.expire(now: 10_000_000)
        #expect(tracker.onlineCount == 0)
        #expect(tracker.refusal(source: "/o/extra", routingId: connection) == nil)
    }
}
