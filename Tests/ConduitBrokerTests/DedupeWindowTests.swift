import Testing

@testable import ConduitBroker

struct DedupeWindowTests {
    /// The batch's keys: found while the batch lasts, gone after it, through growth and many batches.
    @Test func theBatchTableHoldsTheKeysOfOneBatch() {
        typealias Fingerprint = DedupeWindow<Int>.Fingerprint
        var table = BatchKeyTable<Int>(capacity: 4)
        for batch in 0..<50 {
            // Batches of different sizes, some far beyond the table's first size; keys that collide in the low bits.
            let size = batch % 2 == 0 ? 3 : 700
            for key in 0..<size {
                let fingerprint = Fingerprint(high: batch, low: key << 12)
                #expect(table.sequence(of: fingerprint) == nil)
                table.insert(fingerprint, sequence: UInt64(batch * 1000 + key))
            }
            #expect(table.count == size)
            for key in 0..<size {
                #expect(table.sequence(of: Fingerprint(high: batch, low: key << 12)) == UInt64(batch * 1000 + key))
            }
            #expect(table.sequence(of: Fingerprint(high: batch + 1, low: 0)) == nil)
            table.removeAll()
            #expect(table.count == 0)
            #expect(table.sequence(of: Fingerprint(high: batch, low: 0)) == nil)
        }
    }

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

    /// A batch's keys are remembered in one call, which looks ahead in the table: the answers are those of remembering
    /// them one by one, when a new generation begins in the middle of the batch too.
    @Test(arguments: [1, 7, 64])
    func rememberingABatchOfKeysAnswersAsRememberingThemOneByOne(capacity: Int) {
        typealias Fingerprint = DedupeWindow<Int>.Fingerprint
        var oneByOne = DedupeWindow<Int>(capacity: capacity)
        var batched = DedupeWindow<Int>(capacity: capacity)
        var sequence: UInt64 = 0
        for size in [1, 5, 9, 30, 200] {
            let keys = (0..<size).map { _ -> (Fingerprint, UInt64) in
                sequence += 1
                return (Fingerprint(Int(sequence % 50)), sequence)  // some keys come again, with a later sequence
            }
            for (key, sequence) in keys { oneByOne.remember(key, sequence: sequence) }
            batched.remember(keys)
            #expect(batched.keyCount == oneByOne.keyCount)
            for key in 0..<60 { #expect(batched.sequence(of: key) == oneByOne.sequence(of: key)) }
        }
    }

    /// Fingerprints that share their low bits (the table's index) and differ in the high ones are different keys.
    @Test func fingerprintsThatShareTheirIndexAreKeptApart() {
        typealias Fingerprint = DedupeWindow<Int>.Fingerprint
        var window = DedupeWindow<Int>(capacity: 64)
        for high in 0..<40 { window.remember(Fingerprint(high: high, low: 5), sequence: UInt64(high + 1)) }
        for high in 0..<40 { #expect(window.sequence(of: Fingerprint(high: high, low: 5)) == UInt64(high + 1)) }
        #expect(window.sequence(of: Fingerprint(high: 40, low: 5)) == nil)
        #expect(window.sequence(of: Fingerprint(high: 0, low: 6)) == nil)
        // Remembered again: the latest sequence.
        window.remember(Fingerprint(high: 3, low: 5), sequence: 99)
        #expect(window.sequence(of: Fingerprint(high: 3, low: 5)) == 99)
        #expect(window.keyCount == 40)
    }

    /// Each generation's filter lets through some keys it does not hold (about 1 in 20 when full) and never holds back
    /// one it does: whatever the filter says, the answers are the table's. Keys that share a filter word and bits (the
    /// same high half) are told apart by the table.
    @Test func theFilterBeforeEachTableChangesNoAnswer() {
        typealias Fingerprint = DedupeWindow<Int>.Fingerprint
        var window = DedupeWindow<Int>(capacity: 4096)
        // Two generations, each filled to its capacity: the older one full, its filter at its busiest.
        for key in 1...8192 { window.remember(key, sequence: UInt64(key)) }
        for key in 1...8192 { #expect(window.sequence(of: key) == UInt64(key)) }
        var absentFound = 0
        for key in 8193...108_192 where window.sequence(of: key) != nil { absentFound += 1 }
        #expect(absentFound == 0)
        for low in 0..<40 { window.remember(Fingerprint(high: 7, low: low), sequence: UInt64(10_000 + low)) }
        for low in 0..<40 { #expect(window.sequence(of: Fingerprint(high: 7, low: low)) == UInt64(10_000 + low)) }
        #expect(window.sequence(of: Fingerprint(high: 7, low: 40)) == nil)
    }

    /// A window is a value: a copy changed afterwards leaves the original as it was, and the other way round.
    @Test func aCopiedWindowIsChangedApart() {
        var original = DedupeWindow<String>(capacity: 8)
        original.remember("a", sequence: 1)
        var copy = original
        copy.remember("b", sequence: 2)
        original.remember("c", sequence: 3)
        #expect(original.sequence(of: "a") == 1 && original.sequence(of: "b") == nil && original.sequence(of: "c") == 3)
        #expect(copy.sequence(of: "a") == 1 && copy.sequence(of: "b") == 2 && copy.sequence(of: "c") == nil)
        #expect(original.keyCount == 2 && copy.keyCount == 2)
    }
}
