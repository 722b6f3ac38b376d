import Foundation
import Testing
@testable import ConduitCore

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2023-12-31T23:59:59Z", Int64(1_704_067_199_000_000)),
        ("2023-06-01T16:30:00+08:00", Int64(1_685_608_200_000_000)),
        ("2023-06-01T08:30:00.25z", Int64(1_685_608_200_250_000)),
        ("2023-06-01t03:30:00.123456789-05:00", Int64(1_685_608_200_123_456)),
        ("1969-12-31T23:59:59.5Z", Int64(-500_000)),
        ("2024-02-29T00:00:00Z", Int64(1_709_164_800_000_000)),
    ])
    func parsesRFC3339(_ text: String, _ micros: Int64) throws {
        #expect(try Timestamp(rfc3339: text).microsecondsSinceEpoch == micros)
    }

    @Test(arguments: [
        "2023-06-01 08:30:00Z", "2023-06-01T08:30:00", "2023-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2023-06-01T24:00:00Z", "2023-06-01T23:59:60Z", "2023-06-01T08:30:00.Z", "2023-06-01T08:30:00+0800",
        "2023-06-01T08:30:00+08:00x", "2023-06-01T08:30:00.1234567890Z", "0000-01-01T00:00:00Z", "２023-06-01T08:30:00Z",
        "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01",
    ])
    func rejectsMalformedTimestamps(_ text: String) {
        expectError(.eventFormat, at: "$") { _ = try Timestamp(rfc3339: text) }
    }

    @Test func extremesRoundTrip() throws {
        #expect(Timestamp.earliest.rfc3339 == "0001-01-01T00:00:00Z")
        #expect(Timestamp.latest.rfc3339 == "9999-12-31T23:59:59.999999Z")
        #expect(try Timestamp(rfc3339: Timestamp.latest.rfc3339) == .latest)
        #expect(try Timestamp(rfc3339: Timestamp.earliest.rfc3339) == .earliest)
    }

    /// Any 64-bit value can be written and described: a peer's raw window ends are not parsed text.
    @Test(arguments: [Int64.min, Int64.min + 1, Timestamp.earliest.microsecondsSinceEpoch - 1, Int64.max, Int64.max - 1])
    func valuesOutsideTheWritableYearsAreClampedOrShownRaw(_ value: Int64) {
        let timestamp = Timestamp(microsecondsSinceEpoch: value)
        #expect(!timestamp.isWritable)
        #expect(timestamp.rfc3339 == (value < 0 ? "0001-01-01T00:00:00Z" : "9999-12-31T23:59:59.999999Z"))
        #expect(timestamp.description == "\(value) µs from 1970-01-01T00:00:00Z")
    }

    @Test func arithmeticSaturatesAtTheEndsOfTheRange() {
        #expect(Timestamp(microsecondsSinceEpoch: .max - 10).adding(seconds: 1).microsecondsSinceEpoch == .max)
        #expect(Timestamp(microsecondsSinceEpoch: .min + 10).adding(seconds: -1).microsecondsSinceEpoch == .min)
        #expect(Timestamp(microsecondsSinceEpoch: 0).adding(seconds: .max).microsecondsSinceEpoch == .max)
        #expect(Timestamp(secondsSinceEpoch: .min).microsecondsSinceEpoch == .min)
        #expect(Timestamp(microsecondsSinceEpoch: 5).adding(seconds: 8 * 3600).microsecondsSinceEpoch == 28_800_000_005)
    }

    @Test func writesUTCWithMicrosecondsOnlyWhenNeeded() {
        #expect(Timestamp(microsecondsSinceEpoch: 1_685_608_200_000_000).rfc3339 == "2023-06-01T08:30:00Z")
        #expect(Timestamp(microsecondsSinceEpoch: 1_685_608_200_000_001).rfc3339 == "2023-06-01T08:30:00.000001Z")
        #expect(Timestamp(microsecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999999Z")
    }

    @Test func datesRoundTripThroughDays() throws {
        for days in stride(from: -719_162, through: 2_932_896, by: 997) {
            let date = CalendarDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
            #expect(try CalendarDate(iso8601: date.iso8601) == date)
        }
        #expect(CalendarDate(year: 2023, month: 2, day: 29) == nil)
        expectError(.eventFormat, at: "$") { _ = try CalendarDate(iso8601: "2023-12-31T00:00:00Z") }
    }

    /// Texts of `count` bytes made from `bases` with one byte replaced, by every byte value at every place.
    static func oneByteOff(_ bases: [String]) -> [[UInt8]] {
        bases.flatMap { base in
            let bytes = Array(base.utf8)
            return bytes.indices.flatMap { place in
                (0...255).map { value in
                    var changed = bytes
                    changed[place] = UInt8(value)
                    return changed
                }
            }
        }
    }

    @Test func aDateReadEightBytesAtATimeIsTheOneParseReads() {
        var texts = Self.oneByteOff(["2023-06-01", "2024-02-29", "2000-02-29", "1900-02-28", "0001-01-01", "9999-12-31"])
        for year in [1, 1900, 2000, 2023, 2024, 9999] {
            for month in 0...13 {
                for day in 0...32 {
                    texts.append(Array(String(format: "%04d-%02d-%02d", year, month, day).utf8))
                }
            }
        }
        for text in texts {
            text.withUnsafeBufferPointer { b in
                #expect(CalendarDate.parseQuickly(b.baseAddress!) == (try? CalendarDate.parse(b, path: "$")), "\(text)")
            }
        }
    }

    @Test func aCanonicalTimestampReadEightBytesAtATimeIsOneParseReadsInTheCanonicalForm() {
        var texts = Self.oneByteOff([
            "2023-06-01T08:30:00Z", "2023-06-01T23:59:59.999999Z", "0001-01-01T00:00:00.000001Z", "9999-12-31T23:59:59Z",
            "2024-02-29T12:00:00.000000Z",
        ])
        for hour in [0, 9, 10, 19, 20, 23, 24, 25, 99] {
            for minute in [0, 9, 10, 59, 60, 61] {
                for second in [0, 9, 10, 59, 60, 61] {
                    texts.append(Array(String(format: "2023-06-01T%02d:%02d:%02dZ", hour, minute, second).utf8))
                }
            }
        }
        texts += ["2023-06-01T08:30:00z", "2023-06-01t08:30:00Z", "2023-06-01T08:30:00.1Z", "2023-06-01T08:30:00.1234567Z",
                  "2023-06-01T08:30:00+00:00", "2023-06-01T08:30:00.000001+00:00", "2023-06-01T08:30:00ZZ"].map { Array($0.utf8) }
        for text in texts {
            let quoted = [UInt8(ascii: "\"")] + text + [UInt8(ascii: "\"")]
            let general = text.withUnsafeBufferPointer { b in (try? Timestamp.parse(b, path: "$")) != nil }
                && quoted.withUnsafeBufferPointer { EventDecoder.isCanonicalTimestamp($0, 0..<quoted.count) }
            let quick = text.withUnsafeBufferPointer { Timestamp.isCanonicalText($0) }
            #expect(quick == general, "\(String(decoding: text, as: UTF8.self))")
        }
    }
}
