import ArgumentParser
import ConduitConsole
import ConduitReplay
import Foundation
import Synchronization
import UnixSignals

/// A failure at run time, not a mistake in the command line: printed as `conduit <command>: <message>`, without the
/// usage text, and ending the process with a status that says what kind of failure it was (sysexits.h).
enum RuntimeFailure {
    /// Something the command set out to do failed, where its documentation says 1: 1.
    static let failure: Int32 = 1
    /// Nothing matches what was asked for: 1.
    static let notFound: Int32 = 1
    /// A mistake in the command line: 64, what ArgumentParser exits with for a `ValidationError`.
    static let usage: Int32 = 64
    /// The journal (or another input) cannot be read: 66.
    static let noInput: Int32 = 66
    /// A service (broker, aggregator) did not answer or refused: 69.
    static let unavailable: Int32 = 69
    /// An output (an agent's outbox) cannot be created or is in use: 73.
    static let cannotCreate: Int32 = 73
    /// Ctrl-C stopped the work before there was anything sound to print: 130.
    static let interrupted: Int32 = 130

    /// Prints the message and returns the exit to throw.
    static func exit(_ command: String, _ message: String, status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("conduit \(command): \(message)\n".utf8))
        return ExitCode(status)
    }

    /// Says on standard error what a fold of the journal left out: a torn tail; stops (exit status 130) if it was
    /// interrupted, since a state folded part of the way would mislead.
    static func check(_ reading: JournalReading) throws {
        if let tail = reading.tail { FileHandle.standardError.write(Data((tail.warning + "\n").utf8)) }
        if reading.interrupted {
            let after = reading.lastSequence.map { " after sequence \($0)" } ?? ""
            FileHandle.standardError.write(Data("interrupted\(after): nothing printed\n".utf8))
            throw ExitCode(interrupted)
        }
    }
}

/// `--checkpoints` and `--no-checkpoints`: where the folds of `conduit state` and `conduit ledger` keep their state
/// checkpoints.
struct FoldCheckpointOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Where folds keep their checkpoints (default: <journal>.state).", valueName: "directory"))
    var checkpoints: String?

    @Flag(help: "Fold from the journal's start, without reading or writing checkpoints.")
    var noCheckpoints = false

    /// The fold over the journal in `directory`, with these checkpoints.
    func replay(journal directory: String) -> StateReplay {
        var replay = StateReplay(directory: directory)
        if !noCheckpoints {
            replay.checkpoints = checkpoints.map { StateCheckpoints(directory: $0) } ?? StateCheckpoints.beside(journal: directory)
        }
        return replay
    }
}

/// `--dir`: the journal directory, as every command that reads a journal takes it.
struct JournalDirectoryOption: ParsableArguments {
    @Option(help: ArgumentHelp("The journal directory: what `conduit broker --data` was given.", valueName: "directory"))
    var dir: String = "conduit-data/journal"
}

extension ReplaySelection {
    /// The window of `--from-seq`/`--to-seq` and `--since`/`--until` (RFC 3339 or a date), each end checked
    /// against the other.
    static func window(fromSeq: UInt64?, toSeq: UInt64?, since: String?, until: String?) throws -> ReplaySelection {
        var window = ReplaySelection()
        if let fromSeq { window.fromSequence = fromSeq }
        if let toSeq { window.toSequence = toSeq }
        guard window.fromSequence <= window.toSequence else {
            throw ValidationError("--to-seq \(window.toSequence) is before --from-seq \(window.fromSequence)")
        }
        window.since = try since.map { try ReplayCommand.time($0, option: "--since") }
        window.until = try until.map { try ReplayCommand.time($0, option: "--until") }
        if let since = window.since, let until = window.until, until < since {
            throw ValidationError("--until \(until.rfc3339) is before --since \(since.rfc3339)")
        }
        return window
    }
}

/// Signals trapped for a command that is not a service group: while trapped, their default action is off and
/// `handler` is called for each, from a task. Backed by swift-service-lifecycle's `UnixSignalsSequence`.
final class TrappedSignals: Sendable {
    private let task: Task<Void, Never>

    init(_ signals: [UnixSignal], handler: @escaping @Sendable (UnixSignal) -> Void) async {
        let sequence = await UnixSignalsSequence(trapping: signals)
        task = Task {
            for await signal in sequence { handler(signal) }
        }
    }

    func cancel() { task.cancel() }
}

/// Runs blocking work (reading a terminal, a pipe, a directory; waiting for a thread) on a thread of its own, so
/// that no thread of Swift's cooperative pool is held by it.
func onOwnThread<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Swift.Result { try work() })
        }
        thread.start()
    }
}
