import ConduitBroker
import ConduitCore
import ConduitJournal
import NATS

/// A hub's JetStream stream as its broker's journal of record (`conduit broker --hub`): each batch is published
/// as the stream's next messages, in the format of `conduit bridge nats` (subject `<prefix>.<kind>.<utility>.<site>`,
/// message id `<hub>:<sequence>`, `Nats-Expected-Last-Sequence` the event before), and the broker acknowledges
/// nothing of the batch until JetStream has stored all of it (on a replicated stream, on a majority of its
/// replicas).
///
/// A batch is stored only as the stream's next messages: a stream that moved on (another broker wrote to it) refuses
/// the first message, and the rest after it. A message JetStream answers as a duplicate is refused here too: its id
/// is already in the stream, perhaps for another event that another broker stored under the same sequence.
///
/// Used on the broker's thread only.
public final class StreamJournal: JournalOfRecord, @unchecked Sendable {
    public let hub: String
    public let stream: String
    public let subjectPrefix: String
    let publisher: PipelinedPublisher
    let timeoutMilliseconds: Int64

    /// Why the stream did not take a batch as its next messages.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    public init(connection: NATSConnection, hub: String, stream: String, subjectPrefix: String, timeout: Duration) throws(NATSError) {
        self.hub = hub
        self.stream = stream
        self.subjectPrefix = subjectPrefix
        self.timeoutMilliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        publisher = try PipelinedPublisher(connection: connection)
    }

    public func store(_ records: [JournalRecord]) throws {
        let messages = records.map { record in
            OutgoingMessage(
                subject: JetStreamBridge.subject(prefix: subjectPrefix, topic: record.topic), payload: record.event,
                headers: JetStreamBridge.headers(
                    hub: hub, sequence: record.sequence, recordedTime: Timestamp(microsecondsSinceEpoch: record.recordedTime)))
        }
        let acknowledgements = try publisher.publish(messages, timeoutMilliseconds: timeoutMilliseconds)
        for (record, acknowledgement) in zip(records, acknowledgements)
        where acknowledgement.duplicate || acknowledgement.sequence != record.sequence || acknowledgement.stream != stream {
            throw Refusal(
                description:
                    "stream \(stream) answered event \(record.sequence) as \(acknowledgement.duplicate ? "a duplicate of " : "")its message \(acknowledgement.sequence) of stream \(acknowledgement.stream)"
            )
        }
    }
}

/// Which of a hub's brokers is active: a key of a JetStream key-value bucket (`conduit-lease-<hub>`, key `active`)
/// holding the active broker's name, written only by compare-and-set on its revision.
///
/// The active broker renews it (a new revision) every quarter of the lease time. A standby reads it as often; when
/// it has seen the same revision for a whole lease time (by its own monotonic clock: no clocks are compared), or
/// finds it released or missing, it takes it by compare-and-set, which only one standby can win. An active broker
/// that could not renew for three quarters of the lease time stops taking events.
///
/// The lease only decides who should write; what keeps two writers from both storing events is the stream's
/// expected-last-sequence check (see ``StreamJournal``).
public final class BrokerLease {
    public let name: String
    public let leaseMicroseconds: Int64
    let bucket: KeyValueBucket
    static let key = "active"
    /// The revision this broker wrote last while it holds the lease.
    public private(set) var revision: UInt64?
    /// The revision seen last while standing by, and when it was first seen (monotonic microseconds).
    private var observed: (revision: UInt64, since: Int64)?
    /// Who held the lease when it was read last ("" for nobody).
    public private(set) var holder = ""

    public init(_ jetStream: JetStream, hub: String, name: String, replicas: Int, lease: Duration) throws(NATSError) {
        self.name = name
        leaseMicroseconds = lease.components.seconds * 1_000_000 + lease.components.attoseconds / 1_000_000_000_000
        bucket = try KeyValueBucket(jetStream, name: "conduit-lease-" + JetStreamBridge.token(hub), replicas: replicas)
    }

    public static func bucketName(hub: String) -> String { "conduit-lease-" + JetStreamBridge.token(hub) }

    /// Whether this broker holds the lease now: taken if it was free, released, held by this broker's name (an
    /// earlier run of it), or not renewed for a lease time.
    public func tryAcquire(now: Int64) throws(NATSError) -> Bool {
        guard let entry = try bucket.get(Self.key) else {
            holder = ""
            revision = try bucket.create(Self.key, value: name)
            return revision != nil
        }
        holder = entry.value
        if entry.value.isEmpty || entry.value == name {
            revision = try bucket.update(Self.key, value: name, revision: entry.revision)
            return revision != nil
        }
        guard let seen = observed, seen.revision == entry.revision else {
            observed = (entry.revision, now)
            return false
        }
        guard now - seen.since >= leaseMicroseconds else { return false }
        revision = try bucket.update(Self.key, value: name, revision: entry.revision)
        if revision != nil { observed = nil }
        return revision != nil
    }

    /// Renews the lease; false when another broker took it.
    public func renew() throws(NATSError) -> Bool {
        guard let held = revision else { return false }
        revision = try bucket.update(Self.key, value: name, revision: held)
        if revision == nil { holder = (try? bucket.get(Self.key))??.value ?? "" }
        return revision != nil
    }

    /// Gives the lease up at once (a graceful stop), so a standby takes over without waiting a lease time.
    public func release() {
        guard let held = revision else { return }
        _ = try? bucket.update(Self.key, value: "", revision: held)
        revision = nil
    }

    /// Forgets the lease without writing (it was lost, or will lapse).
    public func forget() { revision = nil }
}
