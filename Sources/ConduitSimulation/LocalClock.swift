import ConduitCore

/// Local days and times of the communities (China Standard Time, UTC+08:00, no daylight saving).
///
/// A day is a number of days since 1970-01-01 on the local calendar; a time of day is minutes after
/// local midnight.
enum LocalClock {
    /// The offset of local time from UTC, in seconds: +8 hours.
    static let utcOffsetSeconds: Int64 = 8 * 3600

    /// The instant `minute` minutes after local midnight of `day` (minutes past 1440 run into the next days).
    static func instant(day: Int, minute: Int) -> Timestamp {
        Timestamp(secondsSinceEpoch: Int64(day) * 86_400 + Int64(minute) * 60 - utcOffsetSeconds)
    }

    /// The local day of `date`.
    static func day(_ date: CalendarDate) -> Int { date.daysSinceEpoch }

    /// The local calendar date of `day`.
    static func date(_ day: Int) -> CalendarDate { CalendarDate(daysSinceEpoch: day) }

    /// The local day that `time` falls on.
    static func day(of time: Timestamp) -> Int {
        let seconds = time.microsecondsSinceEpoch / 1_000_000 + utcOffsetSeconds
        return Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    }

    /// The ISO weekday of `day`: 1 is Monday, 7 is Sunday (1970-01-01 was a Thursday).
    static func weekday(_ day: Int) -> Int {
        ((day + 3) % 7 + 7) % 7 + 1
    }

    /// `day` if it is a weekday, else the Monday after it: inspectors do not work at weekends.
    static func workday(onOrAfter day: Int) -> Int {
        switch weekday(day) {
        case 6: day + 2
        case 7: day + 1
        default: day
        }
    }

    /// `time` moved by `minutes` minutes.
    static func adding(minutes: Int, to time: Timestamp) -> Timestamp {
        time.adding(seconds: Int64(minutes) * 60)
    }
}
