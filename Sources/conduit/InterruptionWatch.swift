import Foundation
import Synchronization

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
