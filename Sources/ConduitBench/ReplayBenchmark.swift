import ConduitCore
import ConduitJournal
import ConduitReplay
import Foundation

/// Events/s scanned, filtered and written as JSON lines from a journal, as `conduit replay` does.
///
/// Writes a journal of progress and outage events (alternating, stamped and in canonical form as the broker stores
/// them) into a temporary directory, then replays it three ways, discarding the output: everything, a topic filter
/// (outages: half the events, decided from the topic alone), and a work-item filter (half the events, decided on the
/// stored canonical JSON without decoding).
public enum ReplayBenchmark {
    public struct Options: Sendable {
        /// How many times each replay runs; the median is reported.
        public var runs: Int
        /// Events in the journal.
        public var events: Int
        /// Where to write the temporary journal; `nil` for the system's temporary directory.
        public var directory: String?

        public init(runs: Int = 3, events: Int = 1_000_000, directory: String? = nil) {
            self.runs = runs
            self.events = events
            self.directory = directory
        }

        public func validate() throws(BenchError) {
            try BenchError.checkRuns(runs)
        }
    }

    /// Writes the journal, replays it `options.runs` times each way and removes it; `progress` hears when the
    /// journal is being written.
    public static func run(_ options: Options, progress: (String) -> Void = { _ in }) throws -> BenchReport {
        try options.validate()
        let events = options.events
        let base = scratchPath(in: options.directory, "conduit-bench-replay-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: base) }
        progress("writing a journal of \(events) events…")
        let bytes = try Self.writeJournal(at: base, events: events)
        var all: [Double] = [], topic: [Double] = [], decoded: [Double] = [], megabytes: [Double] = []
        var everything = ReplaySelection()
        everything.fromSequence = 1
        var outages = ReplaySelection()
        outages.kinds = [.outage]
        var workItem = ReplaySelection()
        workItem.workItems = ["ganjiaba-power"]
        for _ in 0..<options.runs {
            let (rate, written) = try measure(base, everything)
            all.append(rate)
            megabytes.append(Double(written) / 1e6 * rate / Double(events))
            topic.append(try measure(base, outages).0)
            decoded.append(try measure(base, workItem).0)
        }
        var report = BenchReport(benchmark: "replay")
        report.parameters = [("events", "\(events)"), ("journal", "\(bytes / 1_000_000) MB"), ("output", "JSON lines, discarded")]
        report.add("jsonl_all", unit: "events/s", runs: all)
        report.add("jsonl_all_throughput", unit: "MB/s", runs: megabytes)
        report.add("jsonl_topic_filter_scanned", unit: "events/s", runs: topic)
        report.add("jsonl_work_item_filter_scanned", unit: "events/s", runs: decoded)
        return report
    }

    /// Writes a journal of `events` alternating progress and outage events, one microsecond apart; returns the
    /// bytes of event JSON written.
    static func writeJournal(at path: String, events: Int, progress: (Int) -> Void = { _ in }) throws -> Int {
        var journalOptions = JournalOptions()
        journalOptions.durability = .unsafeNoSyncForTestsOnly
        let (journal, _) = try Journal.open(directory: path, options: journalOptions)
        let batch = JournalBatch()
        var total = 0
        let start = Int64(1_685_577_600_000_000)
        var bytes: [UInt8] = []
        for sequence in UInt64(1)...UInt64(events) {
            // Stamped and in canonical form, as the broker stores events.
            var event = try EventCodec.decode(sequence % 2 == 1 ? Self.progressEvent(sequence) : Self.outageEvent(sequence))
            event.sequence = sequence
            event.recordedTime = Timestamp(microsecondsSinceEpoch: start + Int64(sequence))
            bytes.removeAll(keepingCapacity: true)
            EventCodec.encode(event, into: &bytes)
            try batch.append(sequence: sequence, recordedTime: start + Int64(sequence), topic: event.topic, event: bytes)
            total += bytes.count
            if batch.count == 1000 {
                try journal.commit(batch)
                if sequence % 1_000_000 == 0 { progress(Int(sequence)) }
            }
        }
        try journal.commit(batch)
        try journal.close()
        return total
    }

    static func progressEvent(_ sequence: UInt64) -> [UInt8] {
        let (prefix, suffix) = BrokerBenchRun.eventTemplate(agent: 0)
        return prefix + Array("\(sequence)-0".utf8) + suffix
    }

    static func outageEvent(_ sequence: UInt64) -> [UInt8] {
        Array(
            (#"{"specversion":"1.0","id":"o"# + "\(sequence)"
                + #"","source":"/water-investment-company/agent-1","type":"conduit.outage","time":"2023-07-01T09:00:00+08:00","utility":"water","site":"ruijing-biyuan","data":{"status":"noticed","nature":"planned","service":"water","windowStart":"2023-07-03T09:00:00+08:00","windowEnd":"2023-07-03T17:00:00+08:00","noticedAt":"2023-07-01T09:00:00+08:00","households":40}}"#).utf8)
    }

    private static func measure(_ path: String, _ selection: ReplaySelection) throws -> (Double, Int) {
        var written = 0
        let clock = ContinuousClock()
        let started = clock.now
        let summary = try OfflineReplay(directory: path).run(
            selection, writer: ReplayWriter(format: .jsonl), emit: { written += $0.count })
        let elapsed = clock.now - started
        return (Double(summary.scanned) / elapsed.seconds, written)
    }
}
