import ConduitCore
import Testing

@testable import ConduitState

/// A small hand-made scenario: two communities, four organisations, three work items.
///
/// - `north` (100 households: b1, b2 of 50): `north-power` (grid, 2023-01-01 → 2023-01-31, joint acceptance)
///   and `north-water` (waterco, 2023-01-01 → 2023-03-02, water acceptance);
/// - `south` (40 households: b1): `south-telecom` (telco, 2023-02-01 → 2023-03-03, joint acceptance).
/// Deadline 2023-06-30.
enum Fixtures {
    static func date(_ text: String) -> CalendarDate { try! CalendarDate(iso8601: text) }
    static func time(_ text: String) -> Timestamp { try! Timestamp(rfc3339: text) }

    static let scenario: Scenario = {
        let name = LocalizedText(zh: "测试", en: "test")
        return try! Scenario(
            id: "test", name: name, deadline: date("2023-06-30"),
            noticeRules: [
                NoticeRule(service: .power, leadHours: 168, source: LocalizedText(zh: "七天", en: "seven days")),
                NoticeRule(service: .water, leadHours: 24, source: LocalizedText(zh: "24小时", en: "24 hours")),
            ],
            communities: [
                Community(id: "north", name: LocalizedText(zh: "北", en: "North"), households: 100, buildings: [
                    Building(id: "b1", households: 50), Building(id: "b2", households: 50),
                ]),
                Community(id: "south", name: LocalizedText(zh: "南", en: "South"), households: 40, buildings: [
                    Building(id: "b1", households: 40)
                ]),
            ],
            organisations: [
                Organisation(id: "grid", name: name, roles: [.utility], utilities: [.power], duty: name),
                Organisation(id: "waterco", name: name, roles: [.utility, .inspector], utilities: [.water], inspects: [.waterAcceptance], duty: name),
                Organisation(id: "telco", name: name, roles: [.utility], utilities: [.telecom], duty: name),
                Organisation(id: "bureau", name: name, roles: [.inspector], inspects: [.jointAcceptance], duty: name),
            ],
            workItems: [
                WorkItem(
                    id: "north-power", community: "north", organisation: "grid", utility: .power, title: name,
                    plannedStart: date("2023-01-01"), plannedFinish: date("2023-01-31"), households: 100, acceptance: .jointAcceptance),
                WorkItem(
                    id: "north-water", community: "north", organisation: "waterco", utility: .water, title: name,
                    plannedStart: date("2023-01-01"), plannedFinish: date("2023-03-02"), households: 100, acceptance: .waterAcceptance),
                WorkItem(
                    id: "south-telecom", community: "south", organisation: "telco", utility: .telecom, title: name,
                    plannedStart: date("2023-02-01"), plannedFinish: date("2023-03-03"), households: 40, acceptance: .jointAcceptance),
            ])
    }()
}

/// Builds valid, broker-stamped events in sequence order; every event is checked by ``EventValidator``.
struct EventFactory {
    var scenario: Scenario = Fixtures.scenario
    var sequence: UInt64 = 0
    var validator: EventValidator { EventValidator(scenario: scenario) }

    private static let owner: [Utility: String] = [.power: "grid", .water: "waterco", .telecom: "telco"]

    mutating func stamp(_ event: Event) -> Event {
        sequence += 1
        var event = event
        event.id = "e-\(sequence)"
        event.sequence = sequence
        do { try validator.validate(event) } catch { Issue.record("invalid event: \(error)") }
        return event
    }

    mutating func progress(
        _ workItem: String, _ status: WorkStatus, percent: Double? = nil, at time: String, plannedFinish: String? = nil
    ) -> Event {
        let item = scenario.workItem(workItem)!
        return stamp(Event(
            id: "", source: "/\(item.organisation)/agent", time: Fixtures.time(time), utility: item.utility, site: item.community,
            workItem: workItem,
            data: .progress(ProgressReport(status: status, percent: percent, plannedFinish: plannedFinish.map(Fixtures.date)))))
    }

    mutating func inspection(
        _ workItem: String, kind: InspectionKind, result: InspectionResult?, at time: String, authority: String = "bureau",
        defects: [Defect] = []
    ) -> Event {
        stamp(Event(
            id: "", source: "/\(authority)/inspector", time: Fixtures.time(time), workItem: workItem,
            data: .inspection(InspectionReport(
                status: result == nil ? .requested : .performed, kind: kind, authority: authority,
                performedAt: result == nil ? nil : Fixtures.time(time), result: result, defects: defects))))
    }

    mutating func outage(
        _ service: Utility, site: String = "north", _ status: OutageStatus, subject: String, at time: String,
        window: (String, String)? = nil, noticedAt: String? = nil, startedAt: String? = nil, restoredAt: String? = nil,
        buildings: [String] = ["b1"], households: Int = 50, planned: Bool? = nil
    ) -> Event {
        stamp(Event(
            id: "", source: "/\(Self.owner[service]!)/agent", time: Fixtures.time(time), subject: subject, utility: service, site: site,
            data: .outage(OutageReport(
                status: status, nature: planned ?? (window != nil) ? .planned : .unplanned, service: service,
                windowStart: window.map { Fixtures.time($0.0) }, windowEnd: window.map { Fixtures.time($0.1) },
                noticedAt: noticedAt.map(Fixtures.time), startedAt: startedAt.map(Fixtures.time),
                restoredAt: restoredAt.map(Fixtures.time), buildings: buildings, households: households))))
    }

    mutating func presence(_ status: PresenceStatus, agent: String = "agent", organisation: String = "grid", intervalMs: Int? = 10_000, at time: String) -> Event {
        stamp(Event(
            id: "", source: "/\(organisation)/\(agent)", time: Fixtures.time(time),
            data: .presence(PresenceReport(status: status, agent: agent, heartbeatIntervalMs: intervalMs))))
    }
}

extension AggregateState {
    /// Applies events in order and returns every alert change.
    mutating func apply(_ events: [Event]) -> [AlertChange] { events.flatMap { apply($0) } }

    /// Whether the alert `key` is raised.
    func isRaised(_ key: String) -> Bool { activeAlerts[key] != nil }
}

extension [AlertChange] {
    /// The changes of one key.
    func of(_ key: String) -> [AlertStatus] { filter { $0.key == key }.map(\.status) }
}
