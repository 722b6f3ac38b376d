#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one segment holds.
public struct SegmentStatistics: Sendable {
    /// The segment file.
    public var path: String
    /// The first sequence (from the file name).
    public var firstSequence: UInt64
    /// The last sequence (`firstSequence - 1` for an empty segment).
    public var lastSequence: UInt64
    /// How many records it holds.
    public var records: UInt64
    /// The file's size in bytes.
    public var bytes: UInt64
    /// The recorded time of its first record (microseconds since the Unix epoch); `nil` when empty.
    public var firstTime: Int64?
    /// The latest recorded time in it (microseconds since the Unix epoch); `nil` when empty.
    public var maxTime: Int64?
    /// Whether a valid index file was used (sealed segments) rather than a scan.
    public var indexed: Bool
    /// For the newest segment: the bytes after its last valid record, if any. Readers stop there.
    public var tail: JournalTail? = nil
}

/// Bytes at the end of the newest segment that are not a complete, valid record: a tail torn by a crash in
/// mid-write (a broker cuts it off when it next opens the journal), or a record a running broker is writing
/// at this moment. Offline readers stop in front of them and leave the file as it is.
public struct JournalTail: Sendable, Hashable, CustomStringConvertible {
    /// The segment file.
    public var path: String
    /// Where its valid records end.
    public var offset: UInt64
    /// How many bytes follow them.
    public var bytes: UInt64
    /// The sequence the first record there would carry.
    public var nextSequence: UInt64
    /// Why the bytes at `offset` are not a record.
    public var reason: String
    /// A valid record found after the damage: then the tail is not torn but damaged, and the records from
    /// `nextSequence` on are not read (`conduit journal verify` says more).
    public var recordAfter: Position?

    /// Where a record lies in the segment.
    public struct Position: Sendable, Hashable {
        public var sequence: UInt64
        public var offset: UInt64

        public init(sequence: UInt64, offset: UInt64) {
            self.sequence = sequence
            self.offset = offset
        }
    }

    /// A tail of `bytes` bytes at `offset` of `path`.
    public init(path: String, offset: UInt64, bytes: UInt64, nextSequence: UInt64, reason: String) {
        self.path = path
        self.offset = offset
        self.bytes = bytes
        self.nextSequence = nextSequence
        self.reason = reason
    }

    /// The file, the offset, the size and the reason on one line.
    public var description: String {
        var text = "\(path) at byte \(offset): \(bytes) byte(s) are not a complete record (\(reason)); sequence \(nextSequence) would be next"
        if let later = recordAfter {
            text += "; a valid record with sequence \(later.sequence) follows at byte \(later.offset)"
        }
        return text
    }
}

/// The journal's segments, records, sequence and time ranges and size.
public struct JournalStatistics: Sendable {
    /// Each segment, oldest first.
    public var segments: [SegmentStatistics]
    /// Records in all segments.
    public var records: UInt64 { segments.reduce(0) { $0 + $1.records } }
    /// Bytes of all segment files.
    public var bytes: UInt64 { segments.reduce(0) { $0 + $1.bytes } }
    /// The oldest sequence, if there is a record.
    public var firstSequence: UInt64? { segments.first(where: { $0.records > 0 })?.firstSequence }
    /// The newest sequence, if there is a record.
    public var lastSequence: UInt64? { segments.last(where: { $0.records > 0 })?.lastSequence }
    /// The recorded time of the oldest record (microseconds since the Unix epoch).
    public var firstTime: Int64? { segments.first(where: { $0.records > 0 })?.firstTime }
    /// The latest recorded time in the journal (microseconds since the Unix epoch).
    public var maxTime: Int64? { segments.compactMap(\.maxTime).max() }
    /// The bytes after the newest segment's last valid record, if any (see ``JournalTail``).
    public var tail: JournalTail? { segments.last?.tail }
}

/// The outcome of checking every record and index of a journal.
public struct JournalVerification: Sendable {
    /// Segments checked.
    public var segments = 0
    /// Valid records read.
    public var records: UInt64 = 0
    /// Bytes of all segment files.
    public var bytes: UInt64 = 0
    /// Damage to records or segment headers, or sequences missing: the journal is not sound.
    public var errors: [JournalProblem] = []
    /// Missing or damaged index files (rebuilt on the next open) and an incomplete tail of the newest
    /// segment (not yet written, or torn by a crash; cut off on the next open).
    public var warnings: [JournalProblem] = []
    /// The manifest of a backup (``JournalBackupManifest``), when the directory holds one: its files were checked
    /// against it, and what does not match is among the errors.
    public var backup: JournalBackupManifest?
    /// Whether every record is intact and sequences are contiguous (and a backup's files match its manifest).
    public var isSound: Bool { errors.isEmpty }
}

/// Offline checks of a journal directory, safe while a broker writes it: they only read.
public enum JournalInspector {
    /// Checks every record (framing, checksum, contiguous sequences), every segment header, and every sealed
    /// segment's index against its records. In a backup (a directory with a ``JournalBackupManifest``), also checks
    /// that the backup finished and that its files are the ones it wrote.
    public static func verify(directory: String) throws(JournalError) -> JournalVerification {
        var result = JournalVerification()
        var manifestProblems: [JournalProblem] = []
        do {
            result.backup = try JournalBackupManifest.read(directory: directory)
            manifestProblems = result.backup?.problems(in: directory) ?? []
        } catch where error.code == .corrupt {
            manifestProblems = [JournalProblem(path: error.path ?? directory, offset: 0, sequence: nil, message: error.message)]
        }
        let firsts = try Journal.segmentSequences(in: directory)
        guard !firsts.isEmpty else {
            // A backup cut off before its first segment was in place says so, rather than that it is no journal.
            if !manifestProblems.isEmpty {
                result.errors = manifestProblems
                return result
            }
            throw JournalError(.notAJournal, "no segment files", path: directory)
        }
        for (i, first) in firsts.enumerated() {
            let path = directory + "/" + JournalFormat.segmentFileName(firstSequence: first)
            let indexPath = directory + "/" + JournalFormat.indexFileName(firstSequence: first)
            let isLast = i == firsts.count - 1
            let index: SegmentSummary? = POSIX.exists(indexPath) ? (try? POSIX.readAll(indexPath)).flatMap(SegmentSummary.decode) : nil
            var pending = index?.entries ?? []
            var entryIndex = 0
            var entryMismatch: JournalProblem?
            var maxBefore = Int64.min
            let scan = try SegmentScanner.scan(path: path, firstSequence: first, indexInterval: 64 << 10) { record in
                while entryIndex < pending.count && pending[entryIndex].offset <= record.offset {
                    let entry = pending[entryIndex]
                    if entryMismatch == nil
                        && (entry.offset != record.offset || entry.sequence != record.sequence
                            || entry.maxTimeBefore != maxBefore)
                    {
                        entryMismatch = JournalProblem(
                            path: indexPath, offset: UInt64(JournalFormat.indexHeaderLength + entryIndex * JournalFormat.indexEntryLength),
                            sequence: entry.sequence, message: "index entry does not match the record at byte \(entry.offset)")
                    }
                    entryIndex += 1
                }
                if record.recordedTime > maxBefore { maxBefore = record.recordedTime }
            }
            pending = []
            result.segments += 1
            result.records += scan.summary.recordCount
            result.bytes += scan.fileSize
            if !scan.headerValid {
                result.errors.append(
                    JournalProblem(path: path, offset: 0, sequence: first, message: scan.stop?.reason ?? "segment header damaged"))
                continue
            }
            if let stop = scan.stop {
                let problem = JournalProblem(
                    path: path, offset: stop.offset, sequence: scan.summary.nextSequence,
                    message: isLast
                        ? "\(scan.fileSize - stop.offset) byte(s) at the tail are not a complete record (\(stop.reason)): not yet durable, or torn by a crash and cut off on the next open"
                        : "sealed segment damaged: \(stop.reason)")
                if isLast { result.warnings.append(problem) } else { result.errors.append(problem) }
            }
            if !isLast {
                let damaged = scan.stop != nil
                let following = firsts[i + 1]
                if !damaged && scan.summary.nextSequence != following {
                    result.errors.append(
                        JournalProblem(
                            path: path, offset: scan.summary.endOffset, sequence: scan.summary.nextSequence,
                            message: "segment ends at sequence \(scan.summary.lastSequence) but the next one starts at \(following)"))
                }
                if damaged {
                    // The index cannot be checked against records that cannot be read.
                } else if !POSIX.exists(indexPath) {
                    result.warnings.append(
                        JournalProblem(path: indexPath, offset: 0, sequence: nil, message: "index missing (rebuilt on the next open)"))
                } else if let index {
                    var problem = entryMismatch
                    if problem == nil && entryIndex != index.entries.count {
                        problem = JournalProblem(path: indexPath, offset: 0, sequence: nil, message: "index has entries past the last record")
                    }
                    if problem == nil
                        && (index.recordCount != scan.summary.recordCount || index.endOffset != scan.summary.endOffset
                            || index.firstTime != scan.summary.firstTime || index.maxTime != scan.summary.maxTime)
                    {
                        problem = JournalProblem(
                            path: indexPath, offset: 0, sequence: nil, message: "index header does not match the segment")
                    }
                    if let problem { result.warnings.append(problem) }
                } else {
                    result.warnings.append(
                        JournalProblem(path: indexPath, offset: 0, sequence: nil, message: "index damaged (rebuilt on the next open)"))
                }
            }
        }
        result.errors += manifestProblems
        return result
    }

    /// Segments, records, sequence and time ranges and bytes, and the newest segment's incomplete tail. Sealed
    /// segments are read from their index files when these are valid; others are scanned.
    public static func statistics(directory: String) throws(JournalError) -> JournalStatistics {
        let firsts = try Journal.segmentSequences(in: directory)
        guard !firsts.isEmpty else { throw JournalError(.notAJournal, "no segment files", path: directory) }
        var segments: [SegmentStatistics] = []
        for (i, first) in firsts.enumerated() {
            let path = directory + "/" + JournalFormat.segmentFileName(firstSequence: first)
            let fd = try POSIX.open(path, O_RDONLY)
            defer { Glibc.close(fd) }
            let size = try POSIX.fileSize(fd, path: path)
            var summary: SegmentSummary?
            if i < firsts.count - 1 {
                summary = SegmentScanner.loadIndex(
                    indexPath: directory + "/" + JournalFormat.indexFileName(firstSequence: first), segmentDescriptor: fd,
                    segmentPath: path, firstSequence: first)
            }
            let indexed = summary != nil
            var tail: JournalTail?
            if summary == nil {
                let scan = try SegmentScanner.scan(descriptor: fd, path: path, firstSequence: first, indexInterval: 1 << 30)
                summary = scan.summary
                if i == firsts.count - 1, let stop = scan.stop, scan.fileSize > stop.offset {
                    tail = JournalTail(
                        path: path, offset: stop.offset, bytes: scan.fileSize - stop.offset,
                        nextSequence: scan.summary.nextSequence, reason: stop.reason)
                    if scan.headerValid {
                        tail?.recordAfter = try SegmentScanner.findRecord(
                            descriptor: fd, path: path, after: stop.offset, fileSize: scan.fileSize,
                            sequence: scan.summary.nextSequence
                        ).map { JournalTail.Position(sequence: $0.sequence, offset: $0.offset) }
                    }
                }
            }
            let s = summary!
            segments.append(
                SegmentStatistics(
                    path: path, firstSequence: first, lastSequence: s.lastSequence, records: s.recordCount, bytes: size,
                    firstTime: s.recordCount > 0 ? s.firstTime : nil, maxTime: s.recordCount > 0 ? s.maxTime : nil,
                    indexed: indexed, tail: tail))
        }
        return JournalStatistics(segments: segments)
    }
}
