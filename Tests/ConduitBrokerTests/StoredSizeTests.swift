import ConduitBroker
import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// One size limit holds for every event frame: an event whose stored form (canonical, stamped) would exceed
/// 65,536 bytes is rejected, not acknowledged and then unreadable by every consumer.
@Suite(.timeLimit(.minutes(5)))
struct StoredSizeTests {
    /// The sample progress event with an extension string that makes its canonical, unstamped form `size` bytes.
    static func padded(id: String, canonicalSize size: Int) throws -> [UInt8] {
        let json = { (pad: Int) in
            SampleEvents.progressJSON(id: id).replacingOccurrences(
                of: "\"specversion\"", with: "\"pad\":\"\(String(repeating: "a", count: pad))\",\"specversion\"")
        }
        let base = EventCodec.encode(try EventCodec.decode(Array(json(0).utf8))).count
        let bytes = EventCodec.encode(try EventCodec.decode(Array(json(size - base).utf8)))
        #expect(bytes.count == size)
        return bytes
    }

    @Test func anEventTooLargeOnceStampedIsRejectedAndConsumesNoSequence() throws {
        let broker = try TestBroker()
        let context = try Context()
        let subscriber = try TestSubscriber(context: context, endpoint: broker.endpoints.fanout, prefixes: ["progress/"])
        try subscriber.awaitReady()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)

        // Within the limit as sent; the stamp (sequence and recorded time, ~58 bytes) takes it over.
        let tooLarge = try Self.padded(id: "big", canonicalSize: 65_524)
        let refused = try #require(rejection(try agent.publishAndWait(tooLarge, correlation: 1)))
        #expect(refused.error.code == .eventOversize)
        #expect(refused.error.path == "$")
        #expect(refused.error.reason.contains("stamped"))

        // Small enough to stay within it once stamped: stored at the first free sequence, and readable on the fan-out.
        let fits = try Self.padded(id: "fits", canonicalSize: 65_470)
        let stored = try #require(acknowledgement(try agent.publishAndWait(fits, correlation: 2)))
        #expect(stored.sequence == TestBroker.firstEventSequence, "the refused event took no sequence")
        let record = try #require(try subscriber.nextEvent())
        #expect(record.header.sequence == TestBroker.firstEventSequence)
        #expect(record.event.count <= EventCodec.maximumEventBytes)
        #expect(try EventCodec.decode(record.event).id == "fits")
    }
}
