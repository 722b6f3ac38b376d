import Testing

@testable import ConduitBroker

struct DedupeWindowTests {
    @Test func remembersKeysWithTheirSequence() {
        var window = DedupeWindow<String>(capacity: 4)
        window.remember("power/1", sequence: 10)
        window.remember("water/1", sequence: 11)
        #expect(window.sequence(of: "power/1") == 10)
        #expect(window.sequence(of: "water/1") == 11)
        #expect(window.sequence(of: "power/2") == nil)
        #expect(window.keyCount == 2)
    }

    @Test(arguments: [1, 3, 100])
    func alwaysRemembersTheLastCapacityKeysAndForgetsOlderOnesInBulk(capacity: Int) {
        var window = DedupeWindow<Int>(capacity: capacity)
        for key in 1...(capacity * 5 + 1) {
            window.remember(key, sequence: UInt64(key))
            // The last `capacity` keys are always there.
            for recent in max(1, key - capacity + 1)...key {
                #expect(window.sequence(of: recent) == UInt64(recent))
            }
            #expect(window.keyCount <= 2 * capacity)
        }
        #expect(window.sequence(of: 1) == nil, "old keys are forgotten")
    }
}
