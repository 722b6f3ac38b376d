import Foundation
import Synchronization
import UnixSignals

/// Ctrl-C sets the interruption flag that replay, state and incident share; long scans poll it between chunks.
/// The signal is trapped through swift-service-lifecycle's `UnixSignalsSequence` until ``cancel()``.
struct InterruptionWatch: Sendable {
    let interrupted = ReplayCommand.Interruption()
    private let signals: TrappedSignals

    init() async {
        let interrupted = self.interrupted
        signals = await TrappedSignals([.sigint]) { _ in interrupted.flag.store(true, ordering: .releasing) }
    }

    /// Whether Ctrl-C was pressed.
    var isInterrupted: Bool { interrupted.flag.load(ordering: .acquiring) }

    /// Restores the default handling of Ctrl-C.
    func cancel() { signals.cancel() }
}
