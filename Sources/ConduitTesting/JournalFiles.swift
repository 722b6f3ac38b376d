import ConduitJournal
import Foundation

extension TemporaryDirectory {
    /// The segment files of the journal in this directory, oldest first.
    public func segmentPaths() -> [String] { TemporaryDirectory.segmentPaths(in: path) }

    /// The segment files of the journal in `directory`, oldest first.
    public static func segmentPaths(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".journal") }.sorted().map { directory + "/" + $0 }
    }
}

/// Options with small segments and a dense index, so that tests cross segment boundaries.
public func smallOptions(segmentSize: Int = 8192) -> JournalOptions {
    var options = JournalOptions()
    options.segmentSize = segmentSize
    options.indexInterval = 512
    return options
}

/// Flips one bit of a file.
public func flipBit(path: String, offset: UInt64, bit: UInt8 = 0) throws {
    guard let handle = FileHandle(forUpdatingAtPath: path) else { throw TestClientError("cannot open \(path) to flip a bit") }
    defer { try? handle.close() }
    try handle.seek(toOffset: offset)
    guard let byte = try handle.read(upToCount: 1)?.first else { throw TestClientError("\(path) has no byte at \(offset)") }
    try handle.seek(toOffset: offset)
    try handle.write(contentsOf: [byte ^ (1 << bit)])
}

/// The size of a file in bytes; 0 if it cannot be read.
public func fileSize(_ path: String) -> UInt64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
}

/// Cuts a file to `size` bytes.
public func truncateFile(_ path: String, to size: UInt64) throws {
    guard let handle = FileHandle(forWritingAtPath: path) else { throw TestClientError("cannot open \(path) to truncate it") }
    defer { try? handle.close() }
    try handle.truncate(atOffset: size)
}

/// Appends `records` in batches of `size` (a batch never spans segments, so small batches fill several).
public func appendInBatches(_ journal: Journal, _ records: [JournalRecord], size: Int = 20) throws {
    for start in stride(from: 0, to: records.count, by: size) {
        try journal.append(records[start..<min(start + size, records.count)])
    }
}
