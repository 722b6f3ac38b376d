import ConduitJournal
import Foundation

/// Progress of a long journal scan (or copy) on standard error, only when it is a terminal, at most five times a second;
/// ``finish()`` erases it.
public final class ScanProgress {
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastShown = Date.distantPast
    private var shown = false

    /// A progress line that shows itself only on a terminal.
    public init() {}

    /// Shows how many records were read so far.
    public func show(_ scanned: UInt64) { show(line: "scanned \(scanned) events…") }

    /// Shows `line` in place of the last one (how many bytes were copied, say).
    public func show(line: String) {
        guard enabled, Date().timeIntervalSince(lastShown) > 0.2 else { return }
        lastShown = Date()
        shown = true
        FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
    }

    /// Erases the progress line, if one was shown.
    public func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }
}

extension JournalTail {
    /// What the commands that read a journal say about its tail on standard error.
    public var warning: String {
        if let later = recordAfter {
            return """
                warning: the journal's newest segment is damaged, not just torn: the bytes of \(path) from byte \(offset) \
                are not a record (\(reason)), yet a valid record with sequence \(later.sequence) follows at byte \(later.offset). \
                Events from sequence \(nextSequence) on were not read, and the journal was left as it is \
                (conduit journal verify --dir \((path as NSString).deletingLastPathComponent) says more).
                """
        }
        let intact = nextSequence > 1 ? "the intact records end at sequence \(nextSequence - 1)" : "no record is intact"
        return """
            warning: the journal's tail is torn: the last \(bytes) byte(s) of \(path), from byte \(offset), are not a \
            complete record (\(reason)). They were ignored — \(intact) — and the journal was left as it is (a broker \
            cuts a torn tail off when it next opens the journal; if a broker is writing this journal right now, the \
            bytes may be a record still being written).
            """
    }
}
