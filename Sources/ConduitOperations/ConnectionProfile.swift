import ConduitCore
import Foundation

/// A named set of a hub's endpoints and keys (`conduit-profile/1`), so that `publish`, `watch`, `state`, `replay`
/// and an agent reach a hub with `--profile <name>` instead of its endpoints and key files on every command line.
///
/// Profiles are files `<name>.json` in the profile directory: `CONDUIT_PROFILE_DIR`, else
/// `$XDG_CONFIG_HOME/conduit/profiles`, else `~/.config/conduit/profiles`. A command uses the profile named by
/// `--profile`, else by `CONDUIT_PROFILE`, else the one `conduit profile use` selected. Its values come below the
/// environment and the flags.
public struct ConnectionProfile: Sendable, Equatable {
    public static let format = "conduit-profile/1"

    /// The keys a profile may hold, and what they are.
    public static let keys: [(name: String, summary: String)] = [
        ("ingest", "the broker's ingest endpoint"),
        ("fanout", "the broker's fan-out endpoint"),
        ("query", "the broker's query endpoint"),
        ("snapshot", "an aggregator's snapshot endpoint"),
        ("key", "this client's secret key file"),
        ("serverKey", "the broker's public key file"),
        ("snapshotServerKey", "the aggregator's public key file"),
    ]

    public var name: String
    public var description: String?
    /// The profile's values by key (those of ``keys``).
    public var values: [String: String]

    public init(name: String, description: String? = nil, values: [String: String]) {
        self.name = name
        self.description = description
        self.values = values
    }

    /// Whether `name` may name a profile: letters, digits, `-`, `_` and `.`, not starting with a dot.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0) }
    }

    /// The profile directory for this environment.
    public static func directory(environment: [String: String]) -> String {
        if let directory = environment["CONDUIT_PROFILE_DIR"], !directory.isEmpty { return directory }
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty { return config + "/conduit/profiles" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.config/conduit/profiles"
    }

    /// The profile a command uses: `flag`, else `CONDUIT_PROFILE`, else the selected one; `nil` when none is named.
    public static func chosen(flag: String?, environment: [String: String]) throws(SettingsError) -> ConnectionProfile? {
        let directory = directory(environment: environment)
        let name: String
        if let flag {
            name = flag
        } else if let variable = environment["CONDUIT_PROFILE"], !variable.isEmpty {
            name = variable
        } else if let selected = selected(directory: directory) {
            name = selected
        } else {
            return nil
        }
        return try load(name, directory: directory)
    }

    /// The name `conduit profile use` selected, if any.
    public static func selected(directory: String) -> String? {
        guard let data = FileManager.default.contents(atPath: directory + "/current") else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }

    /// Reads the profile `name` from `directory`.
    public static func load(_ name: String, directory: String) throws(SettingsError) -> ConnectionProfile {
        guard isValidName(name) else {
            throw SettingsError("\"\(name)\" is not a profile name (letters, digits, -, _ and ., not starting with a dot)")
        }
        let path = directory + "/" + name + ".json"
        guard let data = FileManager.default.contents(atPath: path) else {
            let known = names(directory: directory)
            throw SettingsError(
                "no profile \(name) in \(directory)" + (known.isEmpty ? " (there are none: make one with conduit profile save)" : " (there are: \(known.joined(separator: ", ")))"))
        }
        return try parse(Array(data), name: name, path: path)
    }

    /// The profiles in `directory`, by name.
    public static func names(directory: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.filter(isValidName).sorted()
    }

    /// Parses a profile file's text.
    public static func parse(_ bytes: [UInt8], name: String, path: String) throws(SettingsError) -> ConnectionProfile {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch { throw SettingsError("the profile \(path) is not valid: \(error)") }
        guard case .object(let members) = value else { throw SettingsError("the profile \(path) is not valid: $ must be an object") }
        guard value["format"] == .string(format) else {
            throw SettingsError("the profile \(path) is not valid: $.format must be \"\(format)\"")
        }
        var profile = ConnectionProfile(name: name, values: [:])
        for member in members where member.key != "format" {
            let at = JSONPath.member("$", member.key)
            guard case .string(let text) = member.value else {
                throw SettingsError("the profile \(path) is not valid: \(at) must be a string")
            }
            if member.key == "description" {
                profile.description = text
            } else if keys.contains(where: { $0.name == member.key }) {
                profile.values[member.key] = text
            } else {
                throw SettingsError(
                    "the profile \(path) is not valid: \(at) is not a profile key (\(keys.map(\.name).joined(separator: ", ")))")
            }
        }
        return profile
    }

    /// The profile as its file's text.
    public var encoded: [UInt8] {
        var members = [JSONValue.Member("format", .string(Self.format))]
        if let description { members.append(.init("description", .string(description))) }
        for key in Self.keys { if let value = values[key.name] { members.append(.init(key.name, .string(value))) } }
        return JSONValue.object(members).indented + [UInt8(ascii: "\n")]
    }
}
