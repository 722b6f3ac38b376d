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
        #expect(ack.sequence == TestBroker.firstEventSequence)
        #expect(try subscriber.nextEvent()?.header.sequence == TestBroker.firstEventSequence)
    }
}
