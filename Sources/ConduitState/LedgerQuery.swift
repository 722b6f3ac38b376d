import ConduitCore

/// Which entries of the ledger to show: open, closed or all, of some organisations, communities, kinds or classes.
public struct LedgerQuery: Sendable, Hashable {
    /// Open (a condition raised, a violation not acknowledged), closed (cleared or acknowledged), or all.
    public enum Status: String, Sendable, CaseIterable {
        case open, closed, all
    }

    public var status: Status = .open
    /// Responsible organisations; empty: any.
    public var organisations: Set<String> = []
    /// Communities; empty: any. An entry about no community (a silent agent) matches no community.
    public var communities: Set<String> = []
    /// Kinds; empty: any.
    public var kinds: Set<AlertKind> = []
    /// Classes; empty: both.
    public var classes: Set<LedgerClass> = []

    public init() {}

    /// Whether `entry` is selected.
    public func matches(_ entry: LedgerEntry) -> Bool {
        switch status {
        case .open: guard entry.isOpen else { return false }
        case .closed: guard !entry.isOpen else { return false }
        case .all: break
        }
        if !organisations.isEmpty && !(entry.subject.organisation.map(organisations.contains) ?? false) { return false }
        if !communities.isEmpty && !(entry.subject.community.map(communities.contains) ?? false) { return false }
        if !kinds.isEmpty && !kinds.contains(entry.kind) { return false }
        if !classes.isEmpty && !classes.contains(entry.ledgerClass) { return false }
        return true
    }
}

extension AggregateState {
    /// The entries `query` selects, in the order they were raised (then by key).
    public func ledgerEntries(_ query: LedgerQuery) -> [LedgerEntry] {
        ledger.values.filter(query.matches).sorted { ($0.raisedAt, $0.key) < ($1.raisedAt, $1.key) }
    }

    /// `entries` as a deterministic JSON document (`conduit-ledger/1`): the moment (`lastSequence`, `now`, `today`)
    /// and each entry as the state document holds it, with its `key`.
    public func ledgerJSON(_ entries: [LedgerEntry]) -> [UInt8] {
        let today = self.today
        var members: [String: JSONValue?] = [
            "format": .string("conduit-ledger/1"),
            "scenario": .string(scenario.id),
            "lastSequence": .integer(Int64(lastSequence)),
            "entries": .array(entries.map { entry in
                guard case .object(var fields) = encodeEntry(entry, today: today) else { return .null }
                fields.append(JSONValue.Member("key", .string(entry.key)))
                return .object(fields.sorted { $0.key < $1.key })
            }),
        ]
        members["now"] = now.map { .string($0.rfc3339) }
        members["today"] = today.map { .string($0.iso8601) }
        return JSONValue.sortedObject(members).encoded
    }
}
