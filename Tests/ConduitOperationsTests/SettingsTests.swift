import ConduitOperations
import Foundation
import Testing

/// Settings resolve from the defaults, the file, the environment and the flags, in that order, and a wrong value is
/// reported where it was given.
struct SettingsTests {
    /// A file in a temporary directory holding `text`.
    func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "conduit-settings-\(UUID().uuidString).json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: SettingsSchema.all)
    func eachLayerOverridesTheOneBefore(_ schema: SettingsSchema) throws {
        // Four text keys of the command: one left to its default, one from the file, one from the environment over
        // the file, one from a flag over both.
        let names = schema.keys.filter { $0.kind == .text }.prefix(4).map(\.name)
        #expect(names.count == 4)
        let path = try file(
            #"{"format": "conduit-config/1", "\#(schema.section)": {"\#(names[1])": "file", "\#(names[2])": "file", "\#(names[3])": "file"}}"#)
        let environment = [schema.key(names[2])!.environmentVariable: "environment", schema.key(names[3])!.environmentVariable: "environment"]
        let settings = try Settings.resolve(schema, file: path, environment: environment, flags: [names[3]: "flag", names[0]: nil])
        #expect(settings.text(names[0]) == nil)
        #expect(settings.text(names[1]) == "file")
        #expect(settings.origin(names[1]) == .file(path, path: JSONPathText.member(schema.section, names[1])))
        #expect(settings.text(names[2]) == "environment")
        #expect(settings.origin(names[2]) == .environment(schema.key(names[2])!.environmentVariable))
        #expect(settings.text(names[3]) == "flag")
        #expect(settings.origin(names[3]) == .flag(schema.key(names[3])!.flag))
    }

    @Test func theFileIsNamedByConduitConfigWhenNoFlagNamesIt() throws {
        let path = try file(#"{"format": "conduit-config/1", "broker": {"data": "/srv/journal"}}"#)
        let settings = try Settings.resolve(.broker, file: nil, environment: ["CONDUIT_CONFIG": path], flags: [:])
        #expect(settings.text("data") == "/srv/journal")
    }

    @Test func keysAreFlagsInCamelCaseAndVariablesInCapitals() {
        let key = SettingsSchema.broker.key("connectionsPerAddress")!
        #expect(key.flag == "--connections-per-address")
        #expect(key.environmentVariable == "CONDUIT_CONNECTIONS_PER_ADDRESS")
        #expect(SettingsSchema.agent.key("httpAddress")!.environmentVariable == "CONDUIT_HTTP_ADDRESS")
    }

    @Test func aBrokerFileWithoutAFormatIsTheBrokersSection() throws {
        let path = try file(#"{"data": "/srv/journal", "dedupeWindow": 10}"#)
        let settings = try Settings.resolve(.broker, file: path, legacySection: true, environment: [:], flags: [:])
        #expect(settings.text("data") == "/srv/journal")
        #expect(settings.whole("dedupeWindow") == 10)
        #expect(throws: SettingsError.self) { try Settings.resolve(.aggregator, file: path, environment: [:], flags: [:]) }
    }

    @Test func wrongValuesAreReportedWhereTheyWereGiven() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return ""
        }
        let unknown = try file(#"{"format": "conduit-config/1", "broker": {"dedupWindow": 3}}"#)
        #expect(message { _ = try Settings.resolve(.broker, file: unknown, environment: [:], flags: [:]) }
            .contains("\(unknown) is not valid: broker.dedupWindow is not a setting of broker"))
        let kind = try file(#"{"format": "conduit-config/1", "broker": {"dedupeWindow": "many"}}"#)
        #expect(message { _ = try Settings.resolve(.broker, file: kind, environment: [:], flags: [:]) }
            .contains("broker.dedupeWindow must be a whole number, got \"many\""))
        let section = try file(#"{"format": "conduit-config/1", "brokre": {}}"#)
        #expect(message { _ = try Settings.resolve(.broker, file: section, environment: [:], flags: [:]) }
            .contains("brokre is not a section"))
        let format = try file(#"{"format": "conduit-config/2"}"#)
        #expect(message { _ = try Settings.resolve(.agent, file: format, environment: [:], flags: [:]) }
            .contains("format must be \"conduit-config/1\""))
        #expect(message { _ = try Settings.resolve(.broker, file: nil, environment: ["CONDUIT_DEDUPE_WINDOW": "x"], flags: [:]) }
            == "CONDUIT_DEDUPE_WINDOW must be a whole number, got \"x\"")
        #expect(message { _ = try Settings.resolve(.aggregator, file: nil, environment: ["CONDUIT_NO_ALERTS": "maybe"], flags: [:]) }
            == "CONDUIT_NO_ALERTS must be true or false, got \"maybe\"")
        #expect(message { _ = try Settings.resolve(.agent, file: nil, environment: [:], flags: ["drainTimeout": "soon"]) }
            == "--drain-timeout must be a number, got \"soon\"")
        #expect(message { _ = try Settings.resolve(.broker, file: "/nonexistent/conduit.json", environment: [:], flags: [:]) }
            .contains("cannot read the settings file /nonexistent/conduit.json"))
    }

    @Test func aProfileComesBelowTheEnvironmentAndTheFlags() throws {
        let profile = ConnectionProfile(name: "county", values: ["ingest": "tcp://10.0.0.1:5570", "query": "tcp://10.0.0.1:5572", "fanout": "tcp://10.0.0.1:5571"])
        let settings = try Settings.resolve(
            .client, file: nil, profile: profile, environment: ["CONDUIT_QUERY": "tcp://env:5572"], flags: ["fanout": "tcp://flag:5571"])
        #expect(settings.text("ingest") == "tcp://10.0.0.1:5570")
        #expect(settings.origin("ingest") == .profile("county", key: "ingest"))
        #expect(settings.text("query") == "tcp://env:5572")
        #expect(settings.text("fanout") == "tcp://flag:5571")
    }

    @Test func profilesRoundTripAndRejectUnknownKeys() throws {
        let profile = ConnectionProfile(name: "hub", description: "the county hub", values: ["ingest": "tcp://h:5570", "key": "/etc/k.key"])
        #expect(try ConnectionProfile.parse(profile.encoded, name: "hub", path: "hub.json") == profile)
        #expect(throws: SettingsError.self) {
            try ConnectionProfile.parse(Array(#"{"format": "conduit-profile/1", "ingset": "x"}"#.utf8), name: "p", path: "p.json")
        }
        #expect(throws: SettingsError.self) {
            try ConnectionProfile.parse(Array(#"{"ingest": "x"}"#.utf8), name: "p", path: "p.json")
        }
        #expect(!ConnectionProfile.isValidName("../etc/passwd"))
        #expect(!ConnectionProfile.isValidName(".hidden"))
        #expect(ConnectionProfile.isValidName("county-2.prod_a"))
    }

    @Test func theChosenProfileIsTheFlagsThenTheVariablesThenTheSelectedOne() throws {
        let directory = NSTemporaryDirectory() + "conduit-profiles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ["a", "b", "c"] {
            try Data(ConnectionProfile(name: name, values: ["ingest": "tcp://\(name):5570"]).encoded)
                .write(to: URL(fileURLWithPath: directory + "/\(name).json"))
        }
        var environment = ["CONDUIT_PROFILE_DIR": directory]
        #expect(try ConnectionProfile.chosen(flag: nil, environment: environment) == nil)
        try Data("c\n".utf8).write(to: URL(fileURLWithPath: directory + "/current"))
        #expect(try ConnectionProfile.chosen(flag: nil, environment: environment)?.name == "c")
        environment["CONDUIT_PROFILE"] = "b"
        #expect(try ConnectionProfile.chosen(flag: nil, environment: environment)?.name == "b")
        #expect(try ConnectionProfile.chosen(flag: "a", environment: environment)?.name == "a")
        do {
            _ = try ConnectionProfile.chosen(flag: "d", environment: environment)
            Issue.record("a missing profile is an error")
        } catch {
            #expect(error.description.contains("no profile d in \(directory) (there are: a, b, c)"))
        }
    }
}

/// The member paths errors name, as the configuration file's reader writes them.
enum JSONPathText {
    static func member(_ section: String, _ key: String) -> String { "\(section).\(key)" }
}

/// The Configuration article lists every key as `conduit config keys` does.
struct ConfigurationArticleTests {
    @Test func theArticleListsEveryKeyWithItsDefaultAndVariable() throws {
        let article = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/ConduitOperations/Documentation.docc/Configuration.md")
        let text = try String(contentsOf: article, encoding: .utf8)
        for schema in SettingsSchema.all {
            let heading = "(`\(schema.section)` section)"
            let start = try #require(text.range(of: heading), "a table for \(schema.section)")
            let table = text[start.upperBound...].prefix { _ in true }.split(separator: "\n###").first ?? ""
            for key in schema.keys {
                let fallback = key.defaultText.map { "`\($0)`" } ?? "—"
                #expect(
                    table.contains("| `\(key.name)` | \(key.kind) | \(fallback) | `\(key.environmentVariable)` | \(key.summary) |"),
                    "\(schema.section).\(key.name) is in the article as the schema has it")
            }
        }
    }
}
