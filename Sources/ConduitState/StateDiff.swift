import ConduitCore

/// What changed between two states of the same fold: work items whose status or percent moved, outages first
/// seen, changed or closed, alerts raised and cleared, and the roll-ups at both ends.
///
/// Made from the two states alone it sees only what differs at the ends. Given the alert changes the fold
/// returned between them (``AggregateState/apply(_:)`` and ``AggregateState/advance(to:)`` from the earlier
/// state on), it also knows when each alert was cleared and which were raised and cleared again in between.
public struct StateDiff: Sendable, Hashable {
    /// The format signature of a diff document.
    public static let jsonFormat = "conduit-state-diff/1"

    /// Where one end of the diff stands.
    public struct Moment: Sendable, Hashable {
        /// The highest sequence folded.
        public var lastSequence: UInt64
        /// The fold clock.
        public var now: Timestamp?

        /// The end after sequence `lastSequence`, at `now`.
        public init(lastSequence: UInt64, now: Timestamp?) {
            self.lastSequence = lastSequence
            self.now = now
        }
    }

    /// A work item whose status or percent moved.
    public struct WorkItemChange: Sendable, Hashable {
        /// The scenario work item.
        public var item: WorkItem
        /// The status at each end (`nil`: never reported).
        public var fromStatus: WorkStatus?
        public var toStatus: WorkStatus?
        /// The percent complete at each end.
        public var fromPercent: Double
        public var toPercent: Double
    }

    /// An outage first seen, changed or closed between the two ends.
    public struct OutageChange: Sendable, Hashable {
        /// The outage as the later state holds it.
        public var outage: OutageState
        /// Its status at the earlier end; `nil` when it was first reported in between.
        public var fromStatus: OutageStatus?
        /// Its status at the later end.
        public var toStatus: OutageStatus { outage.report.status }
    }

    /// An alert raised or cleared between the two ends.
    public struct AlertEntry: Sendable, Hashable {
        public var kind: AlertKind
        public var key: String
        /// The message it was raised with.
        public var message: String
        /// The events behind it, `source#id`.
        public var refs: [String]
        /// When the fold raised it, if known.
        public var raisedAt: Timestamp?
        /// When the fold cleared it, if it is cleared and the alert changes were given.
        public var clearedAt: Timestamp?
    }

    /// A roll-up at both ends.
    public struct RollupChange: Sendable, Hashable {
        public var from: Rollup
        public var to: Rollup

        /// Whether any figure differs.
        public var isChanged: Bool { from != to }
    }

    /// The earlier end.
    public var from: Moment
    /// The later end.
    public var to: Moment
    /// Work items whose status or percent moved, in scenario order.
    public var workItems: [WorkItemChange]
    /// Outages first reported in between, in the order they were first reported.
    public var outagesOpened: [OutageChange]
    /// Outages known at both ends whose status moved, and that are not closed at the later end.
    public var outagesChanged: [OutageChange]
    /// Outages restored or cancelled in between (including some first reported in between).
    public var outagesClosed: [OutageChange]
    /// Alerts active at the later end and not at the earlier, by key.
    public var alertsRaised: [AlertEntry]
    /// Alerts active at the earlier end and not at the later, by key, with the time their earlier raise was
    /// cleared when the alert changes tell it.
    public var alertsCleared: [AlertEntry]
    /// Alerts raised and cleared again in between, in the order they were cleared; known only from the alert
    /// changes. An alert that came and went more than once may also be in ``alertsRaised`` (its last raise) or
    /// ``alertsCleared`` (the clear of the alert the earlier end held).
    public var alertsRaisedAndCleared: [AlertEntry]
    /// Every work item and outage.
    public var overall: RollupChange
    /// By community id.
    public var communities: [String: RollupChange]
    /// The scenario's communities, in its order.
    public var communityOrder: [String]

    /// The difference from `earlier` to `later`, two states of the same scenario; `alertChanges` are those the
    /// fold returned on its way from `earlier` to `later`, in order (changes that `earlier` already holds, such
    /// as those of an `advance(to:)` it was given, are recognised and skipped).
    public init(from earlier: AggregateState, to later: AggregateState, alertChanges: [AlertChange] = []) {
        from = Moment(lastSequence: earlier.lastSequence, now: earlier.now)
        to = Moment(lastSequence: later.lastSequence, now: later.now)

        workItems = []
        for item in later.workItems {
            let before = earlier.workItem(item.item.id)
            let fromStatus = before?.status
            let fromPercent = before?.percent ?? 0
            guard fromStatus != item.status || fromPercent != item.percent else { continue }
            workItems.append(WorkItemChange(
                item: item.item, fromStatus: fromStatus, toStatus: item.status, fromPercent: fromPercent, toPercent: item.percent))
        }

        outagesOpened = []
        outagesChanged = []
        outagesClosed = []
        for outage in later.outages {
            let before = earlier.outage(outage.key)
            let change = OutageChange(outage: outage, fromStatus: before?.report.status)
            if before == nil { outagesOpened.append(change) }
            let wasOpen = before?.isOpen ?? true
            if wasOpen && !outage.isOpen {
                outagesClosed.append(change)
            } else if let before, before.report.status != outage.report.status {
                outagesChanged.append(change)
            }
        }

        // Walk the changes from the earlier ledger: a raise of a key already raised (by the earlier state's own
        // advance) changes nothing; the first clear of an earlier alert says when it went; a raise cleared again
        // before the end is an alert within the interval.
        var active = earlier.raisedEntries.mapValues {
            AlertEntry(kind: $0.kind, key: $0.key, message: $0.message, refs: $0.refs, raisedAt: $0.raisedAt)
        }
        var raisedWithin: Set<String> = []
        var clearedAt: [String: Timestamp] = [:]
        var within: [AlertEntry] = []
        for change in alertChanges {
            switch change.status {
            case .raised:
                guard active[change.key] == nil else { continue }
                active[change.key] = AlertEntry(
                    kind: change.kind, key: change.key, message: change.message, refs: change.refs, raisedAt: change.time)
                raisedWithin.insert(change.key)
            case .acknowledged:
                continue
            case .cleared:
                guard let raised = active.removeValue(forKey: change.key) else { continue }
                if raisedWithin.remove(change.key) != nil {
                    within.append(AlertEntry(
                        kind: raised.kind, key: raised.key, message: raised.message, refs: raised.refs,
                        raisedAt: raised.raisedAt, clearedAt: change.time))
                } else {
                    clearedAt[change.key] = change.time
                }
            }
        }
        alertsRaisedAndCleared = within
        // An alert active at both ends may have been cleared and raised again in between: then it is both cleared
        // (the earlier one) and raised (the later one).
        let reraised = Set(raisedWithin.filter { clearedAt[$0] != nil })
        let earlierRaised = earlier.raisedEntries
        let laterRaised = later.raisedEntries
        alertsRaised = laterRaised.values
            .filter { earlierRaised[$0.key] == nil || reraised.contains($0.key) }
            .map { AlertEntry(kind: $0.kind, key: $0.key, message: $0.message, refs: $0.refs, raisedAt: $0.raisedAt) }
            .sorted { $0.key < $1.key }
        alertsCleared = earlierRaised.values
            .filter { laterRaised[$0.key] == nil || reraised.contains($0.key) }
            .map {
                AlertEntry(
                    kind: $0.kind, key: $0.key, message: $0.message, refs: $0.refs, raisedAt: $0.raisedAt,
                    clearedAt: clearedAt[$0.key])
            }
            .sorted { $0.key < $1.key }

        let earlierSummary = earlier.summary()
        let laterSummary = later.summary()
        overall = RollupChange(from: earlierSummary.overall, to: laterSummary.overall)
        communityOrder = later.scenario.communities.map(\.id)
        var communities: [String: RollupChange] = [:]
        for id in communityOrder {
            communities[id] = RollupChange(
                from: earlierSummary.communities[id] ?? Rollup(), to: laterSummary.communities[id] ?? Rollup())
        }
        self.communities = communities
    }

    /// Whether nothing changed: no work item, outage, alert or roll-up figure.
    public var isEmpty: Bool {
        workItems.isEmpty && outagesOpened.isEmpty && outagesChanged.isEmpty && outagesClosed.isEmpty
            && alertsRaised.isEmpty && alertsCleared.isEmpty && alertsRaisedAndCleared.isEmpty && !overall.isChanged
    }

    // MARK: - JSON

    /// The diff as deterministic JSON (members sorted by key, compact), format ``jsonFormat``.
    public func json() -> [UInt8] { document().encoded }

    func document() -> JSONValue {
        func moment(_ moment: Moment) -> JSONValue {
            .sortedObject(["lastSequence": .integer(Int64(moment.lastSequence)), "now": moment.now.map { .string($0.rfc3339) }])
        }
        func fromTo(_ from: JSONValue?, _ to: JSONValue?) -> JSONValue { .sortedObject(["from": from, "to": to]) }
        func outage(_ change: OutageChange) -> JSONValue {
            let outage = change.outage
            return .sortedObject([
                "key": .string(outage.key), "community": .string(outage.community), "organisation": .string(outage.organisation),
                "service": .string(outage.report.service.rawValue), "households": .integer(Int64(outage.report.households)),
                "status": fromTo(change.fromStatus.map { .string($0.rawValue) }, .string(change.toStatus.rawValue)),
            ])
        }
        func alert(_ entry: AlertEntry) -> JSONValue {
            .sortedObject([
                "kind": .string(entry.kind.rawValue), "key": .string(entry.key), "message": .string(entry.message),
                "refs": .array(entry.refs.map(JSONValue.string)), "raisedAt": entry.raisedAt.map { .string($0.rfc3339) },
                "clearedAt": entry.clearedAt.map { .string($0.rfc3339) },
            ])
        }
        func rollup(_ change: RollupChange) -> JSONValue {
            let (from, to) = (change.from, change.to)
            return .sortedObject([
                "percentComplete": fromTo(.double(from.percentComplete), .double(to.percentComplete)),
                "expectedPercent": fromTo(.double(from.expectedPercent), .double(to.expectedPercent)),
                "householdsAffectedNow": fromTo(.integer(Int64(from.householdsAffectedNow)), .integer(Int64(to.householdsAffectedNow))),
                "itemsLate": fromTo(.integer(Int64(from.itemsLate)), .integer(Int64(to.itemsLate))),
                "itemsAccepted": fromTo(.integer(Int64(from.itemsAccepted)), .integer(Int64(to.itemsAccepted))),
                "outagesOff": fromTo(.integer(Int64(from.outagesOff)), .integer(Int64(to.outagesOff))),
                "outagesPlanned": fromTo(.integer(Int64(from.outagesPlanned)), .integer(Int64(to.outagesPlanned))),
            ])
        }
        let items: [JSONValue] = workItems.map { change in
            .sortedObject([
                "id": .string(change.item.id), "community": .string(change.item.community),
                "organisation": .string(change.item.organisation), "utility": change.item.utility.map { .string($0.rawValue) },
                "status": fromTo(change.fromStatus.map { .string($0.rawValue) }, change.toStatus.map { .string($0.rawValue) }),
                "percent": fromTo(.double(change.fromPercent), .double(change.toPercent)),
            ])
        }
        return .sortedObject([
            "format": .string(Self.jsonFormat),
            "from": moment(from),
            "to": moment(to),
            "workitems": .array(items),
            "outages": .sortedObject([
                "opened": .array(outagesOpened.map(outage)), "changed": .array(outagesChanged.map(outage)),
                "closed": .array(outagesClosed.map(outage)),
            ]),
            "alerts": .sortedObject([
                "raised": .array(alertsRaised.map(alert)), "cleared": .array(alertsCleared.map(alert)),
                "raisedAndCleared": .array(alertsRaisedAndCleared.map(alert)),
            ]),
            "rollups": .sortedObject([
                "overall": rollup(overall),
                "communities": .sortedObject(communities.mapValues(rollup)),
            ]),
        ])
    }
}

extension AggregateState {
    /// The key under which the fold keeps the outage an event reports (see ``OutageState``): `nil` for an event
    /// that is not an outage report or names no community.
    public static func outageKey(of event: Event) -> String? {
        guard case .outage(let report) = event.data, let site = event.site else { return nil }
        return outageKey(report, event, site: site)
    }
}
