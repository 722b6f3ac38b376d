import ConduitCore
import ConduitJournal

/// What a journal holds, decoded: for tests that check what a run stored.
public enum JournalContents {
    /// Every event in the journal in `directory`, in sequence order.
    public static func events(in directory: String) throws -> [Event] {
        let reader = try JournalReader.open(directory: directory, from: 1)
        defer { reader.close() }
        var events: [Event] = []
        while let record = try reader.next() { events.append(try EventCodec.decode(record.event)) }
        return events
    }

    /// The events of the journal in `directory` that clients sent, in sequence order: all but the plans the broker
    /// stated itself (source `/conduit/broker`).
    public static func clientEvents(in directory: String) throws -> [Event] {
        try events(in: directory).filter { $0.source != "/\(EventValidator.systemOrganisation)/broker" }
    }
}

/// The records in a journal directory, read offline.
public func journalRecords(_ directory: String) throws -> [JournalRecord] {
    let reader = try JournalReader.open(directory: directory, from: 1)
    defer { reader.close() }
    var records: [JournalRecord] = []
    while let record = try reader.next() { records.append(record) }
    return records
}
