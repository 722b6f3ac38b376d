import ConduitJournal
import Foundation
import Synchronization

/// Append throughput per durability policy and batch size, the fdatasync rate achieved, and scan speed.
///
/// Appends events in batches, as the broker forms them, to a journal in a temporary directory (removed afterwards)
/// for ``Options/seconds`` per measurement; then reads the journal back in place.
public enum JournalBenchmark {
    public struct Options: Sendable {
        /// How many times each measurement runs; the median is reported.
        public var runs: Int
        /// The directory in which to create the temporary journal.
        public var directory: String
        /// Seconds per append measurement: more than 0.
        public var seconds: Double
        /// Bytes per event, topic and event together: at least 16.
        public var eventBytes: Int

        public init(runs: Int = 3, directory: String = NSTemporaryDirectory(), seconds: Double = 1.0, eventBytes: Int = 300) {
            self.runs = runs
            self.directory = directory
            self.seconds = seconds
            self.eventBytes = eventBytes
        }

        public func validate() throws(BenchError) {
            try BenchError.checkRuns(runs)
            guard seconds > 0 else { throw .invalidOptions("--seconds must be positive") }
            guard eventBytes >= 16 else { throw .invalidOptions("--event-bytes must be at least 16") }
        }
    }

    struct Case {
        var name: String
        var durability: JournalDurability
        var batchSize: Int
    }

    public static func run(_ options: Options) throws -> BenchReport {
        try options.validate()
        let cases = [
            Case(name: "per-batch", durability: .perBatch, batchSize: 1),
            Case(name: "per-batch", durability: .perBatch, batchSize: 10),
            Case(name: "per-batch", durability: .perBatch, batchSize: 100),
            Case(name: "per-batch", durability: .perBatch, batchSize: 1000),
            Case(name: "interval-10ms", durability: .interval(.milliseconds(10)), batchSize: 1000),
            Case(name: "no-sync(unsafe)", durability: .unsafeNoSyncForTestsOnly, batchSize: 1000),
        ]
        var report = BenchReport(benchmark: "journal")
        report.parameters = [
            ("event bytes", String(options.eventBytes)), ("seconds per measurement", String(options.seconds)),
            ("directory", options.directory), ("runs", String(options.runs)),
        ]
        var appendRuns = [[Double]](repeating: [], count: cases.count)
        var syncRuns = [[Double]](repeating: [], count: cases.count)
        var megabyteRuns = [[Double]](repeating: [], count: cases.count)
        var scanEvents: [Double] = []
        var scanMegabytes: [Double] = []
        for _ in 0..<options.runs {
            for (i, benchCase) in cases.enumerated() {
                let scan = benchCase.batchSize == 1000 && benchCase.durability == .perBatch
                let result = try measure(benchCase, scan: scan, options: options)
                appendRuns[i].append(result.appendsPerSecond)
                syncRuns[i].append(result.syncsPerSecond)
                megabyteRuns[i].append(result.megabytesPerSecond)
                if let events = result.scanEventsPerSecond, let megabytes = result.scanMegabytesPerSecond {
                    scanEvents.append(events)
                    scanMegabytes.append(megabytes)
                }
            }
        }
        for (i, benchCase) in cases.enumerated() {
            let label = "\(benchCase.name) batch \(benchCase.batchSize)"
            report.add("append \(label)", unit: "events/s", runs: appendRuns[i])
            report.add("write \(label)", unit: "MB/s", runs: megabyteRuns[i])
            report.add("fdatasync \(label)", unit: "syncs/s", runs: syncRuns[i])
        }
        report.add("scan", unit: "events/s", runs: scanEvents)
        report.add("scan", unit: "MB/s", runs: scanMegabytes)
        // Figures share names per unit above; give each a unique name for JSON.
        report.figures = report.figures.map { figure in
            var figure = figure
            if figure.name == "scan" { figure.name = "scan \(figure.unit)" }
            return figure
        }
        return report
    }

    struct Result {
        var appendsPerSecond: Double
        var syncsPerSecond: Double
        var megabytesPerSecond: Double
        var scanEventsPerSecond: Double?
        var scanMegabytesPerSecond: Double?
    }

    /// Counts `fdatasync` calls made through the journal's I/O seam.
    final class SyncCounter: Sendable {
        let count = Atomic<Int>(0)
    }

    private static func measure(_ benchCase: Case, scan: Bool, options: Options) throws -> Result {
        let (seconds, eventBytes) = (options.seconds, options.eventBytes)
        let directory = (options.directory as NSString).appendingPathComponent("conduit-bench-journal-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let counter = SyncCounter()
        var journalOptions = JournalOptions()
        journalOptions.durability = benchCase.durability
        journalOptions.fileIO = JournalFileIO(
            write: JournalFileIO.system.write,
            sync: { descriptor in
                counter.count.add(1, ordering: .relaxed)
                return JournalFileIO.system.sync(descriptor)
            })
        let (journal, _) = try Journal.open(directory: directory, options: journalOptions)
        let topic = Array("outage/ganjiaba/power".utf8)
        let eventLength = max(1, eventBytes - topic.count)
        var event = Array(#"{"specversion":"1.0","type":"outage","source":"agent/power","data":{"#.utf8)
        while event.count < eventLength { event.append(UInt8(ascii: "x")) }
        event = Array(event.prefix(eventLength))
        let batch = JournalBatch(capacity: benchCase.batchSize * (eventBytes + 64))
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        var appended = 0
        var bytes = 0
        let syncsBefore = counter.count.load(ordering: .relaxed)
        var now = start
        try topic.withUnsafeBytes { topicBytes in
            try event.withUnsafeBytes { eventBytes in
                while now < deadline {
                    let time = Int64(Date().timeIntervalSince1970 * 1_000_000)
                    for i in 0..<benchCase.batchSize {
                        try batch.append(
                            sequence: journal.nextSequence + UInt64(i), recordedTime: time, topic: topicBytes,
                            event: eventBytes)
                    }
                    bytes += batch.byteCount
                    try journal.commit(batch)
                    appended += benchCase.batchSize
                    now = DispatchTime.now().uptimeNanoseconds
                }
            }
        }
        try journal.sync()
        let elapsed = Double(now - start) / 1e9
        let syncs = counter.count.load(ordering: .relaxed) - syncsBefore
        var result = Result(
            appendsPerSecond: Double(appended) / elapsed, syncsPerSecond: Double(syncs) / elapsed,
            megabytesPerSecond: Double(bytes) / elapsed / 1e6)
        if scan {
            let reader = try journal.reader(from: journal.firstSequence)
            let scanStart = DispatchTime.now().uptimeNanoseconds
            var events = 0
            var scanned = 0
            var checksum = 0
            while true {
                let count = try reader.read(maxRecords: 4096) { record in
                    scanned += record.frameLength
                    checksum &+= record.event.count
                }
                if count == 0 { break }
                events += count
            }
            let scanElapsed = Double(DispatchTime.now().uptimeNanoseconds - scanStart) / 1e9
            precondition(events == appended && checksum == appended * eventLength, "scan read \(events) of \(appended) events")
            result.scanEventsPerSecond = Double(events) / scanElapsed
            result.scanMegabytesPerSecond = Double(scanned) / scanElapsed / 1e6
        }
        try journal.close()
        return result
    }
}
