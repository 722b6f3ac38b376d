/// Which agents are alive, from their `HELLO`, heartbeats and `GOODBYE` on the ingest socket.
///
/// Pure state: time is passed in (microseconds since the epoch), so the rules are tested without a clock. An
/// agent is keyed by its source (`/<organisation>/<agent>`); a `HELLO` from a source that is already alive (a
/// reconnection) moves it to the new connection without a second birth.
struct PresenceTracker {
    struct Agent: Equatable {
        var source: String
        var routingId: [UInt8]
        var intervalMicroseconds: Int64
        var lastSeen: Int64
        /// The connection whose `HELLO` made it alive (it counts against that connection's allowance).
        var bornOn: [UInt8] = []
    }

    /// The most agents alive at once, and the most one connection may bring to life: a flood of `HELLO`s with
    /// new sources is refused, not journaled as births (and later as deaths).
    static let maximumAgents = 10_000
    static let maximumAgentsPerConnection = 16

    /// What a `HELLO` changed.
    enum HelloOutcome: Equatable {
        /// The agent was not alive: publish its birth.
        case born
        /// The agent was alive (a reconnection): nothing to publish.
        case reconnected
    }

    /// An agent declared dead after this many missed heartbeat intervals.
    let missedHeartbeats: Int64
    private(set) var agents: [String: Agent] = [:]
    private var sourceByRoutingId: [[UInt8]: String] = [:]
    private var bornOnConnection: [[UInt8]: Int] = [:]

    init(missedHeartbeats: Int) {
        self.missedHeartbeats = Int64(max(1, missedHeartbeats))
    }

    var onlineCount: Int { agents.count }

    /// Why a `HELLO` from `source` on this connection would be refused (too many agents), or `nil`.
    func refusal(source: String, routingId: [UInt8]) -> String? {
        guard agents[source] == nil else { return nil }  // a reconnection is always welcome
        if agents.count >= Self.maximumAgents {
            return "\(agents.count) agents are alive, the most the broker keeps; try again when one has left"
        }
        if bornOnConnection[routingId, default: 0] >= Self.maximumAgentsPerConnection {
            return "this connection already brought \(Self.maximumAgentsPerConnection) agents to life, the most one may"
        }
        return nil
    }

    mutating func hello(source: String, routingId: [UInt8], intervalMicroseconds: Int64, now: Int64) -> HelloOutcome {
        let outcome: HelloOutcome
        var bornOn = routingId
        if let previous = agents[source] {
            if sourceByRoutingId[previous.routingId] == source { sourceByRoutingId[previous.routingId] = nil }
            bornOn = previous.bornOn
            outcome = .reconnected
        } else {
            bornOnConnection[routingId, default: 0] += 1
            outcome = .born
        }
        // A connection that spoke for another source before now speaks for this one.
        if let other = sourceByRoutingId[routingId], other != source, agents[other]?.routingId == routingId {
            agents[other]?.routingId = []
        }
        agents[source] = Agent(
            source: source, routingId: routingId, intervalMicroseconds: intervalMicroseconds, lastSeen: now, bornOn: bornOn)
        sourceByRoutingId[routingId] = source
        return outcome
    }

    /// The source the connection's latest `HELLO` named, while that agent is alive.
    func source(of routingId: [UInt8]) -> String? { sourceByRoutingId[routingId] }

    /// Notes that the connection sent something; returns whether it belongs to a known agent.
    @discardableResult
    mutating func seen(routingId: [UInt8], now: Int64) -> Bool {
        guard let source = sourceByRoutingId[routingId] else { return false }
        agents[source]?.lastSeen = now
        return true
    }

    /// The agent said goodbye: returns its source, if it was known.
    mutating func goodbye(routingId: [UInt8]) -> String? {
        guard let source = sourceByRoutingId.removeValue(forKey: routingId) else { return nil }
        if let agent = agents.removeValue(forKey: source) { release(agent) }
        return source
    }

    /// Removes and returns the agents silent for longer than their allowance at `now`, oldest first.
    mutating func expire(now: Int64) -> [Agent] {
        let dead = agents.values.filter { now - $0.lastSeen > $0.intervalMicroseconds * missedHeartbeats }
            .sorted { ($0.lastSeen, $0.source) < ($1.lastSeen, $1.source) }
        for agent in dead {
            agents[agent.source] = nil
            release(agent)
            // The connection may since speak for another source: unlink it only if it still means this one.
            if sourceByRoutingId[agent.routingId] == agent.source { sourceByRoutingId[agent.routingId] = nil }
        }
        return dead
    }

    private mutating func release(_ agent: Agent) {
        let left = bornOnConnection[agent.bornOn, default: 1] - 1
        bornOnConnection[agent.bornOn] = left > 0 ? left : nil
    }

    /// The earliest time at which some agent would expire, if any agent is alive.
    var nextExpiry: Int64? {
        var earliest: Int64?
        for agent in agents.values {
            let expiry = agent.lastSeen + agent.intervalMicroseconds * missedHeartbeats + 1
            if earliest.map({ expiry < $0 }) ?? true { earliest = expiry }
        }
        return earliest
    }

    /// An identifier for the agent behind `source`: its path segments, lower-cased, joined by `-`.
    static func agentIdentifier(source: String) -> String {
        var identifier = ""
        var lastWasDash = true
        for scalar in source.unicodeScalars {
            let character: Character
            switch scalar {
            case "a"..."z", "0"..."9": character = Character(scalar)
            case "A"..."Z": character = Character(String(scalar).lowercased())
            default: character = "-"
            }
            if character == "-" {
                if lastWasDash { continue }
                lastWasDash = true
            } else {
                lastWasDash = false
            }
            identifier.append(character)
            if identifier.count == 64 { break }
        }
        while identifier.hasSuffix("-") { identifier.removeLast() }
        return identifier.isEmpty ? "agent" : identifier
    }
}
