#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the journal: what went wrong, in which file and at which byte offset, and the
/// underlying `errno` when a system call failed.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Compare codes, not messages.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        /// The code's name.
        public var description: String { rawValue }

        /// A system call on a journal file failed; `errno` says why (for example `ENOSPC` when the disk is full).
        public static let ioFailed = Code("ioFailed")
        /// A record or header failed its checksum or framing check somewhere other than an unsynced tail.
        public static let corrupt = Code("corrupt")
        /// An appended record's sequence skips ahead of `lastSequence + 1`.
        public static let sequenceGap = Code("sequenceGap")
        /// An appended record's sequence is at or below `lastSequence`.
        public static let sequenceReused = Code("sequenceReused")
        /// A record is larger than ``JournalFormat/maximumRecordLength``.
        public static let recordTooLarge = Code("recordTooLarge")
        /// Another process holds the journal's writer lock.
        public static let locked = Code("locked")
        /// The directory or file is not a journal, or was written by an unknown format version.
        public static let notAJournal = Code("notAJournal")
        /// The requested sequence or time is no longer (or not yet) in the journal.
        public static let notAvailable = Code("notAvailable")
        /// The journal was closed, or an earlier failed `fdatasync` left it unusable until it is reopened.
        public static let unusable = Code("unusable")
        /// An argument was out of range.
        public static let invalidArgument = Code("invalidArgument")
        /// A backup's target exists and is not an empty directory.
        public static let targetExists = Code("targetExists")
        /// The work was asked to stop before it finished; what it had written was removed.
        public static let interrupted = Code("interrupted")
    }

    /// What kind of failure this is.
    public var code: Code
    /// A sentence saying what was wrong.
    public var message: String
    /// The file concerned, if any.
    public var path: String?
    /// The byte offset in `path` concerned, if any.
    public var offset: UInt64?
    /// The `errno` of a failed system call, if any.
    public var errno: Int32?

    /// Creates an error; `path`, `offset` and `errno` say where and why, when known.
    public init(_ code: Code, _ message: String, path: String? = nil, offset: UInt64? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    /// The code, the message, the file and offset, and the `errno` with its text.
    public var description: String {
        var text = "\(code): \(message)"
        if let path { text += " (file \(path)" + (offset.map { ", byte \($0)" } ?? "") + ")" }
        if let errno { text += " [errno \(errno): \(String(cString: strerror(errno)))]" }
        return text
    }

    static func system(_ call: String, path: String, offset: UInt64? = nil, errno: Int32) -> JournalError {
        JournalError(.ioFailed, "\(call) failed", path: path, offset: offset, errno: errno)
    }
}
