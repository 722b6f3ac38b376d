import ArgumentParser
import ConduitBridge
import ConduitCore
import ConduitJournal
import ConduitState
import Foundation
import NATS

/// `conduit province`: several counties' hubs seen as one, through NATS JetStream.
struct ProvinceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "province",
        abstract: "Gather several hubs' JetStream streams into one and fold them into one view, county by county.",
        discussion: """
            Each county's hub is carried into a stream of its own by conduit bridge nats. `province stream` makes a \
            stream that sources those streams (JetStream copies every message in, in each county's order); \
            `province state` folds a stream of several hubs into one state per hub, each under the plan its own \
            journal states, and prints a line per county and the province's total.

            Example:
              conduit province stream --nats nats://127.0.0.1:4222 --name CONDUIT_PROVINCE --county CONDUIT_JIANGKOU --county CONDUIT_HEXI
              conduit province state --nats nats://127.0.0.1:4222 --stream CONDUIT_PROVINCE
              conduit province fetch --stream CONDUIT_PROVINCE --hub hexi --dir hexi-journal
              conduit incident --dir hexi-journal --work-item ganjiaba-power
            """,
        subcommands: [ProvinceStream.self, ProvinceState.self, ProvinceFetch.self]
    )
}

struct ProvinceStream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Make a stream that sources the county streams (or check that it is there).")

    @OptionGroup var server: NATSServerOptions

    @Option(help: ArgumentHelp("The province's stream.", valueName: "name"))
    var name: String = "CONDUIT_PROVINCE"

    @Option(help: ArgumentHelp("A county's stream, as conduit bridge nats writes it (repeatable).", valueName: "stream"))
    var county: [String] = []

    @Option(help: "The stream's replicas: 1, or 3 on a cluster.")
    var replicas: Int = 1

    func validate() throws {
        guard !county.isEmpty else { throw ValidationError("--county names at least one county stream") }
        guard [1, 3, 5].contains(replicas) else { throw ValidationError("--replicas must be 1, 3 or 5; got \(replicas)") }
    }

    func run() throws {
        do {
            let (_, jetStream) = try server.connect(name: "conduit-province")
            var expected: UInt64 = 0
            for stream in county {
                guard let state = try jetStream.streamState(stream) else {
                    throw RuntimeFailure.exit(
                        "province stream", "there is no county stream \(stream) on \(server.nats.joined(separator: ","))", status: RuntimeFailure.notFound)
                }
                expected += state.messages
            }
            try ProvinceView.makeStream(jetStream, name: name, counties: county, replicas: replicas)
            // JetStream copies the county streams in on its own: wait until it holds what they held a moment ago.
            var held: UInt64 = 0
            for _ in 0..<100 {
                held = try jetStream.streamState(name)?.messages ?? 0
                if held >= expected { break }
                usleep(100_000)
            }
            guard held >= expected else {
                throw RuntimeFailure.exit(
                    "province stream",
                    "\(name) holds \(held) of the county streams' \(expected) messages after 10 s; a nats-server before 2.10 refuses sourced messages that carry Nats-Expected-Last-Sequence (its log says \"last sequence mismatch\"): run 2.10 or later",
                    status: RuntimeFailure.failure)
            }
            print("stream \(name) sources \(county.joined(separator: ", ")) and holds their \(held) messages; JetStream copies in what they receive from now on")
        } catch let error as NATSError {
            throw RuntimeFailure.exit("province stream", "\(error)", status: RuntimeFailure.unavailable)
        }
    }
}

struct ProvinceState: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Fold a stream of several hubs into one state per hub and print each county's figures and the total.")

    @OptionGroup var server: NATSServerOptions

    @Option(help: ArgumentHelp("The stream to fold: a province's, or one county's.", valueName: "name"))
    var stream: String = "CONDUIT_PROVINCE"

    @Flag(help: "Print JSON: each hub's plan, events and summary (as conduit state --json has it), and the province's total.")
    var json = false

    func run() throws {
        let hubs: [ProvinceView.Hub]
        do {
            let (_, jetStream) = try server.connect(name: "conduit-province")
            hubs = try ProvinceView.fold(jetStream, stream: stream) { read in
                if !json { FileHandle.standardError.write(Data("read \(read) messages…\n".utf8)) }
            }
        } catch let error as NATSError {
            throw RuntimeFailure.exit("province state", "\(error)", status: RuntimeFailure.unavailable)
        } catch let error as ProvinceView.Failure {
            throw RuntimeFailure.exit("province state", "\(error)", status: RuntimeFailure.noInput)
        }
        let summaries = hubs.map { $0.state.summary().overall }
        let households = summaries.reduce(0) { $0 + $1.households }
        let percent = households == 0 ? 0 : summaries.reduce(0.0) { $0 + $1.percentComplete * Double($1.households) } / Double(households)
        if json {
            let members: [JSONValue.Member] = hubs.map { hub in
                .init(hub.name, .object([
                    .init("plan", .string(hub.state.scenario.id)), .init("events", .number(String(hub.events))),
                    .init("lastSequence", .number(String(hub.lastSequence))),
                    .init("summary", (try? JSONValue.parse(hub.state.json(at: "summary") ?? [])) ?? .null),
                ]))
            }
            let total = JSONValue.object([
                .init("hubs", .number(String(hubs.count))), .init("households", .number(String(households))),
                .init("householdsWithoutService", .number(String(summaries.reduce(0) { $0 + $1.householdsAffectedNow }))),
                .init("percentComplete", .number(String(percent))),
                .init("itemsLate", .number(String(summaries.reduce(0) { $0 + $1.itemsLate }))),
            ])
            print(String(decoding: JSONValue.object([.init("hubs", .object(members)), .init("province", total)]).encoded, as: UTF8.self))
            return
        }
        func row(_ cells: [String]) -> String {
            zip(cells, [18, 36, 8, 7, 7, 9, 7, 12]).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " ")
        }
        print(row(["hub", "plan", "events", "items", "done %", "plan %", "late", "no service"]))
        for (hub, overall) in zip(hubs, summaries) {
            print(row([
                hub.name, hub.state.scenario.id, String(hub.events), String(overall.workItems), String(format: "%.1f", overall.percentComplete),
                String(format: "%.1f", overall.expectedPercent), String(overall.itemsLate), String(overall.householdsAffectedNow),
            ]))
        }
        print(row([
            "province", "\(hubs.count) hubs, \(households) households", String(hubs.reduce(0) { $0 + $1.events }),
            String(summaries.reduce(0) { $0 + $1.workItems }), String(format: "%.1f", percent), "",
            String(summaries.reduce(0) { $0 + $1.itemsLate }), String(summaries.reduce(0) { $0 + $1.householdsAffectedNow }),
        ]))
    }
}

struct ProvinceFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Copy one hub's events from a stream into a local journal that state, replay, incident and ledger read.",
        discussion: """
            The journal at --dir (made if missing) gets the hub's events under their own sequences and recorded \
            times, after those it already holds, so that running fetch again brings only what is new. A stream that \
            lacks some of the hub's events (a gap) is refused. Then: conduit state --dir <dir>, conduit replay --dir \
            <dir>, conduit incident --dir <dir> …
            """)

    @OptionGroup var server: NATSServerOptions

    @Option(help: ArgumentHelp("The stream to read: a province's, or one county's.", valueName: "name"))
    var stream: String = "CONDUIT_PROVINCE"

    @Option(help: ArgumentHelp("The hub whose events to copy (the <hub> of its message ids).", valueName: "name"))
    var hub: String

    @Option(help: ArgumentHelp("The local journal's directory.", valueName: "directory"))
    var dir: String

    func run() throws {
        do {
            let (_, jetStream) = try server.connect(name: "conduit-province")
            let (added, last) = try ProvinceView.fetch(jetStream, stream: stream, hub: hub, into: dir) { read in
                FileHandle.standardError.write(Data("read \(read) messages…\n".utf8))
            }
            print("fetched \(added) new events of hub \(hub) from \(stream) into \(dir); " + (last == 0 ? "it holds none" : "it holds sequences 1 to \(last)"))
        } catch let error as NATSError {
            throw RuntimeFailure.exit("province fetch", "\(error)", status: RuntimeFailure.unavailable)
        } catch let error as ProvinceView.Failure {
            throw RuntimeFailure.exit("province fetch", "\(error)", status: RuntimeFailure.noInput)
        } catch let error as JournalError {
            throw RuntimeFailure.exit("province fetch", "\(error)", status: RuntimeFailure.cannotCreate)
        }
    }
}

/// `--nats`: the NATS servers a command reaches JetStream through.
struct NATSServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A NATS server (repeatable: a cluster's servers).", valueName: "nats://host:port"))
    var nats: [String] = ["nats://127.0.0.1:4222"]

    func validate() throws {
        guard !nats.isEmpty else { throw ValidationError("--nats needs at least one server") }
    }

    /// A connection to the first server that answers, and its JetStream context (which keeps the connection open).
    func connect(name: String) throws(NATSError) -> (NATSConnection, JetStream) {
        let connection = try NATSConnection(servers: nats, name: name)
        return (connection, try connection.jetStream())
    }
}
