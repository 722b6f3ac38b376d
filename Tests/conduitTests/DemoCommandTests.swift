import ConduitCore
import ConduitJournal
import ConduitReplay
import ConduitSimulation
import ConduitState
import ConduitTesting
import Foundation
import Testing

/// `conduit demo` and `conduit agent --simulate` end to end, in a short mode.
@Suite(.timeLimit(.minutes(10))) struct DemoCommandTests {
    /// What clients stored in the journal (not the plan the broker states first).
    static func journal(_ directory: String) throws -> [Event] { try JournalContents.clientEvents(in: directory) }

    @Test func aSimulatingAgentPublishesItsPartOfTheYearExactlyOnce() throws {
        let broker = try TestBroker()
        let outbox = TemporaryDirectory()
        let arguments = [
            "agent", "--org", "china-unicom", "--simulate", "--speed", "2000000000", "--seed", "7", "--quiet",
            "--ingest", broker.endpoints.ingest, "--outbox", outbox.path,
        ]
        let first = try ChildProcess.conduit(arguments)
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.errors.contains("the simulated year is published"))
        // Run again with the same outbox: nothing more to publish, nothing published twice.
        let again = try ChildProcess.conduit(arguments)
        #expect(again.status == 0)
        #expect(again.errors.contains("already published"))
        broker.stop()
        let part = FieldSimulator.plan(scenario: .default, options: SimulationOptions(seed: 7))
            .filter { $0.event.sourceOrganisation == "china-unicom" }
        let expected = part.map(\.event.id)
        // It says at the start what it will play and where its clock starts; --quiet leaves out the monthly lines.
        let zone = Scenario.default.timeZone
        let (firstDay, lastDay) = (part[0].due.localText(zone).prefix(10), part[part.count - 1].due.localText(zone).prefix(10))
        #expect(
            first.errors.contains(
                "simulating \(part.count) events of china-unicom, due from \(firstDay) to \(lastDay), on a clock at 2000000000 times "
                    + "real time from \(FieldSimulator.span(of: .default).start.localText(zone)): the first is due in under a second"),
            "\(first.errors)")
        #expect(!first.errors.contains("the simulated clock is in"))
        let stored = try Self.journal(broker.directory.appending("journal")).filter { $0.kind != .presence }
        #expect(stored.map(\.id) == expected)
        #expect(stored.allSatisfy { $0.source == "/china-unicom/sim" })
    }

    @Test func theDemoPlaysTheYearContinuesAfterAnInterruptionAndStoresEveryEventOnce() throws {
        let directory = TemporaryDirectory()
        let data = directory.appending("demo")
        // Interrupted part-way: Ctrl-C stops it cleanly.
        let demo = try RunningConduit(["demo", "--data", data, "--duration", "30", "--plain", "--seed", "11"])
        // Interrupted once the year is under way: some events of every kind published, far from all.
        #expect(Poll.until(120) { demo.output.all.contains("  #60  ") }, "\(demo.output.all)")
        demo.signal(SIGINT)
        let output = demo.output
        #expect(demo.finish(timeout: 120) == 0, "\(output.all)")
        #expect(output.all.contains("Interrupted at"))
        #expect(output.all.contains("watch: conduit watch --state --key \(data)/keys/"), "the line to follow it live, at the start")
        let partial = try Self.journal(data + "/journal")
        let plan = FieldSimulator.plan(scenario: .default, options: SimulationOptions(seed: 11))
        #expect(partial.filter { $0.kind == .progress || $0.kind == .outage || $0.kind == .inspection }.count < plan.count)

        // Continuing with another seed would mix two years: refused, and nothing is changed.
        let otherSeed = try ChildProcess.conduit(["demo", "--data", data, "--duration", "4", "--plain", "--seed", "12"])
        #expect(otherSeed.status == 64)
        #expect(otherSeed.errors.contains("continue it with --seed 11"))
        #expect(try Self.journal(data + "/journal").count == partial.count)

        // Run again: it continues, and finishes the year.
        let continued = try ChildProcess.conduit(["demo", "--data", data, "--duration", "4", "--plain", "--seed", "11"])
        #expect(continued.status == 0, "\(continued.errors)")
        #expect(continued.output.contains("continuing the interrupted run"))
        #expect(continued.output.contains("The year played"))
        #expect(continued.output.contains("Look back at it:"))
        #expect(continued.output.contains("conduit state --dir \(data)/journal"))


        // Every event of the plan is in the journal exactly once, whoever published it when.
        let events = try Self.journal(data + "/journal")
        let facts = events.filter { $0.kind == .progress || $0.kind == .outage || $0.kind == .inspection }
        #expect(facts.count == plan.count)
        #expect(Set(facts.map { $0.source + "#" + $0.id }) == Set(plan.map { $0.event.source + "#" + $0.event.id }))
        // Authentication was on: the broker stamped each event with the organisation of the key that sent it.
        #expect(facts.allSatisfy { $0.authenticatedIdentity.map { $0[...] } == $0.sourceOrganisation })
        #expect(FileManager.default.fileExists(atPath: data + "/keys/broker.key"))
        // The aggregator's alerts came back through the broker, and its checkpoint is there.
        #expect(events.contains { $0.kind == .alert })

        // The aggregator's last checkpoint is the journal's fold up to its sequence (its clock advanced to the
        // aggregator's, which heartbeats also moved): what was live is what a replay gives.
        let checkpoint = try #require(FileManager.default.contents(atPath: data + "/aggregator.checkpoint"))
        let live = try AggregateState.restore(json: Array(checkpoint), scenario: .default)
        var replayed = try StateReplay(directory: data + "/journal").state(atSequence: live.lastSequence)
        if let now = live.now { _ = replayed.advance(to: now) }
        #expect(live.lastSequence > 0)
        #expect(replayed.workItems == live.workItems)
        #expect(replayed.outages == live.outages)
        #expect(Set(replayed.activeAlerts.keys) == Set(live.activeAlerts.keys))
        // Every alert still raised at the end reached the journal, whichever run derived it (an alert derived just
        // before the interruption waited in the aggregator's outbox).
        let journaled = Set(events.compactMap { event -> String? in
            if case .alert(let alert) = event.data, alert.status == .raised { alert.key } else { nil }
        })
        #expect(Set(live.activeAlerts.keys).isSubset(of: journaled), "\(Set(live.activeAlerts.keys).subtracting(journaled))")
        // The recorded calendar is the simulated year.
        #expect(events.last.flatMap(\.recordedTime).map { $0.rfc3339.hasPrefix("2023-12-31T16:00:00") || $0.rfc3339.hasPrefix("2024") } == true, "\(events.suffix(3).map { "\($0.sequence ?? 0) \($0.kind) \($0.source) \($0.recordedTime?.rfc3339 ?? "-") \($0.id)" })")

        // A finished run starts fresh next time.
        let fresh = try ChildProcess.conduit(["demo", "--data", data, "--duration", "2", "--plain", "--seed", "11"])
        #expect(fresh.status == 0)
        #expect(fresh.output.contains("finished; starting fresh"))
        #expect(try Self.journal(data + "/journal").filter { $0.kind == .progress }.count == plan.filter { $0.event.kind == .progress }.count)
    }

    @Test func theDemoRefusesADirectoryThatIsNotItsOwn() throws {
        let directory = TemporaryDirectory()
        _ = FileManager.default.createFile(atPath: directory.appending("thesis.tex"), contents: Data("x".utf8))
        let outcome = try ChildProcess.conduit(["demo", "--data", directory.path, "--duration", "1", "--plain"])
        #expect(outcome.status == 64)
        #expect(outcome.errors.contains("thesis.tex"))
        #expect(FileManager.default.fileExists(atPath: directory.appending("thesis.tex")))
    }
}
