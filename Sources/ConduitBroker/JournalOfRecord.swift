import ConduitJournal

/// Where a broker's events are kept for good when its local journal is only a copy: a replicated store (a JetStream
/// stream, see `conduit broker --hub`) that the broker writes each batch to before its local journal, and before any
/// acknowledgement.
///
/// ``store(_:)`` is called on the broker's thread with a batch's records, in sequence order and following the
/// store's last one; it returns once the store holds all of them (replicated, as the store promises), and throws
/// otherwise. A broker whose batch the store refused stops (``BrokerError/Code-swift.struct/journalOfRecordFailed``):
/// part of the batch may be stored, and another writer may have taken over, so its local journal and dedupe window
/// must be brought up to date from the store before it takes events again.
public protocol JournalOfRecord: Sendable {
    func store(_ records: [JournalRecord]) throws
}

extension BrokerError.Code {
    /// The journal of record did not store a batch: the broker stopped, and acknowledged nothing of the batch.
    public static let journalOfRecordFailed = BrokerError.Code(rawValue: "journal.record_failed")
}

/// Where a mirror's events come from (`conduit broker --mirror`): a broker with a feed takes no events from agents;
/// it appends what the feed gives to its journal, in sequence order, and publishes them on its fan-out and serves
/// them to queries as any broker does.
///
/// ``take(maximum:)`` is called on the broker's thread, often (every 20 ms while idle): it returns at once with the
/// records that arrived since, each the one after the journal's last, or none.
public protocol RecordFeed: Sendable {
    /// Up to `maximum` records that follow the journal's last one, in sequence order.
    func take(maximum: Int) -> [JournalRecord]
    /// Why the feed stopped for good, if it did (the broker then stops too).
    var failure: String? { get }
    /// What agents are told when they try to publish here.
    var readOnlyReason: String { get }
}
