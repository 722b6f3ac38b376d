import ConduitCore
import ConduitTesting
import Foundation
import Synchronization
import Testing
import ZeroMQ

@testable import ConduitBroker

/// Credit from the network is arithmetic on the client's numbers: it saturates, and it keeps a replay alive only
/// when it lets the replay go on.
@Suite(.timeLimit(.minutes(5)))
struct ReplayCreditTests {
    @Test func creditSaturatesInsteadOfOverflowing() {
        #expect(ReplaySession.saturatingAdd(.max - 1, 5) == .max)
        #expect(ReplaySession.saturatingAdd(.max, UInt64(UInt32.max)) == .max)
        #expect(ReplaySession.saturatingAdd(3, 4) == 7)
    }

    /// A client that sends CREDIT 0 again and again, on a clock the test moves, is still ended as idle.
    @Test func creditOfZeroDoesNotKeepAnIdleReplayAlive() throws {
        let offset = Atomic<Int64>(0)
        let broker = try TestBroker(clock: { Broker.wallClock() + offset.load(ordering: .acquiring) })
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        _ = try agent.publishAndWait(SampleEvents.progress(id: "one"), correlation: 1)
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        // Each request is followed by a HEAD whose answer says the broker has taken it (one client's requests are
        // taken in order), so that the clock moves between them and not before the replay exists.
        var end: EndOfStream?
        func settle(_ frames: WireMessage, _ request: UInt64) throws {
            try client.send(frames)
            try client.send(QueryRequest.head(request: request).encode())
            while true {
                switch try client.queryReply() {
                case .head(let head) where head.request == request: return
                case .end(let ended): end = ended
                case let other: Issue.record("unexpected \(other)")
                }
            }
        }
        try settle(QueryRequest.replay(ReplayRequest(request: 1, window: .sequence(from: 1, to: .max), credit: 0)).encode(), 100)
        for step in 1...3 {
            offset.add(30_000_000, ordering: .acquiringAndReleasing)  // half the idle limit each time
            try settle(QueryRequest.credit(request: 1, amount: 0).encode(), 100 + UInt64(step))
        }
        if end == nil, case .end(let ended) = try client.queryReply() { end = ended }
        #expect(end?.reason == .idle)
        #expect(end?.request == 1)
    }
}
