import ConduitAggregator
import ConduitCore
import ConduitJournal
import ConduitState
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// Another county's plan, end to end: the broker runs it, `publish` builds its event from the hub's work items, and
/// `state` folds the journal under it; the plan commands check and show it.
@Suite(.timeLimit(.minutes(10))) struct PlanCommandTests {
    static let plans = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Deploy/plans").path
    static let county = plans + "/example-county-2025.json"

    @Test func theExamplePlansCheckAndTheSeedOneIsTheBuiltInPlan() throws {
        for file in ["jiangkou-2023.json", "example-county-2025.json"] {
            let checked = try ChildProcess.conduit(["plan", "check", Self.plans + "/" + file])
            #expect(checked.status == 0, "\(checked.errors)")
        }
        let seed = try Scenario.decode(Array(try Data(contentsOf: URL(fileURLWithPath: Self.plans + "/jiangkou-2023.json"))))
        #expect(seed == Scenario.default)
        let broken = TemporaryDirectory()
        let file = broken.appending("plan.json")
        let text = try String(contentsOfFile: Self.county, encoding: .utf8).replacing(#""organisation": "fibre-net""#, with: #""organisation": "nobody""#)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try ChildProcess.conduit(["plan", "check", file])
        #expect(refused.status == 65)
        #expect(refused.errors.contains("workItems[2].organisation"))
    }

    @Test func anotherCountysPlanRunsThroughTheHub() throws {
        let plan = try Scenario.decode(Array(try Data(contentsOf: URL(fileURLWithPath: Self.county))))
        let broker = try TestBroker { $0.scenario = plan }
        let outbox = TemporaryDirectory()
        let published = try ChildProcess.conduit([
            "publish", "progress", "--org", "grid-company", "--work-item", "riverside-power", "--status", "in_progress",
            "--percent", "30", "--id", "r-1", "--time", "2025-04-01T09:00:00+08:00", "--ingest", broker.endpoints.ingest,
            "--outbox", outbox.path,
        ])
        #expect(published.status == 0, "\(published.errors)")
        #expect(published.output.contains("acknowledged /grid-company/cli r-1: sequence 2"))
        let shown = try ChildProcess.conduit(["plan", "show", "--ingest", broker.endpoints.ingest])
        #expect(shown.output.contains("example-county-2025-renewal"))
        #expect(shown.output.contains("stated at sequence 1"))
        broker.stop()

        let events = try JournalContents.events(in: broker.directory.appending("journal"))
        #expect(events.map(\.kind) == [.plan, .progress])
        #expect(events.last?.site == "riverside" && events.last?.utility == .power)
        // Read back on its own, the journal folds under the plan it states, not the built-in one.
        let state = try ChildProcess.conduit(["state", "--dir", broker.directory.appending("journal"), "--json"])
        #expect(state.status == 0, "\(state.errors)")
        #expect(state.output.contains(#""riverside-power""#))
        #expect(!state.output.contains(#""ganjiaba-power""#))
    }
}

extension PlanCommandTests {
    /// Every organisation of the other county simulates its year through the hub; replay and incident read the
    /// journal under its plan, in its time zone, with its names.
    @Test func anotherCountysYearIsSimulatedReplayedAndReported() throws {
        let plan = try Scenario.decode(Array(try Data(contentsOf: URL(fileURLWithPath: Self.county))))
        let broker = try TestBroker { $0.scenario = plan }
        let outboxes = TemporaryDirectory()
        var acknowledged = 0
        for organisation in plan.organisations.map(\.id) {
            let agent = try ChildProcess.conduit([
                "agent", "--org", organisation, "--simulate", "--speed", "1000000000", "--seed", "7", "--quiet",
                "--ingest", broker.endpoints.ingest, "--outbox", outboxes.appending(organisation),
            ])
            #expect(agent.status == 0, "\(organisation): \(agent.errors)")
            if let line = agent.errors.split(separator: "\n").last(where: { $0.contains("acknowledged ") }),
                let count = line.split(separator: " ").drop(while: { $0 != "acknowledged" }).dropFirst().first.flatMap({ Int($0) })
            {
                acknowledged += count
            }
        }
        // The aggregator folds the hub's journal under the plan it states.
        let configuration = AggregatorProbe.configuration(for: broker, publishAlerts: false)
        let aggregator = Aggregator(configuration: configuration)
        let snapshotEndpoint = try aggregator.start()
        let context = try Context()
        let query = try TestClient(context: context, endpoint: broker.endpoints.query)
        _ = try AggregatorProbe.settle(aggregator, broker, query)
        let (_, json) = try AggregatorProbe.snapshot(snapshotEndpoint, context: context)
        let live = try AggregateState.restore(json: json, scenario: .default)
        #expect(live.scenario == plan)
        #expect(live.workItem("riverside-power")?.status != nil)
        aggregator.stop()
        broker.stop()
        #expect(acknowledged > 20, "the simulated year of three work items")
        let ledger = try ChildProcess.conduit(["ledger", "--dir", broker.directory.appending("journal"), "--status", "all"])
        #expect(ledger.status == 0, "\(ledger.errors)")
        #expect(ledger.output.contains("riverside"))
        #expect(!ledger.output.contains("ganjiaba"))
        let journal = broker.directory.appending("journal")
        let replay = try ChildProcess.conduit(["replay", "--dir", journal, "--kind", "progress", "--community", "riverside"])
        #expect(replay.status == 0, "\(replay.errors)")
        #expect(replay.output.contains("滨江小区 Riverside"))
        #expect(replay.output.contains("Example Grid Company"))
        // In Chinese: the plan's Chinese names and Chinese wording.
        let chinese = try ChildProcess.conduit(["replay", "--dir", journal, "--kind", "outage", "--lang", "zh"])
        #expect(chinese.status == 0, "\(chinese.errors)")
        #expect(chinese.output.contains("示例供电公司 @ 滨江小区: 计划供电停供已通知"))
        #expect(!chinese.output.contains("Riverside"))
        // CSV for spreadsheets: with --bom it begins with the UTF-8 byte order mark, and nothing else does.
        let csv = try ChildProcess.conduit(["replay", "--dir", journal, "--format", "csv", "--bom", "--lang", "zh"])
        #expect(Array(csv.output.utf8.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(csv.output.dropFirst().hasPrefix("sequence,recorded,time,kind"))
        let plain = try ChildProcess.conduit(["replay", "--dir", journal, "--format", "csv"])
        #expect(plain.output.hasPrefix("sequence,"))
        let table = try ChildProcess.conduit(["state", "--dir", journal, "--lang", "zh"])
        #expect(table.status == 0, "\(table.errors)")
        #expect(table.output.contains("滨江小区") && table.output.contains("供电"))
        #expect(table.output.contains("+08:00"), "times in the plan's time zone, not UTC")
        let incident = try ChildProcess.conduit(["incident", "riverside-power", "--dir", journal])
        #expect(incident.status == 0, "\(incident.errors)")
        #expect(incident.output.contains("times in Asia/Shanghai"))
        #expect(incident.output.contains("Riverside: power relocation"))
    }
}

/// A fact's time on the command line must say its time of day: a date alone is refused, not taken as some hour.
@Suite(.timeLimit(.minutes(5))) struct CommandLineTimeTests {
    @Test func aFactsTimeWithoutItsTimeOfDayIsRefused() throws {
        let outbox = TemporaryDirectory()
        let refused = try ChildProcess.conduit([
            "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
            "--time", "2023-06-06", "--ingest", "tcp://127.0.0.1:1", "--outbox", outbox.path, "--timeout", "0.2",
        ])
        #expect(refused.status == 64)
        #expect(refused.errors.contains("--time \"2023-06-06\" is a date; give the time too"))
    }
}

extension PlanCommandTests {
    /// A coordinator changes the plan of a running hub: `plan event | publish file -`; the hub then validates
    /// against the new plan and says so.
    @Test func aCoordinatorChangesTheHubsPlanFromTheCommandLine() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let event = try ChildProcess.conduit(["plan", "event", Self.county, "--org", "housing-bureau"])
        #expect(event.status == 0, "\(event.errors)")
        let file = outbox.appending("change.json")
        try event.output.write(toFile: file, atomically: true, encoding: .utf8)
        let published = try ChildProcess.conduit([
            "publish", "file", file, "--ingest", broker.endpoints.ingest, "--outbox", outbox.appending("outbox"),
        ])
        #expect(published.status == 0, "\(published.errors)")
        let shown = try ChildProcess.conduit(["plan", "show", "--ingest", broker.endpoints.ingest])
        #expect(shown.output.contains("example-county-2025-renewal"))
        // Only a coordinator of the plan in force may change it.
        let refused = try ChildProcess.conduit(["plan", "event", Self.plans + "/jiangkou-2023.json", "--org", "grid-company"])
        try refused.output.write(toFile: file, atomically: true, encoding: .utf8)
        let forbidden = try ChildProcess.conduit([
            "publish", "file", file, "--ingest", broker.endpoints.ingest, "--outbox", outbox.appending("outbox2"),
        ])
        #expect(forbidden.status == 65)
        #expect(forbidden.errors.contains("auth.forbidden") || forbidden.output.contains("auth.forbidden"))
        broker.stop()
    }
}

extension PlanCommandTests {
    /// `plan check` lists every problem with its path: each malformed element, and once the structure is right,
    /// every inconsistency.
    @Test func planCheckListsEveryProblem() throws {
        let directory = TemporaryDirectory()
        let text = try String(contentsOfFile: Self.county, encoding: .utf8)
        let malformed = directory.appending("malformed.json")
        try text.replacing(#""households": 120,"#, with: #""households": "many","#)
            .replacing(#""plannedStart": "2025-04-01""#, with: #""plannedStart": "2025-13-01""#)
            .replacing(#""format": "conduit-plan/1","#, with: #""format": "conduit-plan/1", "colour": "red","#)
            .write(toFile: malformed, atomically: true, encoding: .utf8)
        let first = try ChildProcess.conduit(["plan", "check", malformed])
        #expect(first.status == 65)
        // From standard input, or a pipe named by its path, the same.
        let piped = try ChildProcess.conduit(["plan", "check", "-"], input: try Data(contentsOf: URL(fileURLWithPath: malformed)))
        #expect(piped.status == 65 && piped.errors.contains("4 problems"), "\(piped.errors)")
        let good = try ChildProcess.conduit(["plan", "check", "/dev/stdin"], input: Data(text.utf8))
        #expect(good.status == 0 && good.output.hasPrefix("example-county-2025-renewal"), "\(good.errors)")
        // 120 households stand in the riverside community and its power work: both are replaced.
        #expect(first.errors.contains("4 problems"))
        for path in ["colour:", "communities[0].households:", "workItems[0].households:", "workItems[1].plannedStart:"] {
            #expect(first.errors.contains("  " + path), "\(path)")
        }
        let inconsistent = directory.appending("inconsistent.json")
        try text.replacing(#""organisation": "fibre-net""#, with: #""organisation": "nobody""#)
            .replacing(#""plannedFinish": "2025-06-30", "households": 120"#, with: #""plannedFinish": "2025-06-30", "households": 500"#)
            .write(toFile: inconsistent, atomically: true, encoding: .utf8)
        let second = try ChildProcess.conduit(["plan", "check", inconsistent])
        #expect(second.status == 65)
        #expect(second.errors.contains("2 problems"))
        #expect(second.errors.contains("  workItems[0].households: 500 is outside 0 to 120"))
        #expect(second.errors.contains("  workItems[2].organisation: \"nobody\" is not an organisation of the plan"))
    }
}
