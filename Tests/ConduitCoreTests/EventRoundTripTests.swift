import Testing
@testable import ConduitCore

/// Random, well-formed events of every kind survive encode → decode unchanged, and the encoding is canonical.
@Suite struct EventRoundTripTests {
    struct Generator {
        var rng: SplitMix64

        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
        mutating func chance() -> Bool { Bool.random(using: &rng) }
        mutating func pick<T>(_ values: [T]) -> T { values.randomElement(using: &rng)! }

        mutating func text() -> String {
            let pieces = ["a", "Z", " ", "甘家坝", "😀", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{7F}", "é", "0", "{", "]"]
            return (0..<int(1...12)).map { _ in pick(pieces) }.joined()
        }

        mutating func identifier() -> String {
            let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
            return String((0..<int(1...20)).map { _ in pick(letters) }) + (chance() ? "-x" : "")
        }

        mutating func timestamp() -> Timestamp {
            Timestamp(microsecondsSinceEpoch: Int64(int(0...4_000_000_000)) * 1_000_000 + (chance() ? Int64(int(0...999_999)) : 0))
        }

        mutating func date() -> CalendarDate { CalendarDate(daysSinceEpoch: int(-700_000...2_900_000)) }

        mutating func maybe<T>(_ make: (inout Generator) -> T) -> T? { chance() ? make(&self) : nil }

        mutating func data() -> EventData {
            switch int(0...4) {
            case 0:
                return .progress(ProgressReport(
                    status: pick(WorkStatus.allCases), percent: maybe { Double($0.int(0...1000)) / 10 },
                    plannedStart: maybe { $0.date() }, plannedFinish: maybe { $0.date() }, actualStart: maybe { $0.date() },
                    actualFinish: maybe { $0.date() }, householdsAffected: maybe { $0.int(0...5000) }, blockingReason: maybe { $0.text() }))
            case 1:
                return .inspection(InspectionReport(
                    status: pick(InspectionStatus.allCases), kind: pick(InspectionKind.allCases), authority: identifier(),
                    scheduledAt: maybe { $0.timestamp() }, performedAt: maybe { $0.timestamp() }, result: maybe { $0.pick(InspectionResult.allCases) },
                    defects: (0..<int(0...3)).map { index in
                        Defect(id: "d\(index)", severity: pick(DefectSeverity.allCases), description: text(), dueDate: maybe { $0.date() }, status: pick(DefectStatus.allCases))
                    }))
            case 2:
                return .outage(OutageReport(
                    status: pick(OutageStatus.allCases), nature: pick(OutageNature.allCases), service: pick(Utility.allCases),
                    windowStart: maybe { $0.timestamp() }, windowEnd: maybe { $0.timestamp() }, noticedAt: maybe { $0.timestamp() },
                    startedAt: maybe { $0.timestamp() }, restoredAt: maybe { $0.timestamp() },
                    buildings: (0..<int(0...3)).map { _ in identifier() }, households: int(0...972), causedBy: maybe { $0.identifier() }))
            case 3:
                return .presence(PresenceReport(status: pick(PresenceStatus.allCases), agent: identifier(), heartbeatIntervalMs: maybe { $0.int(100...60_000) }, version: maybe { $0.text() }))
            default:
                return .alert(AlertReport(status: pick(AlertStatus.allCases), kind: pick(AlertKind.allCases), key: text(), message: text(), refs: (0..<int(0...2)).map { _ in text() }))
            }
        }

        mutating func event() -> Event {
            Event(
                id: text(), source: "/" + identifier() + (chance() ? "/" + identifier() : ""), time: timestamp(),
                subject: maybe { $0.text() }, dataContentType: chance() ? "application/json" : nil,
                utility: maybe { $0.pick(Utility.allCases) }, site: maybe { $0.identifier() }, workItem: maybe { $0.identifier() },
                sequence: maybe { UInt64($0.int(1...Int.max)) }, recordedTime: maybe { $0.timestamp() },
                authenticatedIdentity: maybe { $0.text() },
                extensions: chance() ? [ExtensionAttribute(name: "trace\(int(0...9))", json: bytes("\"\(identifier())\""))] : [],
                data: data())
        }
    }

    @Test func randomEventsRoundTrip() throws {
        var generator = Generator(rng: SplitMix64(seed: 7))
        for _ in 0..<2000 {
            let event = generator.event()
            let encoded = EventCodec.encode(event)
            let decoded = try EventCodec.decode(encoded)
            #expect(decoded == event)
            #expect(EventCodec.encode(decoded) == encoded)
            let value = try JSONValue.parse(encoded)
            guard case .object(let members) = value else {
                Issue.record("not an object")
                continue
            }
            #expect(members.first?.key == "specversion")
            #expect(members.last?.key == "data")
        }
    }
}
