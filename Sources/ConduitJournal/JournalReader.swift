#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads records in sequence order, in large blocks, checking every record's checksum and sequence.
///
/// A reader opened from a ``Journal`` (or ``JournalReaders``) in the writer's process sees only durable
/// records. A reader opened with ``open(directory:from:)`` from another process (an offline replay while the
/// broker runs) reads until the first incomplete or invalid record at the tail of the newest segment and
/// treats it as not yet written; reading again later continues from there. Damage anywhere else is thrown
/// as ``JournalError/Code/corrupt`` with the file and offset; nothing is skipped.
///
/// While a reader is positioned in a segment it holds a shared `flock` on it, so retention does not remove it.
/// A reader belongs to one thread; it is not `Sendable`.
public final class JournalReader {
    enum Source {
        case live(JournalCatalog)
        case directory(String)
    }

    private let source: Source
    private let directory: String
    private var segmentFirst: UInt64
    private var path: String
    private var descriptor: Int32 = -1
    private var block: BlockReader
    private var offset: UInt64
    /// The sequence of the next record this reader reads from the file (before any skipping).
    private var expected: UInt64
    private var limit: UInt64 = 0
    private var skipBelowSequence: UInt64
    private var skipBelowTime: Int64?
    private var runningMaxTime: Int64
    /// The bytes read from the file at a time (more for a longer record).
    private let bufferBytes: Int

    /// The sequence of the next record to be read.
    public var nextSequence: UInt64 { max(expected, skipBelowSequence) }

    init(
        source: Source, start: JournalCatalog.Start, skipBelowSequence: UInt64 = 0, skipBelowTime: Int64? = nil,
        bufferBytes: Int = JournalReader.defaultBufferBytes
    ) throws(JournalError) {
        self.bufferBytes = max(4096, bufferBytes)
        self.source = source
        switch source {
        case .live(let catalog): directory = catalog.directory
        case .directory(let path): directory = path
        }
        segmentFirst = start.firstSequence
        path = directory + "/" + JournalFormat.segmentFileName(firstSequence: start.firstSequence)
        offset = start.offset
        expected = start.sequence
        runningMaxTime = start.runningMaxTime
        self.skipBelowSequence = skipBelowSequence
        self.skipBelowTime = skipBelowTime
        block = BlockReader(descriptor: -1, path: path, blockSize: 0)
        try openSegment(start.firstSequence)
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// Releases the segment the reader holds. Further reads throw.
    public func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    // MARK: Opening from another process

    /// Opens a reader of the journal in `directory` without a writer in this process, from `sequence` on.
    public static func open(directory: String, from sequence: UInt64) throws(JournalError) -> JournalReader {
        let firsts = try Journal.segmentSequences(in: directory)
        guard let oldest = firsts.first else { throw JournalError(.notAJournal, "no segment files", path: directory) }
        guard sequence >= oldest else {
            throw JournalError(
                .notAvailable, "sequence \(sequence) is no longer in the journal; the oldest is \(oldest)", path: directory)
        }
        let first = firsts.last(where: { $0 <= sequence })!
        var start = JournalCatalog.Start(
            firstSequence: first, offset: UInt64(JournalFormat.segmentHeaderLength), sequence: first, runningMaxTime: .min)
        if let index = loadIndex(directory: directory, firstSequence: first), let entry = index.entry(forSequence: sequence) {
            start.offset = entry.offset
            start.sequence = entry.sequence
        }
        return try JournalReader(source: .directory(directory), start: start, skipBelowSequence: sequence)
    }

    /// Opens a reader of the journal in `directory` without a writer in this process, from the first record
    /// whose recorded time (microseconds since the Unix epoch) is at or after `time`.
    public static func open(directory: String, fromTime time: Int64) throws(JournalError) -> JournalReader {
        let firsts = try Journal.segmentSequences(in: directory)
        guard !firsts.isEmpty else { throw JournalError(.notAJournal, "no segment files", path: directory) }
        var start: JournalCatalog.Start?
        for first in firsts {
            let header = UInt64(JournalFormat.segmentHeaderLength)
            guard let index = loadIndex(directory: directory, firstSequence: first) else {
                start = JournalCatalog.Start(firstSequence: first, offset: header, sequence: first, runningMaxTime: .min)
                break
            }
            if index.recordCount > 0 && index.maxTime >= time {
                let entry = index.entry(forTime: time)
                start = JournalCatalog.Start(
                    firstSequence: first, offset: entry?.offset ?? header, sequence: entry?.sequence ?? first,
                    runningMaxTime: entry?.maxTimeBefore ?? .min)
                break
            }
        }
        let last = firsts[firsts.count - 1]
        return try JournalReader(
            source: .directory(directory),
            start: start
                ?? JournalCatalog.Start(
                    firstSequence: last, offset: UInt64(JournalFormat.segmentHeaderLength), sequence: last,
                    runningMaxTime: .min),
            skipBelowTime: time)
    }

    private static func loadIndex(directory: String, firstSequence: UInt64) -> SegmentSummary? {
        let path = directory + "/" + JournalFormat.segmentFileName(firstSequence: firstSequence)
        guard let fd = try? POSIX.open(path, O_RDONLY) else { return nil }
        defer { Glibc.close(fd) }
        return SegmentScanner.loadIndex(
            indexPath: directory + "/" + JournalFormat.indexFileName(firstSequence: firstSequence), segmentDescriptor: fd,
            segmentPath: path, firstSequence: firstSequence)
    }

    // MARK: Reading

    /// The next record, copied; `nil` when no further durable record exists yet (call again later to follow
    /// the journal as it grows).
    public func next() throws(JournalError) -> JournalRecord? {
        while let record = try step() {
            if accept(record) { return JournalRecordView(record).copy() }
        }
        return nil
    }

    /// The bytes a reader reads from the file at a time, unless told otherwise.
    public static let defaultBufferBytes = 1 << 20

    /// Calls `body` with up to `maxRecords` records read in place (no copy per record), and returns how many
    /// it passed. Returns fewer (or 0) when it reaches the end of the durable records, or once the records passed
    /// add up to `maxBytes` (their frames; the record that reaches it is passed).
    @discardableResult
    public func read(maxRecords: Int = .max, maxBytes: Int = .max, _ body: (JournalRecordView) throws -> Void) throws -> Int {
        var count = 0
        var bytes = 0
        while count < maxRecords, bytes < maxBytes, let record = try step() {
            guard accept(record) else { continue }
            try body(JournalRecordView(record))
            count += 1
            bytes += record.length
        }
        return count
    }

    @inline(__always)
    private func accept(_ record: ScannedRecord) -> Bool {
        if record.sequence < skipBelowSequence { return false }
        if let time = skipBelowTime {
            if record.recordedTime > runningMaxTime { runningMaxTime = record.recordedTime }
            if runningMaxTime < time { return false }
            skipBelowTime = nil
        }
        return true
    }

    private func corrupt(_ message: String, at offset: UInt64, sequence: UInt64) -> JournalError {
        JournalError(.corrupt, "\(message) (sequence \(sequence) expected)", path: path, offset: offset)
    }

    /// The next record in the files, or `nil` at the end of what is durable.
    @inline(__always)
    private func step() throws(JournalError) -> ScannedRecord? {
        guard descriptor >= 0 else { throw JournalError(.unusable, "the reader is closed", path: path) }
        while true {
            if offset < limit {
                switch try block.record(at: offset, expectedSequence: expected, limit: limit) {
                case .record(let record):
                    offset += UInt64(record.length)
                    expected += 1
                    return record
                case .incomplete, .invalid:
                    break
                }
            }
            guard try advance() else { return nil }
        }
    }

    /// Called where the readable bytes of the current segment end: refreshes the limit, moves to the next
    /// segment, returns false at the end of the durable records, or throws on damage.
    private func advance() throws(JournalError) -> Bool {
        switch source {
        case .live(let catalog):
            guard let extent = catalog.extent(ofSegment: segmentFirst) else {
                throw JournalError(
                    .notAvailable, "the segment holding sequence \(expected) was removed by retention", path: path)
            }
            if extent.endOffset > limit {
                limit = extent.endOffset
                if offset < limit { return true }
                return try advance()
            }
            if offset < limit {
                // A record inside the durable range that does not decode.
                let reason: String
                switch try block.record(at: offset, expectedSequence: expected, limit: limit) {
                case .invalid(let why): reason = why
                case .incomplete: reason = "incomplete record inside the durable range"
                case .record: return true
                }
                throw corrupt(reason, at: offset, sequence: expected)
            }
            if let problem = extent.problem {
                throw JournalError(.corrupt, problem.message, path: problem.path, offset: problem.offset)
            }
            guard extent.sealed, let following = extent.following else { return false }
            guard following == expected else {
                throw corrupt("segment ends before the next segment, which starts at \(following)", at: offset, sequence: expected)
            }
            try openSegment(following)
            return true
        case .directory:
            block.invalidate()
            let size = try POSIX.fileSize(descriptor, path: path)
            limit = size
            var reason = "incomplete record"
            if offset < size {
                switch try block.record(at: offset, expectedSequence: expected, limit: size) {
                case .record: return true
                case .incomplete: break
                case .invalid(let why): reason = why
                }
            }
            let firsts = try Journal.segmentSequences(in: directory)
            guard let following = firsts.first(where: { $0 > segmentFirst }) else {
                // The newest segment: what follows is not written yet (or is a tail the writer will cut off).
                limit = .max
                return false
            }
            // A later segment exists, so this one was made durable before it was created: re-read its end.
            block.invalidate()
            let sealedSize = try POSIX.fileSize(descriptor, path: path)
            if offset < sealedSize {
                switch try block.record(at: offset, expectedSequence: expected, limit: sealedSize) {
                case .record:
                    limit = sealedSize
                    return true
                case .incomplete: break
                case .invalid(let why): reason = why
                }
                throw corrupt("sealed segment damaged: \(reason)", at: offset, sequence: expected)
            }
            guard following == expected else {
                throw corrupt("segment ends before the next segment, which starts at \(following)", at: offset, sequence: expected)
            }
            try openSegment(following)
            return true
        }
    }

    /// Opens and locks (shared) the segment starting at `first`, then releases the previous one.
    private func openSegment(_ first: UInt64) throws(JournalError) {
        let newPath = directory + "/" + JournalFormat.segmentFileName(firstSequence: first)
        let fd: Int32
        do {
            fd = try POSIX.open(newPath, O_RDONLY)
        } catch where error.errno == ENOENT {
            throw JournalError(
                .notAvailable, "the segment holding sequence \(expected) was removed by retention", path: newPath)
        }
        do throws(JournalError) {
            _ = try POSIX.lock(fd, exclusive: false, nonBlocking: false, path: newPath)
            var info = stat()
            if fstat(fd, &info) == 0 && info.st_nlink == 0 {
                throw JournalError(
                    .notAvailable, "the segment holding sequence \(expected) was removed by retention", path: newPath)
            }
            let newBlock = BlockReader(descriptor: fd, path: newPath, blockSize: bufferBytes)
            let size = try POSIX.fileSize(fd, path: newPath)
            let header = try newBlock.window(at: 0, needed: JournalFormat.segmentHeaderLength, limit: size)
            if case .directory = source, header.count < JournalFormat.segmentHeaderLength {
                // A segment the writer is creating right now (or a crash left without its header, which the
                // writer rewrites when it reopens): nothing to read in it yet.
            } else if JournalFormat.decodeSegmentHeader(header) != first {
                throw JournalError(.corrupt, "segment header damaged", path: newPath, offset: 0)
            }
            newBlock.invalidate()
            if descriptor >= 0 {
                Glibc.close(descriptor)
                offset = UInt64(JournalFormat.segmentHeaderLength)
            }
            descriptor = fd
            block = newBlock
            path = newPath
            segmentFirst = first
            limit = 0
        } catch {
            Glibc.close(fd)
            throw error
        }
    }
}
