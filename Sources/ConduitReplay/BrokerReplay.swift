import ConduitCore
import ZeroMQ

/// Replays through a running broker's query endpoint (`REPLAY` under credit), for a reviewer who cannot read the
/// journal directory. The broker narrows by sequence or time window and topic prefixes; everything else of the
/// selection is checked here, so the output is the same as ``OfflineReplay``'s.
public struct BrokerReplay: Sendable {
    public let endpoint: String
    /// How long to wait for the broker before giving up.
    public let timeout: Duration
    /// The keys for a broker that requires CURVE.
    public let curve: CurveClientKeys?

    public init(endpoint: String, timeout: Duration = .seconds(10), curve: CurveClientKeys? = nil) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.curve = curve
    }

    /// Why a replay's `END` says that not all of the window was replayed, in words (``ReplaySummary/notice``);
    /// `nil` when it was. `matched`: how many events the replay gave.
    public static func notice(for end: EndOfStream, matched: UInt64) -> String? {
        switch end.reason {
        case .beforeStart: "the window lies before the journal's first retained event"
        case .beyondHead where matched == 0 && end.lastSequence == 0:
            "the window starts after the journal's last event (\(end.headSequence))"
        case .beyondHead: "the window reaches past the journal's last event (\(end.headSequence))"
        case .idle, .error: "the broker ended the replay (\(end.reason.rawValue))"
        case .complete, .cancelled: nil
        }
    }

    /// The topic prefixes the broker can filter on: kind, then utility, then community, as far as they are given
    /// from the left; empty (everything) when kinds are not given.
    public static func prefixes(for selection: ReplaySelection) -> [[UInt8]] {
        guard !selection.kinds.isEmpty else { return [] }
        var prefixes: [[UInt8]] = []
        for kind in selection.kinds.sorted(by: { $0.rawValue < $1.rawValue }) {
            if selection.utilities.isEmpty {
                prefixes.append(Topic.prefix(kind: kind))
                continue
            }
            for utility in selection.utilities.sorted(by: { $0.rawValue < $1.rawValue }) {
                if selection.communities.isEmpty {
                    prefixes.append(Topic.prefix(kind: kind, utility: utility))
                } else {
                    for community in selection.communities.sorted() {
                        prefixes.append(Topic.prefix(kind: kind, utility: utility, community: community))
                    }
                }
            }
        }
        return prefixes.count <= ReplayRequest.maximumPrefixes ? prefixes : []
    }

    public func run(
        _ selection: ReplaySelection, writer: ReplayWriter, emit: ([UInt8]) throws -> Void,
        shouldStop: () -> Bool = { false }
    ) throws -> ReplaySummary {
        var output: [UInt8] = []
        return try scan(
            selection, shouldStop: shouldStop,
            start: { if let header = writer.header { try emit(Array((header + "\n").utf8)) } },
            visit: { record, event in
                record.event.withUnsafeBytes { bytes in
                    writer.write(
                        sequence: record.header.sequence, recordedTime: record.header.recordedTime.microsecondsSinceEpoch,
                        bytes: bytes, event: event, into: &output)
                }
            },
            endOfBatch: {
                try emit(output)
                output.removeAll(keepingCapacity: true)
            })
    }

    /// Replays the selected window and calls `body` with each matching event, decoded, and its record (header,
    /// topic and canonical JSON), in sequence order. `shouldStop` is polled after each chunk; the replay is then
    /// cancelled.
    public func events(
        _ selection: ReplaySelection, shouldStop: () -> Bool = { false },
        _ body: (ReplayedEvent, Event) throws -> Void
    ) throws -> ReplaySummary {
        try scan(
            selection, shouldStop: shouldStop, start: {},
            visit: { record, event in try body(ReplayedEvent(header: record.header, topic: event.topic, event: record.event), event) },
            endOfBatch: {})
    }

    /// The broker's next reply, waiting at most ``timeout``; a key the broker refuses is said at once.
    private func reply(from client: RequestSocket) throws -> [[UInt8]] {
        do {
            guard let frames = try client.reply(within: timeout) else { throw ReplayError.noAnswer(from: endpoint, within: timeout) }
            return frames
        } catch let failed as RequestSocket.HandshakeFailed {
            throw ReplayError.handshakeFailed(failed.description)
        }
    }

    /// The replay shared by ``run(_:writer:emit:shouldStop:)`` and ``events(_:shouldStop:_:)``: `start` once the
    /// request is sent, `visit` for each match, `endOfBatch` after each chunk.
    private func scan(
        _ selection: ReplaySelection, shouldStop: () -> Bool, start: () throws -> Void,
        visit: (RecordedEvent, Event) throws -> Void, endOfBatch: () throws -> Void
    ) throws -> ReplaySummary {
        let context = try Context()
        let client = try RequestSocket(context, endpoints: [endpoint], curve: curve, server: "broker")
        defer { client.close() }
        let window: ReplayWindow
        if selection.fromSequence == 1 && selection.toSequence == .max, selection.since != nil || selection.until != nil {
            window = .time(
                from: selection.since ?? Timestamp(microsecondsSinceEpoch: 0),
                to: selection.until ?? Timestamp(microsecondsSinceEpoch: .max))
        } else {
            window = .sequence(from: selection.fromSequence, to: selection.toSequence)
        }
        let credit: UInt32 = 1024
        let request = ReplayRequest(request: 1, window: window, credit: credit, topicPrefixes: Self.prefixes(for: selection))
        try client.send(QueryRequest.replay(request).encode())
        var summary = ReplaySummary()
        try start()
        while true {
            let frames = try reply(from: client)
            switch try QueryReply.decode(frames) {
            case .chunk(_, let events):
                for record in events {
                    summary.scanned += 1
                    guard selection.matches(recordedTime: record.header.recordedTime.microsecondsSinceEpoch) else { continue }
                    let event = try? EventCodec.decode(record.event)
                    guard let event, selection.matches(event: event), event.topic.withUnsafeBytes({ selection.matches(topic: $0) }) else {
                        continue
                    }
                    try visit(record, event)
                    summary.matched += 1
                    if summary.firstSequence == nil { summary.firstSequence = record.header.sequence }
                    summary.lastSequence = record.header.sequence
                }
                try endOfBatch()
                if shouldStop() {
                    try client.send(QueryRequest.cancel(request: 1).encode())
                } else {
                    try client.send(QueryRequest.credit(request: 1, amount: UInt32(events.count)).encode())
                }
            case .end(let end):
                summary.journalLast = end.headSequence
                summary.notice = Self.notice(for: end, matched: summary.matched)
                return summary
            case .error(_, let error):
                throw ReplayError.refused(error)
            default:
                continue
            }
        }
    }
}
