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
        subcommands: [DemoCommand.self, BrokerCommand.self, AggregatorCommand.self, AgentCommand.self, PublishCommand.self, WatchCommand.self, StateCommand.self, ReplayCommand.self, IncidentCommand.self, JournalCommand.self, KeygenCommand.self, Smoke.self, Bench.self]
    )
}

/// A failure at run time, not a mistake in the command line: printed as `conduit <command>: <message>`, without the
/// usage text, and ending the process with a status that says what kind of failure it was (sysexits.h).
enum RuntimeFailure {
    /// The journal (or another input) cannot be read: 66.
    static let noInput: Int32 = 66
    /// A service (broker, aggregator) did not answer or refused: 69.
    static let unavailable: Int32 = 69
    /// Nothing matches what was asked for: 1.
    static let notFound: Int32 = 1

    /// Prints the message and returns the exit to throw.
    static func exit(_ command: String, _ message: String, status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("conduit \(command): \(message)\n".utf8))
        return ExitCode(status)
    }
}
