import ConduitAggregator
import ConduitCore
import ConduitReplay
import ConduitState
import Foundation
import Synchronization
import ZeroMQ

/// One event as the dashboard streams it: its sequence (the Server-Sent Events id) and its stored JSON.
public struct StreamedEvent: Sendable, Hashable {
    public var sequence: UInt64
    public var recordedTime: Timestamp
    /// The event's JSON as the journal holds it.
    public var json: [UInt8]

    public init(sequence: UInt64, recordedTime: Timestamp, json: [UInt8]) {
        self.sequence = sequence
        self.recordedTime = recordedTime
        self.json = json
    }

    /// The Server-Sent Events message: `id` the sequence, `event: conduit`, `data` one line of JSON
    /// `{"sequence":…,"recordedTime":…,"event":{…}}`.
    public var serverSentEvent: [UInt8] {
        Array("id: \(sequence)\nevent: conduit\ndata: {\"sequence\":\(sequence),\"recordedTime\":\"\(recordedTime.rfc3339)\",\"event\":".utf8)
            + json + Array("}\n\n".utf8)
    }
}

/// The dashboard's live state: the Clone pattern of the ZeroMQ Guide, as `conduit watch --state` and the aggregator
/// run it — subscribe to the broker's fan-out first, take a base (an aggregator's snapshot, or a fold of the journal
/// through the query endpoint), then apply only higher sequences, filling gaps by replay. It keeps the latest
/// events for browsers that reconnect, and hands each new one to every open stream.
///
/// Its sockets live on a thread of its own; readers take copies of the state under a lock.
public final class DashboardFeed: Sendable {
    public struct Configuration: Sendable {
        public var fanout: String
        public var query: String
        /// An aggregator's snapshot endpoint to start from; `nil`: fold the journal through `query`.
        public var snapshot: String?
        public var curve: CurveClientKeys?
        public var snapshotCurve: CurveClientKeys?
        public var plan: Scenario
        /// How many of the latest events are kept for reconnecting browsers (older ones come from the journal).
        public var keptEvents = 10_000

        public init(fanout: String, query: String, snapshot: String? = nil, plan: Scenario) {
            self.fanout = fanout
            self.query = query
            self.snapshot = snapshot
            self.plan = plan
        }
    }

    /// What the feed knows, under one lock.
    struct Shared {
        var state: AggregateState
        /// The latest events, oldest first, at most ``Configuration/keptEvents``.
        var recent: [StreamedEvent] = []
        var recentStart = 0
        /// The sequence the feed started from (a snapshot's); every event after it was kept or is still kept.
        var base: UInt64 = 0
        var streams: [UInt64: AsyncStream<StreamedEvent>.Continuation] = [:]
        var nextStream: UInt64 = 0
        /// Whether the base state is taken and the feed is live.
        var live = false
        /// Why the feed stopped, if it did.
        var failure: String?

        /// The kept events after `sequence`, oldest first; `nil` when events after it are no longer kept.
        func kept(after sequence: UInt64) -> [StreamedEvent]? {
            let ordered = Array(recent[recentStart...] + recent[..<recentStart])
            if let first = ordered.first {
                if sequence + 1 < first.sequence { return nil }
            } else if sequence < base {
                return nil
            }
            return ordered.filter { $0.sequence > sequence }
        }

        mutating func keep(_ event: StreamedEvent, limit: Int) {
            if recent.count < limit {
                recent.append(event)
            } else {
                recent[recentStart] = event
                recentStart = (recentStart + 1) % limit
            }
        }
    }

    public let configuration: Configuration
    let shared: Mutex<Shared>
    private let stopping = Atomic<Bool>(false)
    private let context: Context
    private let finished = Mutex<Bool>(false)

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        shared = Mutex(Shared(state: AggregateState(scenario: configuration.plan)))
        context = try Context()
    }

    /// A copy of the live state.
    public var state: AggregateState { shared.withLock { $0.state } }

    /// Whether the base state is taken and live events are applied; why not, when the feed failed.
    public var status: (live: Bool, failure: String?) { shared.withLock { ($0.live, $0.failure) } }

    /// Starts the feed on a thread of its own.
    public func start() {
        let thread = Thread { [self] in
            do {
                try run()
            } catch let error as ZMQError where error.isContextTerminated {
                // stopped
            } catch {
                shared.withLock { $0.failure = "\(error)" }
            }
            // Finished outside the lock: a stream's end calls back into it (onTermination).
            let streams = shared.withLock { shared in
                defer { shared.streams.removeAll() }
                return Array(shared.streams.values)
            }
            for continuation in streams { continuation.finish() }
            finished.withLock { $0 = true }
        }
        thread.name = "conduit-dashboard-feed"
        thread.start()
    }

    /// Stops the feed and ends every stream.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        context.shutdown()
        let deadline = ContinuousClock.now + .seconds(10)
        while !finished.withLock({ $0 }) && ContinuousClock.now < deadline { usleep(10_000) }
    }

    /// A stream of the events after `sequence` (`nil`: only new ones), for one browser: first those kept, then each
    /// new one as it is applied. `nil` when events after `sequence` are no longer kept (the caller replays them
    /// from the journal first, then asks again from the last it sent).
    public func stream(after sequence: UInt64?) -> AsyncStream<StreamedEvent>? {
        let (stream, continuation) = AsyncStream<StreamedEvent>.makeStream(bufferingPolicy: .bufferingNewest(configuration.keptEvents))
        let accepted = shared.withLock { shared -> Bool in
            if let sequence {
                guard let backlog = shared.kept(after: sequence) else { return false }
                for event in backlog { continuation.yield(event) }
            }
            if shared.failure != nil {
                continuation.finish()
                return true
            }
            let id = shared.nextStream
            shared.nextStream += 1
            shared.streams[id] = continuation
            continuation.onTermination = { [weak self] _ in _ = self?.shared.withLock { $0.streams.removeValue(forKey: id) } }
            return true
        }
        if !accepted { continuation.finish() }
        return accepted ? stream : nil
    }

    /// How many streams are open.
    public var openStreams: Int { shared.withLock { $0.streams.count } }

    private func run() throws {
        var following = FanoutFollower.Configuration(fanout: configuration.fanout, query: configuration.query)
        following.curve = configuration.curve
        following.fanoutBatch = 1024
        following.sync = FanoutSync.Settings(credit: 1024, replayTimeout: 10_000_000, appliesPastUnfilledGaps: true)
        let follower = try FanoutFollower(context: context, configuration: following)
        defer { follower.close() }
        var base = AggregateState(scenario: configuration.plan)
        if let snapshot = configuration.snapshot {
            base = try fetchSnapshot(from: snapshot)
            shared.withLock { [base] in
                $0.state = base
                $0.base = base.lastSequence
            }
        }
        try follower.start(from: base.lastSequence, catchUp: configuration.snapshot == nil) { try handle($0) }
        if configuration.snapshot != nil { shared.withLock { $0.live = true } }
        let poller = Poller()
        follower.add(to: poller)
        while !stopping.load(ordering: .acquiring) {
            try poller.poll(timeout: min(.milliseconds(200), follower.nextDeadline ?? .milliseconds(200)))
            try follower.receive { try handle($0) }
        }
    }

    private func handle(_ action: FanoutSync.Action) throws {
        switch action {
        case .apply(let record):
            guard let event = try? EventCodec.decode(record.event) else { return }
            let streamed = StreamedEvent(sequence: record.header.sequence, recordedTime: record.header.recordedTime, json: record.event)
            let limit = configuration.keptEvents
            shared.withLock { shared in
                guard record.header.sequence > shared.state.lastSequence else { return }
                _ = shared.state.apply(event)
                shared.keep(streamed, limit: limit)
                for continuation in shared.streams.values { continuation.yield(streamed) }
            }
        case .advanceClock(let time):
            shared.withLock { shared in
                guard let now = shared.state.now, time > now else { return }
                _ = shared.state.advance(to: time)
            }
        case .caughtUp:
            shared.withLock { $0.live = true }
        case .replayFailed(let replay, let failure):
            if replay.purpose == .catchUp {
                throw DashboardError.unavailable("cannot catch up from the broker's query endpoint \(configuration.query): \(failure)")
            }
        case .gap, .gapFilled, .send:
            break
        }
    }

    private func fetchSnapshot(from endpoint: String) throws -> AggregateState {
        do {
            let snapshot = try SnapshotClient.fetch(endpoint: endpoint, curve: configuration.snapshotCurve, context: context)
            return try AggregateState.restore(json: snapshot.json, scenario: configuration.plan)
        } catch let unavailable as SnapshotClient.Unavailable {
            throw DashboardError.unavailable(unavailable.description)
        }
    }
}

/// What can go wrong with the dashboard's sources.
public enum DashboardError: Error, Sendable, CustomStringConvertible {
    case unavailable(String)

    public var description: String {
        switch self {
        case .unavailable(let message): message
        }
    }
}
