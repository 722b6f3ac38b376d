import ArgumentParser
import ConduitOperations
import Foundation
import ZeroMQ

/// `conduit profile`: named connection profiles (a hub's endpoints and keys), as `nats context` keeps them.
struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Save, list, show, select and remove connection profiles: a hub's endpoints and key files under a name.",
        discussion: """
            publish, watch, state, replay and agent take --profile <name> (or CONDUIT_PROFILE, or the profile \
            selected with `conduit profile use`) instead of a hub's endpoints and key files. A profile's values come \
            below the CONDUIT_* environment variables and the flags. With a profile that names a snapshot endpoint, \
            `conduit state` asks that aggregator unless --dir is given; with one that names a query endpoint, \
            `conduit replay` replays through that broker unless --dir is given.

            Profiles are files <name>.json (conduit-profile/1) in CONDUIT_PROFILE_DIR, else \
            $XDG_CONFIG_HOME/conduit/profiles, else ~/.config/conduit/profiles.

            Example:
              conduit profile save county --ingest tcp://10.1.0.5:5570 --fanout tcp://10.1.0.5:5571 \\
                --query tcp://10.1.0.5:5572 --snapshot tcp://10.1.0.5:5573 \\
                --key keys/housing-bureau.key --server-key keys/broker.pub --snapshot-server-key keys/conduit.pub
              conduit profile use county
              conduit state            # the county hub's aggregator
              conduit watch --kind outage
            """,
        subcommands: [Save.self, List.self, Show.self, Use.self, Remove.self])

    static var directory: String { ConnectionProfile.directory(environment: ProcessInfo.processInfo.environment) }

    static func load(_ name: String) throws -> ConnectionProfile {
        do { return try ConnectionProfile.load(name, directory: directory) } catch {
            throw RuntimeFailure.exit("profile", "\(error)", status: RuntimeFailure.notFound)
        }
    }

    struct Save: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save a profile (replacing one of the same name); key files are checked and kept by absolute path.")

        @Argument(help: "The profile's name: letters, digits, -, _ and .")
        var name: String

        @Option(help: ArgumentHelp("What the profile is for.", valueName: "text"))
        var description: String?

        @Option(help: ArgumentHelp("The broker's ingest endpoint.", valueName: "endpoint")) var ingest: String?
        @Option(help: ArgumentHelp("The broker's fan-out endpoint.", valueName: "endpoint")) var fanout: String?
        @Option(help: ArgumentHelp("The broker's query endpoint.", valueName: "endpoint")) var query: String?
        @Option(help: ArgumentHelp("An aggregator's snapshot endpoint.", valueName: "endpoint")) var snapshot: String?
        @Option(help: ArgumentHelp("This client's secret key file.", valueName: "file")) var key: String?
        @Option(help: ArgumentHelp("The broker's public key file.", valueName: "file")) var serverKey: String?
        @Option(help: ArgumentHelp("The aggregator's public key file.", valueName: "file")) var snapshotServerKey: String?

        func validate() throws {
            guard ConnectionProfile.isValidName(name) else {
                throw ValidationError("\"\(name)\" is not a profile name (letters, digits, -, _ and ., not starting with a dot)")
            }
            if (key == nil) != (serverKey == nil && snapshotServerKey == nil) {
                throw ValidationError("--key goes with --server-key or --snapshot-server-key (this client's key, and the server's public key)")
            }
        }

        func run() throws {
            var values: [String: String] = [:]
            for (name, value) in [("ingest", ingest), ("fanout", fanout), ("query", query), ("snapshot", snapshot)] {
                if let value { values[name] = value }
            }
            let current = FileManager.default.currentDirectoryPath
            for (name, option, path) in [
                ("key", "--key", key), ("serverKey", "--server-key", serverKey), ("snapshotServerKey", "--snapshot-server-key", snapshotServerKey),
            ] {
                guard let path else { continue }
                let absolute = path.hasPrefix("/") ? path : current + "/" + path
                do { _ = try CurveKeyFile.read(absolute) } catch { throw ValidationError("\(option): \(error)") }
                values[name] = (absolute as NSString).standardizingPath
            }
            guard !values.isEmpty else { throw ValidationError("a profile needs at least one endpoint or key") }
            let profile = ConnectionProfile(name: name, description: description, values: values)
            let directory = ProfileCommand.directory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // Written whole under another name and renamed in: a reader never sees half a profile.
            let path = directory + "/" + name + ".json"
            try Data(profile.encoded).write(to: URL(fileURLWithPath: path), options: .atomic)
            print("saved profile \(name) in \(path)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the profiles; * marks the selected one.")

        func run() throws {
            let directory = ProfileCommand.directory
            let names = ConnectionProfile.names(directory: directory)
            if names.isEmpty {
                print("no profiles in \(directory) (make one with conduit profile save)")
                return
            }
            let selected = ConnectionProfile.selected(directory: directory)
            for name in names {
                let description = (try? ConnectionProfile.load(name, directory: directory))?.description.map { "  \($0)" } ?? ""
                print("\(name == selected ? "*" : " ") \(name)\(description)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a profile (default: the selected one).")

        @Argument(help: "The profile's name.")
        var name: String?

        func run() throws {
            guard let name = name ?? ConnectionProfile.selected(directory: ProfileCommand.directory) else {
                throw ValidationError("no profile selected: name one, or select one with conduit profile use")
            }
            let profile = try ProfileCommand.load(name)
            print("profile \(profile.name)\(profile.description.map { ": \($0)" } ?? "")")
            for key in ConnectionProfile.keys {
                if let value = profile.values[key.name] { print("  \(key.name) \(value)") }
            }
        }
    }

    struct Use: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Select the profile commands use when neither --profile nor CONDUIT_PROFILE names one; --none selects none.")

        @Argument(help: "The profile's name.")
        var name: String?

        @Flag(help: "Select no profile.")
        var none = false

        func run() throws {
            let path = ProfileCommand.directory + "/current"
            if none {
                try? FileManager.default.removeItem(atPath: path)
                print("no profile selected")
                return
            }
            guard let name else { throw ValidationError("name a profile, or --none") }
            _ = try ProfileCommand.load(name)
            try Data((name + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            print("selected profile \(name)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a profile (and its selection).")

        @Argument(help: "The profile's name.")
        var name: String

        func run() throws {
            let directory = ProfileCommand.directory
            _ = try ProfileCommand.load(name)
            try FileManager.default.removeItem(atPath: directory + "/" + name + ".json")
            if ConnectionProfile.selected(directory: directory) == name { try? FileManager.default.removeItem(atPath: directory + "/current") }
            print("removed profile \(name)")
        }
    }
}
