import ConduitCore
import Prometheus

/// The broker's metrics in Prometheus' text format: counters that only grow, gauges of what is now, and histograms of
/// the journal's `fdatasync` and of the time from taking an event to acknowledging it. The broker's thread updates
/// them; ``exposition()`` may be called from any thread (`GET /metrics`). Names follow Prometheus' conventions (base
/// units, `_total`, `_seconds`, `_bytes`); labels are kinds, error codes and endpoints, never work items or agents.
public final class BrokerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    let stored: [EventKind: Counter]
    let accepted: Counter
    let duplicates: Counter
    let rejected: [ConduitError.Code: Counter]
    let forbidden: Counter
    let fdatasync: DurationHistogram
    let acknowledgement: DurationHistogram
    let journalLastSequence: Gauge
    let journalFirstSequence: Gauge
    let journalBytes: Gauge
    let journalSegments: Gauge
    let agentsOnline: Gauge
    let agentsSilent: Counter
    let connections: [HubEndpoint: Gauge]
    let connectionsRefused: Counter
    let connectionsCut: Counter
    let connectionsRevoked: Counter
    let handshakesRefused: Counter
    let replaysActive: Gauge
    let replayEvents: Counter
    let published: Counter
    let batches: Counter

    /// The metrics of a broker of Conduit `version`, registered in `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), version: String) {
        self.registry = registry
        func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "conduit", subsystem: "broker", metricName: name, unitName: unit, helpText: help)
        }
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: descriptor(name, "total", help), labels: labels)
        }
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
            registry.makeGauge(descriptor: descriptor(name, unit, help), labels: labels)
        }
        registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "conduit", metricName: "build", unitName: "info", helpText: "The Conduit version running, as a label."),
            labels: [("version", version), ("component", "broker")]
        ).set(Int64(1))
        stored = Dictionary(
            uniqueKeysWithValues: EventKind.allCases.map {
                ($0, counter("events_stored", "Events journaled, by kind (the broker's own presence and plan events included).", [("kind", $0.rawValue)]))
            })
        accepted = counter("events_accepted", "Events of clients accepted and journaled.")
        duplicates = counter("events_duplicate", "Resends of events journaled before, acknowledged with their original sequence.")
        rejected = Dictionary(
            uniqueKeysWithValues: ConduitError.Code.all.map { ($0, counter("events_rejected", "Messages and events rejected, by error code.", [("code", $0.rawValue)])) })
        forbidden = counter("events_forbidden", "Events and HELLOs refused as auth.forbidden (also counted as rejected).")
        let durations: [Duration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        fdatasync = registry.makeDurationHistogram(
            descriptor: descriptor("journal_commit_duration", "seconds", "Time to write and fdatasync one batch of the journal."),
            buckets: durations)
        acknowledgement = registry.makeDurationHistogram(
            descriptor: descriptor(
                "ack_latency", "seconds", "Time from taking an event off the ingest socket to sending its acknowledgement, per event."),
            buckets: durations)
        journalLastSequence = gauge("journal_last_sequence", "", "The journal's latest sequence.")
        journalFirstSequence = gauge("journal_first_sequence", "", "The journal's oldest retained sequence.")
        journalBytes = gauge("journal", "bytes", "Bytes of the journal's segments.")
        journalSegments = gauge("journal_segments", "", "Segment files of the journal.")
        agentsOnline = gauge("agents_online", "", "Agents alive (introduced by HELLO, not yet dead).")
        agentsSilent = counter("agents_silent", "Agents declared dead for silence.")
        connections = Dictionary(
            uniqueKeysWithValues: [HubEndpoint.ingest, .fanout, .query].map {
                ($0, gauge("connections", "", "Connections open, by endpoint (on fanout: the subscribers).", [("endpoint", $0.rawValue)]))
            })
        connectionsRefused = counter("connections_refused", "Connections closed as soon as they were accepted (limits).")
        connectionsCut = counter("connections_cut", "Connections the broker closed for a bound.")
        connectionsRevoked = counter("connections_revoked", "Connections closed because their principal was removed or changed.")
        handshakesRefused = counter("handshakes_refused", "CURVE handshakes refused: unknown key, no CURVE, or a role not admitted there.")
        replaysActive = gauge("replays_active", "", "Replays in progress.")
        replayEvents = counter("replay_events", "Events sent by replays.")
        published = counter("events_published", "Events sent on the fan-out.")
        batches = counter("journal_commits", "Batches committed to the journal.")
    }

    /// The metrics in Prometheus' text exposition format.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    /// Moves the counters by what `now` counts beyond `before`, and sets the gauges to `now`.
    func update(from before: BrokerStatistics, to now: BrokerStatistics, journalBytes bytes: UInt64, journalSegments segments: Int) {
        func add(_ counter: Counter, _ old: UInt64, _ new: UInt64) { if new > old { counter.increment(by: Int64(new - old)) } }
        add(accepted, before.eventsAccepted, now.eventsAccepted)
        add(duplicates, before.eventsDuplicate, now.eventsDuplicate)
        add(forbidden, before.eventsForbidden, now.eventsForbidden)
        add(connectionsRefused, before.connectionsRefused, now.connectionsRefused)
        add(connectionsCut, before.connectionsCut, now.connectionsCut)
        add(connectionsRevoked, before.connectionsRevoked, now.connectionsRevoked)
        add(handshakesRefused, before.handshakesRefused, now.handshakesRefused)
        add(replayEvents, before.replayEventsSent, now.replayEventsSent)
        add(published, before.eventsPublished, now.eventsPublished)
        add(batches, before.batches, now.batches)
        journalLastSequence.set(Double(now.lastSequence))
        journalFirstSequence.set(Double(now.firstSequence))
        journalBytes.set(Double(bytes))
        journalSegments.set(Double(segments))
        agentsOnline.set(Double(now.agentsOnline))
        replaysActive.set(Double(now.replaysActive))
    }
}
