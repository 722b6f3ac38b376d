import ArgumentParser
import Foundation
import Logging
import ConduitOperations
import Synchronization

/// `--log-format` and `--log-level`: how a long-running command (broker, aggregator, agent) writes its log to
/// standard error. Both are settings of the command (`logFormat`, `logLevel` in its section of the configuration
/// file, `CONDUIT_LOG_FORMAT`, `CONDUIT_LOG_LEVEL`).
struct LogOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "text (one readable line per record) or json (one JSON object per line: time, level, label, message, metadata, source); default text (CONDUIT_LOG_FORMAT).",
        valueName: "format"))
    var logFormat: String?

    @Option(help: ArgumentHelp(
        "The least level logged: trace, debug, info, notice, warning, error, critical (CONDUIT_LOG_LEVEL).", valueName: "level"))
    var logLevel: String?

    /// The flags as settings.
    var flags: [String: String?] { ["logFormat": logFormat, "logLevel": logLevel] }

    /// Sends every logger's records to standard error in the format and from the level the settings give (checked
    /// by ``SettingsOptions``), else text from `level`.
    static func bootstrap(_ settings: Settings, level: Logger.Level) {
        let format = settings.text("logFormat").flatMap(LogFormat.init(rawValue:)) ?? .text
        let level = settings.text("logLevel").flatMap(Logger.Level.init(rawValue:)) ?? level
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

enum LogFormat: String {
    case text
    case json
}

/// A log handler that writes each record to standard error as one JSON object on a line of its own, with stable
/// keys: `time` (RFC 3339, UTC, microseconds), `level`, `label`, `message`, `metadata` (an object of strings; nested
/// values are written as their text) and `source` (the module).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    /// One line is written at a time, whatever the thread.
    private static let output = Mutex(())

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = Self.line(
            time: Date(), level: event.level, label: label, message: "\(event.message)", metadata: merged, source: event.source)
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// The record as a line of JSON, newline included.
    static func line(
        time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, source: String
    ) -> String {
        var fields = [
            "\"time\":" + quoted(timestamp(time)), "\"level\":" + quoted(level.rawValue), "\"label\":" + quoted(label),
            "\"message\":" + quoted(message),
        ]
        let members = metadata.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + quoted("\($0.value)") }
        fields.append("\"metadata\":{" + members.joined(separator: ",") + "}")
        fields.append("\"source\":" + quoted(source))
        return "{" + fields.joined(separator: ",") + "}\n"
    }

    static func timestamp(_ date: Date) -> String {
        let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = time_t(microseconds / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-" + padded(Int(parts.tm_mday), 2)
            + "T" + padded(Int(parts.tm_hour), 2) + ":" + padded(Int(parts.tm_min), 2) + ":" + padded(Int(parts.tm_sec), 2)
            + "." + padded(Int(microseconds % 1_000_000), 6) + "Z"
    }

    static func quoted(_ text: String) -> String { jsonString(text) }
}
