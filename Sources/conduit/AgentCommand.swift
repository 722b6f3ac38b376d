import ArgumentParser
import ConduitAgent
import ConduitCore
import ConduitJournal
import ConduitReplay
import Foundation
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
            a --seed. Restarted with the same outbox, it continues where it stopped.

            --follow also prints the other organisations' outages and inspections at this organisation's communities.

            Examples:
              conduit agent --org water-investment-company < events.jsonl
              conduit agent --org china-telecom --watch-dir /var/spool/telecom-events
              conduit agent --org power-supply-bureau --simulate --speed 86400 --seed 7 --follow
            """
    )

    @Option(help: "The organisation this agent speaks for (its id in the scenario), e.g. water-investment-company.")
    var org: String

    @OptionGroup var connection: AgentConnectionOptions

    @Option(help: ArgumentHelp("Forward *.jsonl files dropped in this directory instead of standard input.", valueName: "directory"))
    var watchDir: String?

    @Flag(help: "Simulate this organisation's field work over the scenario's year instead of forwarding.")
    var simulate = false

    @Option(help: "With --simulate: the simulated clock's speed, times real time (525600: a year in about a minute).")
    var speed: Double = 525_600

    @Option(help: "With --simulate: the seed that makes the year reproducible.")
    var seed: UInt64 = 2023

    @Option(help: "The fan-out endpoint for --follow.")
    var fanout: String = "tcp://127.0.0.1:5571"

    @Flag(help: "Print the other organisations' outages and inspections at this organisation's communities.")
    var follow = false

    @Flag(help: "Print only rejections and the final summary, not every acknowledgement.")
    var quiet = false

    @Option(help: "At the end of the input, how long to wait for the broker to answer what is still pending (seconds).")
    var drainTimeout: Double = 30

    func validate() throws {
        guard Scenario.default.organisation(org) != nil else {
            throw ValidationError(
                "--org \(org) is not an organisation of the scenario; one of: \(Scenario.default.organisations.map(\.id).joined(separator: ", "))")
        }
        if simulate && watchDir != nil { throw ValidationError("--simulate and --watch-dir exclude each other") }
        if speed <= 0 { throw ValidationError("--speed must be above 0") }
    }

    func run() async throws {
        // SIGINT/SIGTERM end the input and the wait for the last answers; the agent's work runs on a thread of its
        // own (it reads stdin, a directory or a simulated calendar, and waits).
        let stop = ReplayCommand.Interruption()
        let signals = await TrappedSignals([.sigint, .sigterm]) { _ in stop.flag.store(true, ordering: .releasing) }
        defer { signals.cancel() }
        nonisolated(unsafe) let command = self  // parsed options, read only
        try await onOwnThread { try command.runAgent(stop: stop) }
    }

    func runAgent(stop: ReplayCommand.Interruption) throws {
        var configuration = try connection.configuration(organisation: org, defaultAgent: simulate ? "sim" : "agent")
        let counters = OutcomeCounters()
        let quiet = quiet
        configuration.onOutcome = { outcome in counters.report(outcome, quiet: quiet) }
        if simulate && configuration.source != "/\(org)/sim" {
            throw ValidationError("--simulate publishes as /\(org)/sim; leave --agent out")
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
        var feed: AgentFeed?
        if follow {
            let writer = ReplayWriter(format: .timeline)
            let created = AgentFeed(endpoint: fanout, organisation: org, curve: configuration.curve) { event in
                print("concerns us: " + writer.timelineLine(sequence: event.sequence ?? 0, event: event))
                fflush(nil)
            }
            try created.start()
            feed = created
        }
        defer { feed?.stop() }
        agent.start()
        Self.note("agent \(configuration.source) → \(configuration.endpoint), outbox \(configuration.outboxDirectory)")

        let shouldStop = { stop.flag.load(ordering: .acquiring) }
        let status: Int32
        if simulate {
            status = try AgentSimulation(organisation: org, seed: seed, speed: speed).run(agent: agent, shouldStop: shouldStop)
        } else if let watchDir {
            try Self.forwardDirectory(watchDir, agent: agent, counters: counters, shouldStop: shouldStop)
            status = 0
        } else {
            Self.forwardLines(FileHandle.standardInput, name: "stdin", agent: agent, counters: counters, shouldStop: shouldStop)
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
        agent.stop()
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

    /// Reads JSON lines and publishes each valid event; an invalid line is reported with its number and skipped.
    /// Returns the lines that failed, with their reasons.
    /// What a reader of lines keeps of its bad lines: the first ``maximumKept`` (each quoted up to ``quoteBytes``),
    /// and how many there were in all. Its memory, and the report made of it, stay bounded whatever the input.
    struct LineFailures {
        static let maximumKept = 1000
        static let quoteBytes = 200
        var kept: [(line: Int, quote: String, reason: String)] = []
        var count = 0

        mutating func add(line: Int, bytes: ArraySlice<UInt8>, reason: String) {
            count += 1
            guard kept.count < Self.maximumKept else { return }
            var quote = String(decoding: bytes.prefix(Self.quoteBytes), as: UTF8.self)
            if bytes.count > Self.quoteBytes { quote += "…" }
            kept.append((line, quote.escapingControlCharacters(), reason))
        }

        /// The report written beside a file: the kept failures, and how many more there were.
        var report: String {
            var text = kept.map { "line \($0.line): \($0.reason)\n\($0.quote)\n" }.joined()
            if count > kept.count { text += "… and \(count - kept.count) more rejected line(s)\n" }
            return text
        }
    }

    /// The longest line taken as an event: one event and its line break (a longer one is rejected unread).
    static let maximumLineBytes = EventCodec.maximumEventBytes + 2

    /// Forwards the events of `handle`, one JSON object a line, in linear time and bounded memory: a line longer
    /// than an event can be is rejected without being kept. Stops at the end of the input, or when `shouldStop`
    /// (checked at least every fifth of a second while the input is quiet).
    @discardableResult
    static func forwardLines(
        _ handle: FileHandle, name: String, agent: Agent, counters: OutcomeCounters?, shouldStop: () -> Bool
    ) -> LineFailures {
        var failures = LineFailures()
        var buffer: [UInt8] = []
        var scanned = 0  // bytes of `buffer` already searched for a line break
        var skipping = false  // inside a line that is too long: drop bytes until its end
        var lineNumber = 0
        func reject(_ bytes: ArraySlice<UInt8>, _ reason: String) {
            failures.add(line: lineNumber, bytes: bytes, reason: reason)
            counters?.countInvalid()
            print("rejected \(name):\(lineNumber): \(reason)".escapingControlCharacters())
            fflush(nil)
        }
        func take(_ line: ArraySlice<UInt8>) {
            lineNumber += 1
            var bytes = line
            while let last = bytes.last, last == 13 || last == 32 { bytes.removeLast() }
            guard !bytes.isEmpty else { return }
            do {
                let event = try EventCodec.decode(Array(bytes))
                try agent.publish([event])
            } catch {
                reject(bytes, "\(error)")
            }
        }
        while !shouldStop() {
            // Wait for input a fifth of a second at a time, so that Ctrl-C is noticed while the input is quiet.
            var descriptor = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 200)
            if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer += chunk
            var start = 0
            while let newline = buffer[(start + scanned)...].firstIndex(of: 10) {
                if skipping {
                    skipping = false
                } else {
                    take(buffer[start..<newline])
                }
                start = newline + 1
                scanned = 0
            }
            buffer.removeSubrange(..<start)
            scanned = buffer.count
            if buffer.count > maximumLineBytes {
                if !skipping {
                    lineNumber += 1
                    reject(buffer[...], "longer than \(maximumLineBytes) bytes: not an event; skipped to its end")
                    skipping = true
                }
                buffer.removeAll(keepingCapacity: true)
                scanned = 0
            }
        }
        if !buffer.isEmpty && !skipping && !shouldStop() { take(buffer[...]) }
        return failures
    }

    /// Forwards *.jsonl files dropped in `directory`, oldest name first, until interrupted.
    static func forwardDirectory(_ directory: String, agent: Agent, counters: OutcomeCounters, shouldStop: () -> Bool) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--watch-dir \(directory) is not a directory")
        }
        note("watching \(directory) for *.jsonl files (write them under another name and rename them in); Ctrl-C to stop")
        var unmovable: Set<String> = []
        var skipped: Set<String> = []
        while !shouldStop() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names.filter({ $0.hasSuffix(".jsonl") && !unmovable.contains($0) && !skipped.contains($0) }).sorted() {
                if shouldStop() { break }
                let path = directory + "/" + name
                // Regular files only, never followed through a link: a link could name a file elsewhere (whose lines
                // would land in the report here), a FIFO or a device could be read for ever.
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                guard info.st_mode & S_IFMT == S_IFREG else {
                    skipped.insert(name)
                    note("\(name): not a regular file (a link, a FIFO or a device); skipped".escapingControlCharacters())
                    continue
                }
                // A file changed within the last second may still be being written: take it on a later pass.
                if Double(time(nil)) - Double(info.st_mtim.tv_sec) < 1 { continue }
                let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard descriptor >= 0 else { continue }
                var opened = stat()
                guard fstat(descriptor, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG else {
                    close(descriptor)  // replaced between the look and the open
                    continue
                }
                let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
                let failures = forwardLines(handle, name: name, agent: agent, counters: counters, shouldStop: shouldStop)
                try? handle.close()
                if shouldStop() {
                    // Part of it may be in the outbox already; it is read again next time (the broker stores each
                    // event once: same source and id).
                    note("\(name): interrupted; it will be read again".escapingControlCharacters())
                    break
                }
                if failures.count > 0 {
                    // Replaced whole (a link at that name is replaced, not followed).
                    try? AtomicFile.replace(path + ".rejected", with: Array(failures.report.utf8), durable: false)
                }
                // Everything valid is in the outbox (durable) before the file is marked done. A name already done
                // before gets a suffix; a file that cannot be renamed is reported and never read again.
                var done = path + ".done"
                var attempt = 1
                while FileManager.default.fileExists(atPath: done) {
                    attempt += 1
                    done = path + ".\(attempt).done"
                }
                do {
                    try FileManager.default.moveItem(atPath: path, toPath: done)
                } catch {
                    unmovable.insert(name)
                    note("\(name): forwarded, but it cannot be renamed to \((done as NSString).lastPathComponent) (\(error.localizedDescription)); it will not be read again while this agent runs".escapingControlCharacters())
                }
                note("\(name): forwarded, \(failures.count) line(s) rejected".escapingControlCharacters())
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }
}
