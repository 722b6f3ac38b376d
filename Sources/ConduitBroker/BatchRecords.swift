/// The records of a batch, in sequence order: their stored events one after another in one buffer, and their topics
/// in a table of the batch's topics.
///
/// A batch is formed, framed into the journal and published from these buffers, which keep their memory from one
/// batch to the next: once they have grown, an event costs no allocation and no reference counting on its way
/// through the broker. A topic is kept once per batch: events taken the quick way share their topic's bytes with the
/// plan's lookup tables, and are told apart by where those bytes lie.
struct BatchRecords: Equatable {
    struct Entry: Equatable {
        var sequence: UInt64
        /// Microseconds since the epoch.
        var recordedTime: Int64
        /// The index of its topic in ``topics``.
        var topic: Int
        /// Where the stored event lies in ``bytes``.
        var event: Range<Int>
    }

    /// The stored events, one after another.
    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []
    /// The topics of the batch's records.
    private(set) var topics: [[UInt8]] = []
    /// The bytes of ``topics`` one after another, read without retaining a topic; topic `i` lies at `topicRanges[i]`.
    private var topicBytes: [UInt8] = []
    private var topicRanges: [Range<Int>] = []
    /// The index in ``topics`` of the topic whose bytes lie at an address. ``topics`` holds each of them, so that no
    /// other topic can come to lie there while the batch is formed.
    private var topicIndex: [UnsafeRawPointer: Int] = [:]
    /// The address of the topic added last, and its index.
    private var lastTopic: (address: UnsafeRawPointer?, index: Int) = (nil, 0)

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// Adds a record holding a copy of `event`.
    mutating func append(sequence: UInt64, recordedTime: Int64, topic: [UInt8], event: [UInt8]) {
        let topic = index(of: topic)
        let start = bytes.count
        bytes.append(contentsOf: event)
        entries.append(Entry(sequence: sequence, recordedTime: recordedTime, topic: topic, event: start..<bytes.count))
    }

    /// Adds a record whose event `write` writes in place: it is given room for `capacity` bytes and returns how many
    /// it wrote (at most `capacity`). Returns that count.
    mutating func append(
        sequence: UInt64, recordedTime: Int64, topic: [UInt8], capacity: Int, write: (UnsafeMutablePointer<UInt8>) -> Int
    ) -> Int {
        let topic = index(of: topic)
        let start = bytes.count
        // Written where it has room (on the stack, for an event of ordinary size), then copied in.
        let written = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { room in
            let written = write(room.baseAddress!)
            precondition(written >= 0 && written <= capacity, "an event was written past the room it was given")
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: room[..<written]))
            return written
        }
        entries.append(Entry(sequence: sequence, recordedTime: recordedTime, topic: topic, event: start..<bytes.count))
        return written
    }

    /// Takes back the last record added (its topic stays in the table).
    mutating func removeLast() {
        let last = entries.removeLast()
        bytes.removeLast(bytes.count - last.event.lowerBound)
    }

    /// Empties the batch, keeping its memory.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
        topics.removeAll(keepingCapacity: true)
        topicBytes.removeAll(keepingCapacity: true)
        topicRanges.removeAll(keepingCapacity: true)
        topicIndex.removeAll(keepingCapacity: true)
        lastTopic = (nil, 0)
    }

    /// Calls `body` with each record in sequence order: its entry, its topic and its stored event, the last two valid
    /// only during the call.
    func forEach<E: Error>(_ body: (Entry, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        let outcome = bytes.withUnsafeBytes { bytes in
            topicBytes.withUnsafeBytes { topics in
                Result { () throws(E) in
                    for entry in entries {
                        try body(
                            entry, UnsafeRawBufferPointer(rebasing: topics[topicRanges[entry.topic]]),
                            UnsafeRawBufferPointer(rebasing: bytes[entry.event]))
                    }
                }
            }
        }
        try outcome.get()
    }

    /// The records, each with its own copy of its bytes.
    var records: [IngestPipeline.Record] {
        entries.map {
            IngestPipeline.Record(
                sequence: $0.sequence, recordedTime: $0.recordedTime, topic: topics[$0.topic], event: Array(bytes[$0.event]))
        }
    }

    /// Records are equal when they hold the same sequences, times, topics and events (wherever they lie).
    static func == (left: BatchRecords, right: BatchRecords) -> Bool { left.records == right.records }

    private mutating func index(of topic: [UInt8]) -> Int {
        let address = topic.withUnsafeBytes { UnsafeRawPointer($0.baseAddress) }
        if let address, address == lastTopic.address { return lastTopic.index }
        let index: Int
        if let address, let known = topicIndex[address] {
            index = known
        } else {
            index = topics.count
            topics.append(topic)
            topicRanges.append(topicBytes.count..<topicBytes.count + topic.count)
            topicBytes += topic
            if let address { topicIndex[address] = index }
        }
        lastTopic = (address, index)
        return index
    }
}
