import ConduitCore
import ConduitJournal
import Logging
import Synchronization
import ZeroMQ

/// The broker's thread: owns the sockets and the journal, and runs the poll loop.
///
/// One iteration: take up to `maximumBatch` ingest messages and hand them to the ``IngestPipeline``, framing the
/// records it returns into one journal batch; make the batch durable with one `fdatasync`; then carry out what the
/// pipeline says of the commit: the replies in arrival order (acknowledgements carry the sequence) and the new
/// events' publication in sequence order. Then serve replays within their credit, and the timers (fan-out heartbeat,
/// agents' expiry, idle replays).
final class BrokerLoop {
    let configuration: BrokerConfiguration
    let endpoints: BrokerEndpoints
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    /// The time stamped on events and heartbeats (see `Broker.init`); read once per iteration into `stampTime`.
    private let calendar: @Sendable () -> Int64
    private var stampTime: Int64 = 0
    private let control: LoopControl
    private let statistics: Broker.StatisticsBox
    private let brokerFailure: Broker.FailureBox
    /// The principals in force when authentication is on (replaced by a reload, which closes the connections of the
    /// principals it removes).
    private let authorisation: AuthorisationBox?
    /// The principal of each connection that sent something, by descriptor, and the endpoint it is on.
    private var connectionPrincipals: [Int32: (endpoint: HubEndpoint, name: String)] = [:]
    private let planBox: Broker.PlanBox
    private let metrics: BrokerMetrics?
    /// The counters as the metrics last saw them.
    private var exported = BrokerStatistics()
    /// When the current ingest batch's first message was taken (for the acknowledgement latency).
    private var ingestTakenAt: Int64 = 0

    let context: Context
    private let zapHandler: ZAPHandler?
    private let ingest: Socket
    private let fanout: Socket
    /// The last events sent on the fan-out, freed on this thread (see ``HeldFrames``): those of up to 2 KiB (a
    /// progress report is about 400 bytes), so at most 4 MiB.
    private let heldFanoutFrames = HeldFrames(capacity: 2048, maximumBytes: 2048)
    private let query: Socket
    private let poller = Poller()
    /// Query clients whose replies are waiting to be taken.
    private var backlog = QueryBacklog()
    /// The largest frame the ingest endpoint takes: an event of the largest size and room to be told so.
    static let maximumIngestFrameBytes = 96 << 10
    /// The largest frame the query and fan-out endpoints take (requests, subscriptions).
    static let maximumRequestFrameBytes = 4 << 10
    /// The most frames a message may have on each endpoint (no command has more); a message with more is dropped and
    /// its connection closed. Subscriptions are single frames.
    static let maximumIngestFrames = 8
    static let maximumQueryFrames = 32
    /// The most bytes of a message a connection may hold unfinished (see ``ConnectionGuard``): above the largest
    /// message the endpoint takes, so only one that could never be taken reaches it.
    static let maximumUnfinishedIngestBytes = 128 << 10
    static let maximumUnfinishedRequestBytes = 16 << 10
    /// The most unfinished bytes all the connections of an endpoint may hold together without completing a message.
    static let maximumUnfinishedIngestInAll = 1 << 20
    static let maximumUnfinishedRequestsInAll = 256 << 10
    /// Whole messages queued from one peer before libzmq stops reading its connection (TCP holds the rest, the
    /// peer is slowed down, nothing is lost). With the frame limits, this bounds in bytes what a peer can leave
    /// waiting: 16 messages of at most 97 KiB on ingest.
    static let receiveHighWaterMark: Int32 = 16
    /// Replies queued to one agent before libzmq drops further ones (an agent that lost some resends).
    static let ingestSendHighWaterMark: Int32 = 10_000
    /// What the broker queues for one peer that does not read, and for all of them together, before it disconnects
    /// the peers with the most (see ``ConnectionGuard``): replies on ingest, events on the fan-out. Bytes as they
    /// go over the wire; libzmq's queues hold little more, and an event queued for several subscribers is held once.
    static let maximumUnsentIngestBytes = 4 << 20
    static let maximumUnsentIngestInAll = 32 << 20
    static let maximumUnsentFanoutBytes = 8 << 20
    static let maximumUnsentFanoutInAll = 64 << 20
    /// Replies queued to one query client: a few chunks (``ReplaySession/maximumChunkBytes``); the broker holds the
    /// rest of its replies in order (``QueryBacklog``) and its replays wait.
    static let querySendHighWaterMark: Int32 = 4
    /// The connections of each endpoint, kept within their limits.
    private let ingestGuard: GuardedEndpoint
    private let fanoutGuard: GuardedEndpoint
    private let queryGuard: GuardedEndpoint
    /// The subscriptions of each fan-out subscriber.
    private var subscriptions = SubscriptionLedger()

    private let wakeIndex: Int
    private let ingestIndex: Int
    private let fanoutIndex: Int
    private let queryIndex: Int

    private let journal: Journal
    private var counters = BrokerStatistics()

    /// Validation, deduplication, sequencing, replies and presence; the loop carries out its actions.
    private var pipeline: IngestPipeline
    /// The journal batch the pipeline's records are framed into at each commit.
    private let batch = JournalBatch()
    /// The batch's records for the journal of record, when there is one.
    private var recordBatch: [JournalRecord] = []

    private var replays = ReplaySessions()
    private var lastPublishTime: Int64
    /// Wire bytes published to these subscribers and not yet counted towards them (``countPublished(to:wireBytes:)``).
    private var uncounted: (subscribers: [Int32], wireBytes: Int) = ([], 0)

    init(
        configuration: BrokerConfiguration, logger: Logger, clock: @escaping @Sendable () -> Int64,
        calendar: @escaping @Sendable () -> Int64, control: LoopControl, statistics: Broker.StatisticsBox,
        failure: Broker.FailureBox, authorisation: AuthorisationBox?, plan: Broker.PlanBox
    ) throws(BrokerError) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.calendar = calendar
        self.control = control
        self.statistics = statistics
        self.brokerFailure = failure
        self.authorisation = authorisation
        self.planBox = plan
        self.metrics = configuration.metrics
        switch configuration.journal.durability {
        case .perBatch, .unsafeNoSyncForTestsOnly: break
        case .interval:
            // An acknowledgement means "synced to disk": a broker cannot acknowledge on a timer's promise.
            throw BrokerError(
                .invalidConfiguration, "the broker needs per-batch durability (or the unsafe no-sync mode for tests)")
        }
        let opened: (Journal, RecoveryReport)
        do {
            opened = try Journal.open(directory: configuration.journalDirectory, options: configuration.journal)
        } catch {
            throw BrokerError(
                .journalUnusable, "cannot open the journal in \(configuration.journalDirectory)", underlying: error)
        }
        journal = opened.0
        if !opened.1.isClean {
            logger.warning("journal.recovered", metadata: ["journal.report": "\(opened.1)"])
        }

        do {
            context = try Context()
            // The ZAP handler is bound before any server socket: with none, libzmq would admit every CURVE client.
            if let authorisation {
                zapHandler = try ZAPHandler(context: context) { [logger] request in
                    let decision = authorisation.decide(request)
                    if case .deny(let reason) = decision {
                        logger.warning(
                            "auth.refused",
                            metadata: ["endpoint": "\(request.domain)", "peer.address": "\(request.address)", "reason": "\(reason)"])
                    }
                    return decision
                }
            } else {
                zapHandler = nil
            }
            ingest = try Socket(context, type: .router)
            fanout = try Socket(context, type: .xpub)
            query = try Socket(context, type: .router)
            // libzmq queues messages, not bytes: what a peer sends waits in queues of a few messages of a bounded
            // size (16 from each peer); what the broker sends is counted in bytes by the guards (replies on ingest,
            // events on the fan-out) or waits in the broker (4 replies of about 64 KiB per query client).
            try ingest.set(.receiveHighWaterMark, Self.receiveHighWaterMark)
            try ingest.set(.sendHighWaterMark, Self.ingestSendHighWaterMark)
            try query.set(.receiveHighWaterMark, Self.receiveHighWaterMark)
            // Replies to one query client queue at most 4 messages: a client that stops reading costs bounded
            // memory, and its replay waits (credit is never lost).
            try query.set(.sendHighWaterMark, Self.querySendHighWaterMark)
            try fanout.set(.receiveHighWaterMark, Self.receiveHighWaterMark)
            try fanout.set(.sendHighWaterMark, configuration.fanoutHighWaterMark)
            // The largest frame each endpoint takes (libzmq drops the connection of a peer that sends a larger one,
            // handshake included): an event and some room on ingest (the codec answers `event.oversize` above
            // 64 KiB), a few KiB where only requests and subscriptions come. libzmq counts this per frame, not per
            // message: the guards below bound what a connection may hold of a message it has not finished.
            try ingest.set(.maximumMessageSize, Int64(BrokerLoop.maximumIngestFrameBytes))
            try query.set(.maximumMessageSize, Int64(BrokerLoop.maximumRequestFrameBytes))
            try fanout.set(.maximumMessageSize, Int64(BrokerLoop.maximumRequestFrameBytes))
            try query.set(.routerMandatory, true)
            // Every (un)subscription is passed on, so that each subscriber's are counted (SubscriptionLedger).
            try fanout.set(.xpubVerboser, true)
            if let bytes = configuration.fanoutSendBuffer { try fanout.set(.sendBuffer, bytes) }
            for socket in [ingest, fanout, query] {
                // A handshake that does not finish in time (a peer that sends half a greeting, or holds its CURVE
                // handshake) ends the connection; TCP keepalive ends those of peers that vanished.
                try socket.set(.handshakeInterval, configuration.handshakeTimeout)
                try socket.set(.tcpKeepAlive, 1)
                try socket.set(.tcpKeepAliveIdle, 60)
                try socket.set(.tcpKeepAliveInterval, 15)
                try socket.set(.tcpKeepAliveCount, 4)
            }
            if let authentication = configuration.authentication {
                // Each endpoint is a ZAP domain of its own: a principal's role decides which it may use.
                for (socket, endpoint) in [(ingest, HubEndpoint.ingest), (fanout, .fanout), (query, .query)] {
                    try socket.makeCurveServer(authentication.serverKeys)
                    try socket.set(.zapDomain, endpoint.rawValue)
                }
            }
            // The guards watch each socket's connections from before it is bound.
            let descriptorLimit = DescriptorLimit.raiseToMaximum()
            let limits = configuration.connectionLimits(descriptorLimit: descriptorLimit)
            if limits.ingest != configuration.ingestConnections || limits.fanout != configuration.fanoutConnections
                || limits.query != configuration.queryConnections
            {
                logger.warning(
                    "broker.connection_limits_lowered",
                    metadata: [
                        "descriptors.limit": "\(descriptorLimit)", "connections.ingest": "\(limits.ingest.total)",
                        "connections.fanout": "\(limits.fanout.total)", "connections.query": "\(limits.query.total)",
                    ])
            }
            let framing: GuardedEndpoint.Framing = configuration.authentication == nil ? .plain : .curve
            let stall = configuration.stalledConnectionTimeout.microseconds
            ingestGuard = try GuardedEndpoint(
                ingest,
                limits: ConnectionGuard.Limits(
                    maximumConnections: limits.ingest.total, maximumPerAddress: limits.ingest.perAddress,
                    maximumUnfinishedBytes: Self.maximumUnfinishedIngestBytes,
                    maximumWaitingBytes: Int(Self.receiveHighWaterMark) * (Self.maximumIngestFrameBytes + 1024)
                        + Self.maximumUnfinishedIngestBytes,
                    maximumUnfinishedInAll: Self.maximumUnfinishedIngestInAll, stallTimeout: stall,
                    maximumUnsentBytes: Self.maximumUnsentIngestBytes, maximumUnsentInAll: Self.maximumUnsentIngestInAll),
                framing: framing)
            queryGuard = try GuardedEndpoint(
                query,
                limits: ConnectionGuard.Limits(
                    maximumConnections: limits.query.total, maximumPerAddress: limits.query.perAddress,
                    maximumUnfinishedBytes: Self.maximumUnfinishedRequestBytes,
                    maximumWaitingBytes: Int(Self.receiveHighWaterMark) * 8192 + Self.maximumUnfinishedRequestBytes,
                    maximumUnfinishedInAll: Self.maximumUnfinishedRequestsInAll, stallTimeout: stall),
                framing: framing)
            fanoutGuard = try GuardedEndpoint(
                fanout,
                limits: ConnectionGuard.Limits(
                    maximumConnections: limits.fanout.total, maximumPerAddress: limits.fanout.perAddress,
                    maximumUnfinishedBytes: Self.maximumUnfinishedRequestBytes,
                    maximumWaitingBytes: Int(Self.receiveHighWaterMark) * 8192 + Self.maximumUnfinishedRequestBytes,
                    maximumUnfinishedInAll: Self.maximumUnfinishedRequestsInAll, stallTimeout: stall,
                    maximumUnsentBytes: Self.maximumUnsentFanoutBytes, maximumUnsentInAll: Self.maximumUnsentFanoutInAll),
                framing: framing)
        } catch {
            try? journal.close()
            throw BrokerError(.endpointUnavailable, "cannot create the broker's sockets", underlying: error)
        }
        var bound: [String] = []
        for (socket, endpoint, name) in [
            (ingest, configuration.ingestEndpoint, "ingest"), (fanout, configuration.fanoutEndpoint, "fan-out"),
            (query, configuration.queryEndpoint, "query"),
        ] {
            do {
                try socket.bind(endpoint)
                bound.append(try socket.lastEndpoint)
            } catch {
                for socket in [ingest, fanout, query] { socket.close(linger: .zero) }
                zapHandler?.stop()
                try? journal.close()
                let reason = error.code == .addressInUse ? "is already in use" : "cannot be bound"
                throw BrokerError(.endpointUnavailable, "the \(name) endpoint \(endpoint) \(reason)", underlying: error)
            }
        }
        endpoints = BrokerEndpoints(ingest: bound[0], fanout: bound[1], query: bound[2])
        wakeIndex = poller.add(fileDescriptor: control.wakeUp.descriptor)
        ingestIndex = poller.add(ingest)
        fanoutIndex = poller.add(fanout)
        queryIndex = poller.add(query)
        for endpoint in [ingestGuard, fanoutGuard, queryGuard] { endpoint.addTo(poller) }

        var lastRecordedTime: Int64 = 0
        if journal.lastSequence > 0, let last = try? journal.reader(from: journal.lastSequence).next() {
            lastRecordedTime = last.recordedTime
        }
        let stated = Self.latestPlan(in: journal, logger: logger)
        var settings = IngestPipeline.Settings(configuration)
        // A plan given to the broker replaces the journal's; without one, the journal's stays in force.
        settings.scenario = configuration.scenario ?? stated?.plan ?? .default
        // The plan in force is the first record of a new journal, and is stated again whenever it changes, so that a
        // journal always says which plan its events were taken under. (A journal written before plans were recorded
        // states none, and is read under the built-in seed plan; its plan is stated when the broker opens it.)
        pipeline = IngestPipeline(
            settings: settings, nextSequence: journal.nextSequence, headSequence: journal.durableSequence,
            lastRecordedTime: lastRecordedTime, planSequence: stated?.sequence ?? 0)
        lastPublishTime = clock()
        rebuildDedupeWindow()
        // A mirror's journal is its stream's: it states what the stream states, nothing of its own.
        if stated?.plan != settings.scenario && configuration.recordFeed == nil {
            do {
                let now = clock()
                stampTime = calendar()
                try pipeline.statePlan(now: now, calendar: stampTime)
                try commitBatch()
            } catch {
                for socket in [ingest, fanout, query] { socket.close(linger: .zero) }
                zapHandler?.stop()
                try? journal.close()
                throw BrokerError(.invalidConfiguration, "cannot record the plan \(settings.scenario.id) in the journal", underlying: error)
            }
        }
        counters.firstSequence = journal.firstSequence
        counters.lastSequence = journal.lastSequence
        // A subscriber's subscriptions go with its connection, as soon as the fan-out's guard learns it ended.
        fanoutGuard.onEnd = { [unowned self] descriptor in
            subscriptions.forget(descriptor)
            connectionPrincipals[descriptor] = nil
        }
        ingestGuard.onEnd = { [unowned self] descriptor in connectionPrincipals[descriptor] = nil }
        queryGuard.onEnd = { [unowned self] descriptor in connectionPrincipals[descriptor] = nil }
        planBox.value.withLock { $0 = settings.scenario }
        publishStatistics()
        logger.info(
            "broker.started",
            metadata: [
                "endpoint.ingest": "\(endpoints.ingest)", "endpoint.fanout": "\(endpoints.fanout)",
                "endpoint.query": "\(endpoints.query)", "journal.directory": "\(configuration.journalDirectory)",
                "journal.last_sequence": "\(journal.lastSequence)", "dedupe.keys": "\(pipeline.dedupeKeyCount)",
            ])
    }

    /// The latest `conduit.plan` event of the journal and its sequence, found by the records' topics.
    static func latestPlan(in journal: Journal, logger: Logger) -> (plan: Scenario, sequence: UInt64)? {
        guard journal.lastSequence > 0 else { return nil }
        let topic = Topic.prefix(kind: .plan)
        var latest: (bytes: [UInt8], sequence: UInt64)?
        do {
            let reader = try journal.reader(from: journal.firstSequence)
            defer { reader.close() }
            while let record = try reader.next() {
                if record.topic.starts(with: topic) { latest = (record.event, record.sequence) }
            }
        } catch {
            logger.warning("broker.plan_scan_failed", metadata: ["error": "\(error)"])
        }
        guard let latest, let event = try? EventCodec.decode(latest.bytes), case .plan(let plan) = event.data else { return nil }
        return (plan, latest.sequence)
    }

    /// Refills the dedupe window from the journal's tail, so that resends after a restart are recognised.
    private func rebuildDedupeWindow() {
        let last = journal.lastSequence
        guard last > 0 else { return }
        let capacity = UInt64(pipeline.dedupeCapacity)
        let first = max(journal.firstSequence, last >= capacity ? last - capacity + 1 : 1)
        do {
            let reader = try journal.reader(from: first)
            defer { reader.close() }
            while let record = try reader.next() { pipeline.rememberStored(record.event, sequence: record.sequence) }
        } catch {
            logger.warning("dedupe.rebuild_failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: The loop

    func run() {
        while !control.isStopRequested {
            do {
                try poller.poll(timeout: nextTimeout())
                if poller.isReadable(wakeIndex) { control.wakeUp.drain() }
                let now = clock()
                stampTime = calendar()
                // Connections first: a message is counted against the connection it came from.
                try takeConnectionEvents()
                closeRevokedConnections()
                if poller.isReadable(ingestIndex) { try takeIngest(now: now) }
                if let feed = configuration.recordFeed { try takeFeed(feed) }
                if !backlog.isEmpty { flushBacklog(now: now) }
                if poller.isReadable(queryIndex) { try takeQueries(now: now) }
                if poller.isReadable(fanoutIndex) { try drainSubscriptions() }
                try serveReplays(now: now)
                try runTimers(now: clock())
                inspectConnections(now: clock())
                publishStatistics()
            } catch let error as ZMQError where error.isContextTerminated {
                break
            } catch {
                logger.error("broker.loop_error", metadata: ["error": "\(error)"])
            }
        }
        shutDown()
    }

    /// When the pipeline next has a silent agent to declare dead. Read through `inout`: a computed property of the
    /// pipeline read from this class copies the whole pipeline, retaining and releasing every table it holds, at every
    /// turn of the loop.
    private static func nextExpiry(_ pipeline: inout IngestPipeline) -> Int64? { pipeline.nextExpiry }

    private func nextTimeout() -> Duration {
        if replays.hasWork { return .zero }
        let now = clock()
        var next = lastPublishTime + configuration.fanoutHeartbeatInterval.microseconds
        if let expiry = Self.nextExpiry(&pipeline) { next = min(next, expiry) }
        for endpoint in [ingestGuard, fanoutGuard, queryGuard] {
            if let inspection = endpoint.nextDeadline { next = min(next, inspection) }
        }
        // Retry full client queues soon, without spinning.
        if replays.hasBlocked || !backlog.isEmpty { next = min(next, now + 5_000) }
        // A mirror looks at its feed every 20 ms.
        if configuration.recordFeed != nil { next = min(next, now + 20_000) }
        let wait = max(0, next - now)  // a stop request wakes the poll through the control's wake-up
        return .microseconds(wait)
    }

    private func shutDown() {
        logger.info("broker.stopping", metadata: ["journal.last_sequence": "\(journal.lastSequence)"])
        for session in replays.removeAll() {
            // Replay clients learn that their stream ended; they can resume from the last sequence they got.
            sendQuery(
                session.routingId,
                .error(request: session.request.request, ConduitError(.serviceUnavailable, path: "message", "the broker is stopping")))
            sendQuery(session.routingId, .end(session.end(.error, head: journal.durableSequence)))
        }
        for endpoint in [ingestGuard, fanoutGuard, queryGuard] { endpoint.close() }
        for socket in [ingest, fanout, query] { socket.close(linger: configuration.shutdownLinger) }
        zapHandler?.stop()
        do { try journal.close() } catch { logger.error("journal.close_failed", metadata: ["error": "\(error)"]) }
        context.terminate()
        logger.info("broker.stopped")
    }

    private func publishStatistics() {
        let ingestCounters = pipeline.counters
        counters.eventsAccepted = ingestCounters.eventsAccepted
        counters.eventsDuplicate = ingestCounters.eventsDuplicate
        counters.eventsRejected = ingestCounters.eventsRejected
        counters.presenceEvents = ingestCounters.presenceEvents
        counters.agentsOnline = pipeline.agentsOnline
        counters.replaysActive = replays.count
        counters.firstSequence = journal.firstSequence
        counters.lastSequence = journal.lastSequence
        counters.handshakesRefused = authorisation?.refusals.load(ordering: .relaxed) ?? 0
        counters.eventsForbidden = ingestCounters.eventsForbidden
        counters.journalUsable = journal.isUsable
        let snapshot = counters
        if let metrics {
            let storage = journal.storage
            metrics.update(from: exported, to: snapshot, journalBytes: storage.bytes, journalSegments: storage.segments)
            metrics.connections[.ingest]?.set(Double(ingestGuard.connectionCount))
            metrics.connections[.fanout]?.set(Double(fanoutGuard.connectionCount))
            metrics.connections[.query]?.set(Double(queryGuard.connectionCount))
            exported = snapshot
        }
        statistics.value.withLock { $0 = snapshot }
    }

    // MARK: Ingest

    private func takeIngest(now: Int64) throws {
        var taken = 0
        while taken < configuration.maximumBatch,
            let received = try ingestGuard.receiveMessage(maximumFrames: Self.maximumIngestFrames)
        {
            if taken == 0 { ingestTakenAt = now }
            taken += 1
            guard case .message(let message, let descriptor) = received else {
                if case .tooManyFrames(_, let event?) = received { note(event, endpoint: "ingest") }
                continue
            }
            // A ROUTER prepends the routing id; the rest of the message is already here (ZeroMQ delivers whole messages).
            let principal: Principal?
            switch admission(message.userId, descriptor: descriptor, on: .ingest) {
            case .revoked: continue
            case .anonymous: principal = nil
            case .principal(let admitted): principal = admitted
            }
            let routingId = message.frames[0]
            let frames = Array(message.frames.dropFirst())
            pipeline.receive(routingId: routingId, frames: frames, principal: principal, now: now, calendar: stampTime)
        }
        try commitBatch()
    }

    /// A mirror's records: appended and published as one batch per turn.
    private func takeFeed(_ feed: any RecordFeed) throws {
        if let failure = feed.failure {
            fatal(BrokerError(.journalOfRecordFailed, "the mirror's stream can no longer be followed: \(failure)"))
            return
        }
        let records = feed.take(maximum: configuration.maximumBatch * 16)
        guard !records.isEmpty else { return }
        for record in records {
            do throws(ConduitError) {
                try pipeline.adopt(record)
            } catch {
                fatal(BrokerError(.journalOfRecordFailed, "the mirror's stream does not follow its journal: \(error)"))
                return
            }
        }
        try commitBatch()
    }

    /// Makes the batch durable, then carries out what the pipeline says of it: the replies in arrival order and the
    /// publications in sequence order or, if the journal refused the batch, the replies with its events rejected as
    /// `service.unavailable` (nothing of them was stored).
    private func commitBatch() throws {
        var failure = frameRecords()
        var recordFailure: (any Error)?
        if failure == nil && !batch.isEmpty, let journalOfRecord = configuration.journalOfRecord {
            // The record first: the local journal never holds what the record does not.
            do {
                try journalOfRecord.store(recordBatch)
            } catch {
                recordFailure = error
                failure = JournalError(.ioFailed, "the journal of record did not store the batch: \(error)")
                logger.error("journal.record_failed", metadata: ["error": "\(error)"])
            }
        }
        recordBatch.removeAll(keepingCapacity: true)
        if failure == nil && !batch.isEmpty {
            let started = ContinuousClock.now
            do {
                try journal.commit(batch)
                counters.batches += 1
                counters.journalWritable = true
            } catch {
                failure = error
                counters.journalWritable = false
                logger.error("journal.commit_failed", metadata: ["error": "\(error)"])
            }
            metrics?.fdatasync.record(ContinuousClock.now - started)
        }
        if let failure {
            batch.removeAll()
            try carryOut(pipeline.commitFailed(failure))
        } else {
            let planBefore = pipeline.committedPlan.sequence
            try carryOut(pipeline.commitSucceeded())
            if pipeline.committedPlan.sequence != planBefore, let plan = try? pipeline.committedPlan.plan() {
                planBox.value.withLock { $0 = plan }
            }
            if pipeline.committedPlan.sequence < journal.firstSequence && configuration.recordFeed == nil {
                // Retention removed the segment that stated the plan in force: the journal states it again, so that it
                // always says which plan its events were taken under.
                logger.info(
                    "broker.plan_restated",
                    metadata: ["plan.sequence": "\(pipeline.committedPlan.sequence)", "journal.first_sequence": "\(journal.firstSequence)"])
                try pipeline.statePlan(now: clock(), calendar: stampTime)
                try commitBatch()
            }
        }
        if let recordFailure {
            // Part of the batch may be stored, or another broker may write the record now: this one stops, and is
            // brought up to date from the record before it takes events again.
            fatal(
                BrokerError(
                    .journalOfRecordFailed, "the journal of record did not store a batch",
                    underlying: ErrorDescription(recordFailure)))
        } else if let failure, !journal.isUsable {
            // A failed fdatasync: what was written since the last good sync cannot be trusted until the journal is
            // reopened and recovered. Stop, rather than acknowledge anything more.
            fatal(BrokerError(.journalUnusable, "the journal in \(configuration.journalDirectory) failed", underlying: failure))
        }
    }

    /// Carries out the pipeline's actions: replies go to the ingest socket, publications to the fan-out.
    private func carryOut(_ actions: [IngestPipeline.Action]) throws {
        defer { countUncounted() }
        var published = false
        var latency: Duration?
        for action in actions {
            switch action {
            case .reply(let routingId, let reply):
                if case .reject(let rejection) = reply {
                    logger.debug(
                        "ingest.rejected",
                        metadata: ["error.code": "\(rejection.error.code)", "error.path": "\(rejection.error.path)"])
                    metrics?.rejected[rejection.error.code]?.increment()
                }
                if let metrics {
                    // One reading of the clock for all the replies of this turn: they leave together.
                    if latency == nil { latency = .microseconds(max(0, clock() - ingestTakenAt)) }
                    switch reply {
                    case .ack: metrics.acknowledgement.record(latency!)
                    case .acks(let acks): for _ in acks { metrics.acknowledgement.record(latency!) }
                    default: break
                    }
                }
                // A ROUTER never blocks: a reply to a peer that is gone or full is dropped, and the agent resends.
                guard try ingest.send(routingId, more: true, wait: false) else { continue }
                var wireBytes = 0
                let framing = ingestGuard.framing
                try reply.forEachFrame { (bytes, more) throws(ZMQError) in
                    wireBytes += framing.wireBytes(frame: bytes.count)
                    try ingest.send(bytes, more: more)
                }
                ingestGuard.sent(to: routingId, wireBytes: wireBytes)
            case .publish(let records):
                published = true
                // The subscribers of each of the batch's topics, looked up once (subscriptions change only between
                // turns).
                var subscribersOfTopic = [[Int32]?](repeating: nil, count: records.topics.count)
                try records.forEach { (record, topic, event) throws(ZMQError) in
                    try publish(record, topic: topic, event) {
                        if let known = subscribersOfTopic[record.topic] { return known }
                        let found = subscriptions.subscribers(of: records.topics[record.topic])
                        subscribersOfTopic[record.topic] = found
                        return found
                    }
                }
            case .agentSilent(let source):
                logger.info("agent.silent", metadata: ["agent.source": "\(source)"])
                metrics?.agentsSilent.increment()
            }
        }
        if published { lastPublishTime = clock() }
    }

    /// Publishes a stored event on the fan-out: `topic` is its topic's bytes, `subscribers` gives the subscribers a
    /// message with it goes to (asked only once the message is sent).
    private func publish(
        _ record: BatchRecords.Entry, topic: UnsafeRawBufferPointer, _ event: UnsafeRawBufferPointer, subscribers: () -> [Int32]
    ) throws(ZMQError) {
        // XPUB drops per subscriber at its high-water mark; the frames go one by one, no array built.
        guard try fanout.send(topic, more: true, wait: false) else { return }
        try fanout.send(ProtocolSignature.frame, more: true)
        let header = (record.sequence.bigEndian, UInt64(bitPattern: record.recordedTime).bigEndian)
        try Self.send(header, on: fanout)
        try fanout.send(event, holdingIn: heldFanoutFrames)
        counters.eventsPublished += 1
        countPublished(to: subscribers()) { framing in
            framing.wireBytes(frame: topic.count) + framing.wireBytes(frame: ProtocolSignature.frame.count)
                + framing.wireBytes(frame: 16) + framing.wireBytes(frame: event.count)
        }
        if let metrics, let kind = Self.kind(ofTopic: topic) { metrics.stored[kind]?.increment() }
    }

    /// Sends a record header (sequence, recorded time; big-endian) as one frame of a message that continues.
    private static func send(_ header: (UInt64, UInt64), on socket: Socket) throws(ZMQError) {
        var header = header
        let sent = withUnsafeBytes(of: &header) { bytes in Result { () throws(ZMQError) in try socket.send(bytes, more: true) } }
        _ = try sent.get()
    }

    /// The kind a topic begins with (`progress/power/ganjiaba/` → progress).
    static func kind(ofTopic topic: UnsafeRawBufferPointer) -> EventKind? {
        guard let slash = topic.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        return EventKind.wireNames.match(UnsafeRawBufferPointer(rebasing: topic[..<slash]).assumingMemoryBound(to: UInt8.self))
    }

    /// Frames the pipeline's records into the journal batch (and the batch for the journal of record); returns why
    /// they could not be, if they could not.
    private func frameRecords() -> JournalError? {
        let journalOfRecord = configuration.journalOfRecord != nil
        do throws(JournalError) {
            try pipeline.records.forEach { (record, topic, event) throws(JournalError) in
                try batch.append(sequence: record.sequence, recordedTime: record.recordedTime, topic: topic, event: event)
                if journalOfRecord {
                    recordBatch.append(
                        JournalRecord(
                            sequence: record.sequence, recordedTime: record.recordedTime, topic: pipeline.records.topics[record.topic],
                            event: Array(event)))
                }
            }
            return nil
        } catch {
            // The pipeline's records follow each other and fit the journal's limits, so this does not happen; if it
            // did, nothing of the batch would be stored and its events would be rejected as `service.unavailable`.
            logger.error("journal.frame_failed", metadata: ["error": "\(error)"])
            return error
        }
    }

    /// Ends the loop after an unrecoverable failure; ``Broker/failure`` reports it.
    private func fatal(_ error: BrokerError) {
        logger.critical("broker.fatal", metadata: ["error": "\(error)"])
        brokerFailure.value.withLock { $0 = error }
        control.requestStop()
    }

    // MARK: Fan-out

    private func drainSubscriptions() throws {
        // XPUB passes every (un)subscription up as a message: each subscriber's are counted, and one that goes
        // beyond the limits (or sends anything else) is cut, which drops all of its subscriptions.
        var drained = 0
        while drained < 1024, let received = try fanoutGuard.receiveMessage(maximumFrames: 1) {
            drained += 1
            switch received {
            case .message(let message, let descriptor?) where fanoutGuard.isAdmitted(descriptor):
                if case .revoked = admission(message.userId, descriptor: descriptor, on: .fanout) { continue }
                if let violation = subscriptions.apply(message.frames[0], from: descriptor),
                    let event = fanoutGuard.cut(descriptor: descriptor, reason: violation)
                {
                    note(event, endpoint: "fanout")
                }
            case .message:
                // From a connection cut or refused, or what libzmq generates itself: the unsubscriptions of a
                // subscriber that left.
                continue
            case .tooManyFrames(_, let event):
                if let event { note(event, endpoint: "fanout") }
            }
        }
    }

    /// Counts a message sent on the fan-out against each subscriber it goes to (libzmq's XPUB sends a message to those
    /// with a subscription that is a prefix of its topic), so that one that does not read is found; `wireBytes` gives
    /// its size on the wire (asked only when someone subscribes). Consecutive messages to the same subscribers are
    /// counted in one go by ``countUncounted()``, which every turn that publishes calls before it ends (the guard
    /// inspects its counts only between turns).
    private func countPublished(topic: [UInt8], wireBytes measure: (GuardedEndpoint.Framing) -> Int) {
        countPublished(to: subscriptions.subscribers(of: topic), wireBytes: measure)
    }

    /// ``countPublished(topic:wireBytes:)`` of a message whose topic's subscribers are known.
    private func countPublished(to subscribers: [Int32], wireBytes measure: (GuardedEndpoint.Framing) -> Int) {
        if subscribers != uncounted.subscribers {
            countUncounted()
            uncounted.subscribers = subscribers
        }
        guard !uncounted.subscribers.isEmpty else { return }
        uncounted.wireBytes += measure(fanoutGuard.framing)
    }

    private func countUncounted() {
        if uncounted.wireBytes > 0 {
            for descriptor in uncounted.subscribers { fanoutGuard.sent(descriptor: descriptor, wireBytes: uncounted.wireBytes) }
        }
        uncounted = ([], 0)
    }

    // MARK: Connections

    /// Who sent a message, with authentication on.
    private enum Admission {
        /// Authentication is off.
        case anonymous
        case principal(Principal)
        /// Its principal is no longer admitted to the endpoint (a reload removed or changed it): the message is
        /// dropped and its connection closed.
        case revoked
    }

    /// The principal a message's user id names; remembers it for the connection, so that a reload that removes the
    /// principal closes it.
    private func admission(_ userId: String?, descriptor: Int32?, on endpoint: HubEndpoint) -> Admission {
        guard let authorisation else { return .anonymous }
        guard let userId, let principal = authorisation.principal(named: userId), principal.mayConnect(to: endpoint) else {
            if let descriptor { revoke(descriptor, on: endpoint, name: userId ?? "?") }
            return .revoked
        }
        if let descriptor { connectionPrincipals[descriptor] = (endpoint, userId) }
        return .principal(principal)
    }

    /// Closes the connections of the principals a reload removed or changed.
    private func closeRevokedConnections() {
        guard let authorisation else { return }
        let revoked = authorisation.takeRevoked()
        guard !revoked.isEmpty else { return }
        for (descriptor, connection) in connectionPrincipals where revoked.contains(connection.name) {
            revoke(descriptor, on: connection.endpoint, name: connection.name)
        }
    }

    private func revoke(_ descriptor: Int32, on endpoint: HubEndpoint, name: String) {
        connectionPrincipals[descriptor] = nil
        let guarded = endpoint == .ingest ? ingestGuard : endpoint == .fanout ? fanoutGuard : queryGuard
        guard let event = guarded.cut(descriptor: descriptor, reason: "the principal \(name) is no longer admitted") else { return }
        counters.connectionsRevoked += 1
        note(event, endpoint: endpoint.rawValue)
    }

    /// Admits or refuses new connections on every endpoint, and forgets those that ended.
    private func takeConnectionEvents() throws {
        for (endpoint, name) in [(ingestGuard, "ingest"), (fanoutGuard, "fanout"), (queryGuard, "query")] {
            for event in try endpoint.takeEvents() { note(event, endpoint: name) }
        }
    }

    /// Cuts the connections that hold too much of what they sent unfinished, or hold it too long.
    private func inspectConnections(now: Int64) {
        for (endpoint, name) in [(ingestGuard, "ingest"), (fanoutGuard, "fanout"), (queryGuard, "query")] {
            for event in endpoint.inspect(now: now) { note(event, endpoint: name) }
        }
    }

    /// Counts and logs what happened to a connection.
    private func note(_ event: GuardedEndpoint.Event, endpoint: String) {
        switch event {
        case .admitted, .closed:
            break
        case .refused(let peer, let reason):
            counters.connectionsRefused += 1
            logger.debug(
                "connection.refused", metadata: ["endpoint": "\(endpoint)", "peer": "\(peer)", "reason": "\(reason)"])
        case .cut(let peer, let reason):
            counters.connectionsCut += 1
            logger.warning("connection.cut", metadata: ["endpoint": "\(endpoint)", "peer": "\(peer)", "reason": "\(reason)"])
        }
        counters.connections = ingestGuard.connectionCount + fanoutGuard.connectionCount + queryGuard.connectionCount
    }

    private func runTimers(now: Int64) throws {
        if now - lastPublishTime >= configuration.fanoutHeartbeatInterval.microseconds {
            let header = RecordHeader(
                sequence: journal.durableSequence,
                recordedTime: Timestamp(microsecondsSinceEpoch: max(pipeline.lastRecordedTime, calendar()))
            ).frame
            let frames = [Topic.heartbeat, ProtocolSignature.frame, header]
            if try fanout.send(frames: frames, wait: false) {
                countPublished(topic: Topic.heartbeat) { framing in frames.reduce(0) { $0 + framing.wireBytes(frame: $1.count) } }
                countUncounted()
            }
            counters.fanoutHeartbeats += 1
            lastPublishTime = now
        }
        if let expiry = Self.nextExpiry(&pipeline), expiry <= now {
            try carryOut(pipeline.expireSilentAgents(now: now, calendar: stampTime))
            try commitBatch()
        }
        for session in replays.expireIdle(now: now, timeout: configuration.replayIdleTimeout.microseconds) {
            sendQuery(session.routingId, .end(session.end(.idle, head: journal.durableSequence)))
        }
    }

    // MARK: Query

    private func takeQueries(now: Int64) throws {
        var taken = 0
        while taken < 256, let received = try queryGuard.receiveMessage(maximumFrames: Self.maximumQueryFrames) {
            taken += 1
            guard case .message(let message, let descriptor) = received else {
                if case .tooManyFrames(_, let event?) = received { note(event, endpoint: "query") }
                continue
            }
            if case .revoked = admission(message.userId, descriptor: descriptor, on: .query) { continue }
            guard message.frames.count >= 2 else { continue }
            let routingId = message.frames[0]
            let frames = Array(message.frames.dropFirst())
            if backlog.isWaiting(routingId) {
                // Behind replies it has not taken: the request waits its turn (or is discarded and counted).
                if !backlog.holdRequest(frames, from: routingId) { counters.queriesDiscarded += 1 }
                continue
            }
            handleQuery(routingId, frames, now: now)
        }
    }

    /// Sends what waits for clients that were not reading, in order, then takes their waiting requests.
    private func flushBacklog(now: Int64) {
        for routingId in Array(backlog.clients.keys) {
            guard var client = backlog.take(routingId) else { continue }
            var gone = false
            draining: while true {
                while let first = client.replies.first {
                    switch send(frames: [routingId] + first) {
                    case .sent: client.replies.removeFirst()
                    case .full: break draining
                    case .gone:
                        gone = true
                        break draining
                    }
                }
                if !client.requests.isEmpty {
                    // Handled with the client still waiting, so that its reply is held in order behind the others.
                    let request = client.takeRequest()
                    backlog.put(client, for: routingId)
                    handleQuery(routingId, request, now: now)
                    client = backlog.take(routingId) ?? QueryBacklog.Client()
                } else if client.discarded > 0 {
                    client.replies.append(QueryReply.error(request: 0, QueryBacklog.discardedError(client.discarded)).encode())
                    client.discarded = 0
                } else {
                    break
                }
            }
            if !gone && (!client.replies.isEmpty || !client.requests.isEmpty || client.discarded > 0) {
                backlog.put(client, for: routingId)
            }
        }
    }

    private func handleQuery(_ routingId: [UInt8], _ frames: WireMessage, now: Int64) {
            let request: QueryRequest
            do {
                request = try QueryRequest.decode(frames)
            } catch {
                let requestId = frames.count >= 3 && frames[2].count == 8 ? frames[2].bigEndianUInt64 : 0
                sendQuery(routingId, .error(request: requestId, error))
                return
            }
            switch request {
            case .replay(let replay):
                if replays.count >= Self.maximumReplays, replays.count(of: routingId) < Self.maximumReplaysPerClient,
                    let idle = replays.removeLongestIdle(now: now, minimumIdle: Self.replayYieldIdle.microseconds)
                {
                    // All places taken: the replay idle the longest (its client neither reads nor grants credit)
                    // gives its place to the new one.
                    sendQuery(idle.routingId, .end(idle.end(.idle, head: journal.durableSequence)))
                }
                if replays.count(of: routingId) >= Self.maximumReplaysPerClient || replays.count >= Self.maximumReplays {
                    sendQuery(
                        routingId,
                        .error(
                            request: replay.request,
                            ConduitError(
                                .serviceUnavailable, path: "message",
                                "too many replays in progress (at most \(Self.maximumReplaysPerClient) per client, \(Self.maximumReplays) in all); retry when one ends")))
                    return
                }
                startReplay(routingId: routingId, replay, now: now)
            case .credit(let requestId, let amount):
                // Credit for a replay that has just ended crosses its END on the wire: it is ignored, not an error.
                _ = replays.addCredit(routingId: routingId, request: requestId, amount: amount, now: now)
            case .cancel(let requestId):
                if let session = replays.remove(routingId: routingId, request: requestId) {
                    sendQuery(routingId, .end(session.end(.cancelled, head: journal.durableSequence)))
                }
            case .head(let requestId):
                sendQuery(
                    routingId,
                    .head(
                        JournalHead(
                            request: requestId, firstSequence: journal.firstSequence,
                            headSequence: journal.durableSequence,
                            headRecordedTime: Timestamp(microsecondsSinceEpoch: pipeline.lastRecordedTime))))
            case .plan(let requestId):
                sendQuery(routingId, .plan(request: requestId, pipeline.committedPlan))
            case .stats(let requestId):
                publishStatistics()
                sendQuery(routingId, .stats(request: requestId, json: counters.json))
            }
    }

    /// Replays in progress at once, per query client and in all: each holds a journal reader (a file descriptor).
    static let maximumReplaysPerClient = 16
    static let maximumReplays = 256
    /// When every place is taken, a replay that made no progress for this long gives its place to a new one.
    static let replayYieldIdle: Duration = .seconds(5)

    /// Sends a reply, or holds it (in order) while the client is not taking its replies. A reply to a client that
    /// is gone (EHOSTUNREACH) has nobody to go to.
    private func sendQuery(_ routingId: [UInt8], _ reply: QueryReply) {
        let frames = reply.encode()
        if backlog.isWaiting(routingId) {
            backlog.holdReply(frames, for: routingId)
            return
        }
        if send(frames: [routingId] + frames) == .full { backlog.holdReply(frames, for: routingId) }
    }

    private func startReplay(routingId: [UInt8], _ request: ReplayRequest, now: Int64) {
        counters.replaysStarted += 1
        let head = journal.durableSequence
        let first = journal.firstSequence
        let reader: JournalReader
        do {
            switch request.window {
            case .sequence(let from, let to):
                if head == 0 || to < first {
                    let reason: EndReason = head == 0 ? .beyondHead : .beforeStart
                    sendQuery(routingId, .end(EndOfStream(request: request.request, reason: reason, lastSequence: 0, headSequence: head)))
                    return
                }
                if from > head {
                    sendQuery(routingId, .end(EndOfStream(request: request.request, reason: .beyondHead, lastSequence: 0, headSequence: head)))
                    return
                }
                reader = try journal.reader(from: max(from, first), bufferBytes: ReplaySession.readerBufferBytes)
            case .time(let from, let to):
                if head == 0 {
                    sendQuery(routingId, .end(EndOfStream(request: request.request, reason: .beyondHead, lastSequence: 0, headSequence: head)))
                    return
                }
                if let firstRecord = try journal.reader(from: first, bufferBytes: ReplaySession.readerBufferBytes).next(),
                    to.microsecondsSinceEpoch <= firstRecord.recordedTime
                {
                    sendQuery(routingId, .end(EndOfStream(request: request.request, reason: .beforeStart, lastSequence: 0, headSequence: head)))
                    return
                }
                reader = try journal.reader(fromTime: from.microsecondsSinceEpoch, bufferBytes: ReplaySession.readerBufferBytes)
            }
        } catch {
            sendQuery(routingId, .error(request: request.request, ConduitError(.serviceInternal, path: "message", "the journal could not be read: \(error)")))
            sendQuery(routingId, .end(EndOfStream(request: request.request, reason: .error, lastSequence: 0, headSequence: head)))
            return
        }
        if let previous = replays.insert(ReplaySession(routingId: routingId, request: request, reader: reader, now: now)) {
            // A client reusing a request id in flight replaces that replay, which ends as cancelled.
            previous.reader.close()
            sendQuery(routingId, .end(previous.end(.cancelled, head: head)))
        }
    }

    private func serveReplays(now: Int64) throws {
        guard replays.hasWork || replays.hasBlocked else { return }
        var budget = 8192  // records scanned per iteration across all replays, so ingest stays responsive
        let head = journal.durableSequence
        for session in replays.active(includingBlocked: true) {
            guard budget > 0 || session.isBlocked else { continue }
            switch session.nextChunk(scanBudget: &budget) {
            case .chunk(let reply):
                switch send(reply, to: session.routingId) {
                case .sent:
                    session.commitChunk(now: now)
                    counters.replayEventsSent += UInt64(session.lastChunkCount)
                case .full:
                    session.holdChunk(reply)
                    continue
                case .gone:
                    replays.remove(session)
                    continue
                }
            case .waiting:
                break
            case .failed(let message):
                sendQuery(
                    session.routingId,
                    .error(request: session.request.request, ConduitError(.serviceInternal, path: "message", message)))
            }
            if let end = session.finished(head: head) {
                switch send(.end(end), to: session.routingId) {
                case .sent, .gone: replays.remove(session)
                case .full: session.holdEnd(end)
                }
            }
        }
    }

    private enum SendOutcome { case sent, full, gone }

    private func send(_ reply: QueryReply, to routingId: [UInt8]) -> SendOutcome {
        send(frames: [routingId] + reply.encode())
    }

    private func send(frames: WireMessage) -> SendOutcome {
        do {
            return try query.send(frames: frames, wait: false) ? .sent : .full
        } catch {
            return .gone
        }
    }
}

extension Duration {
    /// The duration in whole microseconds.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

extension Array where Element == UInt8 {
    /// The first 8 bytes as a big-endian integer.
    var bigEndianUInt64: UInt64 { prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
}
