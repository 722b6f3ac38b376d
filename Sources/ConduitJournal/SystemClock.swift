#if canImport(Glibc)
import Glibc
#endif

/// The system's clocks, read in one place: the real-time clock (what events are stamped with) and a monotonic one
/// (what timeouts and durations are measured with).
public enum SystemClock {
    /// Microseconds since the Unix epoch (`CLOCK_REALTIME`).
    @Sendable public static func realtimeMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    /// Microseconds from a monotonic clock (`CLOCK_MONOTONIC`): only differences mean anything.
    @Sendable public static func monotonicMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    /// Nanoseconds from a monotonic clock (`CLOCK_MONOTONIC`).
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
