import ConduitCore
import ConduitOperations
import ConduitTesting
import Foundation
import Testing

/// The long-running commands' settings as an operator gives them (one file, CONDUIT_* variables, flags), connection
/// profiles as a coordinator uses them, and what a service manager and a monitoring system see of a command.
@Suite(.timeLimit(.minutes(5)))
struct SettingsCommandTests {
    /// `--show-settings`'s line for `key`: its value and origin.
    func line(_ listing: String, _ key: String) -> String? {
        listing.split(separator: "\n").map(String.init).first { $0.hasPrefix(key + " ") }
            .map { $0.dropFirst(key.count).trimmingCharacters(in: .whitespaces) }
    }

    @Test(arguments: [
        ("broker", ["ingest", "fanout", "query"]), ("aggregator", ["ingest", "fanout", "snapshot"]), ("agent", ["ingest", "fanout", "outbox"]),
        ("dashboard", ["fanout", "query", "snapshot"]),
    ])
    func everyCommandReadsItsFileSectionThenTheEnvironmentThenItsFlags(command: String, keys: [String]) throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("conduit.json")
        try Data(
            #"{"format": "conduit-config/1", "\#(command)": {"\#(keys[0])": "from-file", "\#(keys[1])": "from-file", "\#(keys[2])": "from-file"}}"#
                .utf8
        ).write(to: URL(fileURLWithPath: file))
        let schema = SettingsSchema.all.first { $0.section == command }!
        let outcome = try ChildProcess.conduit(
            [command, "--config", file, "--show-settings", schema.key(keys[2])!.flag, "from-flag"],
            environment: [schema.key(keys[1])!.environmentVariable: "from-environment", schema.key(keys[2])!.environmentVariable: "from-environment"])
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(line(outcome.output, keys[0]) == "from-file  (\(command).\(keys[0]) in \(file))")
        #expect(line(outcome.output, keys[1]) == "from-environment  (\(schema.key(keys[1])!.environmentVariable))")
        #expect(line(outcome.output, keys[2]) == "from-flag  (\(schema.key(keys[2])!.flag))")
        #expect(line(outcome.output, "logFormat") == "text  (default)")
        // The same file through CONDUIT_CONFIG.
        let fromVariable = try ChildProcess.conduit([command, "--show-settings"], environment: ["CONDUIT_CONFIG": file])
        #expect(line(fromVariable.output, keys[0]) == "from-file  (\(command).\(keys[0]) in \(file))")
    }

    @Test func aWrongSettingStopsTheCommandNamingWhereItWas() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("conduit.json")
        try Data(#"{"format": "conduit-config/1", "aggregator": {"checkpiont": "x"}}"#.utf8).write(to: URL(fileURLWithPath: file))
        let unknown = try ChildProcess.conduit(["aggregator", "--config", file])
        #expect(unknown.status == 64)
        #expect(unknown.errors.contains("aggregator.checkpiont is not a setting of aggregator"))
        let check = try ChildProcess.conduit(["config", "check", file])
        #expect(check.status == 65)
        let format = try ChildProcess.conduit(["agent", "--org", "power-supply-bureau"], environment: ["CONDUIT_LOG_FORMAT": "xml"])
        #expect(format.status == 64)
        #expect(format.errors.contains("CONDUIT_LOG_FORMAT must be text or json, not xml"))
        let keys = try ChildProcess.conduit(["config", "keys", "broker"])
        for key in SettingsSchema.broker.keys { #expect(keys.output.contains("\n\(key.name)\t"), "\(key.name) is listed") }
    }

    /// `conduit config check` holds a file to what each command checks when it starts, ranges and forms included, not
    /// only each value's kind; and a number is shown as given.
    @Test(arguments: [
        (#""broker": {"hub": "county", "replicas": 2}"#, "broker.replicas in FILE must be 1, 3 or 5; got 2"),
        (#""broker": {"hub": "county", "lease": 700}"#, "broker.lease in FILE must be between 0.2 and 600 seconds; got 700"),
        (#""broker": {"replicas": 2}"#, "broker.replicas in FILE must be 1, 3 or 5; got 2"),
        (#""broker": {"dedupeWindow": 0}"#, "broker.dedupeWindow in FILE must be at least 1, got 0"),
        (#""bridge": {"subjectPrefix": "a b"}"#, "bridge.subjectPrefix in FILE must be dot-separated tokens without spaces, * or >; got \"a b\""),
        (#""agent": {"drainTimeout": -1}"#, "agent.drainTimeout in FILE must not be negative; got -1"),
        (#""agent": {"org": "Power Supply"}"#, "agent.org in FILE must be an organisation id (lower-case letters, digits and dashes); got \"Power Supply\""),
        (#""broker": {"httpAddress": "nope"}"#, "broker.httpAddress in FILE must be host:port (e.g. 127.0.0.1:9570; port 0 picks one); got \"nope\""),
        (#""aggregator": {"httpAddress": "localhost:9571"}"#, "aggregator.httpAddress in FILE must have an IPv4 address as its host (e.g. 127.0.0.1:9570); got \"localhost:9571\""),
    ])
    func configCheckRefusesWhatTheCommandWouldRefuse(section: String, error: String) throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("conduit.json")
        try Data(#"{"format": "conduit-config/1", \#(section)}"#.utf8).write(to: URL(fileURLWithPath: file))
        let check = try ChildProcess.conduit(["config", "check", file])
        #expect(check.status == 65)
        // The whole reason, to the end of its line (a number as given: 700, not 700.0).
        let expected = error.replacingOccurrences(of: "FILE", with: file)
        #expect(check.errors.split(separator: "\n").contains { $0.hasSuffix(expected) }, "\(check.errors)")
        // The command's --show-settings refuses it the same way, rather than list a value it would not run with.
        let command = section.hasPrefix(#""bridge""#) ? ["bridge", "nats"] : [String(section.dropFirst().prefix { $0 != "\"" })]
        let shown = try ChildProcess.conduit(command + ["--config", file, "--show-settings"])
        #expect(shown.status == 64, "\(shown.output)")
        #expect(shown.errors.split(separator: "\n").contains { $0.hasSuffix(expected) }, "\(shown.errors)")
    }

    /// A key pair given half: the error says where the half came from and how to give the other.
    @Test func aServerKeyWithoutAKeyIsNamedWhereItWasGiven() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("conduit.json")
        try Data(#"{"format": "conduit-config/1", "aggregator": {"serverKey": "/etc/conduit/keys/broker.pub"}}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let aggregator = try ChildProcess.conduit(["aggregator", "--config", file])
        #expect(aggregator.status == 64)
        #expect(
            aggregator.errors.contains(
                "aggregator.serverKey in \(file) needs this client's own key file too (--key, CONDUIT_KEY or key in the aggregator section)"),
            "\(aggregator.errors)")
        let dashboard = try ChildProcess.conduit(["dashboard", "--key", "/etc/conduit/keys/dashboard.key"], environment: ["CONDUIT_HTTP_ADDRESS": "127.0.0.1:0"])
        #expect(dashboard.status == 64)
        #expect(
            dashboard.errors.contains(
                "--key needs the server's public key file too (--server-key, CONDUIT_SERVER_KEY or serverKey in the dashboard section)"),
            "\(dashboard.errors)")
    }

    @Test func configCheckPassesAHubsBrokerAndShowsItsNumbersAsGiven() throws {
        let directory = TemporaryDirectory()
        let file = directory.appending("conduit.json")
        try Data(
            #"{"format": "conduit-config/1", "broker": {"hub": "county", "replicas": 3, "lease": 3, "dedupeWindow": 1000}, "agent": {"org": "power-supply-bureau", "drainTimeout": 0.5}}"#
                .utf8
        ).write(to: URL(fileURLWithPath: file))
        let check = try ChildProcess.conduit(["config", "check", file])
        #expect(check.status == 0, "\(check.errors)")
        #expect(check.output.contains("valid (broker 4, agent 2)"))
        // A hub's settings without the hub: it may come from CONDUIT_HUB or --hub when the broker starts.
        try Data(#"{"format": "conduit-config/1", "broker": {"replicas": 3, "lease": 0.5}, "bridge": {"replicas": 3}}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let withoutHub = try ChildProcess.conduit(["config", "check", file])
        #expect(withoutHub.status == 0, "\(withoutHub.errors)")
        let shown = try ChildProcess.conduit(["broker", "--show-settings", "--hub", "county", "--lease", "3"])
        #expect(line(shown.output, "lease") == "3  (--lease)")
        // A default that follows from another setting is shown as it will be.
        #expect(line(shown.output, "stream") == "CONDUIT_COUNTY  (default)")
        let bridge = try ChildProcess.conduit(["bridge", "nats", "--show-settings"], environment: ["CONDUIT_HUB": "jiangkou"])
        #expect(line(bridge.output, "stream") == "CONDUIT_JIANGKOU  (default)")
        #expect(line(bridge.output, "hub") == "jiangkou  (CONDUIT_HUB)")
        let noHub = try ChildProcess.conduit(["broker", "--show-settings"])
        #expect(line(noHub.output, "stream") == "CONDUIT_<HUB>  (default)")
        let agent = try ChildProcess.conduit(["agent", "--show-settings", "--drain-timeout", "0.5"])
        #expect(line(agent.output, "drainTimeout") == "0.5  (--drain-timeout)")
    }

    /// The settings take effect: the broker's journal from the environment over the file, the agent's endpoint and
    /// organisation from the file alone.
    @Test func settingsFromTheFileAndTheEnvironmentTakeEffect() throws {
        let hub = try TestBroker()
        let directory = TemporaryDirectory()
        let file = directory.appending("conduit.json")
        try Data(
            #"""
            {"format": "conduit-config/1",
             "broker": {"data": "\#(directory.appending("from-file"))", "ingest": "tcp://127.0.0.1:*", "fanout": "tcp://127.0.0.1:*", "query": "tcp://127.0.0.1:*"},
             "agent": {"org": "power-supply-bureau", "ingest": "\#(hub.endpoints.ingest)", "outbox": "\#(directory.appending("outbox"))"}}
            """#.utf8
        ).write(to: URL(fileURLWithPath: file))
        let broker = try RunningConduit(["broker", "--config", file], environment: ["CONDUIT_DATA": directory.appending("from-environment")])
        #expect(Poll.until(60) { broker.output.all.contains("journal ") })
        broker.signal(SIGTERM)
        #expect(broker.finish() == 0)
        #expect(broker.output.all.contains("journal \(directory.appending("from-environment"))"))
        #expect(!FileManager.default.fileExists(atPath: directory.appending("from-file")))

        let events = SampleEvents.progressJSON(id: "from-config-1", source: "/power-supply-bureau/agent") + "\n"
        let agent = try ChildProcess.conduit(["agent", "--config", file], input: Data(events.utf8))
        #expect(agent.status == 0, "\(agent.errors)")
        #expect(agent.output.contains("acknowledged from-config-1: sequence "))
    }

    @Test func aProfileTakesPublishAndReplayToItsHub() throws {
        let hub = try TestBroker()
        let directory = TemporaryDirectory()
        let environment = ["CONDUIT_PROFILE_DIR": directory.appending("profiles")]
        let save = try ChildProcess.conduit(
            ["profile", "save", "county", "--description", "the county hub", "--ingest", hub.endpoints.ingest, "--fanout", hub.endpoints.fanout,
             "--query", hub.endpoints.query],
            environment: environment)
        #expect(save.status == 0, "\(save.errors)")
        #expect(try ChildProcess.conduit(["profile", "use", "county"], environment: environment).status == 0)
        #expect(try ChildProcess.conduit(["profile", "list"], environment: environment).output.contains("* county  the county hub"))

        let publish = try ChildProcess.conduit(
            ["publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
             "--percent", "10", "--id", "through-profile", "--outbox", directory.appending("outbox")],
            environment: environment)
        #expect(publish.status == 0, "\(publish.errors)")
        #expect(publish.output.contains("through-profile: sequence \(TestBroker.firstEventSequence)"))

        // No --dir: the profile's query endpoint.
        let replay = try ChildProcess.conduit(["replay", "--format", "jsonl"], environment: environment)
        #expect(replay.status == 0, "\(replay.errors)")
        #expect(replay.output.contains("\"id\":\"through-profile\""))
        // --dir: the journal there, whatever the profile says.
        let local = try ChildProcess.conduit(["replay", "--format", "jsonl", "--dir", directory.appending("no-journal")], environment: environment)
        #expect(local.status != 0)
        #expect(local.errors.contains(directory.appending("no-journal")))
        // A profile that is not there is an error, not a silent default.
        let missing = try ChildProcess.conduit(["replay", "--profile", "city"], environment: environment)
        #expect(missing.status == 64)
        #expect(missing.errors.contains("no profile city"))
        #expect(try ChildProcess.conduit(["profile", "use", "--none"], environment: environment).status == 0)
        #expect(try ChildProcess.conduit(["profile", "list"], environment: environment).output.contains("  county  the county hub"))
    }

    @Test func anAgentShowsItsOutboxAndConnectionOverHTTP() throws {
        let hub = try TestBroker()
        let directory = TemporaryDirectory()
        let spool = directory.appending("spool")
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        let agent = try RunningConduit([
            "agent", "--org", "power-supply-bureau", "--ingest", hub.endpoints.ingest, "--watch-dir", spool, "--outbox",
            directory.appending("outbox"), "--http-address", "127.0.0.1:0",
        ])
        var address = ""
        #expect(Poll.until(60) {
            guard let line = agent.errors.lines().first(where: { $0.contains("http http://") }) else { return false }
            address = String(line.split(separator: "http://").last!)
            return true
        })
        let lines = (1...3).map { SampleEvents.progressJSON(id: "spooled-\($0)", source: "/power-supply-bureau/agent") }.joined(separator: "\n") + "\n"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: spool + "/batch.tmp"))
        try FileManager.default.moveItem(atPath: spool + "/batch.tmp", toPath: spool + "/batch.jsonl")
        #expect(Poll.until(60) {
            let metrics = (try? HTTPProbe.get(address, "/metrics").body) ?? ""
            return PrometheusText.sample(metrics, "conduit_agent_events_acknowledged_total") == 3
                && PrometheusText.sample(metrics, "conduit_agent_outbox_depth") == 0
        })
        let metrics = try HTTPProbe.get(address, "/metrics").body
        #expect(PrometheusText.sample(metrics, "conduit_agent_info{source=\"/power-supply-bureau/agent\"}") == 1)
        #expect(PrometheusText.sample(metrics, "conduit_agent_connected") == 1)
        #expect(PrometheusText.sample(metrics, "conduit_agent_outbox_oldest_age_seconds") == 0)
        #expect(metrics.contains("# TYPE conduit_agent_events_acknowledged_total counter"))
        // The agent's presence is stored too: the last sequence is the hub's head once the three are in.
        let last = PrometheusText.sample(metrics, "conduit_agent_last_sequence")
        #expect(Poll.until(60) { last == Double(hub.broker.currentStatistics.lastSequence) })
        #expect(try HTTPProbe.get(address, "/readyz").status == 200)
        #expect(try HTTPProbe.get(address, "/healthz").status == 200)

        // Without its broker the agent is alive but not ready, and says why.
        hub.stop()
        #expect(Poll.until(60) { (try? HTTPProbe.get(address, "/readyz").status) == 503 })
        #expect(try HTTPProbe.get(address, "/readyz").body.contains("not connected to the broker at \(hub.endpoints.ingest)"))
        #expect(try HTTPProbe.get(address, "/healthz").status == 200)
        agent.signal(SIGTERM)
        #expect(agent.finish() != nil)
    }

    /// systemd's `Type=notify`: READY=1 once the endpoints are bound, STOPPING=1 when a stop begins.
    @Test func theBrokerTellsAServiceManagerWhenItIsReadyAndWhenItStops() throws {
        let directory = TemporaryDirectory()
        let socketPath = directory.appending("notify")
        let listener = try NotifyListener(path: socketPath)
        let broker = try RunningConduit(
            ["broker", "--data", directory.appending("journal"), "--ingest", "tcp://127.0.0.1:*", "--fanout", "tcp://127.0.0.1:*",
             "--query", "tcp://127.0.0.1:*"],
            environment: ["NOTIFY_SOCKET": socketPath])
        let ready = listener.receive(timeout: 60)
        #expect(ready == "READY=1\n")
        // Sent once the endpoints are bound and announced (the announcement was written before; it is read here).
        #expect(Poll.until(60) { broker.output.all.contains("ingest tcp://127.0.0.1:") })
        broker.signal(SIGTERM)
        #expect(listener.receive(timeout: 60) == "STOPPING=1\n")
        #expect(broker.finish() == 0)
    }
}

/// A Unix datagram socket standing in for systemd's notification socket.
final class NotifyListener {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw TestClientError("cannot bind \(path): errno \(errno)") }
    }

    /// The next datagram's text, or `nil` after `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    deinit { close(descriptor) }
}
