import Testing
@testable import ConduitCore


/// Garbage never crashes a decoder: every input either decodes or throws a ``ConduitError``
/// with a known code and a path.
@Suite struct DecoderFuzzTests {
    static let knownCodes = Set(ConduitError.Code.all)

    func check(_ body: () throws -> Void) {
        do {
            try body()
        } catch let error as ConduitError {
            #expect(Self.knownCodes.contains(error.code), "\(error)")
            #expect(!error.path.isEmpty)
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    static let seeds: [[UInt8]] = Samples.all.map { EventCodec.encode($0) } + [Scenario.defaultJSON]

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let interesting: [UInt8] = Array("{}[],:\"\\0123456789.-+eEtrufalsn ".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xE0, 0xED, 0xF0, 0xF4, 0xFF]
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            let index = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: bytes[index] = interesting.randomElement(using: &rng)!
            case 1: bytes[index] = UInt8.random(in: 0...255, using: &rng)
            case 2: bytes.remove(at: index)
            case 3: bytes.insert(interesting.randomElement(using: &rng)!, at: index)
            default:
                let end = min(bytes.count, index + Int.random(in: 1...16, using: &rng))
                bytes.insert(contentsOf: Array(bytes[index..<end]), at: index)
            }
        }
        return bytes
    }

    @Test func randomBytes() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<3000 {
            let count = Int.random(in: 0..<400, using: &rng)
            let input = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            check { _ = try EventCodec.decode(input) }
            check { _ = try JSONValue.parse(input) }
        }
    }

    @Test func truncatedValidEvents() {
        for seed in Self.seeds.prefix(5) {
            for length in 0..<seed.count {
                check { _ = try EventCodec.decode(Array(seed[..<length])) }
            }
        }
    }

    @Test func mutatedValidEvents() {
        var rng = SplitMix64(seed: 2)
        let validator = EventValidator(scenario: .default)
        var decodedSome = 0
        for iteration in 0..<20_000 {
            let seed = Self.seeds[iteration % 5]
            let input = Self.mutate(seed, &rng)
            check {
                let event = try EventCodec.decode(input)
                decodedSome += 1
                try validator.validate(event)
                // Whatever decodes re-encodes to something that decodes to the same event.
                #expect(try EventCodec.decode(EventCodec.encode(event)) == event)
            }
        }
        #expect(decodedSome > 0)
    }

    @Test func mutatedScenario() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<200 {
            let input = Self.mutate(Scenario.defaultJSON, &rng)
            check { _ = try Scenario.decode(input) }
        }
    }

    @Test func mutatedFrames() {
        var rng = SplitMix64(seed: 4)
        let messages: [[[UInt8]]] = [
            GoldenFrames.ingestPublish, GoldenFrames.ingestHello, GoldenFrames.ingestAck, GoldenFrames.ingestReject,
            GoldenFrames.ingestWelcome, GoldenFrames.fanoutEvent, GoldenFrames.fanoutHeartbeat, GoldenFrames.queryReplay,
            GoldenFrames.queryChunk, GoldenFrames.queryEnd, GoldenFrames.queryHeadReply, GoldenFrames.queryError,
            GoldenFrames.snapshotRequest, GoldenFrames.snapshotState,
        ]
        for iteration in 0..<20_000 {
            var message = messages[iteration % messages.count]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0 where !message.isEmpty:
                message.remove(at: Int.random(in: 0..<message.count, using: &rng))
            case 1:
                message.insert(Self.mutate(bytes("CONDUIT/1"), &rng), at: Int.random(in: 0...message.count, using: &rng))
            default:
                let index = Int.random(in: 0..<message.count, using: &rng)
                message[index] = Self.mutate(message[index], &rng)
            }
            check { _ = try IngestRequest.decode(message) }
            check { _ = try IngestReply.decode(message) }
            check { _ = try FanoutMessage.decode(message) }
            check { _ = try QueryRequest.decode(message) }
            check { _ = try QueryReply.decode(message) }
            check { _ = try SnapshotRequest.decode(message) }
            check { _ = try SnapshotReply.decode(message) }
        }
    }

    /// The 64-bit numbers a peer may send — window ends, record headers' times and sequences, credits, intervals —
    /// at and around the ends of their ranges, in every numeric frame of every message: each decodes or is
    /// rejected, and whatever comes out can be described and encoded again without trapping (a window end near
    /// `Int64.min` once killed the broker while its error was formatted).
    @Test func extremeNumbersInEveryNumericFrame() {
        var rng = SplitMix64(seed: 5)
        let extremes: [UInt64] = [
            0, 1, 2, UInt64(Int64.max), UInt64(Int64.max) - 1, UInt64(Int64.max) + 1, UInt64(Int64.max) + 2, .max, .max - 1,
            UInt64(bitPattern: Timestamp.earliest.microsecondsSinceEpoch), UInt64(bitPattern: Timestamp.earliest.microsecondsSinceEpoch - 1),
            UInt64(bitPattern: Timestamp.latest.microsecondsSinceEpoch), UInt64(bitPattern: Timestamp.latest.microsecondsSinceEpoch + 1),
            1 << 32, (1 << 32) - 1, 1 << 62,
        ]
        func value() -> UInt64 {
            Bool.random(using: &rng) ? extremes.randomElement(using: &rng)! : UInt64.random(in: 0 ... .max, using: &rng)
        }
        func bigEndian(_ value: UInt64, _ size: Int) -> [UInt8] {
            (0..<size).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * (size - 1 - $0))) }
        }
        let messages: [[[UInt8]]] = [
            GoldenFrames.ingestPublish, GoldenFrames.ingestHello, GoldenFrames.ingestAck, GoldenFrames.ingestWelcome,
            GoldenFrames.fanoutEvent, GoldenFrames.fanoutHeartbeat, GoldenFrames.queryReplay, GoldenFrames.queryReplayTime,
            GoldenFrames.queryCredit, GoldenFrames.queryChunk, GoldenFrames.queryEnd, GoldenFrames.queryHeadReply,
            GoldenFrames.snapshotState,
        ]
        var decoded = 0
        for iteration in 0..<20_000 {
            var message = messages[iteration % messages.count]
            for index in message.indices {
                switch message[index].count {
                case 4: message[index] = bigEndian(value(), 4)
                case 8: message[index] = bigEndian(value(), 8)
                case 16: message[index] = bigEndian(value(), 8) + bigEndian(value(), 8)
                case 17 where message[index].first == UInt8(ascii: "S") || message[index].first == UInt8(ascii: "T"):
                    message[index] = [message[index][0]] + bigEndian(value(), 8) + bigEndian(value(), 8)
                default: continue
                }
            }
            func look(_ body: () throws -> (any Sendable)?) {
                check {
                    guard let result = try body() else { return }
                    decoded += 1
                    _ = String(describing: result)
                }
            }
            look { try IngestRequest.decode(message) }
            look { try IngestReply.decode(message) }
            look { try FanoutMessage.decode(message) }
            look {
                let request = try QueryRequest.decode(message)
                _ = request.encode()
                return request
            }
            look { try QueryReply.decode(message) }
            look { try SnapshotReply.decode(message) }
        }
        #expect(decoded > 0)
    }

    /// Any 64-bit instant can be described, written and moved by seconds without trapping.
    @Test func anyInstantCanBeWrittenAndMoved() {
        var rng = SplitMix64(seed: 6)
        for _ in 0..<100_000 {
            let instant = Timestamp(microsecondsSinceEpoch: Int64(bitPattern: UInt64.random(in: 0 ... .max, using: &rng)))
            _ = instant.description
            _ = instant.rfc3339
            _ = instant.utcDate
            _ = instant.adding(seconds: Int64(bitPattern: UInt64.random(in: 0 ... .max, using: &rng)))
        }
    }
}
