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

    /// Every pair of 64-bit times decodes or is rejected as `data.window`, and the reason names both ends as received:
    /// a window ending near `Int64.min` once crashed the broker while its reason was formatted.
    @Test(arguments: [
        (0, .min), (.max, .min), (.min + 1, .min), (-1, .min + 1), (.max, .max - 1), (.max, 0),
    ] as [(Int64, Int64)])
    func timeWindowsThatEndBeforeTheyBeginAreRejectedAtAnyValue(_ from: Int64, _ to: Int64) throws {
        var replay = GoldenFrames.queryReplay
        replay[3] = bytes("T") + bigEndian(UInt64(bitPattern: from)) + bigEndian(UInt64(bitPattern: to))
        expectError(.dataWindow, at: "frame[3]") { _ = try QueryRequest.decode(replay) }
        do {
            _ = try QueryRequest.decode(replay)
        } catch {
            let shown = { (value: Int64) in
                let timestamp = Timestamp(microsecondsSinceEpoch: value)
                return timestamp.isWritable ? timestamp.rfc3339 : String(value)
            }
            #expect(error.message.contains(shown(from)) && error.message.contains(shown(to)), "\(error)")
        }
    }

    @Test(arguments: [(.min, .min), (.min, .max), (.max, .max), (.min, 0)] as [(Int64, Int64)])
    func timeWindowsAtTheEndsOfTheRangeDecode(_ from: Int64, _ to: Int64) throws {
        var replay = GoldenFrames.queryReplay
        replay[3] = bytes("T") + bigEndian(UInt64(bitPattern: from)) + bigEndian(UInt64(bitPattern: to))
        guard case .replay(let request) = try QueryRequest.decode(replay) else { Issue.record("not a replay"); return }
        #expect(request.window == .time(from: Timestamp(microsecondsSinceEpoch: from), to: Timestamp(microsecondsSinceEpoch: to)))
    }
}

private func bigEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
