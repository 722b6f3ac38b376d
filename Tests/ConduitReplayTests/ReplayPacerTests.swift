import ConduitReplay
import Testing

/// The re-publication schedule, without sockets or clocks: instants are durations since an origin.
struct ReplayPacerTests {
    static let second: Int64 = 1_000_000
    /// Recorded times (µs): a first event, then one second, three seconds and ten seconds later.
    static let base: Int64 = 1_685_608_200_000_000
    static let recorded: [Int64] = [base, base + second, base + 3 * second, base + 10 * second]

    @Test(arguments: [
        ("10", ReplaySpeed.factor(10)), ("10x", .factor(10)), ("2.5X", .factor(2.5)), ("0.5x", .factor(0.5)),
        ("original", .factor(1)), ("1", .factor(1)), ("max", .maximum),
    ])
    func speedsAreRead(_ text: String, _ speed: ReplaySpeed) {
        #expect(ReplaySpeed(argument: text) == speed)
    }

    @Test(arguments: ["", "0", "-2x", "fast", "x", "nan", "inf", "1e12", "2000000x", "0.0001x"])
    func nonsenseIsNoSpeed(_ text: String) {
        #expect(ReplaySpeed(argument: text) == nil)
    }

    @Test func speedsDescribeThemselves() {
        #expect(ReplaySpeed.original.description == "original")
        #expect(ReplaySpeed.factor(10).description == "10×")
        #expect(ReplaySpeed.factor(0.5).description == "0.5×")
        #expect(ReplaySpeed.maximum.description == "max")
    }

    @Test(arguments: [
        (ReplaySpeed.original, [0, 1000, 3000, 10_000]),
        (.factor(10), [0, 100, 300, 1000]),
        (.factor(0.5), [0, 2000, 6000, 20_000]),
        (.maximum, [0, 0, 0, 0]),
    ])
    func theOriginalSpacingIsScaledBySpeed(_ speed: ReplaySpeed, _ milliseconds: [Int64]) {
        var pacer = ReplayPacer(speed: speed, firstRecordedTime: Self.recorded[0])
        #expect(pacer.due(recordedTime: Self.recorded[0]) == nil, "nothing is due before the start")
        let start = Duration.seconds(5)
        pacer.start(at: start)
        #expect(Self.recorded.map { pacer.due(recordedTime: $0) } == milliseconds.map { start + .milliseconds($0) })
    }

    @Test func waitIsTheTimeLeftAndZeroWhenLate() {
        var pacer = ReplayPacer(speed: .factor(10), firstRecordedTime: Self.recorded[0])
        pacer.start(at: .zero)
        #expect(pacer.wait(forRecordedTime: Self.recorded[2], at: .milliseconds(120)) == .milliseconds(180))
        #expect(pacer.wait(forRecordedTime: Self.recorded[1], at: .milliseconds(120)) == .zero)
        #expect(pacer.wait(forRecordedTime: Self.recorded[0] - Self.second, at: .zero) == .zero, "earlier than the first: due at once")
    }

    @Test func aPauseShiftsTheRestOfTheScheduleByItsLength() {
        var pacer = ReplayPacer(speed: .factor(10), firstRecordedTime: Self.recorded[0])
        pacer.start(at: .zero)
        pacer.pause(at: .milliseconds(50))
        #expect(pacer.isPaused)
        #expect(pacer.due(recordedTime: Self.recorded[1]) == nil)
        #expect(pacer.wait(forRecordedTime: Self.recorded[1], at: .milliseconds(400)) == nil, "paused: wait for a resume")
        pacer.pause(at: .milliseconds(100))  // a second pause while paused changes nothing
        pacer.resume(at: .milliseconds(250))
        #expect(!pacer.isPaused)
        #expect(pacer.pausedTotal == .milliseconds(200))
        #expect(pacer.due(recordedTime: Self.recorded[1]) == .milliseconds(300))
        #expect(pacer.due(recordedTime: Self.recorded[3]) == .milliseconds(1200))
        pacer.toggle(at: .milliseconds(400))
        pacer.toggle(at: .milliseconds(500))
        #expect(pacer.due(recordedTime: Self.recorded[3]) == .milliseconds(1300), "pauses add up")
        pacer.resume(at: .seconds(9))  // resuming while running changes nothing
        #expect(pacer.due(recordedTime: Self.recorded[3]) == .milliseconds(1300))
    }

    @Test func theReplayClockFollowsTheScheduleAndStopsWhilePaused() {
        var pacer = ReplayPacer(speed: .factor(10), firstRecordedTime: Self.recorded[0])
        #expect(pacer.recordedTime(at: .seconds(3)) == Self.recorded[0], "before the start")
        pacer.start(at: .seconds(1))
        #expect(pacer.recordedTime(at: .milliseconds(1100)) == Self.recorded[1])
        pacer.pause(at: .milliseconds(1200))
        #expect(pacer.recordedTime(at: .seconds(60)) == Self.recorded[0] + 2 * Self.second, "frozen while paused")
        pacer.resume(at: .milliseconds(1700))
        #expect(pacer.recordedTime(at: .milliseconds(1800)) == Self.recorded[2])
    }

    @Test func startingTwiceKeepsTheFirstStart() {
        var pacer = ReplayPacer(speed: .original, firstRecordedTime: Self.recorded[0])
        pacer.start(at: .seconds(1))
        pacer.start(at: .seconds(2))
        #expect(pacer.due(recordedTime: Self.recorded[1]) == .seconds(2))
    }
}
