import ConduitCore
import Foundation

/// One setting of a long-running command: its key in the configuration file, which is its long flag's name in
/// camelCase (`httpAddress` for `--http-address`), its environment variable (`CONDUIT_HTTP_ADDRESS`), its default
/// and what it does. A command's settings are listed once, in its ``SettingsSchema``; `--help`, the reference in
/// the documentation and the checks of a file all come from that list.
public struct SettingKey: Sendable {
    /// What a value must be.
    public enum Kind: Sendable {
        /// Any text (a JSON string in the file).
        case text
        /// A whole number (a JSON integer in the file).
        case whole
        /// A number (a JSON number in the file).
        case number
        /// `true` or `false` (a JSON boolean in the file; `true`, `false`, `1`, `0`, `yes`, `no` in the environment).
        case boolean
    }

    public let name: String
    public let kind: Kind
    /// The default as a reader sees it, or `nil` when the setting is off or follows from others unless given.
    public let defaultText: String?
    public let summary: String

    public init(_ name: String, _ kind: Kind, default defaultText: String? = nil, _ summary: String) {
        self.name = name
        self.kind = kind
        self.defaultText = defaultText
        self.summary = summary
    }

    /// A text setting.
    public init(_ name: String, default defaultText: String? = nil, _ summary: String) {
        self.init(name, .text, default: defaultText, summary)
    }

    /// `CONDUIT_` and the key's words in capitals, joined by underscores: `CONDUIT_DEDUPE_WINDOW`.
    public var environmentVariable: String { "CONDUIT_" + Self.words(name).joined(separator: "_").uppercased() }

    /// The key's words in lower case, joined by dashes: `--dedupe-window`.
    public var flag: String { "--" + Self.words(name).joined(separator: "-") }

    /// `dedupeWindow` → `["dedupe", "window"]`.
    static func words(_ name: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in name {
            if character.isUppercase, !current.isEmpty {
                words.append(current)
                current = ""
            }
            current.append(Character(character.lowercased()))
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}

/// The settings of one command: its section of the configuration file and its keys.
public struct SettingsSchema: Sendable {
    /// The command, and its section in the file: `broker`, `aggregator`, `agent`.
    public let section: String
    public let keys: [SettingKey]

    public init(section: String, keys: [SettingKey]) {
        precondition(Set(keys.map(\.name)).count == keys.count, "a key is listed twice in \(section)")
        self.section = section
        self.keys = keys
    }

    public func key(_ name: String) -> SettingKey? { keys.first { $0.name == name } }

    /// The `--help` text of a key's flag: its summary, default and environment variable.
    public func help(_ name: String) -> String {
        guard let key = key(name) else { preconditionFailure("no setting \(name) in \(section)") }
        let fallback = key.defaultText.map { "default \($0); " } ?? ""
        return "\(key.summary) (\(fallback)\(key.environmentVariable))"
    }

    /// The reference of every key, a line each: key, kind, default, environment variable, summary.
    public var reference: String {
        keys.map { key in
            let fallback = key.defaultText ?? "—"
            return "\(key.name)\t\(key.kind)\t\(fallback)\t\(key.environmentVariable)\t\(key.summary)"
        }.joined(separator: "\n")
    }
}

/// Where a setting's value came from.
public enum SettingOrigin: Sendable, Equatable, CustomStringConvertible {
    /// A member of a configuration file: the file and the member's JSON path.
    case file(String, path: String)
    /// A connection profile (see ``ConnectionProfile``): its name and the member's key.
    case profile(String, key: String)
    case environment(String)
    case flag(String)

    public var description: String {
        switch self {
        case .file(let file, let path): "\(path) in \(file)"
        case .profile(let name, let key): "\(key) of the profile \(name)"
        case .environment(let variable): variable
        case .flag(let flag): flag
        }
    }
}

/// A setting that is wrong, and where.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A command's settings, resolved from, in increasing priority: the defaults, the configuration file's section for
/// the command, a connection profile (clients and agents), the `CONDUIT_*` environment variables, and the flags. A value is checked against its key's kind
/// where it is given, so that an error names the file member, the variable or the flag that holds it.
public struct Settings: Sendable {
    public let schema: SettingsSchema
    /// The value of each key given anywhere, as text (`true`/`false` for booleans), and its origin.
    public private(set) var values: [String: (text: String, origin: SettingOrigin)]

    init(schema: SettingsSchema, values: [String: (text: String, origin: SettingOrigin)]) {
        self.schema = schema
        self.values = values
    }

    /// The value of `name`, if given anywhere.
    public func text(_ name: String) -> String? {
        precondition(schema.key(name) != nil, "no setting \(name) in \(schema.section)")
        return values[name]?.text
    }

    public func origin(_ name: String) -> SettingOrigin? { values[name]?.origin }

    public func whole(_ name: String) -> Int? { text(name).flatMap { Int($0) } }

    public func number(_ name: String) -> Double? { text(name).flatMap { Double($0) } }

    public func boolean(_ name: String) -> Bool? { text(name).map { $0 == "true" } }

    /// The settings of `schema`'s command.
    ///
    /// - Parameters:
    ///   - file: the configuration file (`--config`, else `CONDUIT_CONFIG`), if any.
    ///   - legacySection: read a file without a `format` member as this command's section (the broker's settings
    ///     files before the one-file format).
    ///   - profile: settings from a connection profile, above the file, below the environment and the flags.
    ///   - flags: the command line's values by key; `nil` when the flag was not given.
    public static func resolve(
        _ schema: SettingsSchema, file: String?, legacySection: Bool = false, profile: ConnectionProfile? = nil,
        environment: [String: String], flags: [String: String?]
    ) throws(SettingsError) -> Settings {
        var values: [String: (text: String, origin: SettingOrigin)] = [:]
        if let path = file ?? environment["CONDUIT_CONFIG"] {
            for (name, entry) in try ConfigurationFile.read(path, legacySection: legacySection).section(schema) {
                values[name] = entry
            }
        }
        if let profile {
            for (name, text) in profile.values where schema.key(name) != nil {
                values[name] = (text, .profile(profile.name, key: name))
            }
        }
        for key in schema.keys {
            guard let text = environment[key.environmentVariable] else { continue }
            values[key.name] = (try checked(text, key: key, origin: .environment(key.environmentVariable)), .environment(key.environmentVariable))
        }
        for (name, given) in flags {
            guard let key = schema.key(name) else { preconditionFailure("no setting \(name) in \(schema.section)") }
            guard let given else { continue }
            values[name] = (try checked(given, key: key, origin: .flag(key.flag)), .flag(key.flag))
        }
        return Settings(schema: schema, values: values)
    }

    /// A number as a setting's text: `3`, not `3.0`; `0.5`.
    public static func text(of number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    /// `text` if it is a value of `key`'s kind, in its canonical form.
    static func checked(_ text: String, key: SettingKey, origin: SettingOrigin) throws(SettingsError) -> String {
        switch key.kind {
        case .text:
            return text
        case .whole:
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw SettingsError("\(origin) must be a whole number, got \"\(text)\"")
            }
            return String(value)
        case .number:
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw SettingsError("\(origin) must be a number, got \"\(text)\"")
            }
            return Settings.text(of: value)
        case .boolean:
            switch text.lowercased() {
            case "true", "1", "yes": return "true"
            case "false", "0", "no": return "false"
            default: throw SettingsError("\(origin) must be true or false, got \"\(text)\"")
            }
        }
    }
}

/// The configuration file, `conduit-config/1`: one JSON object with a `format` member and a section per command,
/// each an object of that command's settings by key.
///
/// ```json
/// { "format": "conduit-config/1",
///   "broker": { "data": "/var/lib/conduit/journal", "httpAddress": "127.0.0.1:9570" },
///   "aggregator": { "checkpoint": "/var/lib/conduit/aggregator.checkpoint" },
///   "agent": { "ingest": "tcp://10.0.0.5:5570" } }
/// ```
///
/// A section a command does not read, or a key its section does not know, is an error naming it: a misspelt
/// key never passes silently.
public struct ConfigurationFile: Sendable {
    public static let format = "conduit-config/1"
    /// The sections the file may hold.
    public static let sections = SettingsSchema.all.map(\.section)

    public let path: String
    let root: [JSONValue.Member]
    let legacy: Bool

    /// Reads and parses the file; with `legacySection`, a file without `format` is one command's section.
    public static func read(_ path: String, legacySection: Bool = false) throws(SettingsError) -> ConfigurationFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SettingsError("cannot read the settings file \(path): \(error.localizedDescription)")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(Array(data)) } catch {
            throw SettingsError("the settings file \(path) is not valid: \(error)")
        }
        guard case .object(let members) = value else {
            throw SettingsError("the settings file \(path) is not valid: $ must be an object")
        }
        switch value["format"] {
        case .string(format):
            for member in members where member.key != "format" && !sections.contains(member.key) {
                throw SettingsError(
                    "the settings file \(path) is not valid: \(JSONPath.member("$", member.key)) is not a section (\(sections.joined(separator: ", ")))")
            }
            return ConfigurationFile(path: path, root: members, legacy: false)
        case nil where legacySection:
            return ConfigurationFile(path: path, root: members, legacy: true)
        case .string(let other):
            throw SettingsError("the settings file \(path) is not valid: $.format must be \"\(format)\", got \"\(other)\"")
        default:
            throw SettingsError("the settings file \(path) is not valid: $.format must be \"\(format)\"")
        }
    }

    /// The values of `schema`'s section, checked against its keys.
    func section(_ schema: SettingsSchema) throws(SettingsError) -> [String: (text: String, origin: SettingOrigin)] {
        let base = legacy ? "$" : JSONPath.member("$", schema.section)
        let members: [JSONValue.Member]
        if legacy {
            members = root
        } else {
            switch JSONValue.object(root)[schema.section] {
            case nil: return [:]
            case .object(let section)?: members = section
            default: throw SettingsError("the settings file \(path) is not valid: \(base) must be an object")
            }
        }
        var values: [String: (text: String, origin: SettingOrigin)] = [:]
        for member in members {
            let at = JSONPath.member(base, member.key)
            guard let key = schema.key(member.key) else {
                throw SettingsError(
                    "the settings file \(path) is not valid: \(at) is not a setting of \(schema.section) (see conduit config keys \(schema.section))")
            }
            let origin = SettingOrigin.file(path, path: at)
            let text: String
            switch (key.kind, member.value) {
            case (.text, .string(let value)): text = value
            case (.whole, .number(let value)) where Int(value) != nil: text = value
            case (.number, .number(let value)): text = value
            case (.boolean, .bool(let value)): text = value ? "true" : "false"
            case (_, .null): continue
            default:
                let expected = [SettingKey.Kind.text: "a string", .whole: "a whole number", .number: "a number", .boolean: "true or false"][key.kind]!
                throw SettingsError("the settings file \(path) is not valid: \(at) must be \(expected), got \(String(decoding: member.value.encoded, as: UTF8.self))")
            }
            values[key.name] = (try Settings.checked(text, key: key, origin: origin), origin)
        }
        return values
    }
}
