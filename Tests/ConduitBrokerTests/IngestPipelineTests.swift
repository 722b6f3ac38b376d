import ConduitCore
import ConduitJournal
import ConduitTesting
import Testing

@testable import ConduitBroker

/// The broker's ingest rules without sockets, files or clocks: the tests hand the pipeline messages and the outcome
/// of each commit, and read what it says to do. The live counterparts are BrokerTests, PresenceTests,
/// HardeningTests, StoredSizeTests and AuthenticationTests.
@Suite struct IngestPipelineTests {
    static let settings = IngestPipeline.Settings(
        scenario: .default, dedupeWindow: 1000, agentHeartbeatIntervalMicroseconds: 5_000_000, agentMissedHeartbeats: 3,
        maximumInFlight: 256)
    /// 2023-06-01T00:00:00Z in microseconds: the calendar the events are stamped with.
    static let calendar: Int64 = 1_685_577_600_000_000
    static let agentA: [UInt8] = [0, 0, 0, 0xA]
    static let agentB: [UInt8] = [0, 0, 0, 0xB]
    static let power = "/power-supply-bureau/agent-1"

    static func pipeline(nextSequence: UInt64 = 1, lastRecordedTime: Int64 = 0) -> IngestPipeline {
        IngestPipeline(
            settings: settings, nextSequence: nextSequence, headSequence: nextSequence - 1, lastRecordedTime: lastRecordedTime)
    }

    static func publish(_ event: [UInt8], correlation: UInt64) -> WireMessage {
        IngestRequest.publish(correlation: correlation, event: event).encode()
    }

    static func replies(_ actions: [IngestPipeline.Action]) -> [(routingId: [UInt8], reply: IngestReply)] {
        actions.compactMap { if case .reply(let routingId, let reply) = $0 { (routingId, reply) } else { nil } }
    }

    /// The first reply among `actions`.
    static func firstReply(_ actions: [IngestPipeline.Action]) throws -> IngestReply {
        try #require(replies(actions).first).reply
    }

    /// The records `actions` publish, in order.
    static func publications(_ actions: [IngestPipeline.Action]) -> [IngestPipeline.Record] {
        actions.flatMap { action -> [IngestPipeline.Record] in if case .publish(let records) = action { records.records } else { [] } }
    }

    static func presence(_ record: IngestPipeline.Record) throws -> (Event, PresenceReport)? {
        let event = try EventCodec.decode(record.event)
        guard case .presence(let report) = event.data else { return nil }
        return (event, report)
    }

    // MARK: Sequencing and deduplication

    @Test func acceptedEventsGetContiguousSequencesInArrivalOrder() throws {
        var pipeline = Self.pipeline(nextSequence: 41)
        var appended: [IngestPipeline.Record] = []
        for (index, routingId) in [Self.agentA, Self.agentB, Self.agentA].enumerated() {
            let actions = pipeline.receiving(
                routingId: routingId, frames: Self.publish(SampleEvents.progress(id: "e\(index)"), correlation: UInt64(10 + index)),
                principal: nil, now: 0, calendar: Self.calendar)
            appended += actions
        }
        #expect(appended.map(\.sequence) == [41, 42, 43])
        #expect(pipeline.nextSequence == 41, "the sequence moves once the batch is stored")

        let outcome = pipeline.commitSucceeded()
        let replies = Self.replies(outcome)
        #expect(replies.map(\.routingId) == [Self.agentA, Self.agentB, Self.agentA])
        let acks = replies.compactMap { acknowledgement($0.reply) }
        #expect(acks.map(\.correlation) == [10, 11, 12])
        #expect(acks.map(\.sequence) == [41, 42, 43])
        #expect(acks.map(\.id) == ["e0", "e1", "e2"])
        #expect(acks.allSatisfy { !$0.duplicate && $0.source == Self.power })
        // Replies first, then the publications in sequence order, carrying the very bytes framed into the journal.
        #expect(outcome.prefix(3).allSatisfy { if case .reply = $0 { true } else { false } })
        let publications = Self.publications(outcome)
        #expect(publications.map(\.event) == appended.map(\.event))
        #expect(publications.map(\.topic) == Array(repeating: Array("progress/power/ganjiaba/".utf8), count: 3))
        #expect(try publications.map { try RecordHeader(frame: $0.header, index: 2).sequence } == [41, 42, 43])
        #expect(pipeline.nextSequence == 44)
        #expect(pipeline.headSequence == 43)
        #expect(pipeline.counters == IngestPipeline.Counters(eventsAccepted: 3))
        #expect(pipeline.commitSucceeded().isEmpty, "the batch was handed over once")
    }

    /// A batch's records are handed over at its commit and their memory is reused two batches on: what was handed
    /// over stays as it was, however long it is kept.
    @Test func theRecordsHandedOverForPublishingStayTheirsWhileLaterBatchesForm() throws {
        var pipeline = Self.pipeline()
        var handedOver: [[IngestPipeline.Action]] = []
        var formed: [[IngestPipeline.Record]] = []
        for (batch, size) in [3, 2, 4, 1].enumerated() {
            var records: [IngestPipeline.Record] = []
            for index in 0..<size {
                records += pipeline.receiving(
                    routingId: Self.agentA, frames: Self.publish(SampleEvents.progress(id: "b\(batch)-\(index)", percent: 10 * index), correlation: 1),
                    principal: nil, now: 0, calendar: Self.calendar)
            }
            #expect(pipeline.records.records == records, "the batch being formed holds just its own records")
            formed.append(records)
            handedOver.append(pipeline.commitSucceeded())
            #expect(pipeline.records.isEmpty)
        }
        #expect(handedOver.map { Self.publications($0) } == formed)
        #expect(formed.flatMap { $0.map(\.sequence) } == Array(1...10))
    }

    @Test func batchRecordsHoldEachEventWhereItWasWritten() {
        var records = BatchRecords()
        let topic = Array("progress/power/ganjiaba/".utf8)
        records.append(sequence: 1, recordedTime: 10, topic: topic, event: Array("first".utf8))
        let written = records.append(sequence: 2, recordedTime: 20, topic: topic, capacity: 64) { start in
            for (offset, byte) in "second".utf8.enumerated() { start[offset] = byte }
            return 6
        }
        #expect(written == 6)
        _ = records.append(sequence: 3, recordedTime: 30, topic: topic, capacity: 8) { start in
            for offset in 0..<8 { start[offset] = UInt8(ascii: "x") }
            return 8
        }
        records.removeLast()
        var seen: [(UInt64, String)] = []
        records.forEach { (entry, _, event) in seen.append((entry.sequence, String(decoding: event, as: UTF8.self))) }
        #expect(seen.map(\.0) == [1, 2] && seen.map(\.1) == ["first", "second"], "the last record taken back leaves no trace")
        #expect(records.bytes.count == 11)
        records.removeAll()
        // Topics: the same array again, another, and one with the same bytes as the first in an array of its own.
        let other = Array("progress/water/ganjiaba/".utf8)
        let copy = Array(String(decoding: topic, as: UTF8.self).utf8)
        for (sequence, recordTopic) in [topic, other, topic, copy].enumerated() {
            records.append(sequence: UInt64(sequence + 4), recordedTime: 40, topic: recordTopic, event: Array("e\(sequence)".utf8))
        }
        var topics: [String] = []
        records.forEach { (_, topic, _) in topics.append(String(decoding: topic, as: UTF8.self)) }
        #expect(topics == ["progress/power/ganjiaba/", "progress/water/ganjiaba/", "progress/power/ganjiaba/", "progress/power/ganjiaba/"])
        #expect(records.records.map(\.topic) == [topic, other, topic, copy])
        #expect(records.records.map(\.event) == (0..<4).map { Array("e\($0)".utf8) })
    }

    @Test func aResendIsAcknowledgedWithItsOriginalSequenceWithinTheBatchAndAcrossBatches() throws {
        var pipeline = Self.pipeline()
        let first = pipeline.receiving(
            routingId: Self.agentA, frames: Self.publish(SampleEvents.progress(id: "a"), correlation: 1), principal: nil, now: 0,
            calendar: Self.calendar)
        #expect(first.map(\.sequence) == [1])
        // The same source and id again (other contents), before the batch is stored: no second record.
        let resent = pipeline.receiving(
            routingId: Self.agentA, frames: Self.publish(SampleEvents.progress(id: "a", percent: 50), correlation: 2),
            principal: nil, now: 0, calendar: Self.calendar)
        #expect(resent.isEmpty)
        let stored = pipeline.commitSucceeded()
        let acks = Self.replies(stored).compactMap { acknowledgement($0.reply) }
        #expect(acks.map(\.correlation) == [1, 2])
        #expect(acks.map(\.sequence) == [1, 1])
        #expect(acks.map(\.duplicate) == [false, true])
        #expect(Self.publications(stored).count == 1, "stored and published once")

        // In a later batch the dedupe window answers; the same id from another source is a different event.
        #expect(
            pipeline.receiving(
                routingId: Self.agentB, frames: Self.publish(SampleEvents.progress(id: "a"), correlation: 3), principal: nil,
                now: 0, calendar: Self.calendar
            ).isEmpty)
        let other = pipeline.receiving(
            routingId: Self.agentB,
            frames: Self.publish(SampleEvents.progress(id: "a", source: "/power-supply-bureau/agent-2"), correlation: 4),
            principal: nil, now: 0, calendar: Self.calendar)
        #expect(other.map(\.sequence) == [2])
        let later = Self.replies(pipeline.commitSucceeded()).compactMap { acknowledgement($0.reply) }
        #expect(later.map(\.correlation) == [3, 4])
        #expect(later.map(\.sequence) == [1, 2])
        #expect(later.map(\.duplicate) == [true, false])
        #expect(pipeline.counters == IngestPipeline.Counters(eventsAccepted: 2, eventsDuplicate: 2))
    }

    @Test func aStoredEventIsRecognisedAfterARestart() throws {
        var pipeline = Self.pipeline(nextSequence: 8)
        pipeline.rememberStored(SampleEvents.progress(id: "before-restart"), sequence: 7)
        pipeline.rememberStored([0xFF], sequence: 6)  // unreadable bytes are skipped
        #expect(pipeline.dedupeKeyCount == 1)
        _ = pipeline.receiving(
            routingId: Self.agentA, frames: Self.publish(SampleEvents.progress(id: "before-restart"), correlation: 1),
            principal: nil, now: 0, calendar: Self.calendar)
        let ack = try #require(acknowledgement(try Self.firstReply(pipeline.commitSucceeded())))
        #expect(ack.duplicate && ack.sequence == 7)
    }

    /// A progress report in canonical form takes the quick way, the same report with a space in it the general way:
    /// each is a resend of the other, and both are stored as the same bytes under the same topic.
    @Test func theQuickAndTheGeneralWayShareKeysAndStoredBytes() throws {
        let canonical = SampleEvents.progress(id: "either-way")
        let spaced = Array(SampleEvents.progressJSON(id: "either-way").replacing(#""percent":45"#, with: #""percent": 45"#).utf8)
        #expect(canonical.withUnsafeBufferPointer { EventValidator(scenario: .default).canonicalProgress($0) } != nil)
        #expect(spaced.withUnsafeBufferPointer { EventValidator(scenario: .default).canonicalProgress($0) } == nil)
        var stored: [[UInt8]] = []
        var topics: [[UInt8]] = []
        for (first, second) in [(canonical, spaced), (spaced, canonical)] {
            var pipeline = Self.pipeline()
            let records =
                pipeline.receiving(routingId: Self.agentA, frames: Self.publish(first, correlation: 1), principal: nil, now: 0, calendar: Self.calendar)
            stored += records.map(\.event)
            topics += records.map(\.topic)
            let ack = try #require(acknowledgement(try Self.firstReply(pipeline.commitSucceeded())))
            #expect(!ack.duplicate && ack.sequence == 1 && ack.source == "/power-supply-bureau/agent-1" && ack.id == "either-way")
            // In the next batch, and in the same one.
            _ = pipeline.receiving(routingId: Self.agentA, frames: Self.publish(second, correlation: 2), principal: nil, now: 0, calendar: Self.calendar)
            let resend = try #require(acknowledgement(try Self.firstReply(pipeline.commitSucceeded())))
            #expect(resend.duplicate && resend.sequence == 1 && resend.source == "/power-supply-bureau/agent-1" && resend.id == "either-way")
            _ = pipeline.receiving(routingId: Self.agentA, frames: Self.publish(first.replacing(Array("either-way".utf8), with: Array("either-way-2".utf8)), correlation: 3), principal: nil, now: 0, calendar: Self.calendar)
            _ = pipeline.receiving(routingId: Self.agentA, frames: Self.publish(second.replacing(Array("either-way".utf8), with: Array("either-way-2".utf8)), correlation: 4), principal: nil, now: 0, calendar: Self.calendar)
            let replies = Self.replies(pipeline.commitSucceeded()).compactMap { acknowledgement($0.reply) }
            #expect(replies.map(\.sequence) == [2, 2] && replies.map(\.duplicate) == [false, true])
        }
        #expect(stored.count == 2 && stored[0] == stored[1])
        #expect(topics.count == 2 && topics[0] == topics[1] && topics[0] == Array("progress/power/ganjiaba/".utf8))
    }

    /// The events of a BATCH are read where they lie in its body: one in the middle, with others around it, is stored
    /// as the same bytes as when it comes alone in a PUBLISH.
    @Test func aBatchsEventsAreStoredAsTheSameEventsPublishedAlone() throws {
        let events = [
            SampleEvents.progress(id: "first"),
            Array(SampleEvents.progressJSON(id: "middle").replacing(#""percent":45"#, with: #""percent": 45"#).utf8),
            SampleEvents.progress(id: "third"),
            SampleEvents.progress(id: "fourth", percent: 100),
        ]
        var batched = Self.pipeline()
        let stored =
            batched.receiving(
                routingId: Self.agentA, frames: IngestRequest.batch(events.enumerated().map { BatchEntry(correlation: UInt64($0.offset + 1), event: $0.element) }).encode(),
                principal: nil,
                now: 0, calendar: Self.calendar)
        _ = batched.commitSucceeded()
        var alone = Self.pipeline()
        var expected: [[UInt8]] = []
        for (index, event) in events.enumerated() {
            expected +=
                alone.receiving(routingId: Self.agentA, frames: Self.publish(event, correlation: UInt64(index + 1)), principal: nil, now: 0, calendar: Self.calendar)
            .map(\.event)
            _ = alone.commitSucceeded()
        }
        #expect(stored.map(\.sequence) == [1, 2, 3, 4])
        #expect(stored.map(\.event) == expected)
    }

    @Test func aFailedCommitWithdrawsEveryAcknowledgementItPromisedAndChangesNothingElse() throws {
        var pipeline = Self.pipeline()
        _ = pipeline.receiving(
            routingId: Self.agentA, frames: Self.publish(SampleEvents.progress(id: "old"), correlation: 1), principal: nil, now: 0,
            calendar: Self.calendar)
        _ = pipeline.commitSucceeded()

        // One batch: a resend of a stored event, a new event, a resend of that new event, a heartbeat, a bad message.
        let messages: [WireMessage] = [
            Self.publish(SampleEvents.progress(id: "old"), correlation: 2),
            Self.publish(SampleEvents.progress(id: "new"), correlation: 3),
            Self.publish(SampleEvents.progress(id: "new"), correlation: 4),
            IngestRequest.heartbeat.encode(),
            Self.publish(SampleEvents.progress(id: "bad", percent: 140), correlation: 5),
        ]
        var appended: [IngestPipeline.Record] = []
        for message in messages {
            appended +=
                pipeline.receiving(routingId: Self.agentA, frames: message, principal: nil, now: 0, calendar: Self.calendar)
        }
        #expect(appended.map(\.sequence) == [2])

        let outcome = pipeline.commitFailed(JournalError(.ioFailed, "no space left on the device"))
        #expect(Self.publications(outcome).isEmpty, "nothing of a failed batch is published")
        let replies = Self.replies(outcome).map(\.reply)
        #expect(replies.count == 5)
        // The resend of a stored event stays acknowledged: its original is durable.
        let kept = try #require(acknowledgement(replies[0]))
        #expect(kept.correlation == 2 && kept.sequence == 1 && kept.duplicate)
        for (reply, correlation) in zip(replies[1...2], [3, 4] as [UInt64]) {
            let withdrawn = try #require(rejection(reply))
            #expect(withdrawn.correlation == correlation)
            #expect(withdrawn.error.code == .serviceUnavailable)
            #expect(withdrawn.error.path == "message")
            #expect(
                withdrawn.error.reason
                    == "the journal could not store the event (ioFailed); nothing was stored, retry later")
        }
        #expect(replies[3] == .heartbeat)
        #expect(try #require(rejection(replies[4])).error.code == .dataRange)
        #expect(pipeline.counters == IngestPipeline.Counters(eventsAccepted: 1, eventsDuplicate: 1, eventsRejected: 3))
        #expect(pipeline.nextSequence == 2)
        #expect(pipeline.headSequence == 1)

        // The dedupe window did not remember the failed batch: the resend is new, at the next free sequence.
        let again = pipeline.receiving(
            routingId: Self.agentA, frames: Self.publish(SampleEvents.progress(id: "new"), correlation: 6), principal: nil, now: 0,
            calendar: Self.calendar)
        #expect(again.map(\.sequence) == [2])
        let stored = try #require(acknowledgement(try Self.firstReply(pipeline.commitSucceeded())))
        #expect(stored.correlation == 6 && stored.sequence == 2 && !stored.duplicate)
        #expect(pipeline.counters == IngestPipeline.Counters(eventsAccepted: 2, eventsDuplicate: 1, eventsRejected: 3))
    }

    // MARK: Rejections

    /// A key of a `--client-keys` directory: it speaks for `organisation` with all its rights.
    static func organisationKey(_ organisation: String) -> Principal {
        Principal(name: organisation, organisation: organisation, role: nil)
    }

    /// Bad messages, the ZAP user id they came with, and the correlation, code and path of their rejection.
    static let badMessages:
        [(name: String, frames: WireMessage, userId: String?, correlation: UInt64, code: ConduitError.Code, path: String)] = {
            let signature = ProtocolSignature.frame
            let command = Array("PUBLISH".utf8)
            let correlation: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 7]
            let invalidJSON = Array(#"{"specversion":"1.0",}"#.utf8)
            let stranger = SampleEvents.progress(id: "x", source: "/nobody/agent-1")
            return [
                ("garbage frame", [[0xFF, 0x00, 0x13, 0x37]], nil, 0, .frameVersion, "frame[0]"),
                ("wrong arity", [signature, command, correlation], nil, 7, .frameArity, "message"),
                ("unknown command", [signature, Array("PUBLISSH".utf8), correlation], nil, 7, .frameCommand, "frame[1]"),
                ("invalid JSON", IngestPipelineTests.publish(invalidJSON, correlation: 7), nil, 7, .jsonSyntax, "$"),
                ("unknown organisation", IngestPipelineTests.publish(stranger, correlation: 7), nil, 7, .scenarioOrganisation, "source"),
                ("another organisation's key", IngestPipelineTests.publish(SampleEvents.progress(id: "x"), correlation: 7),
                 "china-unicom", 7, .authForbidden, "source"),
            ]
        }()

    @Test(arguments: badMessages.indices)
    func badInputIsRejectedWithItsCodeAndPathAndChangesNothingElse(_ index: Int) throws {
        let bad = Self.badMessages[index]
        var pipeline = Self.pipeline(nextSequence: 5)
        let actions = pipeline.receiving(
            routingId: Self.agentA, frames: bad.frames, principal: bad.userId.map(IngestPipelineTests.organisationKey), now: 0, calendar: Self.calendar)
        #expect(actions.isEmpty, "\(bad.name): nothing to store")
        let outcome = pipeline.commitSucceeded()
        #expect(outcome.count == 1)
        let reply = try #require(Self.replies(outcome).first, "\(bad.name)")
        #expect(reply.routingId == Self.agentA)
        let rejected = try #require(rejection(reply.reply))
        #expect(rejected.correlation == bad.correlation, "\(bad.name)")
        #expect(rejected.error.code == bad.code, "\(bad.name): \(rejected.error)")
        #expect(rejected.error.path == bad.path, "\(bad.name): \(rejected.error)")
        #expect(!rejected.error.reason.isEmpty)
        #expect(pipeline.counters == IngestPipeline.Counters(eventsRejected: 1, eventsForbidden: bad.code == .authForbidden ? 1 : 0))
        #expect(pipeline.nextSequence == 5)
        #expect(pipeline.dedupeKeyCount == 0)
    }

    @Test func aKeyPublishesOnlyForItsOwnOrganisation() throws {
        var pipeline = Self.pipeline()
        _ = pipeline.receiving(
            routingId: Self.agentA, frames: Self.publish(SampleEvents.progress(id: "spoof"), correlation: 1),
            principal: IngestPipelineTests.organisationKey("water-investment-company"), now: 0, calendar: Self.calendar)
        let refused = try #require(rejection(try Self.firstReply(pipeline.commitSucceeded())))
        #expect(refused.error.code == .authForbidden)
        #expect(refused.error.reason == "the key of water-investment-company (organisation water-investment-company) may not publish for power-supply-bureau")
        let own = pipeline.receiving(
            routingId: Self.agentA, frames: Self.publish(SampleEvents.progress(id: "own"), correlation: 2),
            principal: IngestPipelineTests.organisationKey("power-supply-bureau"), now: 0, calendar: Self.calendar)
        #expect(own.map(\.sequence) == [1], "the refused event took no sequence")
    }

    @Test func anEventTooLargeOnceStampedIsRejectedAndConsumesNoSequence() throws {
        var pipeline = Self.pipeline()
        // Within the limit as sent; the stamp (sequence and recorded time) takes it over.
        let tooLarge = try StoredSizeTests.padded(id: "big", canonicalSize: 65_524)
        #expect(
            pipeline.receiving(
                routingId: Self.agentA, frames: Self.publish(tooLarge, correlation: 1), principal: nil, now: 0,
                calendar: Self.calendar
            ).isEmpty)
        let fits = try StoredSizeTests.padded(id: "fits", canonicalSize: 65_470)
        let stored =
            pipeline.receiving(
                routingId: Self.agentA, frames: Self.publish(fits, correlation: 2), principal: nil, now: 0, calendar: Self.calendar)
        #expect(stored.map(\.sequence) == [1])
        #expect(stored.allSatisfy { $0.event.count <= EventCodec.maximumEventBytes })
        let replies = Self.replies(pipeline.commitSucceeded()).map(\.reply)
        let refused = try #require(rejection(replies[0]))
        #expect(refused.correlation == 1)
        #expect(refused.error.code == .eventOversize)
        #expect(refused.error.path == "$")
        #expect(refused.error.reason.contains("stamped"))
        #expect(try #require(acknowledgement(replies[1])).sequence == 1)
        #expect(pipeline.counters == IngestPipeline.Counters(eventsAccepted: 1, eventsRejected: 1))
    }

    // MARK: Stamping

    @Test func theBrokersStampsOverwriteTheClientsInThePublishedBytes() throws {
        var pipeline = Self.pipeline(nextSequence: 12, lastRecordedTime: Self.calendar - 1_000_000)
        let claimed = SampleEvents.progressJSON(id: "stamped")
            .replacingOccurrences(
                of: #""workitem":"ganjiaba-power","#,
                with: #""workitem":"ganjiaba-power","authidentity":"fire-brigade","sequence":999,"#)
        let recordedTime = Self.calendar + 250_000
        let record = try #require(
            
                pipeline.receiving(
                    routingId: Self.agentA, frames: Self.publish(Array(claimed.utf8), correlation: 1),
                    principal: IngestPipelineTests.organisationKey("power-supply-bureau"), now: 0, calendar: recordedTime)
            .first)
        #expect(record.sequence == 12)
        #expect(record.recordedTime == recordedTime)
        let publication = try #require(Self.publications(pipeline.commitSucceeded()).first)
        #expect(publication.event == record.event)
        let event = try EventCodec.decode(publication.event)
        #expect(event.sequence == 12)
        #expect(event.recordedTime == Timestamp(microsecondsSinceEpoch: recordedTime))
        #expect(event.authenticatedIdentity == "power-supply-bureau")
        #expect(EventCodec.encode(event) == publication.event, "stored in canonical form")
        let header = try RecordHeader(frame: publication.header, index: 2)
        #expect(header == RecordHeader(sequence: 12, recordedTime: Timestamp(microsecondsSinceEpoch: recordedTime)))

        // Without authentication there is no identity, and a calendar that went back stamps no earlier time.
        let plainBytes = Array(claimed.replacingOccurrences(of: #""stamped""#, with: #""plain""#).utf8)
        let unauthenticated = try #require(
            
                pipeline.receiving(
                    routingId: Self.agentA, frames: Self.publish(plainBytes, correlation: 2), principal: nil, now: 0,
                    calendar: Self.calendar)
            .first)
        let plain = try EventCodec.decode(unauthenticated.event)
        #expect(plain.sequence == 13)
        #expect(plain.authenticatedIdentity == nil)
        #expect(unauthenticated.recordedTime == recordedTime)
        #expect(plain.recordedTime == Timestamp(microsecondsSinceEpoch: recordedTime))
        #expect(pipeline.lastRecordedTime == recordedTime)
    }

    // MARK: Presence

    @Test func helloIsWelcomedWithABirthOnceAndGoodbyeRecordsADeath() throws {
        var pipeline = Self.pipeline(nextSequence: 4)
        let now: Int64 = 1_000_000_000
        let hello = IngestRequest.hello(source: Self.power, heartbeatIntervalMs: 2000).encode()
        let born =
            pipeline.receiving(routingId: Self.agentA, frames: hello, principal: IngestPipelineTests.organisationKey("power-supply-bureau"), now: now, calendar: Self.calendar)
        let birthRecord = try #require(born.first)
        #expect(born.count == 1)
        #expect(birthRecord.sequence == 4)
        #expect(birthRecord.topic == Array("presence/-/-/".utf8))
        let (birth, birthReport) = try #require(try Self.presence(birthRecord))
        #expect(birth.id == "birth-\(now)-1")
        #expect(birth.source == Self.power)
        #expect(birth.subject == nil)
        #expect(birth.time == Timestamp(microsecondsSinceEpoch: Self.calendar))
        #expect(birth.authenticatedIdentity == "power-supply-bureau")
        #expect(birthReport == PresenceReport(status: .birth, agent: "power-supply-bureau-agent-1", heartbeatIntervalMs: 2000))
        let welcomed = Self.replies(pipeline.commitSucceeded())
        #expect(welcomed.map(\.routingId) == [Self.agentA])
        // The head announced is the journal's before this batch.
        #expect(
            welcomed.first?.reply
                == .welcome(Welcome(heartbeatIntervalMs: 2000, maximumEventBytes: 65_536, maximumInFlight: 256, headSequence: 3)))
        #expect(pipeline.agentsOnline == 1)

        // The agent reconnects (a new connection, the same source): welcomed again, no second birth.
        let again = pipeline.receiving(routingId: Self.agentB, frames: hello, principal: nil, now: now + 1, calendar: Self.calendar)
        #expect(again.isEmpty)
        guard case .welcome(let second) = Self.replies(pipeline.commitSucceeded()).first?.reply else {
            Issue.record("expected WELCOME")
            return
        }
        #expect(second.headSequence == 4)
        #expect(pipeline.agentsOnline == 1)

        // GOODBYE on the old connection means nothing; on the new one, a death.
        let goodbye = IngestRequest.goodbye.encode()
        #expect(
            pipeline.receiving(routingId: Self.agentA, frames: goodbye, principal: nil, now: now + 2, calendar: Self.calendar).isEmpty)
        let died =
            pipeline.receiving(routingId: Self.agentB, frames: goodbye, principal: nil, now: now + 3, calendar: Self.calendar)
        let deathRecord = try #require(died.first)
        #expect(deathRecord.sequence == 5)
        let (death, deathReport) = try #require(try Self.presence(deathRecord))
        #expect(death.id == "death-\(now + 3)-3", "ids count every presence event made, the second HELLO's birth too")
        #expect(death.subject == "goodbye")
        #expect(deathReport == PresenceReport(status: .death, agent: "power-supply-bureau-agent-1", heartbeatIntervalMs: nil))
        #expect(Self.replies(pipeline.commitSucceeded()).isEmpty, "GOODBYE is not answered")
        #expect(pipeline.agentsOnline == 0)
        #expect(pipeline.nextExpiry == nil)
        #expect(pipeline.counters == IngestPipeline.Counters(presenceEvents: 2))
    }

    @Test func helloFromAnUnknownOrForbiddenSourceIsRejectedWithoutBirth() throws {
        var pipeline = Self.pipeline()
        let unknown = IngestRequest.hello(source: "/nobody/agent", heartbeatIntervalMs: 1000).encode()
        #expect(pipeline.receiving(routingId: Self.agentA, frames: unknown, principal: nil, now: 0, calendar: Self.calendar).isEmpty)
        let forbidden = IngestRequest.hello(source: Self.power, heartbeatIntervalMs: 1000).encode()
        #expect(
            pipeline.receiving(routingId: Self.agentA, frames: forbidden, principal: IngestPipelineTests.organisationKey("china-unicom"), now: 0, calendar: Self.calendar)
                .isEmpty)
        let rejections = Self.replies(pipeline.commitSucceeded()).compactMap { rejection($0.reply) }
        #expect(rejections.map(\.correlation) == [0, 0])
        #expect(rejections.map(\.error.code) == [.scenarioOrganisation, .authForbidden])
        #expect(rejections.map(\.error.path) == ["source", "frame[2]"])
        #expect(rejections[1].error.reason == "the key of china-unicom (organisation china-unicom) may not speak for \(Self.power)")
        #expect(pipeline.agentsOnline == 0)
        #expect(pipeline.counters == IngestPipeline.Counters(eventsRejected: 2, eventsForbidden: 1))
    }

    /// The clock is the test's: it moves by exactly what each step needs.
    @Test func aSilentAgentIsDeclaredDeadOnceItsAllowanceHasPassed() throws {
        var pipeline = Self.pipeline()
        let start: Int64 = 5_000_000_000
        let interval: Int64 = 1_000_000
        let hello = IngestRequest.hello(source: Self.power, heartbeatIntervalMs: 1000).encode()
        _ = pipeline.receiving(routingId: Self.agentA, frames: hello, principal: nil, now: start, calendar: Self.calendar)
        _ = pipeline.commitSucceeded()
        #expect(pipeline.nextExpiry == start + 3 * interval + 1)
        #expect(pipeline.expireSilentAgents(now: start + 3 * interval, calendar: Self.calendar).isEmpty)

        // A heartbeat is answered and keeps the agent alive for three more intervals.
        let heartbeat = pipeline.receiving(
            routingId: Self.agentA, frames: IngestRequest.heartbeat.encode(), principal: nil, now: start + 2 * interval,
            calendar: Self.calendar)
        #expect(heartbeat.isEmpty)
        #expect(Self.replies(pipeline.commitSucceeded()).map(\.reply) == [.heartbeat])
        #expect(pipeline.nextExpiry == start + 5 * interval + 1)
        #expect(pipeline.expireSilentAgents(now: start + 5 * interval, calendar: Self.calendar).isEmpty)

        let expiry = start + 5 * interval + 1
        let actions = pipeline.expireSilentAgents(now: expiry, calendar: Self.calendar + 60_000_000)
        #expect(actions == [.agentSilent(source: Self.power)])
        #expect(pipeline.records.count == 1, "its death is appended")
        let record = try #require(pipeline.records.records.first)
        #expect(record.sequence == 2)
        let (death, report) = try #require(try Self.presence(record))
        #expect(death.id == "death-\(expiry)-2")
        #expect(death.subject == "silent")
        #expect(death.time == Timestamp(microsecondsSinceEpoch: Self.calendar + 60_000_000))
        #expect(report.status == .death)
        #expect(pipeline.agentsOnline == 0)
        #expect(pipeline.nextExpiry == nil)
        let published = Self.publications(pipeline.commitSucceeded())
        #expect(published.map(\.event) == [record.event])
        #expect(pipeline.expireSilentAgents(now: expiry + 10 * interval, calendar: Self.calendar).isEmpty, "dead once")
    }
}

/// `BATCH` and `ACKS`: each entry is taken as a `PUBLISH` of its own, and the answers keep the order of the events.
@Suite struct IngestBatchTests {
    static func batch(_ entries: [(UInt64, [UInt8])]) -> WireMessage {
        IngestRequest.batch(entries.map { BatchEntry(correlation: $0.0, event: $0.1) }).encode()
    }

    @Test func eachEntryIsTakenAloneAndTheAnswersKeepTheirOrder() throws {
        var pipeline = IngestPipelineTests.pipeline(nextSequence: 10)
        let bad = SampleEvents.progress(id: "b2", percent: 140)
        let actions = pipeline.receiving(
            routingId: IngestPipelineTests.agentA,
            frames: Self.batch([
                (1, SampleEvents.progress(id: "b1")), (2, bad), (3, SampleEvents.progress(id: "b3")), (4, SampleEvents.progress(id: "b1")),
            ]),
            principal: nil, now: 0, calendar: IngestPipelineTests.calendar)
        #expect(actions.map(\.sequence) == [10, 11], "b1 and b3; b2 is refused, the second b1 is a resend")
        let replies = IngestPipelineTests.replies(pipeline.commitSucceeded()).map(\.reply)
        #expect(replies.count == 3)
        #expect(replies.first == .acks([BatchAcknowledgement(correlation: 1, sequence: 10, duplicate: false)]))
        guard replies.count == 3, case .reject(let rejection) = replies[1] else { Issue.record("\(replies)"); return }
        #expect(rejection.correlation == 2 && rejection.error.code == .dataRange && rejection.error.path == "data.percent")
        #expect(replies[2] == .acks([
            BatchAcknowledgement(correlation: 3, sequence: 11, duplicate: false),
            BatchAcknowledgement(correlation: 4, sequence: 10, duplicate: true),
        ]))
        #expect(pipeline.counters == IngestPipeline.Counters(eventsAccepted: 2, eventsDuplicate: 1, eventsRejected: 1))
    }

    @Test func theAcksOfTwoAgentsAreNotMixedAndAFailedCommitRefusesEachEntry() throws {
        var pipeline = IngestPipelineTests.pipeline()
        for (routingId, prefix) in [(IngestPipelineTests.agentA, "a"), (IngestPipelineTests.agentB, "b")] {
            _ = pipeline.receiving(
                routingId: routingId, frames: Self.batch([(1, SampleEvents.progress(id: prefix + "1")), (2, SampleEvents.progress(id: prefix + "2"))]),
                principal: nil, now: 0, calendar: IngestPipelineTests.calendar)
        }
        let stored = IngestPipelineTests.replies(pipeline.commitSucceeded())
        #expect(stored.map(\.routingId) == [IngestPipelineTests.agentA, IngestPipelineTests.agentB])
        #expect(stored.map(\.reply) == [
            .acks([BatchAcknowledgement(correlation: 1, sequence: 1, duplicate: false), BatchAcknowledgement(correlation: 2, sequence: 2, duplicate: false)]),
            .acks([BatchAcknowledgement(correlation: 1, sequence: 3, duplicate: false), BatchAcknowledgement(correlation: 2, sequence: 4, duplicate: false)]),
        ])
        _ = pipeline.receiving(
            routingId: IngestPipelineTests.agentA, frames: Self.batch([(3, SampleEvents.progress(id: "a3")), (4, SampleEvents.progress(id: "a1"))]),
            principal: nil, now: 0, calendar: IngestPipelineTests.calendar)
        let failed = IngestPipelineTests.replies(pipeline.commitFailed(JournalError(.ioFailed, "no space left on the device")))
        guard failed.count == 2, case .reject(let refused) = failed[0].reply else { Issue.record("\(failed)"); return }
        #expect(refused.correlation == 3 && refused.error.code == .serviceUnavailable, "the new event is refused")
        #expect(failed[1].reply == .acks([BatchAcknowledgement(correlation: 4, sequence: 1, duplicate: true)]), "a resend of a stored one stays acknowledged")
        #expect(pipeline.nextSequence == 5, "the failed batch took no sequence")
    }

    @Test func helloAsksForFeaturesAndWelcomeGrantsThoseItKnows() throws {
        var pipeline = IngestPipelineTests.pipeline()
        _ = pipeline.receiving(
            routingId: IngestPipelineTests.agentA,
            frames: IngestRequest.hello(source: IngestPipelineTests.power, heartbeatIntervalMs: 1000, features: ["teleport", "batch"]).encode(),
            principal: nil, now: 0, calendar: IngestPipelineTests.calendar)
        _ = pipeline.receiving(
            routingId: IngestPipelineTests.agentB,
            frames: IngestRequest.hello(source: "/water-investment-company/agent-1", heartbeatIntervalMs: 1000).encode(),
            principal: nil, now: 0, calendar: IngestPipelineTests.calendar)
        let welcomes = IngestPipelineTests.replies(pipeline.commitSucceeded()).compactMap { reply -> Welcome? in
            if case .welcome(let welcome) = reply.reply { welcome } else { nil }
        }
        #expect(welcomes.map(\.features) == [["batch"], []])
        #expect(IngestReply.welcome(welcomes[1]).encode().count == 3, "an agent that asked for nothing gets the three-frame WELCOME")
    }
}

extension IngestPipeline {
    /// ``receive(routingId:frames:principal:now:calendar:)``, returning the records the message added to the batch.
    mutating func receiving(routingId: [UInt8], frames: WireMessage, principal: Principal?, now: Int64, calendar: Int64) -> [Record] {
        let before = records.count
        receive(routingId: routingId, frames: frames, principal: principal, now: now, calendar: calendar)
        return Array(records.records.dropFirst(before))
    }
}
