import Testing
@testable import ConduitCore

@Suite struct EventValidatorTests {
    let validator = EventValidator(scenario: .default)

    @Test(arguments: Samples.all)
    func acceptsTheSamples(_ event: Event) throws {
        try validator.validate(event)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var event: Event
        var code: ConduitError.Code
        var path: String
        var reason: String?
        var testDescription: String { name }
    }

    static func progress(_ edit: (inout ProgressReport) -> Void) -> Event {
        var event = Samples.progress
        guard case .progress(var report) = event.data else { fatalError() }
        edit(&report)
        event.data = .progress(report)
        return event
    }

    static func outage(_ edit: (inout OutageReport) -> Void) -> Event {
        var event = Samples.outage
        guard case .outage(var report) = event.data else { fatalError() }
        edit(&report)
        event.data = .outage(report)
        return event
    }

    static func inspection(_ edit: (inout InspectionReport) -> Void) -> Event {
        var event = Samples.inspection
        guard case .inspection(var report) = event.data else { fatalError() }
        edit(&report)
        event.data = .inspection(report)
        return event
    }

    static func with(_ event: Event, _ edit: (inout Event) -> Void) -> Event {
        var copy = event
        edit(&copy)
        return copy
    }

    static func t(_ text: String) -> Timestamp { try! Timestamp(rfc3339: text) }

    static let cases: [Case] = [
        Case(name: "percent above 100", event: progress { $0.percent = 140 }, code: .dataRange, path: "data.percent", reason: "140 is above 100"),
        Case(name: "percent below 0", event: progress { $0.percent = -0.5 }, code: .dataRange, path: "data.percent", reason: "-0.5 is below 0"),
        Case(name: "completed at 60 percent", event: progress { $0.status = .completed; $0.percent = 60 }, code: .dataConflict, path: "data.percent", reason: nil),
        Case(name: "planned finish before start", event: progress { $0.plannedFinish = CalendarDate(year: 2023, month: 3, day: 1) }, code: .dataWindow, path: "data.plannedFinish", reason: "2023-03-01 is before plannedStart 2023-04-01"),
        Case(name: "actual finish before start", event: progress { $0.actualFinish = CalendarDate(year: 2023, month: 4, day: 2) }, code: .dataWindow, path: "data.actualFinish", reason: nil),
        Case(name: "negative households", event: progress { $0.householdsAffected = -1 }, code: .dataRange, path: "data.householdsAffected", reason: nil),
        Case(name: "window ends before it begins", event: outage { $0.windowEnd = t("2023-07-01T00:00:00Z") }, code: .dataWindow, path: "data.windowEnd", reason: nil),
        Case(name: "window with no end", event: outage { $0.windowEnd = nil }, code: .eventMissing, path: "data.windowEnd", reason: nil),
        Case(name: "planned outage noticed without a window", event: outage { $0.status = .noticed; $0.windowStart = nil; $0.windowEnd = nil }, code: .eventMissing, path: "data.windowStart", reason: nil),
        Case(name: "planned outage restored without its window or a subject to name it", event: outage { $0.windowStart = nil; $0.windowEnd = nil }, code: .eventMissing, path: "subject", reason: nil),
        Case(name: "more households than its buildings hold", event: outage { $0.households = 97 }, code: .dataRange, path: "data.households", reason: "97 is more than the 96 households of buildings b01, b02 of jinxiu-xincheng"),
        Case(name: "caused by work at another community", event: outage { $0.causedBy = "ganjiaba-power" }, code: .scenarioWorkItem, path: "data.causedBy", reason: "ganjiaba-power is work at ganjiaba, not at jinxiu-xincheng"),
        Case(name: "acknowledgement by a utility", event: with(Samples.alert) { $0.source = "/china-mobile/agent"; $0.data = .alert(AlertReport(status: .acknowledged, kind: .shortNotice, key: "short_notice/ganjiaba/power/x", message: "seen")) }, code: .authForbidden, path: "source", reason: nil),
        Case(name: "acknowledgement by the aggregator", event: with(Samples.alert) { $0.data = .alert(AlertReport(status: .acknowledged, kind: .shortNotice, key: "short_notice/ganjiaba/power/x", message: "seen")) }, code: .authForbidden, path: "source", reason: nil),
        Case(name: "acknowledgement naming a key of another kind", event: with(Samples.alert) { $0.source = "/county-government-office/desk"; $0.data = .alert(AlertReport(status: .acknowledged, kind: .shortNotice, key: "outage_overrun/ganjiaba/power/x", message: "seen")) }, code: .dataConflict, path: "data.key", reason: nil),
        Case(name: "restored before started", event: outage { $0.restoredAt = t("2023-07-02T01:00:00Z") }, code: .dataOrder, path: "data.restoredAt", reason: "restored at 2023-07-02T01:00:00Z, before it started at 2023-07-02T01:05:00Z"),
        Case(name: "restored without restoredAt", event: outage { $0.restoredAt = nil }, code: .eventMissing, path: "data.restoredAt", reason: nil),
        Case(name: "unknown building", event: outage { $0.buildings = ["b01", "b99"] }, code: .scenarioBuilding, path: "data.buildings[1]", reason: nil),
        Case(name: "more households than the community", event: outage { $0.households = 5000 }, code: .dataRange, path: "data.households", reason: nil),
        Case(name: "unknown causing work item", event: outage { $0.causedBy = "nowhere-power" }, code: .scenarioWorkItem, path: "data.causedBy", reason: nil),
        Case(name: "requested inspection with a result", event: inspection { $0.status = .requested; $0.performedAt = nil }, code: .dataConflict, path: "data.result", reason: nil),
        Case(name: "performed inspection without a result", event: inspection { $0.result = nil }, code: .eventMissing, path: "data.result", reason: nil),
        Case(name: "passed with an open major defect", event: inspection { $0.result = .passed }, code: .dataConflict, path: "data.defects[0].status", reason: nil),
        Case(name: "duplicate defect ids", event: inspection { $0.defects.append($0.defects[0]) }, code: .dataConflict, path: "data.defects[1].id", reason: nil),
        Case(name: "unknown authority", event: inspection { $0.authority = "weather-bureau" }, code: .scenarioOrganisation, path: "data.authority", reason: nil),
        Case(name: "an authority that does not carry out that kind", event: inspection { $0.kind = .fireSafety }, code: .scenarioOrganisation, path: "data.authority", reason: "water-investment-company does not carry out fire_safety inspections"),
        Case(name: "a utility passing its own work", event: with(inspection { $0.kind = .jointAcceptance; $0.authority = "housing-bureau" }) { $0.source = "/water-investment-company/agent" }, code: .authForbidden, path: "source", reason: "a performed inspection is reported by its authority housing-bureau, not by water-investment-company"),
        Case(name: "unknown community", event: with(Samples.progress) { $0.site = "atlantis" }, code: .scenarioCommunity, path: "site", reason: #""atlantis" is not a community of the scenario"#),
        Case(name: "unknown work item", event: with(Samples.progress) { $0.workItem = "ganjiaba-gas" }, code: .scenarioWorkItem, path: "workitem", reason: nil),
        Case(name: "work item of another community", event: with(Samples.progress) { $0.workItem = "ruijing-biyuan-power" }, code: .scenarioWorkItem, path: "workitem", reason: "ruijing-biyuan-power belongs to ruijing-biyuan, not ganjiaba"),
        Case(name: "unknown organisation", event: with(Samples.progress) { $0.source = "/gas-company/agent" }, code: .scenarioOrganisation, path: "source", reason: nil),
        Case(name: "utility the organisation does not run", event: with(Samples.progress) { $0.source = "/china-telecom/agent"; $0.utility = .water; $0.workItem = "ganjiaba-water" }, code: .scenarioUtility, path: "utility", reason: "china-telecom does not run water"),
        Case(name: "progress without a work item", event: with(Samples.progress) { $0.workItem = nil }, code: .eventMissing, path: "workitem", reason: nil),
        Case(name: "outage without a site", event: with(Samples.outage) { $0.site = nil }, code: .eventMissing, path: "site", reason: nil),
        Case(name: "alert from an agent", event: with(Samples.alert) { $0.source = "/china-mobile/agent" }, code: .authForbidden, path: "source", reason: nil),
        Case(name: "heartbeat interval out of range", event: with(Samples.presence) { $0.data = .presence(PresenceReport(status: .birth, agent: "a", heartbeatIntervalMs: 10)) }, code: .dataRange, path: "data.heartbeatIntervalMs", reason: nil),
    ]

    @Test(arguments: cases)
    func rejects(_ example: Case) {
        do {
            try validator.validate(example.event)
            Issue.record("accepted: \(example.name)")
        } catch {
            #expect(error.code == example.code)
            #expect(error.path == example.path)
            if let reason = example.reason { #expect(error.reason == reason) }
        }
    }

    @Test func aUtilityMayRequestAnInspectionFromItsAuthority() throws {
        let request = Self.with(Self.inspection { $0.status = .requested; $0.result = nil; $0.performedAt = nil; $0.kind = .jointAcceptance; $0.authority = "housing-bureau" }) {
            $0.source = "/water-investment-company/agent"
        }
        try validator.validate(request)
    }

    @Test func acrossEventProblemsAreNotRejected() throws {
        // Accepted with no inspection on record, restored with no start seen: the validator sees one event only.
        try validator.validate(Self.progress { $0.status = .accepted; $0.percent = 100 })
        try validator.validate(Self.outage { $0.startedAt = nil })
    }

    /// A report that follows the notice may leave the window out when its subject names the outage; a coordinator
    /// acknowledges a ledger entry.
    @Test func followUpReportsAndAcknowledgementsAreAccepted() throws {
        try validator.validate(Self.with(Self.outage { $0.windowStart = nil; $0.windowEnd = nil }) { $0.subject = "jx-cutover-1" })
        try validator.validate(Self.with(Samples.alert) {
            $0.source = "/county-government-office/desk"
            $0.data = .alert(AlertReport(status: .acknowledged, kind: .shortNotice, key: "short_notice/ganjiaba/power/x", message: "seen"))
        })
    }

    /// Events that leave out `site` or `utility` get them from their work item (an outage its utility from its
    /// service), so that their topic names the community and utility the filters select by.
    @Test func completionFillsSiteAndUtilityFromTheWorkItem() throws {
        let bare = Self.with(Samples.progress) { $0.site = nil; $0.utility = nil }
        #expect(bare.topic == Array("progress/-/-/".utf8))
        let completed = validator.completed(bare)
        #expect(completed.site == "ganjiaba" && completed.utility == .power)
        #expect(completed.topic == Array("progress/power/ganjiaba/".utf8))
        let stored = try EventCodec.decodeAndValidate(EventCodec.encode(bare), with: validator)
        #expect(stored.topic == Array("progress/power/ganjiaba/".utf8))
        let outage = validator.completed(Self.with(Samples.outage) { $0.utility = nil })
        #expect(outage.topic == Array("outage/power/jinxiu-xincheng/".utf8))
        let given = Self.with(Samples.progress) { $0.site = "ganjiaba" }
        #expect(validator.completed(given) == given, "attributes the event gives are kept")
    }

    @Test func decodeAndValidateReportsThePath() {
        let json = Samples.progressJSON.utf8.map { $0 }
        let tooMuch = String(decoding: json, as: UTF8.self).replacing(#""percent":45"#, with: #""percent":140"#)
        do {
            _ = try EventCodec.decodeAndValidate(bytes(tooMuch), with: validator)
            Issue.record("accepted percent 140")
        } catch {
            #expect(error.message == "data.percent: 140 is above 100")
            #expect(error.code.rawValue == "data.range")
        }
    }
}
