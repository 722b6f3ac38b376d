import ConduitCore
import ConduitJournal

/// The broker's side of the ingest protocol as a pure state machine: it takes the messages agents sent and the
/// outcome of each journal commit, and says what to do: the records to frame into the journal batch (``records``) and,
/// at the commit, the replies and publications. ``BrokerLoop`` owns the sockets and the journal and only carries them
/// out, so every rule here — validation, authorisation, deduplication, sequencing, the stamped size limit, replies,
/// presence — is tested without sockets, files or clocks.
///
/// A batch is formed by ``receive(routingId:frames:principal:now:calendar:)``, ``expireSilentAgents(now:calendar:)``,
/// ``statePlan(now:calendar:)`` and ``adopt(_:)``, which add the records to frame into the journal batch to
/// ``records``, in sequence order from ``nextSequence``.
/// Nothing is answered or published until the batch's commit: ``commitSucceeded()`` returns the replies in arrival
/// order and then the batch's records to publish; ``commitFailed(_:)`` returns the replies with every acknowledgement
/// that promised what the batch stores turned into a `service.unavailable` rejection, and the batch leaves no trace in
/// the dedupe window or the sequence.
///
/// Two times come in: `now` is the broker's clock (agents' silence, presence event ids), `calendar` the time stamped
/// on events as their `recordedtime` (a simulation runs it faster). Both are microseconds since the epoch.
struct IngestPipeline {
    struct Settings {
        /// The scenario events are validated against.
        var scenario: Scenario
        /// How many recent events the dedupe window remembers at least.
        var dedupeWindow: Int
        /// The heartbeat interval offered to agents that ask for none, in microseconds (and the bounds of what they
        /// may ask).
        var agentHeartbeatIntervalMicroseconds: Int64
        /// An agent silent for this many of its heartbeat intervals is declared dead.
        var agentMissedHeartbeats: Int
        /// The most unacknowledged events an agent should keep in flight (announced in `WELCOME`).
        var maximumInFlight: UInt32
        /// Why this broker takes no events (a mirror of a stream: its events come from there), or `nil`. Every
        /// `HELLO`, `PUBLISH` and `BATCH` is then rejected with `service.unavailable` and this reason.
        var readOnly: String? = nil
    }

    /// A record of a batch with its own bytes (``BatchRecords`` holds them all in one buffer): the canonical stamped
    /// form of an event under its sequence, and its topic.
    struct Record: Equatable {
        var sequence: UInt64
        /// Microseconds since the epoch.
        var recordedTime: Int64
        var topic: [UInt8]
        var event: [UInt8]

        /// The record header frame the fan-out sends (sequence and recorded time).
        var header: [UInt8] { RecordHeader(sequence: sequence, recordedTime: Timestamp(microsecondsSinceEpoch: recordedTime)).frame }
    }

    enum Action: Equatable {
        /// Send the reply to the ingest peer with this routing id.
        case reply(routingId: [UInt8], IngestReply)
        /// Publish the stored events of the batch just committed on the fan-out, in sequence order.
        case publish(BatchRecords)
        /// The agent behind this source fell silent and was declared dead (its death is appended).
        case agentSilent(source: String)
    }

    /// The ingest counters of ``BrokerStatistics``.
    struct Counters: Equatable {
        var eventsAccepted: UInt64 = 0
        var eventsDuplicate: UInt64 = 0
        var eventsRejected: UInt64 = 0
        var presenceEvents: UInt64 = 0
        /// Of the rejected, those refused as `auth.forbidden`.
        var eventsForbidden: UInt64 = 0
    }

    let settings: Settings
    /// Validates against the plan in force, including a change earlier in the batch being formed.
    private var validator: EventValidator
    /// The plan in force as durable: what `PLAN` answers.
    private(set) var committedPlan: PlanInForce
    /// The plan in force once the batch is stored, and the sequence of its event; `nil` when the batch changes none.
    private var batchPlan: (plan: Scenario, sequence: UInt64)?
    private var planCounter: UInt64 = 0
    private var dedupe: DedupeWindow<DedupeKey>
    private var presence: PresenceTracker
    private(set) var counters = Counters()
    /// The sequence the batch's first record gets: the journal's next sequence.
    private(set) var nextSequence: UInt64
    /// The journal's latest durable sequence, announced in `WELCOME`.
    private(set) var headSequence: UInt64
    /// The latest recorded time stamped; recorded times never go back, even when the calendar does.
    private(set) var lastRecordedTime: Int64
    private var presenceCounter: UInt64 = 0

    // The batch being formed.
    /// A reply of the batch being formed.
    private enum PendingReply {
        /// `needsBatch`: an acknowledgement that holds only if the batch is stored.
        case reply(routingId: [UInt8], IngestReply, needsBatch: Bool)
        /// Acknowledgements of events of `BATCH`es from one peer that came one after another, with no other reply
        /// between them: the `run`th run of ``batchAcks``, which goes out as one `ACKS` (so that a peer's answers stay
        /// in the order it sent its events).
        case acks(routingId: [UInt8], run: Int)
    }
    /// The replies of the batch being formed, in arrival order.
    private var replies: [PendingReply] = []
    /// The acknowledgements of events of `BATCH`es, in arrival order, and whether each holds only if the batch is
    /// stored: kept apart from ``replies`` so that one costs no allocation or reference counting.
    private var batchAcks: [BatchAcknowledgement] = []
    private var batchAcksNeedBatch: [Bool] = []
    /// Where each run of ``batchAcks`` ends (each begins where the one before ends).
    private var acksRunEnds: [Int] = []
    /// The peer of the last run of ``batchAcks``, while it is the last reply.
    private var openRunPeer: [UInt8]?
    /// The records of the batch being formed, in sequence order: what to frame into the journal batch.
    private(set) var records = BatchRecords()
    /// The records of the batch committed last, handed out to publish; their memory is reused two batches on.
    private var published = BatchRecords()
    private var batchKeys = BatchKeyTable<DedupeKey>()
    private var batchNewKeys: [(DedupeWindow<DedupeKey>.Fingerprint, UInt64)] = []
    /// The recorded time stamped last, as JSON text: the events of a batch share it.
    private var recordedTimeText = TimestampText()
    private var lastEncodedCount = 0

    /// - Parameters:
    ///   - nextSequence: the journal's next sequence.
    ///   - headSequence: the journal's latest durable sequence (0 when empty).
    ///   - lastRecordedTime: the recorded time of the journal's last record (0 when empty).
    ///   - planSequence: the sequence of the journal's latest `conduit.plan` event, or 0 when the journal states none (the
    ///     built-in seed plan). When `settings.scenario` is another plan, ``statePlan(now:calendar:)`` should state it.
    init(settings: Settings, nextSequence: UInt64, headSequence: UInt64, lastRecordedTime: Int64, planSequence: UInt64 = 0) {
        self.settings = settings
        self.validator = EventValidator(scenario: settings.scenario)
        self.committedPlan = PlanInForce(sequence: planSequence, json: settings.scenario.canonicalJSON)
        self.dedupe = DedupeWindow(capacity: max(1, settings.dedupeWindow))
        self.presence = PresenceTracker(missedHeartbeats: settings.agentMissedHeartbeats)
        self.nextSequence = nextSequence
        self.headSequence = headSequence
        self.lastRecordedTime = lastRecordedTime
    }

    /// How many keys the dedupe window remembers at least.
    var dedupeCapacity: Int { dedupe.capacity }

    /// How many keys the dedupe window remembers.
    var dedupeKeyCount: Int { dedupe.keyCount }

    /// Agents alive.
    var agentsOnline: Int { presence.onlineCount }

    /// When ``expireSilentAgents(now:calendar:)`` next has an agent to declare dead, if any agent is alive.
    var nextExpiry: Int64? { presence.nextExpiry }

    /// Remembers an event the journal already holds (its stored bytes), so that a resend of it after a restart is
    /// acknowledged with its original sequence. Bytes that do not decode are skipped.
    mutating func rememberStored(_ event: [UInt8], sequence: UInt64) {
        if let event = try? EventCodec.decode(event) {
            dedupe.remember(event.dedupeKey, sequence: sequence)
        }
    }

    // MARK: Inputs

    /// Handles one ingest message: its frames without the routing id the ROUTER prepends, and the ZAP user id of the
    /// connection (`nil` without authentication). The records it stores join ``records``; its replies wait for the
    /// commit.
    mutating func receive(routingId: [UInt8], frames: WireMessage, principal: Principal?, now: Int64, calendar: Int64) {
        let request: IngestRequest
        do {
            request = try IngestRequest.decode(frames)
        } catch {
            reject(routingId, correlation: IngestRequest.correlation(ofUndecodable: frames), error)
            return
        }
        if let reason = settings.readOnly {
            switch request {
            case .hello:
                reject(routingId, correlation: 0, ConduitError(.serviceUnavailable, path: "message", reason))
                return
            case .publish(let correlation, _):
                reject(routingId, correlation: correlation, ConduitError(.serviceUnavailable, path: "message", reason))
                return
            case .batch(let entries):
                for entry in entries {
                    reject(routingId, correlation: entry.correlation, ConduitError(.serviceUnavailable, path: "message", reason))
                }
                return
            case .heartbeat, .goodbye, .plan: break
            }
        }
        presence.seen(routingId: routingId, now: now)
        // Without a key, the organisation of the source the connection's HELLO introduced, which its events must be of:
        // looked up once for all the events of the message.
        var introducedOrganisation: [UInt8]? {
            principal == nil ? presence.source(of: routingId).map { Array(Event.organisation(ofSource: $0).utf8) } : nil
        }
        switch request {
        case .publish(let correlation, let bytes):
            let introduced = introducedOrganisation
            bytes.withUnsafeBufferPointer { received in
                publish(
                    routingId: routingId, correlation: correlation, received: received, principal: principal, introduced: introduced,
                    calendar: calendar)
            }
        case .hello(let source, let intervalMs, let features):
            hello(
                routingId: routingId, source: source, intervalMs: intervalMs, features: features, principal: principal, now: now,
                calendar: calendar)
        case .batch(let entries):
            let introduced = introducedOrganisation
            for entry in entries {
                entry.withEvent { received in
                    publish(
                        routingId: routingId, correlation: entry.correlation, received: received, principal: principal,
                        introduced: introduced, calendar: calendar, inAcks: true)
                }
            }
        case .heartbeat:
            answer(routingId, .heartbeat)
        case .goodbye:
            guard let source = presence.goodbye(routingId: routingId) else { return }
            appendPresence(.death, source: source, intervalMs: nil, reason: "goodbye", now: now, calendar: calendar)
        case .plan(let correlation):
            answer(routingId, .plan(correlation: correlation, committedPlan))
        }
    }

    /// Journals the plan in force as a `conduit.plan` event from `/conduit/broker`: when the journal does not state
    /// it yet (a new journal, or a broker started with another plan than the journal's latest).
    /// - Throws: ``ConduitError`` `event.oversize` when the plan does not fit in an event.
    mutating func statePlan(now: Int64, calendar: Int64) throws(ConduitError) {
        planCounter += 1
        var event = Event(
            id: "plan-\(now)-\(planCounter)", source: "/\(EventValidator.systemOrganisation)/broker",
            time: Timestamp(microsecondsSinceEpoch: max(lastRecordedTime, calendar)), data: .plan(validator.scenario))
        switch append(&event, calendar: calendar) {
        case .success(let sequence):
            batchPlan = (validator.scenario, sequence)
        case .failure(let error):
            throw error
        }
    }

    /// Takes a record stored elsewhere (a mirror's stream), already sequenced and stamped: it must be the journal's
    /// next. It joins the batch and is published once the batch is stored; a plan event puts its plan in force.
    mutating func adopt(_ record: JournalRecord) throws(ConduitError) {
        let sequence = nextSequence + UInt64(records.count)
        guard record.sequence == sequence else {
            throw ConduitError(.serviceInternal, path: "sequence", "the mirrored event \(record.sequence) does not follow the journal's \(sequence - 1)")
        }
        if record.topic.starts(with: Topic.prefix(kind: .plan)), let event = try? EventCodec.decode(record.event),
            case .plan(let plan) = event.data
        {
            validator = EventValidator(scenario: plan)
            batchPlan = (plan, sequence)
        }
        lastRecordedTime = max(lastRecordedTime, record.recordedTime)
        records.append(sequence: sequence, recordedTime: record.recordedTime, topic: record.topic, event: record.event)
    }

    /// Declares dead the agents silent past their allowance at `now`, oldest first: each is reported and its death
    /// (subject `silent`) appended.
    mutating func expireSilentAgents(now: Int64, calendar: Int64) -> [Action] {
        var actions: [Action] = []
        for agent in presence.expire(now: now) {
            actions.append(.agentSilent(source: agent.source))
            appendPresence(.death, source: agent.source, intervalMs: nil, reason: "silent", now: now, calendar: calendar)
        }
        return actions
    }

    /// The batch is durable (or held no record): its new keys join the dedupe window and the sequence moves past it.
    /// Returns the replies in arrival order, then the batch's records to publish (when it held any).
    mutating func commitSucceeded() -> [Action] {
        defer { clearBatch() }
        if let batchPlan {
            committedPlan = PlanInForce(sequence: batchPlan.sequence, json: batchPlan.plan.canonicalJSON)
            self.batchPlan = nil
        }
        dedupe.remember(batchNewKeys)
        var all: [Action] = []
        all.reserveCapacity(replies.count + 1)
        for pending in replies {
            switch pending {
            case .reply(let routingId, let reply, _): all.append(.reply(routingId: routingId, reply))
            case .acks(let routingId, let run): all.append(.reply(routingId: routingId, .acks(Array(batchAcks[acksRun(run)]))))
            }
        }
        if !records.isEmpty {
            nextSequence += UInt64(records.count)
            headSequence = nextSequence - 1
            // The records published a batch ago are done with by now: their memory serves the next batch.
            swap(&records, &published)
            all.append(.publish(published))
        }
        return all
    }

    /// Where the `run`th run of ``batchAcks`` lies.
    private func acksRun(_ run: Int) -> Range<Int> { (run == 0 ? 0 : acksRunEnds[run - 1])..<acksRunEnds[run] }

    /// The journal refused the batch: nothing of it was stored. Returns the replies in arrival order, each
    /// acknowledgement that promised what the batch stores (a new event, or a resend of one) turned into a
    /// `service.unavailable` rejection; nothing is published, and the batch's keys and sequences stay free.
    mutating func commitFailed(_ failure: JournalError) -> [Action] {
        defer { clearBatch() }
        if batchPlan != nil {
            batchPlan = nil
            if let plan = try? committedPlan.plan() { validator = EventValidator(scenario: plan) }
        }
        var actions: [Action] = []
        /// Turns an acknowledgement that promised what the batch stores into a rejection.
        func withdrawn(_ correlation: UInt64, duplicate: Bool) -> IngestReply {
            if duplicate { counters.eventsDuplicate -= 1 } else { counters.eventsAccepted -= 1 }
            counters.eventsRejected += 1
            return .reject(
                Rejection(
                    correlation: correlation,
                    error: ConduitError(
                        .serviceUnavailable, path: "message",
                        "the journal could not store the event (\(failure.code)); nothing was stored, retry later")))
        }
        for pending in replies {
            switch pending {
            case .reply(let routingId, .ack(let ack), needsBatch: true):
                actions.append(.reply(routingId: routingId, withdrawn(ack.correlation, duplicate: ack.duplicate)))
            case .reply(let routingId, let reply, _):
                actions.append(.reply(routingId: routingId, reply))
            case .acks(let routingId, let run):
                // The acknowledgements that still hold go out in order, in ACKS between the rejections.
                var holding: [BatchAcknowledgement] = []
                for index in acksRun(run) {
                    guard batchAcksNeedBatch[index] else {
                        holding.append(batchAcks[index])
                        continue
                    }
                    if !holding.isEmpty { actions.append(.reply(routingId: routingId, .acks(holding))) }
                    holding = []
                    actions.append(.reply(routingId: routingId, withdrawn(batchAcks[index].correlation, duplicate: batchAcks[index].duplicate)))
                }
                if !holding.isEmpty { actions.append(.reply(routingId: routingId, .acks(holding))) }
            }
        }
        return actions
    }

    private mutating func clearBatch() {
        records.removeAll()
        replies.removeAll(keepingCapacity: true)
        batchAcks.removeAll(keepingCapacity: true)
        batchAcksNeedBatch.removeAll(keepingCapacity: true)
        acksRunEnds.removeAll(keepingCapacity: true)
        openRunPeer = nil
        batchKeys.removeAll()
        batchNewKeys.removeAll(keepingCapacity: true)
    }

    // MARK: Messages

    private mutating func reject(_ routingId: [UInt8], correlation: UInt64, _ error: ConduitError) {
        counters.eventsRejected += 1
        if error.code == .authForbidden { counters.eventsForbidden += 1 }
        answer(routingId, .reject(Rejection(correlation: correlation, error: error)))
    }

    /// Adds a reply other than an acknowledgement in an `ACKS`.
    private mutating func answer(_ routingId: [UInt8], _ reply: IngestReply, needsBatch: Bool = false) {
        replies.append(.reply(routingId: routingId, reply, needsBatch: needsBatch))
        openRunPeer = nil
    }

    /// Acknowledges an event; `needsBatch`: the acknowledgement holds only if the batch is stored. Of an event of a
    /// `BATCH` (`inAcks`), it joins the peer's run of acknowledgements if that is the last reply, so that it goes out
    /// in the same `ACKS`; `source` and `id` are then not sent.
    private mutating func acknowledge(
        _ routingId: [UInt8], correlation: UInt64, sequence: UInt64, duplicate: Bool, source: String, id: String, inAcks: Bool,
        needsBatch: Bool
    ) {
        guard inAcks else {
            let ack = Acknowledgement(correlation: correlation, sequence: sequence, duplicate: duplicate, source: source, id: id)
            answer(routingId, .ack(ack), needsBatch: needsBatch)
            return
        }
        batchAcks.append(BatchAcknowledgement(correlation: correlation, sequence: sequence, duplicate: duplicate))
        batchAcksNeedBatch.append(needsBatch)
        if openRunPeer == routingId {
            acksRunEnds[acksRunEnds.count - 1] = batchAcks.count
        } else {
            replies.append(.acks(routingId: routingId, run: acksRunEnds.count))
            acksRunEnds.append(batchAcks.count)
            openRunPeer = routingId
        }
    }

    /// Takes one event: its record joins ``records`` if it is stored; its reply waits for the commit. `introduced`: see
    /// ``publishCanonical(routingId:correlation:received:principal:introduced:calendar:inAcks:)``.
    private mutating func publish(
        routingId: [UInt8], correlation: UInt64, received: UnsafeBufferPointer<UInt8>, principal: Principal?, introduced: [UInt8]?,
        calendar: Int64, inAcks: Bool = false
    ) {
        if publishCanonical(
            routingId: routingId, correlation: correlation, received: received, principal: principal, introduced: introduced,
            calendar: calendar, inAcks: inAcks)
        {
            return
        }
        let bytes = Array(received)
        var event: Event
        var form = ReceivedForm()
        do {
            event = try EventCodec.decodeAndValidate(bytes, with: validator, form: &form)
        } catch {
            reject(routingId, correlation: correlation, error)
            return
        }
        // A key speaks for its principal's organisation, and publishes what its role may.
        if let principal {
            do { try principal.authorise(event) } catch {
                reject(routingId, correlation: correlation, error)
                return
            }
        }
        // Without a key to vouch for it, a connection is still held to the organisation its HELLO introduced.
        if principal == nil, let introduced = presence.source(of: routingId),
            Event.organisation(ofSource: introduced) != event.sourceOrganisation
        {
            reject(
                routingId, correlation: correlation,
                ConduitError(
                    .authForbidden, path: "source",
                    "this connection introduced itself as \(introduced) (HELLO); it may not publish for \(event.sourceOrganisation)"))
            return
        }
        let key = event.dedupeKey
        // Hashed once: the window and this batch's keys are looked up, and the key remembered, by its fingerprint.
        let fingerprint = DedupeWindow<DedupeKey>.Fingerprint(key)
        if answeredDuplicate(fingerprint, routingId: routingId, correlation: correlation, source: key.source, id: key.id, inAcks: inAcks) {
            return
        }
        event.authenticatedIdentity = principal?.organisation
        let sequence: UInt64
        switch append(&event, calendar: calendar, received: (form, bytes)) {
        case .success(let appended): sequence = appended
        case .failure(let error):
            reject(routingId, correlation: correlation, error)
            return
        }
        if case .plan(let plan) = event.data {
            // Events after this one in sequence order, in this batch too, are validated against the new plan.
            validator = EventValidator(scenario: plan)
            batchPlan = (plan, sequence)
        }
        accepted(sequence, fingerprint, routingId: routingId, correlation: correlation, source: key.source, id: key.id, inAcks: inAcks)
    }

    /// Takes a progress report received in its canonical form the quick way (``CanonicalProgress``), with the same
    /// outcome and stored bytes as the general way. Returns false, having done nothing, when the event is not one or
    /// its publisher may not send it: the general way then decides, and says why. `introduced` is the organisation of
    /// the source the connection's `HELLO` introduced, when it has no key.
    private mutating func publishCanonical(
        routingId: [UInt8], correlation: UInt64, received: UnsafeBufferPointer<UInt8>, principal: Principal?, introduced: [UInt8]?,
        calendar: Int64, inAcks: Bool
    ) -> Bool {
        guard let event = validator.canonicalProgress(received) else { return false }
        let organisation = UnsafeBufferPointer(rebasing: received[event.organisation])
        // The checks of principal.authorise and of the organisation a HELLO introduced, as the general way makes them.
        if let principal {
            guard principal.role?.publishesProgress ?? true, principal.organisation.utf8.elementsEqual(organisation) else { return false }
        } else if let introduced {
            guard introduced.elementsEqual(organisation) else { return false }
        }
        let sourceBytes = UnsafeBufferPointer(rebasing: received[event.source])
        let idBytes = UnsafeBufferPointer(rebasing: received[event.id])
        let fingerprint = DedupeWindow<DedupeKey>.Fingerprint(source: sourceBytes, id: idBytes)
        // An ACKS does not repeat the source and id of the events it acknowledges: they are made only for an ACK.
        let source = inAcks ? "" : String(decoding: sourceBytes, as: UTF8.self)
        let id = inAcks ? "" : String(decoding: idBytes, as: UTF8.self)
        if answeredDuplicate(fingerprint, routingId: routingId, correlation: correlation, source: source, id: id, inAcks: inAcks) {
            return true
        }
        let (sequence, recordedTime) = nextStamp(calendar: calendar)
        let stamp = recordedTimeText.text(of: Timestamp(microsecondsSinceEpoch: recordedTime))
        let identity = principal?.organisation
        // The site is looked up only when the event leaves it out and the stored form fills it in.
        let site = event.siteGiven ? nil : validator.site(of: event)
        // Written straight into the batch's buffer.
        let count = records.append(
            sequence: sequence, recordedTime: recordedTime, topic: validator.progressTopic(of: event),
            capacity: EventCodec.storedFormCapacity(event, site: site, of: received, recordedTime: stamp, identity: identity)
        ) { start in
            EventCodec.writeStoredForm(
                event, site: site, of: received, sequence: sequence, recordedTime: stamp, identity: identity, to: start)
        }
        if let refusal = refusal(storedCount: count) {
            records.removeLast()
            reject(routingId, correlation: correlation, refusal)
        } else {
            lastRecordedTime = recordedTime
            accepted(sequence, fingerprint, routingId: routingId, correlation: correlation, source: source, id: id, inAcks: inAcks)
        }
        return true
    }

    /// Answers a resend of an event stored before, or of one earlier in this batch, with the sequence it was stored
    /// under; returns whether it was one.
    private mutating func answeredDuplicate(
        _ fingerprint: DedupeWindow<DedupeKey>.Fingerprint, routingId: [UInt8], correlation: UInt64, source: String, id: String,
        inAcks: Bool
    ) -> Bool {
        if let sequence = dedupe.sequence(of: fingerprint) {
            counters.eventsDuplicate += 1
            acknowledge(
                routingId, correlation: correlation, sequence: sequence, duplicate: true, source: source, id: id, inAcks: inAcks,
                needsBatch: false)
            return true
        }
        if let sequence = batchKeys.sequence(of: fingerprint) {
            // A resend of an event of this very batch: its acknowledgement, too, holds only if the batch is stored.
            counters.eventsDuplicate += 1
            acknowledge(
                routingId, correlation: correlation, sequence: sequence, duplicate: true, source: source, id: id, inAcks: inAcks,
                needsBatch: true)
            return true
        }
        return false
    }

    /// An event joined the batch under `sequence`: its key is this batch's, and its acknowledgement waits for the commit.
    private mutating func accepted(
        _ sequence: UInt64, _ fingerprint: DedupeWindow<DedupeKey>.Fingerprint, routingId: [UInt8], correlation: UInt64,
        source: String, id: String, inAcks: Bool
    ) {
        counters.eventsAccepted += 1
        batchKeys.insert(fingerprint, sequence: sequence)
        batchNewKeys.append((fingerprint, sequence))
        acknowledge(
            routingId, correlation: correlation, sequence: sequence, duplicate: false, source: source, id: id, inAcks: inAcks,
            needsBatch: true)
    }

    private mutating func hello(
        routingId: [UInt8], source: String, intervalMs: UInt32, features: [String] = [], principal: Principal?, now: Int64,
        calendar: Int64
    ) {
        let offered = settings.agentHeartbeatIntervalMicroseconds
        let lower = offered / 50
        let requested = intervalMs == 0 ? offered : Int64(intervalMs) * 1000
        let interval = min(max(requested, max(lower, 100_000)), 3_600_000_000)
        let birth = presenceEvent(.birth, source: source, intervalMs: Int(interval / 1000), now: now, calendar: calendar)
        do throws(ConduitError) {
            try validator.validate(birth)
            if let principal {
                guard birth.sourceOrganisation == principal.organisation[...] else {
                    throw ConduitError(
                        .authForbidden, path: "frame[2]",
                        "the key of \(principal.name) (organisation \(principal.organisation)) may not speak for \(source)")
                }
                do { try principal.authorise(birth) } catch { throw ConduitError(.authForbidden, path: "frame[2]", error.reason) }
            }
        } catch {
            reject(routingId, correlation: 0, error)
            return
        }
        if let refusal = presence.refusal(source: source, routingId: routingId) {
            reject(routingId, correlation: 0, ConduitError(.serviceUnavailable, path: "frame[2]", refusal))
            return
        }
        if presence.hello(source: source, routingId: routingId, intervalMicroseconds: interval, now: now) == .born {
            var event = birth
            event.authenticatedIdentity = principal?.organisation
            if case .success = append(&event, calendar: calendar) {
                counters.presenceEvents += 1
            }
        }
        let welcome = Welcome(
            heartbeatIntervalMs: UInt32(interval / 1000), maximumEventBytes: UInt32(EventCodec.maximumEventBytes),
            maximumInFlight: settings.maximumInFlight, headSequence: headSequence,
            features: features.filter(IngestFeature.supported.contains))
        answer(routingId, .welcome(welcome))
    }

    // MARK: Presence and stamping

    private mutating func presenceEvent(
        _ status: PresenceStatus, source: String, intervalMs: Int?, reason: String? = nil, now: Int64, calendar: Int64
    ) -> Event {
        presenceCounter += 1
        return Event(
            id: "\(status.rawValue)-\(now)-\(presenceCounter)", source: source,
            time: Timestamp(microsecondsSinceEpoch: max(lastRecordedTime, calendar)), subject: reason,
            data: .presence(
                PresenceReport(
                    status: status, agent: PresenceTracker.agentIdentifier(source: source),
                    heartbeatIntervalMs: intervalMs)))
    }

    private mutating func appendPresence(
        _ status: PresenceStatus, source: String, intervalMs: Int?, reason: String? = nil, now: Int64, calendar: Int64
    ) {
        var event = presenceEvent(status, source: source, intervalMs: intervalMs, reason: reason, now: now, calendar: calendar)
        guard case .success = append(&event, calendar: calendar) else { return }
        counters.presenceEvents += 1
    }

    /// Stamps `event` with the next sequence and the recorded time, and adds it to the batch. An event whose stored
    /// form (canonical, stamped) would exceed the event size limit is refused and consumes no sequence: every reader
    /// of stored events holds to that limit, so such an event could be acknowledged but never read back.
    /// `received` is the event's received bytes and what of them is canonical, when it came from an agent: those
    /// members are copied rather than written again. Returns the sequence it is stored under.
    private mutating func append(
        _ event: inout Event, calendar: Int64, received: (form: ReceivedForm, bytes: [UInt8])? = nil
    ) -> Result<UInt64, ConduitError> {
        let (sequence, recordedTime) = nextStamp(calendar: calendar)
        event.sequence = sequence
        event.recordedTime = Timestamp(microsecondsSinceEpoch: recordedTime)
        var stored: [UInt8]
        if let received, let copied = EventCodec.storedForm(event, reusing: received.form, of: received.bytes, recordedTime: &recordedTimeText) {
            stored = copied
        } else {
            // With room for an event the size of the last one, so that it is allocated once instead of growing five
            // or six times.
            stored = []
            stored.reserveCapacity(max(512, lastEncodedCount + 64))
            EventCodec.encode(event, into: &stored)
        }
        return store(stored, topic: event.topic, sequence: sequence, recordedTime: recordedTime)
    }

    /// The sequence and recorded time the next record of the batch gets: recorded times never go back.
    private func nextStamp(calendar: Int64) -> (sequence: UInt64, recordedTime: Int64) {
        (nextSequence + UInt64(records.count), max(lastRecordedTime, calendar))
    }

    /// Adds an event's stored form to the batch under `sequence`, unless it is over the event size limit.
    private mutating func store(_ stored: [UInt8], topic: [UInt8], sequence: UInt64, recordedTime: Int64) -> Result<UInt64, ConduitError> {
        lastEncodedCount = stored.count
        if let refusal = refusal(storedCount: stored.count) { return .failure(refusal) }
        lastRecordedTime = recordedTime
        records.append(sequence: sequence, recordedTime: recordedTime, topic: topic, event: stored)
        return .success(sequence)
    }

    /// Why an event whose stored form is `storedCount` bytes may not be stored, if it may not.
    private func refusal(storedCount: Int) -> ConduitError? {
        guard storedCount > EventCodec.maximumEventBytes else { return nil }
        return ConduitError(
            .eventOversize, path: "$",
            "stored (canonical and stamped) the event would be \(storedCount) bytes; the limit is \(EventCodec.maximumEventBytes)")
    }
}

extension IngestPipeline.Settings {
    /// The settings a broker runs with.
    init(_ configuration: BrokerConfiguration) {
        self.init(
            scenario: configuration.scenario ?? .default, dedupeWindow: configuration.dedupeWindow,
            agentHeartbeatIntervalMicroseconds: configuration.agentHeartbeatInterval.microseconds,
            agentMissedHeartbeats: configuration.agentMissedHeartbeats, maximumInFlight: configuration.maximumInFlight,
            readOnly: configuration.recordFeed?.readOnlyReason)
    }
}
