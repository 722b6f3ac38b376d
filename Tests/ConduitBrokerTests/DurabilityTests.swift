import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import Synchronization
import Testing
import ZeroMQ

/// A journal sync that the test can hold shut, to observe what the broker does while a batch is not yet durable.
final class SyncGate: Sendable {
    private let closed = Atomic<Bool>(false)
    private let waiting = Atomic<Int>(0)

    func close() { closed.store(true, ordering: .releasing) }
    func open() { closed.store(false, ordering: .releasing) }
    var syncsWaiting: Int { waiting.load(ordering: .acquiring) }

    var fileIO: JournalFileIO {
        let system = JournalFileIO.system
        return JournalFileIO(write: system.write) { [self] descriptor in
            if closed.load(ordering: .acquiring) {
                waiting.add(1, ordering: .acquiringAndReleasing)
                while closed.load(ordering: .acquiring) { usleep(1000) }
                waiting.subtract(1, ordering: .acquiringAndReleasing)
            }
            return system.sync(descriptor)
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct DurabilityTests {
    @Test func anEventIsNeitherAcknowledgedNorPublishedBeforeItIsSynced() throws {
        let gate = SyncGate()
        let broker = try TestBroker { $0.journal.fileIO = gate.fileIO }
        let context = try Context()
        let subscriber = try TestSubscriber(context: context, endpoint: broker.endpoints.fanout, prefixes: ["progress/"])
        try subscriber.awaitReady()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)

        gate.close()
        try agent.publish(SampleEvents.progress(id: "held"), correlation: 1)
        let deadline = Date().addingTimeInterval(60)
        while gate.syncsWaiting == 0 && Date() < deadline { usleep(1000) }
        #expect(gate.syncsWaiting == 1, "the broker is inside fdatasync for the batch")
        #expect(try agent.receive(timeout: .milliseconds(300)) == nil, "no acknowledgement before the sync returns")
        #expect(try subscriber.nextEvent(timeout: .milliseconds(300)) == nil, "no publication before the sync returns")

        gate.open()
        let ack = try #require(acknowledgement(try agent.ingestReply()))
        #expect(ack.sequence == 1)
        #expect(try subscriber.nextEvent()?.header.sequence == 1)
    }

    /// Invariant 1: SIGKILL the `conduit broker` process under load, many times. Every acknowledged event is in the
    /// journal after restart with the sequence it was acknowledged with; sequences continue without reuse; the
    /// agent's resends of unacknowledged events are stored once.
    @Test func acknowledgedEventsSurviveSigkillOfTheBroker() throws {
        let directory = TemporaryDirectory(prefix: "broker-crash")
        let journal = directory.appending("journal")
        var random = SplitMix64(seed: 0xD0_4AB1E)
        var acknowledged: [String: UInt64] = [:]  // event id → sequence
        var unacknowledged: [String] = []
        var nextId = 0
        var kills = 0
        let context = try Context()
        // Twelve rounds whatever the machine's speed: each kills only after some events of its own were
        // acknowledged, at a random moment after that (under load: 64 events in flight).
        while kills < 12 {
            let broker = try BrokerProcess(journalDirectory: journal)
            let agent = try TestClient(context: context, endpoint: broker.ingest)
            // Resend what was never acknowledged (as an outbox does), then new events, 64 in flight at most.
            var queue = unacknowledged
            unacknowledged = []
            var inFlight: [UInt64: String] = [:]
            var correlation: UInt64 = 0
            var acknowledgedInRound = 0
            var killAt: Date?
            let giveUp = Date().addingTimeInterval(120)
            while killAt.map({ Date() < $0 }) ?? true {
                if killAt == nil && acknowledgedInRound >= 20 {
                    killAt = Date().addingTimeInterval(Double(random.next() % 300) / 1000)
                }
                guard Date() < giveUp else {
                    Issue.record("round \(kills): only \(acknowledgedInRound) acknowledgements in 120 s")
                    break
                }
                while inFlight.count < 64 {
                    let id: String
                    if queue.isEmpty {
                        nextId += 1
                        id = "k\(nextId)"
                    } else {
                        id = queue.removeFirst()
                    }
                    correlation += 1
                    inFlight[correlation] = id
                    try agent.publish(SampleEvents.progress(id: id), correlation: correlation)
                }
                guard let frames = try agent.receive(timeout: .milliseconds(20)) else { continue }
                guard case .ack(let ack) = try IngestReply.decode(frames), let id = inFlight.removeValue(forKey: ack.correlation)
                else { Issue.record("unexpected reply"); continue }
                if let previous = acknowledged[id] {
                    #expect(previous == ack.sequence, "a resend is acknowledged with its original sequence")
                }
                acknowledged[id] = ack.sequence
                acknowledgedInRound += 1
            }
            broker.stop(signal: SIGKILL)
            kills += 1
            unacknowledged = queue + inFlight.sorted { $0.key < $1.key }.map(\.value)
        }

        // A graceful restart recovers the journal; then every acknowledged event must be there.
        let final = try BrokerProcess(journalDirectory: journal)
        final.stop(signal: SIGTERM)
        #expect(final.process.terminationStatus == 0)
        let records = try journalRecords(journal)
        #expect(!records.isEmpty)
        #expect(records.map(\.sequence) == Array(1...UInt64(records.count)), "a contiguous log from 1")
        var stored: [String: UInt64] = [:]
        for record in records {
            let event = try EventCodec.decode(record.event)
            guard case .progress = event.data else { continue }
            #expect(stored[event.id] == nil, "event \(event.id) is stored once")
            stored[event.id] = record.sequence
        }
        #expect(acknowledged.count >= 12 * 20)
        for (id, sequence) in acknowledged {
            #expect(stored[id] == sequence, "acknowledged event \(id) is in the journal at \(sequence)")
        }
    }
}
