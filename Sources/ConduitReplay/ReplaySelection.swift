import ConduitCore
import ConduitState
import Glibc

/// What a reviewer asks to see of the journal: a window by sequence and/or recorded time, and filters.
///
/// Filters of the same field are alternatives (any of them), different fields must all match. Kind, utility and
/// community are read from the record's topic without decoding the event; work item, organisation and outage need
/// the event decoded, and are checked only when the topic passed.
public struct ReplaySelection: Sendable, Equatable {
    public var fromSequence: UInt64 = 1
    public var toSequence: UInt64 = .max
    /// Events recorded at or after this time.
    public var since: Timestamp?
    /// Events recorded before this time.
    public var until: Timestamp?
    public var kinds: Set<EventKind> = []
    public var utilities: Set<Utility> = []
    public var communities: Set<String> = []
    public var workItems: Set<String> = []
    /// Organisations, by the first segment of the event's source.
    public var organisations: Set<String> = []
    /// Outages, by the key `conduit state` and `conduit incident` show (`<site>/<service>/<reference>`), the `id`
    /// or `subject` of their events, or the work item that caused them.
    public var outages: Set<String> = []

    public init() {}

    /// Whether a filter needs the event decoded.
    public var needsEvent: Bool { !workItems.isEmpty || !organisations.isEmpty || !outages.isEmpty }

    /// Whether the topic (`kind/utility/community/`) passes the kind, utility and community filters.
    public func matches(topic: UnsafeRawBufferPointer) -> Bool {
        if kinds.isEmpty && utilities.isEmpty && communities.isEmpty { return true }
        guard let parts = try? Topic.parse(Array(topic), path: "topic") else { return false }
        if !kinds.isEmpty && !kinds.contains(parts.kind) { return false }
        if !utilities.isEmpty && !(parts.utility.map(utilities.contains) ?? false) { return false }
        if !communities.isEmpty && !(parts.community.map(communities.contains) ?? false) { return false }
        return true
    }

    /// A quick test on the event's stored JSON before decoding it: `false` when the work item and organisation
    /// filters cannot match. The journal holds events in canonical JSON, where identifiers (work items,
    /// organisations: lower-case letters, digits and dashes) appear verbatim, so a work item that matches appears as
    /// the string `"<id>"` and an organisation as the start of the source, `"/<id>`. `true` means "decode and check".
    public func mightMatch(event bytes: UnsafeRawBufferPointer) -> Bool {
        if !workItems.isEmpty && !workItems.contains(where: { Self.contains(bytes, "\"" + $0 + "\"") }) { return false }
        if !organisations.isEmpty && !organisations.contains(where: { Self.contains(bytes, "\"/" + $0) }) { return false }
        return true
    }

    /// Decides the work item and organisation filters on the stored JSON alone, for events in the canonical form the
    /// broker stores (no whitespace, fixed member names); `nil` when a filter needs the event decoded (outages).
    ///
    /// Exact, not a guess: in JSON a `"` inside a string is always escaped, so `"workitem":"<id>"`,
    /// `"causedBy":"<id>"` and `"source":"/<organisation>` can only occur as members, never inside a value; and the
    /// codec allows no other member of those names (extension names have no capitals and `data`'s members are
    /// fixed per kind).
    public func matchesCanonical(event bytes: UnsafeRawBufferPointer) -> Bool? {
        guard outages.isEmpty else { return nil }
        if !workItems.isEmpty
            && !workItems.contains(where: {
                Self.contains(bytes, "\"workitem\":\"" + $0 + "\"") || Self.contains(bytes, "\"causedBy\":\"" + $0 + "\"")
            })
        {
            return false
        }
        if !organisations.isEmpty
            && !organisations.contains(where: {
                Self.contains(bytes, "\"source\":\"/" + $0 + "\"") || Self.contains(bytes, "\"source\":\"/" + $0 + "/")
            })
        {
            return false
        }
        return true
    }

    /// Whether `needle` occurs in `haystack`: `memchr` for its first byte, then a comparison.
    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: String) -> Bool {
        guard let base = haystack.baseAddress else { return false }
        var needle = needle
        return needle.withUTF8 { pattern -> Bool in
            guard let first = pattern.first, pattern.count <= haystack.count else { return false }
            var offset = 0
            let last = haystack.count - pattern.count
            while offset <= last {
                guard let found = memchr(base + offset, Int32(first), last - offset + 1) else { return false }
                let position = base.distance(to: UnsafeRawPointer(found))
                if memcmp(base + position, pattern.baseAddress!, pattern.count) == 0 { return true }
                offset = position + 1
            }
            return false
        }
    }

    /// Whether the decoded event passes the work item, organisation and outage filters.
    public func matches(event: Event) -> Bool {
        if !workItems.isEmpty {
            var items: [String] = event.workItem.map { [$0] } ?? []
            if case .outage(let outage) = event.data, let cause = outage.causedBy { items.append(cause) }
            if !items.contains(where: workItems.contains) { return false }
        }
        if !organisations.isEmpty && !organisations.contains(String(event.sourceOrganisation)) { return false }
        if !outages.isEmpty {
            guard case .outage(let outage) = event.data else { return false }
            let names = [event.id, event.subject, outage.causedBy, AggregateState.outageKey(of: event)].compactMap { $0 }
            if !names.contains(where: outages.contains) { return false }
        }
        return true
    }

    /// Whether a record's recorded time (µs) is inside the time window.
    public func matches(recordedTime: Int64) -> Bool {
        if let since, recordedTime < since.microsecondsSinceEpoch { return false }
        if let until, recordedTime >= until.microsecondsSinceEpoch { return false }
        return true
    }
}
