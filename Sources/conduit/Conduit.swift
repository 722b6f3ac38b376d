import ArgumentParser
import Foundation

@main
struct Conduit: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "conduit",
        abstract: "An event hub on ZeroMQ for utility relocation work: progress, inspections and outages.",
        discussion: """
            Utilities' agents publish events to a broker, which stores them durably and fans them out; \
            coordinators watch the aggregate state; reviewers replay any window of the journal.
            """,
        version: Conduit.version,
        subcommands: [DemoCommand.self, BrokerCommand.self, AggregatorCommand.self, AgentCommand.self, PublishCommand.self, WatchCommand.self, StateCommand.self, LedgerCommand.self, ReplayCommand.self, IncidentCommand.self, JournalCommand.self, PlanCommand.self, KeygenCommand.self, DashboardCommand.self, BridgeCommand.self, ProvinceCommand.self, ConfigCommand.self, ProfileCommand.self, Smoke.self, Bench.self]
    )

    /// ArgumentParser's entry point, except that a usage error found while a command runs (a `ValidationError` thrown
    /// by `run()`, after parsing) is reported with that command's usage line, not the root command's.
    static func main() async {
        var command: (any ParsableCommand)?
        do {
            command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command!.run()
            }
        } catch let error as ValidationError where command != nil {
            let usage = usageString(for: type(of: command!))
            FileHandle.standardError.write(Data("Error: \(error.message)\nUsage: \(usage)\n  See 'conduit \(commandPath(type(of: command!))) --help' for more information.\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }

    /// The words that name a command under `conduit` (`bridge nats`).
    static func commandPath(_ type: any ParsableCommand.Type) -> String {
        func path(_ parent: any ParsableCommand.Type, _ trail: [String]) -> [String]? {
            for child in parent.configuration.subcommands {
                let name = child.configuration.commandName ?? String(describing: child).lowercased()
                if child == type { return trail + [name] }
                if let found = path(child, trail + [name]) { return found }
            }
            return nil
        }
        return path(Conduit.self, [])?.joined(separator: " ") ?? ""
    }
}
