import ArgumentParser
import ConduitCore
import ConduitState

/// `conduit bench state`: how fast the aggregate state folds events on one core.
struct BenchState: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Fold generated events of every kind into the aggregate state on one core.",
        discussion: """
            Generates a seeded stream of valid, sequenced events for the default scenario — progress \
            reports (70 %), heartbeats (20 %, each agent every few minutes with a 5-minute interval), outages going noticed → started → restored (8 %) and \
            inspections (2 %), 15 s apart so that the day-based rules run — validates them all, then times \
            folding them into a fresh AggregateState, alerts included. Build with -c release before \
            reading the figures.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(name: .long, help: "How many events each run folds.")
    var events: Int = 1_000_000

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events must be at least 1, got \(events)") }
    }

    func run() async throws {
        let scenario = Scenario.default
        let stream = StateWorkload.events(count: events, scenario: scenario)
        let validator = EventValidator(scenario: scenario)
        for event in stream { try validator.validate(event) }

        var rates: [Double] = []
        var alertChanges = 0
        for _ in 0..<options.runs {
            var state = AggregateState(scenario: scenario)
            var changes = 0
            let seconds = try BenchCodec.time {
                for event in stream { changes &+= state.apply(event).count }
            }
            precondition(state.eventsApplied == stream.count)
            alertChanges = changes
            rates.append(Double(stream.count) / seconds)
        }

        var report = BenchReport(benchmark: "state")
        report.parameters = [
            ("events", String(stream.count)), ("alert changes per run", String(alertChanges)),
            ("runs", String(options.runs)), ("build", BenchCodec.buildConfiguration),
        ]
        report.add("fold", unit: "events/s", runs: rates)
        report.print(json: options.json)
    }
}

/// A seeded stream of valid events for the default scenario, for the state benchmark.
enum StateWorkload {
    static func events(count: Int, scenario: Scenario, seed: UInt64 = 6) -> [Event] {
        var random = SplitMix64(seed: seed)
        let base = Timestamp(secondsSinceEpoch: 1_680_307_200)  // 2023-04-01T00:00:00Z
        let agents = scenario.organisations.filter { !$0.utilities.isEmpty }
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
                let item = scenario.workItems[Int(random.next() % UInt64(scenario.workItems.count))]
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
                let item = scenario.workItems[Int(random.next() % UInt64(scenario.workItems.count))]
                let authority = scenario.organisations.first { $0.inspects.contains(item.acceptance) }?.id ?? "housing-bureau"
                let failed = random.next() % 2 == 0
                event = Event(
                    id: "i-\(index)", source: "/\(authority)/inspector", time: time, workItem: item.id, sequence: sequence,
                    recordedTime: time,
                    data: .inspection(InspectionReport(
                        status: .performed, kind: item.acceptance, authority: authority, performedAt: time,
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
