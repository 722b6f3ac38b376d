#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// What opening a journal found and repaired.
public struct RecoveryReport: Sendable, CustomStringConvertible {
    /// A torn or corrupt tail of the last segment, cut off at the last good record.
    public struct TruncatedTail: Sendable, Hashable {
        /// The segment file.
        public var path: String
        /// Where the file now ends (the end of the last good record).
        public var offset: UInt64
        /// How many bytes were removed.
        public var bytes: UInt64
        /// The sequence the first removed record would have had (the next sequence to append).
        public var fromSequence: UInt64
        /// Why the bytes at `offset` were not a record.
        public var reason: String
    }

    /// How many segments the journal has.
    public var segmentCount = 0
    /// The oldest sequence in the journal.
    public var firstSequence: UInt64 = 0
    /// The newest sequence in the journal (`firstSequence - 1` if it is empty).
    public var lastSequence: UInt64 = 0
    /// The tail cut off the last segment, if any.
    public var truncatedTail: TruncatedTail?
    /// The last segment's header, rewritten from its file name because it was torn or damaged.
    public var repairedHeader: String?
    /// Index files rebuilt because they were missing or damaged.
    public var rebuiltIndexes: [String] = []
    /// Damage in sealed segments (or sequences missing between segments). Readers stop with an error there.
    public var problems: [JournalProblem] = []

    /// Whether the journal opened without any repair or problem.
    public var isClean: Bool { truncatedTail == nil && repairedHeader == nil && rebuiltIndexes.isEmpty && problems.isEmpty }

    /// One line per finding, starting with the segment count and sequence range.
    public var description: String {
        var lines = ["\(segmentCount) segment(s), sequences \(firstSequence)...\(lastSequence)"]
        if let tail = truncatedTail {
            lines.append(
                "truncated \(tail.bytes) byte(s) of \(tail.path) at byte \(tail.offset), from sequence \(tail.fromSequence): \(tail.reason)")
        }
        if let repairedHeader { lines.append("rewrote the damaged header of \(repairedHeader)") }
        for path in rebuiltIndexes { lines.append("rebuilt index \(path)") }
        for problem in problems { lines.append("problem: \(problem)") }
        return lines.joined(separator: "\n")
    }
}

/// The durable, append-only journal of a broker's events: segment files of checksummed records with a
/// sparse index by sequence and time, written in batches with group commit.
///
/// A `Journal` is the single writer of its directory (an exclusive `flock` on `journal.lock` enforces it)
/// and is used from one thread: it is not `Sendable`. Readers in the same process (``reader(from:)``,
/// ``readers``) see only durable records; readers in other processes use ``JournalReader/open(directory:from:)``.
public final class Journal {
    /// The journal's directory.
    public let directory: String
    /// The options it was opened with.
    public let options: JournalOptions
    let catalog: JournalCatalog

    private var lockDescriptor: Int32
    private var activeDescriptor: Int32
    private var activePath: String
    /// The segment being written, including records not yet durable.
    private var active: SegmentSummary
    private var publishedEntryCount = 0
    private var lastSyncNanoseconds: UInt64 = 0
    private var failure: JournalError?
    private var isClosed = false
    private let scratch = JournalBatch(capacity: 64 << 10)

    /// The sequence of the last record written (durable or not); `firstSequence - 1` when empty.
    public var lastSequence: UInt64 { active.lastSequence }
    /// The next sequence ``commit(_:)`` accepts.
    public var nextSequence: UInt64 { active.nextSequence }
    /// The sequence up to which every record is durable (and visible to readers).
    public private(set) var durableSequence: UInt64
    /// The oldest sequence still in the journal.
    public var firstSequence: UInt64 { catalog.oldestSequence }
    /// A `Sendable` handle that opens readers of this journal on any thread.
    public var readers: JournalReaders { JournalReaders(catalog: catalog) }

    private init(
        directory: String, options: JournalOptions, catalog: JournalCatalog, lockDescriptor: Int32,
        activeDescriptor: Int32, activePath: String, active: SegmentSummary
    ) {
        self.directory = directory
        self.options = options
        self.catalog = catalog
        self.lockDescriptor = lockDescriptor
        self.activeDescriptor = activeDescriptor
        self.activePath = activePath
        self.active = active
        self.publishedEntryCount = active.entries.count
        self.durableSequence = active.lastSequence
        self.lastSyncNanoseconds = monotonicNanoseconds()
    }

    deinit {
        if !isClosed {
            Glibc.close(activeDescriptor)
            Glibc.close(lockDescriptor)
        }
    }

    // MARK: Open and recover

    /// Opens (or creates) the journal in `directory`, recovering from a crash: a torn or corrupt tail of the
    /// last segment is truncated to the last good record, missing or damaged indexes are rebuilt, and damage
    /// in sealed segments is reported (never skipped: readers stop there with an error).
    public static func open(directory: String, options: JournalOptions = JournalOptions()) throws(JournalError) -> (
        Journal, RecoveryReport
    ) {
        guard options.segmentSize >= 4096, options.indexInterval >= 1 else {
            throw JournalError(.invalidArgument, "segmentSize must be at least 4096 and indexInterval at least 1")
        }
        if !POSIX.isDirectory(directory) {
            guard options.createIfMissing else {
                throw JournalError(.notAJournal, "no journal directory", path: directory)
            }
            try POSIX.makeDirectory(directory)
        }
        let lockPath = directory + "/journal.lock"
        let lockDescriptor = try POSIX.open(lockPath, O_RDWR | O_CREAT)
        do throws(JournalError) {
            guard try POSIX.lock(lockDescriptor, exclusive: true, nonBlocking: true, path: lockPath) else {
                throw JournalError(.locked, "another process is writing this journal", path: lockPath)
            }
            return try recover(directory: directory, options: options, lockDescriptor: lockDescriptor)
        } catch {
            Glibc.close(lockDescriptor)
            throw error
        }
    }

    /// The first sequences of the segment files in `directory`, ascending.
    static func segmentSequences(in directory: String) throws(JournalError) -> [UInt64] {
        try POSIX.listDirectory(directory).compactMap(JournalFormat.firstSequence(ofSegmentFileName:)).sorted()
    }

    private static func recover(directory: String, options: JournalOptions, lockDescriptor: Int32) throws(JournalError)
        -> (Journal, RecoveryReport)
    {
        var report = RecoveryReport()
        // What a crash left of an index being rewritten.
        for name in try POSIX.listDirectory(directory) where name.hasSuffix(".tmp") || AtomicFile.isTemporary(name) {
            try POSIX.unlink(directory + "/" + name)
        }
        var firsts = try segmentSequences(in: directory)
        if firsts.isEmpty {
            try createSegment(directory: directory, firstSequence: options.firstSequence, io: options.fileIO)
            firsts = [options.firstSequence]
        }
        var segments: [CatalogSegment] = []
        for (i, first) in firsts.dropLast().enumerated() {
            segments.append(
                try recoverSealed(
                    directory: directory, firstSequence: first, following: firsts[i + 1], options: options, report: &report))
        }
        // The last segment: scan it all, truncate what follows the last good record.
        let first = firsts[firsts.count - 1]
        let path = directory + "/" + JournalFormat.segmentFileName(firstSequence: first)
        try POSIX.unlink(directory + "/" + JournalFormat.indexFileName(firstSequence: first))
        let fd = try POSIX.open(path, O_RDWR)
        do throws(JournalError) {
            var scan = try SegmentScanner.scan(
                descriptor: fd, path: path, firstSequence: first, indexInterval: options.indexInterval)
            if !scan.headerValid {
                let header = JournalFormat.encodeSegmentHeader(firstSequence: first)
                try withBytes(header) { (p) throws(JournalError) in try POSIX.pwriteAll(fd, p, offset: 0, path: path) }
                report.repairedHeader = path
                scan = try SegmentScanner.scan(
                    descriptor: fd, path: path, firstSequence: first, indexInterval: options.indexInterval)
            }
            if let stop = scan.stop {
                let end = scan.summary.endOffset
                var reason = stop.reason
                if let later = try SegmentScanner.findRecord(
                    descriptor: fd, path: path, after: end, fileSize: scan.fileSize, sequence: scan.summary.nextSequence)
                {
                    // Not a torn tail: durable records may follow the damage. Never drop them silently.
                    let message =
                        "damaged record (\(stop.reason)) followed by a valid record with sequence \(later.sequence) at byte \(later.offset)"
                    guard options.discardDamagedTail else {
                        throw JournalError(
                            .corrupt,
                            "\(message); open with discardDamagedTail to move the bytes from here to a side file and truncate",
                            path: path, offset: end)
                    }
                    let sidePath = path + ".damaged-\(end)"
                    try saveTail(fd, from: end, size: scan.fileSize, path: path, to: sidePath, directory: directory)
                    reason = "\(message); saved to \(sidePath)"
                    report.problems.append(
                        JournalProblem(path: path, offset: end, sequence: scan.summary.nextSequence, message: reason))
                }
                try POSIX.truncate(fd, to: end, path: path)
                report.truncatedTail = RecoveryReport.TruncatedTail(
                    path: path, offset: end, bytes: scan.fileSize - end, fromSequence: scan.summary.nextSequence,
                    reason: reason)
            }
            // Whatever survived the crash is made durable before anything is acknowledged on top of it.
            try POSIX.dataSync(fd, path: path)
            if let previous = segments.last, previous.problem == nil, previous.summary.nextSequence != first {
                report.problems.append(
                    JournalProblem(
                        path: previous.path, offset: previous.summary.endOffset, sequence: previous.summary.nextSequence,
                        message: "sequences \(previous.summary.nextSequence)...\(first &- 1) are missing before \(path)"))
            }
            segments.append(CatalogSegment(path: path, summary: scan.summary, sealed: false, problem: nil))
            report.segmentCount = segments.count
            report.firstSequence = segments[0].summary.firstSequence
            report.lastSequence = scan.summary.lastSequence
            let catalog = JournalCatalog(
                directory: directory, state: CatalogState(segments: segments, durableSequence: scan.summary.lastSequence))
            let journal = Journal(
                directory: directory, options: options, catalog: catalog, lockDescriptor: lockDescriptor,
                activeDescriptor: fd, activePath: path, active: scan.summary)
            return (journal, report)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Copies the bytes of `path` from `offset` to the end into a new, synced file at `sidePath`.
    private static func saveTail(
        _ fd: Int32, from offset: UInt64, size: UInt64, path: String, to sidePath: String, directory: String
    )
        throws(JournalError)
    {
        let out = try POSIX.open(sidePath, O_WRONLY | O_CREAT | O_TRUNC)
        defer { Glibc.close(out) }
        let reader = BlockReader(descriptor: fd, path: path, blockSize: 4 << 20)
        var position = offset
        while position < size {
            let window = try reader.window(at: position, needed: 1, limit: size)
            guard window.count > 0 else { break }
            try POSIX.pwriteAll(out, window, offset: position - offset, path: sidePath)
            position += UInt64(window.count)
        }
        try POSIX.dataSync(out, path: sidePath)
        try POSIX.syncDirectory(directory)
    }

    private static func recoverSealed(
        directory: String, firstSequence first: UInt64, following: UInt64, options: JournalOptions,
        report: inout RecoveryReport
    ) throws(JournalError) -> CatalogSegment {
        let path = directory + "/" + JournalFormat.segmentFileName(firstSequence: first)
        let indexPath = directory + "/" + JournalFormat.indexFileName(firstSequence: first)
        let fd = try POSIX.open(path, O_RDONLY)
        defer { Glibc.close(fd) }
        if let summary = SegmentScanner.loadIndex(
            indexPath: indexPath, segmentDescriptor: fd, segmentPath: path, firstSequence: first),
            summary.nextSequence == following
        {
            return CatalogSegment(path: path, summary: summary, sealed: true, problem: nil)
        }
        let scan = try SegmentScanner.scan(descriptor: fd, path: path, firstSequence: first, indexInterval: options.indexInterval)
        var problem: JournalProblem?
        if let stop = scan.stop {
            problem = JournalProblem(
                path: path, offset: stop.offset, sequence: scan.summary.nextSequence,
                message: "sealed segment damaged: \(stop.reason)")
        } else if scan.summary.nextSequence != following {
            problem = JournalProblem(
                path: path, offset: scan.summary.endOffset, sequence: scan.summary.nextSequence,
                message: scan.summary.nextSequence < following
                    ? "sequences \(scan.summary.nextSequence)...\(following - 1) are missing: no segment holds them"
                    : "segment overlaps the next one, which starts at sequence \(following)")
        }
        if let problem {
            report.problems.append(problem)
        } else {
            try? POSIX.replaceFile(indexPath, with: scan.summary.encoded())
            report.rebuiltIndexes.append(indexPath)
        }
        return CatalogSegment(path: path, summary: scan.summary, sealed: true, problem: problem)
    }

    private static func createSegment(directory: String, firstSequence: UInt64, io: JournalFileIO) throws(JournalError) {
        let path = directory + "/" + JournalFormat.segmentFileName(firstSequence: firstSequence)
        let fd = try POSIX.open(path, O_WRONLY | O_CREAT | O_TRUNC)
        defer { Glibc.close(fd) }
        let header = JournalFormat.encodeSegmentHeader(firstSequence: firstSequence)
        try withBytes(header) { (p) throws(JournalError) in try writeAll(fd, p, offset: 0, path: path, io: io) }
        let result = io.sync(fd)
        if result != 0 { throw JournalError.system("fdatasync", path: path, errno: -result) }
        try POSIX.syncDirectory(directory)
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: UInt64, path: String, io: JournalFileIO)
        throws(JournalError)
    {
        var done = 0
        while done < bytes.count {
            let n = io.write(
                fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), Int64(offset) + Int64(done))
            if n == -Int(EINTR) { continue }
            if n < 0 { throw JournalError.system("pwrite", path: path, offset: offset + UInt64(done), errno: Int32(-n)) }
            if n == 0 { throw JournalError.system("pwrite", path: path, offset: offset + UInt64(done), errno: EIO) }
            done += n
        }
    }

    // MARK: Append

    /// Appends `records` as one batch (see ``commit(_:)``) and returns the durable sequence.
    @discardableResult
    public func append(_ records: some Collection<JournalRecord>) throws(JournalError) -> UInt64 {
        scratch.removeAll()
        for record in records { try scratch.append(record) }
        return try commit(scratch)
    }

    /// Writes the batch with one `pwrite` and, with ``JournalDurability/perBatch``, makes it durable with one
    /// `fdatasync`. Returns ``durableSequence``: with `perBatch`, the batch's last sequence.
    ///
    /// The batch's first sequence must be ``nextSequence``: a gap or a reused sequence is rejected. On success
    /// the batch is emptied for reuse. If the write fails (a full disk), the error is thrown, the partial write
    /// is cut off again, no record of the batch becomes visible, and the same batch may be committed later.
    /// If `fdatasync` fails the journal becomes unusable: close it and open it again.
    @discardableResult
    public func commit(_ batch: JournalBatch) throws(JournalError) -> UInt64 {
        try checkUsable()
        guard let firstSequence = batch.firstSequence else { return durableSequence }
        let expected = active.nextSequence
        guard firstSequence == expected else {
            throw JournalError(
                firstSequence < expected ? .sequenceReused : .sequenceGap,
                "batch starts at sequence \(firstSequence) but the journal's next sequence is \(expected)", path: activePath)
        }
        if active.recordCount > 0 && active.endOffset + UInt64(batch.byteCount) > UInt64(options.segmentSize) {
            try roll()
        }
        let offset = active.endOffset
        do throws(JournalError) {
            try Self.writeAll(
                activeDescriptor, UnsafeRawBufferPointer(start: batch.buffer, count: batch.byteCount), offset: offset,
                path: activePath, io: options.fileIO)
        } catch {
            // Cut off whatever part of the batch reached the file, so that no partial batch survives.
            if ftruncate(activeDescriptor, off_t(offset)) != 0 {
                failure = JournalError.system("ftruncate", path: activePath, offset: offset, errno: errno)
            }
            throw error
        }
        for meta in batch.metas {
            active.note(
                offset: offset + UInt64(meta.offset), length: meta.length, sequence: meta.sequence,
                recordedTime: meta.recordedTime, interval: options.indexInterval)
        }
        batch.removeAll()
        switch options.durability {
        case .perBatch:
            try sync()
        case .interval(let interval):
            let nanoseconds = UInt64(max(0, JournalRetention.microseconds(interval))) * 1000
            if monotonicNanoseconds() - lastSyncNanoseconds >= nanoseconds { try sync() }
        case .unsafeNoSyncForTestsOnly:
            publish()
        }
        return durableSequence
    }

    /// Makes every written record durable now (one `fdatasync`) and visible to readers.
    @discardableResult
    public func sync() throws(JournalError) -> UInt64 {
        try checkUsable()
        guard durableSequence != active.lastSequence else { return durableSequence }
        let result = options.fileIO.sync(activeDescriptor)
        lastSyncNanoseconds = monotonicNanoseconds()
        if result != 0 {
            // After a failed fdatasync the kernel may have dropped the dirty pages: nothing written since the
            // last good sync can be trusted until the journal is reopened and recovered.
            let error = JournalError.system("fdatasync", path: activePath, errno: -result)
            failure = error
            throw error
        }
        publish()
        return durableSequence
    }

    /// With ``JournalDurability/interval(_:)``, syncs if the interval has passed since the last sync; call it
    /// from the broker's loop when idle. Returns ``durableSequence``.
    @discardableResult
    public func syncIfDue() throws(JournalError) -> UInt64 {
        if case .interval(let interval) = options.durability {
            let nanoseconds = UInt64(max(0, JournalRetention.microseconds(interval))) * 1000
            if monotonicNanoseconds() - lastSyncNanoseconds >= nanoseconds { try sync() }
        }
        return durableSequence
    }

    /// Whether the journal can still be written: open, and no failed `fdatasync` (or failed cut-back of a partial
    /// write) has made it untrustworthy until it is reopened.
    public var isUsable: Bool { !isClosed && failure == nil }

    /// How many segment files the journal has and how many bytes they hold, the one being written included.
    public var storage: (segments: Int, bytes: UInt64) {
        let sealed = catalog.state.withLock { state -> (Int, UInt64) in
            (state.segments.count, state.segments.dropLast().reduce(UInt64(0)) { $0 + $1.summary.endOffset })
        }
        return (sealed.0, sealed.1 + active.endOffset)
    }

    private func checkUsable() throws(JournalError) {
        if isClosed { throw JournalError(.unusable, "the journal is closed", path: directory) }
        if let failure {
            throw JournalError(
                .unusable, "an earlier failure left the journal unusable until reopened: \(failure)", path: directory)
        }
    }

    /// Shows readers what is durable.
    private func publish() {
        let summary = active
        let from = publishedEntryCount
        catalog.state.withLock { state in
            let last = state.segments.count - 1
            state.segments[last].summary.recordCount = summary.recordCount
            state.segments[last].summary.endOffset = summary.endOffset
            state.segments[last].summary.firstTime = summary.firstTime
            state.segments[last].summary.maxTime = summary.maxTime
            state.segments[last].summary.lastTime = summary.lastTime
            if from < summary.entries.count {
                state.segments[last].summary.entries.append(contentsOf: summary.entries[from...])
            }
            state.durableSequence = summary.lastSequence
        }
        publishedEntryCount = summary.entries.count
        durableSequence = summary.lastSequence
    }

    /// Seals the segment being written (durable, with its index file) and starts the next one.
    private func roll() throws(JournalError) {
        if durableSequence != active.lastSequence || options.durability == .unsafeNoSyncForTestsOnly {
            let result = options.fileIO.sync(activeDescriptor)
            if result != 0 {
                let error = JournalError.system("fdatasync", path: activePath, errno: -result)
                failure = error
                throw error
            }
            publish()
        }
        try? POSIX.replaceFile(
            directory + "/" + JournalFormat.indexFileName(firstSequence: active.firstSequence), with: active.encoded())
        let next = active.nextSequence
        let path = directory + "/" + JournalFormat.segmentFileName(firstSequence: next)
        let fd: Int32
        do throws(JournalError) {
            try Self.createSegment(directory: directory, firstSequence: next, io: options.fileIO)
            fd = try POSIX.open(path, O_RDWR)
        } catch {
            // Without the new segment the writer goes on in the current one; the next commit tries again.
            try? POSIX.unlink(path)
            throw error
        }
        Glibc.close(activeDescriptor)
        activeDescriptor = fd
        activePath = path
        active = SegmentSummary(firstSequence: next)
        publishedEntryCount = 0
        catalog.state.withLock { state in
            state.segments[state.segments.count - 1].sealed = true
            state.segments.append(CatalogSegment(path: path, summary: SegmentSummary(firstSequence: next), sealed: false))
        }
        if options.retention != nil { _ = try? enforceRetention() }
    }

    // MARK: Retention

    /// Removes whole sealed segments, oldest first, while the retention limits in ``options`` are exceeded.
    /// Stops at the first segment a reader (in this or another process) holds open, and never removes the
    /// segment being written. Returns the paths of the removed segment files.
    @discardableResult
    public func enforceRetention(now: Int64? = nil) throws(JournalError) -> [String] {
        try checkUsable()
        guard let retention = options.retention else { return [] }
        let now = now ?? currentMicroseconds()
        var removed: [String] = []
        while true {
            let (candidate, total) = catalog.state.withLock { state -> (CatalogSegment?, UInt64) in
                let total = state.segments.reduce(UInt64(0)) { $0 + $1.summary.endOffset }
                return (state.segments.count > 1 ? state.segments[0] : nil, total)
            }
            guard let candidate, candidate.sealed else { break }
            let tooBig = retention.maximumTotalBytes.map { total > $0 } ?? false
            let tooOld =
                retention.maximumAgeMicroseconds.map {
                    candidate.summary.recordCount == 0 || candidate.summary.maxTime < now - $0
                } ?? false
            guard tooBig || tooOld else { break }
            let fd = try POSIX.open(candidate.path, O_RDONLY)
            defer { Glibc.close(fd) }
            guard try POSIX.lock(fd, exclusive: true, nonBlocking: true, path: candidate.path) else { break }
            catalog.state.withLock { state in _ = state.segments.removeFirst() }
            try POSIX.unlink(directory + "/" + JournalFormat.indexFileName(firstSequence: candidate.summary.firstSequence))
            try POSIX.unlink(candidate.path)
            removed.append(candidate.path)
        }
        if !removed.isEmpty { try POSIX.syncDirectory(directory) }
        return removed
    }

    // MARK: Readers and closing

    /// A reader of durable records from `sequence` on (which must still be in the journal), reading
    /// `bufferBytes` of the file at a time.
    public func reader(
        from sequence: UInt64, bufferBytes: Int = JournalReader.defaultBufferBytes
    ) throws(JournalError) -> JournalReader {
        try readers.reader(from: sequence, bufferBytes: bufferBytes)
    }

    /// A reader of durable records from the first whose recorded time is at or after `time` (microseconds
    /// since the Unix epoch), reading `bufferBytes` of the file at a time.
    public func reader(
        fromTime time: Int64, bufferBytes: Int = JournalReader.defaultBufferBytes
    ) throws(JournalError) -> JournalReader {
        try readers.reader(fromTime: time, bufferBytes: bufferBytes)
    }

    /// Syncs what was written and closes the files. Further calls throw ``JournalError/Code/unusable``.
    public func close() throws(JournalError) {
        guard !isClosed else { return }
        defer {
            isClosed = true
            Glibc.close(activeDescriptor)
            Glibc.close(lockDescriptor)
        }
        if failure == nil, durableSequence != active.lastSequence { try sync() }
    }
}

/// A `Sendable` handle that opens readers of a journal open in this process, on any thread.
public struct JournalReaders: Sendable {
    let catalog: JournalCatalog

    /// A reader of durable records from `sequence` on.
    public func reader(
        from sequence: UInt64, bufferBytes: Int = JournalReader.defaultBufferBytes
    ) throws(JournalError) -> JournalReader {
        try JournalReader(
            source: .live(catalog), start: catalog.start(atSequence: sequence), skipBelowSequence: sequence,
            bufferBytes: bufferBytes)
    }

    /// A reader of durable records from the first whose recorded time is at or after `time`.
    public func reader(
        fromTime time: Int64, bufferBytes: Int = JournalReader.defaultBufferBytes
    ) throws(JournalError) -> JournalReader {
        try JournalReader(
            source: .live(catalog), start: catalog.start(atTime: time), skipBelowTime: time, bufferBytes: bufferBytes)
    }

    /// The sequence up to which records are durable.
    public var durableSequence: UInt64 { catalog.state.withLock { $0.durableSequence } }
}
