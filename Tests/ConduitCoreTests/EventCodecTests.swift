import Foundation
import Testing
@testable import ConduitCore

@Suite struct EventCodecTests {
    @Test func decodesTheSampleProgressEvent() throws {
        let event = try EventCodec.decode(bytes(Samples.progressJSON))
        #expect(event == Samples.progress)
        #expect(event.kind == .progress)
        #expect(event.dedupeKey == DedupeKey(source: "/power-supply-bureau/agent-1", id: "pw-0001"))
        #expect(event.sourceOrganisation == "power-supply-bureau")
    }

    @Test func encodesCanonically() {
        #expect(String(decoding: EventCodec.encode(Samples.progress), as: UTF8.self) == Samples.progressJSON)
    }

    @Test(arguments: Samples.all)
    func roundTrips(_ event: Event) throws {
        let encoded = EventCodec.encode(event)
        let decoded = try EventCodec.decode(encoded)
        #expect(decoded == event)
        #expect(EventCodec.encode(decoded) == encoded)
    }

    @Test func attributeOrderDoesNotMatterAndDataMayComeFirst() throws {
        let json = #"{"data":{"householdsAffected":120,"percent":45,"status":"in_progress","plannedStart":"2023-04-01","plannedFinish":"2023-09-30","actualStart":"2023-04-03"},"workitem":"ganjiaba-power","site":"ganjiaba","utility":"power","time":"2023-06-01T16:30:00+08:00","type":"conduit.progress","source":"/power-supply-bureau/agent-1","id":"pw-0001","specversion":"1.0"}"#
        #expect(try EventCodec.decode(bytes(json)) == Samples.progress)
    }

    @Test func escapedKeysAreTheSameKeys() throws {
        let json = Samples.progressJSON.replacingOccurrences(of: #""id":"pw-0001""#, with: #""\u0069d":"pw-0001""#)
        #expect(try EventCodec.decode(bytes(json)) == Samples.progress)
    }

    @Test func unknownExtensionsAreKeptSortedAndWrittenBack() throws {
        let json = Samples.progressJSON.replacingOccurrences(of: #""utility""#, with: #""zeta":true,"alpha":"x\u00e9","utility""#)
        let event = try EventCodec.decode(bytes(json))
        #expect(event.extensions.map(\.name) == ["alpha", "zeta"])
        #expect(event.extensions[0].json == bytes(#""x\u00e9""#))
        let again = try EventCodec.decode(EventCodec.encode(event))
        #expect(again == event)
    }

    @Test func stampingOverwritesTheClientsClaims() throws {
        var claimed = Samples.progress
        claimed.sequence = 999
        claimed.authenticatedIdentity = "someone-else"
        let stamped = claimed.stamped(sequence: 42, recordedTime: Samples.recordedAt, authenticatedIdentity: "power-supply-bureau")
        let json = String(decoding: EventCodec.encode(stamped), as: UTF8.self)
        #expect(json.contains(#""sequence":42,"recordedtime":"2023-06-01T08:30:00.250000Z","authidentity":"power-supply-bureau","data""#))
        #expect(try EventCodec.decode(bytes(json)) == stamped)
    }

    @Test func encodeIntoAppends() {
        var buffer = bytes("x")
        EventCodec.encode(Samples.progress, into: &buffer)
        #expect(buffer == bytes("x") + EventCodec.encode(Samples.progress))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var json: String
        var code: ConduitError.Code
        var path: String
        var testDescription: String { "\(code) at \(path)" }
        init(_ json: String, _ code: ConduitError.Code, _ path: String) {
            self.json = json
            self.code = code
            self.path = path
        }
    }

    static let p = Samples.progressJSON

    static let rejections: [Case] = [
        Case("", .jsonSyntax, "$"),
        Case("[]", .eventType, "$"),
        Case(p + " x", .jsonSyntax, "$"),
        Case(p.replacingOccurrences(of: #""time":"2023-06-01T08:30:00Z""#, with: #""time":"2023-06-01T08:30:00""#), .eventFormat, "time"),
        Case(p.replacingOccurrences(of: #""time":"2023-06-01T08:30:00Z""#, with: #""time":"2023-02-29T08:30:00Z""#), .eventFormat, "time"),
        Case(p.replacingOccurrences(of: #""time":"2023-06-01T08:30:00Z""#, with: #""time":1685608200"#), .eventType, "time"),
        Case(p.replacingOccurrences(of: #""specversion":"1.0""#, with: #""specversion":"0.3""#), .eventSpecVersion, "specversion"),
        Case(p.replacingOccurrences(of: #""specversion":"1.0","#, with: ""), .eventMissing, "specversion"),
        Case(p.replacingOccurrences(of: #""id":"pw-0001","#, with: ""), .eventMissing, "id"),
        Case(p.replacingOccurrences(of: #""id":"pw-0001""#, with: #""id":"""#), .eventFormat, "id"),
        Case(p.replacingOccurrences(of: #""source":"/power-supply-bureau/agent-1""#, with: #""source":"power""#), .eventFormat, "source"),
        Case(p.replacingOccurrences(of: #""type":"conduit.progress""#, with: #""type":"conduit.gossip""#), .eventKind, "type"),
        Case(p.replacingOccurrences(of: #""utility":"power""#, with: #""utility":"gas""#), .dataEnum, "utility"),
        Case(p.replacingOccurrences(of: #""site":"ganjiaba""#, with: #""site":"Gan/jiaba""#), .eventFormat, "site"),
        Case(p.replacingOccurrences(of: #""id":"pw-0001""#, with: #""id":"pw-0001","id":"pw-0002""#), .jsonDuplicateKey, "id"),
        Case(p.replacingOccurrences(of: #""utility":"power""#, with: #""Utility":"power""#), .eventExtension, "Utility"),
        Case(p.replacingOccurrences(of: #""utility":"power""#, with: #""tags":["a"]"#), .eventExtension, "tags"),
        Case(p.replacingOccurrences(of: #""utility":"power""#, with: #""data_base64":"AA==""#), .eventUnknownField, "data_base64"),
        Case(p.replacingOccurrences(of: #""datacontenttype""#, with: "x").replacingOccurrences(of: #""utility":"power""#, with: #""datacontenttype":"text/xml""#), .eventFormat, "datacontenttype"),
        Case(Samples.progress(replacingData: #"{"status":"restored"}"#), .dataStatus, "data.status"),
        Case(Samples.progress(replacingData: #"{"percent":4}"#), .eventMissing, "data.status"),
        Case(Samples.progress(replacingData: #"{"status":"planned","colour":"red"}"#), .eventUnknownField, "data.colour"),
        Case(Samples.progress(replacingData: #"{"status":"planned","percent":"45"}"#), .eventType, "data.percent"),
        Case(Samples.progress(replacingData: #"{"status":"planned","percent":045}"#), .jsonNumber, "data.percent"),
        Case(Samples.progress(replacingData: #"{"status":"planned","percent":1.}"#), .jsonNumber, "data.percent"),
        Case(Samples.progress(replacingData: #"{"status":"planned","householdsAffected":1.5}"#), .eventType, "data.householdsAffected"),
        Case(Samples.progress(replacingData: #"{"status":"planned","plannedStart":"2023-4-1"}"#), .eventFormat, "data.plannedStart"),
        Case(Samples.progress(replacingData: #"{"status":"planned",}"#), .jsonSyntax, "data"),
        Case(Samples.progress(replacingData: #"{"status":"planned","status":"planned"}"#), .jsonDuplicateKey, "data.status"),
        Case(Samples.progress(replacingData: #"{"status":"plan\x"}"#), .jsonString, "data.status"),
        Case(Samples.progress(replacingData: "{\"status\":\"plan\tned\"}"), .jsonString, "data.status"),
        Case(Samples.progress(replacingData: #"{"status":"planned","blockingReason":"\ud800"}"#), .jsonString, "data.blockingReason"),
        Case(Samples.progress(replacingData: #"{"status":"planned","blockingReason":[[[[[[[[[[1]]]]]]]]]]}"#), .eventType, "data.blockingReason"),
        Case(#"{"data":[[[[[[[[[[1]]]]]]]]]],"type":"conduit.progress"}"#, .jsonDepth, "data[0][0][0][0][0][0][0]"),
        Case(#"{"specversion":"1.0","id":"a","source":"/conduit","type":"conduit.outage","time":"2023-01-01T00:00:00Z","data":{"status":"proposed","nature":"planned","service":"water","households":1,"buildings":["b01",]}}"#, .jsonSyntax, "data.buildings"),
        Case(#"{"specversion":"1.0","id":"a","source":"/conduit","type":"conduit.inspection","time":"2023-01-01T00:00:00Z","data":{"status":"performed","kind":"fire_safety","authority":"fire-rescue-brigade","defects":[{"id":"d1","severity":"fatal","description":"x"}]}}"#, .dataEnum, "data.defects[0].severity"),
        // Text that is not JSON is a syntax error; JSON that is not an object is the wrong type.
        Case("me", .jsonSyntax, "$"),
        Case("nope", .jsonSyntax, "$"),
        Case("null x", .jsonSyntax, "$"),
        Case("null", .eventType, "$"),
        Case(#""an event""#, .eventType, "$"),
        Case("[1]", .eventType, "$"),
        Case(Samples.progress(replacingData: "nope"), .jsonSyntax, "data"),
        Case(Samples.progress(replacingData: "[1]"), .eventType, "data"),
    ]

    @Test func bytesThatCannotBeginJSONAreASyntaxError() {
        expectError(.jsonSyntax, at: "$") { _ = try EventCodec.decode([0xFF] + bytes("{}")) }
    }

    @Test(arguments: rejections)
    func rejects(_ example: Case) {
        #expect {
            _ = try EventCodec.decode(bytes(example.json))
        } throws: { error in
            guard let error = error as? ConduitError else { return false }
            return error.code == example.code && error.path == example.path
        }
    }

    @Test(arguments: [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF], [0x80]] as [[UInt8]])
    func invalidUTF8IsRejectedWithItsPath(_ sequence: [UInt8]) {
        var json = bytes(Samples.progress(replacingData: #"{"status":"planned","blockingReason":"aXb"}"#))
        let index = json.firstIndex(of: UInt8(ascii: "X"))!
        json.replaceSubrange(index...index, with: sequence)
        expectError(.jsonUTF8, at: "data.blockingReason") { _ = try EventCodec.decode(json) }
    }

    @Test func oversizeEventsAreRejected() {
        let padding = String(repeating: "a", count: EventCodec.maximumEventBytes)
        let json = Samples.progress(replacingData: #"{"status":"planned","blockingReason":""# + padding + #""}"#)
        do {
            _ = try EventCodec.decode(bytes(json))
            Issue.record("accepted an oversize event")
        } catch {
            #expect(error.code == .eventOversize)
            #expect(error.path == "$")
        }
    }

    @Test func errorsReadAsPathAndReason() {
        do {
            _ = try EventCodec.decode(bytes(Samples.progress(replacingData: #"{"status":"restored"}"#)))
        } catch {
            #expect(error.message == #"data.status: "restored" is not a status of progress events; expected "planned", "scheduled", "in_progress", "suspended", "completed", "accepted" or "cancelled""#)
        }
    }
}

/// The ledger's fields of an alert: the article's golden bytes, strict figures, and the earlier form still read.
@Suite struct LedgerAlertCodecTests {
    @Test func theLedgerAlertIsTheGoldenBytes() throws {
        #expect(EventCodec.encode(Samples.ledgerAlert) == Array(Samples.ledgerAlertJSON.utf8))
        #expect(try EventCodec.decode(Array(Samples.ledgerAlertJSON.utf8)) == Samples.ledgerAlert)
        try EventValidator(scenario: .default).validate(Samples.ledgerAlert)
        #expect(Samples.ledgerAlert.topic == Array("alert/power/jinxiu-xincheng/".utf8))
    }

    @Test func anAcknowledgementDecodesAndIsACoordinators() throws {
        let event = try EventCodec.decode(Array(Samples.acknowledgementJSON.utf8))
        try EventValidator(scenario: .default).validate(event)
        #expect(EventCodec.encode(event) == Array(Samples.acknowledgementJSON.utf8))
        guard case .alert(let report) = event.data else { throw CodecTestFailure("not an alert") }
        #expect(report.status == .acknowledged && report.kind.ledgerClass == .violation)
    }

    @Test func anAlertOfTheEarlierFormStillDecodes() throws {
        let earlier = #"{"specversion":"1.0","id":"a-1","source":"/conduit/aggregator","type":"conduit.alert","time":"2023-06-01T00:00:00Z","data":{"status":"raised","kind":"behind_schedule","key":"behind_schedule/ganjiaba-power/not_started","message":"ganjiaba-power has not started"}}"#
        let event = try EventCodec.decode(Array(earlier.utf8))
        guard case .alert(let report) = event.data else { throw CodecTestFailure("not an alert") }
        #expect(report.organisation == nil && report.figures.isEmpty && report.deadline == nil)
        #expect(EventCodec.encode(event) == Array(earlier.utf8))
    }

    struct BadFigure: Sendable, CustomTestStringConvertible {
        var figures: String
        var code: ConduitError.Code
        var path: String
        var testDescription: String { figures }
    }

    @Test(arguments: [
        BadFigure(figures: #"{"colour":1}"#, code: .eventUnknownField, path: "data.figures.colour"),
        BadFigure(figures: #"{"overrunMinutes":1.5}"#, code: .eventType, path: "data.figures.overrunMinutes"),
        BadFigure(figures: #"{"percent":"62"}"#, code: .eventType, path: "data.figures.percent"),
        BadFigure(figures: #"{"deadline":"2023-13-01"}"#, code: .eventFormat, path: "data.figures.deadline"),
        BadFigure(figures: #"{"households":1,"households":2}"#, code: .jsonDuplicateKey, path: "data.figures.households"),
    ])
    func badFiguresAreRejectedWithTheirPath(_ bad: BadFigure) {
        let json = #"{"specversion":"1.0","id":"a-1","source":"/conduit/aggregator","type":"conduit.alert","time":"2023-06-01T00:00:00Z","data":{"status":"raised","kind":"outage_overrun","key":"k","message":"m","figures":"# + bad.figures + "}}"
        do {
            _ = try EventCodec.decode(Array(json.utf8))
            Issue.record("accepted \(bad.figures)")
        } catch {
            #expect(error.code == bad.code, "\(error)")
            #expect(error.path == bad.path, "\(error)")
        }
    }
}

struct CodecTestFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

@Suite struct AlertFiguresTests {
    /// Figures set in any order are kept in the order of ``FigureName``'s cases, which `order` states.
    @Test func figuresKeepTheirOrder() {
        #expect(FigureName.allCases.map(\.order) == Array(FigureName.allCases.indices))
        var figures = AlertFigures()
        figures[.households] = .integer(3)
        figures[.percent] = .number(1)
        figures[.windowEnd] = .time(Timestamp(secondsSinceEpoch: 0))
        figures[.blockingReason] = .text("x")
        figures[.percent] = .number(2)
        #expect(figures.entries.map(\.name) == [.percent, .windowEnd, .households, .blockingReason])
        figures[.windowEnd] = nil
        #expect(figures.entries.map(\.name) == [.percent, .households, .blockingReason])
        #expect(figures.number(.percent) == 2)
    }
}
