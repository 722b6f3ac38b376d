/// An instant: microseconds since 1970-01-01T00:00:00Z, parsed from and written as RFC 3339.
///
/// Parsing honours the timezone offset (`2023-05-04T10:30:00+08:00` is `02:30Z`), accepts up to nine
/// fraction digits (truncated to microseconds) and rejects leap seconds (`:60`), impossible dates and
/// anything RFC 3339's `date-time` does not allow. Writing always uses UTC (`Z`) and prints the fraction
/// only when it is not zero, six digits long.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since the Unix epoch.
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// The instant `seconds` after the Unix epoch (saturating at the ends of the 64-bit range).
    public init(secondsSinceEpoch seconds: Int64) {
        let (micros, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        self.microsecondsSinceEpoch = overflow ? (seconds < 0 ? .min : .max) : micros
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// 0001-01-01T00:00:00Z, the earliest instant RFC 3339 can write in UTC.
    public static let earliest = Timestamp(microsecondsSinceEpoch: -62_135_596_800_000_000)
    /// 9999-12-31T23:59:59.999999Z, the latest instant RFC 3339 can write in UTC.
    public static let latest = Timestamp(microsecondsSinceEpoch: 253_402_300_799_999_999)

    /// Adds a number of seconds, saturating at the ends of the 64-bit range: an instant from a peer may be any value.
    public func adding(seconds: Int64) -> Timestamp {
        let offset = Timestamp(secondsSinceEpoch: seconds).microsecondsSinceEpoch
        let (sum, overflow) = microsecondsSinceEpoch.addingReportingOverflow(offset)
        return Timestamp(microsecondsSinceEpoch: overflow ? (offset < 0 ? .min : .max) : sum)
    }

    /// The calendar date of this instant in UTC.
    public var utcDate: CalendarDate {
        CalendarDate(daysSinceEpoch: Int(floorDivide(microsecondsSinceEpoch, 86_400_000_000)))
    }

    /// Parses RFC 3339 `date-time` text.
    public init(rfc3339 text: String) throws(ConduitError) {
        var text = text
        let result = text.withUTF8 { buffer -> Result<Timestamp, ConduitError> in
            do throws(ConduitError) { return .success(try Timestamp.parse(buffer, path: "$")) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>, path: String) throws(ConduitError) -> Timestamp {
        func bad(_ why: String) -> ConduitError {
            ConduitError(.eventFormat, path: path, "\"\(String(decoding: b, as: UTF8.self))\" is not an RFC 3339 timestamp: \(why)")
        }
        // 0123456789012345678
        // YYYY-MM-DDTHH:MM:SS
        guard b.count >= 20 else { throw bad("too short") }
        guard let year = decimalDigits(b, 0, 4), b[4] == UInt8(ascii: "-"), let month = decimalDigits(b, 5, 2),
            b[7] == UInt8(ascii: "-"), let day = decimalDigits(b, 8, 2)
        else { throw bad("the date must be YYYY-MM-DD") }
        guard b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") else { throw bad("expected 'T' after the date") }
        guard let hour = decimalDigits(b, 11, 2), b[13] == UInt8(ascii: ":"), let minute = decimalDigits(b, 14, 2),
            b[16] == UInt8(ascii: ":"), let second = decimalDigits(b, 17, 2)
        else { throw bad("the time must be HH:MM:SS") }
        guard CalendarDate.isValid(year: year, month: month, day: day) else { throw bad("no such date") }
        guard hour < 24, minute < 60 else { throw bad("no such time") }
        guard second < 60 else { throw bad("leap seconds are not supported") }
        var i = 19
        var micros = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            var scale = 100_000
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                if i - fractionStart >= 9 { throw bad("more than nine fraction digits") }
                micros += Int(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > fractionStart else { throw bad("a fraction needs digits") }
        }
        guard i < b.count else { throw bad("missing timezone offset (Z or ±HH:MM)") }
        var offsetSeconds = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == b.count, let offsetHour = decimalDigits(b, i + 1, 2), b[i + 3] == UInt8(ascii: ":"),
                let offsetMinute = decimalDigits(b, i + 4, 2), offsetHour < 24, offsetMinute < 60
            else { throw bad("the offset must be ±HH:MM") }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            throw bad("missing timezone offset (Z or ±HH:MM)")
        }
        guard i == b.count else { throw bad("unexpected text after the offset") }
        let days = Int64(CalendarDate.daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        let timestamp = Timestamp(microsecondsSinceEpoch: seconds * 1_000_000 + Int64(micros))
        guard timestamp >= .earliest && timestamp <= .latest else { throw bad("outside the years 0001 to 9999 in UTC") }
        return timestamp
    }

    /// Whether RFC 3339 can write this instant in UTC: the years 0001 to 9999.
    public var isWritable: Bool { self >= .earliest && self <= .latest }

    /// Appends the RFC 3339 UTC text of this instant; an instant outside the years 0001 to 9999 (which no parsed
    /// text yields, but a peer's raw 64-bit value may) is written as the nearest one inside them.
    func write(into out: inout [UInt8]) {
        let clamped = min(max(microsecondsSinceEpoch, Timestamp.earliest.microsecondsSinceEpoch), Timestamp.latest.microsecondsSinceEpoch)
        let micros = Int(floorModulo(clamped, 1_000_000))
        let seconds = floorDivide(clamped, 1_000_000)
        let days = Int(floorDivide(seconds, 86_400))
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let date = CalendarDate(daysSinceEpoch: days)
        date.write(into: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, 2, &out)
        if micros != 0 {
            out.append(UInt8(ascii: "."))
            appendDigits(micros, 6, &out)
        }
        out.append(UInt8(ascii: "Z"))
    }

    /// The RFC 3339 UTC text of this instant.
    public var rfc3339: String {
        var out: [UInt8] = []
        out.reserveCapacity(27)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The RFC 3339 text, or for an instant outside the years 0001 to 9999 its raw value
    /// (`-9223372036854775808 µs from 1970-01-01T00:00:00Z`), so that an error message about it says what was received.
    public var description: String {
        isWritable ? rfc3339 : "\(microsecondsSinceEpoch) µs from 1970-01-01T00:00:00Z"
    }
}

/// A calendar date without a time or zone, written `YYYY-MM-DD` (planned and actual start and finish).
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    // Stored compactly (4 bytes): dates sit in every progress report.
    private var storedYear: Int16
    private var storedMonth: UInt8
    private var storedDay: UInt8

    /// The year, 1 to 9999.
    public var year: Int { Int(storedYear) }
    /// The month, 1 to 12.
    public var month: Int { Int(storedMonth) }
    /// The day of the month, from 1.
    public var day: Int { Int(storedDay) }

    /// Creates a date; returns `nil` if there is no such day.
    public init?(year: Int, month: Int, day: Int) {
        guard CalendarDate.isValid(year: year, month: month, day: day) else { return nil }
        storedYear = Int16(year)
        storedMonth = UInt8(month)
        storedDay = UInt8(day)
    }

    /// The date `days` days after 1970-01-01 (clamped to the years 1 to 9999).
    public init(daysSinceEpoch days: Int) {
        let days = min(max(days, -719_162), 2_932_896)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        storedYear = Int16(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        storedMonth = UInt8(month)
        storedDay = UInt8(day)
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int { CalendarDate.daysFromCivil(year: year, month: month, day: day) }

    /// Midnight UTC at the start of this date.
    public var startOfDayUTC: Timestamp { Timestamp(secondsSinceEpoch: Int64(daysSinceEpoch) * 86_400) }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.storedYear, lhs.storedMonth, lhs.storedDay) < (rhs.storedYear, rhs.storedMonth, rhs.storedDay)
    }

    /// Parses `YYYY-MM-DD`.
    public init(iso8601 text: String) throws(ConduitError) {
        var text = text
        let result = text.withUTF8 { buffer -> Result<CalendarDate, ConduitError> in
            do throws(ConduitError) { return .success(try CalendarDate.parse(buffer, path: "$")) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>, path: String) throws(ConduitError) -> CalendarDate {
        guard b.count == 10, let year = decimalDigits(b, 0, 4), b[4] == UInt8(ascii: "-"), let month = decimalDigits(b, 5, 2),
            b[7] == UInt8(ascii: "-"), let day = decimalDigits(b, 8, 2),
            let date = CalendarDate(year: year, month: month, day: day)
        else {
            throw ConduitError(.eventFormat, path: path, "\"\(String(decoding: b, as: UTF8.self))\" is not a date (YYYY-MM-DD)")
        }
        return date
    }

    func write(into out: inout [UInt8]) {
        appendDigits(year, 4, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, 2, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, 2, &out)
    }

    /// `YYYY-MM-DD`.
    public var iso8601: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { iso8601 }

    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard year >= 1 && year <= 9999, month >= 1 && month <= 12, day >= 1 else { return false }
        return day <= daysInMonth(year: year, month: month)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension CalendarDate {
    /// The date of the `YYYY-MM-DD` in the 10 bytes at `p`, read eight bytes at a time: what ``parse(_:path:)`` reads
    /// from them, or `nil` where it throws.
    @inline(__always)
    static func parseQuickly(_ p: UnsafeRawPointer) -> CalendarDate? {
        let head = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))  // YYYY-MM-, the first byte lowest
        let tail = UInt64(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))  // DD
        guard head & 0xFF00_00FF_0000_0000 == 0x2D00_002D_0000_0000 else { return nil }
        let digits = (head ^ 0x3030_3030_3030_3030) & 0x00FF_FF00_FFFF_FFFF
        let dayDigits = tail ^ 0x3030
        guard areDigits(digits), areDigits(dayDigits) else { return nil }
        let year = digit(digits, 0) * 1000 + digit(digits, 1) * 100 + digit(digits, 2) * 10 + digit(digits, 3)
        return CalendarDate(
            year: year, month: digit(digits, 5) * 10 + digit(digits, 6), day: digit(dayDigits, 0) * 10 + digit(dayDigits, 1))
    }
}

extension Timestamp {
    /// Whether `b` is the text ``write(into:)`` writes of an instant (`YYYY-MM-DDTHH:MM:SSZ`, or with six fraction
    /// digits that are not all zero) and is a real date and time: what ``parse(_:path:)`` accepts in the form
    /// `EventDecoder.isCanonicalTimestamp` accepts, read eight bytes at a time.
    static func isCanonicalText(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count == 20 || b.count == 27, let base = b.baseAddress, base[10] == UInt8(ascii: "T") else { return false }
        let p = UnsafeRawPointer(base)
        guard CalendarDate.parseQuickly(p) != nil else { return false }
        let time = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 11, as: UInt64.self))  // HH:MM:SS
        guard time & 0x0000_FF00_00FF_0000 == 0x0000_3A00_003A_0000 else { return false }
        let digits = (time ^ 0x3030_3030_3030_3030) & 0xFFFF_00FF_FF00_FFFF
        guard areDigits(digits), digit(digits, 0) * 10 + digit(digits, 1) < 24, digit(digits, 3) * 10 + digit(digits, 4) < 60,
            digit(digits, 6) * 10 + digit(digits, 7) < 60
        else { return false }
        if b.count == 20 { return base[19] == UInt8(ascii: "Z") }
        let fraction = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 19, as: UInt64.self))  // .ffffffZ
        guard fraction & 0xFF00_0000_0000_00FF == 0x5A00_0000_0000_002E else { return false }
        let fractionDigits = (fraction ^ 0x3030_3030_3030_3030) & 0x00FF_FFFF_FFFF_FF00
        return areDigits(fractionDigits) && fractionDigits != 0
    }
}

/// Whether every byte of `word` is 0 to 9: text XOR `0` in each byte, with the bytes that are not to be digits
/// cleared.
@inline(__always)
private func areDigits(_ word: UInt64) -> Bool {
    // A byte up to 0x0F plus 6 reaches 0x10 only from 10 on, and carries into no other byte.
    word & 0xF0F0_F0F0_F0F0_F0F0 == 0 && (word &+ 0x0606_0606_0606_0606) & 0x1010_1010_1010_1010 == 0
}

/// The byte at `index` of `word` (the lowest first).
@inline(__always)
private func digit(_ word: UInt64, _ index: Int) -> Int { Int(truncatingIfNeeded: word >> UInt64(8 * index) & 0xFF) }

@inline(__always)
func appendDigits(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
    var divisor = 1
    for _ in 1..<width { divisor *= 10 }
    var value = value
    while divisor > 0 {
        out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value / divisor))
        value %= divisor
        divisor /= 10
    }
}

@inline(__always)
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// `a` modulo `b` with the sign of `b`; defined for every `a` (no intermediate product that could overflow).
@inline(__always)
func floorModulo(_ a: Int64, _ b: Int64) -> Int64 {
    let remainder = a % b
    return remainder != 0 && (remainder < 0) != (b < 0) ? remainder + b : remainder
}

extension Timestamp {
    /// `2023-06-01 16:30:00 +08:00`: this instant in the local time of `offsetSeconds` from UTC, with the offset, for
    /// people (a plan's time zone; see ``PlanTimeZone``).
    public func localText(offsetSeconds: Int64) -> String {
        let local = adding(seconds: offsetSeconds)
        let micros = local.microsecondsSinceEpoch
        let seconds = micros / 1_000_000 - (micros % 1_000_000 < 0 ? 1 : 0)
        let ofDay = ((seconds % 86_400) + 86_400) % 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let offset = offsetSeconds.magnitude
        return local.utcDate.iso8601 + " \(two(ofDay / 3600)):\(two(ofDay / 60 % 60)):\(two(ofDay % 60)) "
            + (offsetSeconds < 0 ? "-" : "+") + two(Int64(offset / 3600)) + ":" + two(Int64(offset / 60 % 60))
    }

    /// This instant in `zone`'s local time (``localText(offsetSeconds:)``).
    public func localText(_ zone: PlanTimeZone) -> String { localText(offsetSeconds: zone.utcOffsetSeconds) }
}

/// The value of `count` (2 or 4) decimal digits at `at`, or `nil` if one of them is not a digit: straight-line code,
/// for the timestamps and dates of every event.
@inline(__always)
func decimalDigits(_ b: UnsafeBufferPointer<UInt8>, _ at: Int, _ count: Int) -> Int? {
    let first = b[at] &- 48
    let second = b[at + 1] &- 48
    guard first < 10 && second < 10 else { return nil }
    let pair = Int(first) * 10 + Int(second)
    if count == 2 { return pair }
    let third = b[at + 2] &- 48
    let fourth = b[at + 3] &- 48
    guard count == 4, third < 10 && fourth < 10 else { return nil }
    return pair * 100 + Int(third) * 10 + Int(fourth)
}
