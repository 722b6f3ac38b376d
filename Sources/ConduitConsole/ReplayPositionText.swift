import ConduitReplay
import Foundation

extension ReplayPosition {
    /// `playing #42  2023-07-01T08:30:00Z  37%  (12 of 30)`: where a re-published replay is, for standard error;
    /// with `keys`, the keys that pause and quit it follow.
    public func statusLine(withKeys keys: Bool) -> String {
        let state = isWaiting ? "waiting" : isPaused ? "paused" : "playing"
        let sequence = self.sequence.map { "#\($0)" } ?? "#-"
        var line = "\(state) \(sequence)  \(recordedTime.rfc3339)  "
            + String(format: "%.0f%%", percent) + "  (\(published) of \(total))"
        if keys { line += "  space: pause/resume, q: quit" }
        return line
    }
}
