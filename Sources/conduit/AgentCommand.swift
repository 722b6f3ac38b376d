import ArgumentParser
import ConduitAgent
import ConduitCore
import ConduitJournal
import ConduitOperations
import ConduitReplay
import Foundation
import ServiceLifecycle
import Logging
import Synchronization

/// `conduit agent`: one organisation's agent — forwarding its own systems' events, or simulating its field work.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run one organisation's agent: forward events from standard input or a directory, or simulate the year.",
        discussion: """
            Every event goes through an outbox on disk first (conduit-data/outbox/<organisation>-<agent> unless \
            --outbox says otherwise), so nothing is lost when the agent, the broker or the network goes down: what \
            was not acknowledged is resent, with the same id, until it is; a rejection is reported and not retried.

            Forwarding (the default): JSON lines, one CloudEvents event per line, from standard input (ends at end \
            of input, after the broker answered everything) or, with --watch-dir, from *.jsonl files dropped in a \
            directory (each renamed to .done once stored; lines that fail validation go to a .rejected file beside \
            it). Each acknowledgement or rejection is printed as a line.

            Simulation (--simulate): plays this organisation's part of the scenario's year as field work would \
            unfold, on a clock running --speed times real time (525600: a year in about a minute), reproducibly for \
            a --seed. Restarted with the same outbox, it continues where it stopped. It says at the start how many \
            events it will play, where its clock starts and when the first falls due, then where the clock is at \
            each new simulated month (not with --quiet).

            --follow also prints the other organisations' outages and inspections at this organisation's communities.

            Examples:
              conduit agent --org water-investment-company < events.jsonl
              conduit agent --org china-telecom --watch-dir /var/spool/telecom-events
              conduit agent --org power-supply-bureau --simulate --speed 86400 --seed 7 --follow
            """
    )

    @OptionGroup var settings: SettingsOptions

    @Option(help: ArgumentHelp(
        "The organisation this agent speaks for (its id in the plan), e.g. water-investment-company; required, here or in the settings (CONDUIT_ORG).",
        valueName: "organisation"))
    var org: String?

    @OptionGroup var connection: AgentConnectionOptions

    @Option(help: ArgumentHelp("Forward *.jsonl files dropped in this directory instead of standard input (CONDUIT_WATCH_DIR).", valueName: "directory"))
    var watchDir: String?

    @Flag(help: "Simulate this organisation's field work over the scenario's year instead of forwarding.")
    var simulate = false

    @Option(help: "With --simulate: the simulated clock's speed, times real time (525600: a year in about a minute).")
    var speed: Double = 525_600

    @Option(help: "With --simulate: the seed that makes the year reproducible.")
    var seed: UInt64 = 2023

    @Option(help: ArgumentHelp("The fan-out endpoint for --follow (default tcp://127.0.0.1:5571; CONDUIT_FANOUT).", valueName: "endpoint"))
    var fanout: String?

    @Flag(help: "Print the other organisations' outages and inspections at this organisation's communities.")
    var follow = false

    @OptionGroup var language: LanguageOption

    @Flag(help: "Print only rejections and the final summary, not every acknowledgement.")
    var quiet = false

    @Option(help: ArgumentHelp(
        "At the end of the input, how long to wait for the broker to answer what is still pending, in seconds (default 30; CONDUIT_DRAIN_TIMEOUT).",
        valueName: "seconds"))
    var drainTimeout: Double?

    @OptionGroup var log: LogOptions

    @Option(help: ArgumentHelp(
        SettingsSchema.agent.help("httpAddress") + ". Ready means connected and the oldest unacknowledged event waiting under 60 s.",
        valueName: "host:port"))
    var httpAddress: String?

    func validate() throws {
        if speed <= 0 { throw ValidationError("--speed must be above 0") }
    }

    /// The agent's settings that have a range or a form beyond their kind, checked where they were given (the agent
    /// checks them when it starts, `conduit config check` in a file).
    static func check(_ resolved: Settings) throws {
        func origin(_ key: String) -> String { resolved.origin(key).map { "\($0)" } ?? key }
        // The broker refuses the HELLO of an organisation its plan does not name; a plain typo is caught here first.
        if let org = resolved.text("org"), !Identifier.isValid(org) {
            throw SettingsError("\(origin("org")) must be an organisation id (lower-case letters, digits and dashes); got \"\(org)\"")
        }
        if let drainTimeout = resolved.number("drainTimeout"), drainTimeout < 0 {
            throw SettingsError("\(origin("drainTimeout")) must not be negative; got \(Settings.text(of: drainTimeout))")
        }
    }

    func run() async throws {
        let resolved = try settings.resolve(
            .agent, profile: try connection.chosenProfile(),
            flags: connection.flags.merging(log.flags) { $1 }.merging([
                "org": org, "watchDir": watchDir, "fanout": fanout, "drainTimeout": drainTimeout.map(Settings.text(of:)),
                "httpAddress": httpAddress,
            ]) { $1 })
        guard let org = resolved.text("org") else {
            throw ValidationError("--org is required (or org in the agent section of the configuration file, or CONDUIT_ORG): the organisation this agent speaks for")
        }
        do { try Self.check(resolved) } catch { throw ValidationError("\(error)") }
        let watchDir = resolved.text("watchDir")
        if simulate && watchDir != nil { throw ValidationError("--simulate and --watch-dir exclude each other") }
        let drainTimeout = resolved.number("drainTimeout") ?? 30
        let fanout = resolved.text("fanout") ?? "tcp://127.0.0.1:5571"
        // The log goes to standard error, apart from what the agent prints of its events on standard output.
        LogOptions.bootstrap(resolved, level: .warning)
        var configuration = try connection.configuration(organisation: org, defaultAgent: simulate ? "sim" : "agent", settings: resolved)
        let counters = OutcomeCounters()
        let quiet = quiet
        configuration.onOutcome = { outcome in counters.report(outcome, quiet: quiet) }
        if simulate && configuration.source != "/\(org)/sim" {
            throw ValidationError("--simulate publishes as /\(org)/sim; leave --agent out")
        }
        if let watchDir {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: watchDir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--watch-dir \(watchDir) is not a directory")
            }
        }
        // Asked before the first event is taken, so that events are validated against the hub's plan from the start:
        // without an answer the broker alone validates them (the agent adopts the hub's plan once connected).
        let plan: Scenario
        do {
            plan = try HubPlan.fetch(
                endpoint: configuration.endpoint, alternates: configuration.alternateEndpoints, curve: configuration.curve, timeout: .seconds(5)
            ).plan()
            configuration.scenario = plan
        } catch {
            Self.note("\(error); the broker alone validates until it answers\(simulate || follow ? ", and the built-in plan \(Scenario.default.id) is assumed" : "")")
            plan = .default
            configuration.scenario = nil
        }
        let agent: Agent
        do {
            agent = try Agent(configuration: configuration, logger: AgentConnectionOptions.logger(label: "conduit.agent"))
        } catch {
            Self.note("\(error)")
            throw ExitCode(73)  // EX_CANTCREAT: the outbox cannot be opened or is in use
        }
        if agent.outbox.tornTailBytes > 0 {
            Self.note(
                "the end of the outbox (\(agent.outbox.tornTailBytes) bytes) could not be read and was dropped: a record being written when the agent stopped, or damage")
        }
        let pendingAtStart = agent.status.pending
        if pendingAtStart > 0 { Self.note("resending \(pendingAtStart) event(s) left in \(configuration.outboxDirectory) by an earlier run") }
        var services: [any Service] = [agent]
        if follow {
            let writer = ReplayWriter(
                format: .timeline, scenario: plan, timeZone: try CommandPlan.timeZone(nil, plan: plan), language: try language.language())
            services.append(
                AgentFeed(endpoint: fanout, organisation: org, scenario: plan, curve: configuration.curve) { event in
                    print("concerns us: " + writer.timelineLine(sequence: event.sequence ?? 0, event: event))
                    fflush(nil)
                })
        }
        Self.note("agent \(configuration.source) → \(configuration.endpoint), outbox \(configuration.outboxDirectory)")

        // One service group: the agent, its feed, and the input. The input ends with its source (or SIGINT/SIGTERM,
        // a graceful shutdown that interrupts it), waits for the last answers, and then the agent stops (GOODBYE).
        let command = self
        let input = AgentInput { stop in
            try command.forward(
                agent: agent, plan: plan, organisation: org, watchDir: watchDir, drainTimeout: drainTimeout, counters: counters, stop: stop)
        }
        services.append(input)
        let http = HTTPHolder()
        defer { http.server.withLock { $0 }?.stop() }
        if let address = resolved.text("httpAddress") {
            let metrics = Agent.metrics(source: configuration.source, version: Conduit.version)
            do {
                let server = try OperationsServer(
                    address: address,
                    endpoints: OperationsEndpoints(
                        metrics: { agent.metricsExposition(metrics) }, readiness: { agent.readiness() }))
                http.server.withLock { $0 = server }
                Self.note("http http://\(server.address)")
            } catch {
                agent.stop()
                throw RuntimeFailure.exit("agent", "\(error)", status: RuntimeFailure.unavailable)
            }
        }
        try await ServiceRunning.run(services, logger: AgentConnectionOptions.logger(label: "conduit.agent"))
        let status = input.status
        let final = agent.status
        Self.note(
            "acknowledged \(final.acknowledged) (\(final.duplicates) already stored), rejected \(final.rejected + counters.invalidLines), pending \(final.pending), reconnections \(final.reconnects)")
        if let refused = final.refused {
            Self.note("the broker refused this agent: \(refused)")
            throw ExitCode(65)
        }
        if status != 0 { throw ExitCode(status) }
        if final.rejected + counters.invalidLines > 0 { throw ExitCode(65) }
        if final.pending > 0 { throw ExitCode(75) }
    }

    /// The input: a simulated year, a watched directory or standard input, forwarded until it ends or `stop` is
    /// set; then the wait for the last answers (within --drain-timeout). Runs on a thread of its own.
    func forward(
        agent: Agent, plan: Scenario, organisation org: String, watchDir: String?, drainTimeout: Double, counters: OutcomeCounters,
        stop: ReplayCommand.Interruption
    ) throws -> Int32 {
        let shouldStop = { stop.flag.load(ordering: .acquiring) }
        let status: Int32
        if simulate {
            status = try AgentSimulation(organisation: org, seed: seed, speed: speed, scenario: plan, quiet: quiet).run(agent: agent, shouldStop: shouldStop)
        } else if let watchDir {
            Self.note("watching \(watchDir) for *.jsonl files (write them under another name and rename them in); Ctrl-C to stop")
            EventLines.forwardDirectory(
                watchDir, agent: agent, onRejected: Self.rejected(counters), note: { Self.note($0) }, shouldStop: shouldStop)
            status = 0
        } else {
            EventLines.forward(
                FileHandle.standardInput, name: "stdin", agent: agent, onRejected: Self.rejected(counters), shouldStop: shouldStop)
            status = 0
        }
        if !shouldStop() {
            // Wait for the answers, a tenth of a second at a time so that Ctrl-C ends the wait.
            let deadline = ContinuousClock.now + .milliseconds(Int64(drainTimeout * 1000))
            var drained = false
            while !drained && !shouldStop() && ContinuousClock.now < deadline && agent.status.refused == nil {
                drained = agent.drain(timeout: .milliseconds(100))
            }
            if !drained && !shouldStop() && agent.status.refused == nil {
                Self.note("\(agent.status.pending) event(s) not acknowledged within \(drainTimeout) s; they stay in the outbox for the next run")
            }
        }
        return status
    }

    /// Prints a rejected line and counts it.
    static func rejected(_ counters: OutcomeCounters) -> (String) -> Void {
        { line in
            counters.countInvalid()
            print(line.escapingControlCharacters())
            fflush(nil)
        }
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data("conduit agent: \(text)\n".utf8))
    }

    /// Counts and prints outcomes as the agent reports them.
    final class OutcomeCounters: Sendable {
        private let invalid = Atomic<Int>(0)
        private let connected = Atomic<Bool>(false)
        private let waitingNoted = Atomic<Bool>(false)
        var invalidLines: Int { invalid.load(ordering: .relaxed) }
        func countInvalid() { invalid.add(1, ordering: .relaxed) }

        func report(_ outcome: AgentOutcome, quiet: Bool) {
            switch outcome {
            case .acknowledged(let entry, let sequence, let duplicate):
                if !quiet {
                    print("acknowledged \(entry.id): sequence \(sequence)\(duplicate ? " (already stored)" : "")")
                    fflush(nil)
                }
            case .rejected(let entry, let error):
                print("rejected \(entry.id): \(error)")
                fflush(nil)
            case .connected(let welcome):
                connected.store(true, ordering: .relaxed)
                AgentCommand.note("connected; the broker's journal is at sequence \(welcome.headSequence)")
            case .disconnected:
                // Once per loss: then the agent keeps trying, backing off, until the broker answers.
                if connected.exchange(false, ordering: .relaxed) {
                    AgentCommand.note("lost the broker; reconnecting (events wait in the outbox)")
                } else if !waitingNoted.exchange(true, ordering: .relaxed) {
                    AgentCommand.note("no answer from the broker yet; retrying with backoff (events wait in the outbox)")
                }
            case .refused:
                break
            }
        }
    }
}

/// The input of `conduit agent` as a service: its work runs on a thread of its own; a graceful shutdown (SIGINT,
/// SIGTERM) sets the flag it watches; its status is kept for the command's exit.
final class AgentInput: Service, Sendable {
    private let work: @Sendable (ReplayCommand.Interruption) throws -> Int32
    private let stop = ReplayCommand.Interruption()
    private let result = Mutex<Int32>(0)

    init(_ work: @escaping @Sendable (ReplayCommand.Interruption) throws -> Int32) { self.work = work }

    var status: Int32 { result.withLock { $0 } }

    func run() async throws {
        let stop = self.stop
        let work = self.work
        try await withGracefulShutdownHandler {
            let status = try await onOwnThread { try work(stop) }
            result.withLock { $0 = status }
        } onGracefulShutdown: {
            stop.flag.store(true, ordering: .releasing)
        }
    }
}
