import Prometheus
import Synchronization

/// Metrics read from a process's own counters and state when they are scraped (`GET /metrics`), kept in a
/// swift-prometheus registry as the broker's are: a counter grows by what its source grew since the last scrape, a
/// gauge takes its source's value now. For processes whose loops already count (the aggregator, the agent), so that
/// nothing is counted twice on their hot paths.
public final class ScrapedMetrics: Sendable {
    public enum Kind: Sendable { case counter, gauge }

    /// One metric: `conduit_<subsystem>_<name>` and `_total` (counters) or `_<unit>` (gauges with a unit).
    public struct Metric: Sendable {
        public let name: String
        public let kind: Kind
        public let unit: String
        public let help: String

        public init(_ name: String, _ kind: Kind, unit: String = "", _ help: String) {
            self.name = name
            self.kind = kind
            self.unit = unit
            self.help = help
        }
    }

    public let registry = PrometheusCollectorRegistry()
    private let counters: [String: Counter]
    private let gauges: [String: Gauge]
    private let counted = Mutex<[String: Int64]>([:])

    /// The metrics of a `subsystem` (`aggregator`, `agent`) of Conduit `version`; `info` labels a
    /// `conduit_<subsystem>_info` gauge (the source an agent publishes as).
    public init(subsystem: String, version: String, metrics: [Metric], info: [(String, String)] = []) {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "conduit", metricName: "build", unitName: "info", helpText: "The Conduit version running, as a label."),
            labels: [("version", version), ("component", subsystem)]
        ).set(Int64(1))
        if !info.isEmpty {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "conduit", subsystem: subsystem, metricName: "info", unitName: "",
                    helpText: "What this \(subsystem) is, as labels."),
                labels: info
            ).set(Int64(1))
        }
        var counters: [String: Counter] = [:]
        var gauges: [String: Gauge] = [:]
        for metric in metrics {
            switch metric.kind {
            case .counter:
                counters[metric.name] = registry.makeCounter(
                    descriptor: MetricNameDescriptor(
                        namespace: "conduit", subsystem: subsystem, metricName: metric.name, unitName: "total", helpText: metric.help))
            case .gauge:
                gauges[metric.name] = registry.makeGauge(
                    descriptor: MetricNameDescriptor(
                        namespace: "conduit", subsystem: subsystem, metricName: metric.name, unitName: metric.unit,
                        helpText: metric.help))
            }
        }
        self.counters = counters
        self.gauges = gauges
    }

    /// Brings every metric to `counts` (counters, by name) and `levels` (gauges, by name) and answers the registry
    /// in the Prometheus text format. One scrape at a time.
    public func exposition(counts: [String: Int64], levels: [String: Double]) -> [UInt8] {
        counted.withLock { last in
            for (name, counter) in counters {
                let value = counts[name] ?? 0
                let grown = value - (last[name] ?? 0)
                if grown > 0 {
                    counter.increment(by: grown)
                    last[name] = value
                }
            }
            for (name, gauge) in gauges { gauge.set(to: levels[name] ?? 0) }
            return registry.emitToBuffer()
        }
    }
}
