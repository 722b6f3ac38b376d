import Testing
@testable import ConduitCore

/// The canonical form's rules as the WireProtocol article states them: numbers, escapes, defaults, depth.
@Suite struct CanonicalFormTests {
    static func percent(_ text: String) throws -> String {
        let event = try EventCodec.decode(bytes(Samples.progress(replacingData: #"{"status":"in_progress","percent":"# + text + "}")))
        let json = String(decoding: EventCodec.encode(event), as: UTF8.self)
        let start = json.range(of: #""percent":"#)!.upperBound
        return String(json[start...].prefix { $0 != "}" && $0 != "," })
    }

    @Test(arguments: [
        ("45.0", "45"), ("1.50", "1.5"), ("1e2", "100"), ("4.5e1", "45"), ("-0", "0"), ("1e-4", "0.0001"),
        ("0.00001", "1e-05"), ("2.5E-5", "2.5e-05"), ("33.333333333333336", "33.333333333333336"),
    ])
    func percentIsWrittenInItsShortestForm(_ input: String, _ written: String) throws {
        #expect(try Self.percent(input) == written)
    }

    @Test func integerFieldsMustBeIntegersAndExtensionsKeepTheirBytes() throws {
        expectError(.eventType, at: "data.householdsAffected") {
            _ = try EventCodec.decode(bytes(Samples.progress(replacingData: #"{"status":"planned","householdsAffected":1.0}"#)))
        }
        expectError(.eventType, at: "data.householdsAffected") {
            _ = try EventCodec.decode(bytes(Samples.progress(replacingData: #"{"status":"planned","householdsAffected":1e2}"#)))
        }
        let json = Samples.progressJSON.replacingOccurrences(
            of: #""specversion""#, with: #""m":1E+2,"n":1.50,"s":"caf\u00e9","z":-0,"specversion""#)
        let written = String(decoding: EventCodec.encode(try EventCodec.decode(bytes(json))), as: UTF8.self)
        #expect(written.contains(#""m":1E+2,"n":1.50,"s":"caf\u00e9","z":-0"#))
    }

    /// The fewest escapes: short forms, lower-case \u00XX for the other control characters, everything else raw.
    @Test func stringsTakeTheFewestEscapes() throws {
        let json = Samples.progress(replacingData: #"{"status":"planned","blockingReason":"a\/b\u0001\u007F\u00E9\u2028\u001F\u0009"}"#)
        let written = EventCodec.encode(try EventCodec.decode(bytes(json)))
        let expected = hex("22612f625c7530303031" + "7f" + "c3a9" + "e280a8" + "5c75303031665c7422")
        #expect(written.firstRange(of: expected) != nil, "\(String(decoding: written, as: UTF8.self))")
    }

    @Test func theOneDefaultWrittenIsADefectsStatus() throws {
        let inspection = EventCodec.encode(Samples.inspection)
        let text = String(decoding: inspection, as: UTF8.self)
        #expect(text == #"{"specversion":"1.0","id":"insp-7","source":"/water-investment-company/inspector","type":"conduit.inspection","time":"2023-10-20T02:00:00Z","subject":"main pipe","utility":"water","site":"ruijing-biyuan","workitem":"ruijing-biyuan-water","data":{"status":"performed","kind":"water_acceptance","authority":"water-investment-company","performedAt":"2023-10-20T01:30:00Z","result":"failed","defects":[{"id":"d1","severity":"major","description":"渗漏 \"leak\" at valve\n","dueDate":"2023-11-01","status":"open"}]}}"#)
        #expect(inspection.count == 513)
        // Empty arrays and absent fields are left out; a completed item without percent stays without it.
        let completed = Samples.progress(replacingData: #"{"status":"completed"}"#)
        let written = String(decoding: EventCodec.encode(try EventCodec.decode(bytes(completed))), as: UTF8.self)
        #expect(!written.contains("percent") && !written.contains("null"))
    }

    /// Depth counts enclosing objects and arrays from the event object (1): eight is the most a reader goes into.
    @Test func depthIsCountedFromTheEventObject() {
        expectError(.jsonDepth, at: "data[0][0][0][0][0][0][0]") {
            _ = try EventCodec.decode(bytes(Samples.progress(replacingData: "[[[[[[[[1]]]]]]]]")))
        }
        expectError(.eventType, at: "data") {
            _ = try EventCodec.decode(bytes(Samples.progress(replacingData: "[[[[[[[1]]]]]]]")))
        }
    }
}
