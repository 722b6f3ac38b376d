import ConduitCore

/// A subscriber's side of the ZeroMQ Guide's Clone pattern (design invariants 4 and 5) as a pure state machine: it
/// takes what arrived (a fan-out message, a query reply) or that time passed, and returns what to do. It opens no
/// socket and reads no clock; a follower carries its actions out, so every rule here is tested without either.
///
/// The subscriber subscribes to the fan-out first, then starts from the sequence its state holds (a checkpoint's or
/// a snapshot's, 0 for none), catching up by a replay of the journal (`REPLAY` under credit, the credit given back
/// per `CHUNK`). It then applies live events in strict sequence order:
///
/// - an event at or below the applied sequence (the *base*) is dropped: it is in the state already;
/// - while a replay runs, live events are held back; when its `END` arrives they are taken in sequence order,
///   those the replay covered dropped;
/// - a live event beyond base + 1 while no replay runs reveals a gap: it is held back and base + 1 through its
///   sequence − 1 is replayed;
/// - a fan-out heartbeat announcing a sequence beyond the base, while no replay runs, is a gap up to it;
/// - a heartbeat's time moves the fold's clock only while no replay runs, and only if it lies in the years 0001 to
///   9999 (``ConduitCore/Timestamp/isWritable``): time passes when nothing happens;
/// - an `ERROR` (or, with ``Settings/replayTimeout``, silence) ends the replay, so that a later gap tries again.
///
/// Times are microseconds on a monotonic clock.
public struct FanoutSync: Sendable {
    public struct Settings: Sendable, Hashable {
        /// The credit a replay starts with; each `CHUNK`'s events are given back once they are applied.
        public var credit: UInt32
        /// How long a replay may go without an answer before it is given up (and cancelled); `nil`: as long as it
        /// takes.
        public var replayTimeout: Int64?
        /// What a gap replay that ends without the whole gap (the journal no longer has it, the broker refused the
        /// replay, or never answered) means for the live event that revealed the gap:
        ///
        /// - `false`: nothing is applied past the hole. After an `END`, the held-back events are taken again as
        ///   live ones (the hole is replayed again); after a failure they stay held back until a later replay
        ///   ends. For a state that must be the journal's fold (the aggregator's).
        /// - `true`: the event that revealed the gap, and those held back below it, are applied all the same, the
        ///   missing events left out; the other held-back events are taken as live ones. For a view that must go on
        ///   (`conduit watch --state`), and says what it left out.
        public var appliesPastUnfilledGaps: Bool

        public init(credit: UInt32 = 4096, replayTimeout: Int64? = nil, appliesPastUnfilledGaps: Bool = false) {
            self.credit = credit
            self.replayTimeout = replayTimeout
            self.appliesPastUnfilledGaps = appliesPastUnfilledGaps
        }
    }

    /// A replay of the journal: the catch-up, or the filling of a gap.
    public struct Replay: Sendable, Hashable {
        public enum Purpose: Sendable, Hashable {
            /// From the starting sequence + 1 to the journal's head.
            case catchUp
            /// A gap in the live stream.
            case gap
        }

        /// The request id its replies carry.
        public let request: UInt64
        public let purpose: Purpose
        /// The window: `from` through `to`, inclusive; `to == UInt64.max` for the catch-up (up to the head).
        public let from: UInt64
        public let to: UInt64
        /// The live event whose sequence revealed the gap (held back until the replay ends); `nil` for the
        /// catch-up and for a gap announced by a heartbeat.
        public let revealedBy: UInt64?
        /// The events its `CHUNK`s carried so far, and the first one's sequence: when that is above ``from``, the
        /// journal did not have the start of the window.
        public internal(set) var received = 0
        public internal(set) var firstSequence: UInt64?
    }

    /// Why a replay ended without its `END`.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// The broker answered `ERROR`.
        case refused(ConduitError)
        /// No answer for ``Settings/replayTimeout`` microseconds.
        case noAnswer(microseconds: Int64)
        /// No answer, and the broker turned the query connection's handshake down: `reason` says how (a follower that
        /// watches its handshakes tells this from ``noAnswer(microseconds:)``).
        case handshakeFailed(reason: String)

        public var description: String {
            switch self {
            case .refused(let error): "\(error)"
            case .noAnswer(let microseconds): "no answer within \(Duration.microseconds(microseconds))"
            case .handshakeFailed(let reason): reason
            }
        }
    }

    public enum Action: Sendable, Hashable {
        /// Send a request on the query endpoint: `REPLAY`, `CREDIT` or `CANCEL`. A follower carries it out and
        /// hands on every other action.
        case send(QueryRequest)
        /// Apply this event: each exactly once, in ascending sequence order.
        case apply(RecordedEvent)
        /// A heartbeat's time, while no replay runs: move the fold's clock to it if that is later than the fold's
        /// own (which the first event starts).
        case advanceClock(Timestamp)
        /// A gap in the live stream was noticed (a sequence jump or a heartbeat ahead): `from` through `to` is
        /// replayed.
        case gap(from: UInt64, to: UInt64)
        /// The catch-up's `END` arrived; the held-back live events follow.
        case caughtUp(Replay, EndOfStream)
        /// A gap replay's `END` arrived; the held-back live events follow.
        case gapFilled(Replay, EndOfStream)
        /// A replay ended with an `ERROR`, or without any answer in time.
        case replayFailed(Replay, Failure)
    }

    public let settings: Settings
    /// The sequence of the last event applied (or the sequence started from).
    public private(set) var base: UInt64 = 0
    /// The replay in progress.
    public private(set) var replay: Replay?
    /// Live events held back until a replay ends, in arrival order.
    public private(set) var heldBack: [RecordedEvent] = []
    /// Whether ``start(from:now:)`` or ``startLive(from:)`` was called: until then live events are held back.
    public private(set) var isStarted = false
    /// The highest sequence the fan-out has told of (an event or a heartbeat's latest): the broker's head as far as
    /// this subscriber knows; `base` trails it while events are missing or being applied.
    public private(set) var latestKnown: UInt64 = 0
    private var nextRequest: UInt64 = 0
    /// When the replay in progress was requested or last answered.
    private var lastHeard: Int64 = 0

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Starts from `sequence`, the one the state holds (0 for an empty state): catches up from `sequence + 1` to
    /// the journal's head.
    public mutating func start(from sequence: UInt64, now: Int64) -> [Action] {
        guard !isStarted else { return [] }
        isStarted = true
        base = sequence
        return request(.catchUp, from: sequence + 1, to: .max, revealedBy: nil, now: now)
    }

    /// Starts from `sequence` without a catch-up: the state is a snapshot taken after subscribing, so whatever
    /// came later arrives live (or shows as a gap).
    public mutating func startLive(from sequence: UInt64, now: Int64) -> [Action] {
        guard !isStarted else { return [] }
        isStarted = true
        base = sequence
        return release(applyingThrough: nil, now: now)
    }

    /// Handles one message from the fan-out.
    public mutating func receiveFanout(_ message: FanoutMessage, now: Int64) -> [Action] {
        switch message {
        case .event(_, let record):
            latestKnown = max(latestKnown, record.header.sequence)
            return receiveLive(record, now: now)
        case .heartbeat(let latest):
            latestKnown = max(latestKnown, latest.sequence)
            guard isStarted, replay == nil else { return [] }
            if latest.sequence > base {
                return [.gap(from: base + 1, to: latest.sequence)]
                    + request(.gap, from: base + 1, to: latest.sequence, revealedBy: nil, now: now)
            }
            // Time passes when nothing happens: heartbeats move the fold's clock for time-based alerts. A time
            // outside the years 0001-9999 comes from no broker that works: it moves nothing.
            return latest.recordedTime.isWritable ? [.advanceClock(latest.recordedTime)] : []
        }
    }

    /// Handles one reply from the query endpoint; replies to other requests than the replay in progress (one
    /// given up, say) are ignored.
    public mutating func receiveQuery(_ reply: QueryReply, now: Int64) -> [Action] {
        guard var current = replay else { return [] }
        switch reply {
        case .chunk(let request, let events) where request == current.request:
            lastHeard = now
            var actions: [Action] = []
            actions.reserveCapacity(events.count + 1)
            for record in events {
                current.received += 1
                if current.firstSequence == nil { current.firstSequence = record.header.sequence }
                // The journal is the authority within a replay: what it does not have is not waited for.
                guard record.header.sequence > base else { continue }
                base = record.header.sequence
                actions.append(.apply(record))
            }
            replay = current
            actions.append(.send(.credit(request: current.request, amount: UInt32(clamping: events.count))))
            return actions
        case .end(let end) where end.request == current.request:
            replay = nil
            let report: Action = current.purpose == .catchUp ? .caughtUp(current, end) : .gapFilled(current, end)
            let skipping = settings.appliesPastUnfilledGaps ? current.revealedBy : nil
            return [report] + release(applyingThrough: skipping, now: now)
        case .error(let request, let error) where request == current.request:
            replay = nil
            return fail(current, .refused(error), now: now)
        default:
            return []
        }
    }

    /// Handles the passing of time: gives up a replay unanswered for ``Settings/replayTimeout``.
    public mutating func tick(now: Int64) -> [Action] {
        guard let current = replay, let timeout = settings.replayTimeout, now - lastHeard >= timeout else { return [] }
        replay = nil
        return [.send(.cancel(request: current.request))] + fail(current, .noAnswer(microseconds: timeout), now: now)
    }

    /// When ``tick(now:)`` next has something to do; `nil`: never, as things stand.
    public var nextDeadline: Int64? {
        guard replay != nil, let timeout = settings.replayTimeout else { return nil }
        return lastHeard + timeout
    }

    // MARK: Rules

    private mutating func receiveLive(_ record: RecordedEvent, now: Int64) -> [Action] {
        let sequence = record.header.sequence
        if !isStarted || replay != nil {
            heldBack.append(record)
            return []
        }
        if sequence <= base { return [] }
        if sequence == base + 1 {
            base = sequence
            return [.apply(record)]
        }
        // A gap: fetch what was missed, and hold this event back until it is filled.
        heldBack.append(record)
        return [.gap(from: base + 1, to: sequence - 1)]
            + request(.gap, from: base + 1, to: sequence - 1, revealedBy: sequence, now: now)
    }

    private mutating func request(
        _ purpose: Replay.Purpose, from: UInt64, to: UInt64, revealedBy: UInt64?, now: Int64
    ) -> [Action] {
        nextRequest += 1
        replay = Replay(request: nextRequest, purpose: purpose, from: from, to: to, revealedBy: revealedBy)
        lastHeard = now
        let request = ReplayRequest(request: nextRequest, window: .sequence(from: from, to: to), credit: settings.credit)
        return [.send(.replay(request))]
    }

    private mutating func fail(_ failed: Replay, _ failure: Failure, now: Int64) -> [Action] {
        let report = Action.replayFailed(failed, failure)
        guard settings.appliesPastUnfilledGaps else { return [report] }
        return [report] + release(applyingThrough: failed.revealedBy, now: now)
    }

    /// Takes the held-back events again in sequence order, as live ones; those up to `limit` are applied even past
    /// a hole.
    private mutating func release(applyingThrough limit: UInt64?, now: Int64) -> [Action] {
        let held = heldBack.sorted { $0.header.sequence < $1.header.sequence }
        heldBack.removeAll()
        var actions: [Action] = []
        for record in held {
            if let limit, replay == nil, record.header.sequence > base, record.header.sequence <= limit {
                base = record.header.sequence
                actions.append(.apply(record))
            } else {
                actions += receiveLive(record, now: now)
            }
        }
        return actions
    }
}
