/// The journal's on-disk format: file names, the segment header, record framing and the index file.
/// All integers are little-endian. See the DocC article "On-disk format" for the layout in full.
public enum JournalFormat {
    /// The first eight bytes of every segment file.
    public static let segmentMagic: [UInt8] = Array("CNDJSEG1".utf8)
    /// The first eight bytes of every index file.
    public static let indexMagic: [UInt8] = Array("CNDJIDX1".utf8)
    /// The format version written in segment and index headers.
    public static let version: UInt32 = 1
    /// Bytes in a segment header: magic (8), version (4), header length (4), first sequence (8),
    /// reserved (4), CRC-32C of the preceding 28 bytes (4).
    public static let segmentHeaderLength = 32
    /// Bytes in a record header: frame length (4), CRC-32C (4), sequence (8), recorded time (8),
    /// topic length (4). The topic and event bytes follow.
    public static let recordHeaderLength = 28
    /// The largest frame (header, topic and event) the journal writes or accepts when reading.
    public static let maximumRecordLength = 64 << 20
    /// Bytes in an index header; entries of ``indexEntryLength`` bytes follow.
    public static let indexHeaderLength = 72
    /// Bytes in an index entry: sequence (8), byte offset in the segment (8), the largest recorded
    /// time of all earlier records in the segment (8).
    public static let indexEntryLength = 24

    /// The segment file name for a segment whose first record has sequence `firstSequence`.
    public static func segmentFileName(firstSequence: UInt64) -> String {
        "segment-" + zeroPadded(firstSequence) + ".journal"
    }

    /// The index file name belonging to a segment.
    public static func indexFileName(firstSequence: UInt64) -> String {
        "segment-" + zeroPadded(firstSequence) + ".index"
    }

    /// The first sequence encoded in a segment file name, or `nil` if `name` is not a segment file name.
    public static func firstSequence(ofSegmentFileName name: String) -> UInt64? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".journal") else { return nil }
        let digits = name.dropFirst("segment-".count).dropLast(".journal".count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    static func zeroPadded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    // MARK: Segment header

    static func encodeSegmentHeader(firstSequence: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: segmentHeaderLength)
        bytes.withUnsafeMutableBytes { p in
            let base = p.baseAddress!
            for (i, b) in segmentMagic.enumerated() { base.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
            storeLE(base, 8, version)
            storeLE(base, 12, UInt32(segmentHeaderLength))
            storeLE(base, 16, firstSequence)
            storeLE(base, 24, UInt32(0))
            storeLE(base, 28, CRC32C.checksum(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(p)[0..<28])))
        }
        return bytes
    }

    /// The first sequence in a segment header, or `nil` if the header is damaged or of another format.
    static func decodeSegmentHeader(_ p: UnsafeRawBufferPointer) -> UInt64? {
        guard p.count >= segmentHeaderLength, let base = p.baseAddress else { return nil }
        guard Array(p[0..<8]) == segmentMagic else { return nil }
        guard loadLE(base, 8, as: UInt32.self) == version,
            loadLE(base, 12, as: UInt32.self) == UInt32(segmentHeaderLength)
        else { return nil }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[0..<28]))
        guard crc == loadLE(base, 28, as: UInt32.self) else { return nil }
        return loadLE(base, 16, as: UInt64.self)
    }

    // MARK: Records

    /// The outcome of decoding the bytes at some offset as a record.
    enum Decoded {
        /// A valid record of `length` bytes.
        case record(length: Int, sequence: UInt64, recordedTime: Int64, topicLength: Int)
        /// Fewer bytes are available than the frame needs (`needed` bytes in all, if known).
        case incomplete(needed: Int?)
        /// The bytes are not a valid record: a bad length or a checksum mismatch.
        case invalid(reason: String)
    }

    /// Decodes the record at the start of `p` (of `count` available bytes).
    @inline(__always)
    static func decodeRecord(_ p: UnsafeRawPointer, count: Int) -> Decoded {
        guard count >= 4 else { return .incomplete(needed: nil) }
        let length = Int(loadLE(p, 0, as: UInt32.self))
        guard length >= recordHeaderLength, length <= maximumRecordLength else {
            return .invalid(reason: length == 0 ? "zero frame length" : "frame length \(length) out of range")
        }
        guard count >= length else { return .incomplete(needed: length) }
        let topicLength = Int(loadLE(p, 24, as: UInt32.self))
        guard topicLength <= length - recordHeaderLength else {
            return .invalid(reason: "topic length \(topicLength) exceeds frame")
        }
        let stored = loadLE(p, 4, as: UInt32.self)
        let crc = CRC32C.checksum(p + 8, count: length - 8, seed: CRC32C.checksum(p, count: 4, seed: 0))
        guard crc == stored else { return .invalid(reason: "checksum mismatch") }
        return .record(
            length: length, sequence: loadLE(p, 8, as: UInt64.self), recordedTime: loadLE(p, 16, as: Int64.self),
            topicLength: topicLength)
    }

    /// Writes a record frame at `p`, which must have room for `recordHeaderLength + topic.count + event.count` bytes.
    @inline(__always)
    static func encodeRecord(
        into p: UnsafeMutableRawPointer, sequence: UInt64, recordedTime: Int64,
        topic: UnsafeRawBufferPointer, event: UnsafeRawBufferPointer
    ) {
        let length = recordHeaderLength + topic.count + event.count
        storeLE(p, 0, UInt32(length))
        storeLE(p, 8, sequence)
        storeLE(p, 16, recordedTime)
        storeLE(p, 24, UInt32(topic.count))
        if let base = topic.baseAddress, topic.count > 0 {
            (p + recordHeaderLength).copyMemory(from: base, byteCount: topic.count)
        }
        if let base = event.baseAddress, event.count > 0 {
            (p + recordHeaderLength + topic.count).copyMemory(from: base, byteCount: event.count)
        }
        let crc = CRC32C.checksum(
            UnsafeRawPointer(p + 8), count: length - 8, seed: CRC32C.checksum(UnsafeRawPointer(p), count: 4, seed: 0))
        storeLE(p, 4, crc)
    }
}

@inline(__always)
func loadLE<T: FixedWidthInteger>(_ p: UnsafeRawPointer, _ offset: Int, as type: T.Type) -> T {
    T(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: T.self))
}

@inline(__always)
func storeLE<T: FixedWidthInteger>(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: T) {
    p.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
}
