import ConduitCore
import ConduitState
import Foundation

/// What changed between two states, as a report for people.
public struct StateDiffText {
    /// What changed.
    public let diff: StateDiff
    /// The display names of communities and the time zone of the report.
    public let scenario: Scenario

    /// The report of `diff`, with the names of `scenario`.
    public init(diff: StateDiff, scenario: Scenario) {
        self.diff = diff
        self.scenario = scenario
    }

    /// `time` in the plan's local time, as every report for people gives it.
    func local(_ time: Timestamp) -> String { time.localText(scenario.timeZone) }

    func moment(_ moment: StateDiff.Moment) -> String {
        "sequence \(moment.lastSequence) (\(moment.now.map(local) ?? "before any event"))"
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f%%", value) }

    static func points(_ from: Double, _ to: Double) -> String {
        let delta = to - from
        return (delta < 0 ? "" : "+") + String(format: "%.1f points", delta)
    }

    static func signed(_ from: Int, _ to: Int) -> String { to - from < 0 ? "\(to - from)" : "+\(to - from)" }

    static func status(_ status: WorkStatus?) -> String { status?.rawValue ?? "unreported" }

    static func rollup(_ change: StateDiff.RollupChange) -> String {
        let (from, to) = (change.from, change.to)
        var parts = [
            "\(percent(from.percentComplete)) → \(percent(to.percentComplete)) complete (\(points(from.percentComplete, to.percentComplete)))",
            "households without service \(from.householdsAffectedNow) → \(to.householdsAffectedNow) (\(signed(from.householdsAffectedNow, to.householdsAffectedNow)))",
        ]
        if from.itemsLate != to.itemsLate { parts.append("items late \(from.itemsLate) → \(to.itemsLate)") }
        if from.itemsAccepted != to.itemsAccepted { parts.append("items accepted \(from.itemsAccepted) → \(to.itemsAccepted)") }
        return parts.joined(separator: ", ")
    }

    func outage(_ change: StateDiff.OutageChange) -> String {
        let outage = change.outage
        let status = change.fromStatus.map { "\($0.rawValue) → \(change.toStatus.rawValue)" } ?? change.toStatus.rawValue
        return "  \(outage.key): \(status), \(outage.report.nature.rawValue), \(outage.report.households) households (\(outage.organisation))"
    }

    func alert(_ entry: StateDiff.AlertEntry) -> String {
        var when: [String] = []
        if let raised = entry.raisedAt { when.append("raised \(local(raised))") }
        if let cleared = entry.clearedAt { when.append("cleared \(local(cleared))") }
        return "  [\(entry.kind.rawValue)] \(entry.message)" + (when.isEmpty ? "" : " (\(when.joined(separator: ", ")))")
    }

    /// The moments compared, the roll-ups that moved, then a section for each kind of change; "Nothing changed."
    /// when nothing did.
    public var text: String {
        var lines = ["Changes from \(moment(diff.from)) to \(moment(diff.to))"]
        if diff.isEmpty {
            lines.append("Nothing changed.")
            return lines.map { $0.escapingControlCharacters() }.joined(separator: "\n")
        }
        lines.append("Overall: " + Self.rollup(diff.overall))
        for id in diff.communityOrder {
            guard let change = diff.communities[id], change.isChanged else { continue }
            let name = scenario.community(id).map { "\($0.name.zh) \($0.name.en)" } ?? id
            lines.append("  \(name): " + Self.rollup(change))
        }
        func section<Element>(_ title: String, _ elements: [Element], _ line: (Element) -> String) {
            guard !elements.isEmpty else { return }
            lines.append("")
            lines.append("\(title) (\(elements.count)):")
            lines.append(contentsOf: elements.map(line))
        }
        section("Work items", diff.workItems) { change in
            "  \(change.item.id): \(Self.status(change.fromStatus)) \(Self.percent(change.fromPercent)) → \(Self.status(change.toStatus)) \(Self.percent(change.toPercent))"
        }
        section("Outages first reported", diff.outagesOpened, outage)
        section("Outages whose status changed", diff.outagesChanged, outage)
        section("Outages restored or cancelled", diff.outagesClosed, outage)
        section("Alerts raised", diff.alertsRaised, alert)
        section("Alerts cleared", diff.alertsCleared, alert)
        section("Alerts raised and cleared again in between", diff.alertsRaisedAndCleared, alert)
        return lines.map { $0.escapingControlCharacters() }.joined(separator: "\n")
    }
}
