import Testing
@testable import ConduitCore

/// The plan parser against hostile documents: the seed plan and the other county's, mutated as a tree (values swapped
/// for extremes, members dropped, duplicated or renamed, arrays emptied or repeated) so that most mutants stay valid
/// JSON and reach the plan's own checks. Every mutant is either a plan or a list of problems with known codes and
/// paths; a plan that decodes validates events, writes itself out and reads back the same, and can be stated as an
/// event. The authorisation file parser gets the same treatment.
@Suite struct PlanFuzzTests {
    static let knownCodes = Set(ConduitError.Code.all)

    /// Values a careless or hostile file might hold where another was expected.
    static let extremes: [JSONValue] = [
        .null, .bool(true), .number("0"), .number("-1"), .number("1e308"), .number("-9223372036854775809"),
        .number("18446744073709551616"), .number("0.5"), .number("2147483648"), .string(""), .string("x"),
        .string(String(repeating: "长", count: 3000)), .string("\u{1B}[2J"), .string("2023-02-30"), .string("0000-01-01"),
        .string("9999-12-31"), .string("+99:99"), .string("-14:00"), .string("Asia/Nowhere"), .string("power"),
        .string("ganjiaba"), .string("housing-bureau"), .string("coordinator"), .array([]), .object([]),
    ]

    static func mutate(_ value: JSONValue, _ rng: inout SplitMix64, depth: Int = 0) -> JSONValue {
        // Go down the tree most of the time; mutate here otherwise.
        switch value {
        case .object(var members) where !members.isEmpty && (depth == 0 || Int.random(in: 0..<4, using: &rng) > 0):
            let index = Int.random(in: 0..<members.count, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: members.remove(at: index)
            case 1: members.append(JSONValue.Member(members[index].key + "x", members[index].value))
            case 2: members[index].key = ["id", "households", "planned_start", "", "utcOffset"].randomElement(using: &rng)!
            default: members[index].value = mutate(members[index].value, &rng, depth: depth + 1)
            }
            return .object(members)
        case .array(var elements) where !elements.isEmpty && Int.random(in: 0..<4, using: &rng) > 0:
            let index = Int.random(in: 0..<elements.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: elements.remove(at: index)
            case 1: elements.append(elements[index])
            case 2: elements = []
            default: elements[index] = mutate(elements[index], &rng, depth: depth + 1)
            }
            return .array(elements)
        default:
            return extremes.randomElement(using: &rng)!
        }
    }

    static let seeds: [JSONValue] = [try! JSONValue.parse(Scenario.defaultJSON), try! JSONValue.parse(Array(Scenario.default.canonicalJSON))]

    @Test func mutatedPlansDecodeOrListTheirProblems() throws {
        var rng = SplitMix64(seed: 13)
        var decoded = 0, refused = 0
        for iteration in 0..<2000 {
            var document = Self.seeds[iteration % Self.seeds.count]
            for _ in 0..<Int.random(in: 1...3, using: &rng) { document = Self.mutate(document, &rng) }
            let bytes = document.encoded
            let problems = Scenario.problems(in: bytes)
            for problem in problems {
                #expect(Self.knownCodes.contains(problem.code), "\(problem)")
                #expect(!problem.path.isEmpty && !problem.reason.isEmpty, "\(problem.code) [\(problem.path)] \(problem.reason)")
            }
            do {
                let plan = try Scenario.decode(bytes)
                decoded += 1
                #expect(problems.isEmpty, "decoded, yet \(problems)")
                // A plan that decodes is usable: it writes itself out and reads back the same, validates events,
                // and travels as an event.
                #expect(try Scenario.decode(Array(plan.canonicalJSON)) == plan)
                let validator = EventValidator(scenario: plan)
                if let item = plan.workItems.first {
                    let progress = Event(
                        id: "f", source: "/\(item.organisation)/agent", time: Timestamp(secondsSinceEpoch: 1_700_000_000),
                        workItem: item.id, data: Samples.progress.data)
                    _ = try? validator.validate(progress)
                }
                let event = Event(id: "p", source: "/conduit/broker", time: Timestamp(secondsSinceEpoch: 1_700_000_000), data: .plan(plan))
                let encoded = EventCodec.encode(event)
                if encoded.count <= EventCodec.maximumEventBytes {
                    #expect(try EventCodec.decode(encoded).data == .plan(plan))
                }
            } catch {
                refused += 1
                #expect(!problems.isEmpty, "refused (\(error)) but no problem listed")
                #expect(problems.first?.code == error.code, "\(error) vs \(problems.first.map(String.init(describing:)) ?? "-")")
            }
        }
        #expect(decoded > 0 && refused > 0, "the mutants reach both outcomes: \(decoded) decoded, \(refused) refused")
    }

    @Test func mutatedAuthorisationFilesParseOrListTheirProblems() {
        let seed = try! JSONValue.parse(Array(#"""
            {"format":"conduit-authorisation/1","principals":[
              {"name":"power-field","organisation":"power-supply-bureau","role":"agent","keyFiles":["keys/power.pub"]},
              {"name":"desk","organisation":"housing-bureau","role":"coordinator","publicKeys":["rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"]}
            ]}
            """#.utf8))
        let organisations = Set(Scenario.default.organisations.map(\.id) + ["conduit"])
        var rng = SplitMix64(seed: 17)
        var parsed = 0
        for _ in 0..<3000 {
            var document = seed
            for _ in 0..<Int.random(in: 1...3, using: &rng) { document = Self.mutate(document, &rng) }
            do {
                let file = try AuthorisationFile.parse(document.encoded, organisations: organisations)
                parsed += 1
                #expect(Set(file.entries.map(\.principal.name)).count == file.entries.count, "names are unique")
                #expect(file.entries.allSatisfy { organisations.contains($0.principal.organisation) })
            } catch {
                #expect(!error.problems.isEmpty)
                for problem in error.problems {
                    #expect(Self.knownCodes.contains(problem.code) && !problem.path.isEmpty, "\(problem) in \(String(decoding: document.encoded, as: UTF8.self))")
                }
            }
        }
        #expect(parsed > 0)
    }
    /// Found by these fuzzers: a member named "" (or with a name that is not plain) had an empty or misleading path.
    @Test func aMemberWithAnEmptyOrOddNameHasAPath() throws {
        #expect(Scenario.problems(in: Array(#"{"format":"conduit-plan/1","":1}"#.utf8)).contains { $0.path == #"$[""]"# && $0.code == .eventUnknownField })
        do {
            _ = try JSONValue.parse(Array(#"{"":1,"":2}"#.utf8))
            Issue.record("a duplicate key was taken")
        } catch {
            #expect(error.code == .jsonDuplicateKey && error.path == #"$[""]"#)
        }
        do {
            _ = try AuthorisationFile.parse(Array(#"{"format":"conduit-authorisation/1","principals":[],"a.b":1}"#.utf8), organisations: [])
            Issue.record("an unknown member was taken")
        } catch {
            #expect(error.problems.map(\.path) == [#"$["a.b"]"#])
        }
        let odd = Samples.progress(replacingData: #"{"status":"in_progress","percent":45,"two words":1}"#)
        do {
            _ = try EventCodec.decode(Array(odd.utf8))
            Issue.record("an unknown field was taken")
        } catch {
            #expect(error.code == .eventUnknownField && error.path == #"data["two words"]"#, "\(error)")
        }
    }
}
