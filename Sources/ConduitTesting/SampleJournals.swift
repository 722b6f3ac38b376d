import ConduitCore
import ConduitJournal
import ConduitReplay
import Foundation

/// A journal of `count` events (60 unless told): progress of power at Ganjiaba and water outages at Ruijing Biyuan,
/// alternating, recorded one second apart from 2023-06-01T00:00:00Z.
public func makeJournal(in directory: TemporaryDirectory, count: UInt64 = 60) throws -> String {
    let path = directory.appending("journal")
    let (journal, _) = try Journal.open(directory: path)
    var records: [JournalRecord] = []
    let start = Timestamp(secondsSinceEpoch: 1_685_577_600)
    for sequence in UInt64(1)...count {
        if records.count == 10_000 {
            try journal.append(records)
            records.removeAll(keepingCapacity: true)
        }
        let bytes = sequence % 2 == 1 ? SampleEvents.progress(id: "p\(sequence)") : SampleEvents.outage(id: "o\(sequence)")
        var event = try EventCodec.decode(bytes)
        let recorded = start.microsecondsSinceEpoch + Int64(sequence) * 1_000_000
        event.sequence = sequence
        event.recordedTime = Timestamp(microsecondsSinceEpoch: recorded)
        records.append(JournalRecord(sequence: sequence, recordedTime: recorded, topic: event.topic, event: EventCodec.encode(event)))
    }
    try journal.append(records)
    try journal.close()
    return path
}

/// The journal of `makeJournal(in:)` (one segment, sequences 1…60) with its last record cut short, as a crash in
/// mid-write leaves it: where the intact records end, and how many bytes of the torn record remain.
public func makeTornJournal(in directory: TemporaryDirectory, keeping kept: UInt64 = 100) throws -> (path: String, tail: JournalTail) {
    let path = try makeJournal(in: directory)
    guard let segment = try JournalInspector.statistics(directory: path).segments.last else {
        throw TestClientError("the journal in \(path) has no segment")
    }
    let reader = try JournalReader.open(directory: path, from: 60)
    var lastLength: UInt64 = 0
    try reader.read(maxRecords: 1) { lastLength = UInt64($0.frameLength) }
    reader.close()
    let end = segment.bytes - lastLength
    guard let handle = FileHandle(forWritingAtPath: segment.path) else { throw TestClientError("cannot open \(segment.path)") }
    try handle.truncate(atOffset: end + kept)
    try handle.close()
    let tail = JournalTail(
        path: segment.path, offset: end, bytes: kept, nextSequence: 60, reason: "incomplete record (\(kept) of its bytes present)")
    return (path, tail)
}

/// Every file of a journal directory and its bytes, to show that reading changed nothing.
public func journalFiles(_ path: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: path) {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
    }
    return files
}

/// Replays the journal in `path` offline, times in Asia/Shanghai: the text written and the summary.
public func replay(_ path: String, _ selection: ReplaySelection, format: ReplayFormat = .jsonl) throws -> (String, ReplaySummary) {
    var output: [UInt8] = []
    let summary = try OfflineReplay(directory: path).run(
        selection, writer: ReplayWriter(format: format, timeZone: TimeZone(identifier: "Asia/Shanghai")!),
        emit: { output += $0 })
    return (String(decoding: output, as: UTF8.self), summary)
}
