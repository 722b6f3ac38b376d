import ConduitCore

/// How fast a re-publication runs against the original pace of the journal.
public enum ReplaySpeed: Sendable, Hashable, CustomStringConvertible {
    /// The original spacing of the recorded times divided by this factor: 1 is the original pace, 10 ten times
    /// faster, 0.5 half as fast.
    case factor(Double)
    /// No waiting: every event as soon as the one before it is out.
    case maximum

    /// The original pace (`factor(1)`).
    public static let original = ReplaySpeed.factor(1)

    /// Reads `10`, `10x`, `0.5x`, `original` (1×) or `max`; `nil` for anything else, and for a factor outside
    /// 0.001 to 1,000,000 (beyond which a schedule's arithmetic would overflow; `max` means no waiting at all).
    public init?(argument: String) {
        let text = argument.lowercased()
        switch text {
        case "original": self = .original
        case "max", "maximum": self = .maximum
        default:
            let number = text.hasSuffix("x") || text.hasSuffix("×") ? String(text.dropLast()) : text
            guard let factor = Double(number), factor.isFinite, factor >= 0.001, factor <= 1_000_000 else { return nil }
            self = .factor(factor)
        }
    }

    /// `10×`, `original`, `max`.
    public var description: String {
        switch self {
        case .maximum: return "max"
        case .factor(1): return "original"
        case .factor(let factor): return "\(factor.formatted)×"
        }
    }
}

extension Double {
    fileprivate var formatted: String {
        self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}

/// When each event of a re-published window is due: the original spacing of the recorded times, scaled by a
/// ``ReplaySpeed``, from the moment the replay starts; a pause shifts the rest of the schedule by its length.
///
/// Pure and clock-free: every instant is a `Duration` since any fixed origin of a monotonic clock the caller
/// reads (the start of the command, say), so tests drive it with plain numbers.
///
/// ```swift
/// var pacer = ReplayPacer(speed: .factor(10), firstRecordedTime: records[0].recordedTime)
/// pacer.start(at: elapsed())
/// // before each event: wait pacer.wait(forRecordedTime: record.recordedTime, at: elapsed()) (nil while paused)
/// ```
public struct ReplayPacer: Sendable, Hashable {
    public let speed: ReplaySpeed
    /// The recorded time (µs) of the window's first event: it is due at the start.
    public let firstRecordedTime: Int64
    /// When the replay started, with every completed pause added: the instant the first event was (or would have
    /// been) due on the shifted schedule. `nil` before ``start(at:)``.
    public private(set) var origin: Duration?
    /// When the pause in progress began; `nil` when running.
    public private(set) var pausedAt: Duration?
    /// The total length of the completed pauses.
    public private(set) var pausedTotal: Duration = .zero

    public init(speed: ReplaySpeed, firstRecordedTime: Int64) {
        self.speed = speed
        self.firstRecordedTime = firstRecordedTime
    }

    /// Whether a pause is in progress.
    public var isPaused: Bool { pausedAt != nil }

    /// Starts the schedule: the first event is due at `now`. Starting again changes nothing.
    public mutating func start(at now: Duration) {
        if origin == nil { origin = now }
    }

    /// Pauses at `now`: nothing is due until ``resume(at:)``. Pausing while paused changes nothing.
    public mutating func pause(at now: Duration) {
        if pausedAt == nil { pausedAt = now }
    }

    /// Resumes at `now`: the rest of the schedule moves later by the length of the pause.
    public mutating func resume(at now: Duration) {
        guard let since = pausedAt else { return }
        pausedAt = nil
        let length = max(.zero, now - since)
        pausedTotal += length
        origin = origin.map { $0 + length }
    }

    /// Pauses if running, resumes if paused.
    public mutating func toggle(at now: Duration) {
        if isPaused { resume(at: now) } else { pause(at: now) }
    }

    /// The offset from the start at which an event recorded at `recordedTime` (µs) is due, pauses excluded:
    /// the recorded distance from the first event divided by the speed; zero at `max` speed and for times before
    /// the first.
    public func offset(forRecordedTime recordedTime: Int64) -> Duration {
        guard case .factor(let factor) = speed else { return .zero }
        let micros = recordedTime &- firstRecordedTime
        guard micros > 0 else { return .zero }
        return .microseconds(Int64(min(9e18, (Double(micros) / factor).rounded())))
    }

    /// The instant an event recorded at `recordedTime` is due, on the schedule as shifted by the pauses so far;
    /// `nil` before ``start(at:)`` or while paused.
    public func due(recordedTime: Int64) -> Duration? {
        guard let origin, pausedAt == nil else { return nil }
        return origin + offset(forRecordedTime: recordedTime)
    }

    /// How long to wait at `now` before the event recorded at `recordedTime` is due: `.zero` when it is due
    /// already, `nil` while paused or before the start (wait for a resume, not for a time).
    public func wait(forRecordedTime recordedTime: Int64, at now: Duration) -> Duration? {
        guard let due = due(recordedTime: recordedTime) else { return nil }
        return max(.zero, due - now)
    }

    /// The recorded time (µs) the replay has reached at `now`: the original clock the schedule follows, frozen
    /// while paused, `firstRecordedTime` before the start. At `max` speed the schedule has no clock: it stays at
    /// `firstRecordedTime` (callers use the last published event's time).
    public func recordedTime(at now: Duration) -> Int64 {
        guard let origin, case .factor(let factor) = speed else { return firstRecordedTime }
        let reached = min(now, pausedAt ?? now) - origin
        guard reached > .zero else { return firstRecordedTime }
        let (seconds, attoseconds) = reached.components
        let micros = Double(seconds) * 1e6 + Double(attoseconds) / 1e12
        return firstRecordedTime &+ Int64(min(9e18, (micros * factor).rounded(.down)))
    }
}
