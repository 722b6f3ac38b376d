/// One record of the journal, owning its bytes.
///
/// The journal does not interpret `topic` or `event`; the broker decides what they hold.
public struct JournalRecord: Sendable, Hashable {
    /// The broker's sequence number. Sequences in a journal are contiguous.
    public var sequence: UInt64
    /// When the broker recorded the event: microseconds since the Unix epoch (1970-01-01T00:00:00Z), UTC.
    public var recordedTime: Int64
    /// The topic bytes (opaque to the journal).
    public var topic: [UInt8]
    /// The event bytes (opaque to the journal).
    public var event: [UInt8]

    /// Creates a record; `recordedTime` is in microseconds since the Unix epoch.
    public init(sequence: UInt64, recordedTime: Int64, topic: [UInt8], event: [UInt8]) {
        self.sequence = sequence
        self.recordedTime = recordedTime
        self.topic = topic
        self.event = event
    }
}

/// A record read in place from a reader's buffer, without copying.
///
/// `topic` and `event` point into the reader's buffer and are valid only inside the closure that
/// received the view; call ``copy()`` to keep the record.
public struct JournalRecordView {
    /// The broker's sequence number.
    public var sequence: UInt64
    /// Microseconds since the Unix epoch.
    public var recordedTime: Int64
    /// The topic bytes; valid only during the call that received this view.
    public var topic: UnsafeRawBufferPointer
    /// The event bytes; valid only during the call that received this view.
    public var event: UnsafeRawBufferPointer
    /// The size of the whole frame on disk, header included.
    public var frameLength: Int

    /// The record with its own copy of the bytes.
    public func copy() -> JournalRecord {
        JournalRecord(sequence: sequence, recordedTime: recordedTime, topic: Array(topic), event: Array(event))
    }

    init(_ record: ScannedRecord) {
        sequence = record.sequence
        recordedTime = record.recordedTime
        let body = record.frame + JournalFormat.recordHeaderLength
        topic = UnsafeRawBufferPointer(start: body, count: record.topicLength)
        event = UnsafeRawBufferPointer(
            start: body + record.topicLength, count: record.length - JournalFormat.recordHeaderLength - record.topicLength)
        frameLength = record.length
    }
}

/// Records to append, framed directly into one reusable buffer: the journal writes the whole batch with
/// one `pwrite` and makes it durable with one `fdatasync`.
///
/// Reuse one batch: ``Journal/commit(_:)`` empties it and keeps its memory, so that steady-state appends
/// allocate nothing per record. Records must carry contiguous sequences.
public final class JournalBatch {
    struct Meta {
        var offset: Int
        var length: Int
        var sequence: UInt64
        var recordedTime: Int64
    }

    // The batch is used by one thread at a time and its methods never reach one of these while changing another,
    // so the run-time exclusivity checks (three per record appended) are left out.
    @exclusivity(unchecked) private(set) var buffer: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private(set) var metas: [Meta] = []
    /// The bytes framed so far.
    @exclusivity(unchecked) public private(set) var byteCount = 0

    /// Creates an empty batch with room for `capacity` bytes before it grows.
    public init(capacity: Int = 1 << 20) {
        self.capacity = max(capacity, 4096)
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
        metas.reserveCapacity(1024)
    }

    deinit { buffer.deallocate() }

    /// How many records the batch holds.
    public var count: Int { metas.count }
    /// Whether the batch holds no record.
    public var isEmpty: Bool { metas.isEmpty }
    /// The sequence of the first record, if any.
    public var firstSequence: UInt64? { metas.first?.sequence }
    /// The sequence of the last record, if any.
    public var lastSequence: UInt64? { metas.last?.sequence }

    /// Empties the batch, keeping its memory.
    public func removeAll() {
        metas.removeAll(keepingCapacity: true)
        byteCount = 0
    }

    /// Frames a record into the batch. Throws if its sequence does not follow the batch's last one, or if
    /// it exceeds ``JournalFormat/maximumRecordLength``.
    public func append(
        sequence: UInt64, recordedTime: Int64, topic: UnsafeRawBufferPointer, event: UnsafeRawBufferPointer
    ) throws(JournalError) {
        if let last = metas.last?.sequence, sequence != last &+ 1 {
            throw JournalError(
                sequence <= last ? .sequenceReused : .sequenceGap,
                "batch record has sequence \(sequence) after \(last); sequences must be contiguous")
        }
        let length = JournalFormat.recordHeaderLength + topic.count + event.count
        guard length <= JournalFormat.maximumRecordLength else {
            throw JournalError(
                .recordTooLarge, "record \(sequence) is \(length) bytes; the limit is \(JournalFormat.maximumRecordLength)")
        }
        if byteCount + length > capacity { grow(to: byteCount + length) }
        JournalFormat.encodeRecord(
            into: buffer + byteCount, sequence: sequence, recordedTime: recordedTime, topic: topic, event: event)
        metas.append(Meta(offset: byteCount, length: length, sequence: sequence, recordedTime: recordedTime))
        byteCount += length
    }

    /// Frames a record into the batch.
    public func append(sequence: UInt64, recordedTime: Int64, topic: [UInt8], event: [UInt8]) throws(JournalError) {
        var failure: JournalError?
        topic.withUnsafeBytes { t in
            event.withUnsafeBytes { e in
                do throws(JournalError) {
                    try append(sequence: sequence, recordedTime: recordedTime, topic: t, event: e)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Frames a record into the batch.
    public func append(_ record: JournalRecord) throws(JournalError) {
        try append(sequence: record.sequence, recordedTime: record.recordedTime, topic: record.topic, event: record.event)
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBuffer = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBuffer.copyMemory(from: buffer, byteCount: byteCount)
        buffer.deallocate()
        buffer = newBuffer
        capacity = newCapacity
    }
}
