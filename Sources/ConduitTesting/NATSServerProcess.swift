import Foundation

/// `nats-server` with JetStream as a child process on loopback, alone or as a node of a cluster, for tests of what
/// Conduit carries into NATS. Its store is a directory of the caller's, kept across ``restart()``.
public final class NATSServerProcess {
    public private(set) var process = Process()
    public let name: String
    public let clientPort: Int
    public let clusterPort: Int?
    public let routes: [Int]
    public let directory: String
    public let executable: URL

    /// `nats://127.0.0.1:<port>`.
    public var url: String { "nats://127.0.0.1:\(clientPort)" }

    /// The `nats-server` to run: `CONDUIT_NATS_SERVER`, else the one on `PATH` (Debian's nats-server package).
    public static var installed: URL? {
        if let path = ProcessInfo.processInfo.environment["CONDUIT_NATS_SERVER"], FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin"] {
            let path = "\(directory)/nats-server"
            if FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
        }
        return nil
    }

    public static var isAvailable: Bool { installed != nil }

    /// The installed server's minor version under 2 (`nats-server --version`: `v2.15.1` is 15), if it tells.
    public static var minorVersion: Int? {
        guard let installed, let outcome = try? ChildProcess.run(installed, ["--version"], timeout: 30) else { return nil }
        let text = outcome.output + outcome.errors
        guard let range = text.range(of: "v2.") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    /// Whether the installed server copies conduit's county streams into a province stream: 2.10 and later (2.9
    /// applies their Nats-Expected-Last-Sequence headers again and refuses them).
    public static var sourcesCountyStreams: Bool { (minorVersion ?? 0) >= 10 }

    /// Starts a server named `name` storing in `directory`; with `clusterPort`, a cluster node that routes to the
    /// cluster ports `routes`.
    public init(directory: String, name: String = "n1", clientPort: Int? = nil, clusterPort: Int? = nil, routes: [Int] = []) throws {
        guard let executable = Self.installed else { throw TestClientError("nats-server is not installed (Deploy/bootstrap.sh --tests installs it)") }
        self.executable = executable
        self.directory = directory
        self.name = name
        self.clientPort = try clientPort ?? Browser.freePort()
        self.clusterPort = clusterPort
        self.routes = routes
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try start()
    }

    /// A cluster of `count` JetStream nodes on loopback, each storing under `directory/<name>`.
    public static func cluster(_ count: Int, directory: String) throws -> [NATSServerProcess] {
        let clusterPorts = try (0..<count).map { _ in try Browser.freePort() }
        return try (0..<count).map { index in
            try NATSServerProcess(
                directory: directory + "/n\(index + 1)", name: "n\(index + 1)", clusterPort: clusterPorts[index],
                routes: clusterPorts.enumerated().filter { $0.offset != index }.map(\.element))
        }
    }

    func start() throws {
        process = Process()
        process.executableURL = executable
        var arguments = ["-a", "127.0.0.1", "-p", String(clientPort), "-n", name, "-js", "-sd", directory]
        if let clusterPort {
            arguments += ["--cluster_name", "conduit-test", "--cluster", "nats://127.0.0.1:\(clusterPort)"]
            arguments += ["--routes", routes.map { "nats://127.0.0.1:\($0)" }.joined(separator: ",")]
        }
        process.arguments = arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        let log = OutputCollector()
        log.start(errors.fileHandleForReading)
        try process.run()
        guard Poll.until(30, { log.all.contains("Listening for client connections on") || !process.isRunning }), process.isRunning else {
            throw TestClientError("nats-server \(name) did not start: \(log.all.suffix(800))")
        }
    }

    /// Kills the server with `signal` and waits for it to end.
    public func kill(_ signal: Int32 = SIGKILL) {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    /// Starts the server again on the same ports and store.
    public func restart() throws {
        kill(SIGTERM)
        try start()
    }

    deinit { kill(SIGKILL) }
}
