import ConduitCore
import ConduitJournal

/// One replay in progress on the query endpoint: a journal reader, a window, topic filters and credit.
///
/// The broker never sends an event without credit: each event in a `CHUNK` uses one, and the client tops it up with
/// `CREDIT`. A chunk the socket could not take (its high-water mark) is held and offered again, never re-read.
final class ReplaySession {
    /// The most bytes of events in one chunk (besides the 1024 events of the protocol; a chunk always holds at least
    /// one event), so that a client's queue, bounded in messages by the socket's high-water mark, and the chunk a
    /// blocked replay holds are bounded in bytes too.
    static let maximumChunkBytes = 64 << 10
    /// What a replay's journal reader reads from the file at a time: 256 replays read with 16 MiB in all.
    static let readerBufferBytes = 64 << 10

    let routingId: [UInt8]
    let request: ReplayRequest
    let reader: JournalReader
    private(set) var credit: UInt64
    private(set) var lastSent: UInt64 = 0
    /// When the session last made progress (sent something, or received credit).
    private(set) var lastActivity: Int64
    private(set) var pendingChunk: QueryReply?
    /// An END that the client's full queue did not take yet.
    private(set) var pendingEnd: EndOfStream?
    private(set) var lastChunkCount = 0
    private var pendingLast: UInt64 = 0
    private var pendingCount = 0
    private var ended: EndReason?
    private var reachedHead = false
    // A matching record read ahead while the credit was zero, so that an exhausted window ends without more credit.
    private var lookahead: RecordedEvent?

    init(routingId: [UInt8], request: ReplayRequest, reader: JournalReader, now: Int64) {
        self.routingId = routingId
        self.request = request
        self.reader = reader
        self.credit = UInt64(request.credit)
        self.lastActivity = now
    }

    enum ChunkOutcome {
        /// A chunk to send.
        case chunk(QueryReply)
        /// Nothing to send now (no credit, or the window holds nothing more yet).
        case waiting
        /// The journal could not be read.
        case failed(String)
    }

    /// Whether the session is waiting for the client to drain its queue (retried on a timer, not in a tight loop).
    var isBlocked: Bool { pendingChunk != nil || pendingEnd != nil }

    /// Whether the session can make progress now without a message from the client.
    var hasWork: Bool {
        if isBlocked { return false }
        if ended != nil || reachedHead { return lookahead == nil || credit > 0 }
        return credit > 0 || lookahead == nil
    }

    /// Credit counts as activity only when it lets the replay go on: a CREDIT of 0, or credit from a client that is
    /// not taking the chunk already offered to it, does not keep an idle replay alive. The credit saturates (a
    /// client may send CREDIT of 2³²−1 for ever).
    func addCredit(_ amount: UInt32, now: Int64) {
        credit = Self.saturatingAdd(credit, UInt64(amount))
        if amount > 0 && !isBlocked { lastActivity = now }
    }

    static func saturatingAdd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    /// Reads matching records into `events`, at most `limit` of them and `maximumChunkBytes` in all, scanning at most
    /// `scanBudget` records; notes the end of the window or the head.
    private func scan(limit: Int, into events: inout [RecordedEvent], scanBudget: inout Int) throws {
        var bytes = events.reduce(0) { $0 + $1.event.count }
        while events.count < limit && bytes < Self.maximumChunkBytes && scanBudget > 0 && ended == nil {
            let want = min(limit - events.count, scanBudget)
            // The reader stops once the records it read reach the bytes left in the chunk, so that a chunk never
            // holds much more than its bytes (records not matching count too: the chunk may come out smaller).
            let room = Self.maximumChunkBytes - bytes
            var scanned = 0
            let read = try reader.read(maxRecords: want, maxBytes: room) { view in
                scanned += view.frameLength
                guard ended == nil else { return }
                switch request.window {
                case .sequence(_, let to):
                    if view.sequence > to { ended = .complete; return }
                case .time(_, let to):
                    if view.recordedTime >= to.microsecondsSinceEpoch { ended = .complete; return }
                }
                if request.topicPrefixes.isEmpty || request.topicPrefixes.contains(where: { view.topic.starts(with: $0) }) {
                    events.append(
                        RecordedEvent(
                            header: RecordHeader(
                                sequence: view.sequence, recordedTime: Timestamp(microsecondsSinceEpoch: view.recordedTime)),
                            event: Array(view.event)))
                    bytes += view.event.count
                }
                if case .sequence(_, let to) = request.window, view.sequence == to { ended = .complete }
            }
            scanBudget -= max(read, 1)
            if read < want {
                if ended == nil && scanned < room { reachedHead = true }
                break
            }
        }
    }

    /// The next chunk: at most `credit` events (and 1024, and about 64 KiB), scanning at most `scanBudget` records.
    func nextChunk(scanBudget: inout Int) -> ChunkOutcome {
        if let pendingChunk { return .chunk(pendingChunk) }
        do {
            if credit == 0 {
                if lookahead == nil && ended == nil && !reachedHead {
                    var ahead: [RecordedEvent] = []
                    try scan(limit: 1, into: &ahead, scanBudget: &scanBudget)
                    lookahead = ahead.first
                }
                return .waiting
            }
            var events: [RecordedEvent] = []
            if let lookahead {
                events.append(lookahead)
                self.lookahead = nil
            }
            if ended == nil && !reachedHead {
                try scan(limit: Int(min(credit, UInt64(QueryReply.maximumChunkEvents))), into: &events, scanBudget: &scanBudget)
            }
            guard let last = events.last else { return .waiting }
            pendingLast = last.header.sequence
            pendingCount = events.count
            return .chunk(.chunk(request: request.request, events: events))
        } catch {
            ended = .error
            return .failed("the journal could not be read: \(error)")
        }
    }

    /// The chunk offered by ``nextChunk(scanBudget:)`` was sent.
    func commitChunk(now: Int64) {
        credit -= UInt64(pendingCount)
        lastSent = pendingLast
        lastChunkCount = pendingCount
        pendingChunk = nil
        pendingCount = 0
        lastActivity = now
    }

    /// The chunk could not be queued (the client's high-water mark): keep it to offer again.
    func holdChunk(_ reply: QueryReply) {
        pendingChunk = reply
    }

    /// The END could not be queued: keep it to offer again.
    func holdEnd(_ end: EndOfStream) {
        pendingEnd = end
    }

    /// The end of the stream, once the window is exhausted (complete) or the head is reached, and everything read
    /// has been sent.
    func finished(head: UInt64) -> EndOfStream? {
        if let pendingEnd { return pendingEnd }
        guard pendingChunk == nil, lookahead == nil else { return nil }
        if let ended { return end(ended, head: head) }
        if reachedHead { return end(.beyondHead, head: head) }
        return nil
    }

    func end(_ reason: EndReason, head: UInt64) -> EndOfStream {
        EndOfStream(request: request.request, reason: reason, lastSequence: lastSent, headSequence: head)
    }
}

/// The replays in progress, by client and request id.
struct ReplaySessions {
    private struct Key: Hashable {
        var routingId: [UInt8]
        var request: UInt64
    }

    private var sessions: [Key: ReplaySession] = [:]

    var count: Int { sessions.count }

    /// Whether some replay can make progress without waiting for a message.
    var hasWork: Bool { sessions.values.contains { $0.hasWork } }

    /// Whether some replay waits for its client to drain a full queue.
    var hasBlocked: Bool { sessions.values.contains { $0.isBlocked } }

    /// How many replays `routingId` has in progress.
    func count(of routingId: [UInt8]) -> Int { sessions.keys.reduce(0) { $0 + ($1.routingId == routingId ? 1 : 0) } }

    /// Adds a session; returns the one it replaces (same client, same request id), if any.
    mutating func insert(_ session: ReplaySession) -> ReplaySession? {
        sessions.updateValue(session, forKey: Key(routingId: session.routingId, request: session.request.request))
    }

    mutating func addCredit(routingId: [UInt8], request: UInt64, amount: UInt32, now: Int64) -> Bool {
        guard let session = sessions[Key(routingId: routingId, request: request)] else { return false }
        session.addCredit(amount, now: now)
        return true
    }

    mutating func remove(routingId: [UInt8], request: UInt64) -> ReplaySession? {
        guard let session = sessions.removeValue(forKey: Key(routingId: routingId, request: request)) else { return nil }
        session.reader.close()
        return session
    }

    mutating func remove(_ session: ReplaySession) {
        _ = remove(routingId: session.routingId, request: session.request.request)
    }

    /// Sessions that have something to do (or wait on a full queue, with `includingBlocked`), least recently
    /// served first for fairness between clients.
    func active(includingBlocked: Bool) -> [ReplaySession] {
        sessions.values.filter { $0.hasWork || (includingBlocked && $0.isBlocked) }.sorted { $0.lastActivity < $1.lastActivity }
    }

    /// Removes and returns the replays that made no progress (nothing sent, no credit received) for `timeout`
    /// microseconds, whatever their credit: a client that stopped reading does not hold a reader forever.
    mutating func expireIdle(now: Int64, timeout: Int64) -> [ReplaySession] {
        let idle = sessions.filter { now - $0.value.lastActivity > timeout }
        for (key, session) in idle {
            session.reader.close()
            sessions[key] = nil
        }
        return Array(idle.values)
    }

    /// Removes and returns the replay that has made no progress for the longest, if that is at least `minimumIdle`
    /// microseconds: the place of a replay whose client stopped reading or granting credit, for a new one.
    mutating func removeLongestIdle(now: Int64, minimumIdle: Int64) -> ReplaySession? {
        guard let (key, session) = sessions.min(by: { $0.value.lastActivity < $1.value.lastActivity }),
            now - session.lastActivity >= minimumIdle
        else { return nil }
        session.reader.close()
        sessions[key] = nil
        return session
    }

    /// Removes and returns every session (at shutdown).
    mutating func removeAll() -> [ReplaySession] {
        let all = Array(sessions.values)
        for session in all { session.reader.close() }
        sessions.removeAll()
        return all
    }
}
