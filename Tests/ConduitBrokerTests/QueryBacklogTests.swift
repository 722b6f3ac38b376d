import ConduitBroker
import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// Every request the query endpoint accepts is answered, however many a client pipelines before it reads: replies
/// once beyond the socket's high-water mark of 16 were dropped. What a client may leave waiting is bounded instead.
@Suite(.timeLimit(.minutes(5)))
struct QueryBacklogTests {
    @Test func fortyPipelinedHeadsGetFortyAnswersInOrder() throws {
        let broker = try TestBroker()
        let context = try Context()
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        for request in 1...40 { try client.send(QueryRequest.head(request: UInt64(request)).encode()) }
        var answered: [UInt64] = []
        for _ in 1...40 {
            guard case .head(let head) = try client.queryReply() else { Issue.record("expected HEAD"); return }
            answered.append(head.request)
        }
        #expect(answered == Array(1...40))
    }

    /// Sixteen open replays, a reply left unread, then sixteen CANCELs: one END for each.
    @Test func everyCancelledReplayEndsEvenBehindAnUnreadReply() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        _ = try agent.publishAndWait(SampleEvents.progress(id: "one"), correlation: 1)
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        for request in 1...16 {  // credit 0: each stays open and sends nothing
            try client.send(
                QueryRequest.replay(ReplayRequest(request: UInt64(request), window: .sequence(from: 1, to: .max), credit: 0)).encode())
        }
        try client.send(QueryRequest.head(request: 100).encode())
        for request in 1...16 { try client.send(QueryRequest.cancel(request: UInt64(request)).encode()) }
        var ends: [UInt64] = []
        var heads = 0
        for _ in 0..<17 {
            switch try client.queryReply() {
            case .end(let end):
                #expect(end.reason == .cancelled)
                ends.append(end.request)
            case .head(let head):
                #expect(head.request == 100)
                heads += 1
            case let other: Issue.record("unexpected \(other)")
            }
        }
        #expect(heads == 1)
        #expect(ends.sorted() == Array(1...16))
    }

    /// A client that sends far more than its buffers hold and reads nothing: its first requests are answered, up to
    /// 1,024 wait, the rest are discarded, and once it reads it is told how many, in one ERROR. Nothing is lost
    /// without a word, the broker's memory for it stays bounded, and another client is served meanwhile.
    ///
    /// The query endpoint is an IPC one here. Over loopback TCP, a client that never reads, with a receive buffer
    /// small enough to fill quickly, drives the kernel into dropping segments it has no room for; once it had seen a
    /// zero window from a busy broker, such a client was seen to wait out the kernel's backed-off window probes
    /// (46 s and more) while the broker had read everything it was sent. That is TCP's, not the broker's; what this
    /// test holds the broker to does not depend on the transport.
    @Test func aClientThatNeverReadsIsBoundedAndToldWhatWasDiscarded() throws {
        let directory = TemporaryDirectory()
        let broker = try TestBroker(directory: directory) { $0.queryEndpoint = "ipc://" + directory.appending("query.sock") }
        let context = try Context()
        let greedy = try Socket(context, type: .dealer)
        try greedy.set(.linger, .zero)
        try greedy.set(.receiveHighWaterMark, 1)
        // A send that waits this long means the broker took nothing from the client meanwhile: the test ends there
        // instead of holding the whole run.
        try greedy.set(.sendTimeout, .seconds(60))
        try greedy.connect(broker.endpoints.query)
        let total = 200_000  // about 12 MB of replies: more than any buffer on the way holds
        for request in 1...total {
            guard try greedy.send(frames: QueryRequest.head(request: UInt64(request)).encode()) else {
                // The broker's counters say whether it still took requests (from this client, or another).
                var stats = "(no answer)"
                if let probe = try? TestClient(context: context, endpoint: broker.endpoints.query),
                    (try? probe.send(QueryRequest.stats(request: 1).encode())) != nil,
                    case .stats(_, let json)? = try? probe.queryReply(timeout: .seconds(10))
                {
                    stats = String(decoding: json, as: UTF8.self)
                }
                Issue.record("the broker took no request for 60 s, after \(request - 1) of \(total); its counters: \(stats)")
                return
            }
        }

        // Meanwhile another client is answered.
        let other = try TestClient(context: context, endpoint: broker.endpoints.query)
        try other.send(QueryRequest.head(request: 7).encode())
        guard case .head(let head) = try other.queryReply() else { Issue.record("expected HEAD"); return }
        #expect(head.request == 7)

        let poller = Poller()
        poller.add(greedy)
        var answered: [UInt64] = []
        var lost = 0
        // Until every request is accounted for: answered, or counted in an ERROR.
        while answered.count + lost < total, try poller.poll(timeout: .seconds(60)) > 0 {
            while let frames = try greedy.receiveFrames(wait: false) {
                switch try QueryReply.decode(frames) {
                case .head(let head): answered.append(head.request)
                case .error(let request, let error):
                    #expect(request == 0)
                    #expect(error.code == .serviceUnavailable)
                    lost += Int(error.reason.prefix { $0.isNumber }) ?? 0
                case let other: Issue.record("unexpected \(other)")
                }
            }
        }
        #expect(lost > 0, "some were discarded, and the client was told")
        #expect(answered == answered.sorted(), "answers in request order")
        #expect(answered.count + lost == total, "every request answered or counted as discarded")
        #expect(Set(answered).count == answered.count)
        try other.send(QueryRequest.stats(request: 8).encode())
        guard case .stats(_, let json) = try other.queryReply() else { Issue.record("expected STATS"); return }
        #expect(String(decoding: json, as: UTF8.self).contains("\"queriesDiscarded\":\(lost)"))
    }
}
