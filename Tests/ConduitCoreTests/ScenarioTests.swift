import Testing
@testable import ConduitCore

@Suite struct ScenarioTests {
    let scenario = Scenario.default

    @Test func defaultScenarioHasTheSourceDocumentsTotals() {
        #expect(scenario.communities.count == 3)
        #expect(scenario.communities.map(\.name.zh) == ["甘家坝", "瑞景碧苑", "锦绣新城"])
        #expect(scenario.communities.map(\.name.en) == ["Ganjiaba", "Ruijing Biyuan", "Jinxiu Xincheng"])
        #expect(scenario.totalHouseholds == 972)
        #expect(scenario.deadline == CalendarDate(year: 2023, month: 12, day: 31))
        for community in scenario.communities {
            #expect(community.buildings.reduce(0) { $0 + $1.households } == community.households)
        }
    }

    @Test func defaultScenarioNamesTheOrganisationsAndTheirDuties() {
        let names = Set(scenario.organisations.map(\.name.zh))
        for expected in [
            "县住房城乡建设局", "县发改局", "县财政局", "县自然资源局", "县综合行政执法局", "县市场监督管理局", "县公安局",
            "县信访局", "县水投公司", "县委宣传部", "县消防救援大队", "县供电局", "县广电网络公司", "中国电信江口分公司",
            "中国移动江口分公司", "中国联通江口分公司", "双江街道办事处", "县审计局", "市生态环境局江口分局",
        ] {
            #expect(names.contains(expected), "missing \(expected)")
        }
        #expect(scenario.organisations.allSatisfy { !$0.duty.zh.isEmpty && !$0.duty.en.isEmpty })
        #expect(Set(scenario.organisations(running: .telecom).map(\.id)) == ["china-telecom", "china-mobile", "china-unicom"])
        #expect(scenario.organisations(running: .power).map(\.id) == ["power-supply-bureau"])
        #expect(scenario.organisations(running: .water).map(\.id) == ["water-investment-company"])
        #expect(scenario.organisations(running: .broadcast).map(\.id) == ["broadcast-network-company"])
        #expect(scenario.organisation("market-supervision-bureau")?.inspects == [.elevatorSupervisoryInspection])
        #expect(scenario.organisation("fire-rescue-brigade")?.inspects == [.fireSafety])
        // Every duty cites the document's item it comes from.
        #expect(scenario.organisations.allSatisfy { $0.duty.zh.hasPrefix("【文件") && $0.duty.en.hasPrefix("[document §") })
    }

    /// The market supervision bureau accepts the added elevators, work of the housing bureau's contractors and of no
    /// utility; the sub-district office surveys households; the ledger's escalations go to it.
    @Test func defaultScenarioModelsElevatorsAndTheSubDistrict() throws {
        let elevators = scenario.workItems.filter { $0.acceptance == .elevatorSupervisoryInspection }
        #expect(elevators.map(\.id) == ["ganjiaba-elevators", "ruijing-biyuan-elevator"])
        #expect(elevators.allSatisfy { $0.organisation == "housing-bureau" && $0.utility == nil })
        #expect(!scenario.workItems.contains { $0.utility == .power && $0.acceptance == .elevatorSupervisoryInspection })
        let surveys = scenario.workItems.filter { $0.organisation == "shuangjiang-subdistrict" }
        #expect(surveys.count == 3 && surveys.allSatisfy { $0.utility == nil && $0.acceptance == nil })
        #expect(Set(scenario.ledger.escalations.map(\.organisation)) == ["shuangjiang-subdistrict"])
        #expect(scenario.ledger.rectificationDays(for: .behindSchedule) == 14)
        // The notice rules cite their articles: power article 68 (not 67), water article 22.
        let power = try #require(scenario.noticeRule(for: .power))
        #expect(power.leadHours == 168 && power.source.zh.contains("第六十八条") && power.source.en.contains("article 68"))
        let water = try #require(scenario.noticeRule(for: .water))
        #expect(water.leadHours == 24 && water.source.zh.contains("第二十二条"))
        // The plan round-trips with its ledger rules.
        #expect(try Scenario.decode(scenario.canonicalJSON) == scenario)
    }

    @Test func everyWorkItemFinishesByTheDeadline() {
        #expect(scenario.workItems.count == 23)
        #expect(scenario.workItems.allSatisfy { $0.plannedFinish <= scenario.deadline })
    }

    static let minimal = #"{"format":"conduit-scenario/1","id":"t","name":{"zh":"测","en":"T"},"deadline":"2024-01-31","communities":[{"id":"c","name":{"zh":"小区","en":"C"},"households":3,"buildings":[{"id":"b1","households":3}]}],"organisations":[{"id":"o","name":{"zh":"公司","en":"O"},"roles":["utility"],"utilities":["water"],"duty":{"zh":"水","en":"water"}}],"workItems":[{"id":"w","community":"c","organisation":"o","utility":"water","title":{"zh":"水","en":"W"},"plannedStart":"2023-01-01","plannedFinish":"2023-02-01","households":3,"acceptance":"water_acceptance"}]}"#

    @Test func decodesAMinimalScenario() throws {
        let decoded = try Scenario.decode(bytes(Self.minimal))
        #expect(decoded.totalHouseholds == 3)
        #expect(decoded.workItem("w")?.utility == .water)
    }

    static let broken: [(String, String, ConduitError.Code, String)] = [
        (#""format":"conduit-scenario/1""#, #""format":"conduit-scenario/2""#, .eventFormat, "format"),
        (#""deadline":"2024-01-31""#, #""deadline":"2024-02-30""#, .eventFormat, "deadline"),
        (#""households":3,"buildings""#, #""households":4,"buildings""#, .scenarioInvalid, "communities[0].households"),
        (#""utilities":["water"]"#, #""utilities":["gas"]"#, .dataEnum, "organisations[0].utilities[0]"),
        (#""utility":"water","title""#, #""utility":"power","title""#, .scenarioUtility, "workItems[0].utility"),
        (#""community":"c""#, #""community":"d""#, .scenarioCommunity, "workItems[0].community"),
        (#""id":"t""#, #""id":"t","colour":1"#, .eventUnknownField, "colour"),
        (#""plannedFinish":"2023-02-01""#, #""plannedFinish":"2022-02-01""#, .dataWindow, "workItems[0].plannedFinish"),
        (#""id":"b1""#, #""id":"b1","id":"b2""#, .jsonDuplicateKey, "communities[0].buildings[0].id"),
        // A text is exactly {"zh", "en"}, each a non-empty string.
        (#""name":{"zh":"测","en":"T"}"#, #""name":"T""#, .eventType, "name"),
        (#""name":{"zh":"测","en":"T"}"#, #""name":{"zh":"测"}"#, .eventMissing, "name.en"),
        (#""name":{"zh":"测","en":"T"}"#, #""name":{"zh":"测","en":"T","fr":"t"}"#, .eventUnknownField, "name.fr"),
        (#""name":{"zh":"测","en":"T"}"#, #""name":{"zh":"","en":"T"}"#, .eventType, "name.zh"),
        (#""title":{"zh":"水","en":"W"}"#, #""title":{"zh":"水"}"#, .eventMissing, "workItems[0].title.en"),
        (#""duty":{"zh":"水","en":"water"}"#, #""duty":"water""#, .eventType, "organisations[0].duty"),
    ]

    @Test(arguments: 0..<broken.count)
    func rejectsBrokenScenarios(_ index: Int) {
        let (original, replacement, code, path) = Self.broken[index]
        let text = Self.minimal.replacing(original, with: replacement)
        expectError(code, at: path) { _ = try Scenario.decode(bytes(text)) }
    }

    @Test func rejectsNonJSON() {
        expectError(.jsonSyntax, at: "format") { _ = try Scenario.decode(bytes("{\"format\":")) }
    }

    static let minimalPlan = minimal.replacing(#""format":"conduit-scenario/1""#, with: #""format":"conduit-plan/1""#)
        .replacing(#""deadline":"2024-01-31""#, with: #""deadline":"2024-01-31","timeZone":"Asia/Shanghai","utcOffset":"+08:00","noticeRules":[{"service":"water","leadHours":24,"source":{"zh":"条例","en":"rule"}}]"#)

    @Test func anEarlierScenarioDocumentReadsWithTheSeedsTimeZoneAndNoRules() throws {
        let decoded = try Scenario.decode(bytes(Self.minimal))
        #expect(decoded.timeZone == .chinaStandardTime)
        #expect(decoded.noticeRules.isEmpty)
    }

    @Test func thePlanDocumentReadsBackAsTheSamePlan() throws {
        for plan in [Scenario.default, try Scenario.decode(bytes(Self.minimalPlan))] {
            #expect(try Scenario.decode(plan.canonicalJSON) == plan)
            #expect(try Scenario.decode(plan.document.indented) == plan)
        }
        #expect(Scenario.default.noticeRule(for: .power)?.leadHours == 168)
        #expect(Scenario.default.noticeRules.filter(\.assumed).map(\.service) == [.telecom, .broadcast])
    }

    static let brokenPlans: [(String, String, ConduitError.Code, String)] = [
        (#""utcOffset":"+08:00""#, #""utcOffset":"+8""#, .eventFormat, "utcOffset"),
        (#""utcOffset":"+08:00""#, #""utcOffset":"+14:30""#, .eventFormat, "utcOffset"),
        (#""timeZone":"Asia/Shanghai","#, "", .eventMissing, "timeZone"),
        (#""leadHours":24"#, #""leadHours":9000"#, .dataRange, "noticeRules[0].leadHours"),
        (#""service":"water""#, #""service":"gas""#, .dataEnum, "noticeRules[0].service"),
        (#"{"service":"water","leadHours":24,"source":{"zh":"条例","en":"rule"}}"#,
         #"{"service":"water","leadHours":24,"source":{"zh":"条例","en":"rule"}},{"service":"water","leadHours":12,"source":{"zh":"条例","en":"rule"}}"#,
         .scenarioInvalid, "noticeRules[1].service"),
    ]

    @Test(arguments: 0..<brokenPlans.count)
    func rejectsBrokenPlanFields(_ index: Int) {
        let (original, replacement, code, path) = Self.brokenPlans[index]
        let text = Self.minimalPlan.replacing(original, with: replacement)
        expectError(code, at: path) { _ = try Scenario.decode(bytes(text)) }
    }

    @Test func offsetsAreWrittenAndReadAlike() {
        for (text, seconds) in [("+08:00", 28_800), ("-03:30", -12_600), ("+00:00", 0), ("+14:00", 50_400)] {
            #expect(PlanTimeZone.offset(from: text) == Int64(seconds))
            #expect(PlanTimeZone(identifier: "X", utcOffsetSeconds: Int64(seconds)).offsetText == text)
        }
    }
}
