import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import Synchronization
import ZeroMQ

/// `conduit bench dashboard`: the coordinators' page as they meet it. A demo's journal, a `conduit broker` on it and
/// a `conduit dashboard` following that broker, all child processes; then, in each run:
///   - first paint: a fresh headless Chromium opens the page; the time from navigation to the first painted
///     overview with its figures (the page marks it), and the browser's own first contentful paint;
///   - live latency: with that page open, events are published at `rate`/s for `seconds`; each one's latency is from
///     its publication to the moment its line is in the page's DOM (both on this machine's real-time clock);
///   - memory: `dashboards` simulated dashboards load what the page loads and follow the stream (refreshing the
///     overview as the page does) while events are published at `rate`/s; the server's resident memory then.
public enum DashboardBenchmark {
    public struct Options: Sendable {
        /// How many times each phase runs; the median is reported.
        public var runs: Int
        /// Seconds the demo plays to make the journal (`conduit demo --duration`): at least 1.
        public var demoSeconds: Int
        /// Events/s published during the live phases: 1…1000.
        public var rate: Int
        /// Seconds each live phase publishes: at least 1.
        public var seconds: Int
        /// Simulated dashboards in the memory phase: 1…1000.
        public var dashboards: Int
        /// Where to make the temporary directory; `nil` for the system's temporary directory.
        public var directory: String?
        /// The `conduit` executable that runs the demo, broker and dashboard; by default the running program.
        public var executable: URL

        public init(
            runs: Int = 3, demoSeconds: Int = 6, rate: Int = 100, seconds: Int = 10, dashboards: Int = 50, directory: String? = nil,
            executable: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        ) {
            self.runs = runs
            self.demoSeconds = demoSeconds
            self.rate = rate
            self.seconds = seconds
            self.dashboards = dashboards
            self.directory = directory
            self.executable = executable
        }

        public func validate() throws(BenchError) {
            try BenchError.checkRuns(runs)
            guard demoSeconds >= 1 else { throw .invalidOptions("--demo-seconds must be at least 1, got \(demoSeconds)") }
            guard (1...1000).contains(rate) else { throw .invalidOptions("--rate must be 1 to 1000 events/s, got \(rate)") }
            guard seconds >= 1 else { throw .invalidOptions("--seconds must be at least 1, got \(seconds)") }
            guard (1...1000).contains(dashboards) else { throw .invalidOptions("--dashboards must be 1 to 1000, got \(dashboards)") }
        }
    }

    public static func run(_ options: Options, progress: (String) -> Void = { _ in }) throws -> BenchReport {
        try options.validate()
        guard Browser.isAvailable else {
            throw BenchError.failed("conduit bench dashboard needs a browser: Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)")
        }
        let directory = scratchPath(in: options.directory, "conduit-bench-dashboard-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        progress("playing the demo for \(options.demoSeconds) s to make its journal…")
        let demo = try ChildProcess.run(
            options.executable,
            ["demo", "--plain", "--duration", String(options.demoSeconds), "--data", directory + "/demo", "--fresh", "--dashboard", "off"],
            timeout: Double(options.demoSeconds) * 20 + 300)
        guard demo.status == 0 else { throw BenchError.failed("conduit demo failed (\(demo.status)): \(demo.errors.suffix(600))") }
        let hub = try Hub(executable: options.executable, journal: directory + "/demo/journal")
        defer { hub.stop() }
        let journalEvents = hub.lastSequence

        var paint: [Double] = [], contentful: [Double] = []
        var p50: [Double] = [], p99: [Double] = [], worst: [Double] = []
        var idle: [Double] = [], resident: [Double] = [], peak: [Double] = [], followed: [Double] = []
        for run in 1...options.runs {
            progress("run \(run)/\(options.runs): first paint in a fresh browser…")
            let browser = try Browser(width: 1280, height: 1000, downloads: directory + "/downloads")
            defer { browser.close() }
            try browser.open(hub.url)
            let marked = "return performance.getEntriesByName('conduit-overview-painted').length > 0 && document.body.dataset.streaming === 'true'"
            guard browser.until(120, marked) else { throw BenchError.failed("the overview was not painted within 120 s") }
            let timings = try browser.run("""
                const painted = performance.getEntriesByName('conduit-overview-painted')[0].startTime;
                const fcp = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
                return JSON.stringify([painted, fcp ? fcp.startTime : -1]);
                """)
            guard case .string(let text) = timings, case .array(let values)? = try? JSONValue.parse(Array(text.utf8)),
                values.count == 2, case .number(let first) = values[0], case .number(let fcp) = values[1]
            else { throw BenchError.failed("the page gave no paint timings: \(timings)") }
            paint.append(Double(first) ?? .nan)
            contentful.append(Double(fcp).flatMap { $0 >= 0 ? $0 : nil } ?? .nan)

            progress("run \(run)/\(options.runs): \(options.rate) events/s for \(options.seconds) s into the open page…")
            try browser.run("""
                window.conduitArrivals = {};
                new MutationObserver((records) => {
                  const now = performance.timeOrigin + performance.now();
                  for (const record of records) for (const node of record.addedNodes) {
                    if (node.nodeType !== 1) continue;
                    const lines = node.matches('li[data-id]') ? [node] : node.querySelectorAll('li[data-id]');
                    for (const line of lines) if (!(line.dataset.id in window.conduitArrivals)) window.conduitArrivals[line.dataset.id] = now;
                  }
                }).observe(document.querySelector('#view'), { childList: true, subtree: true });
                """)
            let prefix = "dash\(run)-"
            let sent = try PacedPublisher(endpoint: hub.broker.ingest).publish(prefix: prefix, rate: options.rate, seconds: options.seconds).sentAt
            let everything = "return Object.keys(window.conduitArrivals).filter(k => k.startsWith('\(prefix)')).length === \(sent.count)"
            guard browser.until(60, everything) else {
                let seen = (try? browser.run("return Object.keys(window.conduitArrivals).filter(k => k.startsWith('\(prefix)')).length")) ?? .null
                throw BenchError.failed("the page showed \(seen) of the \(sent.count) events published within 60 s")
            }
            guard case .string(let arrivalsText) = try browser.run("return JSON.stringify(window.conduitArrivals)"),
                case .object(let arrivals)? = try? JSONValue.parse(Array(arrivalsText.utf8))
            else { throw BenchError.failed("the page's arrival times could not be read") }
            var latencies = LatencySamples()
            for member in arrivals where member.key.hasPrefix(prefix) {
                guard case .number(let milliseconds) = member.value, let shown = Double(milliseconds),
                    let number = Int(member.key.dropFirst(prefix.count)), sent.indices.contains(number)
                else { continue }
                latencies.append(Int64(shown * 1000) - sent[number])
            }
            p50.append(latencies.percentile(50)); p99.append(latencies.percentile(99)); worst.append(latencies.percentile(100))
            browser.close()

            progress("run \(run)/\(options.runs): \(options.dashboards) dashboards following \(options.rate) events/s for \(options.seconds) s…")
            idle.append(ProcessResources.memory(of: hub.dashboard.process.processIdentifier)?.resident ?? .nan)
            let memory = try SimulatedDashboards(url: hub.url, count: options.dashboards).follow {
                let prefix = "mem\(run)-"
                return try PacedPublisher(endpoint: hub.broker.ingest).publish(prefix: prefix, rate: options.rate, seconds: options.seconds).lastSequence
            } measure: {
                ProcessResources.memory(of: hub.dashboard.process.processIdentifier)
            }
            resident.append(memory.resident)
            peak.append(memory.peak)
            followed.append(Double(memory.followed))
        }
        var report = BenchReport(benchmark: "dashboard")
        report.parameters = [
            ("journal", "conduit demo --duration \(options.demoSeconds): \(journalEvents) events"),
            ("browser", "headless Chromium through chromedriver, a fresh profile per run, 1280×1000"),
            ("live phases", "\(options.rate) events/s for \(options.seconds) s, published to the broker over tcp://127.0.0.1"),
            ("dashboards", "\(options.dashboards) simulated: each loads the page, its assets, plan, span and overview, then follows the stream and refreshes the overview as the page does"),
            ("build", buildConfiguration),
        ]
        report.add("overview_first_paint", unit: "ms", runs: paint)
        report.add("first_contentful_paint", unit: "ms", runs: contentful)
        report.add("publish_to_dom_latency_p50", unit: "ms", runs: p50)
        report.add("publish_to_dom_latency_p99", unit: "ms", runs: p99)
        report.add("publish_to_dom_latency_max", unit: "ms", runs: worst)
        report.add("server_rss_idle", unit: "MB", runs: idle)
        report.add("server_rss_with_dashboards", unit: "MB", runs: resident)
        report.add("server_peak_rss", unit: "MB", runs: peak)
        report.add("dashboards_that_saw_every_event", unit: "dashboards", runs: followed)
        return report
    }

    /// A broker on the demo's journal and a dashboard following it, as child processes.
    final class Hub {
        let broker: BrokerProcess
        let dashboard: RunningConduit
        let url: String
        let lastSequence: UInt64

        init(executable: URL, journal: String) throws {
            broker = try BrokerProcess(journalDirectory: journal, executable: executable)
            let dashboard = try RunningConduit(
                [
                    "dashboard", "--dir", journal, "--fanout", broker.fanout, "--query", broker.query, "--http-address", "127.0.0.1:0",
                    "--log-level", "warning",
                ], executable: executable)
            var found = ""
            guard Poll.until(120, {
                guard let line = dashboard.output.lines().first(where: { $0.hasPrefix("dashboard http://") }) else { return false }
                found = String(line.dropFirst("dashboard ".count))
                return true
            }) else { throw BenchError.failed("the dashboard did not start: \(dashboard.errors.all.suffix(600))") }
            self.dashboard = dashboard
            url = found
            let address = String(url.dropFirst("http://".count).dropLast())
            guard Poll.until(120, { (try? HTTPProbe.get(address, "/readyz").status) == 200 }) else {
                throw BenchError.failed("the dashboard did not catch up with the journal in 120 s")
            }
            let overview = try HTTPProbe.get(address, "/api/v1/overview")
            guard case .number(let last)? = (try? JSONValue.parse(Array(overview.body.utf8)))?["lastSequence"], let sequence = UInt64(last) else {
                throw BenchError.failed("the dashboard's overview has no lastSequence: \(overview.body.prefix(300))")
            }
            lastSequence = sequence
        }

        func stop() {
            dashboard.signal(SIGTERM)
            if dashboard.finish(timeout: 30) == nil { dashboard.signal(SIGKILL) }
            broker.stop()
        }
    }
}

/// One agent publishing progress reports at a steady rate, each in a BATCH of one and acknowledged in ACKS; the
/// event ids are `<prefix><n>`.
struct PacedPublisher {
    let endpoint: String

    /// Publishes `rate`/s for `seconds` and waits for every acknowledgement; the real-time microsecond each event `n`
    /// was sent at, and the highest sequence acknowledged.
    func publish(prefix: String, rate: Int, seconds: Int) throws -> (sentAt: [Int64], lastSequence: UInt64) {
        let context = try Context()
        let socket = try Socket(context, type: .dealer)
        defer { socket.close(linger: .zero) }
        try socket.connect(endpoint)
        let poller = Poller()
        poller.add(socket)
        let total = rate * seconds
        var sentAt = [Int64](repeating: 0, count: total)
        let (_, suffix) = BrokerBenchRun.eventTemplate(agent: 0)
        let start = monotonicMicroseconds()
        var sent = 0, acknowledged = 0
        var lastSequence: UInt64 = 0
        var frame = ZeroMQ.Message()
        while acknowledged < total {
            if sent < total, monotonicMicroseconds() >= start + Int64(sent) * 1_000_000 / Int64(rate) {
                let event = Array(#"{"specversion":"1.0","id":""#.utf8) + Array("\(prefix)\(sent)".utf8) + suffix
                var body: [UInt8] = []
                withUnsafeBytes(of: UInt64(sent).bigEndian) { body += $0 }
                withUnsafeBytes(of: UInt32(event.count).bigEndian) { body += $0 }
                body += event
                sentAt[sent] = SystemClock.realtimeMicroseconds()
                try socket.send(ProtocolSignature.frame, more: true)
                try socket.send(Array("BATCH".utf8), more: true)
                try socket.send(body)
                sent += 1
            }
            let due = sent < total ? max(0, start + Int64(sent) * 1_000_000 / Int64(rate) - monotonicMicroseconds()) : 10_000_000
            guard try poller.poll(timeout: .microseconds(due)) > 0 else {
                if sent == total { throw BenchError.failed("no acknowledgement for 10 s (\(acknowledged) of \(total))") }
                continue
            }
            while try socket.receive(into: &frame, wait: false) {
                var frames: [[UInt8]] = [frame.withUnsafeBytes { Array($0) }]
                while frame.hasMore {
                    try socket.receive(into: &frame)
                    frames.append(frame.withUnsafeBytes { Array($0) })
                }
                guard frames.count >= 3, frames[1] == Array("ACKS".utf8) else {
                    throw BenchError.failed("the broker did not acknowledge: \(String(decoding: frames.dropFirst().first ?? [], as: UTF8.self))")
                }
                // Each acknowledgement: correlation u64, sequence u64, flags.
                for offset in stride(from: 0, to: frames[2].count - 16, by: 17) {
                    lastSequence = max(lastSequence, frames[2][(offset + 8)..<(offset + 16)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                    acknowledged += 1
                }
            }
        }
        return (sentAt, lastSequence)
    }
}

/// Dashboards as a browser's page uses the server, without the browser: each loads the page, its assets, the plan,
/// the span and the overview, then follows the live stream from the last sequence it was shown and, as the page does,
/// fetches the overview again at most every 150 ms while events arrive. One thread each.
struct SimulatedDashboards {
    let url: String
    let count: Int

    /// Starts the dashboards; once every one follows the stream, runs `publish` (which answers the last sequence it
    /// was acknowledged) and waits until each dashboard has seen it (up to 60 s), then `measure`s the server.
    func follow(
        publish: () throws -> UInt64, measure: () -> (resident: Double, peak: Double)?
    ) throws -> (resident: Double, peak: Double, followed: Int) {
        let address = String(url.dropFirst("http://".count).split(separator: "/").first ?? "")
        let overview = try HTTPProbe.get(address, "/api/v1/overview")
        guard case .number(let text)? = (try? JSONValue.parse(Array(overview.body.utf8)))?["lastSequence"], let from = UInt64(text) else {
            throw BenchError.failed("no overview to start from: \(overview.body.prefix(200))")
        }
        let target = Atomic<UInt64>(0)
        let stop = Atomic<Bool>(false)
        let following = Atomic<Int>(0)
        let caughtUp = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        for index in 0..<count {
            Thread.detachNewThread {
                defer { done.signal() }
                do {
                    for path in ["/", "/assets/app.js", "/assets/app.css", "/api/v1/plan", "/api/v1/span", "/api/v1/overview"] {
                        let answer = try HTTPProbe.get(address, path)
                        guard answer.status == 200 else { throw TestClientError("\(path): \(answer.status)") }
                    }
                    let stream = try EventStreamClient(url: url, after: from)
                    defer { stream.close() }
                    following.add(1, ordering: .relaxed)
                    var last = from
                    var refreshed = monotonicMicroseconds()
                    var counted = false
                    while !stop.load(ordering: .acquiring) {
                        let ids = try stream.next(milliseconds: 100)
                        if let newest = ids.last {
                            last = newest
                            if monotonicMicroseconds() - refreshed >= 150_000 {
                                _ = try HTTPProbe.get(address, "/api/v1/overview")
                                refreshed = monotonicMicroseconds()
                            }
                        }
                        let wanted = target.load(ordering: .acquiring)
                        if !counted, wanted > 0, last >= wanted {
                            counted = true
                            caughtUp.add(1, ordering: .relaxed)
                        }
                    }
                } catch {
                    failures.withLock { $0.append("dashboard \(index): \(error)") }
                }
            }
        }
        guard Poll.until(120, { following.load(ordering: .acquiring) + failures.withLock({ $0.count }) == count }) else {
            stop.store(true, ordering: .releasing)
            throw BenchError.failed("\(following.load(ordering: .acquiring)) of \(count) dashboards opened the stream in 120 s")
        }
        target.store(try publish(), ordering: .releasing)
        _ = Poll.until(60) { caughtUp.load(ordering: .acquiring) + failures.withLock({ $0.count }) == count }
        let memory = measure()
        stop.store(true, ordering: .releasing)
        for _ in 0..<count { done.wait() }
        if let failure = failures.withLock({ $0.first }) {
            throw BenchError.failed("\(failures.withLock { $0.count }) of \(count) dashboards failed; the first: \(failure)")
        }
        guard let memory else { throw BenchError.failed("the dashboard process is gone") }
        return (memory.resident, memory.peak, caughtUp.load(ordering: .acquiring))
    }
}
