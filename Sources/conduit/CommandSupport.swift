import ArgumentParser
import ConduitAgent
import ConduitBridge
import ConduitCore
import ConduitConsole
import ConduitOperations
import ConduitReplay
import Foundation
import Synchronization
import UnixSignals
import ZeroMQ

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
    @Option(
        name: .customLong("dir"),
        help: ArgumentHelp("The journal directory: what `conduit broker --data` was given (default conduit-data/journal).", valueName: "directory"))
    var given: String?

    var dir: String { given ?? "conduit-data/journal" }
}

extension ReplaySelection {
    /// The window of `--from-seq`/`--to-seq` and `--since`/`--until` (RFC 3339, or a date: the start of that day in
    /// `zone`), each end checked against the other.
    static func window(
        fromSeq: UInt64?, toSeq: UInt64?, since: String?, until: String?, zone: PlanTimeZone = .chinaStandardTime
    ) throws -> ReplaySelection {
        var window = ReplaySelection()
        if let fromSeq { window.fromSequence = fromSeq }
        if let toSeq { window.toSequence = toSeq }
        guard window.fromSequence <= window.toSequence else {
            throw ValidationError("--to-seq \(window.toSequence) is before --from-seq \(window.fromSequence)")
        }
        window.since = try since.map { try ReplayCommand.time($0, option: "--since", zone: zone) }
        window.until = try until.map { try ReplayCommand.time($0, option: "--until", zone: zone) }
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

/// The plan a reading command works with — the journal's when it reads one, the hub's when it asks a broker — and
/// the time zone it shows times in.
enum CommandPlan {
    /// The latest plan the journal in `directory` states; the built-in seed plan, with a warning, when it cannot be
    /// read (the command then reports what is wrong with the journal itself).
    static func of(journal directory: String) -> Scenario {
        do {
            return try JournalPlan.latest(directory: directory).plan()
        } catch {
            FileHandle.standardError.write(Data("warning: cannot read the plan of the journal in \(directory) (\(error)); using the built-in plan\n".utf8))
            return .default
        }
    }

    /// The latest plan the journal in `directory` states, quietly `nil` when there is no journal there yet or it cannot
    /// be read (the broker that opens it says what is wrong).
    static func stated(journal directory: String) -> Scenario? {
        guard FileManager.default.fileExists(atPath: directory) else { return nil }
        return try? JournalPlan.latest(directory: directory).plan()
    }

    /// The plan of the broker whose query endpoint is `endpoint`; the built-in seed plan, with a warning, when it
    /// does not answer.
    static func of(query endpoint: String, curve: CurveClientKeys? = nil) -> Scenario {
        do {
            return try HubPlan.fetch(
                endpoint: endpoint, query: true, curve: curve.map { ($0.keys, $0.serverKey) }, timeout: .seconds(5)
            ).plan()
        } catch {
            FileHandle.standardError.write(Data("warning: \(error); using the built-in plan\n".utf8))
            return .default
        }
    }

    /// The zone `--time-zone` names, else the plan's (its fixed offset when this machine does not know the name).
    static func timeZone(_ option: String?, plan: Scenario) throws -> TimeZone {
        if let option { return try ReplayCommand.zone(option) }
        return TimeZone(identifier: plan.timeZone.identifier)
            ?? TimeZone(secondsFromGMT: Int(plan.timeZone.utcOffsetSeconds)) ?? .current
    }
}

/// `--lang`: the language of what a command prints for people.
struct LanguageOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "en or zh: Chinese uses the plan's Chinese names and Chinese wording (default: zh when the locale, LC_ALL or LANG, is Chinese).",
        valueName: "language"))
    var lang: String?

    /// The language asked for, else the locale's.
    func language() throws -> DisplayLanguage {
        guard let lang else { return DisplayLanguage.fromLocale(ProcessInfo.processInfo.environment) }
        guard let language = DisplayLanguage(rawValue: lang) else { throw ValidationError("--lang must be en or zh; got \"\(lang)\"") }
        return language
    }
}

/// `--profile`, `--key`, `--server-key`, `--snapshot-server-key`: how a client reaches a hub — a connection profile
/// (see `conduit profile`), its CURVE keys — for a broker (and an aggregator) that requires them. Endpoints and keys
/// come from, in increasing priority: the defaults, the profile, the `CONDUIT_*` environment variables (CONDUIT_INGEST,
/// CONDUIT_FANOUT, CONDUIT_QUERY, CONDUIT_SNAPSHOT, CONDUIT_KEY, CONDUIT_SERVER_KEY, CONDUIT_SNAPSHOT_SERVER_KEY), the
/// flags.
struct ClientKeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A connection profile: the hub's endpoints and keys, saved with conduit profile save (default: CONDUIT_PROFILE, else the one conduit profile use selected).",
        valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp(
        "This client's secret key file (conduit keygen --owner <organisation>), when the broker requires CURVE.",
        valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("The broker's public key file (keys/broker.pub), with --key.", valueName: "file"))
    var serverKey: String?

    @Option(help: ArgumentHelp(
        "The aggregator's public key file, with --key, when its snapshot endpoint requires CURVE (the aggregator serves with the key pair it was given).",
        valueName: "file"))
    var snapshotServerKey: String?

    /// The client's settings with these endpoint flags (`nil`: not given); a bad profile or value is a usage error.
    func settings(endpoints: [String: String?] = [:]) throws -> Settings {
        let environment = ProcessInfo.processInfo.environment
        do {
            let profile = try ConnectionProfile.chosen(flag: profile, environment: environment)
            return try Settings.resolve(
                .client, file: nil, profile: profile, environment: environment,
                flags: endpoints.merging(["key": key, "serverKey": serverKey, "snapshotServerKey": snapshotServerKey]) { $1 })
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The endpoint `name` (ingest, fanout, query, snapshot): the flag, else the environment's, the profile's, the
    /// default (none for snapshot).
    func endpoint(_ name: String, flag: String?) throws -> String? {
        let settings = try settings(endpoints: [name: flag])
        return settings.text(name) ?? settings.schema.key(name)?.defaultText
    }

    /// The endpoint `name` as a mode switch: given by its flag, or by the environment or a profile while `dir` (the
    /// other mode's option) was not given; `nil` otherwise.
    func remote(_ name: String, flag: String?, directoryGiven: Bool) throws -> String? {
        if let flag { return flag }
        if directoryGiven { return nil }
        return try settings().text(name)
    }

    /// The keys for the broker; `nil` without a key.
    func broker() throws -> CurveClientKeys? {
        let settings = try settings()
        return try client(settings, serverKeyName: "serverKey", option: "--server-key")
    }

    /// The keys for the aggregator's snapshot endpoint; `nil` without a snapshot server key.
    func snapshot() throws -> CurveClientKeys? {
        let settings = try settings()
        guard settings.text("snapshotServerKey") != nil else { return nil }
        return try client(settings, serverKeyName: "snapshotServerKey", option: "--snapshot-server-key")
    }

    private func client(_ settings: Settings, serverKeyName: String, option: String) throws -> CurveClientKeys? {
        try Self.keys(key: settings.text("key"), serverKey: settings.text(serverKeyName), serverKeyOption: option)
    }

    /// A long-running command's key pair (its setting `key`) and its server's public key (the setting
    /// `serverKeyName`), from its resolved settings; `nil` without either. When only one is given, the error names
    /// where it came from (file member, variable or flag) and the ways to give the other.
    static func keys(_ settings: Settings, serverKeyName: String = "serverKey") throws -> CurveClientKeys? {
        func ways(_ name: String) -> String {
            guard let key = settings.schema.key(name) else { return name }
            return "\(key.flag), \(key.environmentVariable) or \(name) in the \(settings.schema.section) section"
        }
        switch (settings.origin("key"), settings.origin(serverKeyName)) {
        case (nil, let server?):
            throw ValidationError("\(server) needs this client's own key file too (\(ways("key")))")
        case (let key?, nil):
            throw ValidationError("\(key) needs the server's public key file too (\(ways(serverKeyName)))")
        default:
            return try keys(key: settings.text("key"), serverKey: settings.text(serverKeyName), serverKeyOption: "--server-key")
        }
    }

    /// This client's key pair from the secret key file `key` and the server's public key from `serverKey`; `nil`
    /// without either; a usage error naming `serverKeyOption` when only one is given or a file cannot be used.
    static func keys(key: String?, serverKey: String?, serverKeyOption option: String) throws -> CurveClientKeys? {
        switch (key, serverKey) {
        case (nil, nil): return nil
        case (let key?, let serverKeyFile?):
            do {
                let keys = try CurveKeyFile.read(key).keyPair(path: key)
                let server = try CurveKeyFile.read(serverKeyFile)
                return CurveClientKeys(keys: keys, serverKey: server.publicKeyBytes)
            } catch {
                throw ValidationError("\(error)")
            }
        case (nil, _): throw ValidationError("\(option) needs --key, this client's own key file")
        case (_, nil): throw ValidationError("--key needs \(option), the server's public key file")
        }
    }
}

/// The public keys in `directory` (`*.pub`), each for its owner: who may connect to a server of this process.
func admittedKeys(in directory: String) throws -> [[UInt8]: String] {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pub") }.sorted()
    var keys: [[UInt8]: String] = [:]
    var listedIn: [[UInt8]: String] = [:]
    for name in names {
        let path = directory + "/" + name
        let file: CurveKeyFile
        do { file = try CurveKeyFile.read(path) } catch { throw ValidationError("\(error)") }
        if let earlier = listedIn[file.publicKeyBytes] {
            throw ValidationError("\(path) and \(earlier) list the same public key; a key belongs to one principal: remove one")
        }
        listedIn[file.publicKeyBytes] = path
        keys[file.publicKeyBytes] = file.owner
    }
    guard !keys.isEmpty else { throw ValidationError("no public keys (*.pub) in \(directory): nobody could connect") }
    return keys
}

/// The settings a hub's broker and its bridge share with JetStream, read and checked one way for both: the hub's name,
/// the NATS servers, the replicas, and the stream named after the hub. Errors name where each value came from.
enum HubStreamSettings {
    /// The hub's name, checked: it names the stream, the message ids (and, for a broker, the lease).
    static func hub(_ resolved: Settings, _ hub: String, names: String) throws -> String {
        guard !hub.isEmpty, hub.allSatisfy(JetStreamBridge.isTokenCharacter) else {
            throw SettingsError("\(origin(resolved, "hub")) must be letters, digits, - and _ (it names \(names)); got \"\(hub)\"")
        }
        return hub
    }

    /// The NATS servers: the setting `nats`, comma-separated, each one given.
    static func servers(_ resolved: Settings) throws -> [String] {
        let text = resolved.text("nats") ?? "nats://127.0.0.1:4222"
        let servers = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard servers.allSatisfy({ !$0.isEmpty }) else {
            throw SettingsError("\(origin(resolved, "nats")) needs at least one server, comma-separated; got \"\(text)\"")
        }
        return servers
    }

    /// The stream's replicas: 1, 3 or 5.
    static func replicas(_ resolved: Settings) throws -> Int {
        let replicas = resolved.whole("replicas") ?? 1
        guard [1, 3, 5].contains(replicas) else { throw SettingsError("\(origin(resolved, "replicas")) must be 1, 3 or 5; got \(replicas)") }
        return replicas
    }

    /// The stream's default as it will be once the hub is known, for `--show-settings`.
    static func derivedDefaults(_ resolved: Settings) -> [String: String] {
        resolved.text("hub").map { ["stream": JetStreamBridge.Configuration.streamName(hub: $0)] } ?? [:]
    }

    static func origin(_ resolved: Settings, _ key: String) -> String { resolved.origin(key).map { "\($0)" } ?? key }
}
