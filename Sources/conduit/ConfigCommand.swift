import ArgumentParser
import ConduitOperations
import Foundation

/// `conduit config`: the configuration file's keys, and a check of a file.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "List the settings of broker, aggregator, agent, dashboard and bridge, and check a configuration file (conduit-config/1).",
        discussion: """
            One file configures every long-running command on a machine: a JSON object with "format": \
            "conduit-config/1" and a section per command ("broker", "aggregator", "agent", "dashboard", "bridge" for conduit bridge nats), each holding that \
            command's settings by key. A key is the command's long flag in camelCase (--http-address: httpAddress), \
            where the command has the flag (the broker's tuning keys have none: conduit config keys lists them all); \
            its environment variable is CONDUIT_ and the key in capitals (CONDUIT_HTTP_ADDRESS). A command reads \
            the defaults, then its section of the file (--config or CONDUIT_CONFIG), then the environment, then its \
            flags, each overriding the one before; `conduit <command> --show-settings` prints the result.

            Example:
              { "format": "conduit-config/1",
                "broker": { "data": "/var/lib/conduit/journal", "httpAddress": "127.0.0.1:9570", "logFormat": "json" },
                "aggregator": { "checkpoint": "/var/lib/conduit/aggregator.checkpoint" },
                "agent": { "ingest": "tcp://hub.example:5570", "serverKey": "/etc/conduit/keys/broker.pub" } }
            """,
        subcommands: [Keys.self, Check.self])

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every setting of a command (or of all): key, kind, default, environment variable, what it does.")

        @Argument(help: "broker, aggregator, agent, dashboard or bridge (default: all five).")
        var command: String?

        func run() throws {
            let schemas: [SettingsSchema]
            if let command {
                guard let schema = SettingsSchema.all.first(where: { $0.section == command }) else {
                    throw ValidationError("no settings for \"\(command)\": broker, aggregator, agent, dashboard or bridge")
                }
                schemas = [schema]
            } else {
                schemas = SettingsSchema.all
            }
            for (index, schema) in schemas.enumerated() {
                if index > 0 { print("") }
                print("[\(schema.section)]")
                print("key\tkind\tdefault\tenvironment\twhat it does")
                print(schema.reference)
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a configuration file: every section against its command's keys, kinds and ranges, as the command checks them when it starts. Exit status 65 when invalid.")

        @Argument(help: ArgumentHelp("The file.", valueName: "file"))
        var file: String

        func run() throws {
            do {
                _ = try ConfigurationFile.read(file)
                var counts: [String] = []
                for schema in SettingsSchema.all {
                    let settings = try Settings.resolve(schema, file: file, environment: [:], flags: [:])
                    try SettingsOptions.check(settings)
                    if !settings.values.isEmpty { counts.append("\(schema.section) \(settings.values.count)") }
                }
                print("\(file): valid (\(counts.isEmpty ? "no settings" : counts.joined(separator: ", ")))")
            } catch {
                throw RuntimeFailure.exit("config check", "\(error)", status: 65)
            }
        }
    }
}
