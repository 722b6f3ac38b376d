import ConduitCore
import Testing

@testable import ConduitState

/// Properties over long seeded histories of every kind, with late reports and redeliveries mixed in.
@Suite struct RandomHistoryTests {
    /// A seeded history on the small scenario: events about 20 minutes apart over some months, a tenth
    /// of them reporting a fact up to two days old, and some redelivered with their old sequence.
    static func history(seed: UInt64, count: Int) -> [Event] {
        var random = SplitMix64(seed: seed)
        var factory = EventFactory()
        var events: [Event] = []
        let base = Fixtures.time("2023-01-01T00:00:00Z")
        let items = Fixtures.scenario.workItems
        let statuses: [WorkStatus] = [.scheduled, .inProgress, .inProgress, .inProgress, .suspended, .completed, .accepted]
        var outageStatus: [String: OutageStatus] = [:]
        for index in 0..<count {
            var seconds = Int64(index) * 1200
            if random.next() % 10 == 0 { seconds -= Int64(random.next() % 172_800) }
            let time = base.adding(seconds: seconds).rfc3339
            switch random.next() % 10 {
            case 0...3:
                let item = items[Int(random.next() % UInt64(items.count))]
                let status = statuses[Int(random.next() % UInt64(statuses.count))]
                let percent = status == .completed || status == .accepted ? 100 : Double(random.next() % 101)
                events.append(factory.progress(item.id, status, percent: percent, at: time))
            case 4, 5:
                let agent = ["a", "b"][Int(random.next() % 2)]
                let status: PresenceStatus = random.next() % 20 == 0 ? .death : .heartbeat
                events.append(factory.presence(status, agent: agent, intervalMs: 600_000, at: time))
            case 6, 7:
                let service: Utility = random.next() % 2 == 0 ? .power : .water
                let subject = "o\(random.next() % 4)"
                let key = "\(service.rawValue)/\(subject)"
                let next: OutageStatus
                switch outageStatus[key] {
                case nil, .restored?, .cancelled?: next = random.next() % 5 == 0 ? .cancelled : .noticed
                case .noticed?, .proposed?: next = random.next() % 6 == 0 ? .restored : .started
                case .started?: next = .restored
                }
                outageStatus[key] = next
                let start = base.adding(seconds: Int64(index) * 1200 + Int64(random.next() % 400_000))
                let window = (start.rfc3339, start.adding(seconds: 14_400).rfc3339)
                let buildings = [["b1"], ["b2"], ["b1", "b2"]][Int(random.next() % 3)]
                events.append(factory.outage(
                    service, next, subject: subject, at: time, window: window, noticedAt: next == .noticed ? time : nil,
                    startedAt: next == .started ? time : nil, restoredAt: next == .restored ? time : nil, buildings: buildings))
            case 8:
                let item = items[Int(random.next() % UInt64(items.count))]
                let result: InspectionResult = [.passed, .failed, .conditional][Int(random.next() % 3)]
                let due = CalendarDate(daysSinceEpoch: base.adding(seconds: seconds).utcDate.daysSinceEpoch + Int(random.next() % 10))
                let defects = result == .passed
                    ? [] : [Defect(id: "d\(random.next() % 5)", severity: .major, description: "defect", dueDate: due)]
                let authority = item.acceptance == .waterAcceptance ? "waterco" : "bureau"
                events.append(factory.inspection(item.id, kind: item.acceptance!, result: result, at: time, authority: authority, defects: defects))
            default:
                if let earlier = events.randomElement(using: &random) { events.append(earlier) }  // a redelivery
            }
        }
        return events
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func raisesAndClearsAlternatePerKey(seed: UInt64) {
        var state = AggregateState(scenario: Fixtures.scenario)
        var open: Set<String> = []
        var kinds: Set<AlertKind> = []
        for event in Self.history(seed: seed, count: 3000) {
            for change in state.apply(event) {
                kinds.insert(change.kind)
                switch change.status {
                case .raised: #expect(open.insert(change.key).inserted, "raised twice: \(change.key)")
                case .cleared: #expect(open.remove(change.key) != nil, "cleared without a raise: \(change.key)")
                case .acknowledged: Issue.record("the fold derives no acknowledgement")
                }
            }
        }
        #expect(open == Set(state.raisedEntries.keys))
        #expect(state.eventsIgnored > 0, "redeliveries and late reports are ignored")
        #expect(kinds.count >= 5, "the history exercises most rules: \(kinds)")
    }

    @Test(arguments: [4, 5] as [UInt64])
    func checkpointsAnywhereContinueIdentically(seed: UInt64) throws {
        let events = Self.history(seed: seed, count: 2000)
        var reference = AggregateState(scenario: Fixtures.scenario)
        var referenceChanges: [[AlertChange]] = []
        for event in events { referenceChanges.append(reference.apply(event)) }

        for cut in [1, 333, 1000, 1999] {
            var state = AggregateState(scenario: Fixtures.scenario)
            _ = state.apply(Array(events[..<cut]))
            var restored = try AggregateState.restore(json: state.json(), scenario: Fixtures.scenario)
            #expect(restored == state, "cut at \(cut)")
            for (offset, event) in events[cut...].enumerated() {
                #expect(restored.apply(event) == referenceChanges[cut + offset])
            }
            #expect(restored == reference)
        }
    }
}
