/// Fan-out topic frames: `<kind>/<utility>/<community>/`, each segment ended by `/`.
///
/// ZeroMQ subscriptions match a prefix of the first frame, so the order of segments decides what a
/// subscriber can select: kind first (every consumer chooses first what it is: an outage board, an
/// inspection ledger), then utility (an agent follows its own service), then community (the finest cut).
/// Every segment, the last included, ends with `/`, which never occurs in an identifier, so a prefix
/// such as `outage/power/` can never match a longer name such as `outage/powerline/`.
/// An absent utility or community is written `-`. Idle heartbeats go to ``heartbeat``, whose first
/// segment is no kind.
public enum Topic {
    /// The segment written for an absent utility or community.
    public static let absent = "-"

    /// The topic of idle heartbeats: `_heartbeat/`.
    public static let heartbeat: [UInt8] = Array("_heartbeat/".utf8)

    /// The topic of an event.
    public static func make(kind: EventKind, utility: Utility?, community: String?) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(40)
        // Through withUTF8: a block copy of each segment, not an iteration over its UTF-8 view.
        var segments = (kind.rawValue, utility?.rawValue ?? absent, community ?? absent)
        segments.0.withUTF8 { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "/"))
        segments.1.withUTF8 { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "/"))
        segments.2.withUTF8 { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "/"))
        return bytes
    }

    /// A subscription prefix: every topic of the given kind, then utility, then community.
    /// A later segment may only be given with the earlier ones; `prefix()` selects everything
    /// (the empty subscription).
    public static func prefix(kind: EventKind? = nil, utility: Utility? = nil, community: String? = nil) -> [UInt8] {
        guard let kind else { return [] }
        var bytes = Array(kind.rawValue.utf8) + [UInt8(ascii: "/")]
        guard let utility else { return bytes }
        bytes += Array(utility.rawValue.utf8) + [UInt8(ascii: "/")]
        guard let community else { return bytes }
        bytes += Array(community.utf8) + [UInt8(ascii: "/")]
        return bytes
    }

    /// The three segments of a topic frame.
    public struct Parts: Sendable, Hashable {
        public var kind: EventKind
        public var utility: Utility?
        public var community: String?
    }

    /// Splits an event topic frame into its segments.
    public static func parse(_ frame: [UInt8], path: String = "frame[0]") throws(ConduitError) -> Parts {
        let segments = frame.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard segments.count == 4, segments[3].isEmpty, frame.last == UInt8(ascii: "/") else {
            throw ConduitError(.frameTopic, path: path, "a topic is kind/utility/community/ with a trailing '/'")
        }
        let kindText = String(decoding: segments[0], as: UTF8.self)
        guard let kind = EventKind(rawValue: kindText) else {
            throw ConduitError(.frameTopic, path: path, "\"\(kindText)\" is not an event kind")
        }
        let utilityText = String(decoding: segments[1], as: UTF8.self)
        var utility: Utility?
        if utilityText != absent {
            guard let value = Utility(rawValue: utilityText) else {
                throw ConduitError(.frameTopic, path: path, "\"\(utilityText)\" is not a utility")
            }
            utility = value
        }
        let communityText = String(decoding: segments[2], as: UTF8.self)
        var community: String?
        if communityText != absent {
            guard Identifier.isValid(communityText) else {
                throw ConduitError(.frameTopic, path: path, "\"\(communityText)\" is not a community identifier")
            }
            community = communityText
        }
        return Parts(kind: kind, utility: utility, community: community)
    }
}
