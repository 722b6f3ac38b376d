import ArgumentParser
import ConduitAgent
import ConduitAggregator
import ConduitBroker
import ConduitConsole
import ConduitCore
import ConduitDashboard
import ConduitJournal
import ConduitOperations
import ConduitSimulation
import ConduitState
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// `conduit demo`: the whole system in one process, playing the scenario's year in about a minute.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Play the renovation year in about a minute: broker, aggregator and every organisation's agent in one process.",
        discussion: """
            Starts a broker (journal in <data>/journal), the state aggregator, and one simulated agent per \
            organisation of the default scenario — the power supply bureau, the water company, China Telecom, China \
            Mobile, China Unicom, the broadcast network company, and the inspecting bodies — each with its outbox on \
            disk. The hub runs on a simulated calendar (the year of the scenario) while the agents publish their \
            field work as it falls due; the live view shows progress per community and utility, open outages and \
            alerts as the aggregator raises them. At the end: a summary, and the commands to look back at it.

            Running it again continues an interrupted run (Ctrl-C stops it cleanly) or, once a run has finished, \
            starts fresh; --fresh and --continue decide explicitly. The endpoints are the usual ones \
            (tcp://127.0.0.1:5570-5573) so `conduit watch` and `conduit state --snapshot` work beside it; if they \
            are taken, free ports are used and printed.
            """
    )

    @Option(help: ArgumentHelp("Where the demo keeps its journal, outboxes and checkpoint.", valueName: "directory"))
    var data: String = "conduit-demo"

    @Option(help: "How long the whole year takes, in seconds of real time.")
    var duration: Double = 60

    @Option(help: "The seed of the simulated year (the same seed plays the same year).")
    var seed: UInt64 = 2023

    @Flag(help: "Start over: remove the previous run's data first.")
    var fresh = false

    @Flag(name: .customLong("continue"), help: "Continue the previous run where it stopped.")
    var continueRun = false

    @Flag(help: "Print plain lines (events, alerts, roll-ups) instead of the live view, even on a terminal.")
    var plain = false

    @Option(help: ArgumentHelp(
        "Where the coordinators' dashboard serves while the year plays (host:port; a free port if it is taken; off: none).",
        valueName: "host:port"))
    var dashboard: String = "127.0.0.1:8080"

    func validate() throws {
        if fresh && continueRun { throw ValidationError("--fresh and --continue exclude each other") }
        if duration <= 0 { throw ValidationError("--duration must be above 0 seconds") }
        if dashboard != "off" && hostAndPort(dashboard) == nil {
            throw ValidationError("--dashboard must be host:port (127.0.0.1:8080) or off; got \"\(dashboard)\"")
        }
    }


    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        let scenario = Scenario.default
        let plan = FieldSimulator.plan(scenario: scenario, options: SimulationOptions(seed: seed))
        let organisations = FieldSimulator.organisations(in: scenario)
        let span = FieldSimulator.span(of: scenario)
        try prepareDirectory(plan: plan, organisations: organisations)

        // The agents, with their outboxes (opened first: they say how far an earlier run got).
        var agents: [String: Agent] = [:]
        var slices: [String: [SimulatedEvent]] = [:]
        var cursors: [String: Int] = [:]
        for organisation in organisations {
            slices[organisation] = plan.filter { $0.event.sourceOrganisation == organisation }
        }
        // Where the simulated calendar starts: the beginning of the year, or where the previous run got to.
        var resumeAt = span.start
        var published = 0
        try FileManager.default.createDirectory(atPath: "\(data)/outbox", withIntermediateDirectories: true)
        for organisation in organisations {
            let outbox: Outbox
            do {
                outbox = try Outbox(directory: "\(data)/outbox/\(organisation)")
            } catch {
                FileHandle.standardError.write(Data("conduit demo: \(error) (is another conduit demo using \(data)?)\n".utf8))
                throw ExitCode(73)
            }
            let cursor = Int(outbox.cursor ?? 0)
            outbox.close()
            cursors[organisation] = cursor
            published += cursor
        }
        // The cursors are positions in one seed's plan: check the seed before reading the plan with them.
        try AgentSimulation.checkSeed(seed, in: data, started: published > 0, how: "start over with --fresh")
        for organisation in organisations {
            let cursor = cursors[organisation] ?? 0
            guard let slice = slices[organisation], cursor <= slice.count else {
                throw ValidationError("the outbox of \(organisation) in \(data) is past the end of this seed's plan; start over with --fresh")
            }
            if cursor > 0, slice[cursor - 1].due > resumeAt { resumeAt = slice[cursor - 1].due }
        }
        let clock = SimulatedCalendar(start: resumeAt, speed: Double(span.end.microsecondsSinceEpoch - span.start.microsecondsSinceEpoch) / 1_000_000 / duration)

        // Authentication on, as in a real deployment: the demo's own keys (one per organisation, the aggregator's, a
        // coordinator's for watching), the broker admitting only them.
        let keys = try DemoKeys.loadOrMake(in: "\(data)/keys", owners: organisations + ["conduit", Self.watcher])
        // The broker on the simulated calendar (its timers keep real time).
        let broker = try await startBroker(clock: clock, authentication: keys.authentication)
        let endpoints = broker.endpoints
        for organisation in organisations {
            var configuration = Agent.Configuration(
                endpoint: endpoints.ingest, source: "/\(organisation)/sim", outboxDirectory: "\(data)/outbox/\(organisation)")
            configuration.heartbeatInterval = .seconds(1)
            configuration.curve = keys.client(organisation).map { ($0.keys, $0.serverKey) }
            do { agents[organisation] = try Agent(configuration: configuration) } catch { throw ValidationError("\(error)") }
        }

        // The aggregator, telling the live view what changes.
        let display = DemoDisplay(scenario: scenario, interactive: plain ? false : nil)
        var aggregatorConfiguration = AggregatorConfiguration()
        aggregatorConfiguration.fanoutEndpoint = endpoints.fanout
        aggregatorConfiguration.queryEndpoint = endpoints.query
        aggregatorConfiguration.ingestEndpoint = endpoints.ingest
        aggregatorConfiguration.checkpointPath = "\(data)/aggregator.checkpoint"
        aggregatorConfiguration.curve = keys.client("conduit")
        aggregatorConfiguration.snapshotClients = keys.clients[Self.watcher].map { [$0.publicKey: Self.watcher] }
        aggregatorConfiguration.observer = { update in display.update(update) }
        let aggregator = try await startAggregator(aggregatorConfiguration)

        display.begin(
            header: "conduit demo: \(plan.count) events of \(organisations.count) organisations, \(span.start.adding(seconds: 8 * 3600).rfc3339.prefix(10)) to \(scenario.deadline) in \(Int(duration)) s, seed \(seed)"
                + (published > 0 ? "; continuing after \(published) events" : ""),
            endpoints: endpoints, snapshot: aggregator.endpoint)
        // The coordinators' dashboard, on the hub as a coordinator would reach it (the supervision office's key).
        var web: DemoDashboard?
        if let address = hostAndPort(dashboard) {
            web = try await DemoDashboard.start(
                host: address.host, port: address.port, endpoints: endpoints, journal: "\(data)/journal", plan: scenario,
                curve: keys.client(Self.watcher))
            if let web {
                print("dashboard: \(web.url) (live while the year plays)")
                fflush(nil)
            }
        }
        defer { web?.stop() }
        // How to follow it live from another terminal, while it runs (the summary says it again at the end).
        print("watch: conduit watch --state --key \(data)/keys/\(Self.watcher).key --server-key \(data)/keys/broker.pub")
        fflush(nil)

        // One service group: the broker, the aggregator, the agents and the calendar that drives them. The calendar
        // ends the year (or is interrupted by SIGINT/SIGTERM); the others are then stopped in the reverse order,
        // agents first (they say goodbye to a broker still there), the broker last.
        let driver = DemoDriver(
            organisations: organisations, slices: slices, cursors: cursors, agents: agents, clock: clock, span: span,
            broker: broker.broker, aggregator: aggregator.aggregator)
        let realStart = ContinuousClock.now
        var stopped: (any Error)?
        do {
            try await ServiceRunning.run(
                [broker.broker, aggregator.aggregator] + organisations.compactMap { agents[$0] } + [driver],
                logger: Logger(label: "conduit.demo"))
        } catch {
            stopped = error
        }
        let interrupted = driver.outcome.interrupted
        let elapsed = ContinuousClock.now - realStart
        if let failure = driver.outcome.failure {
            display.finish(state: nil, summary: ["conduit demo: \(failure)"])
            throw ExitCode(1)
        }
        display.finish(
            state: display.latestState,
            summary: summary(
                state: display.latestState, counts: display.counts, interrupted: interrupted, elapsed: elapsed,
                simulatedNow: Timestamp(microsecondsSinceEpoch: clock.now()), endpoints: endpoints))
        if let failure = broker.broker.failure {
            FileHandle.standardError.write(Data("conduit demo: the broker stopped: \(failure)\n".utf8))
            throw ExitCode(74)
        }
        if let stopped { throw stopped }
    }

    /// The coordinator whose key the demo makes for watching it: the supervision office.
    static let watcher = "county-government-office"

    // MARK: - Setting up

    /// Decides fresh or continue, and clears the directory for a fresh run (only if it holds a demo's data).
    func prepareDirectory(plan: [SimulatedEvent], organisations: [String]) throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: data) else { return }
        let contents = (try? manager.contentsOfDirectory(atPath: data)) ?? []
        let known: Set<String> = [
            "journal", "journal.state", "outbox", "aggregator.checkpoint", AtomicFile.temporaryName(for: "aggregator.checkpoint"),
            "aggregator.checkpoint.alerts", "simulation.json", "keys",
        ]
        guard contents.allSatisfy(known.contains) else {
            throw ValidationError(
                "--data \(data) holds other files (\(contents.filter { !known.contains($0) }.sorted().joined(separator: ", "))); give the demo a directory of its own")
        }
        var startFresh = fresh
        if !fresh && !continueRun && !contents.isEmpty {
            // Finished runs start over; interrupted ones continue.
            let finished = organisations.allSatisfy { organisation in
                let total = plan.filter { $0.event.sourceOrganisation == organisation }.count
                guard let outbox = try? Outbox(directory: "\(data)/outbox/\(organisation)") else { return false }
                defer { outbox.close() }
                return Int(outbox.cursor ?? 0) >= total
            }
            if finished {
                print("conduit demo: the previous run in \(data) finished; starting fresh (--continue keeps it)")
                startFresh = true
            } else {
                print("conduit demo: continuing the interrupted run in \(data) (--fresh starts over)")
            }
        }
        if startFresh {
            // Not under a demo that is running: its outboxes are locked while it runs.
            for organisation in organisations {
                do {
                    try Outbox(directory: "\(data)/outbox/\(organisation)").close()
                } catch {
                    throw ValidationError("\(data) is in use (\(error)); stop the other conduit demo first")
                }
            }
            for name in contents { try manager.removeItem(atPath: "\(data)/\(name)") }
        }
    }

    /// A broker on the usual endpoints, or on free ports if they are taken.
    func startBroker(clock: SimulatedCalendar, authentication: BrokerAuthentication) async throws -> (broker: Broker, endpoints: BrokerEndpoints) {
        var configuration = BrokerConfiguration(journalDirectory: "\(data)/journal")
        configuration.authentication = authentication
        configuration.shutdownLinger = .milliseconds(300)
        for attempt in 0..<2 {
            if attempt == 1 {
                configuration.ingestEndpoint = "tcp://127.0.0.1:*"
                configuration.fanoutEndpoint = "tcp://127.0.0.1:*"
                configuration.queryEndpoint = "tcp://127.0.0.1:*"
            }
            let broker = Broker(configuration: configuration, logger: Logger(label: "conduit.demo.broker"), calendar: { clock.now() })
            do {
                return (broker, try await broker.start())
            } catch where error.code == .endpointUnavailable && attempt == 0 {
                continue
            } catch {
                FileHandle.standardError.write(Data("conduit demo: the broker cannot start: \(error)\n".utf8))
                throw ExitCode(error.code == .journalUnusable ? 74 : 69)
            }
        }
        throw ExitCode(69)
    }

    func startAggregator(_ base: AggregatorConfiguration) async throws -> (aggregator: Aggregator, endpoint: String) {
        var configuration = base
        for attempt in 0..<2 {
            if attempt == 1 { configuration.snapshotEndpoint = "tcp://127.0.0.1:*" }
            let aggregator = Aggregator(configuration: configuration, logger: Logger(label: "conduit.demo.aggregator"))
            do {
                return (aggregator, try await aggregator.start())
            } catch {
                if attempt == 0 { continue }
                FileHandle.standardError.write(Data("conduit demo: the aggregator cannot start: \(error)\n".utf8))
                throw ExitCode(69)
            }
        }
        throw ExitCode(69)
    }

    // MARK: - The end

    func summary(
        state: AggregateState?, counts: DemoDisplay.Counts, interrupted: Bool, elapsed: Duration, simulatedNow: Timestamp,
        endpoints: BrokerEndpoints
    ) -> [String] {
        var lines: [String] = []
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let until = simulatedNow.rfc3339.prefix(10)
        if interrupted {
            lines.append("Interrupted at \(until) after \(String(format: "%.0f", seconds)) s; `conduit demo --data \(data)\(seed == 2023 ? "" : " --seed \(seed)")` continues from there.")
        } else {
            lines.append("The year played in \(String(format: "%.0f", seconds)) s.")
        }
        lines.append(
            "\(counts.events) events folded by the aggregator (\(counts.byKind.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))); alerts raised \(counts.raised), cleared \(counts.cleared).")
        if let state {
            let summary = state.summary()
            let overall = summary.overall
            lines.append(
                String(
                    format: "Overall: %.0f%% complete, %d of %d work items accepted, %d late, %d households without service now.",
                    overall.percentComplete, overall.itemsAccepted, overall.workItems, overall.itemsLate, overall.householdsAffectedNow))
            // Work that needs no acceptance (the household survey) is done when completed.
            let late = state.workItems.filter {
                $0.status != .accepted && $0.status != .cancelled && !($0.item.acceptance == nil && $0.status == .completed)
            }
            for item in late {
                lines.append("  not done: \(item.item.id) (\(item.status?.rawValue ?? "planned"), \(Int(item.percent))%, planned to finish \(item.item.plannedFinish))")
            }
            lines += LedgerSummary.lines(state)
        }
        let journal = "\(data)/journal"
        let example = state?.workItems.first { $0.status != .accepted }?.item.id ?? "ganjiaba-power"
        lines.append("")
        lines.append("Look back at it:")
        lines.append("  conduit state --dir \(journal)                          the state at the end")
        lines.append("  conduit state --dir \(journal) --at 2023-07-01          the state as it was on 1 July")
        lines.append("  conduit ledger --dir \(journal) --status all --by organisation   the supervision office's ledger")
        lines.append("  conduit replay --dir \(journal) --kind alert            the ledger's alerts as they were published")
        lines.append("  conduit state --dir \(journal) --diff 2023-06-01 2023-07-01 what changed in June")
        lines.append("  conduit incident \(example) --dir \(journal)")
        lines.append("  conduit replay --dir \(journal) --kind outage --community ganjiaba --format csv")
        lines.append("While it runs (authentication is on; the demo made its keys in \(data)/keys):")
        lines.append("  conduit watch --state --key \(data)/keys/\(Self.watcher).key --server-key \(data)/keys/broker.pub")
        return lines
    }
}

/// The hub's calendar during the demo: the simulated year, running `speed` times real time from `start`.
final class SimulatedCalendar: Sendable {
    let start: Timestamp
    let speed: Double
    private let realStart = ContinuousClock.now
    private let frozen = Atomic<Int64>(.max)

    init(start: Timestamp, speed: Double) {
        self.start = start
        self.speed = speed
    }

    /// Microseconds since the epoch on the simulated calendar.
    func now() -> Int64 {
        let elapsed = ContinuousClock.now - realStart
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return min(frozen.load(ordering: .acquiring), start.microsecondsSinceEpoch + Int64(seconds * speed * 1_000_000))
    }

    /// Stops the calendar at `time` (or where it is, if earlier).
    func freeze(at time: Int64) {
        frozen.store(min(time, now()), ordering: .releasing)
    }
}

/// The demo's calendar as a service: publishes each organisation's events through its agent as they fall due on
/// the simulated calendar, runs to the end of the year (so the deadline rules see it pass), then waits until what
/// was published is acknowledged and folded, the aggregator's alerts included, and returns. A graceful shutdown
/// (SIGINT/SIGTERM) interrupts it where it is; the next run continues from the agents' outbox cursors.
final class DemoDriver: Service, Sendable {
    struct Outcome: Sendable {
        var interrupted = false
        var failure: String?
    }

    let organisations: [String]
    let slices: [String: [SimulatedEvent]]
    let startCursors: [String: Int]
    let agents: [String: Agent]
    let clock: SimulatedCalendar
    let span: (start: Timestamp, end: Timestamp)
    let broker: Broker
    let aggregator: Aggregator
    private let result = Mutex(Outcome())
    private let stopRequested = Atomic<Bool>(false)

    init(
        organisations: [String], slices: [String: [SimulatedEvent]], cursors: [String: Int], agents: [String: Agent],
        clock: SimulatedCalendar, span: (start: Timestamp, end: Timestamp), broker: Broker, aggregator: Aggregator
    ) {
        self.organisations = organisations
        self.slices = slices
        self.startCursors = cursors
        self.agents = agents
        self.clock = clock
        self.span = span
        self.broker = broker
        self.aggregator = aggregator
    }

    var outcome: Outcome { result.withLock { $0 } }

    func run() async throws {
        await withGracefulShutdownHandler {
            await play()
        } onGracefulShutdown: {
            self.stopRequested.store(true, ordering: .releasing)
        }
    }

    private func play() async {
        var cursors = startCursors
        while !stopRequested.load(ordering: .acquiring) {
            let now = clock.now()
            var pending = false
            for organisation in organisations {
                guard let slice = slices[organisation], let agent = agents[organisation] else { continue }
                var next = cursors[organisation] ?? 0
                let start = next
                while next < slice.count && slice[next].due.microsecondsSinceEpoch <= now { next += 1 }
                if next > start {
                    do {
                        try agent.publish(slice[start..<next].map(\.event), cursor: UInt64(next))
                    } catch {
                        result.withLock { $0.failure = "\(organisation)'s agent cannot publish: \(error)" }
                        return
                    }
                    cursors[organisation] = next
                }
                if next < slice.count { pending = true }
            }
            if !pending && now >= span.end.microsecondsSinceEpoch { break }
            if broker.failure != nil { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let interrupted = stopRequested.load(ordering: .acquiring)
        result.withLock { $0.interrupted = interrupted }
        // The calendar stops at the end of the year (or where it was interrupted) while everything shuts down.
        clock.freeze(at: min(clock.now(), span.end.microsecondsSinceEpoch))
        guard !interrupted && broker.failure == nil else { return }
        // One deadline for all of it: the agents' last acknowledgements, then the aggregator's last events and alerts.
        let deadline = ContinuousClock.now + .seconds(60)
        for organisation in organisations {
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            _ = await agents[organisation]?.drain(timeout: left)
        }
        let head = broker.currentStatistics.lastSequence
        while !(aggregator.sequence >= head && aggregator.alertsSettled) && ContinuousClock.now < deadline
            && !stopRequested.load(ordering: .acquiring)
        {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The dashboard inside `conduit demo`: a feed of the demo's broker and the server, on a task of its own until the
/// demo ends.
struct DemoDashboard {
    let feed: DashboardFeed
    /// The server's own group: stopped by a graceful shutdown, which lets it close its connections (a cancelled
    /// server logs an error as it goes).
    let group: ServiceGroup
    let url: String

    /// Starts it at `host:port`, or at a free port when that one is taken; `nil` (with a note) when it cannot start.
    static func start(
        host: String, port: Int, endpoints: BrokerEndpoints, journal: String, plan: Scenario, curve: CurveClientKeys?
    ) async throws -> DemoDashboard? {
        var configuration = DashboardFeed.Configuration(fanout: endpoints.fanout, query: endpoints.query, plan: plan)
        configuration.curve = curve
        let feed = try DashboardFeed(configuration: configuration)
        feed.start()
        let api = DashboardAPI(feed: feed, journalDirectory: journal)
        for candidate in port == 0 ? [0] : [port, 0] {
            let bound = Mutex<Int?>(nil)
            let application = DashboardServer.application(api: api, host: host, port: candidate) { port in bound.withLock { $0 = port } }
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [application], logger: Logger(label: "conduit-dashboard")))
            let task = Task { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(10)
            while bound.withLock({ $0 }) == nil && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
                if task.isCancelled { break }
            }
            if let port = bound.withLock({ $0 }) {
                return DemoDashboard(feed: feed, group: group, url: "http://\(host):\(port)/")
            }
            task.cancel()
            _ = await task.result
        }
        FileHandle.standardError.write(Data("conduit demo: the dashboard could not start at \(host):\(port); the demo plays without it\n".utf8))
        feed.stop()
        return nil
    }

    func stop() {
        // The feed first: a live stream a browser holds then ends, so the server has nothing to wait for.
        feed.stop()
        let group = group
        Task { await group.triggerGracefulShutdown() }
    }
}
