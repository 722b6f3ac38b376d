import ConduitCore
import ConduitJournal

/// The plan a journal states: its latest `conduit.plan` event, found by the records' topics; a journal that states
/// none is of the built-in seed plan (see the WireProtocol article).
public enum JournalPlan {
    /// The latest plan the journal in `directory` states and the sequence of its event (0 and the seed plan when it
    /// states none). Reads every record's topic, and decodes only plan events.
    public static func latest(directory: String) throws -> PlanInForce {
        let statistics = try JournalInspector.statistics(directory: directory)
        let topic = Topic.prefix(kind: .plan)
        var latest: (bytes: [UInt8], sequence: UInt64)?
        _ = try JournalScan.run(directory: directory, statistics: statistics) { view in
            if view.topic.starts(with: topic) { latest = (Array(view.event), view.sequence) }
            return true
        }
        guard let latest else { return PlanInForce(sequence: 0, json: Scenario.default.canonicalJSON) }
        guard case .plan(let plan) = try EventCodec.decode(latest.bytes).data else {
            throw ConduitError(.eventKind, path: "type", "record \(latest.sequence) has the topic of a plan but is no plan event")
        }
        return PlanInForce(sequence: latest.sequence, json: plan.canonicalJSON)
    }
}
