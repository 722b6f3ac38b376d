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
