import ConduitCore
import Testing

@testable import ConduitAgent

@Suite struct AgentSessionTests {
    static let settings = AgentSession.Settings(
        source: "/water-investment-company/agent-1", heartbeatIntervalMicroseconds: 1_000_000, window: 3,
        reconnectInitialMicroseconds: 100_000, reconnectMaximumMicroseconds: 2_000_000)

    static func entries(_ numbers: ClosedRange<UInt64>) -> [OutboxEntry] {
        numbers.map { OutboxEntry(number: $0, source: "/water-investment-company/agent-1", id: "e\($0)", event: Array("{\($0)}".utf8)) }
    }

    static let welcome = Welcome(heartbeatIntervalMs: 1000, maximumEventBytes: 65_536, maximumInFlight: 256, headSequence: 0)

    /// The correlations and events of the `PUBLISH`es among `actions`.
    static func published(_ actions: [AgentSession.Action]) throws -> [(UInt64, [UInt8])] {
        try actions.compactMap { action in
            guard case .send(let frames) = action, case .publish(let correlation, let event) = try IngestRequest.decode(frames) else {
                return nil
            }
            return (correlation, event)
        }
    }

    func connected(now: Int64 = 0) -> AgentSession {
        var session = AgentSession(settings: Self.settings, jitterSeed: 7)
        let actions = session.tick(now: now)
        #expect(actions.first == .connect)
        _ = session.receive(.welcome(Self.welcome), now: now)
        return session
    }

    @Test func helloFirstThenTheWindowBoundsWhatIsInFlight() throws {
        var session = AgentSession(settings: Self.settings, jitterSeed: 7)
        #expect(session.enqueue(Self.entries(1...5), now: 0).isEmpty)  // not connected yet
        let opening = session.tick(now: 0)
        #expect(opening.count == 2)
        guard case .send(let hello) = opening[1], case .hello(let source, let interval, let features) = try IngestRequest.decode(hello) else {
            Issue.record("expected HELLO, got \(opening)")
            return
        }
        #expect(source == Self.settings.source)
        #expect(interval == 1000)
        #expect(features == ["batch"], "the agent asks for BATCH; this broker's WELCOME does not grant it")
        let first = try Self.published(session.receive(.welcome(Self.welcome), now: 10))
        #expect(first.map { String(decoding: $0.1, as: UTF8.self) } == ["{1}", "{2}", "{3}"])
        #expect(session.inFlight.count == 3)
        // One acknowledgement frees one slot.
        let ack = Acknowledgement(correlation: first[0].0, sequence: 9, duplicate: false, source: "s", id: "e1")
        let next = session.receive(.ack(ack), now: 20)
        guard case .acknowledged(let entry, _) = next.first else {
            Issue.record("expected the acknowledgement first, got \(next)")
            return
        }
        #expect(entry.number == 1)
        #expect(try Self.published(next).map { String(decoding: $0.1, as: UTF8.self) } == ["{4}"])
    }

    @Test func aRejectionIsFinalAndFreesTheSlot() throws {
        var session = connected()
        let sent = try Self.published(session.enqueue(Self.entries(1...5), now: 1))
        let ack = Acknowledgement(correlation: sent[0].0, sequence: 1, duplicate: false, source: "s", id: "e1")
        #expect(try Self.published(session.receive(.ack(ack), now: 2)).count == 1)  // entry 4 takes the slot
        let rejection = Rejection(correlation: sent[1].0, error: ConduitError(.dataRange, path: "data.percent", "above 100"))
        let actions = session.receive(.reject(rejection), now: 2)
        guard case .rejected(let entry, let reason) = actions.first else {
            Issue.record("expected a rejection, got \(actions)")
            return
        }
        #expect(entry.number == 2)
        #expect(reason.error.code == .dataRange)
        #expect(try Self.published(actions).map { String(decoding: $0.1, as: UTF8.self) } == ["{5}"])  // entry 5 takes its slot
        // Entry 2 is never sent again, even after a reconnection.
        let resent = try Self.published(reconnectAndWelcome(&session, at: 10_000_000))
        #expect(resent.map { String(decoding: $0.1, as: UTF8.self) } == ["{3}", "{4}", "{5}"])
    }

    /// `service.unavailable`: nothing was stored and the broker asks for a retry (its journal or its journal of
    /// record could not take the batch). The event is not final: it is sent again, in order, on a fresh connection.
    @Test func anUnavailableServiceMeansResendNotRejection() throws {
        var session = connected()
        let sent = try Self.published(session.enqueue(Self.entries(1...3), now: 1))
        let refusal = Rejection(
            correlation: sent[1].0, error: ConduitError(.serviceUnavailable, path: "message", "the journal could not store the event"))
        let actions = session.receive(.reject(refusal), now: 2)
        #expect(actions == [.disconnect], "no rejection is reported: \(actions)")
        guard case .waiting(let retryAt) = session.phase else {
            Issue.record("expected to wait, got \(session.phase)")
            return
        }
        #expect(session.tick(now: retryAt).first == .connect)
        let resent = try Self.published(session.receive(.welcome(Self.welcome), now: retryAt))
        #expect(resent.map { String(decoding: $0.1, as: UTF8.self) } == ["{1}", "{2}", "{3}"])
    }

    /// With several brokers (a hub's brokers that stand by for each other), each new connection goes to the next;
    /// one where nothing listens is given up at once; the backoff grows only after a whole round of them.
    @Test func severalBrokersAreTriedInTurn() throws {
        var settings = Self.settings
        settings.endpointCount = 3
        var session = AgentSession(settings: settings, jitterSeed: 3)
        #expect(session.endpointIndex == 0)
        #expect(session.tick(now: 0).first == .connect)
        #expect(session.connectionRefused(now: 10) == [.disconnect])
        #expect(session.endpointIndex == 1)
        guard case .waiting(let first) = session.phase else { Issue.record("\(session.phase)"); return }
        #expect(first - 10 <= 100_000, "the first round keeps the initial backoff")
        #expect(session.tick(now: first).first == .connect)
        #expect(session.connectionRefused(now: first + 10) == [.disconnect])
        #expect(session.endpointIndex == 2)
        guard case .waiting(let second) = session.phase else { Issue.record("\(session.phase)"); return }
        #expect(second - first - 10 <= 100_000, "still in the first round")
        #expect(session.tick(now: second).first == .connect)
        _ = session.receive(.welcome(Self.welcome), now: second)
        #expect(session.phase == .ready)
        #expect(session.connectionRefused(now: second + 1).isEmpty, "a refusal matters only while greeting")
        #expect(session.connectionLost(now: second + 2) == [.disconnect])
        #expect(session.endpointIndex == 0, "after the third broker, the first again")
        // With one broker, a refused connection is left to ZeroMQ's own reconnection.
        var single = AgentSession(settings: Self.settings, jitterSeed: 3)
        _ = single.tick(now: 0)
        #expect(single.connectionRefused(now: 1).isEmpty)
    }

    /// Silence for three intervals: reconnect after a jittered backoff and resend what was unanswered, in order.
    func reconnectAndWelcome(_ session: inout AgentSession, at now: Int64) throws -> [AgentSession.Action] {
        let silence = session.tick(now: now)
        #expect(silence == [.disconnect])
        guard case .waiting(let retryAt) = session.phase else {
            Issue.record("expected to wait, got \(session.phase)")
            return []
        }
        #expect(session.tick(now: retryAt - 1).isEmpty)
        #expect(session.tick(now: retryAt).first == .connect)
        return session.receive(.welcome(Self.welcome), now: retryAt)
    }

    @Test func silenceMeansReconnectAndResendInOrder() throws {
        var session = connected()
        _ = session.enqueue(Self.entries(1...5), now: 0)
        // Heartbeats while the broker is quiet but within three intervals.
        let heartbeat = session.tick(now: 1_000_000)
        guard case .send(let frames) = heartbeat.first, case .heartbeat = try IngestRequest.decode(frames) else {
            Issue.record("expected HEARTBEAT, got \(heartbeat)")
            return
        }
        #expect(session.tick(now: 2_999_999).allSatisfy { if case .disconnect = $0 { false } else { true } })
        let resent = try Self.published(reconnectAndWelcome(&session, at: 3_000_000))
        #expect(resent.map { String(decoding: $0.1, as: UTF8.self) } == ["{1}", "{2}", "{3}"])
        #expect(session.reconnects == 1)
    }

    /// Answers come in the order of the PUBLISHes: an answer to a later one means the earlier ones were lost on the
    /// way (a broker restarted under a connection ZeroMQ re-established); they are sent again.
    @Test func eventsSkippedByTheBrokerAreSentAgain() throws {
        var session = connected()
        let sent = try Self.published(session.enqueue(Self.entries(1...3), now: 0))
        let ack = Acknowledgement(correlation: sent[2].0, sequence: 1, duplicate: false, source: "s", id: "e3")
        let actions = session.receive(.ack(ack), now: 10)
        guard case .acknowledged(let entry, _) = actions.first else {
            Issue.record("expected the acknowledgement, got \(actions)")
            return
        }
        #expect(entry.number == 3)
        #expect(try Self.published(actions).map { String(decoding: $0.1, as: UTF8.self) } == ["{1}", "{2}"])
    }

    /// An event unanswered for three intervals, while heartbeats are answered: reconnect and send it again.
    @Test func anEventUnansweredForThreeIntervalsMeansReconnect() throws {
        var session = connected()
        _ = session.enqueue(Self.entries(1...1), now: 0)
        for tick in stride(from: Int64(500_000), to: 3_000_000, by: 500_000) {
            _ = session.receive(.heartbeat, now: tick)  // the broker is there
            #expect(!session.tick(now: tick).contains(.disconnect))
        }
        _ = session.receive(.heartbeat, now: 3_000_000)
        #expect(session.tick(now: 3_000_000) == [.disconnect])
    }

    @Test func aLostConnectionMeansAFreshOneAndHello() throws {
        var session = connected()
        _ = session.enqueue(Self.entries(1...2), now: 0)
        #expect(session.connectionLost(now: 100) == [.disconnect])
        guard case .waiting(let retryAt) = session.phase else {
            Issue.record("expected to wait, got \(session.phase)")
            return
        }
        #expect(retryAt - 100 < 100_000, "the first retry comes within the initial backoff")
        let again = session.tick(now: retryAt)
        #expect(again.first == .connect)
        guard case .send(let hello) = again.last, case .hello = try IngestRequest.decode(hello) else {
            Issue.record("expected HELLO, got \(again)")
            return
        }
        #expect(try Self.published(session.receive(.welcome(Self.welcome), now: retryAt)).count == 2)
    }

    @Test func backoffGrowsIsCappedAndJittered() {
        var session = AgentSession(settings: Self.settings, jitterSeed: 1)
        var now: Int64 = 0
        var delays: [Int64] = []
        for _ in 0..<8 {
            #expect(session.tick(now: now).first == .connect)
            now += 3_000_000  // HELLO unanswered for three intervals
            #expect(session.tick(now: now) == [.disconnect])
            guard case .waiting(let retryAt) = session.phase else { return }
            delays.append(retryAt - now)
            now = retryAt
        }
        let ceilings: [Int64] = [100_000, 200_000, 400_000, 800_000, 1_600_000, 2_000_000, 2_000_000, 2_000_000]
        for (delay, ceiling) in zip(delays, ceilings) {
            #expect(delay >= ceiling / 2 && delay < ceiling, "delay \(delay) for ceiling \(ceiling)")
        }
        // Two agents cut off together do not come back together.
        var other = AgentSession(settings: Self.settings, jitterSeed: 2)
        _ = other.tick(now: 0)
        _ = other.tick(now: 3_000_000)
        guard case .waiting(let otherRetry) = other.phase else { return }
        var same = AgentSession(settings: Self.settings, jitterSeed: 1)
        _ = same.tick(now: 0)
        _ = same.tick(now: 3_000_000)
        guard case .waiting(let sameRetry) = same.phase else { return }
        #expect(otherRetry != sameRetry)
    }

    @Test func aOneOffPublisherSkipsHelloAndGoodbye() throws {
        var settings = Self.settings
        settings.announce = false
        var session = AgentSession(settings: settings, jitterSeed: 7)
        _ = session.enqueue(Self.entries(1...2), now: 0)
        let actions = session.tick(now: 0)
        #expect(actions.first == .connect)
        #expect(try Self.published(actions).count == 2)
        #expect(session.goodbye().isEmpty)
    }

    /// `conduit publish` with several brokers: a refused connection before any answer moves on to the next broker at
    /// once (what was sent goes again there); after an answer, a refusal is left to the loss of the connection.
    @Test func aOneOffPublisherMovesOnFromABrokerThatIsNotThere() throws {
        var settings = Self.settings
        settings.announce = false
        settings.endpointCount = 2
        var session = AgentSession(settings: settings, jitterSeed: 7)
        _ = session.enqueue(Self.entries(1...2), now: 0)
        #expect(try Self.published(session.tick(now: 0)).count == 2)
        #expect(session.connectionRefused(now: 5) == [.disconnect])
        #expect(session.endpointIndex == 1)
        guard case .waiting(let retry) = session.phase else { Issue.record("\(session.phase)"); return }
        #expect(retry - 5 <= 100_000, "the first round keeps the initial backoff")
        let resent = session.tick(now: retry)
        #expect(resent.first == .connect)
        let again = try Self.published(resent)
        #expect(again.count == 2)
        _ = session.receive(.ack(Acknowledgement(correlation: again[0].0, sequence: 9, duplicate: false, source: "s", id: "e1")), now: retry + 1)
        #expect(session.connectionRefused(now: retry + 2).isEmpty, "the broker answered: this connection works")
    }

    /// A session that does not announce itself (`conduit publish`, the aggregator's alerts) whose connections are lost
    /// before the broker answers anything (a broker that refuses its key) backs off as one that does; an answer
    /// starts the backoff again from its initial delay.
    @Test func aOneOffPublisherThatIsNeverAnsweredBacksOff() throws {
        var settings = Self.settings
        settings.announce = false
        var session = AgentSession(settings: settings, jitterSeed: 1)
        _ = session.enqueue(Self.entries(1...1), now: 0)
        var now: Int64 = 0
        var delays: [Int64] = []
        for _ in 0..<6 {
            #expect(session.tick(now: now).first == .connect)
            now += 1
            #expect(session.connectionLost(now: now) == [.disconnect])
            guard case .waiting(let retryAt) = session.phase else { Issue.record("\(session.phase)"); return }
            delays.append(retryAt - now)
            now = retryAt
        }
        let ceilings: [Int64] = [100_000, 200_000, 400_000, 800_000, 1_600_000, 2_000_000]
        for (delay, ceiling) in zip(delays, ceilings) {
            #expect(delay >= ceiling / 2 && delay < ceiling, "delay \(delay) for ceiling \(ceiling)")
        }
        let resent = try Self.published(session.tick(now: now))
        #expect(resent.count == 1)
        _ = session.receive(.ack(Acknowledgement(correlation: resent[0].0, sequence: 9, duplicate: false, source: "s", id: "e1")), now: now + 1)
        #expect(session.connectionLost(now: now + 2) == [.disconnect])
        guard case .waiting(let retryAt) = session.phase else { Issue.record("\(session.phase)"); return }
        #expect(retryAt - (now + 2) < 100_000, "after an answer, the initial delay again")
    }

    @Test func aRefusedHelloStopsTheSession() {
        var session = AgentSession(settings: Self.settings, jitterSeed: 7)
        _ = session.tick(now: 0)
        let refusal = Rejection(correlation: 0, error: ConduitError(.scenarioOrganisation, path: "source", "unknown"))
        let actions = session.receive(.reject(refusal), now: 1)
        #expect(actions == [.disconnect, .refused(refusal)])
        #expect(session.tick(now: 100_000_000).isEmpty)
    }
    /// Granted `batch`, the agent sends what the window lets go in one `BATCH`, and an `ACKS` answers each event as an
    /// `ACK` would; a `REJECT` in between keeps the order of the answers.
    @Test func aGrantedBatchCarriesTheWindowAndAcksAnswerEachEvent() throws {
        var session = AgentSession(settings: Self.settings, jitterSeed: 7)
        _ = session.enqueue(Self.entries(1...5), now: 0)
        _ = session.tick(now: 0)
        var welcome = Self.welcome
        welcome.features = ["batch"]
        let sent = session.receive(.welcome(welcome), now: 10)
        let batches = try sent.compactMap { action -> [BatchEntry]? in
            guard case .send(let frames) = action, case .batch(let entries) = try IngestRequest.decode(frames) else { return nil }
            return entries
        }
        #expect(batches.count == 1)
        let entries = try #require(batches.first)
        #expect(entries.map { String(decoding: $0.event, as: UTF8.self) } == ["{1}", "{2}", "{3}"], "the window is 3")
        #expect(try Self.published(sent).isEmpty, "no PUBLISH beside the BATCH")
        // The second event is rejected; the first and third are acknowledged in two ACKS around the REJECT.
        let first = session.receive(.acks([BatchAcknowledgement(correlation: entries[0].correlation, sequence: 7, duplicate: false)]), now: 20)
        guard case .acknowledged(let one, let ack) = first.first else { Issue.record("\(first)"); return }
        #expect(one.number == 1 && ack.sequence == 7 && ack.id == "e1" && ack.source == one.source)
        let refused = session.receive(
            .reject(Rejection(correlation: entries[1].correlation, error: ConduitError(.dataRange, path: "data.percent", "no"))), now: 21)
        guard case .rejected(let two, _) = refused.first else { Issue.record("\(refused)"); return }
        #expect(two.number == 2)
        let third = session.receive(.acks([BatchAcknowledgement(correlation: entries[2].correlation, sequence: 8, duplicate: true)]), now: 22)
        guard case .acknowledged(let three, let duplicate) = third.first else { Issue.record("\(third)"); return }
        #expect(three.number == 3 && duplicate.duplicate)
        #expect(session.inFlight.count == 2, "the freed slots took entries 4 and 5")
    }

    /// Events beyond what one `BATCH` may carry go in more than one.
    @Test func aLargeWindowIsSplitIntoBatchesWithinTheFrameLimit() throws {
        var settings = Self.settings
        settings.window = 256
        var session = AgentSession(settings: settings, jitterSeed: 7)
        let big = (1...40).map { OutboxEntry(number: UInt64($0), source: settings.source, id: "b\($0)", event: Array(repeating: 0x20, count: 6000)) }
        _ = session.enqueue(big, now: 0)
        _ = session.tick(now: 0)
        var welcome = Self.welcome
        welcome.features = ["batch"]
        let sent = session.receive(.welcome(welcome), now: 10)
        let sizes = try sent.compactMap { action -> Int? in
            guard case .send(let frames) = action, case .batch = try IngestRequest.decode(frames) else { return nil }
            return frames[2].count
        }
        #expect(sizes.count == 4, "at most 80 KiB of events per BATCH: 13 + 13 + 13 + 1")
        #expect(sizes.allSatisfy { $0 <= 96 << 10 }, "\(sizes)")
        #expect(session.inFlight.count == 40)
    }
}
