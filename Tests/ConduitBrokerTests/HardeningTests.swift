import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import Synchronization
import Testing
import ZeroMQ

/// A journal whose writes can be made to fail (a full disk) and whose syncs can be held.
final class FaultyDisk: Sendable {
    let gate = SyncGate()
    private let failWrites = Atomic<Bool>(false)
    private let failSyncs = Atomic<Bool>(false)

    func setFailing(_ failing: Bool) { failWrites.store(failing, ordering: .releasing) }
    func setSyncFailing(_ failing: Bool) { failSyncs.store(failing, ordering: .releasing) }

    var fileIO: JournalFileIO {
        let held = gate.fileIO
        return JournalFileIO(
            write: { [self] descriptor, buffer, offset in
                if failWrites.load(ordering: .acquiring) { return -Int(ENOSPC) }
                return held.write(descriptor, buffer, offset)
            },
            sync: { [self] descriptor in failSyncs.load(ordering: .acquiring) ? -EIO : held.sync(descriptor) })
    }
}

@Suite(.timeLimit(.minutes(5)))
struct HardeningTests {
    @Test func aFailedBatchWithdrawsEveryAcknowledgementItPromisedAndTheBrokerCarriesOn() throws {
        let disk = FaultyDisk()
        let broker = try TestBroker { $0.journal.fileIO = disk.fileIO }
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)

        // Hold the first batch in fdatasync, so that the event and its resend queue up into one next batch.
        disk.gate.close()
        try agent.publish(SampleEvents.progress(id: "first"), correlation: 1)
        let deadline = Date().addingTimeInterval(60)
        while disk.gate.syncsWaiting == 0 && Date() < deadline { usleep(1000) }
        try agent.publish(SampleEvents.progress(id: "x"), correlation: 2)
        try agent.publish(SampleEvents.progress(id: "x"), correlation: 3)
        usleep(100_000)
        disk.setFailing(true)
        disk.gate.open()

        #expect(acknowledgement(try agent.ingestReply())?.sequence == TestBroker.firstEventSequence)
        var failed: [UInt64: ConduitError.Code] = [:]
        for _ in 0..<2 {
            let rejected = try #require(rejection(try agent.ingestReply()))
            failed[rejected.correlation] = rejected.error.code
        }
        #expect(failed == [2: .serviceUnavailable, 3: .serviceUnavailable], "neither the event nor its resend is acknowledged")

        // The disk has room again: the same event is stored once, at the next free sequence.
        disk.setFailing(false)
        let stored = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "x"), correlation: 4)))
        #expect(stored.sequence == TestBroker.firstEventSequence + 1)
        #expect(!stored.duplicate)
        broker.stop()
        #expect(broker.broker.failure == nil, "a write error does not stop the broker")
        #expect(try journalRecords(broker.directory.appending("journal")).map(\.sequence) == [1, 2, 3], "the plan and two events")
    }

    @Test func aFailedSyncStopsTheBrokerRatherThanAcknowledge() throws {
        let disk = FaultyDisk()
        let broker = try TestBroker { $0.journal.fileIO = disk.fileIO }
        disk.setSyncFailing(true)
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let reply = try agent.publishAndWait(SampleEvents.progress(id: "lost"), correlation: 1)
        #expect(rejection(reply)?.error.code == .serviceUnavailable)
        broker.broker.wait()
        #expect(broker.broker.failure?.code == .journalUnusable)
    }

    @Test func aReplayEndsWhenItsCreditRunsOutExactlyAtTheEnd() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for index in 1...10 { _ = try agent.publishAndWait(SampleEvents.progress(id: "c\(index)"), correlation: UInt64(index)) }
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        try client.send(QueryRequest.replay(ReplayRequest(request: 1, window: .sequence(from: TestBroker.firstEventSequence, to: .max), credit: 10)).encode())
        var received = 0
        var end: EndOfStream?
        while end == nil {
            switch try client.queryReply(timeout: .seconds(60)) {
            case .chunk(_, let events): received += events.count
            case .end(let last): end = last
            case let other: Issue.record("unexpected \(other)")
            }
        }
        #expect(received == 10)
        #expect(end?.reason == .beyondHead, "END comes whatever the credit")
        #expect(end?.lastSequence == TestBroker.firstEventSequence + 9)
    }

    @Test func replaysPerClientAreCapped() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        _ = try agent.publishAndWait(SampleEvents.progress(id: "one"), correlation: 1)
        _ = try agent.publishAndWait(SampleEvents.progress(id: "two"), correlation: 2)
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        // Credit 0 on a window with two events: each replay stays open, holding a reader.
        for request in 1...17 {
            try client.send(QueryRequest.replay(ReplayRequest(request: UInt64(request), window: .sequence(from: 1, to: .max), credit: 0)).encode())
        }
        guard case .error(let request, let error) = try client.queryReply() else { Issue.record("expected ERROR"); return }
        #expect(request == 17)
        #expect(error.code == .serviceUnavailable)
    }

    @Test func idsThatDifferOnlyInUnicodeNormalisationAreDifferentEvents() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let composed = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "caf\u{E9}"), correlation: 1)))
        let decomposed = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "cafe\u{301}"), correlation: 2)))
        #expect(!decomposed.duplicate)
        #expect(decomposed.sequence == composed.sequence + 1)
    }

    /// A REPLAY whose time window ends near `Int64.min`, before it begins, once killed the broker (SIGILL) while the
    /// reason was formatted. It is an `ERROR data.window` naming both ends, and the broker goes on answering.
    @Test func aTimeWindowEndingNearTheSmallestInstantIsRejectedAndTheBrokerCarriesOn() throws {
        let broker = try TestBroker()
        let context = try Context()
        let client = try TestClient(context: context, endpoint: broker.endpoints.query)
        var window = [UInt8(ascii: "T")] + [UInt8](repeating: 0, count: 8)
        window += [0x80, 0, 0, 0, 0, 0, 0, 0]
        try client.send([ProtocolSignature.frame, Array("REPLAY".utf8), [0, 0, 0, 0, 0, 0, 0, 7], window, [0, 0, 0, 8]])
        guard case .error(let request, let error) = try client.queryReply() else { Issue.record("expected ERROR"); return }
        #expect(request == 7)
        #expect(error.code == .dataWindow)
        #expect(error.message.contains("-9223372036854775808 µs"), "\(error)")
        try client.send(QueryRequest.head(request: 8).encode())
        guard case .head(let head) = try client.queryReply() else { Issue.record("expected HEAD"); return }
        #expect(head.request == 8)
        broker.stop()
        #expect(broker.broker.failure == nil)
    }

    /// A rejection of a 60 KB event does not echo it: the REJECT stays small however large the input.
    @Test func aRejectionDoesNotEchoALargeEvent() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let badTime = String(repeating: "9", count: 60_000)
        let event = SampleEvents.progressJSON(id: "big").replacingOccurrences(of: #""time":"2023-06-01T08:30:00Z""#, with: #""time":"\#(badTime)""#)
        #expect(event.contains(badTime))
        try agent.publish(Array(event.utf8), correlation: 1)
        let frames = try #require(try agent.receive())
        #expect(frames.reduce(0) { $0 + $1.count } < 2048, "the REJECT is \(frames.reduce(0) { $0 + $1.count }) bytes")
        guard case .reject(let rejection) = try IngestReply.decode(frames) else { Issue.record("expected REJECT"); return }
        #expect(rejection.error.code == .eventFormat)
    }
}
