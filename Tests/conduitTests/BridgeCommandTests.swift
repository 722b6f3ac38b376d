import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import NATS
import Testing

/// `conduit bridge nats` against real nats-servers on loopback: the stream it writes is the journal, message for
/// message, whatever happens to the bridge or to a node of the cluster.
@Suite(.timeLimit(.minutes(15)), .serialized, .enabled(if: NATSServerProcess.isAvailable, "needs nats-server (Deploy/bootstrap.sh --tests installs it)"))
struct BridgeCommandTests {
    /// A broker on a journal of `events` events, and what the tests publish live through it.
    final class Hub {
        let directory = TemporaryDirectory(prefix: "conduit-bridge")
        let broker: BrokerProcess
        var published = 0

        init(events: UInt64) throws {
            broker = try BrokerProcess(journalDirectory: try makeJournal(in: directory, count: events))
        }

        var journal: String { directory.appending("journal") }

        /// Publishes a progress report through the broker; its sequence.
        @discardableResult
        func publish() throws -> UInt64 {
            published += 1
            let outcome = try ChildProcess.conduit([
                "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
                "--percent", "\(min(99, published))", "--id", "live-\(published)", "--ingest", broker.ingest, "--outbox", directory.appending("outbox"),
            ])
            guard outcome.status == 0, let sequence = outcome.output.split(separator: " ").last.flatMap({ UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
                throw TestClientError("publish failed: \(outcome.output)\(outcome.errors)")
            }
            return sequence
        }

        func bridge(hub: String = "county", servers: [NATSServerProcess], replicas: Int = 1) throws -> RunningConduit {
            try RunningConduit(
                ["bridge", "nats", "--hub", hub, "--fanout", broker.fanout, "--query", broker.query, "--replicas", String(replicas)]
                    + servers.flatMap { ["--nats", $0.url] })
        }
    }

    /// The stream's state, asked of `server` (nil while it cannot answer).
    static func state(_ server: NATSServerProcess, stream: String = "CONDUIT_COUNTY") -> StreamState? {
        guard let connection = try? NATSConnection(servers: [server.url], name: "conduit-test", timeoutMilliseconds: 2000),
            let jetStream = try? connection.jetStream(waitMilliseconds: 2000)
        else { return nil }
        return try? jetStream.streamState(stream)
    }

    /// Waits until the stream holds `sequence` (the bridge must not have failed); the stream's state then.
    static func waitFor(_ sequence: UInt64, on server: NATSServerProcess, bridge: RunningConduit, seconds: Double = 300) throws -> StreamState {
        var last: StreamState?
        let reached = Poll.until(seconds) {
            last = state(server)
            return (last?.lastSequence ?? 0) >= sequence || !bridge.isRunning
        }
        guard reached, let last, last.lastSequence >= sequence else {
            throw TestClientError("the stream reached \(last?.lastSequence ?? 0), not \(sequence); the bridge said: \(bridge.errors.all.suffix(800))")
        }
        return last
    }

    /// What `read` answers once the cluster answers: a cluster that has just lost a node reports itself temporarily
    /// unavailable for a moment (JetStream error 10008) while it settles; tried again for at most 30 s.
    static func untilAvailable<T>(_ read: () throws -> T) throws -> T {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try read()
            } catch let error as NATSError where error.isTransient && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Every message of the stream, read from `server`, is the journal's event of its sequence: the same bytes,
    /// the hub's message id, the subject of its kind, utility and site; and there is nothing else.
    static func expectStreamIsJournal(_ hub: Hub, server: NATSServerProcess) throws {
        let records = try journalRecords(hub.journal)
        let connection = try NATSConnection(servers: [server.url], name: "conduit-test")
        let jetStream = try connection.jetStream()
        let state = try #require(try untilAvailable { try jetStream.streamState("CONDUIT_COUNTY") })
        #expect(state == StreamState(messages: UInt64(records.count), firstSequence: 1, lastSequence: UInt64(records.count)))
        var mismatches: [String] = []
        for record in records {
            guard
                let message = try untilAvailable({
                    try jetStream.message(stream: "CONDUIT_COUNTY", sequence: record.sequence, headers: ["Nats-Msg-Id", "Conduit-Sequence"])
                })
            else {
                mismatches.append("\(record.sequence): missing")
                continue
            }
            let event = try EventCodec.decode(record.event)
            let subject = "conduit.\(event.kind.rawValue).\(event.utility?.rawValue ?? "_").\(event.site ?? "_")"
            if message.data != record.event || message.headers["Nats-Msg-Id"] != "county:\(record.sequence)"
                || message.headers["Conduit-Sequence"] != String(record.sequence) || message.subject != subject
            {
                mismatches.append("\(record.sequence): \(message.subject) \(message.headers)")
            }
            if mismatches.count > 5 { break }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// 100,000 events, the bridge killed (SIGKILL) three times on the way and started again, events published
    /// while it is down: the stream is the journal, without loss, duplicate or reorder.
    @Test func theStreamIsTheJournalThroughKillsOfTheBridge() throws {
        let hub = try Hub(events: 100_000)
        let nats = try NATSServerProcess(directory: hub.directory.appending("nats"))
        var bridge = try hub.bridge(servers: [nats])
        for mark in [20_000, 50_000, 80_000] as [UInt64] {
            _ = try Self.waitFor(mark, on: nats, bridge: bridge)
            bridge.signal(SIGKILL)
            _ = bridge.finish(timeout: 30)
            try hub.publish()
            bridge = try hub.bridge(servers: [nats])
        }
        let last = try hub.publish()
        _ = try Self.waitFor(last, on: nats, bridge: bridge)
        bridge.signal(SIGTERM)
        #expect(bridge.finish(timeout: 60) == 0)
        #expect(bridge.output.all.contains("bridge stopped at sequence \(last)"))
        try Self.expectStreamIsJournal(hub, server: nats)
    }

    /// A replicated stream (R3) on a cluster of three: a node killed mid-stream, the bridge carries on through the
    /// other two, and the stream is the journal.
    @Test func aNodeOfAClusterDiesMidStream() throws {
        let hub = try Hub(events: 20_000)
        let nodes = try NATSServerProcess.cluster(3, directory: hub.directory.appending("cluster"))
        let bridge = try hub.bridge(servers: nodes, replicas: 3)
        _ = try Self.waitFor(5_000, on: nodes[1], bridge: bridge)
        nodes[0].kill(SIGKILL)
        try hub.publish()
        let last = try hub.publish()
        _ = try Self.waitFor(last, on: nodes[1], bridge: bridge)
        bridge.signal(SIGTERM)
        #expect(bridge.finish(timeout: 60) == 0)
        try Self.expectStreamIsJournal(hub, server: nodes[2])
    }

    /// A stream that another hub's bridge writes is refused, and a bad hub name is a usage error.
    @Test func anotherHubsStreamIsRefused() throws {
        let hub = try Hub(events: 50)
        let nats = try NATSServerProcess(directory: hub.directory.appending("nats"))
        let bridge = try hub.bridge(servers: [nats])
        let last = try hub.publish()
        _ = try Self.waitFor(last, on: nats, bridge: bridge)
        bridge.signal(SIGTERM)
        #expect(bridge.finish(timeout: 60) == 0)

        let other = try ChildProcess.conduit(
            ["bridge", "nats", "--hub", "other", "--stream", "CONDUIT_COUNTY", "--nats", nats.url, "--fanout", hub.broker.fanout, "--query", hub.broker.query],
            timeout: 60)
        #expect(other.status == 1)
        #expect(other.errors.contains("stream CONDUIT_COUNTY is not hub other's journal: its message \(last) has id county:\(last), not other:\(last)"), "\(other.errors)")

        let bad = try ChildProcess.conduit(["bridge", "nats", "--hub", "two words"])
        #expect(bad.status == 64)
        #expect(bad.errors.contains("--hub must be letters, digits, - and _"))
    }

    /// The bridge as a service runs it: its settings from the configuration file's bridge section (the broker's
    /// endpoints from the profile in use, as before the file), the log as JSON from the environment; a setting out of
    /// range in the file is refused, naming the member, before anything starts.
    @Test func theBridgeTakesItsSettingsFromTheFileAndLogsAsJSON() throws {
        let hub = try Hub(events: 50)
        let nats = try NATSServerProcess(directory: hub.directory.appending("nats"))
        let profiles = ["CONDUIT_PROFILE_DIR": hub.directory.appending("profiles")]
        let saved = try ChildProcess.conduit(
            ["profile", "save", "county", "--fanout", hub.broker.fanout, "--query", hub.broker.query], environment: profiles)
        #expect(saved.status == 0, "\(saved.errors)")
        #expect(try ChildProcess.conduit(["profile", "use", "county"], environment: profiles).status == 0)
        let file = hub.directory.appending("conduit.json")
        try Data(#"{"format": "conduit-config/1", "bridge": {"hub": "county", "nats": "\#(nats.url)"}}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let bridge = try RunningConduit(
            ["bridge", "nats", "--config", file], environment: profiles.merging(["CONDUIT_LOG_FORMAT": "json"]) { $1 })
        _ = try Self.waitFor(50, on: nats, bridge: bridge)
        bridge.signal(SIGTERM)
        #expect(bridge.finish(timeout: 60) == 0)
        try Self.expectStreamIsJournal(hub, server: nats)
        let started = bridge.errors.all.split(separator: "\n").first { $0.contains("bridge.started") }
        let record = try #require(started.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(record["message"] as? String == "bridge.started")

        try Data(#"{"format": "conduit-config/1", "bridge": {"hub": "county", "replicas": 2}}"#.utf8).write(to: URL(fileURLWithPath: file))
        let refused = try ChildProcess.conduit(["bridge", "nats", "--config", file])
        #expect(refused.status == 64)
        #expect(refused.errors.contains("bridge.replicas in \(file) must be 1, 3 or 5; got 2"), "\(refused.errors)")
        let checked = try ChildProcess.conduit(["config", "check", file])
        #expect(checked.status == 65)
        #expect(checked.errors.contains("bridge.replicas in \(file) must be 1, 3 or 5; got 2"), "\(checked.errors)")
        let missing = try ChildProcess.conduit(["bridge", "nats"])
        #expect(missing.status == 64)
        #expect(missing.errors.contains("--hub is required"))
    }

    /// A journal whose first segments retention removed cannot be a new stream sequence for sequence: the bridge
    /// refuses, naming the events the journal no longer has, and leaves the stream empty.
    @Test func aJournalTrimmedByRetentionIsRefused() throws {
        let directory = TemporaryDirectory(prefix: "conduit-bridge-trimmed")
        let path = directory.appending("journal")
        var options = smallOptions()
        let (journal, _) = try Journal.open(directory: path, options: options)
        for sequence in UInt64(1)...400 {
            // One record a batch: a batch is never split across segments, and this journal's segments are small.
            var event = try EventCodec.decode(SampleEvents.progress(id: "p\(sequence)"))
            event.sequence = sequence
            event.recordedTime = Timestamp(microsecondsSinceEpoch: 1_685_577_600_000_000 + Int64(sequence))
            try journal.append([
                JournalRecord(sequence: sequence, recordedTime: 1_685_577_600_000_000 + Int64(sequence), topic: event.topic, event: EventCodec.encode(event))
            ])
        }
        try journal.close()
        options.retention = JournalRetention(maximumTotalBytes: 40_000)
        let (trimmed, _) = try Journal.open(directory: path, options: options)
        #expect(try !trimmed.enforceRetention().isEmpty)
        let first = trimmed.firstSequence
        try trimmed.close()
        #expect(first > 1)

        let broker = try BrokerProcess(journalDirectory: path)
        let nats = try NATSServerProcess(directory: directory.appending("nats"))
        let bridge = try ChildProcess.conduit(
            ["bridge", "nats", "--hub", "county", "--nats", nats.url, "--fanout", broker.fanout, "--query", broker.query], timeout: 60)
        #expect(bridge.status == 1)
        #expect(bridge.errors.contains("events 1…\(first - 1) are no longer in the journal"), "\(bridge.errors)")
        #expect(Self.state(nats)?.messages == 0)
    }

    /// Two hubs with different plans, each bridged into its own stream, gathered into a province stream: the
    /// province's fold gives each county the figures its own hub's journal gives, under its own plan.
    @Test(.enabled(if: NATSServerProcess.sourcesCountyStreams, "needs nats-server 2.10 or later (Deploy/bootstrap.sh --tests installs one)"))
    func aProvinceFoldsEachCountyUnderItsOwnPlan() throws {
        let directory = TemporaryDirectory(prefix: "conduit-province")
        let seed = directory.appending("seed.json")
        #expect(try ChildProcess.conduit(["plan", "init", seed]).status == 0)
        let text = try String(contentsOfFile: seed, encoding: .utf8)
            .replacingOccurrences(of: "\"id\": \"jiangkou-2023-old-communities\"", with: "\"id\": \"hexi-2024-old-communities\"")
            .replacingOccurrences(of: "\"deadline\": \"2023-12-31\"", with: "\"deadline\": \"2024-06-30\"")
        let other = directory.appending("hexi.json")
        try text.write(toFile: other, atomically: true, encoding: .utf8)
        let nats = try NATSServerProcess(directory: directory.appending("nats"))

        var hubs: [(name: String, journal: String, broker: BrokerProcess, last: UInt64)] = []
        for (name, plan, percents) in [("jiangkou", nil as String?, [10, 20, 30]), ("hexi", other, [40, 70])] {
            let journal = directory.appending(name)
            let broker = try BrokerProcess(journalDirectory: journal, extraArguments: plan.map { ["--plan", $0] } ?? [])
            var last: UInt64 = 0
            for (index, percent) in percents.enumerated() {
                let outcome = try ChildProcess.conduit([
                    "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
                    "--percent", String(percent), "--id", "\(name)-\(index)", "--ingest", broker.ingest, "--outbox", directory.appending("outbox-\(name)"),
                ])
                #expect(outcome.status == 0, "\(outcome.errors)")
                last = UInt64(outcome.output.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "") ?? 0
            }
            let bridge = try RunningConduit([
                "bridge", "nats", "--hub", name, "--subject-prefix", "conduit.\(name)", "--nats", nats.url, "--fanout", broker.fanout,
                "--query", broker.query,
            ])
            #expect(Poll.until(60) { Self.state(nats, stream: "CONDUIT_\(name.uppercased())")?.lastSequence == last })
            bridge.signal(SIGTERM)
            #expect(bridge.finish(timeout: 60) == 0)
            hubs.append((name, journal, broker, last))
        }

        let made = try ChildProcess.conduit([
            "province", "stream", "--nats", nats.url, "--name", "CONDUIT_PROVINCE", "--county", "CONDUIT_JIANGKOU", "--county", "CONDUIT_HEXI",
        ])
        #expect(made.status == 0, "\(made.errors)")
        let folded = try ChildProcess.conduit(["province", "state", "--nats", nats.url, "--stream", "CONDUIT_PROVINCE", "--json"])
        #expect(folded.status == 0, "\(folded.errors)")
        let province = try JSONValue.parse(Array(folded.output.utf8))
        for hub in hubs {
            let own = try JSONValue.parse(Array(try ChildProcess.conduit(["state", "--dir", hub.journal, "--json", "--no-checkpoints"]).output.utf8))
            #expect(province["hubs"]?[hub.name]?["summary"]?["overall"] == own["summary"]?["overall"], "\(hub.name)")
            #expect(province["hubs"]?[hub.name]?["lastSequence"] == .number(String(hub.last)))
        }
        #expect(province["hubs"]?["hexi"]?["plan"] == .string("hexi-2024-old-communities"))
        #expect(province["hubs"]?["jiangkou"]?["plan"] == .string("jiangkou-2023-old-communities"))
        #expect(province["province"]?["hubs"] == .number("2"))
        #expect(province["province"]?["households"] == .number("1944"))

        // One county fetched from the province's stream into a local journal reads as its hub's own journal.
        let local = directory.appending("fetched")
        let fetched = try ChildProcess.conduit(["province", "fetch", "--nats", nats.url, "--stream", "CONDUIT_PROVINCE", "--hub", "hexi", "--dir", local])
        #expect(fetched.status == 0, "\(fetched.errors)")
        #expect(fetched.output.contains("fetched \(hubs[1].last) new events of hub hexi"))
        let replayed = try ChildProcess.conduit(["replay", "--dir", local, "--format", "jsonl"])
        let original = try ChildProcess.conduit(["replay", "--dir", hubs[1].journal, "--format", "jsonl"])
        #expect(replayed.status == 0 && !replayed.output.isEmpty)
        #expect(replayed.output == original.output, "the fetched journal replays as the hub's own")
        let again = try ChildProcess.conduit(["province", "fetch", "--nats", nats.url, "--stream", "CONDUIT_PROVINCE", "--hub", "hexi", "--dir", local])
        #expect(again.output.contains("fetched 0 new events"), "\(again.output)")

        // A mirror of one county, from the province's stream: its journal is the county hub's.
        let mirrored = directory.appending("mirror-hexi")
        let mirror = try RunningConduit([
            "broker", "--hub", "hexi", "--mirror", "--stream", "CONDUIT_PROVINCE", "--nats", nats.url, "--data", mirrored,
            "--ingest", "tcp://127.0.0.1:*", "--fanout", "tcp://127.0.0.1:*", "--query", "tcp://127.0.0.1:*",
        ])
        #expect(Poll.until(60) { mirror.output.all.contains("at sequence \(hubs[1].last)") || !mirror.isRunning }, "\(mirror.errors.all)")
        mirror.signal(SIGTERM)
        #expect(mirror.finish(timeout: 60) == 0, "\(mirror.errors.all)")
        #expect(try journalRecords(mirrored) == journalRecords(hubs[1].journal))

        let missing = try ChildProcess.conduit(["province", "stream", "--nats", nats.url, "--county", "CONDUIT_NOWHERE"])
        #expect(missing.status == 1)
        #expect(missing.errors.contains("there is no county stream CONDUIT_NOWHERE"))
    }

    /// Behind CURVE: the bridge follows the broker with a key whose principal has the bridge role.
    @Test func theBridgeFollowsABrokerBehindCurveWithABridgeKey() throws {
        let directory = TemporaryDirectory(prefix: "conduit-bridge-curve")
        let keys = directory.appending("keys")
        for (owner, folder) in [("broker", keys), ("power-supply-bureau", keys), ("county-government-office", keys + "/bridge")] {
            let made = try ChildProcess.conduit(["keygen", "--owner", owner, "--dir", folder])
            #expect(made.status == 0, "\(made.errors)")
        }
        let file = keys + "/authorisation.json"
        try #"{"format":"conduit-authorisation/1","principals":[{"name":"power-field","organisation":"power-supply-bureau","role":"agent","keyFiles":["power-supply-bureau.pub"]},{"name":"nats-bridge","organisation":"county-government-office","role":"bridge","keyFiles":["bridge/county-government-office.pub"]}]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let broker = try BrokerProcess(
            journalDirectory: directory.appending("journal"), extraArguments: ["--server-key", keys + "/broker.key", "--authorisation", file])
        var last: UInt64 = 0
        for index in 1...3 {
            let outcome = try ChildProcess.conduit([
                "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
                "--percent", String(index * 10), "--id", "curve-\(index)", "--ingest", broker.ingest, "--outbox", directory.appending("outbox"),
                "--key", keys + "/power-supply-bureau.key", "--server-key", keys + "/broker.pub",
            ])
            #expect(outcome.status == 0, "\(outcome.errors)")
            last = UInt64(outcome.output.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "") ?? 0
        }
        let nats = try NATSServerProcess(directory: directory.appending("nats"))
        let bridge = try RunningConduit([
            "bridge", "nats", "--hub", "county", "--nats", nats.url, "--fanout", broker.fanout, "--query", broker.query,
            "--key", keys + "/bridge/county-government-office.key", "--server-key", keys + "/broker.pub",
        ])
        _ = try Self.waitFor(last, on: nats, bridge: bridge)
        bridge.signal(SIGTERM)
        #expect(bridge.finish(timeout: 60) == 0)
        #expect(Self.state(nats)?.messages == last)
    }

    /// A mirror follows a hub through JetStream: it copies the hub's events from the stream into a journal of its own
    /// (the same records), publishes the new ones on its fan-out as the stream receives them (a subscriber of the
    /// mirror sees an event published to the hub), serves replays, and refuses agents.
    @Test func aMirrorFollowsAHubThroughItsStream() throws {
        let hub = try Hub(events: 3_000)
        let nats = try NATSServerProcess(directory: hub.directory.appending("nats"))
        let bridge = try hub.bridge(servers: [nats])
        _ = try Self.waitFor(3_000, on: nats, bridge: bridge)
        let mirrorJournal = hub.directory.appending("mirror")
        let mirror = try RunningConduit([
            "broker", "--hub", "county", "--mirror", "--nats", nats.url, "--data", mirrorJournal, "--ingest", "tcp://127.0.0.1:*",
            "--fanout", "tcp://127.0.0.1:*", "--query", "tcp://127.0.0.1:*",
        ])
        #expect(Poll.until(120) { mirror.output.all.contains("mirror CONDUIT_COUNTY of hub county") || !mirror.isRunning }, "\(mirror.errors.all)")
        let endpoints = try #require(BrokerEndpoints(announcement: mirror.output.all), "\(mirror.output.all)\(mirror.errors.all)")
        let watch = try RunningConduit(["watch", "--fanout", endpoints.fanout, "--format", "jsonl", "--count", "1"])
        // Events are published to the hub until the watch, subscribed to the mirror, has seen one (it may subscribe
        // after the first went by).
        var published: [UInt64] = []
        while watch.isRunning && published.count < 60 {
            published.append(try hub.publish())
            _ = Poll.until(2) { !watch.isRunning }
        }
        #expect(watch.finish(timeout: 60) == 0, "\(watch.errors.all)")
        let seen = try #require(published.firstIndex { watch.output.all.contains("\"sequence\":\($0)") }, "\(watch.output.all)")
        #expect(watch.output.all.contains("\"id\":\"live-\(seen + 1)\""), "\(watch.output.all)")
        let sequence = published.last!
        // A replay through the mirror's query endpoint, and its journal, are the hub's.
        let replayed = try ChildProcess.conduit(["replay", "--query", endpoints.query, "--format", "jsonl", "--from-seq", "2990"])
        #expect(replayed.status == 0, "\(replayed.errors)")
        #expect(replayed.output.split(separator: "\n").count == Int(sequence) - 2989, "\(replayed.output.suffix(300))")
        let refused = try ChildProcess.conduit([
            "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
            "--percent", "50", "--id", "to-the-mirror", "--ingest", endpoints.ingest, "--outbox", hub.directory.appending("outbox-mirror"),
            "--timeout", "3",
        ])
        #expect(refused.status != 0)
        mirror.signal(SIGTERM)
        #expect(mirror.finish(timeout: 60) == 0, "\(mirror.errors.all)")
        bridge.signal(SIGTERM)
        _ = bridge.finish(timeout: 60)
        #expect(try journalRecords(mirrorJournal) == journalRecords(hub.journal))
    }
}
