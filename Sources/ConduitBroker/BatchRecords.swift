/// The records of a batch, in sequence order: their stored events one after another in one buffer.
///
/// A batch is formed, framed into the journal and published from these two buffers, which keep their memory from
/// one batch to the next: once they have grown, an event costs no allocation and no reference counting on its way
/// through the broker (only its topic, shared with the plan's lookup tables, is retained once).
struct BatchRecords: Equatable {
    struct Entry: Equatable {
        var sequence: UInt64
        /// Microseconds since the epoch.
        var recordedTime: Int64
        var topic: [UInt8]
        /// Where the stored event lies in ``bytes``.
        var event: Range<Int>
    }

    /// The stored events, one after another.
    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// Adds a record holding a copy of `event`.
    mutating func append(sequence: UInt64, recordedTime: Int64, topic: [UInt8], event: [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: event)
        entries.append(Entry(sequence: sequence, recordedTime: recordedTime, topic: topic, event: start..<bytes.count))
    }

    /// Adds a record whose event `write` writes in place: it is given room for `capacity` bytes and returns how many
    /// it wrote (at most `capacity`). Returns that count.
    mutating func append(
        sequence: UInt64, recordedTime: Int64, topic: [UInt8], capacity: Int, write: (UnsafeMutablePointer<UInt8>) -> Int
    ) -> Int {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: capacity))
        let written = bytes.withUnsafeMutableBufferPointer { buffer in write(buffer.baseAddress! + start) }
        precondition(written >= 0 && written <= capacity, "an event was written past the room it was given")
        bytes.removeLast(capacity - written)
        entries.append(Entry(sequence: sequence, recordedTime: recordedTime, topic: topic, event: start..<bytes.count))
        return written
    }

    /// Takes back the last record added.
    mutating func removeLast() {
        let last = entries.removeLast()
        bytes.removeLast(bytes.count - last.event.lowerBound)
    }

    /// Empties the batch, keeping its memory.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with each record in sequence order: its entry and its stored event, valid only during the call.
    func forEach<E: Error>(_ body: (Entry, UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        let outcome = bytes.withUnsafeBytes { bytes in
            Result { () throws(E) in
                for entry in entries { try body(entry, UnsafeRawBufferPointer(rebasing: bytes[entry.event])) }
            }
        }
        try outcome.get()
    }

    /// The records, each with its own copy of its bytes.
    var records: [IngestPipeline.Record] {
        entries.map {
            IngestPipeline.Record(sequence: $0.sequence, recordedTime: $0.recordedTime, topic: $0.topic, event: Array(bytes[$0.event]))
        }
    }

    /// Records are equal when they hold the same sequences, times, topics and events (wherever they lie).
    static func == (left: BatchRecords, right: BatchRecords) -> Bool { left.records == right.records }
}
