import ConduitCore

/// The agent's side of the ingest protocol as a pure state machine: it takes what happened (time passed, a reply
/// arrived, entries were queued) and returns what to do. The I/O loop in ``Agent`` only carries the actions out, so
/// every rule here — the window, heartbeats, reconnection with backoff and jitter, resending — is tested without
/// sockets or clocks.
///
/// Times are microseconds on a monotonic clock.
struct AgentSession {
    struct Settings {
        /// The CloudEvents source the agent announces in `HELLO`.
        var source: String
        /// The heartbeat interval asked for in `HELLO`; the broker's `WELCOME` decides.
        var heartbeatIntervalMicroseconds: Int64
        /// The most events in flight the agent wants (the broker's limit may be lower).
        var window: Int
        /// The first reconnection delay, doubled after each failed attempt up to the maximum.
        var reconnectInitialMicroseconds: Int64
        var reconnectMaximumMicroseconds: Int64
        /// Whether to announce the agent with `HELLO` (and `GOODBYE`), so the broker records its presence. A
        /// one-off publisher does not: it publishes straight away.
        var announce = true
        /// Whether to ask for the `batch` feature in `HELLO`: once granted, the events the window lets go at once are
        /// sent in `BATCH` messages (at most ``AgentSession/batchBytes`` of events each) and acknowledged in `ACKS`.
        var batch = true
        /// How many brokers the agent was given (`Agent.Configuration.endpoints`): each reconnection tries the next
        /// one, and the backoff grows only once every one was tried.
        var endpointCount = 1
    }

    /// The most event bytes in one `BATCH`: within the broker's 96 KiB limit on a frame, with room for the entries'
    /// 12-byte headers.
    static let batchBytes = 80 << 10

    enum Action: Equatable {
        /// Open a fresh connection (closing any previous one) to the broker.
        case connect
        /// Close the connection; a later `connect` follows.
        case disconnect
        /// Send a message on the connection.
        case send(WireMessage)
        /// The broker acknowledged an entry: it is durable.
        case acknowledged(OutboxEntry, Acknowledgement)
        /// The broker rejected an entry: final.
        case rejected(OutboxEntry, Rejection)
        /// The broker refused the `HELLO` itself (an unknown or forbidden source): the agent cannot go on.
        case refused(Rejection)
        /// The broker told the plan it validates against.
        case plan(PlanInForce)
    }

    enum Phase: Equatable {
        /// Not connected; connect at `retryAt`.
        case waiting(retryAt: Int64)
        /// Connected, `HELLO` sent at `since`, no `WELCOME` yet.
        case greeting(since: Int64)
        /// Welcomed: publishing.
        case ready
        /// The broker refused the agent's source.
        case refused
    }

    let settings: Settings
    private(set) var phase: Phase = .waiting(retryAt: 0)
    /// Entries to send on this connection, oldest first: `queueStorage[queueHead...]`.
    private var queueStorage: [OutboxEntry] = []
    private var queueHead = 0
    /// Entries sent and not answered, by correlation, with when they were sent.
    private(set) var inFlight: [UInt64: (entry: OutboxEntry, sentAt: Int64)] = [:]
    private(set) var welcome: Welcome?
    private(set) var reconnects = 0
    /// Which of the brokers the agent was given to connect to next (see ``Settings/endpointCount``).
    private(set) var endpointIndex = 0
    private var attempts = 0
    private var nextCorrelation: UInt64 = 1
    private var lastSent: Int64 = 0
    private var lastHeard: Int64 = 0
    /// Whether the broker answered anything on the current connection.
    private var heardSinceConnect = false
    private var random: SplitMix64

    init(settings: Settings, jitterSeed: UInt64) {
        self.settings = settings
        self.random = SplitMix64(seed: jitterSeed)
    }

    /// The interval the broker granted, or the one asked for before it answered.
    var heartbeatInterval: Int64 {
        welcome.map { Int64($0.heartbeatIntervalMs) * 1000 } ?? settings.heartbeatIntervalMicroseconds
    }

    /// Whether nothing is queued or in flight.
    var isIdle: Bool { queuedCount == 0 && inFlight.isEmpty }

    /// Entries waiting to be sent.
    var queuedCount: Int { queueStorage.count - queueHead }

    /// The effective window: the agent's, bounded by the broker's.
    var window: Int { min(settings.window, welcome.map { Int($0.maximumInFlight) } ?? settings.window) }

    /// Queues entries (already durable in the outbox) and sends what the window allows.
    mutating func enqueue(_ entries: [OutboxEntry], now: Int64) -> [Action] {
        queueStorage += entries
        return fill(now: now)
    }

    /// Handles one reply from the broker.
    mutating func receive(_ reply: IngestReply, now: Int64) -> [Action] {
        lastHeard = now
        // A session that does not announce itself knows its connection works once the broker answers anything on it
        // (one that does, once it is welcomed): only then does the backoff start again from its initial delay.
        if !settings.announce && !heardSinceConnect { attempts = 0 }
        heardSinceConnect = true
        switch reply {
        case .welcome(let granted):
            guard case .greeting = phase else { return [] }
            welcome = granted
            phase = .ready
            attempts = 0
            // Ask which plan the hub runs, on every new session: the hub's plan may have changed meanwhile.
            return [.send(IngestRequest.plan(correlation: 0).encode())] + fill(now: now)
        case .ack(let acknowledgement):
            guard let sent = inFlight.removeValue(forKey: acknowledgement.correlation) else { return [] }
            requeueSkipped(before: acknowledgement.correlation)
            return [.acknowledged(sent.entry, acknowledgement)] + fill(now: now)
        case .acks(let acknowledgements):
            var actions: [Action] = []
            for acknowledgement in acknowledgements {
                guard let sent = inFlight.removeValue(forKey: acknowledgement.correlation) else { continue }
                requeueSkipped(before: acknowledgement.correlation)
                actions.append(.acknowledged(
                    sent.entry,
                    Acknowledgement(
                        correlation: acknowledgement.correlation, sequence: acknowledgement.sequence,
                        duplicate: acknowledgement.duplicate, source: sent.entry.source, id: sent.entry.id)))
            }
            return actions + fill(now: now)
        case .reject(let rejection):
            if rejection.correlation == 0, case .greeting = phase {
                phase = .refused
                return [.disconnect, .refused(rejection)]
            }
            if rejection.error.code == .serviceUnavailable, inFlight[rejection.correlation] != nil {
                // Nothing was stored and the broker asks for a retry (its journal, or its journal of record, could
                // not take the batch; it may be stopping, and another of the hub's brokers taking over): the event
                // is not final. It goes back with everything in flight, and is sent again on a fresh connection
                // after a backoff.
                return reconnect(now: now)
            }
            guard let sent = inFlight.removeValue(forKey: rejection.correlation) else { return [] }
            requeueSkipped(before: rejection.correlation)
            return [.rejected(sent.entry, rejection)] + fill(now: now)
        case .heartbeat:
            return []
        case .plan(_, let plan):
            return [.plan(plan)]
        }
    }

    /// The broker answers a connection's `PUBLISH`es in the order they were sent: when the answer to `correlation`
    /// comes, those sent before it and still unanswered never reached it (a broker restarted under a connection that
    /// ZeroMQ quietly re-established, a message dropped at a high-water mark). They go back to the front of the
    /// queue and are sent again, with the same `source` and `id`.
    private mutating func requeueSkipped(before correlation: UInt64) {
        let skipped = inFlight.filter { $0.key < correlation }
        guard !skipped.isEmpty else { return }
        for key in skipped.keys { inFlight[key] = nil }
        queueStorage = skipped.values.map(\.entry).sorted { $0.number < $1.number } + queueStorage[queueHead...]
        queueHead = 0
    }

    /// The connection was lost (the socket reported a disconnection): start again with a fresh one, so that the
    /// broker on the other end — perhaps a restarted one — hears `HELLO` and gets what was in flight.
    mutating func connectionLost(now: Int64) -> [Action] {
        switch phase {
        case .greeting, .ready: return reconnect(now: now)
        case .waiting, .refused: return []
        }
    }

    /// The connection could not be made (nothing listens there: a broker standing by, or down). With other brokers to
    /// try, the agent moves on to the next at once instead of waiting for a greeting that cannot come.
    mutating func connectionRefused(now: Int64) -> [Action] {
        guard settings.endpointCount > 1 else { return [] }
        switch phase {
        case .greeting:
            return reconnect(now: now)
        case .ready where !heardSinceConnect:
            // A session that does not announce itself (`conduit publish`) is ready at once: a refusal before the
            // broker answered anything means nothing listens there.
            return reconnect(now: now)
        default:
            return []
        }
    }

    /// Handles the passing of time: connect when the backoff ends, heartbeat when idle for an interval, reconnect
    /// when the broker was silent for three, or an event went unanswered for three.
    mutating func tick(now: Int64) -> [Action] {
        switch phase {
        case .refused:
            return []
        case .waiting(let retryAt):
            guard now >= retryAt else { return [] }
            lastSent = now
            lastHeard = now
            heardSinceConnect = false
            guard settings.announce else {
                phase = .ready
                return [.connect] + fill(now: now)
            }
            phase = .greeting(since: now)
            let hello = IngestRequest.hello(
                source: settings.source, heartbeatIntervalMs: UInt32(clamping: settings.heartbeatIntervalMicroseconds / 1000),
                features: settings.batch ? [IngestFeature.batch] : [])
            return [.connect, .send(hello.encode())]
        case .greeting(let since):
            guard now - since >= 3 * heartbeatInterval else { return [] }
            return reconnect(now: now)
        case .ready:
            if now - lastHeard >= 3 * heartbeatInterval { return reconnect(now: now) }
            if let oldest = oldestSentAt, now - oldest >= 3 * heartbeatInterval { return reconnect(now: now) }
            if now - lastSent >= heartbeatInterval {
                lastSent = now
                return [.send(IngestRequest.heartbeat.encode())]
            }
            return []
        }
    }

    /// When ``tick(now:)`` next has something to do.
    var nextDeadline: Int64 {
        switch phase {
        case .refused: return .max
        case .waiting(let retryAt): return retryAt
        case .greeting(let since): return since + 3 * heartbeatInterval
        case .ready:
            let unanswered = oldestSentAt.map { $0 + 3 * heartbeatInterval } ?? .max
            return min(lastSent + heartbeatInterval, lastHeard + 3 * heartbeatInterval, unanswered)
        }
    }

    /// When the oldest unanswered event was sent.
    private var oldestSentAt: Int64? { inFlight.values.lazy.map(\.sentAt).min() }

    /// Says goodbye, if connected.
    mutating func goodbye() -> [Action] {
        guard case .ready = phase, settings.announce else { return [] }
        return [.send(IngestRequest.goodbye.encode())]
    }

    /// Gives up on the connection: what was in flight goes back to the front of the queue, in entry order, to be
    /// resent with the same `source` and `id` (the broker deduplicates); the next attempt waits a backoff delay.
    private mutating func reconnect(now: Int64) -> [Action] {
        let unanswered = inFlight.values.map(\.entry).sorted { $0.number < $1.number }
        inFlight.removeAll()
        queueStorage = unanswered + queueStorage[queueHead...]
        queueHead = 0
        welcome = nil
        reconnects += 1
        attempts += 1
        endpointIndex = (endpointIndex + 1) % max(1, settings.endpointCount)
        phase = .waiting(retryAt: now + backoff())
        return [.disconnect]
    }

    /// The delay before the next attempt: exponential in the failed rounds of attempts (a round tries every broker
    /// once), capped, with "equal jitter" (half fixed, half random) so that agents cut off together do not come back
    /// together.
    private mutating func backoff() -> Int64 {
        let exponent = min((attempts - 1) / max(1, settings.endpointCount), 30)
        let ceiling = min(settings.reconnectMaximumMicroseconds, settings.reconnectInitialMicroseconds << Int64(max(0, exponent)))
        let half = max(1, ceiling / 2)
        return half + Int64(random.next() % UInt64(half))
    }

    /// Whether the broker granted `BATCH` on this connection.
    var batching: Bool { welcome?.features.contains(IngestFeature.batch) ?? false }

    private mutating func fill(now: Int64) -> [Action] {
        guard case .ready = phase else { return [] }
        var actions: [Action] = []
        var batch: [BatchEntry] = []
        var batchBytes = 0
        while inFlight.count < window, queueHead < queueStorage.count {
            let entry = queueStorage[queueHead]
            queueHead += 1
            let correlation = nextCorrelation
            nextCorrelation += 1
            inFlight[correlation] = (entry, now)
            guard batching else {
                actions.append(.send(IngestRequest.publish(correlation: correlation, event: entry.event).encode()))
                continue
            }
            if !batch.isEmpty && (batchBytes + entry.event.count > Self.batchBytes || batch.count == BatchEntry.maximumEntries) {
                actions.append(.send(IngestRequest.batch(batch).encode()))
                batch.removeAll(keepingCapacity: true)
                batchBytes = 0
            }
            batch.append(BatchEntry(correlation: correlation, event: entry.event))
            batchBytes += entry.event.count
        }
        if !batch.isEmpty { actions.append(.send(IngestRequest.batch(batch).encode())) }
        if !actions.isEmpty { lastSent = now }
        if queueHead > 1024 && queueHead * 2 > queueStorage.count {
            queueStorage.removeFirst(queueHead)
            queueHead = 0
        }
        return actions
    }
}
