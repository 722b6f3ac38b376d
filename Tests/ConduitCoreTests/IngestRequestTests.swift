import Testing
@testable import ConduitCore

@Suite struct IngestRequestTests {
    static let goldens: [(IngestRequest, [[UInt8]])] = [
        (.publish(correlation: 7, event: Samples.progressBytes), GoldenFrames.ingestPublish),
        (.hello(source: "/power-supply-bureau/agent-1", heartbeatIntervalMs: 5000), GoldenFrames.ingestHello),
        (.heartbeat, GoldenFrames.ingestHeartbeat),
        (.goodbye, GoldenFrames.ingestGoodbye),
        (.hello(source: "/power-supply-bureau/agent-1", heartbeatIntervalMs: 5000, features: ["batch"]), GoldenFrames.ingestHelloBatch),
        (.batch([BatchEntry(correlation: 7, event: Array("{}".utf8)), BatchEntry(correlation: 8, event: Array("{}".utf8))]), GoldenFrames.ingestBatch),
    ]

    @Test(arguments: 0..<goldens.count)
    func matchesGoldenFrames(_ index: Int) throws {
        let (message, frames) = Self.goldens[index]
        #expect(message.encode() == frames)
        #expect(try IngestRequest.decode(frames) == message)
    }

    @Test func publishOfAnEventUsesTheCanonicalJSON() {
        #expect(IngestRequest.publish(correlation: 7, event: Samples.progress) == .publish(correlation: 7, event: Samples.progressBytes))
    }

    @Test func rejectsBadFrames() {
        let sig = ProtocolSignature.frame
        expectError(.frameArity, at: "message") { _ = try IngestRequest.decode([]) }
        expectError(.frameVersion, at: "frame[0]") { _ = try IngestRequest.decode([bytes("CONDUIT/2"), bytes("HEARTBEAT")]) }
        expectError(.frameCommand, at: "frame[1]") { _ = try IngestRequest.decode([sig, bytes("SHOUT")]) }
        expectError(.frameArity, at: "message") { _ = try IngestRequest.decode([sig, bytes("PUBLISH"), hex("0000000000000007")]) }
        expectError(.frameSize, at: "frame[2]") { _ = try IngestRequest.decode([sig, bytes("PUBLISH"), hex("07"), Samples.progressBytes]) }
        expectError(.frameValue, at: "frame[2]") { _ = try IngestRequest.decode([sig, bytes("HELLO"), [0xFF, 0xFE], hex("00001388")]) }
        expectError(.frameValue, at: "frame[2]") { _ = try IngestRequest.decode([sig, bytes("HELLO"), bytes("agent-1"), hex("00001388")]) }
        expectError(.eventOversize, at: "frame[3]") {
            _ = try IngestRequest.decode([sig, bytes("PUBLISH"), hex("0000000000000007"), [UInt8](repeating: 32, count: EventCodec.maximumEventBytes + 1)])
        }
    }

    @Test func correlationOfAnUndecodablePublishIsRecovered() {
        #expect(IngestRequest.correlation(ofUndecodable: [ProtocolSignature.frame, bytes("PUBLISH"), hex("0000000000000009")]) == 9)
        #expect(IngestRequest.correlation(ofUndecodable: [bytes("junk")]) == 0)
    }
}

/// A `BATCH` that cannot be read whole is refused whole, with what is wrong in which entry.
@Test func badBatchesAreRejected() {
    var batch = GoldenFrames.ingestBatch
    batch[2].removeLast()
    expectError(.frameSize, at: "frame[2]") { _ = try IngestRequest.decode(batch) }
    batch[2] = []
    expectError(.frameSize, at: "frame[2]") { _ = try IngestRequest.decode(batch) }
    batch[2] = Array(GoldenFrames.ingestBatch[2].prefix(10))
    expectError(.frameSize, at: "frame[2]") { _ = try IngestRequest.decode(batch) }
    // An entry that says it is larger than an event may be.
    batch[2] = [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1] + Array(repeating: 0x20, count: 65_537)
    expectError(.eventOversize, at: "frame[2]") { _ = try IngestRequest.decode(batch) }
    // More entries than a BATCH may hold.
    batch[2] = (0..<1025).flatMap { _ in [UInt8](repeating: 0, count: 11) + [2] + Array("{}".utf8) }
    expectError(.frameValue, at: "frame[2]") { _ = try IngestRequest.decode(batch) }
    // HELLO with features is five frames; six is wrong.
    expectError(.frameArity, at: "message") { _ = try IngestRequest.decode(GoldenFrames.ingestHelloBatch + [[]]) }
}

