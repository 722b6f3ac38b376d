import Testing

@testable import ConduitBroker

/// Each fan-out subscriber's subscriptions, counted from what the XPUB passes on: the limits, and which
/// subscribers a topic goes to.
@Suite struct SubscriptionLedgerTests {
    static func subscribe(_ topic: String) -> [UInt8] { [1] + Array(topic.utf8) }
    static func unsubscribe(_ topic: String) -> [UInt8] { [0] + Array(topic.utf8) }

    @Test func aSubscriberMayHoldUpToTheLimitAndRepeatsCountOnce() {
        var ledger = SubscriptionLedger()
        for index in 0..<SubscriptionLedger.maximumSubscriptions {
            #expect(ledger.apply(Self.subscribe("outage/t\(index)/"), from: 7) == nil)
        }
        #expect(ledger.apply(Self.subscribe("outage/t0/"), from: 7) == nil, "the same subscription again")
        #expect(ledger.apply(Self.unsubscribe("outage/t0/"), from: 7) == nil)
        #expect(ledger.apply(Self.subscribe("outage/other/"), from: 7) == nil, "the place freed")
        #expect(ledger.apply(Self.subscribe("outage/one-too-many/"), from: 7) != nil)
        #expect(ledger.count(of: 7) == 0, "a subscriber cut holds nothing")
        #expect(ledger.apply(Self.subscribe("outage/"), from: 8) == nil, "another subscriber has its own")
    }

    @Test func longSubscriptionsAndOtherMessagesAreRefused() {
        var ledger = SubscriptionLedger()
        #expect(ledger.apply(Self.subscribe(String(repeating: "x", count: SubscriptionLedger.maximumTopicBytes)), from: 1) == nil)
        #expect(ledger.apply(Self.subscribe(String(repeating: "x", count: SubscriptionLedger.maximumTopicBytes + 1)), from: 1) != nil)
        #expect(ledger.apply([2, 3, 4], from: 2) != nil)
        #expect(ledger.apply([], from: 3) != nil)
        #expect(ledger.apply(Self.unsubscribe("never-held/"), from: 4) == nil)
    }

    @Test func aTopicGoesToTheSubscribersWithAPrefixOfIt() {
        var ledger = SubscriptionLedger()
        _ = ledger.apply(Self.subscribe(""), from: 1)
        _ = ledger.apply(Self.subscribe("outage/water/"), from: 2)
        _ = ledger.apply(Self.subscribe("outage/power/"), from: 3)
        _ = ledger.apply(Self.subscribe("outage/"), from: 3)
        let topic = Array("outage/water/ganjiaba/".utf8)
        #expect(Set(ledger.subscribers(of: topic)) == [1, 2, 3])
        _ = ledger.apply(Self.unsubscribe("outage/"), from: 3)
        #expect(Set(ledger.subscribers(of: topic)) == [1, 2], "what changed is seen at once")
        ledger.forget(1)
        #expect(ledger.subscribers(of: topic) == [2])
        #expect(ledger.subscribers(of: Array("_heartbeat/".utf8)).isEmpty)
    }
}

/// The connection limits a broker applies for the descriptors its process may hold.
@Suite struct ConnectionLimitTests {
    @Test func theConfiguredLimitsHoldWhenDescriptorsAreAmple() {
        let configuration = BrokerConfiguration(journalDirectory: "/nonexistent")
        let limits = configuration.connectionLimits(descriptorLimit: 20_000)
        #expect(limits.ingest == configuration.ingestConnections)
        #expect(limits.fanout == configuration.fanoutConnections)
        #expect(limits.query == configuration.queryConnections)
    }

    @Test func fewDescriptorsScaleTheLimitsDownAndLeaveAQuarterFree() {
        let configuration = BrokerConfiguration(journalDirectory: "/nonexistent")
        for descriptors in [1024, 700, 400, 100] {
            let limits = configuration.connectionLimits(descriptorLimit: descriptors)
            let total = limits.ingest.total + limits.fanout.total + limits.query.total
            #expect(total <= max(3, (descriptors - BrokerConfiguration.reservedDescriptors) * 3 / 4))
            for limit in [limits.ingest, limits.fanout, limits.query] {
                #expect(limit.total >= 1)
                #expect(limit.perAddress >= 1 && limit.perAddress <= limit.total)
            }
        }
    }
}
