import Foundation
import Testing

@testable import ConduitJournal

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "journal") {
        path = NSTemporaryDirectory() + "conduit-\(label)-\(getpid())-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func segmentPaths() -> [String] { TemporaryDirectory.segmentPaths(in: path) }

    /// The segment files of the journal in `directory`, oldest first.
    static func segmentPaths(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".journal") }.sorted().map { directory + "/" + $0 }
    }
}

/// The records `conduit journal append-test` writes (a copy of the CLI's `TestPattern`).
enum TestPattern {
    static func time(_ sequence: UInt64) -> Int64 { 1_700_000_000_000_000 + Int64(sequence) * 1000 }
    static func topic(_ sequence: UInt64) -> [UInt8] { Array("test/\(sequence % 7)".utf8) }
    static func event(_ sequence: UInt64) -> [UInt8] {
        let length = 50 + Int(sequence % 300)
        return (0..<length).map { UInt8(truncatingIfNeeded: sequence &+ UInt64($0)) }
    }
    static func record(_ sequence: UInt64) -> JournalRecord {
        JournalRecord(sequence: sequence, recordedTime: time(sequence), topic: topic(sequence), event: event(sequence))
    }
    static func records(_ range: ClosedRange<UInt64>) -> [JournalRecord] { range.map(record) }
}

/// Options with small segments and a dense index, so that tests cross segment boundaries.
func smallOptions(segmentSize: Int = 8192) -> JournalOptions {
    var options = JournalOptions()
    options.segmentSize = segmentSize
    options.indexInterval = 512
    return options
}

/// Reads every record a reader yields until it reports the end.
func readAll(_ reader: JournalReader) throws -> [JournalRecord] {
    var records: [JournalRecord] = []
    while let record = try reader.next() { records.append(record) }
    return records
}

/// Flips one bit of a file.
func flipBit(path: String, offset: UInt64, bit: UInt8 = 0) throws {
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: offset)
    let byte = try #require(try handle.read(upToCount: 1)).first!
    try handle.seek(toOffset: offset)
    try handle.write(contentsOf: [byte ^ (1 << bit)])
}

func fileSize(_ path: String) -> UInt64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
}

func truncateFile(_ path: String, to size: UInt64) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    defer { try? handle.close() }
    try handle.truncate(atOffset: size)
}

/// Appends `records` in batches of `size` (a batch never spans segments, so small batches fill several).
func appendInBatches(_ journal: Journal, _ records: [JournalRecord], size: Int = 20) throws {
    for start in stride(from: 0, to: records.count, by: size) {
        try journal.append(records[start..<min(start + size, records.count)])
    }
}
