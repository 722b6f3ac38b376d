import ConduitCore

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
    /// Outages, by the `id` of their events (an outage's events share its id's source and subject) or the work item
    /// that caused it.
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
            let names = [event.id, event.subject, outage.causedBy].compactMap { $0 }
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
