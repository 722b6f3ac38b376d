import Testing
@testable import ConduitCore

@Suite struct IngestReplyTests {
    static let goldens: [(IngestReply, [[UInt8]])] = [
        (.welcome(Welcome(heartbeatIntervalMs: 5000, maximumEventBytes: 65536, maximumInFlight: 256, headSequence: 40)), GoldenFrames.ingestWelcome),
        (.ack(Acknowledgement(correlation: 7, sequence: 42, duplicate: false, source: "/power-supply-bureau/agent-1", id: "pw-0001")), GoldenFrames.ingestAck),
        (.reject(Rejection(correlation: 8, error: ConduitError(.dataRange, path: "data.percent", "140 is above 100"))), GoldenFrames.ingestReject),
        (.heartbeat, GoldenFrames.ingestBrokerHeartbeat),
        (.welcome(Welcome(heartbeatIntervalMs: 5000, maximumEventBytes: 65536, maximumInFlight: 256, headSequence: 40, features: ["batch"])),
         GoldenFrames.ingestWelcomeBatch),
        (.acks([
            BatchAcknowledgement(correlation: 7, sequence: 42, duplicate: false),
            BatchAcknowledgement(correlation: 8, sequence: 43, duplicate: true),
        ]), GoldenFrames.ingestAcks),
    ]

    @Test func badAcksAreRejected() {
        var acks = GoldenFrames.ingestAcks
        acks[2].removeLast()
        expectError(.frameSize, at: "frame[2]") { _ = try IngestReply.decode(acks) }
        acks[2] = []
        expectError(.frameSize, at: "frame[2]") { _ = try IngestReply.decode(acks) }
        acks = GoldenFrames.ingestAcks
        acks[2][16] = 2
        expectError(.frameValue, at: "frame[2]") { _ = try IngestReply.decode(acks) }
    }

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

/// A rejection quotes the input; what it carries is bounded (path 256 bytes, reason 1,024), cut at a character.
@Test func rejectionsCarryABoundedQuoteOfTheInput() throws {
    let long = String(repeating: "甘", count: 30_000)
    let reply = IngestReply.reject(Rejection(correlation: 1, error: ConduitError(.eventFormat, path: "data." + long, "\"\(long)\" is not a date")))
    let frames = reply.encode()
    let path = frames[frames.count - 2]
    let reason = frames[frames.count - 1]
    #expect(path.count <= 256 && reason.count <= 1024)
    #expect(String(validating: path, as: UTF8.self)?.hasSuffix("…") == true)
    #expect(String(validating: reason, as: UTF8.self)?.hasPrefix("\"甘甘") == true)
    guard case .reject(let decoded) = try IngestReply.decode(frames) else { Issue.record("not a REJECT"); return }
    #expect(decoded.error.code == .eventFormat)
}
