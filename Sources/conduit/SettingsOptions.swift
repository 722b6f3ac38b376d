import ArgumentParser
import ConduitOperations
import Foundation
import Logging

/// `--config` and `--show-settings`: where a long-running command's settings come from, and a way to see them.
struct SettingsOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The configuration file (conduit-config/1: a section per command; see conduit config keys). Its values come below the CONDUIT_* environment variables and the flags (CONDUIT_CONFIG).",
        valueName: "file"))
    var config: String?

    @Flag(help: "Print every setting with its value and where it came from (file, environment, flag or default), then exit.")
    var showSettings = false

    /// The command's settings: the file (a broker also reads its settings files from before conduit-config/1), the
    /// environment, `flags`. A wrong value (of the wrong kind, or out of its range) ends the command with its origin
    /// and status 64, --show-settings too; with --show-settings the settings are printed and the command ends with
    /// status 0.
    ///
    /// `derivedDefaults` gives the defaults that follow from other settings (a hub's stream from its name), for
    /// --show-settings to print as they will be.
    func resolve(
        _ schema: SettingsSchema, profile: ConnectionProfile? = nil, flags: [String: String?],
        derivedDefaults: (Settings) -> [String: String] = { _ in [:] }
    ) throws -> Settings {
        let settings: Settings
        do {
            settings = try Settings.resolve(
                schema, file: config, legacySection: schema.section == "broker", profile: profile,
                environment: ProcessInfo.processInfo.environment, flags: flags)
            try Self.check(settings)
        } catch {
            throw RuntimeFailure.exit(schema.section == SettingsSchema.bridge.section ? "bridge nats" : schema.section, "\(error)", status: RuntimeFailure.usage)
        }
        if showSettings {
            print(Self.listing(settings, derivedDefaults: derivedDefaults(settings)))
            throw ExitCode.success
        }
        return settings
    }

    /// The settings as `--show-settings` prints them: a line per key, its value (or default) and its origin.
    static func listing(_ settings: Settings, derivedDefaults: [String: String] = [:]) -> String {
        let width = settings.schema.keys.map(\.name.count).max() ?? 0
        return settings.schema.keys.map { key in
            let name = key.name.padding(toLength: width, withPad: " ", startingAt: 0)
            if let value = settings.values[key.name] {
                return "\(name)  \(value.text)  (\(value.origin))"
            }
            return "\(name)  \(derivedDefaults[key.name] ?? key.defaultText ?? "—")  (default)"
        }.joined(separator: "\n")
    }

    /// The checks of values' ranges and forms beyond their kinds: the shared log and HTTP settings, then the command's
    /// own. What `conduit config check` holds a file to, and what a command checks before it prints its settings or
    /// starts.
    static func check(_ settings: Settings) throws {
        try checkOperations(settings)
        switch settings.schema.section {
        case BrokerCommand.schema.section: try BrokerCommand.check(settings)
        case SettingsSchema.agent.section: try AgentCommand.check(settings)
        case SettingsSchema.bridge.section: try BridgeNATS.check(settings)
        default: break
        }
    }

    /// The log and HTTP settings every long-running command shares, checked where they were given.
    private static func checkOperations(_ settings: Settings) throws {
        if settings.schema.key("httpAddress") != nil, let address = settings.text("httpAddress") {
            let origin = settings.origin("httpAddress")!
            guard let (host, _) = hostAndPort(address), !host.isEmpty else {
                throw SettingsError("\(origin) must be host:port (e.g. 127.0.0.1:9570; port 0 picks one); got \"\(address)\"")
            }
            // The operations endpoint of the broker, the aggregator and the agent listens on an IPv4 address.
            var parsed = in_addr()
            if settings.schema.section != SettingsSchema.dashboard.section, inet_pton(AF_INET, host, &parsed) != 1 {
                throw SettingsError("\(origin) must have an IPv4 address as its host (e.g. 127.0.0.1:9570); got \"\(address)\"")
            }
        }
        if let format = settings.text("logFormat"), LogFormat(rawValue: format) == nil {
            throw SettingsError("\(settings.origin("logFormat")!) must be text or json, not \(format)")
        }
        if let level = settings.text("logLevel"), Logger.Level(rawValue: level) == nil {
            throw SettingsError(
                "\(settings.origin("logLevel")!) must be one of trace, debug, info, notice, warning, error, critical; got \"\(level)\"")
        }
    }
}
