/// The broker's memory of recently accepted events, by dedupe key (`source` + `id`), so that a resend after a lost
/// acknowledgement is acknowledged again with its original sequence and stored once.
///
/// The window holds at most `capacity` keys; the oldest (lowest sequence) leave first. A resend older than the
/// window is treated as new, so the capacity must cover the longest time an agent may keep resending (its outbox
/// retries) at the peak event rate. The broker rebuilds the window from the tail of its journal on start, so it
/// survives a restart.
public struct DedupeWindow<Key: Hashable>: Sendable where Key: Sendable {
    /// The most keys remembered.
    public let capacity: Int
    private var sequences: [Key: UInt64] = [:]
    // Keys in sequence order, as a ring: `order[head...]` wrapped; the oldest is at `head`.
    private var order: [Key?]
    private var head = 0
    private var count = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a dedupe window holds at least one key")
        self.capacity = capacity
        self.order = Array(repeating: nil, count: capacity)
        sequences.reserveCapacity(min(capacity, 1 << 20))
    }

    /// The number of keys remembered.
    public var keyCount: Int { count }

    /// The sequence the event with `key` was stored under, if it is within the window.
    public func sequence(of key: Key) -> UInt64? { sequences[key] }

    /// Remembers that the event with `key` was stored under `sequence` (sequences increase from call to call),
    /// forgetting the oldest key when the window is full.
    public mutating func remember(_ key: Key, sequence: UInt64) {
        if count == capacity, let oldest = order[head] {
            if sequences[oldest] != nil { sequences[oldest] = nil }
            order[head] = nil
            head = (head + 1) % capacity
            count -= 1
        }
        sequences[key] = sequence
        order[(head + count) % capacity] = key
        count += 1
    }
}
