import ConduitTesting
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
        /// The CPU time of this process per acknowledged event, in µs: the loop and the agents and subscribers, or
        /// the agents and subscribers alone against a broker.
        var cpuPerEvent: Double = .nan
    }

    /// The reference loop, its file in a temporary directory under `parent`.
    static func run(parent: String?, agents: Int, subscribers: Int, rate: Int, seconds: Int, payloadSize: Int) throws -> Outcome {
        let directory = scratchPath(in: parent, "conduit-bench-paced-reference-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try (directory + "/journal").withCString { journal in
            var workload = transport_reference_paced_workload()
            (workload.agents, workload.subscribers, workload.rate, workload.seconds) = (Int32(agents), Int32(subscribers), Int32(rate), Int32(seconds))
            workload.payload_size = Int32(payloadSize)
            workload.journal_path = journal
            return try run(workload, what: "the paced reference (its file in \(directory))")
        }
    }

    /// The reference's agents and subscribers against a Conduit broker: the bench's events, one `BATCH` each.
    static func run(broker: BrokerProcess, agents: Int, subscribers: Int, rate: Int, seconds: Int) throws -> Outcome {
        let templates = (0..<agents).map { BrokerBenchRun.eventTemplate(agent: $0) }
        let prefixes = templates.map { strdup(String(decoding: $0.prefix, as: UTF8.self)) }
        let suffixes = templates.map { strdup(String(decoding: $0.suffix, as: UTF8.self)) }
        defer { (prefixes + suffixes).forEach { free($0) } }
        let prefixPointers = prefixes.map { UnsafePointer($0) }
        let suffixPointers = suffixes.map { UnsafePointer($0) }
        return try broker.ingest.withCString { ingest in
            try broker.fanout.withCString { fanout in
                try prefixPointers.withUnsafeBufferPointer { prefixBuffer in
                    try suffixPointers.withUnsafeBufferPointer { suffixBuffer in
                        var workload = transport_reference_paced_workload()
                        (workload.agents, workload.subscribers, workload.rate, workload.seconds) =
                            (Int32(agents), Int32(subscribers), Int32(rate), Int32(seconds))
                        workload.payload_size = 4096
                        workload.ingest = ingest
                        workload.fanout = fanout
                        workload.event_prefixes = prefixBuffer.baseAddress
                        workload.event_suffixes = suffixBuffer.baseAddress
                        return try run(workload, what: "the reference's agents against the broker")
                    }
                }
            }
        }
    }

    private static func run(_ workload: transport_reference_paced_workload, what: String) throws -> Outcome {
        var workload = workload
        let events = Int(workload.agents) * Int(transport_reference_paced_per_agent(workload.agents, workload.rate, workload.seconds))
        let deliveries = Int(workload.subscribers) * events
        var ack = [Int64](repeating: 0, count: events)
        var ackSent = [Int64](repeating: 0, count: events)
        var delivery = [Int64](repeating: 0, count: deliveries)
        var ackCount = 0
        var deliveryCount = 0
        let cpuBefore = JetStreamPeer.cpuSeconds(of: getpid())
        let status = ack.withUnsafeMutableBufferPointer { ackBuffer in
            ackSent.withUnsafeMutableBufferPointer { sentBuffer in
                delivery.withUnsafeMutableBufferPointer { deliveryBuffer in
                    transport_reference_paced(
                        &workload, ackBuffer.baseAddress, sentBuffer.baseAddress, &ackCount, deliveryBuffer.baseAddress, &deliveryCount)
                }
            }
        }
        let cpu = JetStreamPeer.cpuSeconds(of: getpid()) - cpuBefore
        switch status {
        case 0: break
        case TRANSPORT_REFERENCE_STALLED:
            throw BenchError.failed("\(what) stalled: nothing moved for \(TRANSPORT_REFERENCE_STALL_MS / 1000) s")
        default:
            throw BenchError.failed("\(what) failed: a libzmq call, a reply other than ACKS, or the write to its file")
        }
        // Every event acknowledged; against a Conduit broker a subscriber may miss events (dropped at its high-water
        // mark), so its deliveries are those that came, as with the load generator's subscribers.
        guard ackCount == events, deliveryCount == deliveries || workload.ingest != nil else {
            throw BenchError.failed("\(what) acknowledged \(ackCount) of \(events) events and delivered \(deliveryCount) of \(deliveries)")
        }
        var outcome = Outcome()
        for index in 0..<ackCount { outcome.ack.append(ack[index], sentAt: ackSent[index]) }
        for value in delivery.prefix(deliveryCount) { outcome.delivery.append(value) }
        outcome.cpuPerEvent = cpu * 1e6 / Double(ackCount)
        return outcome
    }
}
