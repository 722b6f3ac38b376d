import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

func acknowledgement(_ reply: IngestReply, sourceLocation: SourceLocation = #_sourceLocation) -> Acknowledgement? {
    guard case .ack(let ack) = reply else {
        Issue.record("expected ACK, got \(reply)", sourceLocation: sourceLocation)
        return nil
    }
    return ack
}

func rejection(_ reply: IngestReply, sourceLocation: SourceLocation = #_sourceLocation) -> Rejection? {
    guard case .reject(let rejection) = reply else {
        Issue.record("expected REJECT, got \(reply)", sourceLocation: sourceLocation)
        return nil
    }
    return rejection
}

@Suite(.timeLimit(.minutes(5)))
struct BrokerTests {
    @Test func acceptedEventsAreAcknowledgedJournaledAndPublishedInOrder() throws {
        let broker = try TestBroker()
        let context = try Context()
        let subscriber = try TestSubscriber(context: context, endpoint: broker.endpoints.fanout, prefixes: ["progress/"])
        try subscriber.awaitReady()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for index in 1...20 {
            try agent.publish(SampleEvents.progress(id: "e\(index)", percent: index), correlation: UInt64(100 + index))
        }
        for index in 1...20 {
            let ack = try #require(acknowledgement(try agent.ingestReply()))
            #expect(ack.correlation == UInt64(100 + index))
            #expect(ack.sequence == UInt64(index) + 1, "sequence 1 is the broker's plan")
            #expect(!ack.duplicate)
            #expect(ack.id == "e\(index)")
        }
        for index in 1...20 {
            let record = try #require(try subscriber.nextEvent())
            #expect(record.header.sequence == UInt64(index) + 1)
            let event = try EventCodec.decode(record.event)
            #expect(event.id == "e\(index)")
            #expect(event.sequence == UInt64(index) + 1, "the broker stamps the sequence into the event")
            #expect(event.recordedTime == record.header.recordedTime)
        }
        // HELLO is optional: without it there is no presence, and a GOODBYE is ignored.
        try agent.send(IngestRequest.goodbye.encode())
        try agent.send(IngestRequest.heartbeat.encode())
        guard case .heartbeat = try agent.ingestReply() else { Issue.record("expected HEARTBEAT"); return }
        broker.stop()
        let records = try journalRecords(broker.directory.appending("journal"))
        #expect(records.map(\.sequence) == Array(1...21), "the plan, the events, and no presence record")
        #expect(records.first?.topic == Array("plan/-/-/".utf8))
        #expect(records.dropFirst().first?.topic == Array("progress/power/ganjiaba/".utf8))
    }

    /// A client's `sequence` must be an integer from 1 (it is checked) and is then replaced by the broker's.
    @Test func aClientsSequenceIsCheckedThenOverwritten() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let with = { (value: String, id: String) in
            Array(SampleEvents.progressJSON(id: id).replacingOccurrences(of: #""data":"#, with: #""sequence":\#(value),"data":"#).utf8)
        }
        let text = try #require(rejection(try agent.publishAndWait(with(#""0001""#, "s1"), correlation: 1)))
        #expect(text.error.code == .eventType && text.error.path == "sequence")
        let zero = try #require(rejection(try agent.publishAndWait(with("0", "s2"), correlation: 2)))
        #expect(zero.error.code == .dataRange && zero.error.path == "sequence")
        let seven = try #require(acknowledgement(try agent.publishAndWait(with("7", "s3"), correlation: 3)))
        #expect(seven.sequence == TestBroker.firstEventSequence)
        broker.stop()
        let stored = try EventCodec.decode(try #require(try journalRecords(broker.directory.appending("journal")).last).event)
        #expect(stored.id == "s3" && stored.sequence == TestBroker.firstEventSequence)
    }

    @Test func aResentEventIsAcknowledgedWithItsOriginalSequenceAndStoredOnce() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let first = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "a"), correlation: 1)))
        _ = try agent.publishAndWait(SampleEvents.progress(id: "b"), correlation: 2)
        let again = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "a", percent: 50), correlation: 3)))
        #expect(again.duplicate)
        #expect(again.sequence == first.sequence)
        #expect(again.correlation == 3)
        // The same id from another source is a different event.
        let other = try #require(
            acknowledgement(
                try agent.publishAndWait(SampleEvents.progress(id: "a", source: "/power-supply-bureau/agent-2"), correlation: 4)))
        #expect(!other.duplicate)
        #expect(other.sequence == TestBroker.firstEventSequence + 2)
        broker.stop()
        #expect(try journalRecords(broker.directory.appending("journal")).count == 4, "the plan and three events")
    }

    @Test func deduplicationSurvivesARestart() throws {
        let directory = TemporaryDirectory()
        let context = try Context()
        var firstSequence: UInt64 = 0
        do {
            let broker = try TestBroker(directory: directory)
            let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
            firstSequence = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "x"), correlation: 1))).sequence
            _ = try agent.publishAndWait(SampleEvents.progress(id: "y"), correlation: 2)
            broker.stop()
        }
        let broker = try TestBroker(directory: directory)
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let resent = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "x"), correlation: 9)))
        #expect(resent.duplicate)
        #expect(resent.sequence == firstSequence)
        let next = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "z"), correlation: 10)))
        #expect(next.sequence == 4, "sequences continue after a restart without reuse")
        broker.stop()
        #expect(try journalRecords(directory.appending("journal")).map(\.sequence) == [1, 2, 3, 4], "the plan is stated once")
    }

    /// Every class of bad input of the design page, with the code the broker must answer.
    static let badInputs: [(name: String, frames: [[UInt8]], code: ConduitError.Code)] = {
        let signature = ProtocolSignature.frame
        let publish = Array("PUBLISH".utf8)
        let correlation: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 7]
        func event(_ text: String) -> [[UInt8]] { [signature, publish, correlation, Array(text.utf8)] }
        let valid = SampleEvents.progressJSON(id: "bad")
        return [
            ("garbage frame", [[0xFF, 0x00, 0x13, 0x37]], .frameVersion),
            ("wrong signature", [Array("CONDUIT/9".utf8), publish, correlation, Array(valid.utf8)], .frameVersion),
            ("unknown command", [signature, Array("PUBLISSH".utf8), correlation], .frameCommand),
            ("wrong arity", [signature, publish, correlation], .frameArity),
            ("short correlation", [signature, publish, [1, 2], Array(valid.utf8)], .frameSize),
            ("invalid JSON", event("{\"specversion\":\"1.0\",}"), .jsonSyntax),
            ("not UTF-8", [signature, publish, correlation, [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]], .jsonUTF8),
            ("unknown kind", event(valid.replacingOccurrences(of: "conduit.progress", with: "conduit.weather")), .eventKind),
            ("percent out of range", event(valid.replacingOccurrences(of: "\"percent\":45", with: "\"percent\":140")), .dataRange),
            ("finish before start",
             event(valid.replacingOccurrences(of: "\"plannedFinish\":\"2023-09-30\"", with: "\"plannedFinish\":\"2023-03-01\"")), .dataWindow),
            ("unknown community", event(valid.replacingOccurrences(of: "\"site\":\"ganjiaba\"", with: "\"site\":\"atlantis\"")), .scenarioCommunity),
            ("utility the organisation does not run",
             event(valid.replacingOccurrences(of: "/power-supply-bureau/agent-1", with: "/china-mobile/agent-1")), .scenarioUtility),
            ("unknown field", event(valid.replacingOccurrences(of: "\"percent\":45", with: "\"percent\":45,\"colour\":\"red\"")), .eventUnknownField),
            ("oversize", event(valid.replacingOccurrences(of: "\"actualStart\"", with: "\"blockingReason\":\"" + String(repeating: "x", count: 70_000) + "\",\"actualStart\"")), .eventOversize),
        ]
    }()

    @Test func badInputIsRejectedSpecificallyAndChangesNothingElse() throws {
        let broker = try TestBroker()
        let context = try Context()
        let subscriber = try TestSubscriber(context: context, endpoint: broker.endpoints.fanout)
        try subscriber.awaitReady()
        let bystander = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let offender = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for bad in Self.badInputs {
            try offender.send(bad.frames)
            let reply = try offender.ingestReply()
            let rejected = try #require(rejection(reply), "\(bad.name)")
            #expect(rejected.error.code == bad.code, "\(bad.name): \(rejected.error)")
            #expect(!rejected.error.reason.isEmpty)
            // The other agent is unaffected, and the broker is still up, after every bad message.
            let ack = try #require(acknowledgement(try bystander.publishAndWait(SampleEvents.progress(id: "ok-\(bad.name)"), correlation: 1)))
            #expect(!ack.duplicate)
        }
        broker.stop()
        let records = try journalRecords(broker.directory.appending("journal"))
        #expect(records.count == 1 + Self.badInputs.count, "only the plan and the bystander's events were stored")
        #expect(broker.broker.currentStatistics.eventsRejected == UInt64(Self.badInputs.count))
    }

    @Test func rejectionsNameThePathAndReason() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let reply = try agent.publishAndWait(SampleEvents.progress(id: "p", percent: 140), correlation: 8)
        let rejected = try #require(rejection(reply))
        #expect(rejected.correlation == 8)
        #expect(rejected.error.code == .dataRange)
        #expect(rejected.error.path == "data.percent")
        #expect(rejected.error.reason == "140 is above 100")
    }

    @Test func endpointInUseAndUnusableJournalAreClearErrors() throws {
        let running = try TestBroker()
        let directory = TemporaryDirectory()
        let taken = #expect(throws: BrokerError.self) {
            _ = try TestBroker(directory: directory) { $0.ingestEndpoint = running.endpoints.ingest }
        }
        #expect(taken?.code == .endpointUnavailable)
        #expect(taken?.description.contains(running.endpoints.ingest) == true)

        let file = directory.appending("not-a-directory")
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let unusable = #expect(throws: BrokerError.self) {
            _ = try TestBroker(directory: TemporaryDirectory()) { $0.journalDirectory = file }
        }
        #expect(unusable?.code == .journalUnusable)
        #expect(unusable?.description.contains(file) == true)
    }
}
