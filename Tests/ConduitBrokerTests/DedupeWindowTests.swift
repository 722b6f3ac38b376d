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

    @Test func forgetsTheOldestWhenFull() {
        var window = DedupeWindow<Int>(capacity: 3)
        for key in 1...5 { window.remember(key, sequence: UInt64(100 + key)) }
        #expect(window.keyCount == 3)
        #expect(window.sequence(of: 1) == nil)
        #expect(window.sequence(of: 2) == nil)
        #expect(window.sequence(of: 3) == 103)
        #expect(window.sequence(of: 5) == 105)
    }

    @Test func aWindowOfOneKeepsOnlyTheLatest() {
        var window = DedupeWindow<Int>(capacity: 1)
        window.remember(1, sequence: 1)
        window.remember(2, sequence: 2)
        #expect(window.sequence(of: 1) == nil)
        #expect(window.sequence(of: 2) == 2)
    }
}
