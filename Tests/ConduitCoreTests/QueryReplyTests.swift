import Testing
@testable import ConduitCore

@Suite struct QueryReplyTests {
    static let record = RecordedEvent(header: RecordHeader(sequence: 42, recordedTime: Samples.recordedAt), event: Samples.stampedProgressBytes)

    static let goldens: [(QueryReply, [[UInt8]])] = [
        (.chunk(request: 1, events: [record]), GoldenFrames.queryChunk),
        (.end(EndOfStream(request: 1, reason: .beyondHead, lastSequence: 42, headSequence: 42)), GoldenFrames.queryEnd),
        (.head(JournalHead(request: 3, firstSequence: 1, headSequence: 42, headRecordedTime: Samples.recordedAt)), GoldenFrames.queryHeadReply),
        (.stats(request: 4, json: bytes(#"{"events":42}"#)), GoldenFrames.queryStatsReply),
        (.error(request: 9, ConduitError(.frameSize, path: "frame[4]", "expected a 4-byte big-endian integer, got 2 bytes")), GoldenFrames.queryError),
    ]

    @Test(arguments: 0..<goldens.count)
    func matchesGoldenFrames(_ index: Int) throws {
        let (message, frames) = Self.goldens[index]
        #expect(message.encode() == frames)
        #expect(try QueryReply.decode(frames) == message)
    }

    @Test func chunksCarrySeveralEvents() throws {
        let chunk = QueryReply.chunk(request: 2, events: [Self.record, Self.record, Self.record])
        #expect(chunk.encode().count == 9)
        #expect(try QueryReply.decode(chunk.encode()) == chunk)
    }

    @Test func rejectsBadFrames() {
        expectError(.frameArity, at: "message") { _ = try QueryReply.decode(Array(GoldenFrames.queryChunk.prefix(4))) }
        var end = GoldenFrames.queryEnd
        end[3] = bytes("finished")
        expectError(.frameValue, at: "frame[3]") { _ = try QueryReply.decode(end) }
    }
}
