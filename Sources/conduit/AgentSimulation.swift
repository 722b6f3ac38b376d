import ArgumentParser
import ConduitAgent
import ConduitCore
import ConduitOperations
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
    /// Without the line each simulated month adds.
    var quiet = false

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
        let zone = scenario.timeZone
        // Where the simulated clock starts and when the first event falls due, so that a slow clock is not mistaken
        // for a stuck one.
        let firstWait = Double(events[next].due.microsecondsSinceEpoch - simulatedStart.microsecondsSinceEpoch) / speed / 1e6
        AgentCommand.note(
            "simulating \(events.count - next) events of \(organisation), due from \(Self.day(events[next].due, zone)) to "
                + "\(Self.day(events[events.count - 1].due, zone)), on a clock at \(Settings.text(of: speed)) times real time from "
                + "\(simulatedStart.localText(zone)): the first is due in \(Self.duration(firstWait))")
        var month = Self.month(simulatedStart, zone)
        let clock = ContinuousClock()
        let realStart = clock.now
        while next < events.count && !shouldStop() {
            let elapsed = clock.now - realStart
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let simulatedNow = simulatedStart.microsecondsSinceEpoch + Int64(seconds * speed * 1_000_000)
            let nowMonth = Self.month(Timestamp(microsecondsSinceEpoch: simulatedNow), zone)
            if nowMonth != month {
                month = nowMonth
                let due = events[next...].prefix { $0.due.microsecondsSinceEpoch <= simulatedNow }.count + next
                if !quiet && due < events.count {
                    AgentCommand.note("the simulated clock is in \(month): \(due) of \(events.count) events due so far")
                }
            }
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

    /// `2023-03-14`: the day of `time` in `zone`.
    static func day(_ time: Timestamp, _ zone: PlanTimeZone) -> Substring { time.localText(zone).prefix(10) }

    /// `2023-03`: the month of `time` in `zone`.
    static func month(_ time: Timestamp, _ zone: PlanTimeZone) -> Substring { time.localText(zone).prefix(7) }

    /// A span of real time, roughly: `under a second`, `12 s`, `4 min`, `2.5 h`, `3 days`.
    static func duration(_ seconds: Double) -> String {
        switch seconds {
        case ..<1: return "under a second"
        case ..<90: return "\(Int(seconds.rounded())) s"
        case ..<5400: return "\(Int((seconds / 60).rounded())) min"
        case ..<172_800:
            let tenths = Int((seconds / 360).rounded())
            return tenths % 10 == 0 ? "\(tenths / 10) h" : "\(tenths / 10).\(tenths % 10) h"
        default: return "\(Int((seconds / 86_400).rounded())) days"
        }
    }
}
