import ConduitCore
import ConduitState
import Testing

/// The subscriber's Clone-pattern sync without sockets: fan-out messages and query replies in, actions out.
@Suite struct FanoutSyncTests {
    /// The watcher's settings (`conduit watch --state`): a view that must go on past a gap the journal cannot fill.
    static let watching = FanoutSync.Settings(credit: 1024, replayTimeout: 10_000_000, appliesPastUnfilledGaps: true)

    static func record(_ sequence: UInt64) -> RecordedEvent {
        RecordedEvent(
            header: RecordHeader(sequence: sequence, recordedTime: time(sequence)), event: Array("{\"n\":\(sequence)}".utf8))
    }

    static func time(_ second: UInt64) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000 + Int64(second) * 1_000_000)
    }

    static func live(_ sequence: UInt64) -> FanoutMessage { .event(topic: Array("progress/power/ganjiaba/".utf8), record: record(sequence)) }

    static func heartbeat(_ sequence: UInt64, at second: UInt64) -> FanoutMessage {
        .heartbeat(latest: RecordHeader(sequence: sequence, recordedTime: time(second)))
    }

    static func chunk(_ request: UInt64, _ sequences: [UInt64]) -> QueryReply {
        .chunk(request: request, events: sequences.map(record))
    }

    static func end(_ request: UInt64, _ reason: EndReason = .complete, last: UInt64, head: UInt64) -> QueryReply {
        .end(EndOfStream(request: request, reason: reason, lastSequence: last, headSequence: head))
    }

    /// The sequences of the events to apply, in order.
    static func applied(_ actions: [FanoutSync.Action]) -> [UInt64] {
        actions.compactMap { if case .apply(let record) = $0 { record.header.sequence } else { nil } }
    }

    /// The requests to send, in order.
    static func sent(_ actions: [FanoutSync.Action]) -> [QueryRequest] {
        actions.compactMap { if case .send(let request) = $0 { request } else { nil } }
    }

    static func replay(_ request: UInt64, from: UInt64, to: UInt64, credit: UInt32 = 4096) -> QueryRequest {
        .replay(ReplayRequest(request: request, window: .sequence(from: from, to: to), credit: credit))
    }

    /// A sync started live at `sequence` (as from a snapshot): nothing to catch up.
    static func live(at sequence: UInt64, _ settings: FanoutSync.Settings = .init()) -> FanoutSync {
        var sync = FanoutSync(settings: settings)
        #expect(sync.startLive(from: sequence, now: 0).isEmpty)
        return sync
    }

    // MARK: Catch-up

    /// The aggregator starting from its checkpoint (sequence 30): the journal from 31 to its head, then live.
    @Test func catchUpFromTheStartingSequenceThenLiveEvents() {
        var sync = FanoutSync()
        #expect(sync.start(from: 30, now: 0) == [.send(Self.replay(1, from: 31, to: .max))])
        #expect(sync.replay?.purpose == .catchUp)
        let first = sync.receiveQuery(Self.chunk(1, [31, 32, 33]), now: 1)
        #expect(Self.applied(first) == [31, 32, 33])
        #expect(Self.sent(first) == [.credit(request: 1, amount: 3)])
        let end = sync.receiveQuery(Self.end(1, .beyondHead, last: 33, head: 33), now: 2)
        guard case .caughtUp(let replay, let reason) = end.first else {
            Issue.record("expected the catch-up's end, got \(end)")
            return
        }
        #expect(replay.from == 31 && replay.to == .max && replay.received == 3 && replay.firstSequence == 31)
        #expect(reason.reason == .beyondHead)
        #expect(end.count == 1)
        #expect(sync.replay == nil && sync.base == 33)
        #expect(Self.applied(sync.receiveFanout(Self.live(34), now: 3)) == [34])
        #expect(Self.applied(sync.receiveFanout(Self.live(35), now: 4)) == [35])
    }

    /// A late joiner with an empty state folds the whole journal; the live events published meanwhile are held
    /// back, and applied once, after the replay's last event, without those it covered.
    @Test func liveEventsDuringTheCatchUpAreHeldBackAndAppliedOnce() {
        var sync = FanoutSync()
        #expect(Self.sent(sync.start(from: 0, now: 0)) == [Self.replay(1, from: 1, to: .max)])
        for sequence: UInt64 in [3, 4, 5] { #expect(sync.receiveFanout(Self.live(sequence), now: 1).isEmpty) }
        #expect(sync.receiveFanout(Self.heartbeat(5, at: 50), now: 1).isEmpty, "no gap and no clock during a replay")
        #expect(sync.heldBack.map(\.header.sequence) == [3, 4, 5])
        #expect(Self.applied(sync.receiveQuery(Self.chunk(1, [1, 2, 3, 4]), now: 2)) == [1, 2, 3, 4])
        let end = sync.receiveQuery(Self.end(1, .beyondHead, last: 4, head: 4), now: 3)
        guard case .caughtUp = end.first else {
            Issue.record("the catch-up's end comes before the held-back events: \(end)")
            return
        }
        #expect(Self.applied(end) == [5])
        #expect(sync.heldBack.isEmpty && sync.base == 5)
        #expect(Self.applied(sync.receiveFanout(Self.live(5), now: 4)).isEmpty, "5 is applied already")
    }

    /// Events received before the sync starts are held back like those during a catch-up.
    @Test func eventsBeforeTheStartAreHeldBack() {
        var sync = FanoutSync()
        #expect(sync.receiveFanout(Self.live(2), now: 0).isEmpty)
        #expect(sync.receiveFanout(Self.heartbeat(2, at: 9), now: 0).isEmpty)
        _ = sync.start(from: 0, now: 0)
        _ = sync.receiveQuery(Self.chunk(1, [1]), now: 1)
        #expect(Self.applied(sync.receiveQuery(Self.end(1, .beyondHead, last: 1, head: 1), now: 2)) == [2])
    }

    /// The journal no longer has the start of the window (retention): what it has is applied, and the report says
    /// where it began (`watch --state` notes the events it lacks).
    @Test func aCatchUpFromAJournalThatStartsLaterAppliesWhatItHas() {
        var sync = FanoutSync()
        _ = sync.start(from: 0, now: 0)
        #expect(Self.applied(sync.receiveQuery(Self.chunk(1, [40, 41]), now: 1)) == [40, 41])
        let end = sync.receiveQuery(Self.end(1, .beforeStart, last: 41, head: 41), now: 2)
        guard case .caughtUp(let replay, _) = end.first else {
            Issue.record("expected the catch-up's end, got \(end)")
            return
        }
        #expect(replay.from == 1 && replay.firstSequence == 40 && replay.received == 2)
        #expect(Self.applied(sync.receiveFanout(Self.live(42), now: 3)) == [42])
    }

    /// `watch --snapshot`: the aggregator's state at sequence 2 is the base; only later events are applied.
    @Test func fromASnapshotOnlyLaterLiveEventsAreApplied() {
        var sync = FanoutSync(settings: Self.watching)
        #expect(sync.receiveFanout(Self.live(2), now: 0).isEmpty, "queued while the snapshot was fetched")
        #expect(sync.startLive(from: 2, now: 1).isEmpty, "2 is in the snapshot; no replay")
        #expect(sync.replay == nil)
        #expect(Self.applied(sync.receiveFanout(Self.live(1), now: 2)).isEmpty)
        #expect(Self.applied(sync.receiveFanout(Self.live(3), now: 2)) == [3])
        // What was published between the snapshot and the subscription's first event is a gap.
        let jump = sync.receiveFanout(Self.live(6), now: 3)
        #expect(jump.first == .gap(from: 4, to: 5))
        #expect(Self.sent(jump) == [Self.replay(1, from: 4, to: 5, credit: 1024)])
    }

    // MARK: Gaps

    /// An event lost at a high-water mark: the next one reveals the gap; it waits for the replay of the missing
    /// range, then is applied after it.
    @Test func aSequenceJumpIsReplayedBeforeTheEventThatRevealedIt() {
        var sync = Self.live(at: 5)
        #expect(Self.applied(sync.receiveFanout(Self.live(6), now: 0)) == [6])
        let jump = sync.receiveFanout(Self.live(9), now: 1)
        #expect(jump == [.gap(from: 7, to: 8), .send(Self.replay(1, from: 7, to: 8))])
        #expect(sync.replay?.revealedBy == 9 && sync.replay?.purpose == .gap)
        #expect(Self.applied(sync.receiveQuery(Self.chunk(1, [7, 8]), now: 2)) == [7, 8])
        let end = sync.receiveQuery(Self.end(1, last: 8, head: 9), now: 3)
        guard case .gapFilled(let replay, _) = end.first else {
            Issue.record("expected the gap's end, got \(end)")
            return
        }
        #expect(replay.from == 7 && replay.to == 8 && replay.received == 2)
        #expect(Self.applied(end) == [9])
        #expect(sync.base == 9 && sync.heldBack.isEmpty)
    }

    /// Idle, the broker's heartbeat carries its latest sequence: one beyond the base is a gap up to it, and that
    /// heartbeat moves no clock.
    @Test func aHeartbeatAheadIsAGapUpToItsSequence() {
        var sync = Self.live(at: 5)
        let announced = sync.receiveFanout(Self.heartbeat(8, at: 100), now: 0)
        #expect(announced == [.gap(from: 6, to: 8), .send(Self.replay(1, from: 6, to: 8))])
        #expect(sync.replay?.revealedBy == nil)
        #expect(Self.applied(sync.receiveQuery(Self.chunk(1, [6, 7, 8]), now: 1)) == [6, 7, 8])
        let end = sync.receiveQuery(Self.end(1, last: 8, head: 8), now: 2)
        #expect(end.count == 1)
        guard case .gapFilled(let replay, _) = end.first else {
            Issue.record("expected the gap's end, got \(end)")
            return
        }
        #expect(replay.received == 3)
        // The next heartbeat finds nothing missing and moves the clock.
        #expect(sync.receiveFanout(Self.heartbeat(8, at: 101), now: 3) == [.advanceClock(Self.time(101))])
        #expect(sync.receiveFanout(Self.heartbeat(4, at: 102), now: 3) == [.advanceClock(Self.time(102))], "a stale heartbeat is no gap")
    }

    /// Duplicates and events older than the base are dropped; one out of order is held back until its turn.
    @Test func reorderedAndDuplicateLiveEventsAreAppliedOnceInOrder() {
        var sync = Self.live(at: 5)
        #expect(Self.applied(sync.receiveFanout(Self.live(6), now: 0)) == [6])
        #expect(Self.applied(sync.receiveFanout(Self.live(6), now: 0)).isEmpty, "a duplicate")
        #expect(Self.applied(sync.receiveFanout(Self.live(3), now: 0)).isEmpty, "older than the base")
        #expect(Self.sent(sync.receiveFanout(Self.live(8), now: 0)) == [Self.replay(1, from: 7, to: 7)])
        for sequence: UInt64 in [10, 9, 8, 7, 9, 6] { #expect(sync.receiveFanout(Self.live(sequence), now: 1).isEmpty) }
        #expect(Self.applied(sync.receiveQuery(Self.chunk(1, [7]), now: 2)) == [7])
        #expect(Self.applied(sync.receiveQuery(Self.end(1, last: 7, head: 10), now: 3)) == [8, 9, 10])
        #expect(sync.heldBack.isEmpty && sync.replay == nil)
    }

    /// While a gap is replayed, live events arrive: one inside the window again (it is covered by the replay) and
    /// one that reveals a second gap beyond it. The first is dropped; the second gap is replayed after the first.
    @Test func eventsArrivingDuringAGapReplayInsideAndBeyondItsWindow() {
        var sync = Self.live(at: 5)
        #expect(Self.sent(sync.receiveFanout(Self.live(10), now: 0)) == [Self.replay(1, from: 6, to: 9)])
        #expect(sync.receiveFanout(Self.live(7), now: 1).isEmpty, "inside the window: held back")
        #expect(sync.receiveFanout(Self.live(13), now: 1).isEmpty, "11 and 12 lost too: held back")
        #expect(sync.receiveFanout(Self.heartbeat(13, at: 50), now: 1).isEmpty, "no second replay while one runs")
        #expect(Self.applied(sync.receiveQuery(Self.chunk(1, [6, 7, 8, 9]), now: 2)) == [6, 7, 8, 9])
        let end = sync.receiveQuery(Self.end(1, last: 9, head: 13), now: 3)
        #expect(Self.applied(end) == [10], "7 was covered by the replay")
        #expect(end.contains(.gap(from: 11, to: 12)))
        #expect(Self.sent(end) == [Self.replay(2, from: 11, to: 12)])
        #expect(sync.heldBack.map(\.header.sequence) == [13])
        _ = sync.receiveQuery(Self.chunk(2, [11, 12]), now: 4)
        #expect(Self.applied(sync.receiveQuery(Self.end(2, last: 12, head: 13), now: 5)) == [13])
    }

    /// A replay may end before the events held back are reached (the broker ended it idle, say): nothing is applied
    /// past the hole, which is replayed again.
    @Test func anEndShortOfTheHeldBackEventsReplaysTheRestAgain() {
        var sync = Self.live(at: 5)
        _ = sync.receiveFanout(Self.live(10), now: 0)
        _ = sync.receiveFanout(Self.live(11), now: 0)
        #expect(Self.applied(sync.receiveQuery(Self.chunk(1, [6, 7]), now: 1)) == [6, 7])
        let end = sync.receiveQuery(Self.end(1, .idle, last: 7, head: 11), now: 2)
        #expect(Self.applied(end).isEmpty)
        #expect(end.contains(.gap(from: 8, to: 9)))
        #expect(Self.sent(end) == [Self.replay(2, from: 8, to: 9)])
        #expect(sync.heldBack.map(\.header.sequence) == [10, 11])
        _ = sync.receiveQuery(Self.chunk(2, [8, 9]), now: 3)
        #expect(Self.applied(sync.receiveQuery(Self.end(2, last: 9, head: 11), now: 4)) == [10, 11])
    }

    /// The watcher's choice, on the same input: the gap is reported (with what the replay gave) and passed; the
    /// event that revealed it, and what follows, are applied.
    @Test func aWatcherGoesOnPastAGapTheReplayDidNotFill() {
        var sync = Self.live(at: 5, Self.watching)
        _ = sync.receiveFanout(Self.live(10), now: 0)
        _ = sync.receiveFanout(Self.live(11), now: 0)
        #expect(Self.applied(sync.receiveQuery(Self.chunk(1, [6, 7]), now: 1)) == [6, 7])
        let end = sync.receiveQuery(Self.end(1, .idle, last: 7, head: 11), now: 2)
        guard case .gapFilled(let replay, let reason) = end.first else {
            Issue.record("expected the gap's end, got \(end)")
            return
        }
        #expect(replay.from == 6 && replay.to == 9 && replay.received == 2 && reason.reason == .idle)
        #expect(Self.applied(end) == [10, 11])
        #expect(Self.sent(end).isEmpty)
        // A later jump is still a gap.
        #expect(Self.sent(sync.receiveFanout(Self.live(13), now: 3)) == [Self.replay(2, from: 12, to: 12, credit: 1024)])
    }

    /// `watch --state` against a fan-out that skips: #3 without #2, then a heartbeat announcing #5 while #4 and #5
    /// never come. Each gap is replayed, reported with the number of events it took, and the fold sees 1 to 5.
    @Test func aWatcherFillsASequenceJumpAndAHeartbeatAhead() {
        var sync = FanoutSync(settings: Self.watching)
        var applied: [UInt64] = []
        var reports: [(from: UInt64, to: UInt64, received: Int)] = []
        func take(_ actions: [FanoutSync.Action]) {
            applied += Self.applied(actions)
            for case .gapFilled(let replay, _) in actions { reports.append((replay.from, replay.to, replay.received)) }
        }
        take(sync.start(from: 0, now: 0))
        take(sync.receiveQuery(Self.chunk(1, [1]), now: 1))
        take(sync.receiveQuery(Self.end(1, .beyondHead, last: 1, head: 1), now: 2))
        take(sync.receiveFanout(Self.live(3), now: 3))
        take(sync.receiveQuery(Self.chunk(2, [2]), now: 4))
        take(sync.receiveQuery(Self.end(2, last: 2, head: 5), now: 5))
        take(sync.receiveFanout(Self.heartbeat(5, at: 60), now: 6))
        take(sync.receiveQuery(Self.chunk(3, [4, 5]), now: 7))
        take(sync.receiveQuery(Self.end(3, last: 5, head: 5), now: 8))
        #expect(applied == [1, 2, 3, 4, 5])
        #expect(reports.map(\.from) == [2, 4] && reports.map(\.to) == [2, 5] && reports.map(\.received) == [1, 2])
    }

    // MARK: Failures

    /// An `ERROR` ends the replay: nothing is applied past the hole, the held-back event waits, a late answer to
    /// the failed request is ignored, and the next gap (here announced by a heartbeat) tries again.
    @Test func anErrorEndsTheReplayAndALaterGapTriesAgain() {
        var sync = Self.live(at: 5)
        #expect(Self.sent(sync.receiveFanout(Self.live(8), now: 0)) == [Self.replay(1, from: 6, to: 7)])
        let refusal = ConduitError(.serviceUnavailable, path: "message", "busy")
        let failed = sync.receiveQuery(.error(request: 1, refusal), now: 1)
        guard case .replayFailed(let replay, .refused(let error)) = failed.first else {
            Issue.record("expected the failure, got \(failed)")
            return
        }
        #expect(replay.from == 6 && replay.to == 7 && error == refusal)
        #expect(failed.count == 1)
        #expect(sync.replay == nil && sync.heldBack.map(\.header.sequence) == [8])
        #expect(sync.receiveQuery(Self.chunk(1, [6, 7]), now: 2).isEmpty, "a late answer to the failed request: no credit, nothing applied")
        // The retry.
        let retry = sync.receiveFanout(Self.heartbeat(9, at: 70), now: 3)
        #expect(retry == [.gap(from: 6, to: 9), .send(Self.replay(2, from: 6, to: 9))])
        #expect(Self.applied(sync.receiveQuery(Self.chunk(2, [6, 7, 8, 9]), now: 4)) == [6, 7, 8, 9])
        #expect(Self.applied(sync.receiveQuery(Self.end(2, last: 9, head: 9), now: 5)).isEmpty, "8 was covered")
        #expect(sync.heldBack.isEmpty)
    }

    /// A catch-up refused by the broker ends; the live events wait; the next jump replays from the start.
    @Test func aRefusedCatchUpIsRetriedByTheNextGap() {
        var sync = FanoutSync()
        _ = sync.start(from: 0, now: 0)
        _ = sync.receiveFanout(Self.live(4), now: 0)
        let failed = sync.receiveQuery(.error(request: 1, ConduitError(.serviceInternal, path: "journal", "unreadable")), now: 1)
        #expect(failed.count == 1)
        #expect(Self.applied(failed).isEmpty)
        #expect(Self.sent(sync.receiveFanout(Self.live(5), now: 2)) == [Self.replay(2, from: 1, to: 4)])
        _ = sync.receiveQuery(Self.chunk(2, [1, 2, 3, 4]), now: 3)
        #expect(Self.applied(sync.receiveQuery(Self.end(2, last: 4, head: 5), now: 4)) == [5])
    }

    /// The watcher's choice after a failed gap replay: the event that revealed the gap is applied all the same. A
    /// gap announced by a heartbeat has no such event: the next heartbeat tries again.
    @Test func aWatcherGoesOnAfterAFailedGapReplay() {
        var sync = Self.live(at: 5, Self.watching)
        _ = sync.receiveFanout(Self.live(8), now: 0)
        let failed = sync.receiveQuery(.error(request: 1, ConduitError(.serviceUnavailable, path: "message", "busy")), now: 1)
        #expect(Self.applied(failed) == [8])
        #expect(Self.sent(sync.receiveFanout(Self.heartbeat(10, at: 80), now: 2)) == [Self.replay(2, from: 9, to: 10, credit: 1024)])
        let again = sync.receiveQuery(.error(request: 2, ConduitError(.serviceUnavailable, path: "message", "busy")), now: 3)
        #expect(Self.applied(again).isEmpty)
        #expect(Self.sent(sync.receiveFanout(Self.heartbeat(10, at: 81), now: 4)) == [Self.replay(3, from: 9, to: 10, credit: 1024)])
    }

    /// With a time-out, a replay that hears nothing for that long is cancelled and reported; each answer restarts the
    /// wait. Without one, it waits as long as it takes.
    @Test func aSilentReplayIsGivenUpAfterItsTimeOut() {
        var sync = FanoutSync(settings: Self.watching)
        _ = sync.start(from: 0, now: 1_000)
        #expect(sync.nextDeadline == 10_001_000)
        #expect(sync.tick(now: 10_000_999).isEmpty)
        _ = sync.receiveQuery(Self.chunk(1, [1]), now: 5_000_000)
        #expect(sync.nextDeadline == 15_000_000)
        #expect(sync.tick(now: 14_999_999).isEmpty)
        let silent = sync.tick(now: 15_000_000)
        guard silent.count == 2, silent[0] == .send(.cancel(request: 1)),
            case .replayFailed(let replay, .noAnswer(let microseconds)) = silent[1]
        else {
            Issue.record("expected CANCEL and the failure, got \(silent)")
            return
        }
        #expect(replay.purpose == .catchUp && microseconds == 10_000_000)
        #expect(sync.replay == nil && sync.nextDeadline == nil)

        var patient = FanoutSync()
        _ = patient.start(from: 0, now: 0)
        #expect(patient.nextDeadline == nil)
        #expect(patient.tick(now: .max).isEmpty)
        #expect(patient.replay != nil)
    }

    // MARK: Credit and clock

    /// Each `CHUNK` of the replay in progress is credited back with its number of events, those below the base
    /// included; a chunk of another request is not.
    @Test func creditIsGivenBackPerChunk() {
        var sync = Self.live(at: 5)
        _ = sync.receiveFanout(Self.live(20), now: 0)
        #expect(Self.sent(sync.receiveQuery(Self.chunk(1, [4, 5, 6]), now: 1)) == [.credit(request: 1, amount: 3)])
        #expect(Self.sent(sync.receiveQuery(Self.chunk(1, Array(7...19)), now: 2)) == [.credit(request: 1, amount: 13)])
        #expect(Self.sent(sync.receiveQuery(Self.chunk(9, [7]), now: 3)).isEmpty)
        // The credit a replay starts with is the setting's.
        var watcher = FanoutSync(settings: Self.watching)
        #expect(Self.sent(watcher.start(from: 0, now: 0)) == [Self.replay(1, from: 1, to: .max, credit: 1024)])
    }

    /// A heartbeat's time moves the fold's clock only while no replay runs, and only within the years 0001-9999.
    @Test func theClockMovesOnlyWhileNoReplayRuns() {
        var sync = FanoutSync()
        #expect(sync.receiveFanout(Self.heartbeat(0, at: 10), now: 0).isEmpty, "not started")
        _ = sync.start(from: 0, now: 0)
        #expect(sync.receiveFanout(Self.heartbeat(0, at: 11), now: 0).isEmpty, "catching up")
        _ = sync.receiveQuery(Self.end(1, .beyondHead, last: 0, head: 0), now: 1)
        #expect(sync.receiveFanout(Self.heartbeat(0, at: 12), now: 2) == [.advanceClock(Self.time(12))])
        let outside = RecordHeader(sequence: 0, recordedTime: Timestamp(microsecondsSinceEpoch: .max))
        #expect(sync.receiveFanout(.heartbeat(latest: outside), now: 2).isEmpty, "after the year 9999")
        let before = RecordHeader(sequence: 0, recordedTime: Timestamp(microsecondsSinceEpoch: Timestamp.earliest.microsecondsSinceEpoch - 1))
        #expect(sync.receiveFanout(.heartbeat(latest: before), now: 2).isEmpty, "before the year 0001")
        #expect(!sync.receiveFanout(Self.heartbeat(3, at: 13), now: 3).contains(.advanceClock(Self.time(13))), "it starts a gap replay")
        #expect(sync.receiveFanout(Self.heartbeat(3, at: 14), now: 3).isEmpty, "filling the gap")
        _ = sync.receiveQuery(Self.chunk(2, [1, 2, 3]), now: 4)
        _ = sync.receiveQuery(Self.end(2, last: 3, head: 3), now: 4)
        #expect(sync.receiveFanout(Self.heartbeat(3, at: 15), now: 5) == [.advanceClock(Self.time(15))])
    }

    // MARK: Convergence

    /// A subscriber that loses live events at random (a tiny high-water mark, a stalled consumer) against a broker
    /// that keeps publishing, heartbeats when idle and replays under credit: every event is applied exactly once,
    /// in order, and nothing is left held back or replaying. The aggregator's late join and stall, without
    /// sockets.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func aLossySubscriberConvergesToTheWholeJournal(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var broker = SimulatedBroker(chunkEvents: Int(random.next() % 5) + 1)
        let start = UInt64(random.next() % 20)
        broker.publish(count: Int(start))  // in the checkpoint already
        broker.fanout.removeAll()
        var sync = FanoutSync(settings: FanoutSync.Settings(credit: UInt32(random.next() % 7) + 1))
        var applied: [UInt64] = []
        var now: Int64 = 0
        func carryOut(_ actions: [FanoutSync.Action]) {
            for action in actions {
                switch action {
                case .send(let request): broker.receive(request)
                case .apply(let record): applied.append(record.header.sequence)
                default: break
                }
            }
        }
        carryOut(sync.start(from: start, now: now))
        var published = 0
        while published < 500 || !broker.fanout.isEmpty || !broker.replies.isEmpty {
            now += 1
            switch random.next() % 10 {
            case 0..<4 where published < 500:
                broker.publish(count: 1, losing: random.next() % 3 == 0)
                published += 1
            case 4..<7 where !broker.fanout.isEmpty:
                carryOut(sync.receiveFanout(broker.fanout.removeFirst(), now: now))
            case 7..<10 where !broker.replies.isEmpty:
                carryOut(sync.receiveQuery(broker.replies.removeFirst(), now: now))
            default:
                if broker.fanout.isEmpty && broker.replies.isEmpty { broker.heartbeat() }
            }
        }
        // Idle: the heartbeat announces the head until the subscriber has it all.
        for _ in 0..<100 where sync.base < broker.head || sync.replay != nil {
            broker.heartbeat()
            while !broker.fanout.isEmpty || !broker.replies.isEmpty {
                now += 1
                if !broker.replies.isEmpty { carryOut(sync.receiveQuery(broker.replies.removeFirst(), now: now)) }
                if !broker.fanout.isEmpty { carryOut(sync.receiveFanout(broker.fanout.removeFirst(), now: now)) }
            }
        }
        #expect(applied == Array(start + 1...broker.head))
        #expect(sync.base == broker.head && sync.replay == nil && sync.heldBack.isEmpty)
        #expect(broker.replaysServed > 1, "some events were lost and replayed")
    }
}

/// A broker in memory: a journal of sequences, a fan-out that may lose events, idle heartbeats, and one replay
/// at a time streamed in `CHUNK`s within its credit.
struct SimulatedBroker {
    let chunkEvents: Int
    private(set) var head: UInt64 = 0
    var fanout: [FanoutMessage] = []
    var replies: [QueryReply] = []
    private(set) var replaysServed = 0
    private var stream: (request: UInt64, next: UInt64, to: UInt64, credit: UInt32)?

    init(chunkEvents: Int) { self.chunkEvents = chunkEvents }

    mutating func publish(count: Int, losing: Bool = false) {
        for _ in 0..<count {
            head += 1
            if !losing { fanout.append(FanoutSyncTests.live(head)) }
        }
        pump()
    }

    mutating func heartbeat() { fanout.append(FanoutSyncTests.heartbeat(head, at: head)) }

    mutating func receive(_ request: QueryRequest) {
        switch request {
        case .replay(let replay):
            guard case .sequence(let from, let to) = replay.window else { return }
            replaysServed += 1
            stream = (replay.request, from, to, replay.credit)
        case .credit(let request, let amount):
            guard stream?.request == request else { return }
            stream!.credit += amount
        default:
            return
        }
        pump()
    }

    /// Sends what the credit allows; the end once the window (or the head) is reached.
    private mutating func pump() {
        guard var current = stream else { return }
        let last = min(current.to, head)
        while current.credit > 0, current.next <= last {
            let count = min(UInt64(chunkEvents), UInt64(current.credit), last - current.next + 1)
            replies.append(FanoutSyncTests.chunk(current.request, Array(current.next..<current.next + count)))
            current.next += count
            current.credit -= UInt32(count)
        }
        stream = current
        if current.next > last {
            let reason: EndReason = current.to > head ? .beyondHead : .complete
            replies.append(FanoutSyncTests.end(current.request, reason, last: current.next - 1, head: head))
            stream = nil
        }
    }
}
