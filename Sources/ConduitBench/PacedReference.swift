import Foundation
import TransportReference

/// The paced phase's reference (`--paced-reference`): the same paced workload (agents, subscribers, rate, seconds,
/// event size) against a broker loop in C (`PacedReference.c`) that does the least Conduit's broker does for the same
/// promise — every request waiting taken in one turn, written with one `pwrite` and one `fdatasync`, then published
/// and acknowledged — without decoding, validating, deduplicating or indexing anything. Its latencies are what this
/// machine gives such a loop, so that the broker's paced latencies can be read against them.
enum PacedReference {
    struct Outcome {
        var ack = LatencySamples()
        var delivery = LatencySamples()
        /// The CPU time of broker loop and generator together (this process) per acknowledged event, in µs.
        var cpuPerEvent: Double = .nan
    }

    static func run(parent: String?, agents: Int, subscribers: Int, rate: Int, seconds: Int, payloadSize: Int) throws -> Outcome {
        let directory = scratchPath(in: parent, "conduit-bench-paced-reference-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let perAgent = Int(transport_reference_paced_per_agent(Int32(agents), Int32(rate), Int32(seconds)))
        var ack = [Int64](repeating: 0, count: agents * perAgent)
        var delivery = [Int64](repeating: 0, count: subscribers * agents * perAgent)
        var ackCount = 0
        var deliveryCount = 0
        let cpuBefore = JetStreamPeer.cpuSeconds(of: getpid())
        let status = ack.withUnsafeMutableBufferPointer { ackBuffer in
            delivery.withUnsafeMutableBufferPointer { deliveryBuffer in
                transport_reference_paced(
                    Int32(agents), Int32(subscribers), Int32(rate), Int32(seconds), Int32(payloadSize),
                    directory + "/journal", ackBuffer.baseAddress, &ackCount, deliveryBuffer.baseAddress, &deliveryCount)
            }
        }
        let cpu = JetStreamPeer.cpuSeconds(of: getpid()) - cpuBefore
        switch status {
        case 0: break
        case TRANSPORT_REFERENCE_STALLED:
            throw BenchError.failed("the paced reference stalled: nothing moved for \(TRANSPORT_REFERENCE_STALL_MS / 1000) s")
        default:
            throw BenchError.failed("the paced reference failed (a libzmq call or the write to \(directory)/journal)")
        }
        guard ackCount == agents * perAgent, deliveryCount == subscribers * agents * perAgent else {
            throw BenchError.failed(
                "the paced reference acknowledged \(ackCount) of \(agents * perAgent) events and delivered \(deliveryCount) of \(subscribers * agents * perAgent)")
        }
        var outcome = Outcome()
        for value in ack.prefix(ackCount) { outcome.ack.append(value) }
        for value in delivery.prefix(deliveryCount) { outcome.delivery.append(value) }
        outcome.cpuPerEvent = cpu * 1e6 / Double(ackCount)
        return outcome
    }
}
