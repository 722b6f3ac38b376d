import Testing
@testable import ConduitCore

/// The quick way for progress reports in canonical form must never decide otherwise than the general decoder and
/// validator: whatever it accepts they accept, stored as the same bytes under the same topic and key; and of progress
/// reports in canonical form with ASCII text and whole percents, it accepts exactly what they accept.
@Suite struct CanonicalProgressTests {
    static let validator = EventValidator(scenario: .default)
    static let recordedTime = Timestamp(microsecondsSinceEpoch: 1_685_608_200_250_000)

    /// The general way's stored form of `json`, as the broker stores it (completed, stamped, with the identity of the
    /// key that sent it), or `nil` when it refuses the event.
    static func generalWay(_ json: [UInt8], identity: String?) -> (stored: [UInt8], event: Event)? {
        guard var event = try? EventCodec.decodeAndValidate(json, with: validator) else { return nil }
        event.sequence = 1234
        event.recordedTime = recordedTime
        event.authenticatedIdentity = identity
        return (EventCodec.encode(event), event)
    }

    /// The quick way's stored form of `json`, or `nil` when it leaves the event to the general way; when it accepts,
    /// checks that the ranges and the topic it gives are those of the general way's event.
    static func quickWay(_ json: [UInt8], identity: String?, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8]? {
        json.withUnsafeBufferPointer { received -> [UInt8]? in
            guard let accepted = validator.canonicalProgress(received) else { return nil }
            guard let general = generalWay(json, identity: identity) else {
                Issue.record("accepted what the general way refuses: \(String(decoding: json, as: UTF8.self))", sourceLocation: sourceLocation)
                return nil
            }
            let event = general.event
            #expect(String(decoding: received[accepted.source], as: UTF8.self) == event.source, sourceLocation: sourceLocation)
            #expect(String(decoding: received[accepted.id], as: UTF8.self) == event.id, sourceLocation: sourceLocation)
            #expect(String(decoding: received[accepted.organisation], as: UTF8.self) == event.sourceOrganisation, sourceLocation: sourceLocation)
            #expect(validator.progressTopic(of: accepted) == event.topic, sourceLocation: sourceLocation)
            #expect(accepted.utility == event.utility && validator.site(of: accepted) == event.site, sourceLocation: sourceLocation)
            var text = TimestampText()
            return EventCodec.storedForm(
                accepted, site: validator.site(of: accepted), of: received, sequence: 1234, recordedTime: text.text(of: recordedTime),
                identity: identity)
        }
    }

    @Test func theSampleReportIsAcceptedAndStoredAsTheGeneralWayStoresIt() throws {
        for identity in [nil, "power-supply-bureau"] {
            let quick = try #require(Self.quickWay(Samples.progressBytes, identity: identity))
            #expect(quick == Self.generalWay(Samples.progressBytes, identity: identity)?.stored)
        }
        // Without site and utility the plan fills both in, in their places.
        let bare = Samples.progressJSON.replacingOccurrences(of: #""utility":"power","site":"ganjiaba","#, with: "")
        let quick = try #require(Self.quickWay(bytes(bare), identity: nil))
        #expect(quick == Self.generalWay(bytes(bare), identity: nil)?.stored)
        #expect(String(decoding: quick, as: UTF8.self).contains(#""utility":"power","site":"ganjiaba","workitem":"ganjiaba-power","sequence":1234,"#))
    }

    /// Each of these is valid but not in the canonical form (or not in what the quick way reads): the general way
    /// takes it. A quick way that took them would have to write them afresh.
    @Test(arguments: [
        (#""percent":45,"#, #""percent":45.0,"#),
        (#""percent":45,"#, #""percent":37.5,"#),
        (#""householdsAffected":120"#, #""householdsAffected": 120"#),
        (#""status":"in_progress","percent":45,"#, #""percent":45,"status":"in_progress","#),
        (#""id":"pw-0001""#, #""id":"pw\u002d0001""#),
        (#""id":"pw-0001""#, #""id":"进度-0001""#),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"2023-06-01T16:30:00+08:00""#),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"2023-06-01T08:30:00.000000Z""#),
        (#""utility":"power","site":"ganjiaba","#, #""site":"ganjiaba","utility":"power","#),
        (#""type":"conduit.progress","#, #""type":"conduit.progress","datacontenttype":"application/json","#),
        (#""type":"conduit.progress","#, #""type":"conduit.progress","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","#),
        (#"{"specversion":"1.0","#, #"{ "specversion":"1.0","#),
        (#""householdsAffected":120}}"#, #""householdsAffected":120}} "#),
        (#""householdsAffected":120}}"#, #""householdsAffected":120},"x":1}"#),
        // Conduit's own components are not an organisation of the plan: the general way checks what they send.
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"/conduit/agent-1""#),
    ])
    func anotherFormIsLeftToTheGeneralWay(_ canonical: String, _ other: String) throws {
        let json = Samples.progressJSON.replacingOccurrences(of: canonical, with: other)
        #expect(json != Samples.progressJSON)
        #expect(Self.generalWay(bytes(json), identity: nil) != nil, "\(json)")
        #expect(Self.quickWay(bytes(json), identity: nil) == nil, "\(json)")
    }

    /// At the edges of what the rules allow, both ways accept and store the same bytes.
    @Test(arguments: [
        (#""status":"in_progress","percent":45,"#, #""status":"accepted","percent":100,"#),
        (#""percent":45,"#, #""percent":0,"#),
        (#""householdsAffected":120"#, #""householdsAffected":999999999999999"#),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"9999-12-31T23:59:59.999999Z""#),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"0001-01-01T00:00:00.000001Z""#),
        (#""id":"pw-0001""#, "\"id\":\"" + String(repeating: "~", count: 128) + "\""),
        (#""source":"/power-supply-bureau/agent-1""#, "\"source\":\"/power-supply-bureau/" + String(repeating: "a", count: 235) + "\""),
        (#""householdsAffected":120}}"#, #""householdsAffected":120,"blockingReason":"a ' quoted ' {reason} [1]"}}"#),
    ])
    func atTheEdgesBothWaysAcceptTheSame(_ canonical: String, _ other: String) throws {
        let json = Samples.progressJSON.replacingOccurrences(of: canonical, with: other)
        #expect(json != Samples.progressJSON)
        let quick = try #require(Self.quickWay(bytes(json), identity: "power-supply-bureau"), "\(json)")
        #expect(quick == Self.generalWay(bytes(json), identity: "power-supply-bureau")?.stored)
    }

    /// Sources whose organisation is found where the bytes are read one by one or eight at a time.
    @Test(arguments: ["/power-supply-bureau", "/power-supply-bureau/a", "/power-supply-bureau/agent-1/2/3", "/power-supply-bureau/a b"])
    func theOrganisationOfASourceIsFoundWhereverItsSlashLies(_ source: String) throws {
        let json = Samples.progressJSON.replacingOccurrences(of: "/power-supply-bureau/agent-1", with: source)
        let quick = Self.quickWay(bytes(json), identity: nil)
        #expect(quick == Self.generalWay(bytes(json), identity: nil)?.stored)
        #expect((quick != nil) == !source.contains(" "))
    }

    /// One byte past an edge: the general way refuses, and the quick way leaves it.
    @Test(arguments: [
        (#""id":"pw-0001""#, "\"id\":\"" + String(repeating: "~", count: 129) + "\""),
        (#""source":"/power-supply-bureau/agent-1""#, "\"source\":\"/power-supply-bureau/" + String(repeating: "a", count: 236) + "\""),
    ])
    func onePastAnEdgeBothWaysRefuse(_ canonical: String, _ other: String) throws {
        let json = Samples.progressJSON.replacingOccurrences(of: canonical, with: other)
        #expect(Self.generalWay(bytes(json), identity: nil) == nil)
        #expect(Self.quickWay(bytes(json), identity: nil) == nil)
    }

    /// Each of these breaks a rule: the quick way leaves it to the general way, which refuses it with its error.
    @Test(arguments: [
        (#""percent":45,"#, #""percent":101,"#),
        (#""status":"in_progress""#, #""status":"completed""#),
        (#""status":"in_progress""#, #""status":"finished""#),
        (#""plannedFinish":"2023-09-30""#, #""plannedFinish":"2023-03-30""#),
        (#""actualStart":"2023-04-03""#, #""actualStart":"2023-02-30""#),
        (#""site":"ganjiaba""#, #""site":"ruijing-biyuan""#),
        (#""site":"ganjiaba""#, #""site":"nowhere""#),
        (#""utility":"power""#, #""utility":"water""#),
        (#""workitem":"ganjiaba-power""#, #""workitem":"ganjiaba-none""#),
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"/water-investment-company/agent-1""#),
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"/power-supply-bureau/agent 1""#),
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"power-supply-bureau""#),
        // A space or DEL anywhere in the source, read eight bytes at a time or one by one.
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"/power supply-bureau/agent-1""#),
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"/power-supply-bureau/agent-1 ""#),
        (#""source":"/power-supply-bureau/agent-1""#, "\"source\":\"/power-supply-bur\u{7F}au/agent-1\""),
        (#""source":"/power-supply-bureau/agent-1""#, "\"source\":\"/power-supply-bureau/agent-\u{7F}\""),
        // An organisation cut short by an earlier slash, at each place in an eight-byte word.
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"/power-supply/bureau/agent-1""#),
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"/power-s/upply-bureau/agent-1""#),
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"/power-supply-burea/u/agent-1""#),
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"//power-supply-bureau/agent-1""#),
        (#""id":"pw-0001""#, #""id":"""#),
        (#""specversion":"1.0""#, #""specversion":"1.1""#),
    ])
    func aBrokenRuleIsLeftToTheGeneralWay(_ canonical: String, _ other: String) throws {
        let json = Samples.progressJSON.replacingOccurrences(of: canonical, with: other)
        #expect(json != Samples.progressJSON)
        #expect(Self.generalWay(bytes(json), identity: nil) == nil, "\(json)")
        #expect(Self.quickWay(bytes(json), identity: nil) == nil, "\(json)")
    }

    /// A work item that names an organisation outside the plan (a plan changed after it was checked): neither way takes
    /// a report on it, from any organisation of the plan.
    @Test func aWorkItemOfAnOrganisationOutsideThePlanTakesNoReport() throws {
        var scenario = Scenario.default
        let index = try #require(scenario.workItems.firstIndex { $0.id == "ganjiaba-power" })
        scenario.workItems[index].organisation = "nobody-of-the-plan"
        let changed = EventValidator(scenario: scenario)
        #expect((try? EventCodec.decodeAndValidate(Samples.progressBytes, with: changed)) == nil)
        #expect(Samples.progressBytes.withUnsafeBufferPointer { changed.canonicalProgress($0) } == nil)
        #expect(Samples.progressBytes.withUnsafeBufferPointer { Self.validator.canonicalProgress($0) } != nil)
    }

    /// Progress reports written by the encoder over the plan's work items, with every optional member present or not
    /// and right or wrong: the quick way accepts exactly those the general way accepts, and stores the same bytes.
    @Test func ofCanonicalReportsItAcceptsExactlyWhatTheGeneralWayAccepts() throws {
        var rng = SplitMix64(seed: 7)
        let scenario = Scenario.default
        let statuses: [WorkStatus] = [.planned, .scheduled, .inProgress, .suspended, .completed, .accepted, .cancelled]
        var accepted = 0
        var refused = 0
        for index in 0..<6_000 {
            func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
            let item = scenario.workItems[Int.random(in: 0..<scenario.workItems.count, using: &rng)]
            let other = scenario.workItems[Int.random(in: 0..<scenario.workItems.count, using: &rng)]
            func date() -> CalendarDate { CalendarDate(year: 2023, month: Int.random(in: 1...12, using: &rng), day: Int.random(in: 1...28, using: &rng))! }
            var report = ProgressReport(status: statuses[Int.random(in: 0..<statuses.count, using: &rng)])
            if chance(70) { report.percent = Double(chance(5) ? Int.random(in: 101...120, using: &rng) : Int.random(in: 0...100, using: &rng)) }
            if chance(50) { report.plannedStart = date() }
            if chance(50) { report.plannedFinish = date() }
            if chance(50) { report.actualStart = date() }
            if chance(50) { report.actualFinish = date() }
            if chance(40) { report.householdsAffected = Int.random(in: 0...400, using: &rng) }
            if chance(20) { report.blockingReason = "waiting for the road permit #\(index)" }
            let organisation = chance(90) ? item.organisation : other.organisation
            var event = Event(
                id: "r-\(index)", source: "/\(organisation)/agent-\(index % 3)",
                time: Timestamp(microsecondsSinceEpoch: 1_685_608_200_000_000 + Int64(index) * (chance(50) ? 1_000_000 : 1_250)),
                data: .progress(report))
            if chance(30) { event.subject = "progress \(index)" }
            if chance(60) { event.utility = chance(90) ? item.utility : other.utility }
            if chance(60) { event.site = chance(90) ? item.community : other.community }
            event.workItem = chance(97) ? item.id : "not-a-work-item"
            let json = EventCodec.encode(event)
            let identity = chance(50) ? organisation : nil
            let general = Self.generalWay(json, identity: identity)
            let quick = Self.quickWay(json, identity: identity)
            #expect((quick != nil) == (general != nil), "\(String(decoding: json, as: UTF8.self))")
            if let quick { #expect(quick == general?.stored) }
            if general != nil { accepted += 1 } else { refused += 1 }
        }
        // Both outcomes are common enough for the comparison to mean something.
        #expect(accepted > 1_500 && refused > 1_500, "\(accepted) accepted, \(refused) refused")
    }

    /// Canonical reports mutated at random (a byte changed, removed, inserted or repeated): whatever the quick way
    /// accepts, the general way accepts and stores as the same bytes.
    @Test func whatItAcceptsOfMutatedReportsTheGeneralWayStoresTheSame() throws {
        var rng = SplitMix64(seed: 43)
        let bare = bytes(Samples.progressJSON.replacingOccurrences(of: #""utility":"power","site":"ganjiaba","#, with: ""))
        let seeds = [Samples.progressBytes, bare]
        var taken = 0
        for iteration in 0..<30_000 {
            let input = DecoderFuzzTests.mutate(seeds[iteration % seeds.count], &rng)
            guard let quick = Self.quickWay(input, identity: nil) else { continue }
            taken += 1
            #expect(quick == Self.generalWay(input, identity: nil)?.stored, "\(String(decoding: input, as: UTF8.self))")
        }
        // Mutations inside ids, sources, times and numbers that keep the event valid are taken the quick way.
        #expect(taken > 200)
    }
}
