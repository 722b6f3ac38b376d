/// One entry of a segment's sparse index: where a record starts, and the largest recorded time of every
/// earlier record of the segment (so that a time seek works even if the clock stepped back).
struct IndexEntry: Equatable, Sendable {
    var sequence: UInt64
    var offset: UInt64
    var maxTimeBefore: Int64
}

/// What is known about a segment's records: the content of its index file.
struct SegmentSummary: Equatable, Sendable {
    var firstSequence: UInt64
    var recordCount: UInt64 = 0
    /// The byte offset just past the last record.
    var endOffset: UInt64 = UInt64(JournalFormat.segmentHeaderLength)
    var firstTime: Int64 = .max
    var maxTime: Int64 = .min
    var lastTime: Int64 = .min
    var entries: [IndexEntry] = []

    init(firstSequence: UInt64) { self.firstSequence = firstSequence }

    /// The sequence of the last record, or `firstSequence - 1` if there is none.
    var lastSequence: UInt64 { firstSequence &+ recordCount &- 1 }
    var nextSequence: UInt64 { firstSequence &+ recordCount }

    /// Accounts for the record at `offset`, adding an index entry if `interval` bytes passed since the last one.
    @inline(__always)
    mutating func note(offset: UInt64, length: Int, sequence: UInt64, recordedTime: Int64, interval: Int) {
        if entries.isEmpty || offset >= entries[entries.count - 1].offset + UInt64(interval) {
            entries.append(IndexEntry(sequence: sequence, offset: offset, maxTimeBefore: maxTime))
        }
        if recordCount == 0 { firstTime = recordedTime }
        if recordedTime > maxTime { maxTime = recordedTime }
        lastTime = recordedTime
        recordCount += 1
        endOffset = offset + UInt64(length)
    }

    /// The index entry at which to start reading to reach `sequence`.
    func entry(forSequence sequence: UInt64) -> IndexEntry? {
        var low = 0
        var high = entries.count  // first entry with sequence > target
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].sequence <= sequence { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : entries[low - 1]
    }

    /// The index entry at which to start reading to reach the first record with recorded time at or after `time`.
    func entry(forTime time: Int64) -> IndexEntry? {
        var low = 0
        var high = entries.count  // first entry whose earlier records reach `time`
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].maxTimeBefore < time { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : entries[low - 1]
    }

    // MARK: Index file

    /// The index file: a 72-byte header (magic, version, entry count, first sequence, record count, end offset,
    /// first time, largest time, last time, reserved, CRC-32C over the header's other bytes and all entries), then the entries.
    func encoded() -> [UInt8] {
        let count = JournalFormat.indexHeaderLength + entries.count * JournalFormat.indexEntryLength
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { p in
            let base = p.baseAddress!
            for (i, b) in JournalFormat.indexMagic.enumerated() { base.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
            storeLE(base, 8, UInt32(JournalFormat.version))
            storeLE(base, 12, UInt32(entries.count))
            storeLE(base, 16, firstSequence)
            storeLE(base, 24, recordCount)
            storeLE(base, 32, endOffset)
            storeLE(base, 40, firstTime)
            storeLE(base, 48, maxTime)
            storeLE(base, 56, lastTime)
            storeLE(base, 64, UInt32(0))
            var offset = JournalFormat.indexHeaderLength
            for entry in entries {
                storeLE(base, offset, entry.sequence)
                storeLE(base, offset + 8, entry.offset)
                storeLE(base, offset + 16, entry.maxTimeBefore)
                offset += JournalFormat.indexEntryLength
            }
            storeLE(base, 68, Self.checksum(UnsafeRawBufferPointer(p)))
        }
        return bytes
    }

    private static func checksum(_ p: UnsafeRawBufferPointer) -> UInt32 {
        let head = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[0..<68]))
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[JournalFormat.indexHeaderLength...]), seed: head)
    }

    /// Decodes an index file, or returns `nil` if it is damaged, of another format, or inconsistent.
    static func decode(_ bytes: [UInt8]) -> SegmentSummary? {
        bytes.withUnsafeBytes { p -> SegmentSummary? in
            guard p.count >= JournalFormat.indexHeaderLength, let base = p.baseAddress else { return nil }
            guard Array(p[0..<8]) == JournalFormat.indexMagic, loadLE(base, 8, as: UInt32.self) == JournalFormat.version
            else { return nil }
            let count = Int(loadLE(base, 12, as: UInt32.self))
            guard p.count == JournalFormat.indexHeaderLength + count * JournalFormat.indexEntryLength else { return nil }
            guard checksum(p) == loadLE(base, 68, as: UInt32.self) else { return nil }
            var summary = SegmentSummary(firstSequence: loadLE(base, 16, as: UInt64.self))
            summary.recordCount = loadLE(base, 24, as: UInt64.self)
            summary.endOffset = loadLE(base, 32, as: UInt64.self)
            summary.firstTime = loadLE(base, 40, as: Int64.self)
            summary.maxTime = loadLE(base, 48, as: Int64.self)
            summary.lastTime = loadLE(base, 56, as: Int64.self)
            summary.entries.reserveCapacity(count)
            var offset = JournalFormat.indexHeaderLength
            for _ in 0..<count {
                summary.entries.append(
                    IndexEntry(
                        sequence: loadLE(base, offset, as: UInt64.self), offset: loadLE(base, offset + 8, as: UInt64.self),
                        maxTimeBefore: loadLE(base, offset + 16, as: Int64.self)))
                offset += JournalFormat.indexEntryLength
            }
            // Consistency: entries ascend, lie inside the records, and the first is the segment's first record.
            guard summary.endOffset >= UInt64(JournalFormat.segmentHeaderLength) else { return nil }
            if summary.recordCount == 0 { return summary.entries.isEmpty ? summary : nil }
            guard let first = summary.entries.first, first.sequence == summary.firstSequence,
                first.offset == UInt64(JournalFormat.segmentHeaderLength)
            else { return nil }
            for i in 1..<max(1, summary.entries.count) {
                let a = summary.entries[i - 1]
                let b = summary.entries[i]
                guard b.sequence > a.sequence, b.offset > a.offset, b.maxTimeBefore >= a.maxTimeBefore else { return nil }
            }
            guard let last = summary.entries.last, last.sequence <= summary.lastSequence, last.offset < summary.endOffset
            else { return nil }
            return summary
        }
    }
}
