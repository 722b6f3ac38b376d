import ConduitCore
import ConduitJournal
import Glibc
import Synchronization

/// One event waiting in the outbox: its canonical JSON and the number the outbox gave it.
public struct OutboxEntry: Sendable, Hashable {
    /// Increasing from 1 over the life of the outbox (it survives compaction).
    public var number: UInt64
    /// The event's `source` and `id`, for reports.
    public var source: String
    public var id: String
    /// The event in canonical JSON, exactly as it is sent (and resent).
    public var event: [UInt8]
}

/// How an entry left the outbox.
public enum OutboxOutcome: UInt8, Sendable {
    /// The broker acknowledged it: it is durable in the journal.
    case acknowledged = 1
    /// The broker rejected it: final, never resent.
    case rejected = 2
}

/// An error of the outbox's file: what failed, on which path, with errno's text.
public struct OutboxError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "outbox \(path): \(message)" }

    init(_ path: String, _ operation: String, errno code: Int32 = errno) {
        self.path = path
        self.message = "\(operation) failed: \(String(cString: strerror(code)))"
    }

    init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// The agent's outbox: events are on disk before ``enqueue(_:cursor:)`` returns, and stay there until the broker
/// acknowledged or rejected them, across restarts of the agent or the broker.
///
/// The file `outbox.log` in the outbox directory is a sequence of records, each `length` (u32, big-endian),
/// `CRC-32C` of the payload (u32) and the payload: `E` + entry number (u64) + event JSON for an event; `D` + entry
/// number + outcome (1 byte) for an entry done; `C` + cursor (u64) for the caller's position (a simulator's next
/// step), written in the same write as the events it covers. An enqueue is one `write` and one `fdatasync`; a done
/// record is written without syncing (losing it only means a resend, which the broker deduplicates). Opening reads
/// the file back and truncates a torn tail; when everything is done the file is compacted by writing a fresh one and
/// renaming it over the old.
public final class Outbox: Sendable {
    public let directory: String
    private let path: String
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var descriptor: Int32
        var pending: [UInt64: OutboxEntry] = [:]
        /// When each pending entry was stored, as this process knows it: entries read back at open count from then.
        var storedAt: [UInt64: ContinuousClock.Instant] = [:]
        var order: [UInt64] = []
        var nextNumber: UInt64 = 1
        var cursor: UInt64?
        var fileSize: Int = 0
        var doneSinceCompaction = 0
        var tornBytes = 0

        /// Holds the outbox's lock while it is open.
        var lockDescriptor: Int32 = -1

        deinit {
            if descriptor >= 0 { Glibc.close(descriptor) }
            if lockDescriptor >= 0 { Glibc.close(lockDescriptor) }
        }
    }

    /// Opens (or creates) the outbox in `directory`, reading back what is pending.
    public init(directory: String) throws(OutboxError) {
        self.directory = directory
        path = directory + "/outbox.log"
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw OutboxError(directory, "mkdir") }
        // One process at a time: two writers appending to one file would interleave their records. The lock is on
        // a file of its own that is never replaced (compaction renames a new log over the old one, and a lock on
        // the log itself would not cover a process that opened the old one), and it is held until close().
        let lockPath = directory + "/outbox.lock"
        let lockDescriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockDescriptor >= 0 else { throw OutboxError(lockPath, "open") }
        guard flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(lockDescriptor)
            throw OutboxError(path: path, message: "in use by another process (an agent or `conduit publish` with the same outbox is running)")
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            Glibc.close(lockDescriptor)
            throw OutboxError(path, "open")
        }
        var state = State(descriptor: descriptor)
        state.lockDescriptor = lockDescriptor
        try Self.load(&state, path: path)
        let opened = ContinuousClock.now
        for number in state.pending.keys { state.storedAt[number] = opened }
        self.state = Mutex(state)
    }

    /// Closes the file (and releases it for another process). Later writes fail; safe to call more than once.
    public func close() {
        state.withLock { state in
            if state.descriptor >= 0 { Glibc.close(state.descriptor) }
            state.descriptor = -1
            if state.lockDescriptor >= 0 { Glibc.close(state.lockDescriptor) }
            state.lockDescriptor = -1
        }
    }

    /// Entries not yet acknowledged or rejected, oldest first.
    public var pending: [OutboxEntry] {
        state.withLock { state in state.order.compactMap { state.pending[$0] } }
    }

    /// How many entries are pending.
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// How long the oldest pending entry has waited (since it was stored, or since the outbox was opened for an
    /// entry an earlier process stored); `nil` when nothing is pending.
    public func oldestPendingAge(now: ContinuousClock.Instant = .now) -> Duration? {
        state.withLock { state in
            guard let number = state.order.first(where: { state.pending[$0] != nil }) else { return nil }
            return state.storedAt[number].map { now - $0 } ?? .zero
        }
    }

    /// The cursor last stored with ``enqueue(_:cursor:)``, if any.
    public var cursor: UInt64? { state.withLock { $0.cursor } }

    /// Bytes of a torn record dropped from the end of the file when it was opened (0 if none).
    public var tornTailBytes: Int { state.withLock { $0.tornBytes } }

    /// Stores events (canonical JSON each) and, with them, the caller's cursor; returns the entries once they are
    /// on disk (written and `fdatasync`ed). Nothing is stored if the write fails.
    @discardableResult
    public func enqueue(_ events: [(source: String, id: String, json: [UInt8])], cursor: UInt64? = nil) throws(OutboxError) -> [OutboxEntry] {
        try state.withLock { (state) throws(OutboxError) -> [OutboxEntry] in
            guard state.descriptor >= 0 else { throw OutboxError(path: path, message: "closed") }
            var bytes: [UInt8] = []
            var entries: [OutboxEntry] = []
            var number = state.nextNumber
            for event in events {
                var payload: [UInt8] = [UInt8(ascii: "E")]
                Self.append(number, to: &payload)
                payload += event.json
                Self.frame(payload, into: &bytes)
                entries.append(OutboxEntry(number: number, source: event.source, id: event.id, event: event.json))
                number += 1
            }
            if let cursor {
                var payload: [UInt8] = [UInt8(ascii: "C")]
                Self.append(cursor, to: &payload)
                Self.frame(payload, into: &bytes)
            }
            guard !bytes.isEmpty else { return [] }
            try Self.write(bytes, at: state.fileSize, descriptor: state.descriptor, path: path)
            guard fdatasync(state.descriptor) == 0 else {
                let code = errno
                // Not durable: forget the bytes so that a later write does not build on them.
                _ = ftruncate(state.descriptor, off_t(state.fileSize))
                throw OutboxError(path, "fdatasync", errno: code)
            }
            state.fileSize += bytes.count
            state.nextNumber = number
            if let cursor { state.cursor = cursor }
            let now = ContinuousClock.now
            for entry in entries {
                state.pending[entry.number] = entry
                state.storedAt[entry.number] = now
                state.order.append(entry.number)
            }
            return entries
        }
    }

    /// Records that an entry is done (acknowledged or rejected). Unknown or already done entries are ignored.
    public func markDone(_ number: UInt64, _ outcome: OutboxOutcome) throws(OutboxError) {
        try state.withLock { (state) throws(OutboxError) in
            guard state.descriptor >= 0 else { throw OutboxError(path: path, message: "closed") }
            guard state.pending.removeValue(forKey: number) != nil else { return }
            state.storedAt.removeValue(forKey: number)
            var payload: [UInt8] = [UInt8(ascii: "D")]
            Self.append(number, to: &payload)
            payload.append(outcome.rawValue)
            var bytes: [UInt8] = []
            Self.frame(payload, into: &bytes)
            try Self.write(bytes, at: state.fileSize, descriptor: state.descriptor, path: path)
            state.fileSize += bytes.count
            state.doneSinceCompaction += 1
            if state.pending.isEmpty {
                state.order.removeAll(keepingCapacity: true)
                if state.fileSize > 1 << 20 { try compact(&state) }
            } else {
                if state.order.count > 4096 && state.order.count > 2 * state.pending.count {
                    state.order.removeAll { state.pending[$0] == nil }
                }
                // Under steady traffic something is always pending: compact once the file is mostly done records
                // and events, so that it does not grow without bound.
                if state.fileSize > 8 << 20 && state.doneSinceCompaction > 4 * state.pending.count { try compact(&state) }
            }
        }
    }

    /// Rewrites the file with only what is pending (and the cursor), durably, then renames it over the old one.
    private func compact(_ state: inout State) throws(OutboxError) {
        var bytes: [UInt8] = []
        for number in state.order {
            guard let entry = state.pending[number] else { continue }
            var payload: [UInt8] = [UInt8(ascii: "E")]
            Self.append(number, to: &payload)
            payload += entry.event
            Self.frame(payload, into: &bytes)
        }
        // The next number must survive compaction: a done record for the last number keeps it.
        var last: [UInt8] = [UInt8(ascii: "D")]
        Self.append(state.nextNumber - 1, to: &last)
        last.append(OutboxOutcome.acknowledged.rawValue)
        Self.frame(last, into: &bytes)
        if let cursor = state.cursor {
            var payload: [UInt8] = [UInt8(ascii: "C")]
            Self.append(cursor, to: &payload)
            Self.frame(payload, into: &bytes)
        }
        let temporary = path + ".compact"
        let descriptor = open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw OutboxError(temporary, "open") }
        do throws(OutboxError) {
            try Self.write(bytes, at: 0, descriptor: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw OutboxError(temporary, "fsync") }
            guard rename(temporary, path) == 0 else { throw OutboxError(path, "rename") }
        } catch {
            Glibc.close(descriptor)
            unlink(temporary)
            throw error
        }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            Glibc.close(directoryDescriptor)
        }
        Glibc.close(state.descriptor)
        state.descriptor = descriptor
        state.fileSize = bytes.count
        state.doneSinceCompaction = 0
    }

    // MARK: - Records

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func readUInt64(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func readUInt32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func frame(_ payload: [UInt8], into bytes: inout [UInt8]) {
        let length = UInt32(payload.count)
        let checksum = CRC32C.checksum(payload)
        for shift in [24, 16, 8, 0] { bytes.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
        for shift in [24, 16, 8, 0] { bytes.append(UInt8(truncatingIfNeeded: checksum >> UInt32(shift))) }
        bytes += payload
    }

    private static func write(_ bytes: [UInt8], at offset: Int, descriptor: Int32, path: String) throws(OutboxError) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                pwrite(descriptor, buffer.baseAddress! + written, buffer.count - written, off_t(offset + written))
            }
            if count < 0 {
                if errno == EINTR { continue }
                let code = errno
                _ = ftruncate(descriptor, off_t(offset))
                throw OutboxError(path, "write", errno: code)
            }
            written += count
        }
    }

    /// Reads the file back: every intact record in order, up to the first torn or damaged one, which ends the file.
    private static func load(_ state: inout State, path: String) throws(OutboxError) {
        var stats = stat()
        guard fstat(state.descriptor, &stats) == 0 else { throw OutboxError(path, "fstat") }
        var bytes = [UInt8](repeating: 0, count: Int(stats.st_size))
        var read = 0
        while read < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(state.descriptor, buffer.baseAddress! + read, buffer.count - read, off_t(read))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw OutboxError(path, "read")
            }
            if count == 0 { break }
            read += count
        }
        var offset = 0
        var highest: UInt64 = 0
        while offset + 8 <= bytes.count {
            let length = Int(readUInt32(bytes[offset...]))
            let checksum = readUInt32(bytes[(offset + 4)...])
            let start = offset + 8
            guard length >= 9, start + length <= bytes.count else { break }
            let payload = bytes[start..<(start + length)]
            guard CRC32C.checksum(payload) == checksum else { break }
            let number = readUInt64(payload.dropFirst())
            switch payload.first {
            case UInt8(ascii: "E"):
                let json = Array(payload.dropFirst(9))
                let (source, id) = Self.identity(of: json)
                state.pending[number] = OutboxEntry(number: number, source: source, id: id, event: json)
                state.order.append(number)
                highest = max(highest, number)
            case UInt8(ascii: "D"):
                state.pending[number] = nil
                highest = max(highest, number)
            case UInt8(ascii: "C"):
                state.cursor = number
            default:
                throw OutboxError(path: path, message: "unknown record type at offset \(offset); is this an outbox?")
            }
            offset = start + length
        }
        if offset < bytes.count {
            state.tornBytes = bytes.count - offset
            guard ftruncate(state.descriptor, off_t(offset)) == 0 else { throw OutboxError(path, "ftruncate") }
        }
        state.order.removeAll { state.pending[$0] == nil }
        state.fileSize = offset
        state.nextNumber = highest + 1
    }

    /// The `source` and `id` of an event in the outbox, for reports; the event was valid when it was stored.
    private static func identity(of json: [UInt8]) -> (String, String) {
        guard let event = try? EventCodec.decode(json) else { return ("?", "?") }
        return (event.source, event.id)
    }
}
