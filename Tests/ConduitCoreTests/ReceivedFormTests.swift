import Testing
@testable import ConduitCore

/// The broker stores an event by copying the members it received in canonical form and writing the rest: the bytes
/// must be exactly those of writing the whole event, whatever form the event arrived in.
@Suite struct ReceivedFormTests {
    /// Decodes `json`, stamps and completes it as the broker does, and writes it both ways.
    static func bothWays(_ json: [UInt8], identity: String? = "power-supply-bureau") throws -> (copied: [UInt8], written: [UInt8], form: ReceivedForm) {
        var form = ReceivedForm()
        var event = try EventCodec.decode(json, form: &form)
        EventValidator(scenario: .default).complete(&event)
        event.sequence = 1234
        event.recordedTime = Timestamp(microsecondsSinceEpoch: 1_685_608_200_250_000)
        event.authenticatedIdentity = identity
        let written = EventCodec.encode(event)
        // The broker's way: copied straight into an array sized once when that applies, written otherwise.
        var text = TimestampText()
        let copied = EventCodec.storedForm(event, reusing: form, of: json, recordedTime: &text) ?? written
        return (copied, written, form)
    }

    @Test func aCanonicalProgressReportIsCopiedMemberByMember() throws {
        let result = try Self.bothWays(Samples.progressBytes)
        #expect(result.copied == result.written)
        // id, source, time, site, workitem and data.
        #expect(result.form.reusedCount == 6)
        #expect(result.form.data != nil)
        var form = ReceivedForm()
        let event = try EventCodec.decode(Samples.progressBytes, form: &form)
        var text = TimestampText()
        #expect(EventCodec.storedForm(event, reusing: form, of: Samples.progressBytes, recordedTime: &text) == Samples.progressBytes)
    }

    @Test func membersMissingFromTheReceivedEventAreWritten() throws {
        // No site and no utility: the broker fills both in from the work item.
        let json = Samples.progressJSON.replacingOccurrences(of: #""utility":"power","site":"ganjiaba","#, with: "")
        let result = try Self.bothWays(bytes(json), identity: nil)
        #expect(result.form.site == nil)
        #expect(result.copied == result.written)
        #expect(String(decoding: result.copied, as: UTF8.self).contains(#""site":"ganjiaba""#))
    }

    /// Each of these arrives in a form the encoder would not write: the member is written, not copied.
    @Test(arguments: [
        (#""percent":45,"#, #""percent":45.0,"#, "data"),
        (#""percent":45,"#, #""percent":4.5e1,"#, "data"),
        (#""householdsAffected":120"#, #""householdsAffected": 120"#, "data"),
        (#""householdsAffected":120"#, #""householdsAffected":-0"#, "data"),
        (#""status":"in_progress","percent":45,"#, #""percent":45,"status":"in_progress","#, "data"),
        (#""plannedStart":"2023-04-01""#, #""plannedStart":"2023\u002d04-01""#, "data"),
        (#""status":"in_progress""#, #""st\u0061tus":"in_progress""#, "data"),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"2023-06-01T16:30:00+08:00""#, "time"),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"2023-06-01t08:30:00Z""#, "time"),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"2023-06-01T08:30:00z""#, "time"),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"2023-06-01T08:30:00.000000Z""#, "time"),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"2023-06-01T08:30:00.5Z""#, "time"),
        (#""time":"2023-06-01T08:30:00Z""#, #""time":"2023-06-01T08:30:00.123456789Z""#, "time"),
        (#""id":"pw-0001""#, #""id":"pw\u002d0001""#, "id"),
        (#""source":"/power-supply-bureau/agent-1""#, #""source":"\/power-supply-bureau\/agent-1""#, "source"),
        (#""site":"ganjiaba""#, #""site":"ganji\u0061ba""#, "site"),
    ])
    func aMemberInAnotherFormIsWrittenAfresh(_ canonical: String, _ other: String, _ member: String) throws {
        let json = Samples.progressJSON.replacingOccurrences(of: canonical, with: other)
        #expect(json != Samples.progressJSON)
        let result = try Self.bothWays(bytes(json))
        #expect(result.copied == result.written, "\(String(decoding: result.copied, as: UTF8.self))")
        let form = result.form
        let reused: [String: Bool] = [
            "data": form.data != nil, "time": form.time != nil, "id": form.id != nil, "source": form.source != nil,
            "site": form.site != nil,
        ]
        #expect(reused[member] == false)
        #expect(form.reusedCount == 5)
    }

    /// Inspections and outages, the other kinds agents send: their data is copied when canonical, written otherwise.
    @Test func inspectionsAndOutagesInCanonicalFormAreCopiedWhole() throws {
        let outage = String(decoding: EventCodec.encode(Samples.outage), as: UTF8.self)
        var inspection = Samples.inspection
        inspection.data = .inspection(InspectionReport(
            status: .performed, kind: .waterAcceptance, authority: "water-investment-company",
            performedAt: Samples.inspection.time, result: .failed,
            defects: [Defect(id: "d1", severity: .major, description: "渗漏 at the valve", dueDate: CalendarDate(year: 2023, month: 11, day: 1))]))
        let plainInspection = String(decoding: EventCodec.encode(inspection), as: UTF8.self)
        for json in [outage, plainInspection] {
            let result = try Self.bothWays(bytes(json))
            #expect(result.copied == result.written)
            #expect(result.form.data != nil, "\(json)")
        }
        // Each of these is valid but not canonical inside data: written afresh, the same bytes stored.
        let variants = [
            outage.replacingOccurrences(of: #""buildings":["b01","b02"],"#, with: #""buildings":[],"#),
            outage.replacingOccurrences(of: #""households":96"#, with: #""households":96,"buildings":["b01"]"#)
                .replacingOccurrences(of: #""buildings":["b01","b02"],"#, with: ""),
            outage.replacingOccurrences(of: #""windowEnd":"2023-07-02T05:00:00Z""#, with: #""windowEnd":"2023-07-02T13:00:00+08:00""#),
            plainInspection.replacingOccurrences(of: #","status":"open"}"#, with: "}"),
            plainInspection.replacingOccurrences(of: #""id":"d1","severity":"major""#, with: #""severity":"major","id":"d1""#),
            Samples.progressJSON.replacingOccurrences(of: "pw-0001", with: "pw-0002"),  // a control: stays copied
        ]
        for (index, json) in variants.enumerated() {
            #expect(json != outage && json != plainInspection)
            let result = try Self.bothWays(bytes(json))
            #expect(result.copied == result.written, "\(json)")
            #expect((result.form.data != nil) == (index == variants.count - 1), "\(json)")
        }
    }

    @Test func canonicalFractionsAndTimesWithMicrosecondsAreCopied() throws {
        let json = Samples.progressJSON
            .replacingOccurrences(of: #""percent":45,"#, with: #""percent":37.5,"#)
            .replacingOccurrences(of: #""time":"2023-06-01T08:30:00Z""#, with: #""time":"2023-06-01T08:30:00.000250Z""#)
        let result = try Self.bothWays(bytes(json))
        #expect(result.copied == result.written)
        #expect(result.form.data != nil && result.form.time != nil)
    }

    /// Events of every kind, mutated at random (a byte changed, removed, inserted or repeated): whatever still decodes
    /// is stored with the same bytes either way.
    @Test func mutatedEventsAreStoredTheSameEitherWay() throws {
        var rng = SplitMix64(seed: 41)
        let seeds = Samples.all.map { EventCodec.encode($0) } + [Samples.progressBytes]
        var compared = 0
        var copiedData = 0
        for iteration in 0..<30_000 {
            let input = DecoderFuzzTests.mutate(seeds[iteration % seeds.count], &rng)
            guard let result = try? Self.bothWays(input) else { continue }
            compared += 1
            if result.form.data != nil { copiedData += 1 }
            #expect(
                result.copied == result.written,
                "\(String(decoding: input, as: UTF8.self)) was stored as \(String(decoding: result.copied, as: UTF8.self))")
        }
        // Enough of them decode, and enough of those keep a canonical data object, for the comparison to mean something.
        #expect(compared > 1000)
        #expect(copiedData > 200)
    }

    /// Whitespace between any two tokens changes nothing stored, and keeps `data` from being copied when it falls inside.
    @Test func whitespaceAnywhereIsStoredTheSameEitherWay() throws {
        let json = Samples.progressBytes
        var tried = 0
        for index in 1..<json.count {
            // After a comma or brace (the sample's strings hold neither) or a key's colon: between two tokens.
            let previous = json[index - 1]
            let afterKey = previous == UInt8(ascii: ":") && json[index - 2] == UInt8(ascii: "\"")
            guard previous == UInt8(ascii: ",") || previous == UInt8(ascii: "{") || afterKey else { continue }
            var spaced = json
            spaced.insert(contentsOf: Array(" \n\t".utf8), at: index)
            let result = try Self.bothWays(spaced)
            #expect(result.copied == result.written)
            let insideData = index > json.firstRange(of: Array(#""data":"#.utf8))!.upperBound
            if insideData { #expect(result.form.data == nil) }
            tried += 1
        }
        #expect(tried > 20)
    }
}

/// The byte-level matchers the decoder uses, against what they replace: every byte value, every case name.
@Suite struct ByteMatcherTests {
    @Test func identifiersAreLowerCaseLettersDigitsAndInnerHyphens() {
        for byte in UInt8.min...UInt8.max {
            let allowed = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            #expect([UInt8(ascii: "a"), byte].withUnsafeBufferPointer(Identifier.isValid) == (allowed || byte == UInt8(ascii: "-")), "byte \(byte)")
            #expect([byte, UInt8(ascii: "a")].withUnsafeBufferPointer(Identifier.isValid) == allowed, "byte \(byte) first")
        }
        #expect(Identifier.isValid(String(repeating: "a", count: 64)))
        #expect(!Identifier.isValid(String(repeating: "a", count: 65)))
        #expect(!Identifier.isValid(""))
        #expect(Identifier.isValid("ganjiaba-power"))
    }

    @Test func wireNamesMatchTheirCaseOnly() {
        for utility in Utility.allCases {
            #expect(Array(utility.rawValue.utf8).withUnsafeBufferPointer(Utility.match) == utility)
            #expect(Array((utility.rawValue + "x").utf8).withUnsafeBufferPointer(Utility.match) == nil)
            #expect(Array(utility.rawValue.utf8.dropLast()).withUnsafeBufferPointer(Utility.match) == nil)
        }
        for status in WorkStatus.allCases {
            #expect(Array(status.rawValue.utf8).withUnsafeBufferPointer(WorkStatus.match) == status)
            #expect(Array(status.rawValue.uppercased().utf8).withUnsafeBufferPointer(WorkStatus.match) == nil)
        }
        #expect([UInt8]().withUnsafeBufferPointer(Utility.match) == nil)
    }

    @Test func theTablesOfWireNamesMatchAsTheirEnumerationsDo() {
        func variants(_ name: String) -> [[UInt8]] {
            let bytes = Array(name.utf8)
            return [bytes, bytes + [0x78], Array(bytes.dropLast()), Array(bytes.dropFirst()), Array(name.uppercased().utf8), [], [0]]
        }
        let names = Utility.allCases.map(\.rawValue) + WorkStatus.allCases.map(\.rawValue) + EventKind.allCases.map(\.rawValue)
        for candidate in names.flatMap(variants) {
            candidate.withUnsafeBufferPointer { bytes in
                #expect(Utility.wireNames.match(bytes) == Utility.match(bytes), "\(candidate)")
                #expect(WorkStatus.wireNames.match(bytes) == WorkStatus.match(bytes), "\(candidate)")
                #expect(EventKind.wireNames.match(bytes) == EventKind.match(bytes), "\(candidate)")
            }
        }
    }
}

/// The validator's table of a plan's names.
@Suite struct NameTableTests {
    @Test func findsEveryNameItHoldsAndNoOther() {
        let names = (0..<300).map { "work-item-\($0)" }
        let table = NameTable(names.enumerated().map { (name: $0.element, value: $0.offset) } + [(name: "work-item-7", value: -7)])
        #expect(table.count == 300)
        for (index, name) in names.enumerated() {
            #expect(table[name] == (index == 7 ? -7 : index), "a name given twice keeps its last value")
            #expect(table[Substring("/" + name + "/agent").dropFirst().prefix(name.utf8.count)] == (index == 7 ? -7 : index))
        }
        for absent in ["", "work-item-300", "work-item-", "Work-item-1", "work-item-1 "] { #expect(table[absent] == nil) }
        #expect(NameTable<Int>([])["anything"] == nil)
        #expect(NameTable<Int>([])[""] == nil)
        let withEmpty = NameTable([(name: "", value: 1), (name: "a", value: 2)])
        #expect(withEmpty[""] == 1 && withEmpty["a"] == 2 && withEmpty["b"] == nil)
        #expect(sameBytes("power-supply-bureau", "power-supply-bureau"[...]) && !sameBytes("power", "powers"))
    }
}
