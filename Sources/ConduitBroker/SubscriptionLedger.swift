import ConduitCore

/// The subscriptions each fan-out subscriber holds, by connection. libzmq's XPUB keeps every subscription it is
/// sent, in a tree that grows with its length, and has no limit of its own: the broker reads each (un)subscription
/// as the XPUB passes it on (verbosely, so none is hidden), and a subscriber that goes beyond the limits is cut,
/// which makes the XPUB drop every subscription of its connection.
struct SubscriptionLedger {
    /// Subscriptions one subscriber may hold at once.
    static let maximumSubscriptions = 256
    /// The longest subscription (a topic is at most 3 identifiers and 3 slashes, under 100 bytes).
    static let maximumTopicBytes = 128

    private var topics: [Int32: Set<[UInt8]>] = [:]
    /// The subscribers each topic published goes to, until the subscriptions change.
    private var matches: [PublishedTopic: [Int32]] = [:]

    /// A topic published, hashed by FNV-1a over its bytes into one word for the table: cheaper than hashing every
    /// byte with SipHash for each event published. The topics are those of stored events, made of the plan's names,
    /// and the table is bounded: there is no flood of chosen collisions to fear.
    private struct PublishedTopic: Hashable {
        var bytes: [UInt8]

        func hash(into hasher: inout Hasher) {
            hasher.combine(bytes.withUnsafeBufferPointer { fnv1a($0) })
        }
    }

    /// Subscribers holding at least one subscription.
    var subscriberCount: Int { topics.count }

    /// Subscriptions `descriptor` holds.
    func count(of descriptor: Int32) -> Int { topics[descriptor]?.count ?? 0 }

    /// Applies what the XPUB passed on from the connection `descriptor` (a flag byte, 1 to subscribe or 0 to
    /// unsubscribe, then the topic); returns why the subscriber must be cut, if it must (its subscriptions are then
    /// forgotten).
    mutating func apply(_ message: [UInt8], from descriptor: Int32) -> String? {
        guard let flag = message.first, flag <= 1 else {
            forget(descriptor)
            return "a message that is not a subscription"
        }
        let topic = Array(message.dropFirst())
        guard topic.count <= Self.maximumTopicBytes else {
            forget(descriptor)
            return "a subscription of \(topic.count) bytes (at most \(Self.maximumTopicBytes))"
        }
        if flag == 0 {
            if topics[descriptor]?.remove(topic) != nil { forgetMatches() }
            if topics[descriptor]?.isEmpty == true { topics[descriptor] = nil }
            return nil
        }
        var held = topics[descriptor] ?? []
        guard held.insert(topic).inserted else { return nil }
        guard held.count <= Self.maximumSubscriptions else {
            forget(descriptor)
            return "more than \(Self.maximumSubscriptions) subscriptions"
        }
        topics[descriptor] = held
        forgetMatches()
        return nil
    }

    /// Forgets the subscriptions of a connection that ended.
    mutating func forget(_ descriptor: Int32) {
        if topics.removeValue(forKey: descriptor) != nil { forgetMatches() }
    }

    /// The subscribers a message with this topic goes to: those holding a subscription that is a prefix of it.
    mutating func subscribers(of topic: [UInt8]) -> [Int32] {
        if topics.isEmpty { return [] }  // nobody subscribes: nothing to look up
        if let known = matches[PublishedTopic(bytes: topic)] { return known }
        let found = topics.compactMap { descriptor, held in
            held.contains { topic.starts(with: $0) } ? descriptor : nil
        }
        // Topics are few (kind, utility, community); bounded all the same.
        if matches.count >= 4096 { matches.removeAll(keepingCapacity: true) }
        matches[PublishedTopic(bytes: topic)] = found
        return found
    }

    private mutating func forgetMatches() {
        matches.removeAll(keepingCapacity: true)
    }
}
