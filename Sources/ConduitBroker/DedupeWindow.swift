/// The broker's memory of recently accepted events, by dedupe key (`source` + `id`), so that a resend after a lost
/// acknowledgement is acknowledged again with its original sequence and stored once.
///
/// The window holds at most `capacity` keys; the oldest leave first. A resend older than the window is treated as
/// new, so the capacity must cover the longest time an agent may keep resending (its outbox retries) at the peak
/// event rate. The broker rebuilds the window from the tail of its journal on start, so it survives a restart.
///
/// Keys are kept as 128-bit fingerprints, not strings: 24 bytes a key instead of two heap strings, so a window of a
/// million events costs tens of megabytes, not hundreds. Two different keys share a fingerprint with a probability
/// of about n²/2¹²⁹ (10⁻²⁶ for a million keys).
public struct DedupeWindow<Key: Hashable>: Sendable where Key: Sendable {
    /// A 128-bit fingerprint of a key: two independently salted hashes.
    struct Fingerprint: Hashable, Sendable {
        var high: Int
        var low: Int

        init(_ key: Key) {
            var first = Hasher()
            first.combine(0x9E37_79B9_7F4A_7C15 as UInt64)
            first.combine(key)
            var second = Hasher()
            second.combine(0xC2B2_AE3D_27D4_EB4F as UInt64)
            second.combine(key)
            high = first.finalize()
            low = second.finalize()
        }
    }

    /// The most keys remembered.
    public let capacity: Int
    private var sequences: [Fingerprint: UInt64] = [:]
    // Fingerprints in the order they were remembered, as a ring once full; the oldest is at `head`.
    private var order: [Fingerprint] = []
    private var head = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a dedupe window holds at least one key")
        self.capacity = capacity
    }

    /// The number of keys remembered.
    public var keyCount: Int { order.count }

    /// The sequence the event with `key` was stored under, if it is within the window.
    public func sequence(of key: Key) -> UInt64? { sequences[Fingerprint(key)] }

    /// Remembers that the event with `key` was stored under `sequence`, forgetting the oldest key when the window
    /// is full.
    public mutating func remember(_ key: Key, sequence: UInt64) {
        let fingerprint = Fingerprint(key)
        if order.count < capacity {
            order.append(fingerprint)
        } else {
            let oldest = order[head]
            if sequences[oldest] != nil { sequences[oldest] = nil }
            order[head] = fingerprint
            head = (head + 1) % capacity
        }
        sequences[fingerprint] = sequence
    }
}
