import ConduitBroker
import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// Replays a window through the query endpoint with a steady credit; returns the events and the end.
func replay(
    _ client: TestClient, request: UInt64, window: ReplayWindow, prefixes: [[UInt8]] = [], credit: UInt32 = 64
) throws -> (events: [RecordedEvent], end: EndOfStream) {
    try client.send(
        QueryRequest.replay(ReplayRequest(request: request, window: window, credit: credit, topicPrefixes: prefixes))
            .encode())
    var events: [RecordedEvent] = []
    while true {
        switch try client.queryReply() {
        case .chunk(let id, let chunk):
            #expect(id == request)
            events += chunk
            try client.send(QueryRequest.credit(request: request, amount: UInt32(chunk.count)).encode())
        case .end(let end):
            return (events, end)
        case let other:
            throw TestClientError("unexpected reply during replay: \(other)")
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct ReplayTests {
    /// Starts a broker whose journal then holds `count` records: the broker's plan (sequence 1), then events that
    /// alternate outages (even sequences) and progress (odd sequences).
    func brokerWithEvents(_ count: Int) throws -> (TestBroker, Context) {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for sequence in TestBroker.firstEventSequence...UInt64(count) {
            let event = sequence % 2 == 1 ? SampleEvents.progress(id: "p\(sequence)") : SampleEvents.outage(id: "o\(sequence)")
            try agent.publish(event, correlation: sequence)
        }
        for sequence in TestBroker.firstEventSequence...UInt64(count) {
            #expect(try #require(acknowledgement(try agent.ingestReply())).sequence == sequence)
        }
        return (broker, context)
    }

    @Test func replayHonoursCreditAndEndsAtTheHead() throws {
        let (broker, context) = try brokerWithEvents(100)
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        try client.send(
            QueryRequest.replay(ReplayRequest(request: 1, window: .sequence(from: 1, to: .max), credit: 10)).encode())
        var received: [RecordedEvent] = []
        while received.count < 10 {
            guard case .chunk(_, let events) = try client.queryReply() else { Issue.record("expected a chunk"); return }
            received += events
        }
        #expect(received.count == 10, "never more events than credit")
        #expect(try client.receive(timeout: .milliseconds(300)) == nil, "at zero credit the broker waits")
        try client.send(QueryRequest.credit(request: 1, amount: 1000).encode())
        var end: EndOfStream?
        while end == nil {
            switch try client.queryReply() {
            case .chunk(_, let events): received += events
            case .end(let last): end = last
            case let other: Issue.record("unexpected \(other)")
            }
        }
        #expect(received.map(\.header.sequence) == Array(1...100))
        #expect(end?.reason == .beyondHead)
        #expect(end?.lastSequence == 100)
        #expect(end?.headSequence == 100)
    }

    @Test func replayFiltersByTopicAndWindow() throws {
        let (broker, context) = try brokerWithEvents(40)
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        let outages = try replay(client, request: 2, window: .sequence(from: 11, to: 30), prefixes: [Array("outage/".utf8)])
        #expect(outages.events.map(\.header.sequence) == Array(stride(from: 12, through: 30, by: 2)))
        #expect(outages.end.reason == .complete)
        let all = try replay(client, request: 3, window: .sequence(from: 5, to: 5))
        #expect(all.events.map(\.header.sequence) == [5])
        #expect(all.end.reason == .complete)
        let beyond = try replay(client, request: 4, window: .sequence(from: 41, to: 50))
        #expect(beyond.events.isEmpty)
        #expect(beyond.end.reason == .beyondHead)
        // By recorded time: [0, just after the last event) holds everything and reaches the head; a window that
        // ends at the first event's recorded time lies wholly before the journal.
        let everything = try replay(client, request: 5, window: .sequence(from: 1, to: .max))
        let first = everything.events[0].header.recordedTime
        let last = everything.events[everything.events.count - 1].header.recordedTime
        let byTime = try replay(
            client, request: 6,
            window: .time(from: Timestamp(microsecondsSinceEpoch: 0), to: Timestamp(microsecondsSinceEpoch: last.microsecondsSinceEpoch + 1)))
        #expect(byTime.events.map(\.header.sequence) == Array(1...40))
        #expect(byTime.end.reason == .beyondHead)
        let before = try replay(client, request: 7, window: .time(from: Timestamp(microsecondsSinceEpoch: 0), to: first))
        #expect(before.events.isEmpty)
        #expect(before.end.reason == .beforeStart)
    }

    @Test func headAndStatsDescribeTheJournal() throws {
        let (broker, context) = try brokerWithEvents(7)
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        try client.send(QueryRequest.head(request: 11).encode())
        guard case .head(let head) = try client.queryReply() else { Issue.record("expected HEAD"); return }
        #expect(head.request == 11)
        #expect(head.firstSequence == 1)
        #expect(head.headSequence == 7)
        try client.send(QueryRequest.stats(request: 12).encode())
        guard case .stats(let id, let json) = try client.queryReply() else { Issue.record("expected STATS"); return }
        #expect(id == 12)
        let object = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]
        #expect(object?["eventsAccepted"] as? Int == 6, "the plan is the broker's own record, not an accepted event")
        #expect(object?["lastSequence"] as? Int == 7)
        try client.send([ProtocolSignature.frame, Array("REPLAY".utf8), [0, 0, 0, 0, 0, 0, 0, 9], [1, 2]])
        guard case .error(let request, let error) = try client.queryReply() else { Issue.record("expected ERROR"); return }
        #expect(request == 9)
        #expect(error.code == .frameArity || error.code == .frameSize)
    }

    @Test func aStalledSubscriberDetectsItsGapAndFillsItFromTheJournal() throws {
        let broker = try TestBroker {
            $0.fanoutHighWaterMark = 5
            $0.fanoutSendBuffer = 4096  // whatever the kernel's defaults, ~13 MB cannot fit
        }
        let context = try Context()
        let subscriber = try TestSubscriber(
            context: context, endpoint: broker.endpoints.fanout, receiveHighWaterMark: 5, receiveBuffer: 4096)
        try subscriber.awaitReady()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let total = 10_000
        let first = TestBroker.firstEventSequence, head = first + UInt64(total) - 1
        let padding = String(repeating: "x", count: 1000)  // ~13 MB in all: more than the socket buffers hold
        for index in 1...total {
            let json = SampleEvents.progressJSON(id: "s\(index)").replacingOccurrences(
                of: "\"actualStart\"", with: "\"blockingReason\":\"\(padding)\",\"actualStart\"")
            try agent.publish(Array(json.utf8), correlation: UInt64(index))
        }
        for _ in 1...total { _ = try #require(acknowledgement(try agent.ingestReply())) }

        // The subscriber wakes up and reads what reached it: it must see that it missed events.
        var seen: [UInt64] = []
        var latestKnown: UInt64 = 0
        // Heartbeats come only when the broker is idle, after the last event: one that reports the head means
        // everything that survived has been read.
        while latestKnown < head, let message = try subscriber.next(timeout: .seconds(60)) {
            switch message {
            case .event(_, let record): seen.append(record.header.sequence)
            case .heartbeat(let latest): latestKnown = latest.sequence
            }
        }
        #expect(latestKnown == head, "the heartbeat tells the subscriber how far the broker is")
        let missing = Set(first...head).subtracting(seen)
        #expect(!missing.isEmpty, "a stalled subscriber with a tiny high-water mark loses live events")

        // It fills the gap from the query endpoint and ends with every event, in order, once.
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        let filled = try replay(client, request: 1, window: .sequence(from: first, to: latestKnown), credit: 256)
        #expect(filled.end.reason == .complete)
        let recovered = Set(filled.events.map(\.header.sequence))
        #expect(missing.isSubset(of: recovered))
        #expect(filled.events.map(\.header.sequence) == Array(first...head))
    }
}
