import ConduitAggregator
import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitState
import Foundation
import Logging

/// How fast the aggregate state folds events on one core, and how long an aggregator takes to catch up on a journal
/// through a broker.
///
/// Generates a seeded stream of valid, sequenced events for the default scenario — progress reports (70 %),
/// heartbeats (20 %), outages going noticed → started → restored (8 %) and inspections (2 %), 15 s apart so that
/// the day-based rules run — validates them all, then times folding them into a fresh `AggregateState`, alerts
/// included. Then the catch-up: the same kind of stream is written to a journal, a broker is started on it in this
/// process, and a fresh aggregator (no checkpoint, alerts not published back) is timed from its start until it has
/// applied the journal's last sequence.
public enum StateBenchmark {
    public struct Options: Sendable {
        /// How many times each measurement runs; the median is reported.
        public var runs: Int
        /// How many events each run folds: at least 1.
        public var events: Int
        /// How many events the catch-up journal holds; 0 skips the catch-up.
        public var catchUpEvents: Int
        /// Where to write the catch-up journal; `nil` for the system's temporary directory.
        public var directory: String?

        public init(runs: Int = 3, events: Int = 1_000_000, catchUpEvents: Int = 1_000_000, directory: String? = nil) {
            self.runs = runs
            self.events = events
            self.catchUpEvents = catchUpEvents
            self.directory = directory
        }

        public func validate() throws(BenchError) {
            try BenchError.checkRuns(runs)
            guard events >= 1 else { throw .invalidOptions("--events must be at least 1, got \(events)") }
        }
    }

    /// Folds the stream `options.runs` times, then times the catch-up; `progress` hears when the catch-up journal is
    /// being written. An aggregator that does not reach the journal's end in 300 s throws ``BenchError`` (`.failed`).
    public static func run(_ options: Options, progress: (String) -> Void = { _ in }) throws -> BenchReport {
        try options.validate()
        let catchUpEvents = options.catchUpEvents
        let scenario = Scenario.default
        let stream = StateWorkload.events(count: options.events, scenario: scenario)
        let validator = EventValidator(scenario: scenario)
        for event in stream { try validator.validate(event) }

        var rates: [Double] = []
        var alertChanges = 0
        for _ in 0..<options.runs {
            var state = AggregateState(scenario: scenario)
            var changes = 0
            let seconds = timeSeconds {
                for event in stream { changes &+= state.apply(event).count }
            }
            precondition(state.eventsApplied == stream.count)
            alertChanges = changes
            rates.append(Double(stream.count) / seconds)
        }

        var report = BenchReport(benchmark: "state")
        report.parameters = [
            ("events", String(stream.count)), ("alert changes per run", String(alertChanges)),
            ("runs", String(options.runs)), ("build", buildConfiguration),
        ]
        report.add("fold", unit: "events/s", runs: rates)
        if catchUpEvents > 0 {
            let (seconds, startSeconds) = try measureCatchUp(
                scenario: scenario, reuse: catchUpEvents == stream.count ? stream : nil, options: options, progress: progress)
            report.parameters.append(("catch-up events", String(catchUpEvents)))
            report.parameters.append(("broker start on that journal", String(format: "%.2f s", startSeconds)))
            report.add("catch_up", unit: "s", runs: seconds)
            report.add("catch_up_rate", unit: "events/s", runs: seconds.map { Double(catchUpEvents) / $0 })
        }
        return report
    }

    /// Writes the catch-up journal, starts a broker on it, and times fresh aggregators catching up; returns the
    /// seconds of each run and the broker's start time.
    private static func measureCatchUp(
        scenario: Scenario, reuse: [Event]?, options: Options, progress: (String) -> Void
    ) throws -> ([Double], Double) {
        let catchUpEvents = options.catchUpEvents
        let base = scratchPath(in: options.directory, "conduit-bench-catch-up-\(getpid())")
        defer { try? FileManager.default.removeItem(atPath: base) }
        progress("writing a journal of \(catchUpEvents) events…")
        do {
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            var journalOptions = JournalOptions()
            journalOptions.durability = .unsafeNoSyncForTestsOnly
            let (journal, _) = try Journal.open(directory: base + "/journal", options: journalOptions)
            let batch = JournalBatch()
            for event in reuse ?? StateWorkload.events(count: catchUpEvents, scenario: scenario) {
                try batch.append(
                    sequence: event.sequence!, recordedTime: event.recordedTime!.microsecondsSinceEpoch, topic: event.topic,
                    event: EventCodec.encode(event))
                if batch.count == 1000 { try journal.commit(batch) }
            }
            try journal.commit(batch)
            try journal.sync()
            try journal.close()
        }
        var configuration = BrokerConfiguration(journalDirectory: base + "/journal")
        configuration.ingestEndpoint = "tcp://127.0.0.1:*"
        configuration.fanoutEndpoint = "tcp://127.0.0.1:*"
        configuration.queryEndpoint = "tcp://127.0.0.1:*"
        var quiet = Logger(label: "conduit.bench")
        quiet.logLevel = .error
        let broker = Broker(configuration: configuration, logger: quiet)
        let brokerStart = ContinuousClock.now
        let endpoints = try broker.start()
        let startSeconds = (ContinuousClock.now - brokerStart).seconds
        defer { broker.stop() }
        var seconds: [Double] = []
        for _ in 0..<options.runs {
            var aggregatorConfiguration = AggregatorConfiguration()
            aggregatorConfiguration.fanoutEndpoint = endpoints.fanout
            aggregatorConfiguration.queryEndpoint = endpoints.query
            aggregatorConfiguration.ingestEndpoint = endpoints.ingest
            aggregatorConfiguration.snapshotEndpoint = "tcp://127.0.0.1:*"
            aggregatorConfiguration.publishAlerts = false
            let aggregator = Aggregator(configuration: aggregatorConfiguration, logger: quiet)
            let start = ContinuousClock.now
            _ = try aggregator.start()
            let deadline = start + .seconds(300)
            while aggregator.sequence < UInt64(catchUpEvents) && ContinuousClock.now < deadline { usleep(1000) }
            let elapsed = (ContinuousClock.now - start).seconds
            let reached = aggregator.sequence
            aggregator.stop()
            guard reached == UInt64(catchUpEvents) else {
                throw BenchError.failed("the aggregator reached sequence \(reached) of \(catchUpEvents) in 300 s")
            }
            seconds.append(elapsed)
        }
        return (seconds, startSeconds)
    }
}

/// A seeded stream of valid events for the default scenario, for the state benchmark.
enum StateWorkload {
    static func events(count: Int, scenario: Scenario, seed: UInt64 = 6) -> [Event] {
        var random = SplitMix64(seed: seed)
        let base = Timestamp(secondsSinceEpoch: 1_680_307_200)  // 2023-04-01T00:00:00Z
        let agents = scenario.organisations.filter { !$0.utilities.isEmpty }
        // The utilities' relocation work, as in every version of this workload (work of no utility is left out, so
        // that the stream stays the same when a plan gains such items and folds can be compared side by side).
        let workItems = scenario.workItems.filter { $0.utility != nil && $0.acceptance != nil }
        let utilityOrganisations: [(organisation: String, utility: Utility)] = [("power-supply-bureau", .power), ("water-investment-company", .water)]
        var outageStep = 0
        var outageNumber = 0
        var outageWindow: (Timestamp, Timestamp) = (base, base)
        var outageSite = scenario.communities[0]
        var outageBuilding = outageSite.buildings[0]
        var result: [Event] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            let time = base.adding(seconds: Int64(index) * 15)
            let sequence = UInt64(index + 1)
            let slot = index % 50
            let event: Event
            if slot < 35 {
                let item = workItems[Int(random.next() % UInt64(workItems.count))]
                let expected = Lifecycle.expectedPercent(plannedStart: item.plannedStart, plannedFinish: item.plannedFinish, today: time.utcDate)
                let percent = max(0, min(99, (expected - Double(random.next() % 20)).rounded()))
                event = Event(
                    id: "p-\(index)", source: "/\(item.organisation)/agent-1", time: time, utility: item.utility, site: item.community,
                    workItem: item.id, sequence: sequence, recordedTime: time,
                    data: .progress(ProgressReport(status: .inProgress, percent: percent)))
            } else if slot < 45 {
                let organisation = agents[index % agents.count]
                event = Event(
                    id: "h-\(index)", source: "/\(organisation.id)/agent-1", time: time, sequence: sequence, recordedTime: time,
                    data: .presence(PresenceReport(status: .heartbeat, agent: "agent-1", heartbeatIntervalMs: 300_000)))
            } else if slot < 49 {
                let (organisation, utility) = utilityOrganisations[outageNumber % 2]
                let status: OutageStatus
                switch outageStep {
                case 0:
                    status = .noticed
                    outageSite = scenario.communities[outageNumber % scenario.communities.count]
                    outageBuilding = outageSite.buildings[Int(random.next() % UInt64(outageSite.buildings.count))]
                    let start = time.adding(seconds: 3600 * Int64(1 + random.next() % 48))
                    outageWindow = (start, start.adding(seconds: 4 * 3600))
                case 1: status = .started
                default: status = .restored
                }
                event = Event(
                    id: "o-\(index)", source: "/\(organisation)/agent-1", time: time, subject: "o-\(outageNumber)", utility: utility,
                    site: outageSite.id, sequence: sequence, recordedTime: time,
                    data: .outage(OutageReport(
                        status: status, nature: .planned, service: utility, windowStart: outageWindow.0, windowEnd: outageWindow.1,
                        noticedAt: status == .noticed ? time : nil, startedAt: status == .started ? time : nil,
                        restoredAt: status == .restored ? time : nil, buildings: [outageBuilding.id],
                        households: outageBuilding.households)))
                outageStep += 1
                if outageStep == 3 {
                    outageStep = 0
                    outageNumber += 1
                }
            } else {
                let item = workItems[Int(random.next() % UInt64(workItems.count))]
                let kind = item.acceptance ?? .jointAcceptance
                let authority = scenario.organisations.first { $0.inspects.contains(kind) }?.id ?? "housing-bureau"
                let failed = random.next() % 2 == 0
                event = Event(
                    id: "i-\(index)", source: "/\(authority)/inspector", time: time, workItem: item.id, sequence: sequence,
                    recordedTime: time,
                    data: .inspection(InspectionReport(
                        status: .performed, kind: kind, authority: authority, performedAt: time,
                        result: failed ? .failed : .conditional,
                        defects: [Defect(
                            id: "d-\(index)", severity: failed ? .major : .minor, description: "defect",
                            dueDate: CalendarDate(daysSinceEpoch: time.utcDate.daysSinceEpoch + 10))])))
            }
            result.append(event)
        }
        return result
    }
}
