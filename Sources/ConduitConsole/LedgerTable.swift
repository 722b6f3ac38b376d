import ConduitCore
import ConduitState
import Foundation

/// The supervision office's ledger (督查台账) for people: a table, grouped by organisation or community if asked, or
/// CSV for a spreadsheet.
public struct LedgerTable {
    /// How the table is divided.
    public enum Grouping: String, Sendable, CaseIterable {
        case none, organisation, community
    }

    /// The state the entries are from (for the moment, the plan's names and "today").
    public let state: AggregateState
    /// The entries shown, in order.
    public let entries: [LedgerEntry]
    public let grouping: Grouping

    /// A table of `entries` of `state`.
    public init(state: AggregateState, entries: [LedgerEntry], grouping: Grouping = .none) {
        self.state = state
        self.entries = entries
        self.grouping = grouping
    }

    /// What an entry is now: `open`, `overdue` (open past its deadline), `cleared`, `acknowledged`, or
    /// `acknowledged, open` for a condition acknowledged and still raised.
    public func standing(_ entry: LedgerEntry) -> String {
        if let today = state.today, entry.isOverdue(on: today) { return "overdue" }
        if entry.isOpen { return entry.acknowledgement == nil ? "open" : "acknowledged, open" }
        return entry.isRaised ? "acknowledged" : "cleared"
    }

    /// `percent 45, expectedPercent 62, …`: the figures as they read.
    public static func figures(_ figures: AlertFigures) -> String {
        figures.entries.map { figure in
            let value: String
            switch figure.value {
            case .number(let number): value = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            case .integer(let integer): value = String(integer)
            case .date(let date): value = date.iso8601
            case .time(let time): value = time.rfc3339
            case .text(let text): value = text
            }
            return figure.name.rawValue + " " + value
        }.joined(separator: ", ")
    }

    /// A local date and time of the plan's offset, `2023-06-05 17:30`.
    func local(_ time: Timestamp) -> String {
        String(time.adding(seconds: state.options.utcOffsetSeconds).rfc3339.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    /// The header, then the entries (in sections when grouped), each with its class, kind, standing, subject, when it was
    /// raised, its deadline, its figures and its message.
    public var text: String {
        var lines: [String] = []
        let offset = PlanTimeZone(identifier: state.scenario.timeZone.identifier, utcOffsetSeconds: state.options.utcOffsetSeconds).offsetText
        let when = state.now.map { "\(local($0)) (UTC\(offset))" } ?? "the beginning"
        let conditions = entries.filter { $0.ledgerClass == .condition }.count
        let overdue = state.today.map { today in entries.filter { $0.isOverdue(on: today) }.count } ?? 0
        lines.append("Ledger after sequence \(state.lastSequence), as of \(when): \(counted(entries.count, "entry", "entries")), \(counted(conditions, "condition", "conditions")), \(counted(entries.count - conditions, "violation", "violations")), \(overdue) overdue")
        switch grouping {
        case .none:
            lines.append(contentsOf: rows(entries))
        case .organisation, .community:
            var order: [String] = []
            var groups: [String: [LedgerEntry]] = [:]
            for entry in entries {
                let key = (grouping == .organisation ? entry.subject.organisation : entry.subject.community) ?? "-"
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(entry)
            }
            // In the plan's order, then anything the plan does not name.
            let planned = grouping == .organisation ? state.scenario.organisations.map(\.id) : state.scenario.communities.map(\.id)
            order.sort { (planned.firstIndex(of: $0) ?? .max, $0) < (planned.firstIndex(of: $1) ?? .max, $1) }
            for key in order {
                let group = groups[key] ?? []
                let violations = group.filter { $0.ledgerClass == .violation }.count
                lines.append("")
                lines.append("\(name(of: key)): \(group.count) (\(counted(group.count - violations, "condition", "conditions")), \(counted(violations, "violation", "violations")))")
                lines.append(contentsOf: rows(group))
            }
        }
        return lines.map { $0.escapingControlCharacters() }.joined(separator: "\n")
    }

    private func name(of id: String) -> String {
        if grouping == .organisation, let organisation = state.scenario.organisation(id) {
            return "\(organisation.name.zh) \(organisation.name.en) (\(id))"
        }
        if grouping == .community, let community = state.scenario.community(id) {
            return "\(community.name.zh) \(community.name.en) (\(id))"
        }
        return id == "-" ? "(none)" : id
    }

    private func rows(_ entries: [LedgerEntry]) -> [String] {
        entries.flatMap { entry in
            let subject = [
                grouping == .organisation ? nil : entry.subject.organisation,
                grouping == .community ? nil : entry.subject.community,
                entry.subject.workItem, entry.subject.outage,
            ].compactMap { $0 }.joined(separator: " · ")
            var line = "  " + StateTable.pad(entry.ledgerClass.rawValue, 10) + StateTable.pad(entry.kind.rawValue, 21)
                + StateTable.pad(standing(entry), 13) + "raised \(local(entry.raisedAt))"
                + (entry.deadline.map { ", rectify by \($0)" } ?? "")
            line += "  " + subject
            var detail = "      " + entry.message
            let figures = Self.figures(entry.figures)
            if !figures.isEmpty { detail += " [" + figures + "]" }
            if entry.repeats > 0 { detail += " (\(entry.repeats) more times)" }
            if let acknowledgement = entry.acknowledgement {
                detail += " — acknowledged by \(acknowledgement.organisation) \(local(acknowledgement.time)): \(acknowledgement.note)"
            }
            return [line, detail]
        }
    }

    /// The columns of ``csv``.
    public static let csvHeader = [
        "key", "class", "kind", "standing", "organisation", "community", "workItem", "outage", "raisedAt", "deadline",
        "clearedAt", "acknowledgedAt", "acknowledgedBy", "note", "repeats", "figures", "message",
    ]

    /// The entries as CSV (RFC 4180): a header and a row per entry, times in RFC 3339 (UTC).
    public var csv: String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = [Self.csvHeader.joined(separator: ",")]
        for entry in entries {
            let fields: [String] = [
                entry.key, entry.ledgerClass.rawValue, entry.kind.rawValue, standing(entry), entry.subject.organisation ?? "",
                entry.subject.community ?? "", entry.subject.workItem ?? "", entry.subject.outage ?? "", entry.raisedAt.rfc3339,
                entry.deadline?.iso8601 ?? "", entry.clearedAt?.rfc3339 ?? "", entry.acknowledgement?.time.rfc3339 ?? "",
                entry.acknowledgement?.organisation ?? "", entry.acknowledgement?.note ?? "", String(entry.repeats),
                Self.figures(entry.figures), entry.message,
            ]
            lines.append(fields.map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// The ledger of a year in a few lines, for the end of the demo: entries by class and kind, each overrun with its
/// restoration against its window, the added elevators and their acceptance, and the sub-district's survey and the
/// suspensions escalated to it.
public enum LedgerSummary {
    /// The lines (none for an empty ledger and plan without such work).
    public static func lines(_ state: AggregateState) -> [String] {
        let table = LedgerTable(state: state, entries: [])
        let entries = state.ledger.values.sorted { ($0.raisedAt, $0.key) < ($1.raisedAt, $1.key) }
        var lines: [String] = []
        let open = entries.filter(\.isOpen).count
        let violations = entries.filter { $0.ledgerClass == .violation }
        lines.append("Ledger: \(counted(entries.count, "entry", "entries")) (\(counted(entries.count - violations.count, "condition", "conditions")), \(counted(violations.count, "violation", "violations"))), \(open) open at the end.")
        for ledgerClass in LedgerClass.allCases {
            var counts: [AlertKind: Int] = [:]
            for entry in entries where entry.ledgerClass == ledgerClass { counts[entry.kind, default: 0] += 1 }
            let kinds = counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", ")
            lines.append("  \(ledgerClass.rawValue)s: \(kinds.isEmpty ? "none" : kinds)")
        }
        for entry in entries where entry.kind == .outageOverrun {
            guard let restored = entry.figures.time(.restoredAt), let end = entry.figures.time(.windowEnd) else { continue }
            let start = entry.figures.time(.windowStart).map { table.local($0) + " – " } ?? "until "
            let minutes = entry.figures.integer(.overrunMinutes) ?? 0
            lines.append(
                "  overrun \(entry.subject.outage ?? entry.key): restored \(table.local(restored)) against a window \(start)\(table.local(end)): \(minutes / 60) h \(minutes % 60) min over (\(entry.subject.organisation ?? "-"))")
        }
        let elevators = state.workItems.filter { $0.item.acceptance == .elevatorSupervisoryInspection }
        if !elevators.isEmpty {
            let described = elevators.map { item in
                "\(item.item.id) \(item.status?.rawValue ?? "unreported")\(item.isAcceptedByInspections ? " (supervisory inspection passed)" : "")"
            }
            lines.append("Added elevators (accepted by supervisory inspection): " + described.joined(separator: ", ") + ".")
        }
        let escalations = entries.filter { $0.kind == .escalation }
        for organisation in state.scenario.organisations where state.workItems.contains(where: { $0.item.organisation == organisation.id && $0.item.utility == nil && $0.item.acceptance == nil }) || escalations.contains(where: { $0.subject.organisation == organisation.id }) {
            let own = state.workItems.filter { $0.item.organisation == organisation.id && $0.item.acceptance == nil }
            let done = own.filter { $0.status == .completed || $0.status == .accepted }.count
            let escalated = escalations.filter { $0.subject.organisation == organisation.id }
            let suspensions = escalated.map { entry in
                "\(entry.subject.workItem ?? entry.key) \(entry.figures.integer(.suspendedDays).map { "\($0) days" } ?? "")"
            }
            lines.append(
                "\(organisation.name.en): \(done) of \(own.count) work items done; \(escalated.count) \(escalated.count == 1 ? "suspension" : "suspensions") escalated to it"
                    + (suspensions.isEmpty ? "." : " (" + suspensions.joined(separator: ", ") + ")."))
        }
        return lines
    }
}

/// `1 condition`, `2 conditions`, `0 conditions`.
func counted(_ count: Int, _ singular: String, _ plural: String) -> String {
    "\(count) \(count == 1 ? singular : plural)"
}
