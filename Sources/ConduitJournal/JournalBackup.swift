#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file or a directory that a backup copies beside the journal, such as the folds' checkpoints or the aggregator's
/// checkpoint.
public struct JournalBackupCompanion: Sendable, Hashable {
    /// The file or directory to copy. A directory is copied with everything in it except the temporary files of an
    /// ``AtomicFile`` replacement in progress.
    public var source: String
    /// Its name in the backup directory: one path component.
    public var name: String

    public init(source: String, name: String) {
        self.source = source
        self.name = name
    }
}

/// How ``JournalBackup/run(from:to:options:)`` copies.
public struct JournalBackupOptions {
    /// What to copy beside the journal. Companions are copied before the journal, so that whatever they describe
    /// (a checkpoint's sequence) is in the journal the backup copies after them.
    public var companions: [JournalBackupCompanion] = []
    /// The write and sync calls for the copies; replace them in tests to simulate a full disk.
    public var fileIO: JournalFileIO = .system
    /// Polled between blocks; when it returns true the backup stops and removes what it wrote.
    public var shouldStop: () -> Bool = { false }
    /// Told of each step: progress for a display, and fixed points at which a test can change the journal.
    public var observe: (JournalBackup.Step) -> Void = { _ in }

    /// Nothing beside the journal, the system's calls, no observer.
    public init() {}
}

/// What a backup copied.
public struct JournalBackupReport: Sendable {
    /// A companion and what was copied of it.
    public struct CompanionCopy: Sendable {
        public var companion: JournalBackupCompanion
        public var files: Int
        public var bytes: UInt64
    }

    /// The backup directory.
    public var directory: String
    /// The manifest written last into it.
    public var manifest: JournalBackupManifest
    /// Segments and bytes of the journal copied.
    public var segments: Int
    public var journalBytes: UInt64
    /// Segments the live journal's retention removed before the backup could hold them (their first sequences): the
    /// backup starts after them.
    public var removedByRetention: [UInt64]
    /// The bytes at the end of the newest segment that were not a complete record when it was read (a record being
    /// written, or a tail torn by a crash): left out of the backup.
    public var leftOut: JournalTail?
    /// Index files written from the copied segment because the live one was missing or did not match it.
    public var rebuiltIndexes: [String]
    /// The companions, in the order given.
    public var companions: [CompanionCopy]
    /// How long the backup took.
    public var elapsed: Duration

    /// The sequences the backup holds: `firstSequence...lastSequence`.
    public var firstSequence: UInt64 { manifest.firstSequence }
    public var lastSequence: UInt64 { manifest.lastSequence }
    /// Records in the backup.
    public var records: UInt64 { manifest.records }
    /// Bytes of every file written, companions included (not the manifest).
    public var bytes: UInt64 { manifest.bytes }
}

/// A copy of a journal, taken while a broker may be writing it, that is itself a sound journal ending at a record
/// boundary.
///
/// The broker only appends, in checksummed records, and a segment is sealed (synced, its index written) before the next
/// one is created. So the backup copies each segment that has a successor whole, with its index, and the newest
/// segment up to the last complete, valid record in the bytes it read; a record still being written is left out. The
/// backup's end is fixed when the newest segment is read: later appends are not part of it.
///
/// While it copies a segment, the backup holds a shared `flock` on it, as a reader does, taking the next before
/// releasing the last. Retention removes segments oldest first and stops at one that is held, so it can only remove
/// segments the backup has finished with, or, before the backup holds any, the oldest: then the backup starts at the
/// next segment.
///
/// Every file is written under a temporary name, synced, and renamed into place; the directory is synced; and the
/// manifest (``JournalBackupManifest``), first written as unfinished, is replaced by the complete one last. A failure
/// (a full disk, damage in the live journal, a stop) removes everything the backup wrote.
public enum JournalBackup {
    /// A step of a backup.
    public enum Step {
        /// The segment starting at `firstSequence` is about to be opened (retention may have removed it by now).
        case openingSegment(firstSequence: UInt64)
        /// The newest segment was read: the backup ends at `lastSequence`.
        case newestSegmentRead(firstSequence: UInt64, lastSequence: UInt64)
        /// `bytes` were copied so far, of about `total` (the sizes of the files when the backup began).
        case copied(bytes: UInt64, total: UInt64)
    }

    /// Copies the journal in `source`, and the companions in `options`, into `target`, which must not exist or be an
    /// empty directory.
    ///
    /// Throws ``JournalError/Code/notAJournal`` when there is no journal in `source`, ``JournalError/Code/targetExists``
    /// when `target` is not empty, ``JournalError/Code/corrupt`` when the live journal is damaged (the backup would not
    /// be sound), ``JournalError/Code/ioFailed`` when a read or write fails (`ENOSPC`: the disk is full), and
    /// ``JournalError/Code/interrupted`` when ``JournalBackupOptions/shouldStop`` said so. Whatever it throws, nothing
    /// it wrote is left: the target is removed if the backup made it, else emptied again.
    public static func run(
        from source: String, to target: String, options: JournalBackupOptions = JournalBackupOptions()
    ) throws(JournalError) -> JournalBackupReport {
        let run = try BackupRun(source: trimmed(source), target: trimmed(target), options: options)
        do {
            return try run.perform()
        } catch {
            run.removeEverything()
            throw error
        }
    }

    static func trimmed(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}

/// One backup in progress: what it has written, so that a failure can remove it.
private final class BackupRun {
    let source: String
    let target: String
    let options: JournalBackupOptions
    let startedMicros: Int64
    let startedNanoseconds: UInt64
    private let blockSize = 4 << 20
    private let buffer: UnsafeMutableRawPointer

    private var madeTarget = false
    /// Directories made inside the target, in the order made.
    private var madeDirectories: [String] = []
    /// Files written (final or temporary names) that exist now.
    private var madeFiles: Set<String> = []
    private var journalFiles: [JournalBackupManifest.File] = []
    private var companionFiles: [JournalBackupManifest.File] = []
    private var copied: UInt64 = 0
    private var total: UInt64 = 0

    /// Checks the source, the companions and the target, makes the target and writes the unfinished manifest.
    init(source: String, target: String, options: JournalBackupOptions) throws(JournalError) {
        self.source = source
        self.target = target
        self.options = options
        startedMicros = currentMicroseconds()
        startedNanoseconds = monotonicNanoseconds()
        buffer = UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 16)

        guard POSIX.isDirectory(source) else { throw JournalError(.notAJournal, "no such directory", path: source) }
        let segments = try Journal.segmentSequences(in: source)
        guard !segments.isEmpty else { throw JournalError(.notAJournal, "no segment files in the directory", path: source) }
        for companion in options.companions {
            guard !companion.name.isEmpty, !companion.name.contains("/"), companion.name != JournalBackupManifest.fileName,
                JournalFormat.firstSequence(ofSegmentFileName: companion.name) == nil, !companion.name.hasPrefix(".")
            else {
                throw JournalError(.invalidArgument, "\"\(companion.name)\" cannot name a file beside a journal in a backup")
            }
            guard POSIX.exists(companion.source) else {
                throw JournalError(.notAvailable, "nothing to copy: no such file or directory", path: companion.source)
            }
        }
        let resolvedTarget = Self.resolved(target)
        for directory in [source] + options.companions.filter({ POSIX.isDirectory($0.source) }).map(\.source) {
            let resolved = Self.resolved(directory)
            if resolvedTarget == resolved || resolvedTarget.hasPrefix(resolved + "/") {
                throw JournalError(
                    .invalidArgument, "the backup cannot go inside \(directory), which it copies", path: target)
            }
        }
        if POSIX.exists(target) {
            guard POSIX.isDirectory(target) else {
                throw JournalError(.targetExists, "the backup's target exists and is not a directory", path: target)
            }
            guard try POSIX.listDirectory(target).isEmpty else {
                throw JournalError(
                    .targetExists, "the backup's target is not empty: a backup goes into a new or empty directory",
                    path: target)
            }
        } else {
            try POSIX.makeDirectory(target)
            madeTarget = true
        }
        do throws(JournalError) {
            // Unfinished until replaced by the complete manifest. O_EXCL: a second backup into the same directory fails.
            let path = target + "/" + JournalBackupManifest.fileName
            let descriptor: Int32
            do {
                descriptor = try POSIX.open(path, O_WRONLY | O_CREAT | O_EXCL)
            } catch where error.errno == EEXIST {
                throw JournalError(.targetExists, "another backup is writing into this directory", path: target)
            }
            madeFiles.insert(path)
            defer { close(descriptor) }
            let marker = JournalBackupManifest(complete: false, source: Self.resolved(source), startedMicros: startedMicros)
            try withBytes(marker.encoded()) { (bytes) throws(JournalError) in
                try self.write(descriptor, bytes, at: 0, path: path)
            }
            try sync(descriptor, path: path)
            try POSIX.syncDirectory(target)
            total = Self.sizes(of: segments.map { source + "/" + JournalFormat.segmentFileName(firstSequence: $0) })
                + Self.sizes(of: segments.map { source + "/" + JournalFormat.indexFileName(firstSequence: $0) })
                + options.companions.reduce(0) { $0 + Self.treeSize($1.source) }
        } catch {
            removeEverything()
            throw error
        }
    }

    deinit { buffer.deallocate() }

    func perform() throws(JournalError) -> JournalBackupReport {
        var companionCopies: [JournalBackupReport.CompanionCopy] = []
        for companion in options.companions {
            let before = companionFiles.count
            try copyCompanion(companion.source, as: companion.name)
            let added = companionFiles[before...]
            companionCopies.append(
                JournalBackupReport.CompanionCopy(
                    companion: companion, files: added.count, bytes: added.reduce(0) { $0 + $1.bytes }))
        }
        let journal = try copyJournal()
        for directory in madeDirectories.reversed() { try POSIX.syncDirectory(directory) }
        try POSIX.syncDirectory(target)

        let manifest = JournalBackupManifest(
            complete: true, source: Self.resolved(source), startedMicros: startedMicros, finishedMicros: currentMicroseconds(),
            firstSequence: journal.first, lastSequence: journal.last, files: journalFiles + companionFiles)
        do {
            try AtomicFile.replace(target + "/" + JournalBackupManifest.fileName, with: manifest.encoded(), durable: true)
        } catch {
            throw JournalError.system(error.operation, path: error.path, errno: error.errno)
        }
        return JournalBackupReport(
            directory: target, manifest: manifest, segments: journal.segments,
            journalBytes: journalFiles.filter { $0.kind == .segment }.reduce(0) { $0 + $1.bytes },
            removedByRetention: journal.removed, leftOut: journal.leftOut, rebuiltIndexes: journal.rebuiltIndexes,
            companions: companionCopies, elapsed: .nanoseconds(Int64(monotonicNanoseconds() - startedNanoseconds)))
    }

    // MARK: The journal

    private struct CopiedSegment {
        var first: UInt64
        var summary: SegmentSummary
    }

    private struct JournalCopy {
        var first: UInt64
        var last: UInt64
        var segments: Int
        var removed: [UInt64]
        var leftOut: JournalTail?
        var rebuiltIndexes: [String]
    }

    private func copyJournal() throws(JournalError) -> JournalCopy {
        var held: Int32 = -1
        defer { if held >= 0 { close(held) } }
        var copiedSegments: [CopiedSegment] = []
        var removed: [UInt64] = []
        var rebuilt: [String] = []
        var leftOut: JournalTail?
        while true {
            try checkStop()
            let listing = try Journal.segmentSequences(in: source)
            guard let first = listing.first(where: { first in copiedSegments.last.map { first > $0.first } ?? true }) else {
                throw JournalError(.notAvailable, "the journal's segments disappeared during the backup", path: source)
            }
            options.observe(.openingSegment(firstSequence: first))
            let path = source + "/" + JournalFormat.segmentFileName(firstSequence: first)
            guard let descriptor = try openHeld(path) else {
                guard copiedSegments.isEmpty else {
                    // The backup held the segment before this one, so retention could not have removed it.
                    throw JournalError(
                        .notAvailable, "the segment disappeared during the backup, and not by retention", path: path)
                }
                removed.append(first)
                continue
            }
            // Hand over hand: the next segment is held before the last is released.
            if held >= 0 { close(held) }
            held = descriptor
            if let previous = copiedSegments.last, previous.summary.nextSequence != first {
                throw JournalError(
                    .corrupt, "sequences \(previous.summary.nextSequence)...\(first &- 1) are missing before this segment",
                    path: path)
            }
            // A segment with a successor was sealed (synced, its index written) before the successor was created.
            if let following = try Journal.segmentSequences(in: source).first(where: { $0 > first }) {
                let summary = try copySealed(descriptor, path: path, first: first, following: following)
                if try copyIndex(first: first, summary: summary) { rebuilt.append(JournalFormat.indexFileName(firstSequence: first)) }
                copiedSegments.append(CopiedSegment(first: first, summary: summary))
                continue
            }
            let newest = try copyNewest(descriptor, path: path, first: first, isOnly: copiedSegments.isEmpty)
            if let newest {
                leftOut = newest.leftOut
                copiedSegments.append(CopiedSegment(first: first, summary: newest.summary))
            } else if let previous = copiedSegments.last {
                // The newest segment was being created: the one before it ends the backup, and a journal's newest
                // segment has no index file (opening the journal would remove it).
                let name = JournalFormat.indexFileName(firstSequence: previous.first)
                try POSIX.unlink(target + "/" + name)
                madeFiles.remove(target + "/" + name)
                journalFiles.removeAll { $0.name == name }
                rebuilt.removeAll { $0 == name }
            }
            let last = copiedSegments.last!
            options.observe(.newestSegmentRead(firstSequence: last.first, lastSequence: last.summary.lastSequence))
            return JournalCopy(
                first: copiedSegments[0].first, last: last.summary.lastSequence, segments: copiedSegments.count,
                removed: removed, leftOut: leftOut, rebuiltIndexes: rebuilt)
        }
    }

    /// Opens a segment and takes a shared lock on it, as readers do; `nil` if retention removed it first.
    private func openHeld(_ path: String) throws(JournalError) -> Int32? {
        let descriptor: Int32
        do {
            descriptor = try POSIX.open(path, O_RDONLY)
        } catch where error.errno == ENOENT {
            return nil
        }
        do throws(JournalError) {
            _ = try POSIX.lock(descriptor, exclusive: false, nonBlocking: false, path: path)
            var info = stat()
            if fstat(descriptor, &info) == 0 && info.st_nlink == 0 {
                close(descriptor)
                return nil
            }
            return descriptor
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// Copies a sealed segment whole and checks the copy: every record valid, up to the next segment's first sequence.
    private func copySealed(_ input: Int32, path: String, first: UInt64, following: UInt64) throws(JournalError)
        -> SegmentSummary
    {
        let name = JournalFormat.segmentFileName(firstSequence: first)
        let size = try POSIX.fileSize(input, path: path)
        let (output, temporary) = try createTemporary(name)
        defer { close(output) }
        let (end, crc) = try copy(input, path, from: 0, to: size, into: output, temporary)
        guard end == size else {
            throw JournalError(.corrupt, "sealed segment shrank from \(size) to \(end) bytes while it was copied", path: path)
        }
        let scan = try SegmentScanner.scan(
            descriptor: output, path: temporary, firstSequence: first, indexInterval: JournalOptions().indexInterval)
        if let stop = scan.stop {
            throw JournalError(
                .corrupt, "sealed segment damaged (\(stop.reason)): the live journal is not sound, so neither would the backup be",
                path: path, offset: stop.offset)
        }
        guard scan.summary.nextSequence == following else {
            throw JournalError(
                .corrupt,
                "segment ends at sequence \(scan.summary.lastSequence) but the next one starts at \(following)",
                path: path, offset: scan.summary.endOffset)
        }
        try commit(output, temporary, as: name)
        journalFiles.append(
            JournalBackupManifest.File(
                name: name, kind: .segment, bytes: size, crc32c: crc, firstSequence: first,
                lastSequence: scan.summary.lastSequence))
        return scan.summary
    }

    /// Copies a sealed segment's index when it is intact and matches the copied segment; otherwise writes one built
    /// from the copy. Returns whether it was built.
    private func copyIndex(first: UInt64, summary: SegmentSummary) throws(JournalError) -> Bool {
        try checkStop()
        let name = JournalFormat.indexFileName(firstSequence: first)
        let path = source + "/" + name
        var bytes = summary.encoded()
        var rebuilt = true
        if POSIX.exists(path), let live = try? POSIX.readAll(path), let index = SegmentSummary.decode(live),
            index.firstSequence == first, index.recordCount == summary.recordCount, index.endOffset == summary.endOffset,
            index.firstTime == summary.firstTime, index.maxTime == summary.maxTime
        {
            bytes = live
            rebuilt = false
        }
        let (output, temporary) = try createTemporary(name)
        defer { close(output) }
        try withBytes(bytes) { (p) throws(JournalError) in try self.write(output, p, at: 0, path: temporary) }
        try commit(output, temporary, as: name)
        copied += UInt64(bytes.count)
        options.observe(.copied(bytes: copied, total: max(total, copied)))
        journalFiles.append(
            JournalBackupManifest.File(name: name, kind: .index, bytes: UInt64(bytes.count), crc32c: CRC32C.checksum(bytes)))
        return rebuilt
    }

    private struct NewestCopy {
        var summary: SegmentSummary
        var leftOut: JournalTail?
    }

    /// Copies the newest segment as it is at this moment, up to its last complete, valid record. `nil` if it is being
    /// created (its header is not all there yet) and an earlier segment exists.
    private func copyNewest(_ input: Int32, path: String, first: UInt64, isOnly: Bool) throws(JournalError) -> NewestCopy? {
        let name = JournalFormat.segmentFileName(firstSequence: first)
        // The moment the backup ends: the segment's size now. Bytes appended later are not read.
        let size = try POSIX.fileSize(input, path: path)
        let (output, temporary) = try createTemporary(name)
        defer { close(output) }
        _ = try copy(input, path, from: 0, to: size, into: output, temporary)
        var readAgain = false
        var leftOut: JournalTail?
        var scan: SegmentScan
        while true {
            scan = try SegmentScanner.scan(
                descriptor: output, path: temporary, firstSequence: first, indexInterval: JournalOptions().indexInterval)
            guard scan.headerValid else {
                if scan.stop?.incomplete == true && !isOnly {
                    try POSIX.unlink(temporary)
                    madeFiles.remove(temporary)
                    return nil
                }
                throw JournalError(
                    .corrupt,
                    scan.stop?.incomplete == true
                        ? "the journal's only segment is being created: nothing to back up yet"
                        : "segment header damaged", path: path, offset: 0)
            }
            guard let stop = scan.stop else { break }
            if let later = try SegmentScanner.findRecord(
                descriptor: output, path: temporary, after: stop.offset, fileSize: scan.fileSize,
                sequence: scan.summary.nextSequence)
            {
                // A complete record after one that is not: either the bytes were read while a batch was being written
                // (the writer fills a batch front to back, so its earlier bytes are there by now: read them again), or
                // the segment is damaged.
                guard readAgain else {
                    readAgain = true
                    try POSIX.truncate(output, to: stop.offset, path: temporary)
                    _ = try copy(input, path, from: stop.offset, to: size, into: output, temporary)
                    continue
                }
                throw JournalError(
                    .corrupt,
                    "damaged record (\(stop.reason)) followed by a valid record with sequence \(later.sequence) at byte \(later.offset): the live journal's newest segment is damaged, not just being written",
                    path: path, offset: stop.offset)
            }
            // A record being written, or a tail torn by a crash that the broker cuts off when it next opens the journal.
            try POSIX.truncate(output, to: stop.offset, path: temporary)
            leftOut = JournalTail(
                path: path, offset: stop.offset, bytes: scan.fileSize - stop.offset,
                nextSequence: scan.summary.nextSequence, reason: stop.reason)
            break
        }
        let end = scan.summary.endOffset
        let crc: UInt32
        switch JournalBackupManifest.checksum(temporary, bytes: end) {
        case .success(let value): crc = value
        case .failure(let error): throw error
        }
        try commit(output, temporary, as: name)
        journalFiles.append(
            JournalBackupManifest.File(
                name: name, kind: .segment, bytes: end, crc32c: crc, firstSequence: first,
                lastSequence: scan.summary.lastSequence))
        return NewestCopy(summary: scan.summary, leftOut: leftOut)
    }

    // MARK: Companions

    /// Copies a file, or a directory with everything in it, to `name` inside the target (`relative` to it).
    private func copyCompanion(_ path: String, as relative: String) throws(JournalError) {
        try checkStop()
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT && relative.contains("/") { return }  // inside a directory: removed since it was listed
            throw JournalError.system("lstat", path: path, errno: errno)
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            let directory = target + "/" + relative
            if mkdir(directory, 0o755) != 0 { throw JournalError.system("mkdir", path: directory, errno: errno) }
            madeDirectories.append(directory)
            for name in try POSIX.listDirectory(path).sorted() where !AtomicFile.isTemporary(name) {
                try copyCompanion(path + "/" + name, as: relative + "/" + name)
            }
        case S_IFREG:
            let input: Int32
            do {
                input = try POSIX.open(path, O_RDONLY)
            } catch where error.errno == ENOENT && relative.contains("/") {
                return
            }
            defer { close(input) }
            // Read through one descriptor: a file replaced by rename meanwhile is read whole, as it was when opened.
            let (output, temporary) = try createTemporary(relative)
            defer { close(output) }
            let (end, crc) = try copy(input, path, from: 0, to: nil, into: output, temporary)
            try commit(output, temporary, as: relative)
            companionFiles.append(
                JournalBackupManifest.File(name: relative, kind: .companion, bytes: end, crc32c: crc, source: path))
        default:
            break  // symbolic links, sockets, devices: not checkpoints
        }
    }

    // MARK: Files

    /// Creates the temporary file for `relative` inside the target (the name an ``AtomicFile`` replacement uses, which
    /// opening a journal removes).
    private func createTemporary(_ relative: String) throws(JournalError) -> (Int32, String) {
        let slash = relative.lastIndex(of: "/")
        let directory = slash.map { target + "/" + relative[..<$0] } ?? target
        let name = slash.map { String(relative[relative.index(after: $0)...]) } ?? relative
        let temporary = directory + "/" + AtomicFile.temporaryName(for: name)
        let descriptor = try POSIX.open(temporary, O_RDWR | O_CREAT | O_EXCL)
        madeFiles.insert(temporary)
        return (descriptor, temporary)
    }

    /// Syncs a temporary file and renames it to its final name.
    private func commit(_ descriptor: Int32, _ temporary: String, as relative: String) throws(JournalError) {
        try sync(descriptor, path: temporary)
        let path = target + "/" + relative
        guard rename(temporary, path) == 0 else { throw JournalError.system("rename", path: path, errno: errno) }
        madeFiles.remove(temporary)
        madeFiles.insert(path)
    }

    /// Copies bytes `start..<end` of `input` (to its end when `end` is nil) to the same offsets of `output`; returns
    /// where the copy ended and the CRC-32C of the bytes copied.
    private func copy(
        _ input: Int32, _ inputPath: String, from start: UInt64, to end: UInt64?, into output: Int32, _ outputPath: String
    ) throws(JournalError) -> (end: UInt64, crc: UInt32) {
        var position = start
        var crc: UInt32 = 0
        while end.map({ position < $0 }) ?? true {
            try checkStop()
            let want = Int(min(UInt64(blockSize), (end ?? .max) - position))
            let got = try POSIX.pread(input, buffer, count: want, offset: position, path: inputPath)
            if got == 0 { break }
            try write(output, UnsafeRawBufferPointer(start: buffer, count: got), at: position, path: outputPath)
            crc = CRC32C.checksum(UnsafeRawPointer(buffer), count: got, seed: crc)
            position += UInt64(got)
            copied += UInt64(got)
            options.observe(.copied(bytes: copied, total: max(total, copied)))
        }
        return (position, crc)
    }

    private func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String)
        throws(JournalError)
    {
        var done = 0
        while done < bytes.count {
            let n = options.fileIO.write(
                descriptor, UnsafeRawBufferPointer(rebasing: bytes[done...]), Int64(offset) + Int64(done))
            if n == -Int(EINTR) { continue }
            if n < 0 { throw JournalError.system("pwrite", path: path, offset: offset + UInt64(done), errno: Int32(-n)) }
            if n == 0 { throw JournalError.system("pwrite", path: path, offset: offset + UInt64(done), errno: EIO) }
            done += n
        }
    }

    private func sync(_ descriptor: Int32, path: String) throws(JournalError) {
        let result = options.fileIO.sync(descriptor)
        if result != 0 { throw JournalError.system("fdatasync", path: path, errno: -result) }
    }

    private func checkStop() throws(JournalError) {
        if options.shouldStop() {
            throw JournalError(.interrupted, "the backup was stopped; what it had copied was removed", path: target)
        }
    }

    /// Removes every file and directory the backup made, and the target if it made it.
    func removeEverything() {
        for path in madeFiles { unlink(path) }
        madeFiles.removeAll()
        for directory in madeDirectories.reversed() { rmdir(directory) }
        madeDirectories.removeAll()
        if madeTarget {
            rmdir(target)
            madeTarget = false
        } else {
            try? POSIX.syncDirectory(target)
        }
    }

    // MARK: Paths

    /// `path` with symbolic links and relative parts resolved, as far as it exists.
    static func resolved(_ path: String) -> String {
        if let real = realpath(path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return resolved(parent.isEmpty ? "/" : parent) + "/" + name
    }

    static func sizes(of paths: [String]) -> UInt64 {
        paths.reduce(0) { total, path in
            var info = stat()
            return total + (stat(path, &info) == 0 ? UInt64(info.st_size) : 0)
        }
    }

    static func treeSize(_ path: String) -> UInt64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        if (info.st_mode & S_IFMT) == S_IFREG { return UInt64(info.st_size) }
        guard (info.st_mode & S_IFMT) == S_IFDIR, let names = try? POSIX.listDirectory(path) else { return 0 }
        return names.reduce(0) { $0 + treeSize(path + "/" + $1) }
    }
}
