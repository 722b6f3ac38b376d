import ConduitCore
import ConduitJournal

/// What reading a journal met besides its events: how far it read, whether it was interrupted, and an incomplete
/// tail it stopped in front of.
public struct JournalReading: Sendable, Equatable {
    /// Records read.
    public var scanned: UInt64 = 0
    /// The sequence of the last record read.
    public var lastSequence: UInt64?
    /// Whether an interruption ended the reading before its end.
    public var interrupted = false
    /// The bytes after the newest segment's last valid record, ignored and left as they are (see `JournalTail`):
    /// a tail torn by a crash, or damage. `nil` when there are none, or when the reading went past them (they
    /// were a record a running broker was writing).
    public var tail: JournalTail?

    /// Nothing read yet.
    public init() {}

    /// Keeps `tail` only if the records read did not reach past it.
    mutating func note(_ tail: JournalTail?) {
        guard let tail else { return }
        if let last = lastSequence, last >= tail.nextSequence { return }
        self.tail = tail
    }
}

/// Reads the records of a journal directory in sequence order, in chunks, and notices an interruption between
/// chunks. Read-only: the journal is never modified, whatever its tail holds.
enum JournalScan {
    /// Records per chunk: between two chunks progress is reported and an interruption noticed.
    static let chunk = 16_384

    /// Calls `body` with each record from `sequence` (the oldest when `nil`) until `body` returns false, the
    /// records end or `shouldStop` returns true; `progress` gets the records read so far after each chunk.
    static func run(
        directory: String, statistics: JournalStatistics, from sequence: UInt64? = nil,
        progress: (UInt64) -> Void = { _ in }, shouldStop: () -> Bool = { false },
        _ body: (JournalRecordView) throws -> Bool
    ) throws -> JournalReading {
        var reading = JournalReading()
        guard let first = statistics.firstSequence else {
            reading.note(statistics.tail)
            return reading
        }
        let reader = try JournalReader.open(directory: directory, from: max(sequence ?? first, first))
        defer { reader.close() }
        var finished = false
        while !finished {
            if shouldStop() {
                reading.interrupted = true
                break
            }
            let read = try reader.read(maxRecords: chunk) { view in
                guard !finished else { return }
                reading.scanned += 1
                reading.lastSequence = view.sequence
                if try !body(view) { finished = true }
            }
            progress(reading.scanned)
            if read < chunk { break }
        }
        reading.note(statistics.tail)
        return reading
    }

    /// The event a record holds; `nil` if it does not decode.
    static func event(_ view: JournalRecordView) -> Event? {
        try? EventCodec.decode(
            UnsafeBufferPointer(start: view.event.baseAddress?.assumingMemoryBound(to: UInt8.self), count: view.event.count))
    }
}
