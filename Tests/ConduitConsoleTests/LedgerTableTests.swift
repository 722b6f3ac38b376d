import ConduitConsole
import ConduitCore
import ConduitState
import ConduitTesting
import Testing

/// The ledger of Story's journal as `conduit ledger` prints it: selected, grouped, as a table and as CSV.
@Suite struct LedgerTableTests {
    /// Story folded to its end (2023-10-05): the outage's short notice and overrun are open violations; its
    /// unrestored condition, the behind-schedule and the overdue re-inspection of ganjiaba-power were cleared.
    static func state() -> AggregateState {
        var state = AggregateState(scenario: .default)
        for (offset, event) in Story.events.enumerated() {
            var stamped = event
            stamped.sequence = UInt64(offset + 1)
            _ = state.apply(stamped)
        }
        return state
    }

    struct Selection: Sendable, CustomTestStringConvertible {
        var name: String
        var query: LedgerQuery
        var keys: [String]
        var testDescription: String { name }
    }

    static let outage = "ganjiaba/power/gjb-cut-1"

    /// Story's entries: the power supply bureau's at Ganjiaba (the other work items, never reported, are behind).
    static func query(_ edit: (inout LedgerQuery) -> Void = { _ in }) -> LedgerQuery {
        var query = LedgerQuery()
        query.organisations = ["power-supply-bureau"]
        query.communities = ["ganjiaba"]
        edit(&query)
        return query
    }

    @Test(arguments: [
        Selection(name: "open: the two violations", query: query(), keys: ["short_notice/" + outage, "outage_overrun/" + outage]),
        Selection(
            name: "closed: the conditions cleared", query: query { $0.status = .closed },
            keys: ["outage_unrestored/" + outage, "behind_schedule/ganjiaba-power", "reinspection_overdue/ganjiaba-power"]),
        Selection(
            name: "another community", query: query { $0.status = .all; $0.communities = ["ruijing-biyuan"]; $0.kinds = [.outageOverrun] },
            keys: []),
        Selection(name: "one kind", query: query { $0.status = .all; $0.kinds = [.outageOverrun] }, keys: ["outage_overrun/" + outage]),
        Selection(name: "conditions open", query: query { $0.classes = [.condition] }, keys: []),
        Selection(
            name: "the water company's at Ganjiaba: 60 % when the plan expects 89 %", query: query { $0.organisations = ["water-investment-company"] },
            keys: ["behind_schedule/ganjiaba-water"]),
    ])
    func selections(_ selection: Selection) {
        let state = Self.state()
        let keys = state.ledgerEntries(selection.query).map(\.key)
        // Entries come in the order they were raised.
        #expect(Set(keys) == Set(selection.keys))
        #expect(keys == state.ledgerEntries(selection.query).sorted { ($0.raisedAt, $0.key) < ($1.raisedAt, $1.key) }.map(\.key))
    }

    @Test func theTableNamesEachEntrysClassStandingSubjectDeadlineAndFigures() {
        let state = Self.state()
        let all = Self.query { $0.status = .all }
        let table = LedgerTable(state: state, entries: state.ledgerEntries(all), grouping: .organisation)
        let lines = table.text.split(separator: "\n").map(String.init)
        #expect(lines.first == "Ledger after sequence 11, as of 2023-10-05 16:00 (UTC+08:00): 5 entries, 3 conditions, 2 violations, 2 overdue", "\(lines)")
        #expect(lines.contains("县供电局 County Power Supply Bureau (power-supply-bureau): 5 (3 conditions, 2 violations)"), "\(lines)")
        let overrun = lines.first { $0.contains("outage_overrun") && $0.contains("violation") }
        #expect(overrun?.contains("overdue") == true, "rectify within 7 days of 2023-06-05, shown on 2023-10-05: \(lines)")
        #expect(overrun?.contains("raised 2023-06-05 18:30, rectify by 2023-06-12") == true, "\(lines)")
        #expect(lines.contains { $0.contains("overrunMinutes 90") && $0.contains("restoredAt 2023-06-05T10:30:00Z") })
        #expect(lines.contains { $0.contains("outage_unrestored") && $0.contains("cleared") })
    }

    @Test func aSingleEntryIsCountedInTheSingular() throws {
        let state = Self.state()
        let entry = try #require(state.ledgerEntries(Self.query { $0.status = .all }).first { $0.ledgerClass == .violation })
        let lines = LedgerTable(state: state, entries: [entry], grouping: .organisation).text.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasSuffix(": 1 entry, 0 conditions, 1 violation, 1 overdue") == true, "\(lines)")
        #expect(lines.contains { $0.hasSuffix(": 1 (0 conditions, 1 violation)") }, "\(lines)")
    }

    @Test func csvHasAHeaderAndOneQuotedRowPerEntry() {
        let state = Self.state()
        let csv = LedgerTable(state: state, entries: state.ledgerEntries(Self.query())).csv
        let rows = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.first == LedgerTable.csvHeader.joined(separator: ","))
        #expect(rows.count == 3)
        #expect(rows.dropFirst().allSatisfy { $0.hasPrefix("short_notice/") || $0.hasPrefix("outage_overrun/") })
        #expect(rows.contains { $0.contains(",violation,outage_overrun,overdue,power-supply-bureau,ganjiaba,ganjiaba-power,") })
        // The figures field holds commas: it is quoted.
        #expect(rows.contains { $0.contains("\"windowStart 2023-06-05T01:00:00Z, windowEnd") })
    }

    @Test func jsonListsTheEntriesWithTheirKeys() throws {
        let state = Self.state()
        let document = try JSONValue.parse(state.ledgerJSON(state.ledgerEntries(Self.query())))
        #expect(document["format"] == .string("conduit-ledger/1"))
        guard case .array(let entries)? = document["entries"] else { throw LedgerTestFailure() }
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0["class"] == .string("violation") && $0["open"] == .bool(true) && $0["key"] != nil })
        #expect(entries.contains { $0["organisation"] == .string("power-supply-bureau") && $0["deadline"] == .string("2023-06-12") })
    }
}

struct LedgerTestFailure: Error {}
