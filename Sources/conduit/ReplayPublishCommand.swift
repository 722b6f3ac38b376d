import ArgumentParser
import ConduitConsole
import ConduitCore
import ConduitReplay
import Foundation
import ZeroMQ

extension ReplayCommand {
    /// `--publish`: reads the selected window, then re-publishes it with a ``ReplayPublisher``.
    func runPublish(_ endpoint: String, selection: ReplaySelection, control: ReplayControl) throws {
        guard let speed = ReplaySpeed(argument: self.speed) else {
            throw ValidationError("--speed must be N or Nx (from 0.001 to 1000000), original or max; got \"\(self.speed)\"")
        }
        guard waitSubscribers >= 0 else { throw ValidationError("--wait-subscribers must be 0 or more") }
        guard heartbeatMs > 0 else { throw ValidationError("--heartbeat-ms must be positive") }

        var events: [ReplayedEvent] = []
        let summary: ReplaySummary
        do {
            let collect: (ReplayedEvent, Event) -> Void = { record, _ in events.append(record) }
            if let query {
                summary = try BrokerReplay(endpoint: query, curve: try keys.broker()).events(selection, shouldStop: { control.isStopped }, collect)
            } else {
                summary = try OfflineReplay(directory: journal.dir).events(selection, shouldStop: { control.isStopped }, collect)
            }
        } catch {
            throw ValidationError("cannot replay \(query ?? journal.dir): \(error)")
        }
        if let notice = summary.notice { note(notice) }
        if control.isStopped { return }

        let context = try Context()
        let publisher: ReplayPublisher
        do {
            publisher = try ReplayPublisher(context: context, endpoint: endpoint)
        } catch {
            throw ValidationError("cannot bind \(endpoint) to publish on: \(error)")
        }
        let sequences = events.first.map { "sequences \($0.header.sequence)…\(events.last!.header.sequence)" } ?? "nothing"
        note("publishing on \(publisher.endpoint) (\(events.count) events, \(sequences), at \(speed) speed)")
        if waitSubscribers > 0 { note("waiting for \(waitSubscribers) subscriber\(waitSubscribers == 1 ? "" : "s")…") }

        let keys = KeyReader(control: control)
        defer { keys?.restore() }
        let terminal = isatty(STDERR_FILENO) == 1
        var lastLine = ContinuousClock.now
        var wasPaused = false
        let started = ContinuousClock.now
        let outcome = try publisher.run(
            events, speed: speed, subscribers: waitSubscribers, heartbeatInterval: .milliseconds(heartbeatMs),
            control: control
        ) { position in
            let line = position.statusLine(withKeys: keys != nil)
            if terminal {
                FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
            } else if position.isPaused != wasPaused || position.published == position.total
                || (!position.isPaused && ContinuousClock.now - lastLine >= .seconds(1))
            {
                // Not a terminal: a line a second while playing, and at each pause, resume and the end.
                lastLine = ContinuousClock.now
                note(line)
            }
            wasPaused = position.isPaused
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - started).components.seconds)
        var result = "re-published \(outcome.published) of \(events.count) events"
        if let first = outcome.firstSequence, let last = outcome.lastSequence { result += " (sequences \(first)…\(last))" }
        result += String(format: " in %.1f s", seconds)
        if outcome.stopped { result += "; stopped before the end" }
        note(result)
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Reads single keys from standard input when it is a terminal (no line buffering, no echo): space toggles the
/// pause, q stops. A thread of its own blocks in `read`; the terminal's settings are restored by ``restore()``.
final class KeyReader {
    private var original = termios()

    /// `nil` when standard input is not a terminal.
    init?(control: ReplayControl) {
        // Only in the terminal's foreground: a background job that touched the terminal's settings would be stopped
        // (SIGTTOU); it is paused and resumed with SIGUSR1 instead.
        guard isatty(STDIN_FILENO) == 1, tcgetpgrp(STDIN_FILENO) == getpgrp(), tcgetattr(STDIN_FILENO, &original) == 0
        else { return nil }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { bytes in
            bytes[Int(VMIN)] = 1
            bytes[Int(VTIME)] = 0
        }
        guard tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0 else { return nil }
        let thread = Thread {
            var byte: UInt8 = 0
            while read(STDIN_FILENO, &byte, 1) == 1 {
                switch byte {
                case UInt8(ascii: " "): control.togglePause()
                case UInt8(ascii: "q"), UInt8(ascii: "Q"):
                    control.stop()
                    return
                default: continue
                }
            }
        }
        thread.name = "conduit-replay-keys"
        thread.start()
    }

    /// Puts the terminal back as it was.
    func restore() {
        tcsetattr(STDIN_FILENO, TCSANOW, &original)
    }
}
