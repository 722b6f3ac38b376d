import ArgumentParser
import ConduitAgent
import ConduitCore
import ConduitSimulation
import Foundation

/// `conduit agent --simulate`: plays one organisation's part of the field simulator's year through the agent.
///
/// The simulated clock starts at the year's beginning (or, when the outbox says the simulation already went some
/// way, at the next event's due time) and runs `speed` times real time. Every event due by the simulated now is
/// published together with the position reached (the outbox's cursor, stored in the same durable write), so a
/// restart neither skips nor repeats an event.
struct AgentSimulation {
    var organisation: String
    var seed: UInt64
    var speed: Double
    var agentName = "sim"
    var scenario: Scenario = .default

    /// Checks that a simulation continued in `directory` is the one begun there (same seed), and records it when it
    /// begins: an outbox's cursor is a position in one seed's plan, meaningless in another's.
    static func checkSeed(_ seed: UInt64, in directory: String, started: Bool, how: String) throws {
        let path = directory + "/simulation.json"
        if let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let recorded = (object["seed"] as? NSNumber)?.uint64Value
        {
            guard recorded == seed || !started else {
                throw ValidationError("\(directory) holds a simulation begun with seed \(recorded); continue it with --seed \(recorded), or \(how)")
            }
            if recorded == seed { return }
        }
        let text = "{\"seed\":\(seed)}\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw ValidationError("cannot write \(path)")
        }
    }

    /// This organisation's events, in the order they are due.
    func plan() -> [SimulatedEvent] {
        FieldSimulator.plan(scenario: scenario, options: SimulationOptions(seed: seed, agent: agentName))
            .filter { $0.event.sourceOrganisation == organisation }
    }

    /// Publishes the plan on the simulated clock until it is done or `shouldStop`; returns an exit status.
    func run(agent: Agent, shouldStop: () -> Bool) throws -> Int32 {
        let events = plan()
        guard !events.isEmpty else {
            AgentCommand.note("\(organisation) has no part in the simulated year")
            return 0
        }
        var next = Int(agent.outbox.cursor ?? 0)
        try Self.checkSeed(seed, in: agent.outbox.directory, started: next > 0, how: "give a fresh --outbox")
        if next >= events.count {
            AgentCommand.note("the simulated year is already published (\(events.count) events); a fresh outbox starts it again")
            return 0
        }
        if next > 0 { AgentCommand.note("continuing the simulation at event \(next + 1) of \(events.count)") }
        let simulatedStart = next == 0 ? FieldSimulator.span(of: scenario).start : events[next].due
        let clock = ContinuousClock()
        let realStart = clock.now
        while next < events.count && !shouldStop() {
            let elapsed = clock.now - realStart
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let simulatedNow = simulatedStart.microsecondsSinceEpoch + Int64(seconds * speed * 1_000_000)
            var end = next
            while end < events.count && events[end].due.microsecondsSinceEpoch <= simulatedNow { end += 1 }
            if end > next {
                try agent.publish(events[next..<end].map(\.event), cursor: UInt64(end))
                next = end
                continue
            }
            let wait = Double(events[next].due.microsecondsSinceEpoch - simulatedNow) / speed / 1_000_000
            Thread.sleep(forTimeInterval: min(max(wait, 0.001), 0.1))
        }
        if next == events.count { AgentCommand.note("the simulated year is published: \(events.count) events") }
        return 0
    }
}
