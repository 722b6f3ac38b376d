/// How and when appended records become durable.
public enum JournalDurability: Sendable, Equatable {
    /// Every ``Journal/commit(_:)`` ends with one `fdatasync`: when it returns, the batch is durable.
    /// The default, and what an acknowledgement means.
    case perBatch
    /// `fdatasync` at most once per interval: on a commit or ``Journal/syncIfDue()`` once the interval has
    /// passed since the last one. Records become durable (and visible to readers) only then.
    case interval(Duration)
    /// **Not durable: for tests and benchmarks only.** Never calls `fdatasync` (except when a segment is
    /// sealed); records are visible to readers once written and can be lost by a machine crash.
    case unsafeNoSyncForTestsOnly
}

/// Retention: whole sealed segments are removed, oldest first, while either limit is exceeded. The
/// segment being written is never removed, nor is any segment a reader holds open.
public struct JournalRetention: Sendable, Equatable {
    /// Remove the oldest segments while all segments together exceed this many bytes.
    public var maximumTotalBytes: UInt64?
    /// Remove segments whose newest record is older than this many microseconds.
    public var maximumAgeMicroseconds: Int64?

    /// Limits by total size and by age; `nil` means no limit of that kind.
    public init(maximumTotalBytes: UInt64? = nil, maximumAge: Duration? = nil) {
        self.maximumTotalBytes = maximumTotalBytes
        self.maximumAgeMicroseconds = maximumAge.map { Self.microseconds($0) }
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}

/// How a journal is opened and written.
public struct JournalOptions: Sendable {
    /// When records become durable. Default: ``JournalDurability/perBatch``.
    public var durability: JournalDurability = .perBatch
    /// A segment is sealed and a new one started when a batch would take it past this many bytes.
    public var segmentSize: Int = 128 << 20
    /// Bytes of records between two entries of a segment's sparse index (a seek reads at most this much).
    public var indexInterval: Int = 64 << 10
    /// Retention limits, applied after a segment is sealed and by ``Journal/enforceRetention(now:)``.
    public var retention: JournalRetention? = nil
    /// The sequence the first record of a new, empty journal must carry.
    public var firstSequence: UInt64 = 1
    /// Create the directory, and its missing parents, if it does not exist.
    public var createIfMissing = true
    /// What to do when the newest segment is damaged but valid records follow the damage (so it is not a torn
    /// tail): `false` (the default) makes ``Journal/open(directory:options:)`` throw ``JournalError/Code/corrupt``
    /// naming the file and offset; `true` moves the bytes from the damage on to a side file
    /// (`<segment>.damaged-<offset>`), truncates, and reports it, giving up the records after the damage.
    public var discardDamagedTail = false
    /// The write and sync calls; replace them in tests to simulate a full disk or an I/O error.
    public var fileIO: JournalFileIO = .system

    /// The defaults: per-batch durability, 128 MiB segments, an index entry every 64 KiB, no retention.
    public init() {}
}
