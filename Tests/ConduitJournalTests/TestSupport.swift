import ConduitJournal

/// Reads every record a reader yields until it reports the end.
func readAll(_ reader: JournalReader) throws -> [JournalRecord] {
    var records: [JournalRecord] = []
    while let record = try reader.next() { records.append(record) }
    return records
}
