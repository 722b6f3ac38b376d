import ConduitBroker
import Foundation
import Synchronization

/// The `conduit` executable built next to the test bundle, for tests that run (and kill) real processes.
public enum ConduitExecutable {
    public static func url() throws -> URL {
        var candidates: [URL] = [Bundle.main.bundleURL, Bundle.main.executableURL ?? Bundle.main.bundleURL]
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath())
        for start in candidates {
            var directory = start.hasDirectoryPath ? start : start.deletingLastPathComponent()
            for _ in 0..<5 {
                for relative in ["conduit", "debug/conduit"] {
                    let url = directory.appendingPathComponent(relative)
                    if FileManager.default.isExecutableFile(atPath: url.path) { return url }
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw TestClientError("the conduit executable was not found next to the test bundle")
    }
}

/// Collects a child's standard output on a background thread.
public final class OutputCollector: Sendable {
    private let text = Mutex("")
    private let done = Atomic<Bool>(false)

    public init() {}

    public func start(_ handle: FileHandle) {
        Thread.detachNewThread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                let chunk = String(decoding: data, as: UTF8.self)
                self.text.withLock { $0 += chunk }
            }
            self.done.store(true, ordering: .releasing)
        }
    }

    /// Whether the child closed its output.
    public var finished: Bool { done.load(ordering: .acquiring) }

    /// Everything collected so far.
    public var all: String { text.withLock { $0 } }

    /// Complete lines only: the last line may have been cut by a kill.
    public func lines() -> [Substring] {
        let all = self.all
        let complete = all.hasSuffix("\n") ? all[...] : all[..<(all.lastIndex(of: "\n") ?? all.startIndex)]
        return complete.split(separator: "\n")
    }
}

/// `conduit broker` running as a child process on ephemeral loopback ports.
public final class BrokerProcess {
    public let process = Process()
    public let output = OutputCollector()
    public private(set) var ingest = ""
    public private(set) var fanout = ""
    public private(set) var query = ""
    /// The process of the broker itself. Under a wrapper that runs it as a process of its own (`perf stat`, `strace`,
    /// a shell script), the one the wrapper started, found by following the only child down; under one that execs it
    /// (`env`, `valgrind`, `prlimit`), the same as `process`'s. Signals go to it, and its CPU time is the broker's.
    public private(set) var brokerIdentifier: Int32 = 0

    /// Starts `conduit broker` with its journal in `journalDirectory` and waits until it reports its endpoints.
    /// `executable` is the `conduit` to run (by default the one built next to the tests); the broker's standard
    /// error goes to `standardError` (by default nowhere). With `descriptorLimit`, the broker may open at most that
    /// many descriptors (`prlimit --nofile`, which runs the broker in its own process). With `wrapper` (a command and
    /// its arguments, such as `valgrind --tool=callgrind`), the broker runs under it.
    public init(
        journalDirectory: String, extraArguments: [String] = [], executable: URL? = nil,
        standardError: FileHandle = .nullDevice, descriptorLimit: Int? = nil, wrapper: [String] = []
    ) throws {
        let conduit = try executable ?? ConduitExecutable.url()
        let arguments =
            [
                "broker", "--data", journalDirectory, "--ingest", "tcp://127.0.0.1:*", "--fanout", "tcp://127.0.0.1:*",
                "--query", "tcp://127.0.0.1:*", "--log-level", "warning",
            ] + extraArguments
        if let descriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(descriptorLimit):\(descriptorLimit)", conduit.path] + arguments
        } else if let command = wrapper.first {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [command] + wrapper.dropFirst() + [conduit.path] + arguments
        } else {
            process.executableURL = conduit
            process.arguments = arguments
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = standardError
        output.start(pipe.fileHandleForReading)
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let endpoints = BrokerEndpoints(announcement: output.lines().joined(separator: "\n")) {
                (ingest, fanout, query) = (endpoints.ingest, endpoints.fanout, endpoints.query)
                brokerIdentifier = wrapper.isEmpty ? process.processIdentifier : Self.innermost(process.processIdentifier)
                return
            }
            if !process.isRunning { throw TestClientError("conduit broker exited with \(process.terminationStatus)") }
            usleep(5_000)
        }
        process.terminate()
        throw TestClientError("conduit broker did not report its endpoints in time")
    }

    /// Sends `signal` to the broker and waits for the process (a wrapper ends when the broker does); after 60 s both
    /// are killed (SIGKILL), so a test never hangs on a broker that ignores the signal (its exit status then shows it).
    public func stop(signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        let broker = brokerIdentifier > 0 ? brokerIdentifier : process.processIdentifier
        kill(broker, signal)
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill(broker, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// The process at the end of a chain of only children from `identifier` (itself when it has none, or several).
    private static func innermost(_ identifier: Int32) -> Int32 {
        var current = identifier
        for _ in 0..<8 {
            guard let text = try? String(contentsOfFile: "/proc/\(current)/task/\(current)/children", encoding: .utf8) else { break }
            let children = text.split(separator: " ").compactMap { Int32($0) }
            guard children.count == 1 else { break }
            current = children[0]
        }
        return current
    }

    deinit { stop(signal: SIGKILL) }
}

/// What a child process left behind: its exit status and everything it wrote.
public struct ProcessOutcome: Sendable {
    public var status: Int32
    public var output: String
    public var errors: String
}

/// Runs a child process to its end, for tests of commands.
public enum ChildProcess {
    /// Runs `executable` with `arguments` and waits for it; after `timeout` seconds it is killed and this throws,
    /// so a test never hangs on a command that does not finish.
    /// `environment` is added to this process's (a value replaces the inherited one).
    public static func run(
        _ executable: URL, _ arguments: [String], input: Data? = nil, environment: [String: String] = [:], timeout: TimeInterval = 120
    ) throws -> ProcessOutcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let inputPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let outputCollector = OutputCollector()
        let errorCollector = OutputCollector()
        outputCollector.start(output.fileHandleForReading)
        errorCollector.start(errors.fileHandleForReading)
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(input)
            try inputPipe.fileHandleForWriting.close()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestClientError(
                "\(executable.lastPathComponent) \(arguments.joined(separator: " ")) did not finish in \(Int(timeout)) s:\n\(outputCollector.all)\(errorCollector.all)")
        }
        process.waitUntilExit()
        while !outputCollector.finished || !errorCollector.finished { usleep(1000) }
        return ProcessOutcome(status: process.terminationStatus, output: outputCollector.all, errors: errorCollector.all)
    }

    /// Runs the `conduit` executable built next to the tests.
    public static func conduit(
        _ arguments: [String], input: Data? = nil, environment: [String: String] = [:], timeout: TimeInterval = 120
    ) throws -> ProcessOutcome {
        try run(try ConduitExecutable.url(), arguments, input: input, environment: environment, timeout: timeout)
    }
}

/// `conduit` running as a child process, its standard output and error collected as it goes: for tests that talk
/// to a command while it runs (watchers, replays, the demo). It is killed if the test forgets it.
public final class RunningConduit {
    public let process = Process()
    public let output = OutputCollector()
    public let errors = OutputCollector()

    /// Starts `conduit arguments…` with standard input closed; `executable` is the `conduit` to run (by default the
    /// one built next to the tests); `environment` is added to this process's.
    public init(_ arguments: [String], executable: URL? = nil, environment: [String: String] = [:]) throws {
        process.executableURL = try executable ?? ConduitExecutable.url()
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        process.standardInput = FileHandle.nullDevice
        output.start(outputPipe.fileHandleForReading)
        errors.start(errorPipe.fileHandleForReading)
        try process.run()
    }

    public var isRunning: Bool { process.isRunning }

    /// Sends a signal (SIGINT for Ctrl-C).
    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits up to `timeout` seconds for the process to end and its output to be read; its exit status, or `nil`
    /// if it is still running.
    public func finish(timeout: TimeInterval = 120) -> Int32? {
        guard Poll.until(timeout, { !self.process.isRunning }) else { return nil }
        process.waitUntilExit()
        _ = Poll.until(60) { self.output.finished && self.errors.finished }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Waiting for something to become true, without hanging a test.
public enum Poll {
    /// Checks `condition` every 10 ms for up to `seconds`; whether it became true.
    public static func until(_ seconds: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
