import ArgumentParser
import ConduitAgent
import ConduitBroker
import ConduitCore
import ConduitOperations
import Foundation
import Logging
import Synchronization
import ZeroMQ

/// What `conduit agent` and `conduit publish` share: where the broker is, the outbox, the identity and keys.
/// The endpoint and keys come from, in increasing priority: the defaults, a connection profile, (for the agent) its
/// section of the configuration file, the environment (CONDUIT_INGEST, CONDUIT_KEY, CONDUIT_SERVER_KEY), the flags.
struct AgentConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The broker's ingest endpoint (default tcp://127.0.0.1:5570; CONDUIT_INGEST, or the profile's). For a hub whose brokers stand by for each other (conduit broker --hub), every broker's, comma-separated: the agent moves to the active one.",
        valueName: "endpoint[,endpoint...]"))
    var ingest: String?

    @Option(help: ArgumentHelp(
        "The agent's name: the second segment of the events' source, /<organisation>/<agent>.", valueName: "name"))
    var agent: String?

    @Option(help: ArgumentHelp(
        "The outbox directory (default conduit-data/outbox/<organisation>-<agent>). One process at a time.",
        valueName: "directory"))
    var outbox: String?

    @Option(help: ArgumentHelp(
        "This client's key file (from `conduit keygen --owner <organisation>`), when the broker requires CURVE (CONDUIT_KEY).",
        valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("The broker's public key file, with --key (CONDUIT_SERVER_KEY).", valueName: "file"))
    var serverKey: String?

    @Option(help: ArgumentHelp(
        "A connection profile: the hub's endpoints and keys, saved with conduit profile save (default: CONDUIT_PROFILE, else the one conduit profile use selected).",
        valueName: "name"))
    var profile: String?

    /// The flags as settings.
    var flags: [String: String?] { ["ingest": ingest, "agent": agent, "outbox": outbox, "key": key, "serverKey": serverKey] }

    /// The profile these options name, or the environment's, or the selected one.
    func chosenProfile() throws -> ConnectionProfile? {
        do { return try ConnectionProfile.chosen(flag: profile, environment: ProcessInfo.processInfo.environment) } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The agent's configuration for `organisation`, with `defaultAgent` when no agent name is given; from
    /// `settings` when the command resolved them (the agent's), else from the profile, environment and flags.
    func configuration(organisation: String, defaultAgent: String, settings given: Settings? = nil) throws -> Agent.Configuration {
        let settings: Settings
        if let given {
            settings = given
        } else {
            do {
                settings = try Settings.resolve(
                    .client, file: nil, profile: try chosenProfile(), environment: ProcessInfo.processInfo.environment,
                    flags: ["ingest": ingest, "key": key, "serverKey": serverKey])
            } catch let error as SettingsError {
                throw ValidationError("\(error)")
            }
        }
        let name = (given?.text("agent") ?? agent) ?? defaultAgent
        guard Identifier.isValid(name) else {
            throw ValidationError("--agent \"\(name)\" must be lower-case letters, digits and dashes")
        }
        let endpoints = (settings.text("ingest") ?? "tcp://127.0.0.1:5570").split(separator: ",", omittingEmptySubsequences: false).map {
            String($0).trimmingCharacters(in: .whitespaces)
        }
        guard let first = endpoints.first, !endpoints.contains(where: \.isEmpty) else {
            throw ValidationError("--ingest needs an endpoint, or several separated by commas; got \"\(settings.text("ingest") ?? "")\"")
        }
        var configuration = Agent.Configuration(
            endpoint: first, source: "/\(organisation)/\(name)",
            outboxDirectory: (given?.text("outbox") ?? outbox) ?? "conduit-data/outbox/\(organisation)-\(name)")
        configuration.alternateEndpoints = Array(endpoints.dropFirst())
        switch (settings.text("key"), settings.text("serverKey")) {
        case (nil, nil):
            break
        case (let key?, let serverKey?):
            do {
                let keys = try CurveKeyFile.read(key).keyPair(path: key)
                let server = try CurveKeyFile.read(serverKey)
                guard let serverPublic = Z85.decode(server.publicKey) else {
                    throw ValidationError("\(serverKey): publicKey is not a Z85 key")
                }
                configuration.curve = (keys, serverPublic)
            } catch let error as ValidationError {
                throw error
            } catch {
                throw ValidationError("\(error)")
            }
        default:
            throw ValidationError("--key and --server-key go together")
        }
        try FileManager.default.createDirectory(atPath: configuration.outboxDirectory, withIntermediateDirectories: true)
        return configuration
    }

    /// Logs to standard error at warning and above: the commands print outcomes themselves.
    static func logger(label: String, level: Logger.Level = .warning) -> Logger {
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return Logger(label: label) { _ in handler }
    }
}

/// `conduit publish`: one event, from flags or a JSON file, through an outbox; prints the sequence or the rejection.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish one event (progress, outage, inspection or a ledger acknowledgement) from flags or a JSON file.",
        discussion: """
            The event is validated against the scenario, stored in an outbox on disk, sent to the broker and \
            reported: the sequence the broker assigned, or the rejection with its code and path. If the broker does \
            not answer within --timeout, the event stays in the outbox and is sent by the next run that uses the \
            same outbox (same --org and --agent); do not publish it again by hand, or give it a fixed --id so that \
            the broker recognises a second copy (within its deduplication window, the last 500,000 events by default).

            Examples:
              conduit publish progress --org power-supply-bureau --work-item ganjiaba-power --status in_progress --percent 45
              conduit publish outage --org water-investment-company --site ruijing-biyuan --service water \\
                --status noticed --window-start 2023-07-03T09:00:00+08:00 --window-end 2023-07-03T17:00:00+08:00 \\
                --buildings b01,b02 --households 120 --subject w-0703
              conduit publish inspection --org housing-bureau --work-item ganjiaba-power --status performed \\
                --inspection-kind joint_acceptance --result failed --defect "d1:major:2023-11-15:cable tray loose"
              conduit publish acknowledgement --org county-government-office \
                --entry short_notice/ganjiaba/power/ganjiaba-power-cutover-2 --note "written explanation received"
              conduit publish file event.json

            Exit status: 0 acknowledged (also for a resend the broker already had), 65 rejected (invalid here, or \
            refused by the broker: the event, or this client's key in the handshake; not stored), 75 stored in the outbox but not acknowledged in time, 73 the outbox \
            cannot be opened or is in use, 64 bad usage.
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case progress, outage, inspection, acknowledgement, file
    }

    @Argument(help: "progress, outage, inspection, acknowledgement, or file (then give the JSON file's path).")
    var kind: Kind

    @Argument(help: "With `file`: the event as CloudEvents JSON (`-` for standard input).")
    var path: String?

    @Option(help: "The publishing organisation (its id in the scenario), e.g. power-supply-bureau.")
    var org: String?

    @OptionGroup var connection: AgentConnectionOptions

    @Option(help: "The event id, unique for this source (default: generated).")
    var id: String?

    @Option(help: "When the fact happened, RFC 3339 (default: now).")
    var time: String?

    @Option(help: "A subject: the outage's reference (keeps its reports together), a building…")
    var subject: String?

    @Option(name: .customLong("work-item"), help: "The work item (progress, inspection; an outage's cause).")
    var workItem: String?

    @Option(help: "The community (outage; otherwise taken from the work item).")
    var site: String?

    @Option(help: "The status: planned, scheduled, in_progress, suspended, completed, accepted, cancelled (progress); proposed, noticed, started, restored, cancelled (outage); requested, performed (inspection).")
    var status: String?

    @Option(help: "Percent complete, 0 to 100 (progress).")
    var percent: Double?

    @Option(help: "Why the work is blocked (progress).")
    var blockingReason: String?

    @Option(help: "YYYY-MM-DD (progress).") var plannedStart: String?
    @Option(help: "YYYY-MM-DD (progress).") var plannedFinish: String?
    @Option(help: "YYYY-MM-DD (progress).") var actualStart: String?
    @Option(help: "YYYY-MM-DD (progress).") var actualFinish: String?

    @Option(help: "Households affected (progress, outage).")
    var households: Int?

    @Option(help: "The interrupted service: power, water, telecom, broadcast (outage).")
    var service: String?

    @Option(help: "planned or unplanned (outage; default planned).")
    var nature: String = "planned"

    @Option(help: "RFC 3339 (outage).") var windowStart: String?
    @Option(help: "RFC 3339 (outage).") var windowEnd: String?
    @Option(help: "When the notice was issued, RFC 3339 (outage; default: --time for status noticed).") var noticedAt: String?
    @Option(help: "RFC 3339 (outage).") var startedAt: String?
    @Option(help: "RFC 3339 (outage).") var restoredAt: String?

    @Option(help: "Affected buildings of the site, comma-separated (outage).")
    var buildings: String?

    @Option(name: .customLong("inspection-kind"), help: "joint_acceptance, water_acceptance, elevator_supervisory_inspection, fire_safety (inspection).")
    var inspectionKind: String?

    @Option(help: "passed, failed or conditional (inspection, performed).")
    var result: String?

    @Option(help: "The inspecting organisation (inspection; default --org).")
    var authority: String?

    @Option(help: "RFC 3339 (inspection; default --time when performed).") var performedAt: String?

    @Option(parsing: .singleValue, help: "A defect, id:severity:due-date:description (inspection; repeatable; due date may be empty).")
    var defect: [String] = []

    @Option(help: "The ledger entry's key, as `conduit ledger` shows it (acknowledgement).")
    var entry: String?

    @Option(help: "The coordinator's note (acknowledgement).")
    var note: String?

    @Option(help: "How long to wait for the broker's answer.")
    var timeout: Double = 10

    func run() throws {
        // The hub's plan names the work items the event is built from and validated against (without an answer the
        // broker alone validates, once the event reaches it).
        let plan: Scenario?
        let event: Event
        if kind == .file {
            event = try makeEvent(plan: .default)
            plan = try hubPlan(organisation: String(event.sourceOrganisation))
        } else {
            guard let org else { throw ValidationError("--org is required: the publishing organisation's id, e.g. power-supply-bureau") }
            plan = try hubPlan(organisation: org)
            event = try makeEvent(plan: plan ?? .default)
        }
        // A file's event keeps its own source; the outbox is the organisation's `cli` one unless --agent says otherwise.
        var configuration = try connection.configuration(organisation: String(event.sourceOrganisation), defaultAgent: "cli")
        if kind == .file, connection.agent == nil {
            configuration.source = event.source
        }
        guard event.source == configuration.source else {
            throw ValidationError("the event's source \(event.source) is not this agent's \(configuration.source)")
        }
        configuration.scenario = plan
        configuration.announcesPresence = false  // one event, not an agent's session: no birth and death recorded
        let outcome = Mutex<AgentOutcome?>(nil)
        let others = Mutex(0)
        let mine = Mutex<UInt64?>(nil)
        configuration.onOutcome = { result in
            switch result {
            case .acknowledged(let entry, _, _), .rejected(let entry, _):
                if mine.withLock({ $0 }) == entry.number { outcome.withLock { $0 = result } } else { others.withLock { $0 += 1 } }
            case .refused:
                outcome.withLock { $0 = result }
            case .connected, .disconnected:
                break
            }
        }
        let agent: Agent
        do {
            agent = try Agent(configuration: configuration, logger: AgentConnectionOptions.logger(label: "conduit.publish"))
        } catch {
            throw RuntimeFailure.exit("publish", "\(error)", status: RuntimeFailure.cannotCreate)
        }
        let entries: [OutboxEntry]
        do {
            entries = try agent.publish([event])
        } catch {
            FileHandle.standardError.write(Data("rejected (not stored): \(error.rejection.map { "\($0)" } ?? error.message)\n".utf8))
            throw ExitCode(65)
        }
        mine.withLock { $0 = entries.first?.number }
        agent.start()
        let deadline = Date().addingTimeInterval(timeout)
        while outcome.withLock({ $0 }) == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        _ = agent.drain(timeout: .milliseconds(200))  // earlier runs' leftovers, briefly
        agent.stop()
        let earlier = others.withLock { $0 }
        if earlier > 0 { FileHandle.standardError.write(Data("also delivered \(earlier) event(s) stored by an earlier run\n".utf8)) }
        switch outcome.withLock({ $0 }) {
        case .acknowledged(_, let sequence, let duplicate)?:
            print("acknowledged \(event.source) \(event.id): sequence \(sequence)\(duplicate ? " (the broker had it already)" : "")")
        case .rejected(_, let error)?:
            FileHandle.standardError.write(Data("rejected by the broker (not stored): \(error)\n".utf8))
            throw ExitCode(65)
        case .refused(let error)?:
            FileHandle.standardError.write(Data("the broker refused this agent: \(error); the event stays in \(configuration.outboxDirectory)\n".utf8))
            throw ExitCode(65)
        default:
            let why = agent.status.handshakeFailure ?? "no answer from \(configuration.endpoint) within \(timeout) s"
            FileHandle.standardError.write(Data(
                "\(why); \(event.id) is stored in \(configuration.outboxDirectory) and will be sent by the next run with this outbox (do not publish it again with a new id)\n".utf8))
            throw ExitCode(75)
        }
    }

    // MARK: - Building the event

    func makeEvent(plan scenario: Scenario) throws -> Event {
        if kind == .file {
            guard let path else { throw ValidationError("publish file needs the JSON file's path (or - for standard input)") }
            let data: Data
            if path == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let read = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
                data = read
            }
            var bytes = [UInt8](data)
            while let last = bytes.last, last == 10 || last == 13 || last == 32 { bytes.removeLast() }
            do {
                return try EventCodec.decode(bytes)
            } catch {
                FileHandle.standardError.write(Data("rejected (not stored): \(path): \(error)\n".utf8))
                throw ExitCode(65)
            }
        }
        guard path == nil else { throw ValidationError("unexpected argument \(path!); only `publish file` takes a path") }
        guard let org else { throw ValidationError("--org is required: the publishing organisation's id, e.g. power-supply-bureau") }
        guard scenario.organisation(org) != nil else {
            throw ValidationError("--org \(org) is not an organisation of the plan \(scenario.id) (\(scenario.organisations.map(\.id).joined(separator: ", ")))")
        }
        let when = try time.map { try ReplayCommand.instant($0, option: "--time") } ?? Timestamp(microsecondsSinceEpoch: Broker.wallClock())
        let item = try workItem.map { id throws -> WorkItem in
            guard let item = scenario.workItem(id) else {
                throw ValidationError("--work-item \(id) is not a work item of the plan \(scenario.id)")
            }
            return item
        }
        let agentName = connection.agent ?? "cli"
        var utility = item?.utility
        var community = site ?? item?.community
        var subjectItem = item?.id
        let data: EventData
        switch kind {
        case .progress:
            guard item != nil else { throw ValidationError("progress needs --work-item") }
            guard let status else { throw ValidationError("progress needs --status") }
            data = .progress(ProgressReport(
                status: try ReplayCommand.value(WorkStatus.self, status, option: "--status"), percent: percent,
                plannedStart: try date(plannedStart, "--planned-start"), plannedFinish: try date(plannedFinish, "--planned-finish"),
                actualStart: try date(actualStart, "--actual-start"), actualFinish: try date(actualFinish, "--actual-finish"),
                householdsAffected: households, blockingReason: blockingReason))
        case .outage:
            guard let site = community else { throw ValidationError("outage needs --site (or --work-item)") }
            guard let service else { throw ValidationError("outage needs --service") }
            guard let status else { throw ValidationError("outage needs --status") }
            let serviceValue = try ReplayCommand.value(Utility.self, service, option: "--service")
            let statusValue = try ReplayCommand.value(OutageStatus.self, status, option: "--status")
            let buildingList = buildings.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? []
            var affected = households
            if affected == nil, let known = scenario.community(site) {
                affected = known.buildings.filter { buildingList.contains($0.id) }.reduce(0) { $0 + $1.households }
            }
            community = site
            utility = serviceValue
            subjectItem = nil  // an outage names its cause in data.causedBy
            data = .outage(OutageReport(
                status: statusValue, nature: try ReplayCommand.value(OutageNature.self, nature, option: "--nature"),
                service: serviceValue, windowStart: try stamp(windowStart, "--window-start"), windowEnd: try stamp(windowEnd, "--window-end"),
                noticedAt: try stamp(noticedAt, "--noticed-at") ?? (statusValue == .noticed ? when : nil),
                startedAt: try stamp(startedAt, "--started-at") ?? (statusValue == .started ? when : nil),
                restoredAt: try stamp(restoredAt, "--restored-at") ?? (statusValue == .restored ? when : nil),
                buildings: buildingList, households: affected ?? 0, causedBy: item?.id))
        case .inspection:
            guard item != nil else { throw ValidationError("inspection needs --work-item") }
            guard let status else { throw ValidationError("inspection needs --status (requested or performed)") }
            guard let inspectionKind else { throw ValidationError("inspection needs --inspection-kind") }
            let statusValue = try ReplayCommand.value(InspectionStatus.self, status, option: "--status")
            data = .inspection(InspectionReport(
                status: statusValue, kind: try ReplayCommand.value(InspectionKind.self, inspectionKind, option: "--inspection-kind"),
                authority: authority ?? org, performedAt: try stamp(performedAt, "--performed-at") ?? (statusValue == .performed ? when : nil),
                result: try result.map { try ReplayCommand.value(InspectionResult.self, $0, option: "--result") },
                defects: try defect.map(Self.parseDefect)))
        case .acknowledgement:
            guard let key = entry else { throw ValidationError("acknowledgement needs --entry, the ledger entry's key (conduit ledger shows it)") }
            guard let note, !note.isEmpty else { throw ValidationError("acknowledgement needs --note, the coordinator's note") }
            let kindName = String(key.prefix { $0 != "/" })
            let kind = try ReplayCommand.value(AlertKind.self, kindName, option: "--entry's first segment")
            data = .alert(AlertReport(status: .acknowledged, kind: kind, key: key, message: note))
            utility = nil
            community = nil
            subjectItem = nil
        case .file:
            throw ValidationError("unreachable")
        }
        return Event(
            id: id ?? Self.generatedID(), source: "/\(org)/\(agentName)", time: when, subject: subject, utility: utility,
            site: community, workItem: subjectItem, data: data)
    }

    /// The plan of the hub; `nil`, with a warning, when the hub does not answer (the event then waits in the outbox
    /// like any other, and names of the built-in seed plan are assumed to build it). A broker that refuses this
    /// client's key ends the command (status 65) before anything is stored: no later run with that key would deliver it.
    func hubPlan(organisation: String) throws -> Scenario? {
        do {
            let configuration = try connection.configuration(organisation: organisation, defaultAgent: "cli")
            return try HubPlan.fetch(
                endpoint: configuration.endpoint, alternates: configuration.alternateEndpoints, curve: configuration.curve,
                timeout: .milliseconds(Int64(min(timeout, 5) * 1000))
            ).plan()
        } catch let unavailable as HubPlan.Unavailable where unavailable.keyRefused {
            throw RuntimeFailure.exit("publish", "\(unavailable); nothing was stored", status: 65)
        } catch {
            FileHandle.standardError.write(Data("conduit publish: \(error); building the event with the built-in plan \(Scenario.default.id)\n".utf8))
            return nil
        }
    }

    static func parseDefect(_ text: String) throws -> Defect {
        let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, !parts[0].isEmpty else {
            throw ValidationError("--defect \"\(text)\" must be id:severity:due-date:description (due date may be empty)")
        }
        let due: CalendarDate?
        if parts[2].isEmpty {
            due = nil
        } else {
            do { due = try CalendarDate(iso8601: parts[2]) } catch {
                throw ValidationError("--defect \"\(text)\": \(parts[2]) is not a date YYYY-MM-DD")
            }
        }
        return Defect(
            id: parts[0], severity: try ReplayCommand.value(DefectSeverity.self, parts[1], option: "--defect severity"),
            description: parts[3], dueDate: due)
    }

    func date(_ text: String?, _ option: String) throws -> CalendarDate? {
        guard let text else { return nil }
        do { return try CalendarDate(iso8601: text) } catch { throw ValidationError("\(option) \(text) is not a date YYYY-MM-DD") }
    }

    func stamp(_ text: String?, _ option: String) throws -> Timestamp? {
        try text.map { try ReplayCommand.instant($0, option: option) }
    }

    /// A fresh id: the time and random bits, unique enough per source.
    static func generatedID() -> String {
        let micros = Broker.wallClock()
        return "cli-\(micros)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }
}
