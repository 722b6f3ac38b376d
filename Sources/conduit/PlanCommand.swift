import ArgumentParser
import ConduitAgent
import ConduitBroker
import ConduitCore
import Foundation

/// `conduit plan`: write, check and show plan files, and ask a hub which plan it runs.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Write, check and show plans (conduit-plan/1): communities, organisations, work items, notice rules.",
        discussion: """
            A plan is the data every command works from. The broker states the plan it runs in its journal and serves \
            it; agents, publish and every reader of a journal use that plan. Start from `conduit plan init`, edit, \
            `conduit plan check`, then `conduit broker --plan <file>`. To change the plan of a running programme, a \
            coordinator publishes it as an event: `conduit plan event new.json --org housing-bureau | conduit publish file -`.
            """,
        subcommands: [Init.self, Check.self, Show.self, Event.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a plan to start from: the built-in seed plan (Jiangkou County 2023), whose note says which parts are the source document's.")

        @Argument(help: "The file to write (refuses to overwrite); - for standard output.")
        var file: String

        func run() throws {
            let text = Scenario.default.document.indented
            if file == "-" {
                FileHandle.standardOutput.write(Data(text))
                return
            }
            guard !FileManager.default.fileExists(atPath: file) else {
                throw ValidationError("\(file) exists; conduit plan init does not overwrite a plan")
            }
            guard FileManager.default.createFile(atPath: file, contents: Data(text)) else {
                throw ValidationError("cannot write \(file)")
            }
            print("wrote \(file): edit it, then conduit plan check \(file)")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a plan file: every error with its path, or a summary of the plan. Exit status 65 when invalid.")

        @Argument(help: "The plan file (- for standard input).")
        var file: String

        func run() throws {
            // A pipe, a FIFO or standard input is read to its end too, up to just past the 4 MiB a plan may take.
            let handle = file == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: file)
            guard let handle, let data = try? handle.read(upToCount: (4 << 20) + 1) ?? Data() else {
                FileHandle.standardError.write(Data("conduit plan check: cannot read \(file)\n".utf8))
                throw ExitCode(66)
            }
            let problems = Scenario.problems(in: Array(data))
            guard problems.isEmpty else {
                let count = problems.count
                var lines = ["conduit plan check: \(file) is not a valid plan: \(count) problem\(count == 1 ? "" : "s")"]
                lines += problems.map { "  \($0)".escapingControlCharacters() }
                FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
                throw ExitCode(65)
            }
            let plan = try Scenario.decode(Array(data))
            print(PlanCommand.summary(plan))
            for warning in PlanCommand.warnings(plan) { print("warning: \(warning)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a plan: of a file, of a hub (--ingest), or the built-in seed plan; as a summary or as JSON.")

        @Argument(help: "A plan file; without it, the hub's plan when --ingest is given, else the built-in seed plan.")
        var file: String?

        @Option(help: "Ask the broker at this ingest endpoint which plan it runs.")
        var ingest: String?

        @Flag(help: "Print the plan document (indented JSON) instead of a summary.")
        var json = false

        func run() throws {
            var plan = Scenario.default
            var origin = "the built-in seed plan"
            if let file {
                plan = try loadScenario(file)
                origin = file
            } else if let ingest {
                let told = try HubPlan.fetch(endpoint: ingest, curve: nil, timeout: .seconds(5))
                plan = try told.plan()
                origin = told.sequence == 0
                    ? "the hub at \(ingest) (the built-in seed plan: its journal states none)"
                    : "the hub at \(ingest) (stated at sequence \(told.sequence))"
            }
            if json {
                FileHandle.standardOutput.write(Data(plan.document.indented))
            } else {
                print("plan of \(origin)")
                print(PlanCommand.summary(plan))
            }
        }
    }

    struct Event: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a plan file as the conduit.plan event that changes a running programme's plan, for conduit publish file -.",
            discussion: """
                The broker takes it from a coordinator of the plan in force, validates it, journals it, and validates \
                every later event against it; folds apply it from its sequence on. Example:
                  conduit plan event next.json --org housing-bureau | conduit publish file -
                """)

        @Argument(help: "The plan file.")
        var file: String

        @Option(help: "The coordinator publishing the change (an organisation with the coordinator role in the plan in force).")
        var org: String

        @Option(help: "The agent name in the event's source, /<org>/<agent>.")
        var agent: String = "cli"

        @Option(help: "The event's id (default: the plan's id, a digest of its content and the time: a plan put back in force later is a new change).")
        var id: String?

        func run() throws {
            let plan = try loadScenario(file)
            guard Identifier.isValid(org), Identifier.isValid(agent) else {
                throw ValidationError("--org and --agent are identifiers (lower-case letters, digits, dashes)")
            }
            var digest: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the canonical plan
            for byte in plan.canonicalJSON { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
            let now = Broker.wallClock()
            let event = ConduitCore.Event(
                id: id ?? "plan-\(plan.id)-\(String(digest, radix: 16))-\(now)", source: "/\(org)/\(agent)",
                time: Timestamp(microsecondsSinceEpoch: now), data: .plan(plan))
            let bytes = EventCodec.encode(event)
            guard bytes.count <= EventCodec.maximumEventBytes else {
                throw ValidationError("the plan's event would be \(bytes.count) bytes; an event is at most \(EventCodec.maximumEventBytes)")
            }
            FileHandle.standardOutput.write(Data(bytes + [UInt8(ascii: "\n")]))
        }
    }

    static func summary(_ plan: Scenario) -> String {
        var lines = [
            "\(plan.id): \(plan.name.zh) / \(plan.name.en)",
            "deadline \(plan.deadline), time zone \(plan.timeZone.identifier) (days counted at UTC\(plan.timeZone.offsetText))",
            "\(plan.communities.count) communities, \(plan.totalHouseholds) households; \(plan.organisations.count) organisations; \(plan.workItems.count) work items",
        ]
        for community in plan.communities {
            let items = plan.workItems.filter { $0.community == community.id }
            lines.append("  \(community.id) \(community.name.zh) \(community.name.en): \(community.households) households, \(community.buildings.count) buildings, \(items.count) work items")
        }
        for rule in plan.noticeRules {
            lines.append("  notice \(rule.service.rawValue): \(rule.leadHours) h\(rule.assumed ? " (assumed)" : "") — \(rule.source.en)")
        }
        return lines.joined(separator: "\n").escapingControlCharacters(keepingLineBreaks: true)
    }

    /// What is valid but probably not meant: a time zone this machine does not know, or whose offset during the
    /// programme differs from the plan's fixed one.
    static func warnings(_ plan: Scenario) -> [String] {
        guard let zone = TimeZone(identifier: plan.timeZone.identifier) else {
            return ["time zone \(plan.timeZone.identifier) is unknown to this machine; times will be shown at UTC\(plan.timeZone.offsetText)"]
        }
        let deadline = Date(timeIntervalSince1970: Double(plan.deadline.startOfDayUTC.microsecondsSinceEpoch) / 1e6)
        let start = plan.workItems.map(\.plannedStart).min().map { Date(timeIntervalSince1970: Double($0.startOfDayUTC.microsecondsSinceEpoch) / 1e6) } ?? deadline
        var warnings: [String] = []
        for date in stride(from: start.timeIntervalSince1970, through: deadline.timeIntervalSince1970, by: 86_400 * 7) {
            let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: date))
            if Int64(offset) != plan.timeZone.utcOffsetSeconds {
                warnings.append("\(plan.timeZone.identifier) is at UTC\(PlanTimeZone(identifier: "", utcOffsetSeconds: Int64(offset)).offsetText) on some days of the programme; the plan's days are counted at UTC\(plan.timeZone.offsetText)")
                break
            }
        }
        return warnings
    }
}
