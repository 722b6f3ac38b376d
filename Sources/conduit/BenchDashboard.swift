import ArgumentParser
import ConduitBench

/// `conduit bench dashboard`: the coordinators' page in a real browser, and the server under many dashboards.
struct BenchDashboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Time to first paint, publish-to-page latency and the dashboard server's memory under many dashboards.",
        discussion: """
            Plays `conduit demo --duration --demo-seconds` to make a journal, starts `conduit broker` on it and \
            `conduit dashboard` following that broker (child processes, loopback, a temporary directory), then in \
            each run:
              first paint   a fresh headless Chromium (Debian's chromium and chromium-driver) opens the page: the time \
            from navigation to the first painted overview with its figures, and the browser's first contentful paint;
              latency       with that page open, one agent publishes --rate events/s for --seconds; each event's \
            latency runs from its publication to its line in the page's DOM (the same real-time clock);
              memory        --dashboards simulated dashboards load what the page loads (page, assets, plan, span, \
            overview), follow the live stream and refresh the overview as the page does, while --rate events/s are \
            published for --seconds; the server's resident memory once each has seen the last event.
            Build with -c release before reading the figures.
            """
    )

    private static let defaults = DashboardBenchmark.Options()

    @OptionGroup var options: BenchOptions

    @Option(help: "Seconds the demo plays to make the journal.")
    var demoSeconds: Int = Self.defaults.demoSeconds

    @Option(help: "Events/s published during the latency and memory phases.")
    var rate: Int = Self.defaults.rate

    @Option(help: "Seconds each of those phases publishes.")
    var seconds: Int = Self.defaults.seconds

    @Option(help: "Simulated dashboards in the memory phase.")
    var dashboards: Int = Self.defaults.dashboards

    @Option(help: "Where to make the temporary directory (default: the system's).")
    var dir: String?

    private var benchmark: DashboardBenchmark.Options {
        DashboardBenchmark.Options(
            runs: options.runs, demoSeconds: demoSeconds, rate: rate, seconds: seconds, dashboards: dashboards, directory: dir)
    }

    func validate() throws {
        try benchmarkValidation { try benchmark.validate() }
    }

    func run() throws {
        try DashboardBenchmark.run(benchmark, progress: options.progress).print(json: options.json)
    }
}
