import ConduitOperations

/// What an agent shows its operators over HTTP (`conduit agent --http-address`): metrics and readiness.
extension Agent {
    /// The longest the oldest event may wait in the outbox for the agent to count as draining it (`GET /readyz`).
    public static let drainingBound: Duration = .seconds(60)

    /// The agent's metrics (swift-prometheus), read from its counters when scraped.
    public static func metrics(source: String, version: String) -> ScrapedMetrics {
        ScrapedMetrics(
            subsystem: "agent", version: version,
            metrics: [
                .init("connected", .gauge, "1 while the broker has welcomed the agent, else 0."),
                .init("outbox_depth", .gauge, "Events in the outbox not yet acknowledged or rejected."),
                .init("outbox_oldest_age", .gauge, unit: "seconds", "How long the oldest unacknowledged event has waited (0 when none)."),
                .init("events_acknowledged", .counter, "Events the broker acknowledged."),
                .init("events_duplicate", .counter, "Of the acknowledged, those the broker had already stored."),
                .init("events_rejected", .counter, "Events the broker rejected."),
                .init("reconnects", .counter, "Connections given up and retried."),
                .init("last_sequence", .gauge, "The highest sequence acknowledged."),
            ],
            info: [("source", source)])  // /<organisation>/<agent>: identifiers, nothing to escape
    }

    /// The agent's metrics in the Prometheus text format (`GET /metrics`).
    public func metricsExposition(_ metrics: ScrapedMetrics, now: ContinuousClock.Instant = .now) -> [UInt8] {
        let status = status
        let age = outbox.oldestPendingAge(now: now).map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0
        return metrics.exposition(
            counts: [
                "events_acknowledged": Int64(status.acknowledged), "events_duplicate": Int64(status.duplicates),
                "events_rejected": Int64(status.rejected), "reconnects": Int64(status.reconnects),
            ],
            levels: [
                "connected": status.connected ? 1 : 0, "outbox_depth": Double(status.pending), "outbox_oldest_age": age,
                "last_sequence": Double(status.lastSequence),
            ])
    }

    /// Whether the agent is connected and draining its outbox: welcomed by the broker, not refused, and its oldest
    /// unacknowledged event waiting less than ``drainingBound`` (`GET /readyz`).
    public func readiness(now: ContinuousClock.Instant = .now) -> (ready: Bool, reason: String) {
        let status = status
        if let refused = status.refused { return (false, "the broker refused the agent: \(refused)") }
        if !status.connected, let failure = status.handshakeFailure { return (false, failure) }
        guard status.connected else { return (false, "not connected to the broker at \(configuration.endpoint)") }
        if let age = outbox.oldestPendingAge(now: now), age >= Self.drainingBound {
            return (false, "the oldest unacknowledged event has waited \(age.components.seconds) s (at most \(Self.drainingBound.components.seconds) s)")
        }
        return (true, "")
    }
}
