import ConduitCore
import ConduitJournal

/// One replay in progress on the query endpoint: a journal reader, a window, topic filters and credit.
///
/// The broker never sends an event without credit: each event in a `CHUNK` uses one, and the client tops it up with
/// `CREDIT`. A chunk the socket could not take (its high-water mark) is held and offered again, never re-read.
final class ReplaySession {
    let routingId: [UInt8]
    let request: ReplayRequest
    let reader: JournalReader
    private(set) var credit: UInt64
    private(set) var lastSent: UInt64 = 0
    private(set) var lastActivity: Int64
    private(set) var pendingChunk: QueryReply?
    private(set) var lastChunkCount = 0
    private var pendingLast: UInt64 = 0
    private var pendingCount = 0
    private var ended: EndReason?
    private var reachedHead = false

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

    var hasWork: Bool { pendingChunk != nil || (credit > 0 && ended == nil && !reachedHead) || (ended != nil || reachedHead) }

    func addCredit(_ amount: UInt32, now: Int64) {
        credit += UInt64(amount)
        lastActivity = now
    }

    /// Reads the next chunk: at most `credit` events (and 1024), scanning at most `scanBudget` records.
    func nextChunk(scanBudget: inout Int, head: UInt64) -> ChunkOutcome {
        if let pendingChunk { return .chunk(pendingChunk) }
        guard credit > 0, ended == nil, !reachedHead else { return .waiting }
        var events: [RecordedEvent] = []
        let limit = Int(min(credit, UInt64(QueryReply.maximumChunkEvents)))
        var last = lastSent
        do {
            while events.count < limit && scanBudget > 0 && ended == nil {
                let want = min(limit - events.count, scanBudget)
                let read = try reader.read(maxRecords: want) { view in
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
                                    sequence: view.sequence,
                                    recordedTime: Timestamp(microsecondsSinceEpoch: view.recordedTime)),
                                event: Array(view.event)))
                        last = view.sequence
                    }
                    if case .sequence(_, let to) = request.window, view.sequence == to { ended = .complete }
                }
                scanBudget -= max(read, 1)
                if read < want {
                    if ended == nil { reachedHead = true }
                    break
                }
            }
        } catch {
            ended = .error
            return .failed("the journal could not be read: \(error)")
        }
        guard !events.isEmpty else { return .waiting }
        pendingLast = last
        pendingCount = events.count
        return .chunk(.chunk(request: request.request, events: events))
    }

    /// The chunk offered by ``nextChunk(scanBudget:head:)`` was sent.
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

    /// The end of the stream, once the window is exhausted (complete) or the head is reached.
    func finished(head: UInt64) -> EndOfStream? {
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

    /// Sessions that have something to do, oldest request first for fairness between clients.
    func sessionsWithCredit() -> [ReplaySession] {
        sessions.values.filter { $0.hasWork }.sorted { $0.lastActivity < $1.lastActivity }
    }

    /// Ends the replays that received no credit for `timeout` microseconds.
    mutating func expireIdle(now: Int64, timeout: Int64) -> [([UInt8], EndOfStream)] {
        var ended: [([UInt8], EndOfStream)] = []
        for (key, session) in sessions where session.credit == 0 && now - session.lastActivity > timeout {
            ended.append((key.routingId, session.end(.idle, head: 0)))
            session.reader.close()
            sessions[key] = nil
        }
        return ended
    }

    mutating func closeAll() {
        for session in sessions.values { session.reader.close() }
        sessions.removeAll()
    }
}
