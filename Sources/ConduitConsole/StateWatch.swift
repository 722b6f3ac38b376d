import ConduitAggregator
import ConduitCore
import ConduitReplay
import ConduitState
import Foundation
import ZeroMQ

/// `conduit watch --state`: the aggregate state kept live in this terminal, by the ZeroMQ Guide's Clone pattern.
///
/// It subscribes to the whole fan-out first, then takes a base state: an aggregator's snapshot (`--snapshot`), or
/// the fold of a replay of the journal from sequence 1 through the broker's query endpoint. From then on it applies
/// only live events above the sequence it holds; a sequence that jumps, or a heartbeat announcing a sequence it has
/// not applied, is filled by a replay of the missing range first. Heartbeats move the fold clock (as the aggregator
/// does), so time-based alerts rise and clear while nothing is published.
public struct StateWatch {
    /// Why the watch could not go on: the broker or the aggregator did not answer, or answered with an error.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var fanout: String
    public var query: String
    public var snapshot: String?
    public var timeZone: TimeZone
    /// The plan whose names the timeline lines show (the fold follows the plan events it applies).
    public var plan: Scenario
    /// The keys for a broker that requires CURVE, and for an aggregator whose snapshot endpoint does.
    public var curve: CurveClientKeys?
    public var snapshotCurve: CurveClientKeys?
    /// Stop after this many events applied (caught up and live).
    public var count: Int?
    let context: Context
    let shouldStop: () -> Bool

    private var stopped: Bool { shouldStop() }

    /// - Parameters:
    ///   - context: the context of its sockets; shutting it down (from a signal handler) ends the watch at once.
    ///   - shouldStop: says to end the watch between messages.
    public init(
        fanout: String, query: String, snapshot: String?, timeZone: TimeZone, plan: Scenario = .default, count: Int?,
        curve: CurveClientKeys? = nil, snapshotCurve: CurveClientKeys? = nil, context: Context,
        shouldStop: @escaping () -> Bool
    ) {
        self.plan = plan
        self.curve = curve
        self.snapshotCurve = snapshotCurve
        self.fanout = fanout
        self.query = query
        self.snapshot = snapshot
        self.timeZone = timeZone
        self.count = count
        self.context = context
        self.shouldStop = shouldStop
    }

    /// Runs until `shouldStop`, a shut-down context or `count`; throws ``Failure`` when the base state cannot be had.
    public func run() throws {
        // Subscribe first: what is published while the base state is taken is kept until it is read.
        var following = FanoutFollower.Configuration(fanout: fanout, query: query)
        following.curve = curve
        following.fanoutBatch = 1024
        following.sync = FanoutSync.Settings(
            credit: 1024, replayTimeout: Int64(Self.replayTimeout / .microseconds(1)), appliesPastUnfilledGaps: true)
        let follower = try FanoutFollower(context: context, configuration: following)
        defer { follower.close() }

        let view = LiveView(scenario: plan, timeZone: timeZone)
        var session = Session(view: view, count: count)
        defer { view.finish(state: session.state) }

        if let snapshot {
            session.state = try fetchSnapshot(from: snapshot)
            note("snapshot of \(snapshot) at sequence \(session.state.lastSequence)")
            view.update(state: session.state, newEvents: [], alertChanges: [])
        }
        do {
            // A snapshot is the base at once; otherwise the journal is folded from sequence 1 first.
            try follower.start(from: session.state.lastSequence, catchUp: snapshot == nil) { try handle($0, &session) }
            if snapshot != nil {
                if session.isDone || stopped { return }
                noteCaughtUp(session)
            }

            let poller = Poller()
            follower.add(to: poller)
            while !stopped && !session.isDone {
                try poller.poll(timeout: min(.milliseconds(100), follower.nextDeadline ?? .milliseconds(100)))
                try follower.receive { try handle($0, &session) }
                // Draws what an earlier update deferred, and lets a quiet stream still show its roll-up.
                view.update(state: session.state, newEvents: [], alertChanges: [])
            }
            // Done by --count in the middle of a replay: take the replay's END too (within the replay's time-out),
            // so that what it filled is said whatever the order the two came in.
            let deadline = ContinuousClock.now + Self.replayTimeout
            while session.isDone && !stopped && follower.sync.replay != nil && ContinuousClock.now < deadline {
                try poller.poll(timeout: .milliseconds(100))
                try follower.receive { action in
                    if case .apply = action { return }  // nothing past --count is shown
                    try handle(action, &session)
                }
            }
        } catch let error as ZMQError where error.isContextTerminated {
            return  // Ctrl-C shut the context down
        }
    }

    /// How long a replay may go without an answer from the broker.
    static let replayTimeout: Duration = .seconds(10)

    /// The state being shown, and how many events it took.
    struct Session {
        let view: LiveView
        let count: Int?
        var state = AggregateState(scenario: .default)
        var applied = 0

        var isDone: Bool { count.map { applied >= $0 } ?? false }

        mutating func apply(_ event: Event) {
            guard !isDone, let sequence = event.sequence, sequence > state.lastSequence else { return }
            let changes = state.apply(event)
            applied += 1
            view.update(state: state, newEvents: [event], alertChanges: changes)
        }
    }

    /// Carries out what the sync decided, other than its requests: the events and the clock go into the state
    /// shown, the replays' ends are noted. The catch-up must succeed; a gap that cannot be filled is noted and the
    /// live events go on (the sync applies the one past the gap).
    private func handle(_ action: FanoutSync.Action, _ session: inout Session) throws {
        switch action {
        case .apply(let record):
            guard let event = try? EventCodec.decode(record.event) else { return }
            session.apply(event)
        case .advanceClock(let time):
            // Like the aggregator: the clock starts with the first event, then heartbeats move it on.
            guard !session.isDone, let now = session.state.now, time > now else { return }
            let changes = session.state.advance(to: time)
            session.view.update(state: session.state, newEvents: [], alertChanges: changes)
        case .caughtUp(let replay, let end):
            noteEnd(of: replay, end, session)
            if !session.isDone { noteCaughtUp(session) }
        case .gapFilled(let replay, let end):
            noteEnd(of: replay, end, session)
        case .replayFailed(let replay, let failure):
            let error: ReplayError
            switch failure {
            case .refused(let refusal): error = .refused(refusal)
            case .noAnswer: error = .noAnswer(from: query, within: Self.replayTimeout)
            case .handshakeFailed(let reason): error = .handshakeFailed(reason)
            }
            if replay.purpose == .catchUp {
                throw Failure(description: "cannot catch up from the broker's query endpoint \(query): \(error)")
            }
            session.view.note("! cannot fill the gap \(replay.from)…\(replay.to) from \(query): \(error)")
        case .gap, .send:
            break
        }
    }

    /// Says what a replay gave, and when the journal could not give the whole range (retention removed the start,
    /// the replay ended early): the state lacks those events.
    private func noteEnd(of replay: FanoutSync.Replay, _ end: EndOfStream, _ session: Session) {
        let (from, to) = (replay.from, replay.to)
        let range = to == .max ? "\(from)…" : "\(from)…\(to)"
        let what = replay.purpose == .catchUp ? "catch-up" : "gap"
        if replay.purpose == .gap {
            session.view.note("filled a gap: replayed \(replay.received) event\(replay.received == 1 ? "" : "s") of \(range) from \(query)")
        }
        if let first = replay.firstSequence, first > from {
            session.view.note("! the journal starts at sequence \(first): events \(from)…\(first - 1) are not in this state (try --snapshot of an aggregator)")
        }
        if let notice = BrokerReplay.notice(for: end, matched: UInt64(replay.received)), to != .max {
            session.view.note("! \(what) of \(range): \(notice)")
        }
    }

    private func noteCaughtUp(_ session: Session) {
        note("caught up at sequence \(session.state.lastSequence); live from \(fanout) (Ctrl-C to stop)")
    }

    private func fetchSnapshot(from endpoint: String) throws -> AggregateState {
        do {
            let snapshot = try SnapshotClient.fetch(endpoint: endpoint, curve: snapshotCurve, context: context)
            return try AggregateState.restore(json: snapshot.json, scenario: .default)
        } catch let unavailable as SnapshotClient.Unavailable {
            throw Failure(description: unavailable.description)
        }
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
