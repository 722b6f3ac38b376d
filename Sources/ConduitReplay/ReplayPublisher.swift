import ConduitCore
import Synchronization
import ZeroMQ

/// Asks a running ``ReplayPublisher`` to pause, resume or stop, from any thread: a signal handler, a thread that
/// reads keys.
public final class ReplayControl: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let toggles = Atomic<Int>(0)

    public init() {}

    /// Stops the replay after the event being sent.
    public func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Pauses a running replay, resumes a paused one.
    public func togglePause() { toggles.wrappingAdd(1, ordering: .acquiringAndReleasing) }

    /// Whether ``stop()`` was called.
    public var isStopped: Bool { stopRequested.load(ordering: .acquiring) }

    /// How many times ``togglePause()`` was called.
    var toggleCount: Int { toggles.load(ordering: .acquiring) }
}

/// Where a re-publication is: for a progress line.
public struct ReplayPosition: Sendable, Hashable {
    /// Events published so far, and in the window.
    public var published: Int
    public var total: Int
    /// The last event published (`nil` before the first).
    public var sequence: UInt64?
    /// The recorded time the replay has reached.
    public var recordedTime: Timestamp
    /// How far through the window's recorded time span (by event count when the span is zero), 0 to 100.
    public var percent: Double
    public var isPaused: Bool
    /// Waiting for subscribers before the start.
    public var isWaiting: Bool
}

/// Re-publishes a replayed window onto a fan-out of its own: an `XPUB` socket bound at an endpoint, speaking the
/// broker's fan-out protocol (topic, signature, record header with the original sequence and recorded time, event
/// JSON; `_heartbeat/` with the latest sequence published while idle), so that a subscriber of a broker's fan-out
/// — `conduit watch`, a dashboard — can subscribe to a replay instead. (Not `conduit watch --state` or an
/// aggregator: they catch up from a broker's journal first, and a replay's sequences are that journal's.)
///
/// The spacing of the events' recorded times is kept, scaled by a ``ReplaySpeed`` (``ReplayPacer``). It starts
/// when the wanted number of subscribers has connected: connections are counted by a socket monitor (handshakes
/// completed less disconnections), at least as many subscription messages must have come through the `XPUB`, and
/// then it waits 100 ms more for the rest of their subscriptions to land. Nothing is dropped at the high-water
/// mark (`ZMQ_XPUB_NODROP`): a subscriber that falls behind holds the replay back rather than losing events.
///
/// Like its socket, a publisher belongs to the thread that made it.
public final class ReplayPublisher {
    /// The endpoint bound, with a wildcard port resolved.
    public let endpoint: String
    private let socket: Socket
    private let monitor: SocketMonitor
    private let poller = Poller()
    private let clock = ContinuousClock()

    /// Binds `endpoint` (such as `tcp://127.0.0.1:*` or `tcp://*:5581`) in `context`.
    public init(context: Context, endpoint: String) throws {
        socket = try Socket(context, type: .xpub)
        // A short queue: a slow subscriber holds the replay back (no drop) instead of piling up events that a close
        // at the end would have to discard.
        try socket.set(.sendHighWaterMark, 1000)
        try socket.set(.xpubNoDrop, true)
        // Every subscription is passed up, not only the first of each topic: --wait-subscribers counts them.
        try socket.set(.xpubVerbose, true)
        monitor = try SocketMonitor(socket)
        try socket.bind(endpoint)
        self.endpoint = try socket.lastEndpoint
        poller.add(socket)
    }

    deinit { socket.close(linger: .zero) }

    /// What a run did.
    public struct Outcome: Sendable, Hashable {
        /// Events published.
        public var published: Int
        /// The first and last sequence published.
        public var firstSequence: UInt64?
        public var lastSequence: UInt64?
        /// Stopped by ``ReplayControl/stop()`` before the end.
        public var stopped: Bool
    }

    /// Waits for `subscribers`, then publishes `events` in order on the schedule of `speed`, with a heartbeat after
    /// each `heartbeatInterval` without a message; `progress` is called at least every `progressInterval`, on each
    /// pause and resume, and at the end. Returns once the last event is out (or `control` stopped it); the socket
    /// then keeps up to `linger` to deliver what is queued.
    public func run(
        _ events: [ReplayedEvent], speed: ReplaySpeed, subscribers: Int = 1, heartbeatInterval: Duration = .seconds(1),
        progressInterval: Duration = .milliseconds(200), linger: Duration = .seconds(5), control: ReplayControl,
        progress: (ReplayPosition) -> Void = { _ in }
    ) throws -> Outcome {
        defer { socket.close(linger: linger) }
        var outcome = Outcome(published: 0, stopped: false)
        guard let first = events.first, let last = events.last else { return outcome }
        let firstTime = first.header.recordedTime.microsecondsSinceEpoch
        let span = last.header.recordedTime.microsecondsSinceEpoch - firstTime
        let origin = clock.now
        func elapsed() -> Duration { clock.now - origin }

        var pacer = ReplayPacer(speed: speed, firstRecordedTime: firstTime)
        var lastSequence = first.header.sequence - 1  // what a heartbeat announces: nothing of the window yet
        var lastTime = firstTime
        var lastSend = elapsed()
        var lastProgress: Duration?
        // Every toggle since the control was made counts: a pause asked for before the window starts (while the
        // publisher was being set up, or while it waits for subscribers) starts it paused.
        var toggles = 0
        var index = 0

        func position(waiting: Bool) -> ReplayPosition {
            let reached = index == 0 ? firstTime : clockTime()
            let percent: Double =
                span > 0
                ? Double(reached - firstTime) * 100 / Double(span) : Double(index) * 100 / Double(events.count)
            return ReplayPosition(
                published: index, total: events.count, sequence: index == 0 ? nil : lastSequence,
                recordedTime: Timestamp(microsecondsSinceEpoch: reached), percent: min(100, max(0, percent)),
                isPaused: pacer.isPaused, isWaiting: waiting)
        }
        /// The original clock the replay has reached: never before the last event out, never past the next one.
        func clockTime() -> Int64 {
            let next = index < events.count ? events[index].header.recordedTime.microsecondsSinceEpoch : lastTime
            return max(lastTime, min(next, pacer.recordedTime(at: elapsed())))
        }
        func report(waiting: Bool, force: Bool = false) {
            let now = elapsed()
            guard force || lastProgress.map({ now - $0 >= progressInterval }) ?? true else { return }
            lastProgress = now
            progress(position(waiting: waiting))
        }
        func heartbeatIfIdle() throws {
            guard elapsed() - lastSend >= heartbeatInterval else { return }
            let time = index == 0 ? firstTime : clockTime()
            let header = RecordHeader(sequence: lastSequence, recordedTime: Timestamp(microsecondsSinceEpoch: time))
            // A heartbeat that meets the high-water mark is skipped: the next one says the same.
            _ = try send(FanoutMessage.heartbeat(latest: header).encode(), control: control)
            lastSend = elapsed()
        }

        // Wait for the subscribers, heartbeating meanwhile (a subscriber can tell it is connected).
        var peers = 0
        var subscriptions = 0
        var settledAt: Duration?
        while subscribers > 0 && !control.isStopped {
            while let event = try monitor.next(timeout: .zero) {
                if event.kind == .handshakeSucceeded { peers += 1 }
                if event.kind == .disconnected { peers = max(0, peers - 1) }
            }
            subscriptions += try drainSubscriptions()
            if peers >= subscribers && subscriptions >= subscribers {
                if let settledAt, elapsed() - settledAt >= .milliseconds(100) { break }
                if settledAt == nil { settledAt = elapsed() }
            } else {
                settledAt = nil
            }
            try heartbeatIfIdle()
            report(waiting: true)
            try poller.poll(timeout: .milliseconds(10))
        }

        pacer.start(at: elapsed())
        report(waiting: false, force: true)
        while index < events.count && !control.isStopped {
            let now = control.toggleCount
            if now != toggles {
                for _ in 0..<(now &- toggles) { pacer.toggle(at: elapsed()) }
                toggles = now
                report(waiting: false, force: true)
            }
            let record = events[index]
            let wait = pacer.wait(forRecordedTime: record.header.recordedTime.microsecondsSinceEpoch, at: elapsed())
            if wait == .zero {
                guard try send(record.fanoutMessage.encode(), control: control) else { break }
                lastSequence = record.header.sequence
                lastTime = max(lastTime, record.header.recordedTime.microsecondsSinceEpoch)
                lastSend = elapsed()
                index += 1
                if outcome.firstSequence == nil { outcome.firstSequence = lastSequence }
                outcome.lastSequence = lastSequence
                outcome.published = index
                report(waiting: false)
                continue
            }
            try heartbeatIfIdle()
            report(waiting: false)
            let untilHeartbeat = max(.zero, heartbeatInterval - (elapsed() - lastSend))
            // Short naps while paused or far from the next event, so a resume or a stop is seen at once.
            try poller.poll(timeout: min(wait ?? .milliseconds(50), untilHeartbeat, .milliseconds(50)))
            _ = try drainSubscriptions()
        }
        outcome.stopped = control.isStopped && index < events.count
        if !outcome.stopped {
            // A last heartbeat: the window is complete up to its last sequence.
            let header = RecordHeader(sequence: lastSequence, recordedTime: Timestamp(microsecondsSinceEpoch: lastTime))
            _ = try send(FanoutMessage.heartbeat(latest: header).encode(), control: control)
        }
        report(waiting: false, force: true)
        return outcome
    }

    /// Reads the subscription messages the `XPUB` passes up (so they never queue); returns how many subscribed.
    private func drainSubscriptions() throws -> Int {
        var subscribed = 0
        while let frames = try socket.receiveFrames(wait: false) {
            if frames.first?.first == 1 { subscribed += 1 }
        }
        return subscribed
    }

    /// Sends a message, waiting while the slowest subscriber's queue is full; `false` if stopped meanwhile.
    private func send(_ frames: [[UInt8]], control: ReplayControl) throws -> Bool {
        while !(try socket.send(frames: frames, wait: false)) {
            if control.isStopped { return false }
            try poller.poll(timeout: .milliseconds(10))
            _ = try drainSubscriptions()
        }
        return true
    }
}
