import Testing
import ZeroMQ

/// The guard's rules without sockets: admission in all and per address, the bytes a connection may leave
/// unfinished or unread, stalls, and the endpoint's totals.
@Suite struct ConnectionGuardTests {
    static let limits = ConnectionGuard.Limits(
        maximumConnections: 4, maximumPerAddress: 2, maximumUnfinishedBytes: 1000, maximumWaitingBytes: 5000,
        maximumUnfinishedInAll: 1500, stallTimeout: 10_000_000, handshakeBytes: 100, maximumUnsentBytes: 3000,
        maximumUnsentInAll: 4000)

    static func sample(_ descriptor: Int32, received: UInt64, written: UInt64 = 0) -> ConnectionGuard.Sample {
        ConnectionGuard.Sample(descriptor: descriptor, received: received, written: written)
    }

    @Test func admitsUpToTheLimitsInAllAndPerAddress() {
        var rules = ConnectionGuard(limits: Self.limits)
        #expect(rules.accepted(descriptor: 10, address: "10.0.0.1") == nil)
        #expect(rules.accepted(descriptor: 11, address: "10.0.0.1") == nil)
        #expect(rules.accepted(descriptor: 12, address: "10.0.0.1") == .addressFull(limit: 2))
        #expect(rules.accepted(descriptor: 13, address: "10.0.0.2") == nil)
        #expect(rules.accepted(descriptor: 14, address: "unix") == nil, "local connections count only in all")
        #expect(rules.accepted(descriptor: 15, address: "10.0.0.3") == .endpointFull(limit: 4))
        #expect(rules.count == 4)
        rules.closed(descriptor: 10)
        #expect(rules.count(address: "10.0.0.1") == 1)
        #expect(rules.accepted(descriptor: 16, address: "10.0.0.1") == nil, "a place freed is a place again")
        rules.closed(descriptor: 999)  // unknown: ignored
        #expect(rules.count == 4)
    }

    @Test func aReusedDescriptorIsANewConnection() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        rules.took(descriptor: 10, wireBytes: 500)
        // The end of the first was missed; the descriptor comes back for another peer.
        #expect(rules.accepted(descriptor: 10, address: "10.0.0.2") == nil)
        #expect(rules.count(address: "10.0.0.1") == 0)
        #expect(rules.inspect([Self.sample(10, received: 300)], now: 0).isEmpty, "nothing carried over")
    }

    @Test func anUnfinishedMessageIsCutOnceBeyondTheLimitWithNoWholeMessage() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        // 100 bytes of handshake, then 900 unfinished: allowed.
        #expect(rules.inspect([Self.sample(10, received: 1000)], now: 0).isEmpty)
        // Whole messages keep coming: bytes waiting to be taken are no fault.
        rules.took(descriptor: 10, wireBytes: 50)
        #expect(rules.inspect([Self.sample(10, received: 3000)], now: 1).isEmpty)
        // Nothing whole since the previous inspection, and more than 1000 unfinished: held, and if the same at the
        // next inspection, cut.
        #expect(rules.inspect([Self.sample(10, received: 3100)], now: 2).isEmpty)
        let cuts = rules.inspect([Self.sample(10, received: 3100)], now: 3)
        #expect(cuts.map(\.0) == [10])
        #expect(cuts.first?.1 == .unfinished(bytes: 3100 - 50 - 100))
        #expect(rules.count == 0)
    }

    /// Whole messages the kernel counted just before an inspection, which the application had no turn to take yet,
    /// are no fault: they are taken before the next inspection.
    @Test func aBurstJustBeforeAnInspectionIsNotCutWhenItIsTakenBeforeTheNext() {
        var rules = ConnectionGuard(limits: Self.limits)
        for descriptor: Int32 in 10...11 { _ = rules.accepted(descriptor: descriptor, address: "10.0.0.\(descriptor)") }
        rules.took(descriptor: 10, wireBytes: 100)
        #expect(rules.inspect([Self.sample(10, received: 200), Self.sample(11, received: 100)], now: 0).isEmpty)
        // Two agents' bursts of whole messages arrive together (beyond one connection's and the endpoint's limits).
        #expect(rules.inspect([Self.sample(10, received: 1_500), Self.sample(11, received: 1_300)], now: 1).isEmpty)
        rules.took(descriptor: 10, wireBytes: 1_300)
        rules.took(descriptor: 11, wireBytes: 1_200)
        #expect(rules.inspect([Self.sample(10, received: 1_500), Self.sample(11, received: 1_300)], now: 2).isEmpty)
        #expect(rules.count == 2)
    }

    @Test func waitingBeyondTheHardLimitIsCutEvenWithProgress() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        rules.took(descriptor: 10, wireBytes: 10)
        let cuts = rules.inspect([Self.sample(10, received: 6000)], now: 0)
        #expect(cuts.first?.1 == .waiting(bytes: 6000 - 10 - 100))
    }

    @Test func aStallIsCutAfterTheTimeoutAndProgressRestartsTheClock() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        #expect(rules.inspect([Self.sample(10, received: 600)], now: 0).isEmpty)
        #expect(rules.inspect([Self.sample(10, received: 600)], now: 9_000_000).isEmpty)
        rules.took(descriptor: 10, wireBytes: 100)  // a whole message: the clock starts again
        #expect(rules.inspect([Self.sample(10, received: 700)], now: 9_500_000).isEmpty)
        #expect(rules.inspect([Self.sample(10, received: 700)], now: 19_000_000).isEmpty)
        #expect(rules.inspect([Self.sample(10, received: 700)], now: 19_500_000).first?.1 == .stalled(bytes: 500))
    }

    @Test func anIdleConnectionWithOnlyItsHandshakeIsNeverCut() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        for second in 0..<100 {
            #expect(rules.inspect([Self.sample(10, received: 90)], now: Int64(second) * 1_000_000).isEmpty)
        }
    }

    @Test func countingMoreThanArrivedLendsNoRoom() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        // The application counts every message 50 bytes too long, a thousand times.
        for _ in 0..<1000 { rules.took(descriptor: 10, wireBytes: 150) }
        #expect(rules.inspect([Self.sample(10, received: 100_000)], now: 0).isEmpty)
        // Then an unfinished message: counted from what arrived, not from the generous count.
        #expect(rules.inspect([Self.sample(10, received: 102_000)], now: 1).isEmpty)
        #expect(rules.inspect([Self.sample(10, received: 102_000)], now: 2).first?.1 == .unfinished(bytes: 1900))
    }

    /// A peer streaming without a pause moves the kernel's counters between any two readings: the reading gives
    /// bounds, and a flood is judged by the least that surely arrived, at the first inspection that sees it.
    @Test func aReadingTakenWhileBytesArriveStillCutsAFlood() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        let reading = ConnectionGuard.Sample(descriptor: 10, received: 9000...9500, written: 0...0)
        #expect(rules.inspect([reading], now: 0).first?.1 == .waiting(bytes: 8900))
    }

    /// Bounds never make a connection look as if it held more than it does, then or later: the application's count
    /// is brought down to the most that may have arrived, never to the least.
    @Test func boundsLendNoRoomAndCutNothingThatIsTaken() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        for _ in 0..<1000 { rules.took(descriptor: 10, wireBytes: 150) }
        let moving = ConnectionGuard.Sample(descriptor: 10, received: 94_000...101_000, written: 0...0)
        #expect(rules.inspect([moving], now: 0).isEmpty)
        for now: Int64 in 1...3 { #expect(rules.inspect([Self.sample(10, received: 101_000)], now: now).isEmpty) }
        // Then an unfinished message beyond the limit, held at two inspections in a row.
        #expect(rules.inspect([Self.sample(10, received: 103_000)], now: 4).isEmpty)
        #expect(rules.inspect([Self.sample(10, received: 103_000)], now: 5).first?.1 == .unfinished(bytes: 1900))
    }

    /// Unread replies are judged against the most that may have been written, and the count of what was sent is
    /// raised only to what surely was.
    @Test func boundsOnWhatWasWrittenCutNoReader() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        rules.sent(descriptor: 10, wireBytes: 4000)
        // Between 0 and 1000 written: at most 3900 unread (limit 3000 beyond a handshake of 100), at least 2900.
        let moving = ConnectionGuard.Sample(descriptor: 10, received: 0...0, written: 0...1000)
        #expect(rules.inspect([moving], now: 0).isEmpty)
        #expect(rules.inspect([Self.sample(10, received: 0, written: 500)], now: 1).first?.1 == .unread(bytes: 3400))
    }

    @Test func theEndpointsTotalCutsThoseHoldingTheMostFirst() {
        var rules = ConnectionGuard(limits: Self.limits)
        for descriptor: Int32 in 10...13 { _ = rules.accepted(descriptor: descriptor, address: "10.0.0.\(descriptor)") }
        // Each below its own limit, 2200 in all beyond their handshakes (limit 1500): the largest goes, once they
        // have held their bytes at two inspections in a row.
        let samples = [
            Self.sample(10, received: 900), Self.sample(11, received: 1000), Self.sample(12, received: 300),
            Self.sample(13, received: 400),
        ]
        #expect(rules.inspect(samples, now: 0).isEmpty)
        let cuts = rules.inspect(samples, now: 1)
        #expect(cuts.map(\.0) == [11])
        #expect(cuts.first?.1 == .crowded(bytes: 900))
    }

    @Test func unreadRepliesAreCountedPerConnectionAndInAll() {
        var rules = ConnectionGuard(limits: Self.limits)
        for descriptor: Int32 in 10...12 { _ = rules.accepted(descriptor: descriptor, address: "10.0.0.\(descriptor)") }
        rules.sent(descriptor: 10, wireBytes: 5000)  // 100 handshake + 3000 allowed
        rules.sent(descriptor: 11, wireBytes: 2500)
        rules.sent(descriptor: 12, wireBytes: 2600)
        let cuts = rules.inspect(
            [Self.sample(10, received: 0, written: 1000), Self.sample(11, received: 0, written: 0),
             Self.sample(12, received: 0, written: 0)], now: 0)
        #expect(cuts.first?.1 == .unread(bytes: 3900))
        // 2400 and 2500 unread: 4900 in all, above 4000: the one with most goes.
        #expect(cuts.dropFirst().map(\.0) == [12])
        #expect(cuts.last?.1 == .unreadCrowded(bytes: 2500))
    }

    @Test func writtenBeyondWhatWasCountedRaisesTheCount() {
        var rules = ConnectionGuard(limits: Self.limits)
        _ = rules.accepted(descriptor: 10, address: "10.0.0.1")
        rules.sent(descriptor: 10, wireBytes: 1000)
        #expect(rules.inspect([Self.sample(10, received: 0, written: 50_000)], now: 0).isEmpty)
        rules.sent(descriptor: 10, wireBytes: 3500)
        #expect(rules.inspect([Self.sample(10, received: 0, written: 50_000)], now: 1).first?.1 == .unread(bytes: 3400))
    }

    @Test func framingCountsHeadersAndTheCurveEnvelope() {
        #expect(GuardedEndpoint.Framing.plain.wireBytes(frame: 0) == 2)
        #expect(GuardedEndpoint.Framing.plain.wireBytes(frame: 255) == 257)
        #expect(GuardedEndpoint.Framing.plain.wireBytes(frame: 256) == 265)
        #expect(GuardedEndpoint.Framing.curve.wireBytes(frame: 0) == 35)
        #expect(GuardedEndpoint.Framing.curve.wireBytes(frame: 222) == 257)
        #expect(GuardedEndpoint.Framing.curve.wireBytes(frame: 223) == 265)
    }
}
