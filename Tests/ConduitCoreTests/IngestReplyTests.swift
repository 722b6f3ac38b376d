import Testing
@testable import ConduitCore

@Suite struct IngestReplyTests {
    static let goldens: [(IngestReply, [[UInt8]])] = [
        (.welcome(Welcome(heartbeatIntervalMs: 5000, maximumEventBytes: 65536, maximumInFlight: 256, headSequence: 40)), GoldenFrames.ingestWelcome),
        (.ack(Acknowledgement(correlation: 7, sequence: 42, duplicate: false, source: "/power-supply-bureau/agent-1", id: "pw-0001")), GoldenFrames.ingestAck),
        (.reject(Rejection(correlation: 8, error: ConduitError(.dataRange, path: "data.percent", "140 is above 100"))), GoldenFrames.ingestReject),
        (.heartbeat, GoldenFrames.ingestBrokerHeartbeat),
    ]

    @Test(arguments: 0..<goldens.count)
    func matchesGoldenFrames(_ index: Int) throws {
        let (message, frames) = Self.goldens[index]
        #expect(message.encode() == frames)
        #expect(try IngestReply.decode(frames) == message)
    }

    @Test func duplicateFlagRoundTrips() throws {
        let ack = IngestReply.ack(Acknowledgement(correlation: 1, sequence: 2, duplicate: true, source: "/a", id: "b"))
        #expect(ack.encode()[4] == [1])
        #expect(try IngestReply.decode(ack.encode()) == ack)
    }

    @Test func rejectsBadFrames() {
        var ack = GoldenFrames.ingestAck
        ack[4] = [2]
        expectError(.frameValue, at: "frame[4]") { _ = try IngestReply.decode(ack) }
        var welcome = GoldenFrames.ingestWelcome
        welcome[2].removeLast()
        expectError(.frameSize, at: "frame[2]") { _ = try IngestReply.decode(welcome) }
        var reject = GoldenFrames.ingestReject
        reject[3] = []
        expectError(.frameValue, at: "frame[3]") { _ = try IngestReply.decode(reject) }
    }
}

@Test(arguments: [
    IngestReply.ack(Acknowledgement(correlation: 7, sequence: 42, duplicate: false, source: "/power-supply-bureau/agent-1", id: "pw-0001")),
    IngestReply.ack(Acknowledgement(correlation: .max, sequence: 1, duplicate: true, source: "/a", id: "x")),
    IngestReply.heartbeat,
    IngestReply.reject(Rejection(correlation: 8, error: ConduitError(.dataRange, path: "data.percent", "140 is above 100"))),
])
func forEachFrameEmitsTheFramesOfEncode(reply: IngestReply) {
    var frames: [[UInt8]] = []
    var mores: [Bool] = []
    reply.forEachFrame { bytes, more in
        frames.append(Array(bytes))
        mores.append(more)
    }
    #expect(frames == reply.encode())
    #expect(mores == Array(repeating: true, count: frames.count - 1) + [false])
}
