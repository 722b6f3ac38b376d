import Testing
@testable import ConduitCore

@Suite struct FanoutMessageTests {
    static let header = RecordHeader(sequence: 42, recordedTime: Samples.recordedAt)

    @Test func eventMatchesGoldenFrames() throws {
        let message = FanoutMessage.event(Samples.progress, record: RecordedEvent(header: Self.header, event: Samples.stampedProgressBytes))
        #expect(message.encode() == GoldenFrames.fanoutEvent)
        #expect(try FanoutMessage.decode(GoldenFrames.fanoutEvent) == message)
    }

    @Test func heartbeatMatchesGoldenFrames() throws {
        let message = FanoutMessage.heartbeat(latest: Self.header)
        #expect(message.encode() == GoldenFrames.fanoutHeartbeat)
        #expect(try FanoutMessage.decode(GoldenFrames.fanoutHeartbeat) == message)
    }

    @Test func rejectsBadFrames() {
        var message = GoldenFrames.fanoutEvent
        message[0] = bytes("progress/power/ganjiaba")
        expectError(.frameTopic, at: "frame[0]") { _ = try FanoutMessage.decode(message) }
        message = GoldenFrames.fanoutEvent
        message[2] = hex("00")
        expectError(.frameSize, at: "frame[2]") { _ = try FanoutMessage.decode(message) }
        expectError(.frameArity, at: "message") { _ = try FanoutMessage.decode(Array(GoldenFrames.fanoutEvent.prefix(2))) }
        message = GoldenFrames.fanoutHeartbeat
        message[1] = bytes("CONDUIT/0")
        expectError(.frameVersion, at: "frame[1]") { _ = try FanoutMessage.decode(message) }
    }
}
