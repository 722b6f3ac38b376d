import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// `conduit broker` as an operator runs it: settings, and a clear message and exit status when it cannot start.
@Suite(.timeLimit(.minutes(5)))
struct BrokerCommandTests {
    /// Runs `conduit broker …` expecting it to exit by itself; returns its status and standard error.
    func brokerExits(_ arguments: [String]) throws -> (status: Int32, error: String) {
        let outcome = try ChildProcess.conduit(["broker"] + arguments, timeout: 120)
        return (outcome.status, outcome.errors)
    }

    @Test func aBadSettingIsExitStatus64WithTheReason() throws {
        let directory = TemporaryDirectory()
        let result = try brokerExits(["--data", directory.appending("j"), "--durability", "sometimes"])
        #expect(result.status == 64)
        #expect(result.error.contains("durability must be"))

        let settings = directory.appending("settings.json")
        try Data(#"{"dedupeWindow": "many"}"#.utf8).write(to: URL(fileURLWithPath: settings))
        let file = try brokerExits(["--config", settings, "--data", directory.appending("j")])
        #expect(file.status == 64)
        #expect(file.error.contains(settings))

        let scenario = directory.appending("scenario.json")
        try Data(#"{"format": "conduit-scenario/1", "communities": 3}"#.utf8).write(to: URL(fileURLWithPath: scenario))
        let badScenario = try brokerExits(["--scenario", scenario, "--data", directory.appending("j")])
        #expect(badScenario.status == 64)
        #expect(badScenario.error.contains("the plan file \(scenario) is not valid"))

        let good = directory.appending("default-scenario.json")
        try Data(Scenario.defaultJSON).write(to: URL(fileURLWithPath: good))
        let broker = try BrokerProcess(journalDirectory: directory.appending("j3"), extraArguments: ["--scenario", good])
        broker.stop(signal: SIGTERM)
        #expect(broker.process.terminationStatus == 0, "a valid scenario file is accepted")
    }

    @Test func aTakenEndpointIs69AndAnUnusableJournalIs74() throws {
        let running = try TestBroker()
        let directory = TemporaryDirectory()
        let taken = try brokerExits([
            "--data", directory.appending("j"), "--ingest", running.endpoints.ingest, "--fanout", "tcp://127.0.0.1:*",
            "--query", "tcp://127.0.0.1:*",
        ])
        #expect(taken.status == 69)
        #expect(taken.error.contains("\(running.endpoints.ingest) is already in use"))

        let file = directory.appending("a-file")
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let unusable = try brokerExits([
            "--data", file, "--ingest", "tcp://127.0.0.1:*", "--fanout", "tcp://127.0.0.1:*", "--query", "tcp://127.0.0.1:*",
        ])
        #expect(unusable.status == 74)
        #expect(unusable.error.contains(file))
    }

    @Test func settingsFromAFileAreOverriddenByFlags() throws {
        let directory = TemporaryDirectory()
        let settings = directory.appending("settings.json")
        try Data(
            #"{"data": "\#(directory.appending("from-file"))", "ingest": "tcp://127.0.0.1:*", "fanout": "tcp://127.0.0.1:*", "query": "tcp://127.0.0.1:*"}"#
                .utf8
        ).write(to: URL(fileURLWithPath: settings))
        let broker = try BrokerProcess(journalDirectory: directory.appending("from-flag"), extraArguments: ["--config", settings])
        broker.stop(signal: SIGTERM)
        #expect(broker.process.terminationStatus == 0, "SIGTERM stops the broker gracefully")
        #expect(broker.output.all.contains("journal \(directory.appending("from-flag"))"), "a flag overrides the file")
        #expect(FileManager.default.fileExists(atPath: directory.appending("from-flag")))
        #expect(!FileManager.default.fileExists(atPath: directory.appending("from-file")))
    }

    @Test func keygenWritesKeysTheBrokerAcceptsAndRefusesToOverwrite() throws {
        let directory = TemporaryDirectory()
        let keys = directory.appending("keys")
        for arguments in [["--owner", "broker", "--dir", keys], ["--owner", "power-supply-bureau", "--dir", keys + "/clients"]] {
            #expect(try ChildProcess.conduit(["keygen"] + arguments).status == 0)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: keys + "/broker.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the secret key is readable by its owner only")
        let again = try ChildProcess.conduit(["keygen", "--owner", "broker", "--dir", keys])
        #expect(again.status != 0, "an existing key is not replaced without --force")

        let broker = try BrokerProcess(
            journalDirectory: directory.appending("journal"),
            extraArguments: ["--server-key", keys + "/broker.key", "--client-keys", keys + "/clients"])
        broker.stop(signal: SIGTERM)
        #expect(broker.output.all.contains("(1 client keys)"))

        let wrong = try brokerExits(["--data", directory.appending("j2"), "--server-key", keys + "/broker.pub", "--client-keys", keys + "/clients"])
        #expect(wrong.status == 64)
        #expect(wrong.error.contains("holds no secret key"))
    }

    /// A secret key is private from its first byte: written 0600, never into a directory others may write, and a
    /// broker refuses one that others may read (as ssh does).
    @Test func secretKeysStayPrivate() throws {
        let directory = TemporaryDirectory()
        let keys = directory.appending("keys")
        #expect(try ChildProcess.conduit(["keygen", "--owner", "broker", "--dir", keys]).status == 0)
        #expect(try ChildProcess.conduit(["keygen", "--owner", "conduit", "--dir", keys + "/clients"]).status == 0)
        #expect(try ChildProcess.conduit(["keygen", "--owner", "broker", "--dir", keys, "--force"]).status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: keys + "/broker.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: keys).sorted() == ["broker.key", "broker.pub", "clients"])

        let shared = directory.appending("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        chmod(shared, 0o777)
        let refused = try ChildProcess.conduit(["keygen", "--owner", "broker", "--dir", shared])
        #expect(refused.status == 64)
        #expect(refused.errors.contains("lets others write there"))
        #expect(!FileManager.default.fileExists(atPath: shared + "/broker.key"))

        chmod(keys + "/broker.key", 0o644)
        let readable = try brokerExits(["--data", directory.appending("j"), "--server-key", keys + "/broker.key", "--client-keys", keys + "/clients"])
        #expect(readable.status == 64)
        #expect(readable.error.contains("chmod 600"))
    }

    /// `--log-format json`: every line of the log is one JSON object with the same keys; the text format stays the
    /// default, and another format is refused.
    @Test func theLogIsOneJSONObjectPerLineWhenAskedFor() throws {
        let directory = TemporaryDirectory()
        let errors = Pipe(), log = OutputCollector()
        log.start(errors.fileHandleForReading)
        let broker = try BrokerProcess(
            journalDirectory: directory.appending("journal"), extraArguments: ["--log-format", "json", "--log-level", "info"],
            standardError: errors.fileHandleForWriting)
        #expect(Poll.until(60) { log.all.contains("broker.started") }, "\(log.all)")
        broker.stop(signal: SIGTERM)
        #expect(Poll.until(60) { log.all.contains("broker.stopped") }, "\(log.all)")
        let lines = log.lines().filter { !$0.isEmpty }
        #expect(lines.count >= 2)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object.map { Set($0.keys) } == ["time", "level", "label", "message", "metadata", "source"], "\(line)")
        }
        let started = try #require(lines.first { $0.contains("broker.started") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(started.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info" && object["label"] as? String == "conduit.broker")
        #expect((object["metadata"] as? [String: String])?["journal.directory"] == directory.appending("journal"))
        #expect((object["time"] as? String)?.hasSuffix("Z") == true)

        let refused = try brokerExits(["--data", directory.appending("j2"), "--log-format", "yaml"])
        #expect(refused.status == 64)
        #expect(refused.error.contains("--log-format must be text or json, not yaml"))
    }

    /// `--http-address`: the broker serves /healthz, /readyz and /metrics where it says it does.
    @Test func theBrokerServesItsMetricsAndHealthOverHTTP() throws {
        let directory = TemporaryDirectory()
        let broker = try BrokerProcess(journalDirectory: directory.appending("journal"), extraArguments: ["--http-address", "127.0.0.1:0"])
        let line = try #require(broker.output.lines().first { $0.hasPrefix("http http://") }, "\(broker.output.all)")
        let address = String(line.dropFirst("http http://".count))
        #expect(try HTTPProbe.get(address, "/healthz").status == 200)
        #expect(try HTTPProbe.get(address, "/readyz").status == 200)
        let metrics = try HTTPProbe.get(address, "/metrics")
        #expect(metrics.status == 200 && metrics.body.contains("conduit_broker_journal_last_sequence 1"), "\(metrics.body.prefix(400))")
        broker.stop(signal: SIGTERM)
        #expect(broker.process.terminationStatus == 0)
    }

    /// An authorisation file with roles; SIGHUP reads it again: a revoked key's connection is closed, and a file with
    /// an error changes nothing and is reported.
    @Test func sighupReadsTheAuthorisationFileAgain() throws {
        let directory = TemporaryDirectory()
        let keys = directory.appending("keys")
        for owner in ["broker", "power-supply-bureau", "county-government-office"] {
            let made = try ChildProcess.conduit(["keygen", "--owner", owner, "--dir", keys])
            #expect(made.status == 0, "\(made.errors)")
        }
        let file = keys + "/authorisation.json"
        func write(_ principals: [String]) throws {
            try #"{"format":"conduit-authorisation/1","principals":[\#(principals.joined(separator: ","))]}"#
                .write(toFile: file, atomically: true, encoding: .utf8)
        }
        let power = #"{"name":"power-field","organisation":"power-supply-bureau","role":"agent","keyFiles":["power-supply-bureau.pub"]}"#
        let desk = #"{"name":"desk","organisation":"county-government-office","role":"coordinator","keyFiles":["county-government-office.pub"]}"#
        try write([power, desk])
        let errors = Pipe(), notes = OutputCollector()
        notes.start(errors.fileHandleForReading)
        let broker = try BrokerProcess(
            journalDirectory: directory.appending("journal"),
            extraArguments: ["--server-key", keys + "/broker.key", "--authorisation", file], standardError: errors.fileHandleForWriting)
        #expect(broker.output.all.contains("(2 client keys)"))
        let server = try CurveKeyFile.read(keys + "/broker.pub").publicKeyBytes
        let agentKeys = try CurveKeyFile.read(keys + "/power-supply-bureau.key").keyPair(path: "power")
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.ingest, curve: (agentKeys, server))
        guard case .ack = try agent.publishAndWait(SampleEvents.progress(id: "h-1"), correlation: 1) else {
            Issue.record("the agent's event was not acknowledged")
            return
        }

        try write([desk])
        kill(broker.process.processIdentifier, SIGHUP)
        #expect(Poll.until(60) { notes.all.contains("keys read again: 1 admitted; connections of power-field closed") }, "\(notes.all)")
        try agent.publish(SampleEvents.progress(id: "h-2"), correlation: 2)
        #expect(try agent.receive(timeout: .milliseconds(500)) == nil, "the revoked key is not let in again")

        try "{".write(toFile: file, atomically: true, encoding: .utf8)
        kill(broker.process.processIdentifier, SIGHUP)
        #expect(Poll.until(60) { notes.all.contains("the keys were not read again, those in force stay") }, "\(notes.all)")
        #expect(broker.process.isRunning)
        broker.stop(signal: SIGTERM)
        #expect(broker.process.terminationStatus == 0)
    }
}

/// `conduit bench broker --curve` measures CURVE beside plaintext against a broker that requires keys: every event
/// of the secured run is acknowledged, so its figures exist and are positive (their size is for the benchmark).
@Suite(.timeLimit(.minutes(5))) struct BenchBrokerCurveTests {
    @Test func theCurveRunReportsItsThroughputBesideThePlainOne() throws {
        let run = try ChildProcess.conduit([
            "bench", "broker", "--runs", "1", "--agents", "1", "--subscribers", "1", "--events", "200", "--window", "16",
            "--paced-rate", "100", "--paced-seconds", "1", "--stalled-rate", "0", "--curve", "--json",
        ])
        #expect(run.status == 0, "\(run.errors)")
        let report = try JSONValue.parse(Array(run.output.utf8))
        for figure in ["acknowledged", "curve_acknowledged", "curve_to_plain_acknowledged"] {
            guard case .number(let text)? = report["figures"]?[figure]?["value"], let value = Double(text) else {
                Issue.record("no figure \(figure)")
                continue
            }
            #expect(value > 0, "\(figure)")
        }
    }

    /// A `--broker-wrapper` that runs the broker as a process of its own (as `perf stat` or `strace` do, here a shell
    /// script that waits for it) leaves the benchmark measuring and stopping the broker itself: the broker is
    /// signalled, ends cleanly, and the wrapper with it, so the run completes.
    @Test func aWrapperThatRunsTheBrokerAsItsChildStillHasItStoppedCleanly() throws {
        let directory = TemporaryDirectory()
        let status = directory.appending("broker-status")
        let wrapper = directory.appending("wrapper.sh")
        try Data("#!/bin/sh\n\"$@\"\nstatus=$?\necho $status > \(status)\nexit $status\n".utf8).write(to: URL(fileURLWithPath: wrapper))
        chmod(wrapper, 0o755)
        let run = try ChildProcess.conduit([
            "bench", "broker", "--runs", "1", "--agents", "1", "--subscribers", "0", "--events", "200", "--window", "16",
            "--paced-rate", "100", "--paced-seconds", "1", "--stalled-rate", "0", "--json", "--broker-wrapper", wrapper,
        ])
        #expect(run.status == 0, "\(run.errors)")
        let written = try? String(contentsOfFile: status, encoding: .utf8)
        #expect(written?.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the broker under the wrapper ended by itself with status 0")
        let report = try JSONValue.parse(Array(run.output.utf8))
        guard case .number(let text)? = report["figures"]?["acknowledged"]?["value"], let acknowledged = Double(text) else {
            Issue.record("no acknowledged figure")
            return
        }
        #expect(acknowledged > 0)
    }
}

/// `conduit bench broker --paced-reference` runs the paced workload against the broker loop in C too: every event is
/// acknowledged and delivered to every subscriber (the reference fails the run otherwise), so its latencies exist and
/// are above zero (an acknowledgement is a round trip), as is the ratio of the two ACK p99s.
@Suite(.timeLimit(.minutes(5))) struct BenchBrokerPacedReferenceTests {
    @Test func theReferenceLoopReportsItsLatenciesBesideTheBrokers() throws {
        let directory = TemporaryDirectory()
        let latencies = directory.appending("latencies")
        let run = try ChildProcess.conduit([
            "bench", "broker", "--runs", "1", "--agents", "2", "--subscribers", "2", "--events", "200", "--window", "16",
            "--paced-rate", "200", "--paced-seconds", "1", "--stalled-rate", "0", "--paced-reference", "--json",
            "--paced-latencies", latencies,
        ])
        #expect(run.status == 0, "\(run.errors)")
        let report = try JSONValue.parse(Array(run.output.utf8))
        for figure in [
            "paced_reference_ack_latency_p50", "paced_reference_ack_latency_p99", "paced_reference_ack_latency_p99.9",
            "paced_reference_delivery_latency_p99", "paced_reference_cpu_per_event", "paced_ack_p99_to_reference",
        ] {
            guard case .number(let text)? = report["figures"]?[figure]?["value"], let value = Double(text) else {
                Issue.record("no figure \(figure)")
                continue
            }
            // CPU is read in clock ticks (10 ms): a run this short may use less than one, so 0 is a true reading.
            if figure.contains("cpu") { #expect(value >= 0, "\(figure)") } else { #expect(value > 0, "\(figure)") }
        }
        // Each paced run's acknowledgements, one line an event (200 events/s for 1 s), in order of sending.
        for name in ["run-1-broker.csv", "run-1-reference.csv", "run-1-broker-c-agents.csv"] {
            let lines = (try? String(contentsOfFile: latencies + "/" + name, encoding: .utf8))?.split(separator: "\n") ?? []
            #expect(lines.first == "sent_ms,latency_ms", "\(name)")
            let rows = lines.dropFirst().map { $0.split(separator: ",").compactMap { Double($0) } }
            #expect(rows.count == 200, "\(name)")
            #expect(rows.allSatisfy { $0.count == 2 && $0[1] > 0 }, "\(name)")
            #expect(rows.first?.first == 0, "\(name)")
            #expect(zip(rows, rows.dropFirst()).allSatisfy { $0[0] <= $1[0] }, "\(name)")
        }
        // Deploy/paced-episodes.sh reads them: a line for each file, with its count of events.
        let script = DeployTests.deploy.appendingPathComponent("paced-episodes.sh")
        let episodes = try ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [script.path, latencies])
        #expect(episodes.status == 0, "\(episodes.errors)")
        for name in ["run-1-broker.csv", "run-1-reference.csv", "run-1-broker-c-agents.csv"] {
            #expect(episodes.output.contains("\(name): 200 events"), "\(episodes.output)")
        }
    }
}

/// `Deploy/paced-episodes.sh` finds where slow acknowledgements gather: here a thousand events a millisecond apart, all
/// acknowledged in 0.5 ms but those sent from 200 to 299 ms, which took 10 ms.
@Suite struct PacedEpisodesScriptTests {
    @Test func slowAcknowledgementsInOneWindowMakeOneEpisode() throws {
        let directory = TemporaryDirectory()
        let rows = (0..<1000).map { "\($0).000,\((200..<300).contains($0) ? "10.000" : "0.500")" }
        try Data((["sent_ms,latency_ms"] + rows).joined(separator: "\n").appending("\n").utf8)
            .write(to: URL(fileURLWithPath: directory.appending("run-1-broker.csv")))
        let script = DeployTests.deploy.appendingPathComponent("paced-episodes.sh")
        let run = try ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [script.path, directory.path])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains(
            "run-1-broker.csv: 1000 events, 100 at 3 ms or more; 1 episodes over 1 of 10 windows of 100 ms hold 100% of them; ACK p99 10.00 ms, 0.50 ms outside the episodes"), "\(run.output)")
        #expect(run.output.contains("episodes began at (ms, slowest): 200 (10.0 ms)"), "\(run.output)")
    }
}

/// `conduit bench broker --peer jetstream` runs the same throughput workload against a nats-server with JetStream that
/// it starts on loopback: every message is acknowledged and delivered, so its figures and the ratio exist.
@Suite(.timeLimit(.minutes(5))) struct BenchBrokerPeerTests {
    @Test func theJetStreamRunReportsItsThroughputBesideConduits() throws {
        let run = try ChildProcess.conduit([
            "bench", "broker", "--runs", "1", "--agents", "2", "--subscribers", "1", "--events", "300", "--window", "16",
            "--paced-rate", "100", "--paced-seconds", "1", "--stalled-rate", "0", "--peer", "jetstream", "--json",
        ])
        #expect(run.status == 0, "\(run.errors)")
        let report = try JSONValue.parse(Array(run.output.utf8))
        for figure in [
            "acknowledged", "generator_cpu_per_event", "jetstream_acknowledged", "jetstream_delivered_per_subscriber",
            "jetstream_server_cpu_per_event", "conduit_to_jetstream_acknowledged",
        ] {
            guard case .number(let text)? = report["figures"]?[figure]?["value"], let value = Double(text) else {
                Issue.record("no figure \(figure)")
                continue
            }
            // CPU is read in clock ticks (10 ms): a run this short may use less than one, so 0 is a true reading.
            if figure.contains("cpu") { #expect(value >= 0, "\(figure)") } else { #expect(value > 0, "\(figure)") }
        }
        let withMetrics = try ChildProcess.conduit([
            "bench", "broker", "--runs", "1", "--agents", "1", "--subscribers", "0", "--events", "300", "--window", "16",
            "--paced-rate", "100", "--paced-seconds", "1", "--stalled-rate", "0", "--metrics", "--json",
        ])
        #expect(withMetrics.status == 0, "\(withMetrics.errors)")
        guard case .number(let ratio)? = try JSONValue.parse(Array(withMetrics.output.utf8))["figures"]?["metrics_to_plain_acknowledged"]?["value"] else {
            Issue.record("no metrics_to_plain_acknowledged")
            return
        }
        #expect((Double(ratio) ?? 0) > 0)
        // With sync_interval: always, where the nats-server on PATH knows it (2.10 and later); an older one is refused
        // with the reason.
        let synced = try ChildProcess.conduit([
            "bench", "broker", "--runs", "1", "--agents", "1", "--subscribers", "0", "--events", "200", "--window", "16",
            "--paced-rate", "100", "--paced-seconds", "1", "--stalled-rate", "0", "--peer", "jetstream-sync", "--json",
        ])
        let version = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["nats-server", "--version"]).output
        let numbers = version.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        if numbers.count >= 2, (numbers[0], numbers[1]) >= (2, 10) {
            #expect(synced.status == 0, "\(synced.errors)")
            guard case .number(let text)? = try JSONValue.parse(Array(synced.output.utf8))["figures"]?["conduit_to_jetstream_sync_acknowledged"]?["value"] else {
                Issue.record("no conduit_to_jetstream_sync_acknowledged")
                return
            }
            #expect((Double(text) ?? 0) > 0)
        } else {
            #expect(synced.status != 0)
            #expect(synced.errors.contains("it needs nats-server 2.10 or later"), "\(version): \(synced.errors)")
        }
        let unknown = try ChildProcess.conduit(["bench", "broker", "--peer", "kafka"])
        #expect(unknown.status == 64)
        #expect(unknown.errors.contains("--peer must be jetstream or jetstream-sync, not kafka"))
    }
}

