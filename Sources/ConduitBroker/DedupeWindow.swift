import ConduitCore
import MemoryHints
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key of the fingerprints of dedupe keys: drawn at random when the process starts, as the standard library's
/// `Hasher` is seeded, so that no peer can choose keys that share a fingerprint.
private let fingerprintKey = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))

/// The broker's memory of recently accepted events, by dedupe key (`source` + `id`), so that a resend after a lost
/// acknowledgement is acknowledged again with its original sequence and stored once.
///
/// The window remembers at least the last `capacity` keys; older ones leave in bulk. A resend older than the window
/// is treated as new, so the capacity must cover the longest time an agent may keep resending (its outbox retries)
/// at the peak event rate. The broker rebuilds the window from the tail of its journal on start, so it survives a restart.
///
/// Keys are kept as 128-bit fingerprints, not strings: 24 bytes a key instead of two heap strings, so a window of half a
/// million events costs about 50 MB at most, not hundreds. Two different keys share a fingerprint with a probability
/// of about n²/2¹²⁹ (10⁻²⁶ for a million keys).
public struct DedupeWindow<Key: Hashable>: Sendable where Key: Sendable {
    /// A 128-bit fingerprint of a key: two independently salted hashes. A caller that looks a key up and then
    /// remembers it computes its fingerprint once and passes that.
    struct Fingerprint: Hashable, Sendable {
        var high: Int
        var low: Int

        init(high: Int, low: Int) {
            self.high = high
            self.low = low
        }

        /// The fingerprint of a key. A ``DedupeKey``'s is that of its bytes (``init(source:id:)``), whichever way it is
        /// asked for.
        init(_ key: Key) {
            if let key = key as? DedupeKey {
                var source = key.source
                var id = key.id
                self = source.withUTF8 { source in id.withUTF8 { id in Fingerprint(source: source, id: id) } }
                return
            }
            var first = Hasher()
            first.combine(0x9E37_79B9_7F4A_7C15 as UInt64)
            first.combine(key)
            var second = Hasher()
            second.combine(0xC2B2_AE3D_27D4_EB4F as UInt64)
            second.combine(key)
            high = first.finalize()
            low = second.finalize()
        }

        /// The fingerprint of the key given as the UTF-8 of its source and id: SipHash-1-3-128 of the source, a byte
        /// 0xFF (never part of UTF-8) and the id, under a key drawn at random for the process.
        init(source: UnsafeBufferPointer<UInt8>, id: UnsafeBufferPointer<UInt8>) {
            var hash = SipHash128(key: fingerprintKey)
            hash.append(source)
            hash.append(0xFF)
            hash.append(id)
            let (first, second) = hash.finalize()
            high = Int(bitPattern: UInt(first))
            low = Int(bitPattern: UInt(second))
        }

        // Already a hash: a table needs only one of its halves.
        func hash(into hasher: inout Hasher) { hasher.combine(low) }
    }

    /// The window: at least the last `capacity` keys are remembered (and at most twice as many).
    public let capacity: Int
    // Two generations: new keys go into `current`; when it holds `capacity` keys it becomes `previous` and the old
    // `previous` is dropped whole. Each generation reserves its table up front, so the window never rehashes (no
    // transient doubling of memory), and pages are touched only as keys arrive.
    private var current: FingerprintTable
    private var previous: FingerprintTable?

    public init(capacity: Int) {
        precondition(capacity > 0, "a dedupe window holds at least one key")
        self.capacity = capacity
        self.current = FingerprintTable(capacity: capacity)
    }

    /// The number of keys remembered.
    public var keyCount: Int { current.count + (previous?.count ?? 0) }

    /// The sequence the event with `key` was stored under, if it is within the window.
    public func sequence(of key: Key) -> UInt64? { sequence(of: Fingerprint(key)) }

    func sequence(of fingerprint: Fingerprint) -> UInt64? {
        current.sequence(high: fingerprint.high, low: fingerprint.low)
            ?? previous?.sequence(high: fingerprint.high, low: fingerprint.low)
    }

    /// Remembers that the event with `key` was stored under `sequence` (a journal's sequence: 1 or more).
    public mutating func remember(_ key: Key, sequence: UInt64) { remember(Fingerprint(key), sequence: sequence) }

    /// Remembers keys one after another, in order. Each key's place in the table is most likely in main memory, not in
    /// a cache: the places of the keys a few ahead are asked for while one is written, so that the writes do not
    /// wait on main memory one at a time.
    mutating func remember(_ keys: [(Fingerprint, UInt64)]) {
        let ahead = 8
        for index in keys.indices {
            if index + ahead < keys.count { current.prefetch(high: keys[index + ahead].0.high, low: keys[index + ahead].0.low) }
            remember(keys[index].0, sequence: keys[index].1)
        }
    }

    mutating func remember(_ fingerprint: Fingerprint, sequence: UInt64) {
        precondition(sequence > 0, "journal sequences start at 1")
        if current.count >= capacity {
            previous = nil  // free the oldest generation before the next one is reserved
            previous = current
            current = FingerprintTable(capacity: capacity)
        } else if !isKnownUniquelyReferenced(&current) {
            current = current.copy()
        }
        current.insert(high: fingerprint.high, low: fingerprint.low, sequence: sequence)
    }
}

/// One generation of the dedupe window: fingerprints with their sequences in an open-addressing table indexed by the
/// fingerprint's low bits (a fingerprint is already a hash), each slot holding the whole entry, so that a lookup
/// reads one place in memory where a `Dictionary` reads its occupancy bitmap, its keys and its values apart. Made
/// zeroed by `calloc`, which leaves a large table's pages untouched until keys arrive; a sequence of 0 marks a free
/// slot. It is filled to half of its slots at most, and never grows: the window starts a new generation instead.
/// A `DedupeWindow` copied and then changed copies the table first.
///
/// Beside the table, a filter of 4 bits per slot (a blocked Bloom filter: each fingerprint sets 2 bits of one 64-bit
/// word, chosen by bits of its high half that the table's index does not use) answers most lookups of a fingerprint
/// it does not hold without reading the table. The default window's table (24 MiB) is larger than the caches, so
/// each lookup of a new event's key in it, in both generations, reads main memory; the filter (512 KiB) mostly
/// stays in cache. It never answers "absent" for a fingerprint the table holds, so it changes no answer; for one
/// the table does not hold it sends about 1 lookup in 20 on to the table when the table is full.
final class FingerprintTable: @unchecked Sendable {
    private struct Slot {
        var high: Int
        var low: Int
        var sequence: UInt64
    }

    private let slots: UnsafeMutablePointer<Slot>
    private let size: Int
    /// The filter's words: a 64-bit word for every 16 slots.
    private let filter: UnsafeMutablePointer<UInt64>
    private let filterWords: Int
    /// The entries it holds.
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        self.size = size
        filterWords = size / 16
        guard let memory = calloc(size, MemoryLayout<Slot>.stride), let words = calloc(filterWords, MemoryLayout<UInt64>.stride) else {
            fatalError("the dedupe window could not reserve \(size * MemoryLayout<Slot>.stride + size / 2) bytes")
        }
        slots = memory.bindMemory(to: Slot.self, capacity: size)
        filter = words.bindMemory(to: UInt64.self, capacity: filterWords)
    }

    deinit {
        free(slots)
        free(filter)
    }

    func copy() -> FingerprintTable {
        let table = FingerprintTable(capacity: size / 2)
        table.slots.update(from: slots, count: size)
        table.filter.update(from: filter, count: filterWords)
        table.count = count
        return table
    }

    func sequence(high: Int, low: Int) -> UInt64? {
        let (word, bits) = filterPlace(high: high)
        guard filter[word] & bits == bits else { return nil }
        let slot = slots[index(high: high, low: low)]
        return slot.sequence == 0 ? nil : slot.sequence
    }

    /// Brings in the filter word and the first slot a key would be written to (a hint: nothing changes).
    func prefetch(high: Int, low: Int) {
        conduit_prefetch_for_writing(filter + filterPlace(high: high).word)
        conduit_prefetch_for_writing(slots + (low & (size - 1)))
    }

    /// Adds an entry, or changes the sequence of the one it holds for this fingerprint.
    func insert(high: Int, low: Int, sequence: UInt64) {
        let (word, bits) = filterPlace(high: high)
        filter[word] |= bits
        let index = index(high: high, low: low)
        if slots[index].sequence == 0 {
            precondition(count * 2 < size, "a fingerprint table is filled to half its slots at most")
            count += 1
        }
        slots[index] = Slot(high: high, low: low, sequence: sequence)
    }

    /// The filter word of a fingerprint and its 2 bits there: the word from the high half's low bits, the bits from
    /// two 6-bit fields of its top 16 (the table's index comes from the low half).
    private func filterPlace(high: Int) -> (word: Int, bits: UInt64) {
        let bits = UInt(bitPattern: high)
        let word = Int(bits & UInt(filterWords - 1))
        return (word, 1 << UInt64((bits >> 48) & 63) | 1 << UInt64((bits >> 56) & 63))
    }

    /// The slot holding this fingerprint, else the free slot where it goes.
    private func index(high: Int, low: Int) -> Int {
        let mask = size - 1
        var index = low & mask
        while slots[index].sequence != 0 && (slots[index].low != low || slots[index].high != high) { index = (index + 1) & mask }
        return index
    }
}

/// The keys of the batch being formed, each with its sequence: an open-addressing table indexed by the fingerprint's
/// low bits (a fingerprint is already a hash), emptied after each batch in constant time by moving to a new generation
/// rather than clearing its slots.
struct BatchKeyTable<Key: Hashable & Sendable> {
    typealias Fingerprint = DedupeWindow<Key>.Fingerprint

    private struct Slot {
        var fingerprint: Fingerprint
        var sequence: UInt64
        /// The slot holds a key of the current batch only when this is the table's generation.
        var generation: UInt32
    }

    private var slots: [Slot]
    private var generation: UInt32 = 1
    /// The keys of the current batch.
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: Slot(fingerprint: Fingerprint(high: 0, low: 0), sequence: 0, generation: 0), count: size)
    }

    /// The sequence the batch gave the key with this fingerprint, if it holds it.
    func sequence(of fingerprint: Fingerprint) -> UInt64? {
        let slot = slots[index(of: fingerprint)]
        return slot.generation == generation ? slot.sequence : nil
    }

    /// Adds a key the batch does not hold yet.
    mutating func insert(_ fingerprint: Fingerprint, sequence: UInt64) {
        if (count + 1) * 2 > slots.count { grow() }
        let index = index(of: fingerprint)
        if slots[index].generation != generation { count += 1 }
        slots[index] = Slot(fingerprint: fingerprint, sequence: sequence, generation: generation)
    }

    /// The slot holding this batch's key with this fingerprint, else the free slot where it goes.
    private func index(of fingerprint: Fingerprint) -> Int {
        let mask = slots.count - 1
        var index = fingerprint.low & mask
        while slots[index].generation == generation && slots[index].fingerprint != fingerprint { index = (index + 1) & mask }
        return index
    }

    /// Forgets every key: the next batch starts empty.
    mutating func removeAll() {
        count = 0
        generation &+= 1
        if generation == 0 {
            // After 2³² batches the stamps would repeat: the slots are cleared once.
            for index in slots.indices { slots[index].generation = 0 }
            generation = 1
        }
    }

    private mutating func grow() {
        let old = slots.filter { $0.generation == generation }
        slots = Array(repeating: Slot(fingerprint: Fingerprint(high: 0, low: 0), sequence: 0, generation: 0), count: slots.count * 2)
        count = 0
        for slot in old { insert(slot.fingerprint, sequence: slot.sequence) }
    }
}
