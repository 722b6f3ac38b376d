#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file in large blocks into one reusable buffer, so that records are parsed in place.
final class BlockReader {
    let descriptor: Int32
    let path: String
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    /// The file offset of the first buffered byte, and how many bytes are buffered.
    private var start: UInt64 = 0
    private var count = 0

    init(descriptor: Int32, path: String, blockSize: Int = 1 << 20) {
        self.descriptor = descriptor
        self.path = path
        self.capacity = blockSize
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Forgets the buffered bytes (after the file may have changed under them).
    func invalidate() { count = 0 }

    /// The bytes at `offset`, at least `needed` of them unless the file (or `limit`) ends first.
    @inline(__always)
    func window(at offset: UInt64, needed: Int, limit: UInt64) throws(JournalError) -> UnsafeRawBufferPointer {
        let end = start + UInt64(count)
        if offset >= start && offset <= end {
            let stop = min(end, limit)
            let available = stop > offset ? Int(stop - offset) : 0
            if available >= needed || end >= limit {
                return UnsafeRawBufferPointer(start: buffer + Int(offset - start), count: available)
            }
        }
        return try refill(at: offset, needed: needed, limit: limit)
    }

    private func refill(at offset: UInt64, needed: Int, limit: UInt64) throws(JournalError) -> UnsafeRawBufferPointer {
        if needed > capacity {
            buffer.deallocate()
            capacity = max(needed, capacity * 2)
            buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
        guard limit > offset else {
            start = offset
            count = 0
            return UnsafeRawBufferPointer(start: buffer, count: 0)
        }
        let want = Int(min(UInt64(capacity), limit - offset))
        count = 0
        count = try POSIX.pread(descriptor, buffer, count: want, offset: offset, path: path)
        start = offset
        return UnsafeRawBufferPointer(start: buffer, count: count)
    }
}

/// One record found while reading a segment.
struct ScannedRecord {
    var offset: UInt64
    var length: Int
    var sequence: UInt64
    var recordedTime: Int64
    var topicLength: Int
    /// The whole frame; valid only until the next read.
    var frame: UnsafeRawPointer
}

/// The outcome of reading one record.
enum RecordStep {
    case record(ScannedRecord)
    /// No complete record: the file (or the limit) ends `available` bytes after the offset.
    case incomplete(available: Int)
    /// The bytes are not a valid record, or carry an unexpected sequence.
    case invalid(reason: String)
}

extension BlockReader {
    /// Reads the record at `offset`, which must carry `expectedSequence`.
    @inline(__always)
    func record(at offset: UInt64, expectedSequence: UInt64, limit: UInt64) throws(JournalError) -> RecordStep {
        var window = try self.window(at: offset, needed: JournalFormat.recordHeaderLength, limit: limit)
        while true {
            guard let base = window.baseAddress, window.count > 0 else { return .incomplete(available: 0) }
            switch JournalFormat.decodeRecord(base, count: window.count) {
            case .record(let length, let sequence, let time, let topicLength):
                guard sequence == expectedSequence else {
                    return .invalid(reason: "record carries sequence \(sequence) where \(expectedSequence) was expected")
                }
                return .record(
                    ScannedRecord(
                        offset: offset, length: length, sequence: sequence, recordedTime: time, topicLength: topicLength,
                        frame: base))
            case .incomplete(let needed):
                let wanted = needed ?? JournalFormat.recordHeaderLength
                if window.count >= wanted { return .incomplete(available: window.count) }
                let again = try self.window(at: offset, needed: wanted, limit: limit)
                if again.count <= window.count { return .incomplete(available: again.count) }
                window = again
            case .invalid(let reason):
                return .invalid(reason: reason)
            }
        }
    }
}

/// The result of reading a whole segment file from its start.
struct SegmentScan {
    var summary: SegmentSummary
    var fileSize: UInt64
    var headerValid: Bool
    /// Where reading stopped before the end of the file, and why; `nil` if every byte is a valid record.
    var stop: (offset: UInt64, reason: String, incomplete: Bool)?
}

enum SegmentScanner {
    /// Reads every record of the segment at `path`, checking framing, checksums and contiguous sequences,
    /// and builds its index. `visit` sees each valid record.
    static func scan(
        path: String, firstSequence: UInt64, indexInterval: Int,
        visit: ((ScannedRecord) -> Void)? = nil
    ) throws(JournalError) -> SegmentScan {
        let fd = try POSIX.open(path, O_RDONLY)
        defer { close(fd) }
        return try scan(descriptor: fd, path: path, firstSequence: firstSequence, indexInterval: indexInterval, visit: visit)
    }

    static func scan(
        descriptor fd: Int32, path: String, firstSequence: UInt64, indexInterval: Int,
        visit: ((ScannedRecord) -> Void)? = nil
    ) throws(JournalError) -> SegmentScan {
        let size = try POSIX.fileSize(fd, path: path)
        var summary = SegmentSummary(firstSequence: firstSequence)
        let reader = BlockReader(descriptor: fd, path: path, blockSize: 4 << 20)
        let header = try reader.window(at: 0, needed: JournalFormat.segmentHeaderLength, limit: size)
        guard JournalFormat.decodeSegmentHeader(header) == firstSequence else {
            let reason = header.count < JournalFormat.segmentHeaderLength ? "segment header incomplete" : "segment header damaged"
            return SegmentScan(summary: summary, fileSize: size, headerValid: false, stop: (0, reason, header.count < JournalFormat.segmentHeaderLength))
        }
        var offset = UInt64(JournalFormat.segmentHeaderLength)
        while offset < size {
            switch try reader.record(at: offset, expectedSequence: summary.nextSequence, limit: size) {
            case .record(let record):
                summary.note(
                    offset: offset, length: record.length, sequence: record.sequence, recordedTime: record.recordedTime,
                    interval: indexInterval)
                visit?(record)
                offset += UInt64(record.length)
            case .incomplete(let available):
                return SegmentScan(
                    summary: summary, fileSize: size, headerValid: true,
                    stop: (offset, "incomplete record (\(available) of its bytes present)", true))
            case .invalid(let reason):
                return SegmentScan(summary: summary, fileSize: size, headerValid: true, stop: (offset, reason, false))
            }
        }
        return SegmentScan(summary: summary, fileSize: size, headerValid: true, stop: nil)
    }

    /// The first valid record after `offset` (exclusive) whose sequence is at least `sequence`, found by trying
    /// every byte position: evidence that damage at `offset` is not a torn tail but corruption with records after it.
    static func findRecord(
        descriptor fd: Int32, path: String, after offset: UInt64, fileSize: UInt64, sequence: UInt64
    ) throws(JournalError) -> (offset: UInt64, sequence: UInt64)? {
        let reader = BlockReader(descriptor: fd, path: path, blockSize: 4 << 20)
        var position = offset + 1
        while position + UInt64(JournalFormat.recordHeaderLength) <= fileSize {
            let window = try reader.window(at: position, needed: JournalFormat.recordHeaderLength, limit: fileSize)
            guard let base = window.baseAddress, window.count >= JournalFormat.recordHeaderLength else { break }
            let length = UInt64(loadLE(base, 0, as: UInt32.self))
            let found = loadLE(base, 8, as: UInt64.self)
            if length >= UInt64(JournalFormat.recordHeaderLength) && position + length <= fileSize && found >= sequence
                && found - sequence < 1 << 40
            {
                if case .record = try reader.record(at: position, expectedSequence: found, limit: fileSize) {
                    return (position, found)
                }
            }
            position += 1
        }
        return nil
    }

    /// The index file of a sealed segment if it is present, intact and agrees with the segment's size and
    /// the record it points to last; otherwise `nil`.
    static func loadIndex(indexPath: String, segmentDescriptor fd: Int32, segmentPath: String, firstSequence: UInt64)
        -> SegmentSummary?
    {
        guard POSIX.exists(indexPath), let bytes = try? POSIX.readAll(indexPath),
            let summary = SegmentSummary.decode(bytes), summary.firstSequence == firstSequence,
            let size = try? POSIX.fileSize(fd, path: segmentPath), summary.endOffset == size
        else { return nil }
        let reader = BlockReader(descriptor: fd, path: segmentPath, blockSize: 64 << 10)
        guard let header = try? reader.window(at: 0, needed: JournalFormat.segmentHeaderLength, limit: size),
            JournalFormat.decodeSegmentHeader(header) == firstSequence
        else { return nil }
        if let last = summary.entries.last {
            reader.invalidate()
            guard case .record? = try? reader.record(at: last.offset, expectedSequence: last.sequence, limit: size)
            else { return nil }
        }
        return summary
    }
}
