import ConduitCore
import ConduitJournal

/// What a replay found.
public struct ReplaySummary: Sendable, Equatable {
    /// Records read from the journal.
    public var scanned: UInt64 = 0
    /// Records that matched the selection and were written.
    public var matched: UInt64 = 0
    /// The first and last sequence written.
    public var firstSequence: UInt64?
    public var lastSequence: UInt64?
    /// The journal's range when the replay ran.
    public var journalFirst: UInt64?
    public var journalLast: UInt64?
    /// Why nothing (or not all) was replayed, in words, when the window lies outside the journal.
    public var notice: String?
    /// The bytes after the newest segment's last valid record, ignored and left as they are: a tail torn by a
    /// crash (see `JournalTail`). `nil` when none, or when the replay read past them (a record being written).
    public var tail: JournalTail?
}

/// One event of a replayed window as the broker stamped and stored it: what the fan-out sent for it.
public struct ReplayedEvent: Sendable, Hashable {
    /// Its sequence and recorded time.
    public var header: RecordHeader
    /// Its fan-out topic, `<kind>/<utility>/<community>/`.
    public var topic: [UInt8]
    /// Its canonical, stamped JSON.
    public var event: [UInt8]

    public init(header: RecordHeader, topic: [UInt8], event: [UInt8]) {
        self.header = header
        self.topic = topic
        self.event = event
    }

    /// The fan-out message that carries it, exactly as the broker published it.
    public var fanoutMessage: FanoutMessage { .event(topic: topic, record: RecordedEvent(header: header, event: event)) }
}

/// Replays a journal directory offline: read-only, safe while a broker appends to it (the reader stops at records
/// still being written).
public struct OfflineReplay: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Reads the selected window and calls `emit` with chunks of output bytes; `progress` with the records scanned so
    /// far. `shouldStop` is polled between chunks, for a clean interruption.
    public func run(
        _ selection: ReplaySelection, writer: ReplayWriter, emit: ([UInt8]) throws -> Void,
        progress: (UInt64) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws -> ReplaySummary {
        var output: [UInt8] = []
        output.reserveCapacity(1 << 20)
        return try scan(
            selection, decode: writer.format != .jsonl, progress: progress, shouldStop: shouldStop,
            start: { if let header = writer.header { try emit(Array((header + "\n").utf8)) } },
            visit: { view, event in
                writer.write(sequence: view.sequence, recordedTime: view.recordedTime, bytes: view.event, event: event, into: &output)
            },
            endOfBatch: {
                if !output.isEmpty {
                    try emit(output)
                    output.removeAll(keepingCapacity: true)
                }
            })
    }

    /// Reads the selected window and calls `body` with each matching event, decoded, and its stored record
    /// (header and canonical JSON), in sequence order. `shouldStop` is polled between chunks of the journal.
    public func events(
        _ selection: ReplaySelection, shouldStop: () -> Bool = { false },
        _ body: (ReplayedEvent, Event) throws -> Void
    ) throws -> ReplaySummary {
        try scan(
            selection, decode: true, progress: { _ in }, shouldStop: shouldStop, start: {},
            visit: { view, event in
                guard let event else { return }
                let record = ReplayedEvent(
                    header: RecordHeader(sequence: view.sequence, recordedTime: Timestamp(microsecondsSinceEpoch: view.recordedTime)),
                    topic: Array(view.topic), event: Array(view.event))
                try body(record, event)
            },
            endOfBatch: {})
    }

    /// The window walk shared by ``run(_:writer:emit:progress:shouldStop:)`` and ``events(_:shouldStop:_:)``:
    /// `start` once the journal is found to overlap the window, `visit` for each match (its event decoded when
    /// `decode` or a filter needs it), `endOfBatch` after each chunk of the journal.
    private func scan(
        _ selection: ReplaySelection, decode: Bool, progress: (UInt64) -> Void, shouldStop: () -> Bool,
        start: () throws -> Void, visit: (JournalRecordView, Event?) throws -> Void, endOfBatch: () throws -> Void
    ) throws -> ReplaySummary {
        var summary = ReplaySummary()
        let statistics = try JournalInspector.statistics(directory: directory)
        summary.journalFirst = statistics.firstSequence
        summary.journalLast = statistics.lastSequence
        summary.tail = statistics.tail
        guard let first = statistics.firstSequence, let last = statistics.lastSequence else {
            summary.notice = "the journal in \(directory) holds no events"
            return summary
        }
        if selection.fromSequence > last {
            summary.notice = "the window starts at sequence \(selection.fromSequence), after the journal's last (\(last))"
            return summary
        }
        if selection.toSequence < first {
            summary.notice = "the window ends at sequence \(selection.toSequence), before the journal's first (\(first))"
            return summary
        }
        if let since = selection.since, let maxTime = statistics.maxTime, since.microsecondsSinceEpoch > maxTime {
            summary.notice = "the window starts at \(since.rfc3339), after the journal's last record (\(Timestamp(microsecondsSinceEpoch: maxTime).rfc3339))"
            return summary
        }
        if let until = selection.until, let firstTime = statistics.firstTime, until.microsecondsSinceEpoch <= firstTime {
            summary.notice = "the window ends at \(until.rfc3339), before the journal's first record (\(Timestamp(microsecondsSinceEpoch: firstTime).rfc3339))"
            return summary
        }
        let reader: JournalReader
        if let since = selection.since, selection.fromSequence <= first {
            reader = try JournalReader.open(directory: directory, fromTime: since.microsecondsSinceEpoch)
        } else {
            reader = try JournalReader.open(directory: directory, from: max(selection.fromSequence, first))
        }
        defer { reader.close() }
        try start()
        var finished = false
        var lastRead: UInt64 = 0
        while !finished && !shouldStop() {
            let read = try reader.read(maxRecords: 65_536) { view in
                guard !finished else { return }
                summary.scanned += 1
                lastRead = view.sequence
                if view.sequence < selection.fromSequence { return }
                if view.sequence > selection.toSequence { finished = true; return }
                if let until = selection.until, view.recordedTime >= until.microsecondsSinceEpoch,
                    selection.since != nil || selection.toSequence == .max
                {
                    // Recorded times only grow (the broker keeps them monotonic): nothing later can match.
                    finished = true
                    return
                }
                guard selection.matches(recordedTime: view.recordedTime), selection.matches(topic: view.topic) else { return }
                var event: Event?
                if selection.needsEvent && !decode, let matched = selection.matchesCanonical(event: view.event) {
                    // JSON lines need no decoded event: the stored bytes decide.
                    guard matched else { return }
                } else if selection.needsEvent && !selection.mightMatch(event: view.event) {
                    return
                } else if selection.needsEvent || decode {
                    event = try? EventCodec.decode(UnsafeBufferPointer(start: view.event.baseAddress?.assumingMemoryBound(to: UInt8.self), count: view.event.count))
                    if let decoded = event, !selection.matches(event: decoded) { return }
                    if event == nil && selection.needsEvent { return }
                }
                try visit(view, event)
                summary.matched += 1
                if summary.firstSequence == nil { summary.firstSequence = view.sequence }
                summary.lastSequence = view.sequence
            }
            try endOfBatch()
            progress(summary.scanned)
            if read < 65_536 { break }
        }
        if let tail = summary.tail, lastRead >= tail.nextSequence { summary.tail = nil }
        if selection.toSequence != .max, selection.toSequence > last, summary.notice == nil {
            summary.notice = "the window reaches sequence \(selection.toSequence), past the journal's last (\(last)): replayed up to \(last)"
        }
        return summary
    }
}
