import ConduitTesting
import Foundation
import JetStreamReference

/// NATS JetStream as a peer of the broker benchmark: a `nats-server` with JetStream on loopback (file storage in a
/// temporary directory), driven with the broker benchmark's workload through libnats (``JetStreamReference``).
struct JetStreamPeer {
    struct Outcome {
        var ackedPerSecond: Double
        var deliveredPerSecondPerSubscriber: Double
        /// CPU the server used per acknowledged message, in microseconds, and its CPU use in cores.
        var serverCPUPerEvent: Double
        var serverCores: Double
        /// CPU the load generator (this process) used per acknowledged message, in microseconds.
        var generatorCPUPerEvent: Double
    }

    /// The `nats-server` to run: `given`, else `CONDUIT_NATS_SERVER`, else the one on `PATH`; or a clear error.
    static func serverExecutable(_ given: String?) throws -> URL {
        if let path = given ?? ProcessInfo.processInfo.environment["CONDUIT_NATS_SERVER"] {
            guard FileManager.default.isExecutableFile(atPath: path) else { throw BenchError.failed("\(path) is not an executable nats-server") }
            return URL(fileURLWithPath: path)
        }
        guard let installed = NATSServerProcess.installed else {
            throw BenchError.failed("--peer jetstream needs nats-server on PATH (Debian: apt-get install nats-server) or --nats-server")
        }
        return installed
    }

    let parent: String?
    let server: URL
    /// `sync_interval: always` in the server's JetStream settings.
    let syncAlways: Bool

    init(parent: String?, server: URL, syncAlways: Bool = false) {
        self.parent = parent
        self.server = server
        self.syncAlways = syncAlways
    }

    /// The server's version, as `nats-server --version` prints it.
    static func serverVersion(_ executable: URL) -> String {
        guard let outcome = try? ChildProcess.run(executable, ["--version"], timeout: 30) else { return "unknown" }
        return outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts a server, runs the throughput workload against it, stops it.
    func throughput(publishers: Int, subscribers: Int, messagesPerPublisher: Int, window: Int, payload: [UInt8]) throws -> Outcome {
        let directory = scratchPath(in: parent, "conduit-bench-jetstream-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = Process()
        server.executableURL = self.server
        if syncAlways {
            // Every write synced before it is acknowledged (nats-server 2.10 and later know sync_interval).
            let configuration = directory + "/jetstream.conf"
            try Data("jetstream {\n  store_dir: \"\(directory)/store\"\n  sync_interval: always\n}\n".utf8)
                .write(to: URL(fileURLWithPath: configuration))
            server.arguments = ["-a", "127.0.0.1", "-p", "-1", "-c", configuration]
        } else {
            // As it ships: JetStream with file storage and the server's default sync policy.
            server.arguments = ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", directory + "/store"]
        }
        let errors = Pipe()
        let log = OutputCollector()
        server.standardOutput = FileHandle.nullDevice
        server.standardError = errors
        log.start(errors.fileHandleForReading)
        try server.run()
        defer {
            if server.isRunning {
                server.terminate()
                server.waitUntilExit()
            }
        }
        // "[…] Listening for client connections on 127.0.0.1:38613"
        var url: String?
        let deadline = Date().addingTimeInterval(30)
        while url == nil && Date() < deadline && server.isRunning {
            if let line = log.lines().first(where: { $0.contains("Listening for client connections on ") }),
                let address = line.components(separatedBy: "Listening for client connections on ").last
            {
                url = "nats://" + address.trimmingCharacters(in: .whitespaces)
            } else {
                usleep(10_000)
            }
        }
        guard let url else {
            throw BenchError.failed(
                "nats-server did not start\(syncAlways ? " with sync_interval: always (it needs nats-server 2.10 or later; see --nats-server)" : ""): \(log.all)")
        }
        let cpuBefore = Self.cpuSeconds(of: server.processIdentifier)
        var result = jetstream_reference_result()
        let status: Int32 = url.withCString { urlText in
            "CONDUITBENCH".withCString { stream in
                "conduit.bench".withCString { subject in
                    payload.withUnsafeBytes { bytes in
                        var workload = jetstream_reference_workload(
                            url: urlText, stream: stream, subject: subject, publishers: Int32(publishers),
                            subscribers: Int32(subscribers), messages_per_publisher: Int64(messagesPerPublisher),
                            window: Int32(window), payload: bytes.baseAddress, payload_length: Int32(bytes.count),
                            stall_seconds: 30)
                        return jetstream_reference_run(&workload, &result)
                    }
                }
            }
        }
        let cpu = Self.cpuSeconds(of: server.processIdentifier) - cpuBefore
        guard status == 0 else {
            let message = withUnsafeBytes(of: result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw BenchError.failed("JetStream: \(message)")
        }
        let total = Double(publishers * messagesPerPublisher)
        let elapsed = max(result.acknowledged_seconds, result.delivered_seconds)
        return Outcome(
            ackedPerSecond: Double(result.acknowledged) / result.acknowledged_seconds,
            deliveredPerSecondPerSubscriber: subscribers == 0 ? 0 : Double(result.delivered) / result.delivered_seconds,
            serverCPUPerEvent: cpu * 1e6 / total, serverCores: cpu / elapsed,
            generatorCPUPerEvent: result.generator_cpu_seconds * 1e6 / total)
    }

    /// User and system CPU seconds of process `pid`.
    static func cpuSeconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else {
            return .nan
        }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
