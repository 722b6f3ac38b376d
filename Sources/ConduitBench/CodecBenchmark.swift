import ConduitCore
import Foundation

/// How fast events are decoded and validated, and encoded, on one core, with Foundation's `JSONDecoder` on the same
/// events as the reference.
///
/// Builds a set of distinct progress events of about 300 bytes for the default scenario's work items, then times
/// decode + validate (ConduitCore's strict parser and `EventValidator`), encode (canonical JSON), and Foundation's
/// `JSONDecoder` decoding the same bytes into a `Codable` mirror of the event.
public enum CodecBenchmark {
    public struct Options: Sendable {
        /// How many times each pass runs; the median is reported.
        public var runs: Int
        /// How many distinct events each pass decodes and encodes: at least 1.
        public var events: Int

        public init(runs: Int = 3, events: Int = 200_000) {
            self.runs = runs
            self.events = events
        }

        public func validate() throws(BenchError) {
            try BenchError.checkRuns(runs)
            guard events >= 1 else { throw .invalidOptions("--events must be at least 1, got \(events)") }
        }
    }

    public static func run(_ options: Options) throws -> BenchReport {
        try options.validate()
        let samples = CodecWorkload.events(count: options.events)
        let encoded = samples.map { EventCodec.encode($0) }
        let totalBytes = encoded.reduce(0) { $0 + $1.count }
        let validator = EventValidator(scenario: .default)

        // Warm up caches and the allocator before the measured runs.
        for bytes in encoded.prefix(10_000) { _ = try? EventCodec.decode(bytes) }

        var decodeRates: [Double] = []
        var decodeMegabytes: [Double] = []
        var encodeRates: [Double] = []
        var encodeMegabytes: [Double] = []
        var foundationRates: [Double] = []
        for _ in 0..<options.runs {
            let decodeSeconds = try timeSeconds {
                var checksum = 0
                for bytes in encoded {
                    let event = try EventCodec.decode(bytes)
                    try validator.validate(event)
                    checksum &+= event.id.utf8.count
                }
                precondition(checksum > 0)
            }
            decodeRates.append(Double(encoded.count) / decodeSeconds)
            decodeMegabytes.append(Double(totalBytes) / decodeSeconds / 1_000_000)

            var output: [UInt8] = []
            output.reserveCapacity(1024)
            let encodeSeconds = timeSeconds {
                var written = 0
                for event in samples {
                    output.removeAll(keepingCapacity: true)
                    EventCodec.encode(event, into: &output)
                    written &+= output.count
                }
                precondition(written == totalBytes)
            }
            encodeRates.append(Double(samples.count) / encodeSeconds)
            encodeMegabytes.append(Double(totalBytes) / encodeSeconds / 1_000_000)

            let datas = encoded.map { Data($0) }
            let decoder = JSONDecoder()
            let foundationSeconds = try timeSeconds {
                var checksum = 0
                for data in datas {
                    let event = try decoder.decode(FoundationProgressEvent.self, from: data)
                    checksum &+= event.id.utf8.count
                }
                precondition(checksum > 0)
            }
            foundationRates.append(Double(datas.count) / foundationSeconds)
        }

        var report = BenchReport(benchmark: "codec")
        report.parameters = [
            ("events", String(options.events)),
            ("mean event size", String(format: "%.0f bytes", Double(totalBytes) / Double(encoded.count))),
            ("runs", String(options.runs)),
            ("build", buildConfiguration),
        ]
        report.add("decode+validate", unit: "events/s", runs: decodeRates)
        report.add("decode+validate throughput", unit: "MB/s", runs: decodeMegabytes)
        report.add("encode", unit: "events/s", runs: encodeRates)
        report.add("encode throughput", unit: "MB/s", runs: encodeMegabytes)
        report.add("Foundation JSONDecoder decode", unit: "events/s", runs: foundationRates)
        report.add(
            "decode+validate / Foundation", unit: "ratio",
            runs: zip(decodeRates, foundationRates).map { $0 / $1 })
        return report
    }
}

/// The events the codec benchmark uses: progress reports for the default scenario's work items.
enum CodecWorkload {
    static func events(count: Int) -> [Event] {
        let scenario = Scenario.default
        let statuses: [WorkStatus] = [.scheduled, .inProgress, .suspended, .inProgress]
        var events: [Event] = []
        events.reserveCapacity(count)
        let base = Timestamp(secondsSinceEpoch: 1_685_600_000)
        for index in 0..<count {
            let item = scenario.workItems[index % scenario.workItems.count]
            let organisation = item.organisation
            let status = statuses[index % statuses.count]
            let report = ProgressReport(
                status: status, percent: Double(index % 97), plannedStart: item.plannedStart,
                plannedFinish: item.plannedFinish,
                householdsAffected: item.households / 2,
                blockingReason: status == .suspended ? "等待居民协调 waiting on residents" : nil)
            events.append(Event(
                id: "e-\(index)", source: "/\(organisation)",
                time: base.adding(seconds: Int64(index)), utility: item.utility, site: item.community,
                workItem: item.id, data: .progress(report)))
        }
        return events
    }
}

/// A `Codable` mirror of a progress event, for Foundation's `JSONDecoder` as the reference.
struct FoundationProgressEvent: Decodable {
    struct Payload: Decodable {
        var status: String
        var percent: Double?
        var plannedStart: String?
        var plannedFinish: String?
        var actualStart: String?
        var actualFinish: String?
        var householdsAffected: Int?
        var blockingReason: String?
    }

    var specversion: String
    var id: String
    var source: String
    var type: String
    var time: String
    var utility: String?
    var site: String?
    var workitem: String?
    var data: Payload
}
