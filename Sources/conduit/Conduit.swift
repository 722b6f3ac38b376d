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
        subcommands: [DemoCommand.self, BrokerCommand.self, AggregatorCommand.self, AgentCommand.self, PublishCommand.self, WatchCommand.self, StateCommand.self, LedgerCommand.self, ReplayCommand.self, IncidentCommand.self, JournalCommand.self, PlanCommand.self, KeygenCommand.self, DashboardCommand.self, BridgeCommand.self, ConfigCommand.self, ProfileCommand.self, Smoke.self, Bench.self]
    )
}
