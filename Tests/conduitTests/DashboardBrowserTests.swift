import ConduitCore
import ConduitTesting
import Foundation
import Testing

/// `conduit dashboard` as a coordinator sees it: a real browser (headless Chromium) on the page, against a broker
/// with a year's journal; and the live stream across a restart of the server.
@Suite(.timeLimit(.minutes(10)), .serialized)
struct DashboardBrowserTests {
    /// A year's journal from a short demo, a broker on it and a dashboard following that broker.
    final class Hub {
        let directory = TemporaryDirectory(prefix: "conduit-dashboard")
        let journal: String
        let broker: BrokerProcess
        var dashboard: RunningConduit!
        var url = ""

        init(demo: Bool) throws {
            journal = directory.appending("demo/journal")
            if demo {
                let year = try ChildProcess.conduit(
                    ["demo", "--plain", "--duration", "6", "--data", directory.appending("demo"), "--fresh", "--dashboard", "off"], timeout: 300)
                guard year.status == 0 else { throw TestClientError("the demo failed: \(year.errors)") }
            }
            broker = try BrokerProcess(journalDirectory: journal)
            try startDashboard()
        }

        func startDashboard() throws {
            dashboard = try RunningConduit([
                "dashboard", "--dir", journal, "--fanout", broker.fanout, "--query", broker.query, "--http-address", "127.0.0.1:0",
            ])
            var found = ""
            guard Poll.until(60, {
                guard let line = dashboard.output.lines().first(where: { $0.hasPrefix("dashboard http://") }) else { return false }
                found = String(line.dropFirst("dashboard ".count))
                return true
            }) else { throw TestClientError("the dashboard did not start: \(dashboard.errors.all)") }
            url = found
            let address = url.dropFirst("http://".count).dropLast()
            guard Poll.until(60, { (try? HTTPProbe.get(String(address), "/readyz").status) == 200 }) else {
                throw TestClientError("the dashboard did not catch up")
            }
        }

        func publish(id: String, percent: Int) throws -> UInt64 {
            let outcome = try ChildProcess.conduit([
                "publish", "progress", "--org", "power-supply-bureau", "--work-item", "ganjiaba-power", "--status", "in_progress",
                "--percent", "\(percent)", "--id", id, "--ingest", broker.ingest, "--outbox", directory.appending("outbox"),
            ])
            guard outcome.status == 0, let sequence = outcome.output.split(separator: " ").last.flatMap({ UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
                throw TestClientError("publish failed: \(outcome.output)\(outcome.errors)")
            }
            return sequence
        }

        deinit {
            dashboard?.signal(SIGTERM)
            _ = dashboard?.finish(timeout: 30)
            broker.stop()
        }
    }

    /// The overview's figures as `conduit state --json` has them at `at` (RFC 3339).
    static func expectedFigures(journal: String, at: String) throws -> [String: String] {
        let outcome = try ChildProcess.conduit(["state", "--dir", journal, "--at", at, "--json", "--no-checkpoints"])
        let state = try JSONValue.parse(Array(outcome.output.utf8))
        guard case .object(let ledger)? = state["ledger"], case .array(let outages)? = state["outages"],
            case .number(let households)? = state["summary"]?["overall"]?["householdsAffectedNow"],
            case .number(let percent)? = state["summary"]?["overall"]?["percentComplete"]
        else { throw TestClientError("not a state: \(outcome.output.prefix(300))") }
        let open = outages.filter { outage in
            guard case .string(let status)? = outage["report"]?["status"] else { return false }
            return status != "restored" && status != "cancelled" && outage["lapsed"] != .bool(true)
        }.count
        let entries = ledger.filter { $0.value["open"] == .bool(true) }.count
        return [
            "householdsWithoutService": households, "openOutages": String(open), "openLedgerEntries": String(entries),
            "overall": String(format: "%.1f%%", Double(percent) ?? -1),
        ]
    }

    /// The figures the page shows, and the moment they are of.
    static func shownFigures(_ browser: Browser) throws -> (figures: [String: String], now: String) {
        let value = try browser.run("""
            const figures = {};
            document.querySelectorAll('[data-figure]').forEach(e => { figures[e.dataset.figure] = e.textContent; });
            return JSON.stringify({ figures, now: document.querySelector('#clock').dataset.now });
            """)
        guard case .string(let text) = value, let object = try? JSONValue.parse(Array(text.utf8)), case .object(let figures)? = object["figures"],
            case .string(let now)? = object["now"]
        else { throw TestClientError("no figures on the page: \(value)") }
        var shown: [String: String] = [:]
        for figure in figures { if case .string(let text) = figure.value { shown[figure.key] = text } }
        return (shown, now)
    }

    @Test(.enabled(if: Browser.isAvailable, "needs chromium and chromium-driver (Deploy/bootstrap.sh --tests installs them)"))
    func aCoordinatorSeesTheStateLiveTravelsInTimeAndExportsTheLedger() throws {
        let hub = try Hub(demo: true)
        let downloads = hub.directory.appending("downloads")
        try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        let browser = try Browser(width: 1280, height: 1100, downloads: downloads)
        defer { browser.close() }
        try browser.open(hub.url)
        #expect(browser.until(60, "return document.body.dataset.ready === 'true' && document.body.dataset.streaming === 'true'"))
        try browser.run("window.conduitMarker = 'loaded once'")

        // The overview's figures are the state's: `conduit state --json` at the moment the page shows.
        let (shown, now) = try Self.shownFigures(browser)
        let expected = try Self.expectedFigures(journal: hub.journal, at: now)
        for (figure, value) in expected { #expect(shown[figure] == value, "\(figure) at \(now)") }
        let screenshots = ProcessInfo.processInfo.environment["CONDUIT_SCREENSHOTS"] ?? hub.directory.path
        let overview = try browser.screenshot()
        #expect(overview.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
        try overview.write(to: URL(fileURLWithPath: screenshots + "/dashboard-overview.png"))

        // A newly published event appears without a reload.
        let sequence = try hub.publish(id: "from-the-browser-test", percent: 55)
        #expect(browser.until(60, "return document.querySelector('#events li[data-sequence=\"\(sequence)\"]') !== null"))
        #expect(try browser.run("return window.conduitMarker") == .string("loaded once"), "no reload")
        #expect(browser.until(60, "return document.querySelector('#clock').dataset.sequence === '\(sequence)'"), "the figures follow")

        // Time travel: the whole page as it stood at a moment is `conduit state --at` that moment.
        let moment = "2023-07-01T00:00:00+08:00"
        try browser.run("window.conduitTravel('\(moment)')")
        #expect(browser.until(60, "return document.querySelector('#clock').dataset.now !== '' && Date.parse(document.querySelector('#clock').dataset.now) <= Date.parse('\(moment)')"))
        let past = try Self.shownFigures(browser).figures
        for (figure, value) in try Self.expectedFigures(journal: hub.journal, at: moment) { #expect(past[figure] == value, "\(figure) on 1 July") }
        try browser.run("document.querySelector('#back-live').click()")

        // The ledger: every entry, exported as CSV that Excel reads (a byte order mark, then the header).
        try browser.run("location.hash = '#/ledger'")
        #expect(browser.until(60, "return document.querySelector('#view').dataset.route === 'ledger'"))
        try browser.run("const s = document.querySelector('[data-filter=status]'); s.value = 'all'; s.dispatchEvent(new Event('change'))")
        #expect(browser.until(60, "return (document.querySelector('#ledger-csv') || {}).href?.includes('status=all') && document.querySelectorAll('#ledger-table tr[data-key]').length > 0"))
        let rows = try browser.run("return document.querySelectorAll('#ledger-table tr[data-key]').length")
        try browser.screenshot().write(to: URL(fileURLWithPath: screenshots + "/dashboard-ledger.png"))
        try browser.run("document.querySelector('#ledger-csv').click()")
        var csv: Data?
        #expect(Poll.until(60) {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: downloads)) ?? []
            guard let name = files.first(where: { $0.hasSuffix(".csv") }) else { return false }
            csv = FileManager.default.contents(atPath: downloads + "/" + name)
            return csv != nil
        }, "the export downloads")
        if let csv {
            #expect(csv.starts(with: [0xEF, 0xBB, 0xBF]))
            let lines = String(decoding: csv.dropFirst(3), as: UTF8.self).split(whereSeparator: \.isNewline)
            #expect(lines.first?.hasPrefix("key,class,kind") == true)
            #expect(.number(String(lines.count - 1)) == rows, "a line per entry shown")
        }
    }

    /// A browser's stream resumes after the server restarts: with the last id it saw, it gets every later event,
    /// once each, in order.
    @Test func theStreamResumesAfterARestartWithoutLoss() throws {
        let hub = try Hub(demo: false)
        var before: [UInt64] = []
        for index in 1...3 { before.append(try hub.publish(id: "before-\(index)", percent: 10 + index)) }
        // From the start (the last id a browser saw is 0): everything the journal holds, then live.
        let first = try EventStreamClient(url: hub.url, after: 0)
        let last = before.last!
        let seen = try first.read(until: last)
        #expect(seen.last == last)
        first.close()

        hub.dashboard.signal(SIGTERM)
        #expect(hub.dashboard.finish(timeout: 60) == 0)
        var after: [UInt64] = []
        for index in 1...3 { after.append(try hub.publish(id: "after-\(index)", percent: 40 + index)) }
        try hub.startDashboard()
        let resumed = try EventStreamClient(url: hub.url, after: last)
        let received = try resumed.read(until: after.last!)
        resumed.close()
        #expect(received == Array((last + 1)...after.last!), "every event after \(last), once, in order")
    }

    /// `conduit bench dashboard` end to end on a short demo: the page is painted, every event published reaches its
    /// DOM (the benchmark fails otherwise) and every simulated dashboard sees every event. Only that is asserted;
    /// the figures themselves are the benchmark's to print.
    @Test(.enabled(if: Browser.isAvailable, "needs chromium and chromium-driver (Deploy/bootstrap.sh --tests installs them)"))
    func theDashboardBenchmarkSeesEveryEventOnThePageAndInEveryDashboard() throws {
        let outcome = try ChildProcess.conduit(
            ["bench", "dashboard", "--runs", "1", "--demo-seconds", "2", "--rate", "50", "--seconds", "1", "--dashboards", "3", "--json"],
            timeout: 600)
        #expect(outcome.status == 0, "\(outcome.errors)")
        let report = try JSONValue.parse(Array(outcome.output.utf8))
        func figure(_ name: String) -> Double? {
            guard case .number(let text)? = report["figures"]?[name]?["value"] else { return nil }
            return Double(text)
        }
        #expect(figure("dashboards_that_saw_every_event") == 3)
        for name in ["overview_first_paint", "publish_to_dom_latency_p99", "server_rss_with_dashboards"] {
            #expect((figure(name) ?? 0) > 0, "\(name) in \(outcome.output)")
        }
        let refused = try ChildProcess.conduit(["bench", "dashboard", "--rate", "0"])
        #expect(refused.status == 64)
        #expect(refused.errors.contains("--rate must be 1 to 1000 events/s, got 0"))
    }
}
