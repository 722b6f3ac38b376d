import ConduitCore
import ConduitJournal
import Foundation
import Synchronization
import ZeroMQ

/// One way a peer can try to make `conduit broker` hold memory or descriptors, run against the real executable
/// while a well-behaved agent publishes: the broker's peak resident memory is read from `/proc`, and the agent's
/// events must all be acknowledged.
public struct ResourceCase: Sendable {
    public var name: String
    /// Settings of the broker's JSON settings file for this case.
    public var settings: [String: Int] = [:]
    /// A lower `RLIMIT_NOFILE` for the broker (through `prlimit`) at a scale; `nil`: the broker's own.
    public var descriptorLimit: @Sendable (_ scale: Int) -> Int?
    /// CURVE authentication on every endpoint.
    public var curve = false
    /// A journal of this many events of this many bytes, written before the broker starts.
    public var journal: (events: Int, eventBytes: Int)?
    /// The attack. It returns a line saying what it did; it throws when something it must see did not happen.
    public var attack: @Sendable (ResourceTarget) throws -> String

    public init(
        _ name: String, settings: [String: Int] = [:], descriptorLimit: @escaping @Sendable (Int) -> Int? = { _ in nil },
        curve: Bool = false,
        journal: (events: Int, eventBytes: Int)? = nil, attack: @escaping @Sendable (ResourceTarget) throws -> String
    ) {
        self.name = name
        self.settings = settings
        self.descriptorLimit = descriptorLimit
        self.curve = curve
        self.journal = journal
        self.attack = attack
    }
}

/// The broker under attack, as an attack sees it.
public struct ResourceTarget: Sendable {
    public let ingest: String
    public let fanout: String
    public let query: String
    public let pid: Int32
    /// 1 in the short mode; the long mode multiplies the attack's messages by it.
    public let scale: Int
    /// With CURVE: a client key pair the broker admits (for the power supply bureau), and the broker's public key.
    public let curve: (keys: CurveKeyPair, server: [UInt8])?
    /// The `conduit` the broker runs from (`nil`: the one built next to the tests).
    public let executable: URL?
    /// A temporary directory of the case's own.
    public let directory: String

    /// The broker's counters (`STATS`), asked on a connection of its own.
    public func statistics() throws -> [String: Int] {
        let context = try Context()
        defer { context.terminate() }
        let client = try TestClient(context: context, endpoint: query, curve: curve.map { ($0.keys, $0.server) })
        defer { client.socket.close() }
        try client.send(QueryRequest.stats(request: 1).encode())
        guard case .stats(_, let json) = try client.queryReply(timeout: .seconds(30)) else {
            throw TestClientError("STATS was not answered")
        }
        let object = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] ?? [:]
        return object.compactMapValues { $0 as? Int }
    }

    /// The broker's peak resident memory so far, in MiB.
    public var peakMiB: Double { ProcessResources.memory(of: pid)?.peak ?? 0 }

    /// The endpoint `endpoint` reached from the local address `source`, in libzmq's syntax (`tcp://source:0;host:port`),
    /// so that a ZeroMQ client counts against another address than the well-behaved agent's.
    public static func from(_ source: String, _ endpoint: String) -> String {
        "tcp://\(source):0;" + endpoint.dropFirst("tcp://".count)
    }

    /// Waits (at most `seconds`) until the broker's counters satisfy `condition`; the last counters seen.
    @discardableResult
    public func await(_ seconds: TimeInterval, _ what: String, _ condition: ([String: Int]) -> Bool) throws -> [String: Int] {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [String: Int] = [:]
        while Date() < deadline {
            last = try statistics()
            if condition(last) { return last }
            usleep(50_000)
        }
        throw TestClientError("\(what) did not happen within \(Int(seconds)) s; STATS \(last)")
    }
}

/// What a case measured.
public struct ResourceReport: Sendable, CustomStringConvertible {
    public var name: String
    /// Resident memory when the broker had started and the agent had said HELLO, and its peak over the case, MiB.
    public var startMiB: Double
    public var peakMiB: Double
    /// Whether the broker was running at the end, and its exit status after SIGTERM.
    public var alive: Bool
    public var exitStatus: Int32
    public var validPublished: Int
    public var validAcknowledged: Int
    public var attack: String
    public var statistics: [String: Int]
    public var seconds: Double

    public var description: String {
        String(
            format: "%@: peak %.1f MiB (%.1f at start), %@, %d/%d valid events acknowledged, refused %d, cut %d, %.1f s; %@",
            name, peakMiB, startMiB, alive && exitStatus == 0 ? "alive" : "NOT ALIVE (exit \(exitStatus))",
            validAcknowledged, validPublished, statistics["connectionsRefused"] ?? 0, statistics["connectionsCut"] ?? 0,
            seconds, attack)
    }
}

/// Runs resource cases against `conduit broker`.
public enum ResourceSuite {
    /// Runs `resourceCase`: a broker of its own, a well-behaved agent publishing `validEvents` events during the
    /// attack (each resent until acknowledged, as an agent does), then SIGTERM.
    public static func run(
        _ resourceCase: ResourceCase, scale: Int = 1, validEvents: Int = 100, executable: URL? = nil
    ) throws -> ResourceReport {
        let started = Date()
        let directory = TemporaryDirectory(prefix: "conduit-resource")
        if let journal = resourceCase.journal {
            try writeJournal(in: directory.appending("journal"), events: journal.events, eventBytes: journal.eventBytes)
        }
        var arguments: [String] = []
        if !resourceCase.settings.isEmpty {
            let path = directory.appending("settings.json")
            try JSONSerialization.data(withJSONObject: resourceCase.settings).write(to: URL(fileURLWithPath: path))
            arguments += ["--config", path]
        }
        var curve: (keys: CurveKeyPair, server: [UInt8])?
        if resourceCase.curve {
            let server = try CurveKeyPair.generate()
            let client = try CurveKeyPair.generate()
            let keys = directory.appending("keys")
            try FileManager.default.createDirectory(atPath: keys + "/clients", withIntermediateDirectories: true)
            try CurveKeyFile.writePair(server, owner: "broker", secretPath: keys + "/broker.key", publicPath: nil, replacing: true)
            try CurveKeyFile.writePublic(client.publicKey, owner: "power-supply-bureau", to: keys + "/clients/power.pub")
            arguments += ["--server-key", keys + "/broker.key", "--client-keys", keys + "/clients"]
            curve = (client, server.publicKey)
        }
        var standardError = FileHandle.nullDevice
        if let log = ProcessInfo.processInfo.environment["CONDUIT_RESOURCE_LOG"] {
            let path = log + "/" + resourceCase.name.replacingOccurrences(of: " ", with: "-") + ".log"
            _ = FileManager.default.createFile(atPath: path, contents: nil)  // opened just below, or not logged
            standardError = FileHandle(forWritingAtPath: path) ?? .nullDevice
            arguments += ["--log-level", "info"]
        }
        let broker = try BrokerProcess(
            journalDirectory: directory.appending("journal"), extraArguments: arguments, executable: executable,
            standardError: standardError, descriptorLimit: resourceCase.descriptorLimit(scale))
        defer { broker.stop(signal: SIGKILL) }
        let target = ResourceTarget(
            ingest: broker.ingest, fanout: broker.fanout, query: broker.query, pid: broker.process.processIdentifier,
            scale: scale, curve: curve, executable: executable, directory: directory.path)

        let agent = ValidAgent(endpoint: broker.ingest, curve: curve, events: validEvents)
        try agent.start()
        let startMiB = ProcessResources.memory(of: target.pid)?.resident ?? 0
        let attack: String
        do {
            attack = try resourceCase.attack(target)
        } catch {
            agent.finish(within: 0)
            throw error
        }
        agent.finish(within: 120)
        let statistics = try target.statistics()
        let peak = target.peakMiB
        let alive = broker.process.isRunning
        broker.stop(signal: SIGTERM)
        return ResourceReport(
            name: resourceCase.name, startMiB: startMiB, peakMiB: peak, alive: alive,
            exitStatus: broker.process.isRunning ? -1 : broker.process.terminationStatus,
            validPublished: validEvents, validAcknowledged: agent.acknowledged, attack: attack, statistics: statistics,
            seconds: Date().timeIntervalSince(started))
    }

    /// A journal of `events` progress events of about `eventBytes` bytes each, recorded one millisecond apart.
    static func writeJournal(in path: String, events: Int, eventBytes: Int) throws {
        let (journal, _) = try Journal.open(directory: path)
        var records: [JournalRecord] = []
        for sequence in UInt64(1)...UInt64(events) {
            var event = try EventCodec.decode(SampleEvents.padded(id: "j\(sequence)", bytes: eventBytes))
            let recorded = 1_685_577_600_000_000 + Int64(sequence) * 1000
            event.sequence = sequence
            event.recordedTime = Timestamp(microsecondsSinceEpoch: recorded)
            records.append(JournalRecord(sequence: sequence, recordedTime: recorded, topic: event.topic, event: EventCodec.encode(event)))
            if records.count == 1000 {
                try journal.append(records)
                records.removeAll()
            }
        }
        if !records.isEmpty { try journal.append(records) }
        try journal.close()
    }
}

/// An agent that keeps to the protocol while the broker is under attack: `HELLO`, then one event at a time, each
/// resent with the same id until it is acknowledged (after 5 s without an answer, as after a lost connection).
final class ValidAgent: Sendable {
    let endpoint: String
    let curve: (keys: CurveKeyPair, server: [UInt8])?
    let events: Int
    private let state = Mutex<(acknowledged: Int, stop: Bool, done: Bool, failure: String?)>((0, false, false, nil))
    private let welcomed = Atomic<Bool>(false)

    init(endpoint: String, curve: (keys: CurveKeyPair, server: [UInt8])?, events: Int) {
        self.endpoint = endpoint
        self.curve = curve
        self.events = events
    }

    var acknowledged: Int { state.withLock { $0.acknowledged } }

    /// Connects, says `HELLO` and waits for `WELCOME` (so that the agent is established before any attack), then
    /// publishes on a thread of its own.
    func start() throws {
        Thread.detachNewThread { self.run() }
        let deadline = Date().addingTimeInterval(60)
        while !welcomed.load(ordering: .acquiring) {
            if let failure = state.withLock({ $0.failure }) { throw TestClientError(failure) }
            guard Date() < deadline else { throw TestClientError("the well-behaved agent was not welcomed") }
            usleep(5_000)
        }
    }

    /// Lets the agent publish what is left, for at most `seconds`, then stops it.
    func finish(within seconds: TimeInterval) {
        let deadline = Date().addingTimeInterval(seconds)
        while !state.withLock({ $0.done }) && Date() < deadline { usleep(10_000) }
        state.withLock { $0.stop = true }
        while !state.withLock({ $0.done }) { usleep(1_000) }
    }

    private func run() {
        defer { state.withLock { $0.done = true } }
        do {
            let context = try Context()
            defer { context.terminate() }
            let client = try TestClient(context: context, endpoint: endpoint, curve: curve.map { ($0.keys, $0.server) })
            defer { client.socket.close() }
            let source = "/power-supply-bureau/steady"
            try client.send(IngestRequest.hello(source: source, heartbeatIntervalMs: 60_000).encode())
            while true {
                guard let reply = try client.receive(timeout: .seconds(5)) else {
                    try client.send(IngestRequest.hello(source: source, heartbeatIntervalMs: 60_000).encode())
                    continue
                }
                if case .welcome = try IngestReply.decode(reply) { break }
            }
            welcomed.store(true, ordering: .releasing)
            var index = 1
            while index <= events, !state.withLock({ $0.stop }) {
                let event = SampleEvents.progress(id: "steady-\(index)", source: source)
                try client.publish(event, correlation: UInt64(index))
                var answered = false
                while !answered, !state.withLock({ $0.stop }), let reply = try client.receive(timeout: .seconds(5)) {
                    switch try IngestReply.decode(reply) {
                    case .ack(let ack) where ack.correlation == UInt64(index): answered = true
                    case .reject(let rejection) where rejection.correlation == UInt64(index):
                        throw TestClientError("the well-behaved agent's event was rejected: \(rejection.error)")
                    default: continue
                    }
                }
                if answered {
                    state.withLock { $0.acknowledged += 1 }
                    index += 1
                    usleep(5_000)
                }
            }
        } catch {
            state.withLock { $0.failure = "the well-behaved agent failed: \(error)" }
        }
    }
}

extension SampleEvents {
    /// A valid progress event of the power supply bureau at Ganjiaba, padded with an extension attribute to about
    /// `bytes` bytes (at least its 330).
    public static func padded(id: String, bytes: Int, source: String = "/power-supply-bureau/agent-1") -> [UInt8] {
        let plain = progressJSON(id: id, source: source)
        let padding = max(0, bytes - plain.utf8.count - 10)
        guard padding > 0 else { return Array(plain.utf8) }
        let padded = plain.replacingOccurrences(
            of: #""data":"#, with: #""pad":""# + String(repeating: "x", count: padding) + #"","data":"#)
        return Array(padded.utf8)
    }
}
