import ArgumentParser
import Foundation
import Logging
import Synchronization

/// `--log-format` and `--log-level`: how a long-running command (broker, aggregator, agent) writes its log to
/// standard error.
struct LogOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "text (one readable line per record) or json (one JSON object per line: time, level, label, message, metadata, source).",
        valueName: "format"))
    var logFormat: String = "text"

    func validate() throws {
        guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json, not \(logFormat)") }
    }

    /// Sends every logger's records to standard error in the chosen format, from `level` up.
    func bootstrap(level: Logger.Level) {
        let format = LogFormat(rawValue: logFormat) ?? .text
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
