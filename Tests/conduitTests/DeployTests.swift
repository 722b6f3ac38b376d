import ConduitJournal
import ConduitTesting
import Foundation
import Testing

/// `Deploy/install.sh` and the systemd units in `Deploy/systemd`, as an operator uses them: installed into a scratch
/// root with the `conduit` built next to the tests, checked by `systemd-analyze verify`, run again, run from, and
/// removed.
@Suite(.timeLimit(.minutes(10))) struct DeployTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Deploy")

    /// The unit files in `Deploy/systemd`.
    static func unitNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: deploy.appendingPathComponent("systemd").path)
            .filter { $0.hasSuffix(".service") }.sorted()
    }

    /// `bash Deploy/install.sh arguments…`; without `--binary` among them it installs the tests' `conduit`.
    static func install(_ arguments: [String]) throws -> ProcessOutcome {
        var arguments = arguments
        if !arguments.contains("--binary") && !arguments.contains("--uninstall") && !arguments.contains("--purge") {
            arguments += ["--binary", try ConduitExecutable.url().path]
        }
        return try ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"), [deploy.appendingPathComponent("install.sh").path] + arguments, timeout: 300)
    }

    /// A scratch root with Conduit installed in it.
    static func installedRoot(_ arguments: [String] = ["--paths-under-root"]) throws -> TemporaryDirectory {
        let root = TemporaryDirectory(prefix: "conduit-deploy")
        let outcome = try install(["--root", root.path] + arguments)
        #expect(outcome.status == 0, "\(outcome.output)\(outcome.errors)")
        return root
    }

    /// `path` with its symbolic links and doubled slashes resolved, as install.sh writes it into the installed files.
    static func resolved(_ path: String) -> String {
        guard let pointer = realpath(path, nil) else { return path }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// Every file, directory and link under `root`, with its mode, and each file's size and CRC-32C: equal snapshots
    /// are the same tree with the same bytes (short of a checksum collision).
    static func snapshot(_ root: String) throws -> [String: String] {
        var entries: [String: String] = [:]
        let manager = FileManager.default
        guard let paths = manager.enumerator(atPath: root) else { return entries }
        for case let path as String in paths {
            let full = root + "/" + path
            let attributes = try manager.attributesOfItem(atPath: full)
            let mode = String((attributes[.posixPermissions] as? Int) ?? -1, radix: 8)
            switch attributes[.type] as? FileAttributeType {
            case .typeSymbolicLink?:
                entries[path] = "link \(try manager.destinationOfSymbolicLink(atPath: full))"
            case .typeDirectory?:
                entries[path] = "directory \(mode)"
            default:
                let contents = try Data(contentsOf: URL(fileURLWithPath: full))
                let checksum = contents.withUnsafeBytes { CRC32C.checksum($0) }
                entries[path] = "file \(mode) \(contents.count) \(String(checksum, radix: 16))"
            }
        }
        return entries
    }

    /// The `systemd-analyze` this machine has (`bash Deploy/bootstrap.sh --tests` installs it).
    static func systemdAnalyze() throws -> URL {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in directories + ["/usr/bin", "/bin"] {
            let candidate = directory + "/systemd-analyze"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw TestClientError("systemd-analyze is missing: bash Deploy/bootstrap.sh --tests installs it (Debian's systemd package)")
    }

    /// What `systemd-analyze verify` finds wrong with the unit file at `path`; nothing for a sound unit.
    ///
    /// systemd 252's verify exits with status 0 even when it skips a line it cannot use — an unknown key, a value it
    /// cannot parse — and only says so on standard error (`<path>:<line>: Unknown key 'Typo' in section [Service],
    /// ignoring.`); it exits non-zero for what keeps a unit from loading or starting, such as an ExecStart binary
    /// that is missing or not executable. It needs no running systemd and does not look up User=. So a unit is sound when the status is 0 and no line of the output names the unit,
    /// by its path or its name; any other line (about the machine's own units) is the environment's and is ignored.
    /// A status other than 0 is always a finding: then verify could not vouch for the unit.
    static func verify(_ path: String) throws -> [String] {
        let outcome = try ChildProcess.run(try systemdAnalyze(), ["verify", path], timeout: 120)
        let name = (path as NSString).lastPathComponent
        var problems = (outcome.output + outcome.errors).split(separator: "\n").map(String.init)
            .filter { $0.contains(path) || $0.contains(name) }
        if outcome.status != 0 {
            problems.append("systemd-analyze verify \(path) exited with \(outcome.status): \(outcome.output)\(outcome.errors)")
        }
        return problems
    }

    @Test func everyUnitPassesSystemdAnalyzeVerify() throws {
        let root = try Self.installedRoot()
        let rootPath = Self.resolved(root.path)
        let units = rootPath + "/etc/systemd/system"
        var checked: [String] = []
        for name in try Self.unitNames() {
            var path = units + "/" + name
            #expect(FileManager.default.fileExists(atPath: path), "\(name) was not installed")
            if name.hasSuffix("@.service") {
                // A template is verified through an instance: its name is the unit's file name.
                let instance = units + "/" + name.replacingOccurrences(of: "@.service", with: "@water-investment-company.service")
                try FileManager.default.createSymbolicLink(atPath: instance, withDestinationPath: name)
                path = instance
            }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains("ExecStart=\(rootPath)/usr/local/bin/conduit "), "\(name) runs the installed binary")
            #expect(try Self.verify(path) == [], "\(name)")
            checked.append(name)
        }
        #expect(checked.contains("conduit-broker.service") && checked.contains("conduit-aggregator.service") && checked.contains("conduit-agent@.service")
            && checked.contains("conduit-dashboard.service"))

        // The check finds what verify only warns about (a value it cannot parse), and what it refuses (no binary).
        let broken = TemporaryDirectory(prefix: "conduit-unit")
        let brokenPath = Self.resolved(broken.path)
        let unit = brokenPath + "/conduit-broker.service"
        let broker = try String(contentsOfFile: units + "/conduit-broker.service", encoding: .utf8)
        try broker.replacingOccurrences(of: "ProtectSystem=strict", with: "ProtectSystem=strictly")
            .write(toFile: unit, atomically: true, encoding: .utf8)
        #expect(try Self.verify(unit).contains { $0.contains("strictly") }, "an unparsable value")
        try broker.replacingOccurrences(of: "ExecStart=\(rootPath)/usr/local/bin/conduit", with: "ExecStart=\(brokenPath)/missing/conduit")
            .write(toFile: unit, atomically: true, encoding: .utf8)
        #expect(try Self.verify(unit).contains { $0.contains("is not executable") }, "a missing binary")
    }

    /// The installed files name the target's paths (the prefix's binary, /etc/conduit, /var/lib/conduit), not the
    /// scratch root they were installed under.
    @Test func theInstalledFilesNameTheTargetsPaths() throws {
        let root = try Self.installedRoot(["--prefix", "/opt/conduit"])
        #expect(FileManager.default.isExecutableFile(atPath: root.appending("opt/conduit/bin/conduit")))
        let units = root.appending("etc/systemd/system")
        let broker = try String(contentsOfFile: units + "/conduit-broker.service", encoding: .utf8)
        #expect(broker.contains("\nExecStart=/opt/conduit/bin/conduit broker --config /etc/conduit/conduit.json\n"))
        #expect(broker.contains("\nType=notify\n") && broker.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"))
        let agent = try String(contentsOfFile: units + "/conduit-agent@.service", encoding: .utf8)
        #expect(agent.contains(
            "\nExecStart=/opt/conduit/bin/conduit agent --config /etc/conduit/conduit.json --org %i --key /etc/conduit/keys/%i.key --watch-dir /var/spool/conduit/%i --outbox /var/lib/conduit/outbox/%i\n"))
        let rootPath = Self.resolved(root.path)
        for name in try Self.unitNames() {
            let text = try String(contentsOfFile: units + "/" + name, encoding: .utf8)
            #expect(!text.contains(rootPath), "\(name) names the scratch root")
        }
        let configuration = try String(contentsOfFile: root.appending("etc/conduit/conduit.json"), encoding: .utf8)
        #expect(!configuration.contains(rootPath))
        #expect(configuration.contains(#""data": "/var/lib/conduit/journal""#))
        #expect(configuration.contains(#""serverKey": "/etc/conduit/keys/broker.key""#))
        for directory in ["var/lib/conduit/outbox", "var/spool/conduit/power-supply-bureau", "etc/conduit/keys"] {
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: root.appending(directory), isDirectory: &isDirectory) && isDirectory.boolValue, "\(directory)")
        }
    }

    /// The authorisation file gives every key the install made a principal, and the key files are where it says.
    @Test func everyInstalledKeyHasAPrincipal() throws {
        let root = try Self.installedRoot()
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root.appending("etc/conduit/authorisation.json"))))
        let file = try #require(document as? [String: Any])
        #expect(file["format"] as? String == "conduit-authorisation/1")
        let principals = try #require(file["principals"] as? [[String: Any]])
        var roles: [String: String] = [:]
        for principal in principals {
            let name = try #require(principal["name"] as? String)
            roles[name] = principal["role"] as? String
            for keyFile in principal["keyFiles"] as? [String] ?? [] {
                #expect(FileManager.default.fileExists(atPath: root.appending("etc/conduit/" + keyFile)), "\(name): \(keyFile)")
            }
        }
        #expect(roles["aggregator"] == "aggregator" && roles["coordinator"] == "coordinator")
        #expect(roles["power-supply-bureau"] == "agent" && roles["fire-rescue-brigade"] == "inspector")
        let keys = try FileManager.default.contentsOfDirectory(atPath: root.appending("etc/conduit/keys"))
        #expect(keys.filter { $0.hasSuffix(".key") }.count == principals.count + 1, "the broker's key and one per principal")
        for key in keys where key.hasSuffix(".key") {
            let mode = try FileManager.default.attributesOfItem(atPath: root.appending("etc/conduit/keys/" + key))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key) is private")
        }
    }

    @Test func installingAgainChangesNothing() throws {
        let root = try Self.installedRoot(["--paths-under-root"])
        let before = try Self.snapshot(root.path)
        #expect(before["etc/conduit/keys/broker.key"] != nil && before["usr/local/bin/conduit"] != nil)
        let again = try Self.install(["--root", root.path, "--paths-under-root"])
        #expect(again.status == 0, "\(again.errors)")
        let rootPath = Self.resolved(root.path)
        #expect(again.output.contains("kept existing \(rootPath)/etc/conduit/conduit.json"), "\(again.output)")
        #expect(again.output.contains("kept existing \(rootPath)/etc/conduit/authorisation.json"))
        #expect(again.output.contains("kept existing key \(rootPath)/etc/conduit/keys/broker.key"))
        #expect(!again.output.contains("made key"))
        let after = try Self.snapshot(root.path)
        #expect(after.keys.sorted() == before.keys.sorted())
        for (path, entry) in before where after[path] != entry {
            Issue.record("\(path) changed on the second install")
        }

        // An operator's edit of the configuration stays.
        let configuration = root.appending("etc/conduit/conduit.json")
        let edited = try String(contentsOfFile: configuration, encoding: .utf8).replacingOccurrences(of: "127.0.0.1:9570", with: "127.0.0.1:9670")
        try edited.write(toFile: configuration, atomically: true, encoding: .utf8)
        #expect(try Self.install(["--root", root.path, "--paths-under-root"]).status == 0)
        #expect(try String(contentsOfFile: configuration, encoding: .utf8) == edited)
    }

    @Test func uninstallKeepsConfigurationKeysAndDataUnlessPurged() throws {
        let root = try Self.installedRoot([])
        let wants = root.appending("etc/systemd/system/multi-user.target.wants")
        try FileManager.default.createDirectory(atPath: wants, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: wants + "/conduit-broker.service", withDestinationPath: "../conduit-broker.service")
        try FileManager.default.createSymbolicLink(
            atPath: wants + "/conduit-agent@china-mobile.service", withDestinationPath: "../conduit-agent@.service")
        try FileManager.default.createDirectory(atPath: root.appending("var/lib/conduit/journal"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: root.appending("var/lib/conduit/journal/segment")))
        let kept = ["etc/conduit/conduit.json", "etc/conduit/authorisation.json", "etc/conduit/keys/broker.key",
                    "etc/conduit/keys/power-supply-bureau.pub", "var/lib/conduit/journal/segment", "var/spool/conduit/china-mobile"]
        let before = try Self.snapshot(root.path)

        let uninstalled = try Self.install(["--root", root.path, "--uninstall"])
        #expect(uninstalled.status == 0, "\(uninstalled.errors)")
        let manager = FileManager.default
        #expect(!manager.fileExists(atPath: root.appending("usr/local/bin/conduit")))
        for name in try Self.unitNames() {
            #expect(!manager.fileExists(atPath: root.appending("etc/systemd/system/" + name)), "\(name)")
        }
        #expect(try manager.contentsOfDirectory(atPath: wants).isEmpty, "the links that enabled the units are gone")
        let after = try Self.snapshot(root.path)
        for path in kept { #expect(after[path] != nil && after[path] == before[path], "\(path) is kept as it was") }

        let purged = try Self.install(["--root", root.path, "--uninstall", "--purge"])
        #expect(purged.status == 0, "\(purged.errors)")
        for path in ["etc/conduit", "var/lib/conduit", "var/spool/conduit"] {
            #expect(!manager.fileExists(atPath: root.appending(path)), "\(path) is purged")
        }

        let unknown = try Self.install(["--root", root.path, "--frobnicate"])
        #expect(unknown.status == 64)
        #expect(unknown.errors.contains("unknown option --frobnicate") && unknown.errors.contains("usage:"))
    }

    /// The installed binary runs a broker from the installed configuration (endpoints moved to free loopback ports
    /// by flags), with CURVE on from the installed keys and authorisation: an organisation's installed key is
    /// acknowledged, an inspecting body's key may report an inspection, and a key the file does not list is refused.
    @Test func theInstalledBrokerAdmitsTheInstalledKeysOnly() throws {
        let root = try Self.installedRoot()
        let conduit = URL(fileURLWithPath: root.appending("usr/local/bin/conduit"))
        let keys = root.appending("etc/conduit/keys")
        let principals = try #require(
            (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root.appending("etc/conduit/authorisation.json"))))
                as? [String: Any])?["principals"] as? [Any])
        let errors = Pipe(), log = OutputCollector()
        log.start(errors.fileHandleForReading)
        let broker = try BrokerProcess(
            journalDirectory: root.appending("var/lib/conduit/journal"),
            extraArguments: ["--config", root.appending("etc/conduit/conduit.json"), "--http-address", "127.0.0.1:0"],
            executable: conduit, standardError: errors.fileHandleForWriting)
        defer { broker.stop() }
        #expect(broker.output.all.contains("curve ") && broker.output.all.contains("(\(principals.count) client keys)"), "\(broker.output.all)")
        let outboxes = TemporaryDirectory(prefix: "conduit-deploy-outbox")
        let connection = ["--ingest", broker.ingest, "--server-key", keys + "/broker.pub"]

        let progress = try ChildProcess.run(conduit, [
            "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
            "--percent", "45", "--id", "deploy-1", "--time", "2023-06-01T08:00:00+08:00",
            "--key", keys + "/power-supply-bureau.key", "--outbox", outboxes.appending("power"),
        ] + connection)
        #expect(progress.status == 0, "\(progress.errors)")
        #expect(progress.output.contains("acknowledged /power-supply-bureau/cli deploy-1: sequence"), "\(progress.output)")

        let inspection = try ChildProcess.run(conduit, [
            "publish", "inspection", "--org", "fire-rescue-brigade", "--work-item", "ganjiaba-power", "--status", "performed",
            "--inspection-kind", "fire_safety", "--result", "passed", "--id", "deploy-2", "--time", "2023-06-02T08:00:00+08:00",
            "--key", keys + "/fire-rescue-brigade.key", "--outbox", outboxes.appending("fire"),
        ] + connection)
        #expect(inspection.status == 0, "\(inspection.errors)")

        let stranger = outboxes.appending("stranger")
        #expect(try ChildProcess.run(conduit, ["keygen", "--owner", "power-supply-bureau", "--dir", stranger]).status == 0)
        let refused = try ChildProcess.run(conduit, [
            "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
            "--percent", "50", "--id", "deploy-3", "--timeout", "60", "--key", stranger + "/power-supply-bureau.key",
            "--outbox", outboxes.appending("stranger-outbox"),
        ] + connection)
        #expect(refused.status == 65, "refused, nothing stored: \(refused.output)\(refused.errors)")
        #expect(refused.errors.contains("refused this client's key"), "\(refused.errors)")
        #expect(Poll.until(60) { log.all.contains("auth.refused") }, "\(log.all)")
        broker.stop()
        #expect(broker.process.terminationStatus == 0)
    }

    /// The agent and the aggregator take their sections of the installed configuration: the agent its broker's key
    /// (with its organisation's installed key), the aggregator its own key, and both are served.
    @Test func theInstalledAgentAndAggregatorRunFromTheInstalledConfiguration() throws {
        let root = try Self.installedRoot()
        let conduit = URL(fileURLWithPath: root.appending("usr/local/bin/conduit"))
        let configuration = root.appending("etc/conduit/conduit.json")
        let broker = try BrokerProcess(
            journalDirectory: root.appending("var/lib/conduit/journal"),
            extraArguments: ["--config", configuration, "--http-address", "127.0.0.1:0"], executable: conduit)
        defer { broker.stop() }

        let line = #"{"specversion":"1.0","id":"deploy-agent-1","source":"/water-investment-company/agent","type":"conduit.progress","time":"2023-06-01T08:30:00Z","utility":"water","site":"ruijing-biyuan","workitem":"ruijing-biyuan-water","data":{"status":"in_progress","percent":30}}"#
        let agent = try ChildProcess.run(conduit, [
            "agent", "--config", configuration, "--org", "water-investment-company", "--ingest", broker.ingest,
            "--key", root.appending("etc/conduit/keys/water-investment-company.key"),
            "--outbox", root.appending("var/lib/conduit/outbox/water-investment-company"),
        ], input: Data((line + "\n").utf8))
        #expect(agent.status == 0, "\(agent.errors)")
        #expect(agent.output.contains("acknowledged deploy-agent-1: sequence"), "\(agent.output)\(agent.errors)")

        let aggregator = try RunningConduit([
            "aggregator", "--config", configuration, "--ingest", broker.ingest, "--fanout", broker.fanout, "--query", broker.query,
            "--snapshot", "tcp://127.0.0.1:*", "--http-address", "127.0.0.1:0",
        ], executable: conduit)
        #expect(Poll.until(60) { aggregator.output.all.contains("http http://") || !aggregator.isRunning }, "\(aggregator.errors.all)")
        let address = try #require(
            aggregator.output.lines().first { $0.hasPrefix("http http://") }.map { String($0.dropFirst("http http://".count)) },
            "\(aggregator.output.all)\(aggregator.errors.all)")
        #expect(Poll.until(60) { (try? HTTPProbe.get(address, "/readyz").status) == 200 }, "caught up through the query endpoint with its key")
        // Its snapshots go to the installed authorisation's readers (the coordinator), and to no other key.
        let snapshot = try #require(aggregator.output.lines().first { $0.hasPrefix("snapshot ") }.map { String($0.dropFirst("snapshot ".count)) })
        let keys = root.appending("etc/conduit/keys")
        let read = try ChildProcess.run(conduit, [
            "state", "--snapshot", snapshot, "--key", keys + "/coordinator.key", "--snapshot-server-key", keys + "/conduit.pub",
            "--json", "--path", "workitems/ruijing-biyuan-water",
        ])
        #expect(read.status == 0, "\(read.errors)")
        #expect(read.output.contains("\"percent\":30"), "\(read.output)")
        let utility = try ChildProcess.run(conduit, [
            "state", "--snapshot", snapshot, "--key", keys + "/water-investment-company.key", "--snapshot-server-key", keys + "/conduit.pub",
            "--json",
        ], timeout: 60)
        #expect(utility.status != 0, "an agent's key reads no snapshot")
        aggregator.signal(SIGTERM)
        #expect(aggregator.finish() == 0, "\(aggregator.errors.all)")

        // The dashboard follows the broker with the installed dashboard key and reads the installed journal.
        let dashboard = try RunningConduit([
            "dashboard", "--config", configuration, "--fanout", broker.fanout, "--query", broker.query, "--http-address", "127.0.0.1:0",
        ], executable: conduit)
        #expect(Poll.until(60) { dashboard.output.all.contains("dashboard http://") || !dashboard.isRunning }, "\(dashboard.errors.all)")
        let page = try #require(
            dashboard.output.lines().first { $0.hasPrefix("dashboard http://") }.map { String($0.dropFirst("dashboard http://".count).dropLast()) },
            "\(dashboard.output.all)\(dashboard.errors.all)")
        #expect(Poll.until(60) { (try? HTTPProbe.get(page, "/readyz").status) == 200 }, "caught up through the query endpoint with its key")
        #expect(try HTTPProbe.get(page, "/api/v1/state?path=workitems/ruijing-biyuan-water").body.contains("\"percent\":30"))
        dashboard.signal(SIGTERM)
        #expect(dashboard.finish() == 0, "\(dashboard.errors.all)")
        #expect(FileManager.default.fileExists(atPath: root.appending("var/lib/conduit/aggregator.checkpoint")))
    }
}
