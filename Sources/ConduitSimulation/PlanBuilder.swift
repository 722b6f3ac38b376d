import ConduitCore

/// Collects the events of a plan as they are drawn, then orders them and gives them ids.
struct PlanBuilder {
    /// An event drawn, before it has its id.
    struct Draft {
        var due: Timestamp
        /// The order it was drawn in: the last tie-breaker.
        var ordinal: Int
        var organisation: String
        var event: Event
    }

    let options: SimulationOptions
    /// The end of the simulated year: nothing happens at or after it.
    let end: Timestamp
    private(set) var drafts: [Draft] = []

    init(options: SimulationOptions, end: Timestamp) {
        self.options = options
        self.end = end
    }

    /// Adds an event of `organisation` that happened at `time`, published at `due` (at least `time`, and
    /// moved back to just before the end of the year if it would be after). An event at or after the end is
    /// dropped. Returns the moment it is published, or `nil` if it was dropped.
    @discardableResult
    mutating func add(
        organisation: String, time: Timestamp, due: Timestamp? = nil, subject: String? = nil, utility: Utility?,
        site: String?, workItem: String?, data: EventData
    ) -> Timestamp? {
        guard time < end else { return nil }
        let latest = Timestamp(microsecondsSinceEpoch: end.microsecondsSinceEpoch - 1)
        let published = min(max(due ?? time, time), latest)
        let event = Event(
            id: "", source: "/" + organisation + "/" + options.agent, time: time, subject: subject, utility: utility,
            site: site, workItem: workItem, data: data)
        drafts.append(Draft(due: published, ordinal: drafts.count, organisation: organisation, event: event))
        return published
    }

    /// The events in the order they are published (by due, then time, then the order they were drawn),
    /// each with the id `<seed>-<n>`, `n` counting from 1 within its organisation in that order.
    func finish() -> [SimulatedEvent] {
        let ordered = drafts.sorted { first, second in
            if first.due != second.due { return first.due < second.due }
            if first.event.time != second.event.time { return first.event.time < second.event.time }
            return first.ordinal < second.ordinal
        }
        var counts: [String: Int] = [:]
        return ordered.map { draft in
            let count = counts[draft.organisation, default: 0] + 1
            counts[draft.organisation] = count
            var event = draft.event
            event.id = "\(options.seed)-\(count)"
            return SimulatedEvent(due: draft.due, event: event)
        }
    }
}
