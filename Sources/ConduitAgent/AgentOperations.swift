/// What an agent shows its operators over HTTP (`conduit agent --http-address`): metrics and readiness.
extension Agent {
    /// The longest the oldest event may wait in the outbox for the agent to count as draining it (`GET /readyz`).
    public static let drainingBound: Duration = .seconds(60)

    /// The agent's metrics in the Prometheus text format (`GET /metrics`).
    public func metricsExposition(version: String, now: ContinuousClock.Instant = .now) -> [UInt8] {
        let status = status
        let age = outbox.oldestPendingAge(now: now).map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0
        let source = configuration.source  // /<organisation>/<agent>: identifiers, nothing to escape
        let lines: [(String, String, String, String)] = [
            ("conduit_build_info", "gauge", "The Conduit version running, as a label.", "conduit_build_info{version=\"\(version)\",component=\"agent\"} 1"),
            ("conduit_agent_info", "gauge", "The source this agent publishes as, as a label.", "conduit_agent_info{source=\"\(source)\"} 1"),
            ("conduit_agent_connected", "gauge", "1 while the broker has welcomed the agent, else 0.", "conduit_agent_connected \(status.connected ? 1 : 0)"),
            ("conduit_agent_outbox_depth", "gauge", "Events in the outbox not yet acknowledged or rejected.", "conduit_agent_outbox_depth \(status.pending)"),
            ("conduit_agent_outbox_oldest_age_seconds", "gauge", "How long the oldest unacknowledged event has waited (0 when none).", "conduit_agent_outbox_oldest_age_seconds \(age)"),
            ("conduit_agent_events_acknowledged_total", "counter", "Events the broker acknowledged.", "conduit_agent_events_acknowledged_total \(status.acknowledged)"),
            ("conduit_agent_events_duplicate_total", "counter", "Of the acknowledged, those the broker had already stored.", "conduit_agent_events_duplicate_total \(status.duplicates)"),
            ("conduit_agent_events_rejected_total", "counter", "Events the broker rejected.", "conduit_agent_events_rejected_total \(status.rejected)"),
            ("conduit_agent_reconnects_total", "counter", "Connections given up and retried.", "conduit_agent_reconnects_total \(status.reconnects)"),
            ("conduit_agent_last_sequence", "gauge", "The highest sequence acknowledged.", "conduit_agent_last_sequence \(status.lastSequence)"),
        ]
        return Array(lines.map { "# HELP \($0.0) \($0.2)\n# TYPE \($0.0) \($0.1)\n\($0.3)\n" }.joined().utf8)
    }

    /// Whether the agent is connected and draining its outbox: welcomed by the broker, not refused, and its oldest
    /// unacknowledged event waiting less than ``drainingBound`` (`GET /readyz`).
    public func readiness(now: ContinuousClock.Instant = .now) -> (ready: Bool, reason: String) {
        let status = status
        if let refused = status.refused { return (false, "the broker refused the agent: \(refused)") }
        guard status.connected else { return (false, "not connected to the broker at \(configuration.endpoint)") }
        if let age = outbox.oldestPendingAge(now: now), age >= Self.drainingBound {
            return (false, "the oldest unacknowledged event has waited \(age.components.seconds) s (at most \(Self.drainingBound.components.seconds) s)")
        }
        return (true, "")
    }
}
