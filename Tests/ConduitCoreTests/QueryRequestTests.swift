import Testing
@testable import ConduitCore

@Suite struct QueryRequestTests {
    static let goldens: [(QueryRequest, [[UInt8]])] = [
        (.replay(ReplayRequest(request: 1, window: .sequence(from: 1, to: 100), credit: 64, topicPrefixes: [bytes("outage/"), bytes("progress/water/")])), GoldenFrames.queryReplay),
        (.replay(ReplayRequest(request: 2, window: .time(from: try! Timestamp(rfc3339: "2023-06-01T00:00:00Z"), to: try! Timestamp(rfc3339: "2023-06-02T00:00:00Z")), credit: 16)), GoldenFrames.queryReplayTime),
        (.credit(request: 1, amount: 64), GoldenFrames.queryCredit),
        (.cancel(request: 1), GoldenFrames.queryCancel),
        (.head(request: 3), GoldenFrames.queryHead),
        (.stats(request: 4), GoldenFrames.queryStats),
    ]

    @Test(arguments: 0..<goldens.count)
    func matchesGoldenFrames(_ index: Int) throws {
        let (message, frames) = Self.goldens[index]
        #expect(message.encode() == frames)
        #expect(try QueryRequest.decode(frames) == message)
    }

    @Test func replayFiltersByTopicPrefix() {
        let replay = ReplayRequest(request: 1, window: .sequence(from: 1, to: .max), credit: 8, topicPrefixes: [Topic.prefix(kind: .outage)])
        #expect(replay.selects(topic: bytes("outage/power/ganjiaba/")))
        #expect(!replay.selects(topic: bytes("progress/power/ganjiaba/")))
        #expect(ReplayRequest(request: 1, window: .sequence(from: 1, to: 2), credit: 1).selects(topic: bytes("alert/-/-/")))
    }

    @Test func windowsContainTheirEvents() {
        let at = { (sequence: UInt64, seconds: Int64) in RecordHeader(sequence: sequence, recordedTime: Timestamp(secondsSinceEpoch: seconds)) }
        let bySequence = ReplayWindow.sequence(from: 5, to: 7)
        #expect(!bySequence.contains(at(4, 0)) && bySequence.contains(at(5, 0)) && bySequence.contains(at(7, 0)) && !bySequence.contains(at(8, 0)))
        let byTime = ReplayWindow.time(from: Timestamp(secondsSinceEpoch: 10), to: Timestamp(secondsSinceEpoch: 20))
        #expect(!byTime.contains(at(1, 9)) && byTime.contains(at(1, 10)) && byTime.contains(at(1, 19)) && !byTime.contains(at(1, 20)))
    }

    @Test func rejectsBadFrames() {
        var replay = GoldenFrames.queryReplay
        replay[3] = bytes("S") + hex("0000000000000064") + hex("0000000000000001")
        expectError(.dataWindow, at: "frame[3]") { _ = try QueryRequest.decode(replay) }
        replay[3] = bytes("X") + hex("00000000000000010000000000000064")
        expectError(.frameValue, at: "frame[3]") { _ = try QueryRequest.decode(replay) }
        replay = GoldenFrames.queryReplay
        replay[4] = hex("0040")
        expectError(.frameSize, at: "frame[4]") { _ = try QueryRequest.decode(replay) }
        let tooMany = Array(GoldenFrames.queryReplay.prefix(5)) + [[UInt8]](repeating: bytes("outage/"), count: 17)
        expectError(.frameArity, at: "message") { _ = try QueryRequest.decode(tooMany) }
    }
}
