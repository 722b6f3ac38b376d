import ArgumentParser
import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation


/// `conduit journal …`: operator commands on a journal directory. They only read it (a backup writes elsewhere), so
/// they are safe to run while a broker writes the journal.
struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Inspect the broker's journal: verify it, print its statistics, dump records, back it up.",
        subcommands: [JournalVerify.self, JournalStats.self, JournalDump.self, JournalBackupCommand.self, JournalAppendTest.self]
    )
}

/// The journal directory option every journal command takes: `--dir`, which must name a directory.
struct ExistingJournalDirectory: ParsableArguments {
    @OptionGroup var option: JournalDirectoryOption

    var dir: String { option.dir }

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("no journal directory at \(dir)")
        }
    }
}

struct JournalVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every record and index of a journal.",
        discussion: """
            Reads every segment: each record's framing, CRC-32C and sequence, each segment header, and each sealed \
            segment's index. Exit status: 0 when every record is intact and sequences are contiguous; 1 when a \
            record, header or sequence range is damaged or missing; 2 when the records are sound but an index is \
            missing or damaged or the newest segment ends in an incomplete record (both repaired on the next open). \
            In a backup (conduit journal backup), also checks that the backup finished and that its files are the \
            ones its manifest, backup.json, lists: a backup cut off, truncated or altered is damaged (1).
            """
    )

    @OptionGroup var directory: ExistingJournalDirectory

    func run() async throws {
        let result: JournalVerification
        do {
            result = try JournalInspector.verify(directory: directory.dir)
        } catch {
            throw RuntimeFailure.exit("journal verify", "\(error)", status: RuntimeFailure.failure)
        }
        print("\(result.segments) segment(s), \(result.records) record(s), \(result.bytes) byte(s) checked")
        if let backup = result.backup, backup.complete {
            let sequences = backup.records > 0 ? "sequences \(backup.firstSequence)...\(backup.lastSequence)" : "no records"
            print(
                "backup of \(backup.source) taken \(formatTime(backup.startedMicros)): \(sequences); "
                    + "\(backup.files.count) file(s) checked against \(JournalBackupManifest.fileName)")
        }
        for problem in result.errors { print("ERROR   \(problem)") }
        for problem in result.warnings { print("WARNING \(problem)") }
        if !result.isSound {
            print("journal is damaged")
            throw ExitCode(1)
        }
        if !result.warnings.isEmpty {
            print("records are sound; see the warnings")
            throw ExitCode(2)
        }
        print("journal is sound")
    }
}

struct JournalStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print a journal's segments, records, sequence and time ranges and size."
    )

    @OptionGroup var directory: ExistingJournalDirectory

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        let stats: JournalStatistics
        do {
            stats = try JournalInspector.statistics(directory: directory.dir)
        } catch {
            throw RuntimeFailure.exit("journal stats", "\(error)", status: RuntimeFailure.failure)
        }
        if json {
            var object: [String: Any] = [
                "segments": stats.segments.count, "records": stats.records, "bytes": stats.bytes,
            ]
            if let first = stats.firstSequence, let last = stats.lastSequence {
                object["firstSequence"] = first
                object["lastSequence"] = last
            }
            if let first = stats.firstTime, let last = stats.maxTime {
                object["firstTime"] = formatTime(first)
                object["lastTime"] = formatTime(last)
            }
            object["segmentFiles"] = stats.segments.map { segment -> [String: Any] in
                [
                    "path": segment.path, "firstSequence": segment.firstSequence, "lastSequence": segment.lastSequence,
                    "records": segment.records, "bytes": segment.bytes,
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("segments:  \(stats.segments.count)")
        print("records:   \(stats.records)")
        print("bytes:     \(stats.bytes)")
        if let first = stats.firstSequence, let last = stats.lastSequence {
            print("sequences: \(first) ... \(last)")
        } else {
            print("sequences: none")
        }
        if let first = stats.firstTime, let last = stats.maxTime {
            print("time:      \(formatTime(first)) ... \(formatTime(last))")
        }
        for segment in stats.segments {
            let name = URL(fileURLWithPath: segment.path).lastPathComponent
            let range = segment.records > 0 ? "\(segment.firstSequence)...\(segment.lastSequence)" : "empty"
            print("  \(name)  \(range)  \(segment.records) record(s)  \(segment.bytes) bytes")
        }
    }
}

struct JournalDump: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print records as JSON lines, within a sequence or time window.",
        discussion: """
            Each line holds sequence, recordedTime (ISO 8601, UTC) and recordedTimeMicros, topic, and event: the \
            event's JSON when it is JSON, else eventBase64. Times (--since, --until) are ISO 8601 \
            (2023-12-31T08:00:00Z) or microseconds since the Unix epoch. Only complete records are printed; the \
            command is safe while a broker writes the journal.
            """
    )

    @OptionGroup var directory: ExistingJournalDirectory

    @Option(name: .customLong("from-seq"), help: "The first sequence to print.")
    var fromSequence: UInt64?

    @Option(name: .customLong("to-seq"), help: "The last sequence to print.")
    var toSequence: UInt64?

    @Option(name: .long, help: "Print records recorded at or after this time.")
    var since: String?

    @Option(name: .long, help: "Print records recorded before this time.")
    var until: String?

    @Option(name: .long, help: "Print at most this many records.")
    var limit: Int?

    func validate() throws {
        if let since, parseTime(since) == nil { throw ValidationError("--since: not a time: \(since)") }
        if let until, parseTime(until) == nil { throw ValidationError("--until: not a time: \(until)") }
        if let fromSequence, let toSequence, toSequence < fromSequence {
            throw ValidationError("--to-seq \(toSequence) is before --from-seq \(fromSequence)")
        }
    }

    func run() async throws {
        let sinceTime = since.flatMap(parseTime)
        let untilTime = until.flatMap(parseTime)
        let output = FileHandle.standardOutput
        var pending = Data()
        do {
            let reader: JournalReader
            if let fromSequence {
                reader = try JournalReader.open(directory: directory.dir, from: fromSequence)
            } else if let sinceTime {
                reader = try JournalReader.open(directory: directory.dir, fromTime: sinceTime)
            } else {
                let stats = try JournalInspector.statistics(directory: directory.dir)
                reader = try JournalReader.open(
                    directory: directory.dir, from: stats.segments.first?.firstSequence ?? 1)
            }
            var printed = 0
            var done = false
            while !done {
                let count = try reader.read(maxRecords: 1024) { record in
                    if done { return }
                    if let toSequence, record.sequence > toSequence { done = true; return }
                    if let sinceTime, record.recordedTime < sinceTime { return }
                    if let untilTime, record.recordedTime >= untilTime { return }
                    if let limit, printed >= limit { done = true; return }
                    pending.append(contentsOf: jsonLine(record).utf8)
                    pending.append(0x0A)
                    printed += 1
                }
                if pending.count > 0 {
                    output.write(pending)
                    pending.removeAll(keepingCapacity: true)
                }
                if count == 0 { break }
            }
        } catch let error as JournalError {
            // Print what was read before the damage, then the error.
            if pending.count > 0 { output.write(pending) }
            throw RuntimeFailure.exit("journal dump", "\(error)", status: RuntimeFailure.failure)
        }
    }

    /// One line, keys in order. The event is written as its stored bytes when they are one line of JSON (what the
    /// broker stores), so every character of it is shown as stored; anything else as base64.
    private func jsonLine(_ record: JournalRecordView) -> String {
        var line = "{"
        if isOneLineOfJSON(record.event) {
            line += "\"event\":" + String(decoding: record.event, as: UTF8.self) + ","
        } else {
            line += "\"eventBase64\":\"" + Data(record.event).base64EncodedString() + "\","
        }
        line += "\"recordedTime\":\"\(formatTime(record.recordedTime))\",\"recordedTimeMicros\":\(record.recordedTime),"
        line += "\"sequence\":\(record.sequence),"
        if let topic = String(validating: record.topic, as: UTF8.self) {
            line += "\"topic\":" + jsonString(topic)
        } else {
            line += "\"topicBase64\":\"" + Data(record.topic).base64EncodedString() + "\""
        }
        return line + "}"
    }

    private func isOneLineOfJSON(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.contains(0x0A), !bytes.contains(0x0D), String(validating: bytes, as: UTF8.self) != nil else { return false }
        return (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
    }
}

/// `text` as a JSON string: quotes, backslashes and control characters escaped, everything else as it is.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// A time given as ISO 8601 or as microseconds since the Unix epoch, in microseconds.
func parseTime(_ text: String) -> Int64? {
    if let micros = Int64(text) { return micros }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    formatter.formatOptions = [.withInternetDateTime]
    if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    return nil
}

/// Microseconds since the Unix epoch as ISO 8601 UTC with microseconds.
func formatTime(_ micros: Int64) -> String {
    let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
    let fraction = micros - seconds * 1_000_000
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    let text = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    let digits = String(fraction)
    return text.dropLast() + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
}

/// `conduit journal append-test`: appends deterministic records forever and prints `durable N` after each
/// batch is durable. Hidden: the crash-consistency test runs it and kills it with SIGKILL.
struct JournalAppendTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-test",
        abstract: "Append test records forever, printing each durable sequence (for crash tests).",
        shouldDisplay: false
    )

    @OptionGroup var directory: ExistingJournalDirectory

    @Option(name: .long, help: "Segment size in bytes.")
    var segmentSize: Int = 256 << 10

    @Option(name: .long, help: "Seed for batch sizes.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Largest batch, in records; each batch has a random size up to it.")
    var maxBatch: Int = 64

    @Option(name: .long, help: "Stop after this many records (default: never).")
    var count: UInt64?

    func run() async throws {
        var options = JournalOptions()
        options.segmentSize = segmentSize
        options.indexInterval = 4096
        let (journal, report) = try Journal.open(directory: directory.dir, options: options)
        var line = "open last=\(journal.lastSequence) clean=\(report.isClean)\n"
        writeToStandardOutput(line)
        var random = SplitMix64(seed: seed ^ journal.nextSequence)
        let batch = JournalBatch()
        var appended: UInt64 = 0
        while count.map({ appended < $0 }) ?? true {
            let size = 1 + Int(random.next() % UInt64(maxBatch))
            for _ in 0..<size {
                let sequence = journal.nextSequence + UInt64(batch.count)
                try batch.append(
                    sequence: sequence, recordedTime: TestPattern.time(sequence), topic: TestPattern.topic(sequence),
                    event: TestPattern.event(sequence))
            }
            appended += UInt64(size)
            let durable = try journal.commit(batch)
            line = "durable \(durable)\n"
            writeToStandardOutput(line)
        }
        try journal.close()
    }
}

/// Writes `text` to file descriptor 1 at once, unbuffered, so that a parent reading the pipe sees each line
/// as soon as it is printed, even if this process is then killed.
private func writeToStandardOutput(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var done = 0
        while done < bytes.count {
            let n = write(1, bytes.baseAddress! + done, bytes.count - done)
            if n <= 0 { return }
            done += n
        }
    }
}
