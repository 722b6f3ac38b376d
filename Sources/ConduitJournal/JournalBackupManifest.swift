#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a backup holds, written last into the backup directory as `backup.json`: the sequences it covers and every
/// file with its size and CRC-32C, so that `conduit journal verify` can tell a backup that is whole from one that was
/// cut short, truncated or altered since.
///
/// A backup writes the manifest twice: first, before anything else, with `complete` false (so that a backup cut off by
/// a crash or a kill is recognisably unfinished), and last, once every file is synced and renamed into place, with
/// `complete` true and the list of files. The checksums are CRC-32C: they catch accidental damage (a truncated copy, a
/// flipped bit, a lost write), not deliberate tampering.
public struct JournalBackupManifest: Sendable, Equatable {
    /// The manifest's file name in a backup directory.
    public static let fileName = "backup.json"
    /// The value of its `format` key.
    public static let format = "conduit-journal-backup/1"

    /// One file of the backup.
    public struct File: Sendable, Equatable {
        /// What the file is.
        public enum Kind: String, Sendable {
            /// A segment of the journal.
            case segment
            /// A sealed segment's index.
            case index
            /// A file copied beside the journal (a fold checkpoint, the aggregator's checkpoint).
            case companion
        }

        /// Its path relative to the backup directory.
        public var name: String
        public var kind: Kind
        /// Its size when the backup wrote it.
        public var bytes: UInt64
        /// The CRC-32C of those bytes.
        public var crc32c: UInt32
        /// For a segment: its first and last sequence (the last is `firstSequence - 1` when it holds no record).
        public var firstSequence: UInt64?
        public var lastSequence: UInt64?
        /// For a companion: the path it was copied from.
        public var source: String?

        public init(
            name: String, kind: Kind, bytes: UInt64, crc32c: UInt32, firstSequence: UInt64? = nil,
            lastSequence: UInt64? = nil, source: String? = nil
        ) {
            self.name = name
            self.kind = kind
            self.bytes = bytes
            self.crc32c = crc32c
            self.firstSequence = firstSequence
            self.lastSequence = lastSequence
            self.source = source
        }
    }

    /// Whether the backup finished: `false` in the manifest written when it began.
    public var complete: Bool
    /// The journal directory the backup copied.
    public var source: String
    /// When the backup began and finished, in microseconds since the Unix epoch.
    public var startedMicros: Int64
    public var finishedMicros: Int64?
    /// The sequences the backup holds: `firstSequence...lastSequence` (`lastSequence` is `firstSequence - 1` when it
    /// holds no record).
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// Every file of the backup, the journal's segments and indexes first, in sequence order.
    public var files: [File]

    public init(
        complete: Bool, source: String, startedMicros: Int64, finishedMicros: Int64? = nil, firstSequence: UInt64 = 0,
        lastSequence: UInt64 = 0, files: [File] = []
    ) {
        self.complete = complete
        self.source = source
        self.startedMicros = startedMicros
        self.finishedMicros = finishedMicros
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.files = files
    }

    /// The segment files, in sequence order.
    public var segments: [File] { files.filter { $0.kind == .segment } }
    /// Records in the backup.
    public var records: UInt64 { lastSequence &+ 1 &- firstSequence }
    /// Bytes of all files.
    public var bytes: UInt64 { files.reduce(0) { $0 + $1.bytes } }

    // MARK: Reading and writing

    /// The manifest as pretty-printed JSON, one file per line.
    public func encoded() -> [UInt8] {
        var lines: [String] = []
        lines.append("  \"format\": \(ManifestJSON.quote(Self.format))")
        lines.append("  \"complete\": \(complete)")
        lines.append("  \"source\": \(ManifestJSON.quote(source))")
        lines.append("  \"started\": \(ManifestJSON.quote(ManifestJSON.iso8601(startedMicros)))")
        lines.append("  \"startedMicros\": \(startedMicros)")
        if let finishedMicros {
            lines.append("  \"finished\": \(ManifestJSON.quote(ManifestJSON.iso8601(finishedMicros)))")
            lines.append("  \"finishedMicros\": \(finishedMicros)")
        }
        if complete {
            lines.append("  \"firstSequence\": \(firstSequence)")
            lines.append("  \"lastSequence\": \(lastSequence)")
            lines.append("  \"records\": \(records)")
            lines.append("  \"segments\": \(segments.count)")
            lines.append("  \"bytes\": \(bytes)")
        }
        let entries = files.map { file -> String in
            var fields = [
                "\"name\": \(ManifestJSON.quote(file.name))", "\"kind\": \"\(file.kind.rawValue)\"", "\"bytes\": \(file.bytes)",
                "\"crc32c\": \"\(ManifestJSON.hex(file.crc32c))\"",
            ]
            if let first = file.firstSequence { fields.append("\"firstSequence\": \(first)") }
            if let last = file.lastSequence { fields.append("\"lastSequence\": \(last)") }
            if let source = file.source { fields.append("\"source\": \(ManifestJSON.quote(source))") }
            return "    {" + fields.joined(separator: ", ") + "}"
        }
        lines.append("  \"files\": [" + (entries.isEmpty ? "]" : "\n" + entries.joined(separator: ",\n") + "\n  ]"))
        return Array(("{\n" + lines.joined(separator: ",\n") + "\n}\n").utf8)
    }

    /// Decodes a manifest; throws ``JournalError/Code/corrupt`` saying what is wrong with it.
    public static func decode(_ bytes: [UInt8], path: String = fileName) throws(JournalError) -> JournalBackupManifest {
        func damaged(_ why: String) -> JournalError { JournalError(.corrupt, "backup manifest damaged: \(why)", path: path) }
        guard let root = ManifestJSON.parse(bytes), case .object(let object) = root else { throw damaged("not a JSON object") }
        guard object.string("format") == format else { throw damaged("its format is not \(format)") }
        guard let complete = object.bool("complete"), let source = object.string("source"),
            let started = object.integer("startedMicros")
        else { throw damaged("complete, source or startedMicros missing") }
        var manifest = JournalBackupManifest(
            complete: complete, source: source, startedMicros: started,
            finishedMicros: object.integer("finishedMicros"))
        guard complete else { return manifest }
        guard let first = object.unsigned("firstSequence"), let last = object.unsigned("lastSequence"),
            case .array(let entries)? = object.value("files")
        else { throw damaged("firstSequence, lastSequence or files missing") }
        manifest.firstSequence = first
        manifest.lastSequence = last
        for entry in entries {
            guard case .object(let fields) = entry, let name = fields.string("name"),
                let kind = fields.string("kind").flatMap(File.Kind.init(rawValue:)), let size = fields.unsigned("bytes"),
                let crcText = fields.string("crc32c"), let crc = UInt32(crcText, radix: 16)
            else { throw damaged("a file entry lacks its name, kind, bytes or crc32c") }
            guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw damaged("file name \(name) leaves the backup directory")
            }
            manifest.files.append(
                File(
                    name: name, kind: kind, bytes: size, crc32c: crc, firstSequence: fields.unsigned("firstSequence"),
                    lastSequence: fields.unsigned("lastSequence"), source: fields.string("source")))
        }
        guard manifest.segments.allSatisfy({ $0.firstSequence != nil }) else { throw damaged("a segment lacks its firstSequence") }
        return manifest
    }

    /// The manifest of the backup in `directory`, or `nil` if there is none (a journal that is not a backup).
    public static func read(directory: String) throws(JournalError) -> JournalBackupManifest? {
        let path = directory + "/" + fileName
        guard POSIX.exists(path) else { return nil }
        return try decode(try POSIX.readAll(path), path: path)
    }

    // MARK: Checking

    /// What is wrong with the files in `directory` measured against this manifest: a file missing, shorter or longer
    /// than the backup wrote it, or with other bytes. An unfinished backup is one problem.
    ///
    /// A broker may have been started on the backup since: it appends to the newest segment, seals it, starts new
    /// segments and, with retention, removes the oldest. So the backup's newest segment may have grown (only the bytes
    /// the backup wrote are checked), segments after it are not the backup's business, and once the journal has grown
    /// past the backup, its oldest segments (and their indexes) may be gone. Anything else is damage.
    public func problems(in directory: String) -> [JournalProblem] {
        let manifestPath = directory + "/" + Self.fileName
        guard complete else {
            return [
                JournalProblem(
                    path: manifestPath, offset: 0, sequence: nil,
                    message: "the backup begun at \(ManifestJSON.iso8601(startedMicros)) did not finish (it was interrupted or crashed while copying): take it again")
            ]
        }
        let present = (try? Journal.segmentSequences(in: directory)) ?? []
        let listed = segments.compactMap(\.firstSequence)
        guard let newest = segments.last, let newestFirst = newest.firstSequence else {
            return [JournalProblem(path: manifestPath, offset: 0, sequence: nil, message: "the manifest lists no segment")]
        }
        let newestPath = directory + "/" + newest.name
        let continued =
            present.contains { $0 > newestFirst } || (POSIX.exists(newestPath) && Self.size(of: newestPath) > newest.bytes)
        let oldestPresent = present.first ?? .max
        var problems: [JournalProblem] = []
        for file in files {
            let path = directory + "/" + file.name
            guard POSIX.exists(path) else {
                let segmentFirst =
                    file.kind == .segment
                    ? file.firstSequence
                    : file.kind == .index ? JournalFormat.firstSequence(ofSegmentFileName: Self.segmentName(ofIndex: file.name)) : nil
                if continued, let segmentFirst, segmentFirst < oldestPresent { continue }  // retention, after the backup
                problems.append(
                    JournalProblem(
                        path: path, offset: 0, sequence: file.firstSequence,
                        message: "missing: the backup wrote it with \(file.bytes) byte(s)"))
                continue
            }
            let size = Self.size(of: path)
            let mayGrow = file.name == newest.name
            if size < file.bytes || (!mayGrow && size != file.bytes) {
                problems.append(
                    JournalProblem(
                        path: path, offset: min(size, file.bytes), sequence: nil,
                        message: size < file.bytes
                            ? "truncated: \(size) of the \(file.bytes) byte(s) the backup wrote"
                            : "\(size) byte(s) where the backup wrote \(file.bytes)"))
                continue
            }
            switch Self.checksum(path, bytes: file.bytes) {
            case .success(let crc) where crc == file.crc32c:
                continue
            case .success(let crc):
                problems.append(
                    JournalProblem(
                        path: path, offset: 0, sequence: nil,
                        message: "altered: the CRC-32C of its \(file.bytes) byte(s) is \(ManifestJSON.hex(crc)) where the backup wrote \(ManifestJSON.hex(file.crc32c))"))
            case .failure(let error):
                problems.append(JournalProblem(path: path, offset: 0, sequence: nil, message: "cannot be read: \(error)"))
            }
        }
        for first in present where first < newestFirst && !listed.contains(first) {
            problems.append(
                JournalProblem(
                    path: directory + "/" + JournalFormat.segmentFileName(firstSequence: first), offset: 0, sequence: first,
                    message: "not part of the backup: the manifest does not list this segment"))
        }
        return problems
    }

    private static func segmentName(ofIndex name: String) -> String {
        name.hasSuffix(".index") ? String(name.dropLast(".index".count)) + ".journal" : name
    }

    private static func size(of path: String) -> UInt64 {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_size) : 0
    }

    /// The CRC-32C of the first `bytes` bytes of `path`.
    static func checksum(_ path: String, bytes: UInt64) -> Result<UInt32, JournalError> {
        Result { () throws(JournalError) -> UInt32 in
            let fd = try POSIX.open(path, O_RDONLY)
            defer { close(fd) }
            let block = 1 << 20
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: block, alignment: 16)
            defer { buffer.deallocate() }
            var crc: UInt32 = 0
            var offset: UInt64 = 0
            while offset < bytes {
                let want = Int(min(UInt64(block), bytes - offset))
                let got = try POSIX.pread(fd, buffer, count: want, offset: offset, path: path)
                guard got > 0 else { break }
                crc = CRC32C.checksum(UnsafeRawPointer(buffer), count: got, seed: crc)
                offset += UInt64(got)
            }
            return crc
        }
    }
}

/// The little JSON the manifest needs, since the journal module uses no Foundation: a writer of strings and times, and
/// a reader of any JSON document that keeps numbers as their text (so 64-bit sequences stay exact).
enum ManifestJSON {
    indirect enum Value {
        case object([(String, Value)])
        case array([Value])
        case string(String)
        case number(String)
        case bool(Bool)
        case null
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Eight lower-case hex digits.
    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Microseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC).
    static func iso8601(_ micros: Int64) -> String {
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):"
            + "\(pad(rest % 60, 2)).\(pad(fraction, 6))Z"
    }

    /// The document in `bytes`, or `nil` if it is not JSON.
    static func parse(_ bytes: [UInt8]) -> Value? {
        var parser = Parser(bytes: bytes)
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        return parser.position == bytes.count ? value : nil
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            let utf8 = Array(word.utf8)
            guard position + utf8.count <= bytes.count, Array(bytes[position..<position + utf8.count]) == utf8 else {
                return false
            }
            position += utf8.count
            return true
        }

        mutating func value(depth: Int) -> Value? {
            guard depth < 64 else { return nil }
            skipSpace()
            guard position < bytes.count else { return nil }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var members: [(String, Value)] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
                    position += 1
                    guard let member = value(depth: depth + 1) else { return nil }
                    members.append((key, member))
                    skipSpace()
                    guard position < bytes.count else { return nil }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                    } else if bytes[position] == UInt8(ascii: "}") {
                        position += 1
                        return .object(members)
                    } else {
                        return nil
                    }
                }
            case UInt8(ascii: "["):
                position += 1
                var elements: [Value] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(elements)
                }
                while true {
                    guard let element = value(depth: depth + 1) else { return nil }
                    elements.append(element)
                    skipSpace()
                    guard position < bytes.count else { return nil }
                    if bytes[position] == UInt8(ascii: ",") {
                        position += 1
                    } else if bytes[position] == UInt8(ascii: "]") {
                        position += 1
                        return .array(elements)
                    } else {
                        return nil
                    }
                }
            case UInt8(ascii: "\""):
                return string().map(Value.string)
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            default:
                let start = position
                while position < bytes.count, "+-.eE0123456789".utf8.contains(bytes[position]) { position += 1 }
                guard position > start else { return nil }
                return .number(String(decoding: bytes[start..<position], as: UTF8.self))
            }
        }

        mutating func string() -> String? {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
            position += 1
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                run.removeAll()
            }
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush()
                    guard position < bytes.count else { return nil }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(code) {
                            guard literal("\\u"), let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        scalars.append(scalar)
                    default: return nil
                    }
                case 0..<0x20:
                    return nil
                default:
                    run.append(byte)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard position + 4 <= bytes.count,
                let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
            else { return nil }
            position += 4
            return value
        }
    }
}

extension [(String, ManifestJSON.Value)] {
    fileprivate func value(_ key: String) -> ManifestJSON.Value? { first { $0.0 == key }?.1 }

    fileprivate func string(_ key: String) -> String? {
        if case .string(let text)? = value(key) { return text }
        return nil
    }

    fileprivate func bool(_ key: String) -> Bool? {
        if case .bool(let flag)? = value(key) { return flag }
        return nil
    }

    fileprivate func unsigned(_ key: String) -> UInt64? {
        if case .number(let text)? = value(key) { return UInt64(text) }
        return nil
    }

    fileprivate func integer(_ key: String) -> Int64? {
        if case .number(let text)? = value(key) { return Int64(text) }
        return nil
    }
}
