import ConduitAgent
import ConduitCore
import ConduitJournal
import ConduitState
import Foundation
import Logging
import ZeroMQ

/// The aggregator's thread: owns its sockets and the state.
final class AggregatorLoop {
    let configuration: AggregatorConfiguration
    let snapshotEndpoint: String
    private let logger: Logger
    private let control: LoopControl
    private let wakeIndex: Int
    private let applied: Aggregator.Progress
    let context: Context
    /// The fan-out and the query endpoint, followed by the Clone pattern: catch-up, live events, gaps filled.
    private let follower: FanoutFollower
    /// Publishes the derived alerts through an outbox: none is lost to a broker restart or a full queue.
    private let alerts: Agent?
    private let temporaryOutbox: String?
    /// Alerts derived and not yet stored in the outbox: stored together once per round (one sync), and always
    /// before a checkpoint or the announcement of the sequence that derived them.
    private var unstoredAlerts: [Event] = []
    private let snapshots: Socket
    private let zapHandler: ZAPHandler?
    /// The snapshot endpoint's connections, kept within bounds as the broker keeps its own (``GuardedEndpoint``).
    private let snapshotGuard: GuardedEndpoint
    private let began = ContinuousClock.now
    private let poller = Poller()
    private var state: AggregateState
    private var sinceCheckpoint = 0
    /// What the observer has not been told yet.
    private var unobservedEvents: [Event] = []
    private var unobservedChanges: [AlertChange] = []
    private var clockMoved = false
    private var lastObserved: ContinuousClock.Instant?

    init(configuration: AggregatorConfiguration, logger: Logger, control: LoopControl, applied: Aggregator.Progress) throws {
        self.configuration = configuration
        self.logger = logger
        self.control = control
        self.applied = applied
        state = AggregateState(scenario: configuration.scenario, options: configuration.options)
        if let path = configuration.checkpointPath, let data = FileManager.default.contents(atPath: path) {
            do {
                state = try AggregateState.restore(json: Array(data), scenario: configuration.scenario)
                logger.info("checkpoint.loaded", metadata: ["checkpoint.sequence": "\(state.lastSequence)"])
            } catch {
                // A damaged checkpoint costs time, not correctness: the state is rebuilt from the journal.
                logger.warning("checkpoint.unusable", metadata: ["checkpoint.path": "\(path)", "error": "\(error)"])
            }
        }
        context = try Context()
        // Subscribe first (the Clone pattern): what is published while the catch-up runs is held back, not lost.
        var following = FanoutFollower.Configuration(fanout: configuration.fanoutEndpoint, query: configuration.queryEndpoint)
        following.receiveHighWaterMark = configuration.subscriberHighWaterMark
        following.receiveBuffer = configuration.subscriberReceiveBuffer
        following.curve = configuration.curve
        follower = try FanoutFollower(context: context, configuration: following)
        if configuration.publishAlerts {
            var directory = configuration.alertOutboxDirectory ?? configuration.checkpointPath.map { $0 + ".alerts" }
            if directory == nil {
                directory = NSTemporaryDirectory() + "conduit-aggregator-alerts-\(getpid())-\(UUID().uuidString)"
                temporaryOutbox = directory
            } else {
                temporaryOutbox = nil
            }
            var agent = Agent.Configuration(
                endpoint: configuration.ingestEndpoint, source: "/conduit/aggregator", outboxDirectory: directory!)
            agent.scenario = configuration.scenario
            agent.curve = configuration.curve.map { ($0.keys, $0.serverKey) }
            agent.announcesPresence = false
            agent.onOutcome = { [applied] outcome in
                switch outcome {
                case .acknowledged(_, let sequence, _):
                    if sequence > applied.alertSequence.load(ordering: .relaxed) {
                        applied.alertSequence.store(sequence, ordering: .releasing)
                    }
                    applied.alertsAnswered.add(1, ordering: .acquiringAndReleasing)
                case .rejected(_, let error):
                    logger.warning("alert.rejected", metadata: ["error": "\(error)"])
                    applied.alertsAnswered.add(1, ordering: .acquiringAndReleasing)
                default:
                    break
                }
            }
            do {
                alerts = try Agent(configuration: agent, logger: logger)
            } catch {
                throw AggregatorError(.outboxUnusable, "the alerts' outbox \(directory!) cannot be used: \(error)", underlying: error)
            }
            // Alerts stored by an earlier run and never answered are resent: count them as on their way.
            applied.alertsSent.add(alerts!.outbox.pendingCount, ordering: .acquiringAndReleasing)
        } else {
            alerts = nil
            temporaryOutbox = nil
        }
        if let clients = configuration.snapshotClients {
            guard let keys = configuration.curve?.keys else {
                throw AggregatorError(.invalidConfiguration, "snapshot clients need the aggregator's own keys (curve) to serve with")
            }
            // The ZAP handler is bound before the server socket: with none, libzmq would admit every CURVE client.
            zapHandler = try ZAPHandler(context: context) { request in
                guard request.mechanism == "CURVE", let key = request.clientPublicKey else { return .deny(reason: "CURVE required") }
                guard let principal = clients[key] else { return .deny(reason: "unknown client key") }
                return .allow(userId: principal)
            }
            snapshots = try Socket(context, type: .router)
            try snapshots.makeCurveServer(keys)
            try snapshots.set(.zapDomain, "conduit")
        } else {
            zapHandler = nil
            snapshots = try Socket(context, type: .router)
        }
        try snapshots.set(.maximumMessageSize, 4 << 10)  // requests are a path of at most 512 bytes
        // A few requests and replies queued per client; the guard disconnects a client that leaves more than 8 MiB
        // of states unread (32 MiB for all), holds part of a request, or sends one of more than 8 frames.
        try snapshots.set(.receiveHighWaterMark, 16)
        try snapshots.set(.sendHighWaterMark, 16)
        try snapshots.set(.handshakeInterval, .seconds(10))
        snapshotGuard = try GuardedEndpoint(
            snapshots,
            limits: ConnectionGuard.Limits(
                maximumConnections: 64, maximumPerAddress: 16, maximumUnfinishedBytes: 16 << 10,
                maximumWaitingBytes: 16 * 8192 + (16 << 10), maximumUnfinishedInAll: 256 << 10,
                stallTimeout: 10_000_000, maximumUnsentBytes: 8 << 20, maximumUnsentInAll: 32 << 20),
            framing: configuration.snapshotClients == nil ? .plain : .curve,
            // Every 5 ms rather than the broker's 20: a peer streaming a message it never finishes over loopback sends
            // several MiB between two inspections, and the endpoint has few connections to read the kernel's counters of.
            inspectionInterval: .milliseconds(5))
        do {
            try snapshots.bind(configuration.snapshotEndpoint)
        } catch {
            snapshots.close(linger: .zero)
            zapHandler?.stop()
            throw AggregatorError(
                .endpointUnavailable, "the snapshot endpoint \(configuration.snapshotEndpoint) cannot be bound: \(error)",
                underlying: error)
        }
        snapshotEndpoint = try snapshots.lastEndpoint
        follower.add(to: poller)
        poller.add(snapshots)
        snapshotGuard.addTo(poller)
        wakeIndex = poller.add(fileDescriptor: control.wakeUp.descriptor)
        announce()
    }

    func run() {
        alerts?.start()
        do {
            try follower.start(from: state.lastSequence, handle)
            while !control.isStopRequested {
                try poller.poll(timeout: nextTimeout())
                if poller.isReadable(wakeIndex) { control.wakeUp.drain() }
                try follower.receive(handle)
                storeAlerts()
                announce()
                try guardSnapshots()
                try drainSnapshots()
                notifyObserver(force: false)
            }
            notifyObserver(force: true)
        } catch {
            logger.error("aggregator.loop_error", metadata: ["error": "\(error)"])
        }
        checkpoint()
        follower.close()
        snapshotGuard.close()
        snapshots.close(linger: .zero)
        zapHandler?.stop()
        context.terminate()
        if let alerts {
            // A moment for the last answers; what is still unanswered stays in the outbox for the next run.
            _ = alerts.drain(timeout: .seconds(2))
            alerts.stop()
        }
        if let temporaryOutbox { try? FileManager.default.removeItem(atPath: temporaryOutbox) }
    }

    /// Makes the alerts derived so far durable in the outbox and hands them to the agent (one sync for all).
    private func storeAlerts() {
        guard let alerts, !unstoredAlerts.isEmpty else { return }
        do {
            try alerts.publish(unstoredAlerts)
            applied.alertIds.withLock { ids in
                ids += unstoredAlerts.map(\.id)
                // The most recent ones only: an aggregator runs for months.
                if ids.count > Aggregator.keptAlertIds { ids.removeFirst(ids.count - Aggregator.keptAlertIds) }
            }
            applied.alertsSent.add(unstoredAlerts.count, ordering: .acquiringAndReleasing)
        } catch {
            logger.error("alert.not_stored", metadata: ["error": "\(error)", "alerts": "\(unstoredAlerts.count)"])
        }
        unstoredAlerts.removeAll(keepingCapacity: true)
    }

    /// Shows how far the fold got (its sequence and clock), after the alerts derived so far are stored: whoever
    /// sees the sequence sees its alerts on their way.
    private func announce() {
        if let now = state.now { applied.clock.store(now.microsecondsSinceEpoch, ordering: .releasing) }
        applied.value.store(state.lastSequence, ordering: .releasing)
        applied.known.store(max(follower.sync.latestKnown, state.lastSequence), ordering: .releasing)
    }

    // MARK: Events

    /// Carries out what the sync decided, other than its requests (the follower sends those).
    private func handle(_ action: FanoutSync.Action) {
        switch action {
        case .apply(let record):
            apply(record)
        case .advanceClock(let time):
            // Time passes when nothing happens: heartbeats advance the fold's clock (once an event started it) for
            // time-based alerts.
            guard let now = state.now, time > now else { return }
            let changes = state.advance(to: time)
            if configuration.observer != nil {
                unobservedChanges += changes
                clockMoved = true
            }
            for change in changes { publish(change, after: state.lastSequence) }
        case .gap(let from, let to):
            logger.info("gap.detected", metadata: ["gap.from": "\(from)", "gap.to": "\(to)"])
            applied.gaps.add(1, ordering: .relaxed)
        case .replayFailed(_, let failure):
            logger.error("replay.failed", metadata: ["error": "\(failure)"])
        case .caughtUp, .gapFilled, .send:
            break
        }
    }

    private func apply(_ record: RecordedEvent) {
        guard record.header.sequence > state.lastSequence else { return }
        guard let event = try? EventCodec.decode(record.event) else { return }
        let changes = state.apply(event)
        if configuration.observer != nil {
            unobservedEvents.append(event)
            unobservedChanges += changes
        }
        for change in changes { publish(change, after: state.lastSequence) }
        sinceCheckpoint += 1
        if sinceCheckpoint >= configuration.checkpointEvery { checkpoint() }
    }

    /// Queues a derived alert as the aggregator's own event; its id is derived from the alert and the sequence
    /// that caused it, so a rebuild that derives it again is deduplicated by the broker. The event is about the
    /// entry's community, work item and utility (`site`, `workitem`, `utility`), so that its topic
    /// (`alert/<utility>/<community>/`) lets a coordinator follow the ledger of one community or utility.
    private func publish(_ change: AlertChange, after sequence: UInt64) {
        guard alerts != nil else { return }
        unstoredAlerts.append(
            Event(
                id: "\(change.status.rawValue)-\(sequence)-\(change.key)".prefix(128).description,
                source: "/conduit/aggregator", time: change.time, utility: change.subject.utility, site: change.subject.community,
                workItem: change.subject.workItem, data: .alert(change.report)))
    }

    /// How long until the observer is owed an update held back by its 100 ms pace; `nil` when it is owed nothing.
    private func observerDue() -> Duration? {
        guard configuration.observer != nil, !unobservedEvents.isEmpty || !unobservedChanges.isEmpty || clockMoved else {
            return nil
        }
        guard let last = lastObserved else { return .zero }
        return max(.zero, .milliseconds(100) - (ContinuousClock.now - last))
    }

    /// Tells the observer what changed, at most every 100 ms unless `force`.
    private func notifyObserver(force: Bool) {
        guard let observer = configuration.observer else { return }
        guard !unobservedEvents.isEmpty || !unobservedChanges.isEmpty || clockMoved else { return }
        let now = ContinuousClock.now
        if !force, let last = lastObserved, now - last < .milliseconds(100) { return }
        lastObserved = now
        observer(AggregatorUpdate(state: state, events: unobservedEvents, alertChanges: unobservedChanges))
        unobservedEvents.removeAll(keepingCapacity: true)
        unobservedChanges.removeAll(keepingCapacity: true)
        clockMoved = false
    }

    // MARK: Snapshots and checkpoints

    /// The poll's timeout: the observer's next update, or the snapshot guard's next inspection.
    private func nextTimeout() -> Duration? {
        let inspection = snapshotGuard.nextDeadline.map { Duration.microseconds(max(0, $0 - microseconds())) }
        switch (observerDue(), inspection) {
        case (let due?, let inspection?): return min(due, inspection)
        case (let due, let inspection): return due ?? inspection
        }
    }

    /// Microseconds on the guard's clock: since the loop began.
    private func microseconds() -> Int64 {
        let (seconds, attoseconds) = (ContinuousClock.now - began).components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// Admits or refuses the snapshot endpoint's new connections, and cuts those that hold too much.
    private func guardSnapshots() throws {
        var events = try snapshotGuard.takeEvents()
        events += snapshotGuard.inspect(now: microseconds())
        for case .cut(let peer, let reason) in events {
            logger.info("connection.cut", metadata: ["endpoint": "snapshot", "peer": "\(peer)", "reason": "\(reason)"])
        }
    }

    private func drainSnapshots() throws {
        while let received = try snapshotGuard.receiveMessage(maximumFrames: 8) {
            guard case .message(let message, _) = received else { continue }
            let frames = message.frames
            guard frames.count >= 2 else { continue }
            let routingId = frames[0]
            let reply: SnapshotReply
            do {
                let request = try SnapshotRequest.decode(Array(frames.dropFirst()))
                if request.path.isEmpty {
                    reply = .state(request: request.request, sequence: state.lastSequence, json: state.json())
                } else if let subtree = state.json(at: request.path) {
                    reply = .state(request: request.request, sequence: state.lastSequence, json: subtree)
                } else {
                    reply = .error(
                        request: request.request,
                        ConduitError(.queryNotFound, path: "frame[3]", "no state at \(request.path)"))
                }
            } catch {
                // The request id is echoed whenever it could be read (frame 3, eight bytes).
                let request = frames.count >= 4 && frames[3].count == 8 ? frames[3].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } : 0
                reply = .error(request: request, error)
            }
            let encoded = reply.encode()
            if (try? snapshots.send(frames: [routingId] + encoded, wait: false)) == true {
                snapshotGuard.sent(to: routingId, wireBytes: encoded.reduce(0) { $0 + snapshotGuard.framing.wireBytes(frame: $1.count) })
            }
        }
    }

    /// Writes the state atomically: a temporary file, synced, renamed over the checkpoint; a crash in between
    /// leaves the previous checkpoint.
    private func checkpoint() {
        // The alerts the checkpoint records as raised or cleared are in the outbox first.
        storeAlerts()
        guard let path = configuration.checkpointPath else { return }
        sinceCheckpoint = 0
        do {
            try AtomicFile.replace(path, with: state.json(), durable: true)
        } catch {
            logger.error("checkpoint.failed", metadata: ["checkpoint.path": "\(path)", "error": "\(error)"])
        }
    }
}
