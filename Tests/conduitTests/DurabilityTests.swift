import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// What a killed `conduit broker` leaves: every event it acknowledged.
@Suite(.timeLimit(.minutes(5)))
struct DurabilityTests {
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
