import ArgumentParser
import ConduitCore
import ConduitDashboard
import ConduitOperations
import ConduitReplay
import Foundation
import Logging
import ServiceLifecycle

/// `conduit dashboard`: the coordinators' web page and its HTTP API.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve the coordinators' dashboard: the live overview, the ledger, communities, outages, incidents, time travel, and the API.",
        discussion: """
            Follows the broker as `conduit watch --state` does (subscribe to the fan-out, take an aggregator's \\
            snapshot or fold the journal through the query endpoint, then live events, gaps filled) and serves, at \\
            --http-address (loopback by default): the page (/), the JSON API (/api/v1/, described by \\
            /api/v1/openapi.json), the live stream of events (/api/v1/stream, Server-Sent Events whose id is the \\
            sequence: a reconnecting browser misses nothing), /healthz and /readyz. History (time travel, diffs, \\
            incidents, windows of events) reads the journal directory given by --dir, read-only.

            Read-only. With --tokens, every request needs a coordinator's token: `Authorization: Bearer <token>`, \\
            or the page opened once with ?token=<token> (kept in a cookie). `--add-token <principal>` makes a token \\
            for a principal of --authorisation whose role reads the hub (coordinator, reviewer, dashboard), adds it \\
            to the --tokens file and prints the link.

            Settings: the "dashboard" section of the configuration file, CONDUIT_* variables, flags \\
            (conduit config keys dashboard).

            Example:
              conduit dashboard --dir conduit-data/journal --http-address 127.0.0.1:8080
            """
    )

    @OptionGroup var settings: SettingsOptions

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("fanout"), valueName: "endpoint"))
    var fanout: String?

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("query"), valueName: "endpoint"))
    var query: String?

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("snapshot"), valueName: "endpoint"))
    var snapshot: String?

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("dir"), valueName: "directory"))
    var dir: String?

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("key"), valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("serverKey"), valueName: "file"))
    var serverKey: String?

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("snapshotServerKey"), valueName: "file"))
    var snapshotServerKey: String?

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("tokens"), valueName: "file"))
    var tokens: String?

    @Option(help: ArgumentHelp(SettingsSchema.dashboard.help("httpAddress"), valueName: "host:port"))
    var httpAddress: String?

    @OptionGroup var log: LogOptions

    @Option(help: ArgumentHelp(
        "Make a token for this principal of --authorisation, add it to the --tokens file, print the link, and exit.", valueName: "principal"))
    var addToken: String?

    @Option(help: ArgumentHelp("With --add-token: the authorisation file (conduit-authorisation/1) that names the principal.", valueName: "file"))
    var authorisation: String?

    func run() async throws {
        let resolved = try settings.resolve(
            .dashboard,
            flags: [
                "fanout": fanout, "query": query, "snapshot": snapshot, "dir": dir, "key": key, "serverKey": serverKey,
                "snapshotServerKey": snapshotServerKey, "tokens": tokens, "httpAddress": httpAddress,
            ].merging(log.flags) { $1 })
        LogOptions.bootstrap(resolved, level: .info)
        let address = resolved.text("httpAddress") ?? "127.0.0.1:8080"
        guard let (bracketed, port) = hostAndPort(address) else {
            throw ValidationError("--http-address must be host:port, e.g. 127.0.0.1:8080; got \"\(address)\"")
        }
        let host = bracketed.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if let principal = addToken {
            try makeToken(for: principal, tokensFile: resolved.text("tokens"), host: host, port: port)
            return
        }
        let curve = try ClientKeyOptions.keys(resolved)
        let snapshotCurve = resolved.text("snapshotServerKey") == nil ? nil : try ClientKeyOptions.keys(resolved, serverKeyName: "snapshotServerKey")
        let queryEndpoint = resolved.text("query") ?? "tcp://127.0.0.1:5572"
        let journal = resolved.text("dir")
        if let journal {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: journal, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--dir \(journal) is not a journal directory")
            }
        }
        let plan = journal.map { CommandPlan.of(journal: $0) } ?? CommandPlan.of(query: queryEndpoint, curve: curve)
        var configuration = DashboardFeed.Configuration(
            fanout: resolved.text("fanout") ?? "tcp://127.0.0.1:5571", query: queryEndpoint, snapshot: resolved.text("snapshot"), plan: plan)
        configuration.curve = curve
        configuration.snapshotCurve = snapshotCurve
        let access = try resolved.text("tokens").map { try DashboardTokens.read($0) }.map { DashboardAccess(tokens: $0) }
        let feed = try DashboardFeed(configuration: configuration)
        let api = DashboardAPI(feed: feed, journalDirectory: journal, checkpoints: nil)
        feed.start()
        defer { feed.stop() }
        let application = DashboardServer.application(api: api, host: host, port: port, access: access) { bound in
            print("dashboard http://\(host.contains(":") ? "[\(host)]" : host):\(bound)/")
            fflush(nil)
            ServiceNotification.ready(environment: ProcessInfo.processInfo.environment)
        }
        do {
            // Stopped in reverse order: the feed first, which ends the open streams, then the server, which waits
            // for its requests to end.
            try await ServiceRunning.run([application, FeedService(feed: feed)], logger: Logger(label: "conduit.dashboard"))
        } catch {
            throw RuntimeFailure.exit("dashboard", "\(error)", status: RuntimeFailure.unavailable)
        }
    }

    private func makeToken(for principal: String, tokensFile: String?, host: String, port: Int) throws {
        guard let tokensFile else { throw ValidationError("--add-token needs --tokens, the file to add the token to") }
        guard let authorisation else { throw ValidationError("--add-token needs --authorisation, the file that names the principal") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: authorisation)) } catch {
            throw ValidationError("cannot read \(authorisation): \(error.localizedDescription)")
        }
        let principals: [(name: String, role: String?)]
        do { principals = try DashboardTokens.principals(inAuthorisation: Array(data)) } catch {
            throw ValidationError("\(authorisation): \(error)")
        }
        guard let found = principals.first(where: { $0.name == principal }) else {
            throw ValidationError("\(authorisation) names no principal \(principal) (it names \(principals.map(\.name).joined(separator: ", ")))")
        }
        guard let role = found.role, ["coordinator", "reviewer", "dashboard"].contains(role) else {
            throw ValidationError("\(principal)'s role is \(found.role ?? "none"): only coordinator, reviewer and dashboard read the dashboard")
        }
        let token = try DashboardTokens.add(principal: principal, to: tokensFile)
        print("token for \(principal): \(token)")
        print("link: http://\(host):\(port)/?token=\(token)")
    }
}

/// The dashboard's feed as a part of the command's service group: on a graceful shutdown it stops, ending every
/// open stream, so that the server's own shutdown does not wait on browsers that never hang up.
struct FeedService: Service {
    let feed: DashboardFeed

    func run() async throws {
        try? await gracefulShutdown()
        feed.stop()
    }
}
