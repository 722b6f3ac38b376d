import ConduitJournal
import Foundation
import Synchronization

/// Progress of a long journal scan on standard error, only when it is a terminal, at most five times a second;
/// ``finish()`` erases it.
final class ScanProgress {
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastShown = Date.distantPast
    private var shown = false

    /// Shows how many records were read so far.
    func show(_ scanned: UInt64) {
        guard enabled, Date().timeIntervalSince(lastShown) > 0.2 else { return }
        lastShown = Date()
        shown = true
        FileHandle.standardError.write(Data("\rscanned \(scanned) events…".utf8))
    }

    /// Erases the progress line, if one was shown.
    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }
}

/// Ctrl-C sets the interruption flag that replay and watch share; long scans poll it between chunks.
struct InterruptionWatch {
    let interrupted = ReplayCommand.Interruption()
    private let signals: SignalWatcher

    init() {
        let interrupted = self.interrupted
        signals = SignalWatcher(signals: [SIGINT]) { _ in interrupted.flag.store(true, ordering: .releasing) }
    }

    /// Whether Ctrl-C was pressed.
    var isInterrupted: Bool { interrupted.flag.load(ordering: .acquiring) }

    /// Restores the default handling of Ctrl-C.
    func cancel() { signals.cancel() }
}

extension JournalTail {
    /// What the commands that read a journal say about its tail on standard error.
    var warning: String {
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
