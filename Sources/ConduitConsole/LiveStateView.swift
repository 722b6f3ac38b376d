import ConduitCore
import ConduitReplay
import ConduitState
import Foundation
import Synchronization

// The live view of the aggregate state, for `conduit watch --state` and `conduit demo`:
//
// - `LiveStateView.render` draws one frame as text lines, a pure function of the state;
// - `TerminalScreen` redraws frames in place on a terminal;
// - `LiveView` is what a command uses: it feeds the screen at most ten times a second on a terminal, and otherwise
//   writes plain lines (one per event and per alert change, and a roll-up now and then).

/// What a command that shows the state live talks to.
///
/// ```swift
/// let view = LiveView(scenario: .default)          // a terminal: redrawn in place; a pipe: plain lines
/// var state = AggregateState(scenario: .default)
/// for event in events {
///     let changes = state.apply(event)
///     view.update(state: state, newEvents: [event], alertChanges: changes)
/// }
/// view.finish(state: state)                        // the last frame (or a last roll-up), cursor restored
/// ```
///
/// - On a terminal (stdout is a TTY, unless `interactive` says otherwise) every update adds its events and alert
///   changes to the recent lines and redraws the frame of ``LiveStateView/render(state:recent:width:height:)`` at
///   most ten times a second, at the terminal's size. An update deferred by that limit is drawn by the next call
///   to `update` (an empty one will do: call it when idle, say every 100 ms) or by `finish`.
/// - Otherwise it writes one line per event (the timeline of `conduit replay`) and per alert raised or cleared
///   (`alert raised [kind] message`), and a roll-up line (`= #sequence …`) every `rollupEvery` events, or after
///   `rollupInterval` if anything changed since the last one, and at `finish`.
/// - Ctrl-C: the cursor is shown again the moment SIGINT or SIGTERM arrives. Stopping is the caller's job when it
///   watches the signal itself, as every `conduit` command does (a service group, or swift-service-lifecycle's
///   `UnixSignalsSequence`; trap the signals before the first update): stop feeding the view and call `finish`. A caller that does not watch them is ended as the
///   default action would (status 128 + the signal).
///
/// One thread uses a view at a time.
public final class LiveView {
    /// The display names of communities and organisations.
    public let scenario: Scenario
    /// Whether frames are redrawn in place (else plain lines).
    public let isInteractive: Bool
    private let writer: ReplayWriter
    private let rollupEvery: Int
    private let rollupInterval: Duration
    private let output: (String) -> Void
    private let clock = ContinuousClock()

    private var recent: [String] = []
    private static let recentKept = 200
    private var screen: TerminalScreen?
    private var lastDraw: ContinuousClock.Instant?
    private var pending: AggregateState?
    private var lastSize: (columns: Int, rows: Int)?
    /// What the last frame queued showed, to tell whether an update without lines changed anything.
    private var shown: Mark?

    /// The figures that change whenever the state does: cheaper to compare than the state.
    private struct Mark: Equatable {
        var sequence: UInt64
        var now: Timestamp?
        var applied: Int
        var alerts: Int

        init(_ state: AggregateState) {
            sequence = state.lastSequence
            now = state.now
            applied = state.eventsApplied
            alerts = state.activeAlerts.count
        }
    }

    private var eventsSinceRollup = 0
    private var changedSinceRollup = false
    private var lastRollup: ContinuousClock.Instant

    /// - Parameters:
    ///   - scenario: the display names of communities and organisations.
    ///   - interactive: `true` to redraw in place, `false` for plain lines, `nil` to redraw when stdout is a TTY.
    ///   - timeZone: the time zone of the event lines.
    ///   - rollupEvery: plain lines: a roll-up after this many events.
    ///   - rollupInterval: plain lines: a roll-up after this long, if anything changed.
    public convenience init(
        scenario: Scenario = .default, interactive: Bool? = nil, timeZone: TimeZone = .current, rollupEvery: Int = 100,
        rollupInterval: Duration = .seconds(10)
    ) {
        self.init(
            scenario: scenario, interactive: interactive ?? TerminalScreen.isTerminal(STDOUT_FILENO), timeZone: timeZone,
            rollupEvery: rollupEvery, rollupInterval: rollupInterval, output: { TerminalScreen.emit($0) })
    }

    /// A view whose plain lines go to `output` (each with its newline); for tests.
    public init(
        scenario: Scenario, interactive: Bool, timeZone: TimeZone, rollupEvery: Int, rollupInterval: Duration,
        output: @escaping (String) -> Void
    ) {
        self.scenario = scenario
        self.isInteractive = interactive
        self.writer = ReplayWriter(format: .timeline, scenario: scenario, timeZone: timeZone)
        self.rollupEvery = max(1, rollupEvery)
        self.rollupInterval = rollupInterval
        self.output = output
        self.lastRollup = clock.now
    }

    deinit { screen?.restore() }

    /// Shows what changed: `newEvents` just applied to `state` (in order) and the `alertChanges` they, or an
    /// advance of the fold clock, made. Either may be empty.
    public func update(state: AggregateState, newEvents: [Event], alertChanges: [AlertChange]) {
        let lines = newEvents.map(eventLine) + alertChanges.map(Self.alertLine)
        if isInteractive {
            recent.append(contentsOf: lines)
            if recent.count > Self.recentKept + 50 { recent.removeFirst(recent.count - Self.recentKept) }
            let mark = Mark(state)
            if !lines.isEmpty || mark != shown || pending != nil {
                pending = state
                shown = mark
            }
            let size = TerminalScreen.size()
            let resized = lastSize.map { $0 != size } ?? true
            if resized && pending == nil { pending = state }
            if pending != nil && (resized || lastDraw.map({ clock.now - $0 >= .milliseconds(100) }) ?? true) {
                draw(size: size)
            }
            return
        }
        for line in lines { output(line + "\n") }
        eventsSinceRollup += newEvents.count
        if !newEvents.isEmpty || !alertChanges.isEmpty { changedSinceRollup = true }
        if eventsSinceRollup >= rollupEvery || (changedSinceRollup && clock.now - lastRollup >= rollupInterval) {
            writeRollup(state)
        }
    }

    /// A note of the watcher's own (a gap filled, a warning): among the recent lines when redrawing, where standard
    /// error would be drawn over; else on standard error.
    public func note(_ text: String) {
        if isInteractive {
            recent.append(text)
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// The end: the last frame, left on the terminal with the cursor restored below it; or a last roll-up line.
    public func finish(state: AggregateState) {
        if isInteractive {
            pending = state
            draw(size: TerminalScreen.size())
            screen?.restore()
            screen = nil
        } else {
            writeRollup(state)
        }
    }

    private func draw(size: (columns: Int, rows: Int)) {
        guard let state = pending else { return }
        if screen == nil { screen = TerminalScreen() }
        screen?.draw(LiveStateView.render(state: state, recent: recent, width: size.columns, height: size.rows))
        lastDraw = clock.now
        lastSize = size
        pending = nil
    }

    private func writeRollup(_ state: AggregateState) {
        output(LiveStateView.rollupLine(state) + "\n")
        eventsSinceRollup = 0
        changedSinceRollup = false
        lastRollup = clock.now
    }

    private func eventLine(_ event: Event) -> String {
        writer.timelineLine(sequence: event.sequence ?? 0, event: event)
    }

    /// `alert raised [outage_overlap] outages … overlap …`.
    public static func alertLine(_ change: AlertChange) -> String {
        let message = change.status == .cleared && change.message.hasPrefix("cleared: ")
            ? String(change.message.dropFirst("cleared: ".count)) : change.message
        return "alert \(change.status.rawValue) [\(change.kind.rawValue)] \(message)"
    }
}

/// One frame of the live view: the aggregate state fitted to a terminal.
public enum LiveStateView {
    /// The frame for a terminal of `width` columns and `height` rows, one string per row, none wider than `width`
    /// (East Asian wide characters count two columns) and at most `height` of them:
    ///
    /// - a header: the sequence, the fold clock in the scenario's local time and its day;
    /// - the overall roll-up: percent complete against expected, late and accepted work items, households without
    ///   service;
    /// - progress bars per community and utility (the mean percent of the work items, as `conduit state` shows);
    /// - open outages, active alerts (latest first) and the `recent` lines (oldest first; the latest are kept),
    ///   sharing the rows that are left, with "… and N more" where a list is cut.
    public static func render(state: AggregateState, recent: [String], width: Int, height: Int) -> [String] {
        let width = max(1, width)
        let height = max(1, height)
        let summary = state.summary()
        let overall = summary.overall
        var top: [String] = []
        if let now = state.now {
            top.append(
                "Conduit · sequence \(state.lastSequence) · \(localTime(now, offsetSeconds: state.options.utcOffsetSeconds))"
                    + " · \(state.eventsApplied) events")
        } else {
            top.append("Conduit · sequence \(state.lastSequence) · waiting for the first event")
        }
        let open = state.outages.filter(\.isOpen)
        top.append(
            "Overall \(StateTable.bar(overall.percentComplete)) "
                + String(format: "%.0f%% (%.0f%% expected)", overall.percentComplete, overall.expectedPercent)
                + " · \(overall.itemsLate) of \(overall.workItems) late · \(overall.itemsAccepted) accepted"
                + " · \(open.count) outages open, \(overall.householdsAffectedNow) households without service")
        top.append("")
        top.append(contentsOf: progressTable(state, width: width))

        let alerts = state.activeAlerts.values.sorted { ($0.raisedAt, $1.key) > ($1.raisedAt, $0.key) }
        let late = alerts.filter { $0.kind == .behindSchedule }.count
        let names = Dictionary(uniqueKeysWithValues: state.scenario.communities.map { ($0.id, "\($0.name.zh) \($0.name.en)") })
        let sections: [Section] = [
            Section(
                title: "Open outages (\(open.count))",
                items: open.map { outage in
                    "  \(names[outage.community] ?? outage.community) \(outage.report.service.rawValue) "
                        + "\(outage.report.status.rawValue), \(outage.report.households) households (\(outage.organisation))"
                }, keepsLatest: false),
            Section(
                title: "Active alerts (\(alerts.count), \(late) behind schedule)",
                items: alerts.map { "  [\($0.kind.rawValue)] \($0.message)" }, keepsLatest: false),
            Section(title: "Recent", items: recent.map { "  " + $0 }, keepsLatest: true),
        ]
        var lines = top
        if lines.count < height { lines.append(contentsOf: layout(sections, rows: height - lines.count)) }
        return lines.prefix(height).map { TerminalText.fit($0, width) }
    }

    /// A list under a heading, cut to the rows it gets.
    struct Section {
        var title: String
        var items: [String]
        /// Whether a cut keeps the last items (a log) rather than the first (a ranking).
        var keepsLatest: Bool
    }

    /// Shares `rows` among the sections: a heading each (as many as fit), then one row at a time to each section
    /// that still has items, in turn, so a short list leaves its rows to the others.
    static func layout(_ sections: [Section], rows: Int) -> [String] {
        // One blank row before the lists when there is room for it and something below.
        var rows = rows
        var lines: [String] = []
        if rows > sections.count * 2 {
            lines.append("")
            rows -= 1
        }
        let shown = Array(sections.prefix(max(0, rows)))
        rows -= shown.count
        var given = Array(repeating: 0, count: shown.count)
        var progress = true
        while rows > 0 && progress {
            progress = false
            for index in shown.indices where rows > 0 && given[index] < shown[index].items.count {
                given[index] += 1
                rows -= 1
                progress = true
            }
        }
        for (index, section) in shown.enumerated() {
            lines.append(section.title + ":")
            let items = section.items
            let count = given[index]
            if count >= items.count {
                lines.append(contentsOf: items)
            } else if section.keepsLatest {
                lines.append(contentsOf: items.suffix(count))
            } else if count > 0 {
                lines.append(contentsOf: items.prefix(count - 1))
                lines.append("  … and \(items.count - count + 1) more")
            }
        }
        return lines
    }

    /// The table of progress bars, community by utility, fitted to `width`.
    static func progressTable(_ state: AggregateState, width: Int) -> [String] {
        let utilities = Utility.allCases
        let names = state.scenario.communities.map { "\($0.name.zh) \($0.name.en)" }
        let longest = names.map(TerminalText.width).max() ?? 9
        let nameWidth = max(6, min(longest + 2, width - utilities.count * 9))
        let cell = max(5, (width - nameWidth) / utilities.count)
        let barWidth = min(10, cell - 6)
        var lines = [TerminalText.pad("community", nameWidth) + utilities.map { TerminalText.pad($0.rawValue, cell) }.joined()]
        for (community, name) in zip(state.scenario.communities, names) {
            var row = TerminalText.pad(name, nameWidth)
            for utility in utilities {
                let items = state.workItems.filter { $0.item.community == community.id && $0.item.utility == utility }
                guard !items.isEmpty else {
                    row += TerminalText.pad("-", cell)
                    continue
                }
                let percent = items.reduce(0) { $0 + $1.percent } / Double(items.count)
                let figure = String(format: "%3.0f%%", percent)
                row += TerminalText.pad(barWidth >= 2 ? "\(StateTable.bar(percent, width: barWidth)) \(figure)" : figure, cell)
            }
            lines.append(row)
        }
        return lines
    }

    /// `= #42 as of 2023-06-01 16:30:00 +08:00: 45% complete (50% expected), …`: the state in one line.
    public static func rollupLine(_ state: AggregateState) -> String {
        let overall = state.summary().overall
        let when = state.now.map { localTime($0, offsetSeconds: state.options.utcOffsetSeconds) } ?? "the beginning"
        return "= #\(state.lastSequence) as of \(when): "
            + String(format: "%.0f%% complete (%.0f%% expected)", overall.percentComplete, overall.expectedPercent)
            + ", \(overall.itemsLate) of \(overall.workItems) work items late, \(overall.itemsAccepted) accepted"
            + ", \(state.outages.filter(\.isOpen).count) outages open, \(overall.householdsAffectedNow) households without service"
            + ", \(state.activeAlerts.count) alerts active"
    }

    /// `2023-06-01 16:30:00 +08:00`: a time in the local time of the scenario (the offset of the fold's day).
    public static func localTime(_ time: Timestamp, offsetSeconds: Int64) -> String {
        time.localText(offsetSeconds: offsetSeconds)
    }
}

/// Text measured in terminal columns: East Asian wide and full-width characters take two, combining marks none.
public enum TerminalText {
    /// The columns `scalar` takes: 0 for a combining mark or zero-width space, 2 for a wide character, else 1.
    public static func columns(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if (0x0300...0x036F).contains(value) || (0x200B...0x200F).contains(value) || (0xFE00...0xFE0F).contains(value) {
            return 0
        }
        let wide =
            (0x1100...0x115F).contains(value) || (0x2E80...0x303E).contains(value) || (0x3041...0x33FF).contains(value)
            || (0x3400...0x4DBF).contains(value) || (0x4E00...0x9FFF).contains(value) || (0xA000...0xA4CF).contains(value)
            || (0xAC00...0xD7A3).contains(value) || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value)
            || (0xFF00...0xFF60).contains(value) || (0xFFE0...0xFFE6).contains(value) || (0x1F300...0x1F64F).contains(value)
            || (0x1F900...0x1F9FF).contains(value) || (0x20000...0x3FFFD).contains(value)
        return wide ? 2 : 1
    }

    /// The columns `text` takes.
    public static func width(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + columns($1) }
    }

    /// `text` cut to at most `width` columns, ending with `…` when cut; control characters (a line break in a
    /// reported reason) become spaces so that one string stays one row.
    public static func fit(_ text: String, _ width: Int) -> String {
        var result = String.UnicodeScalarView()
        var used = 0
        let total = self.width(text)
        let limit = total > width ? width - 1 : width
        for scalar in text.unicodeScalars {
            let clean: Unicode.Scalar = scalar.properties.generalCategory == .control ? " " : scalar
            let take = columns(clean)
            if used + take > limit { break }
            result.append(clean)
            used += take
        }
        if total > width && width > 0 { result.append("…") }
        return String(result)
    }

    /// `text` fitted to `width` columns and padded with spaces to exactly `width`.
    public static func pad(_ text: String, _ width: Int) -> String {
        let fitted = fit(text, width)
        return fitted + String(repeating: " ", count: max(0, width - self.width(fitted)))
    }
}

/// Whether the cursor is hidden by a ``TerminalScreen``: read by the signal and exit handlers that show it again.
private let cursorHidden = Atomic<Bool>(false)
private let exitHandlerInstalled = Atomic<Bool>(false)

/// A terminal redrawn in place with ANSI escapes: the cursor hidden while it draws, each frame written from the
/// top-left corner with the rest of each row and of the screen cleared, the cursor shown again by ``restore()``,
/// at exit, and as soon as SIGINT or SIGTERM arrives.
final class TerminalScreen {
    private static let hideCursor = "\u{1B}[?25l"
    private static let showCursor = "\u{1B}[?25h"
    private static let home = "\u{1B}[H"
    private static let clearLine = "\u{1B}[K"
    private static let clearBelow = "\u{1B}[J"
    private var signals: [any DispatchSourceSignal] = []
    private var drawn = false

    /// Whether `descriptor` is a terminal.
    static func isTerminal(_ descriptor: Int32) -> Bool { isatty(descriptor) == 1 }

    /// The terminal's size from `TIOCGWINSZ`; 100 × 30 when it cannot tell (not a terminal).
    static func size(_ descriptor: Int32 = STDOUT_FILENO) -> (columns: Int, rows: Int) {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return (100, 30) }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    /// Writes `text` to standard output at once (one `write` per call, retried when interrupted or partial).
    static func emit(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
        bytes.removeAll()
    }

    init() {
        if !exitHandlerInstalled.exchange(true, ordering: .acquiringAndReleasing) {
            atexit {
                if cursorHidden.exchange(false, ordering: .acquiringAndReleasing) { TerminalScreen.emit(TerminalScreen.showCursor) }
            }
        }
        signals = [SIGINT, SIGTERM].map { number in
            // Not `UnixSignalsSequence`: its `signal(SIG_IGN)` would undo the handler libdispatch installed for the caller's
            // own watch of the signal. With no watch of the caller's (the default action), this one ends the program
            // as the default would have.
            var current = sigaction()
            sigaction(number, nil, &current)
            let callerHandles = current.__sigaction_handler.sa_handler != nil
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if cursorHidden.exchange(false, ordering: .acquiringAndReleasing) { TerminalScreen.emit(TerminalScreen.showCursor) }
                if !callerHandles { exit(128 + number) }
            }
            source.resume()
            return source
        }
    }

    deinit { restore() }

    /// Draws a frame: every line fitted to the width beforehand, at most as many as the terminal has rows.
    func draw(_ lines: [String]) {
        var frame = ""
        if !drawn {
            drawn = true
            cursorHidden.store(true, ordering: .releasing)
            frame += Self.hideCursor + "\u{1B}[2J"
        }
        frame += Self.home
        frame += lines.map { $0 + Self.clearLine }.joined(separator: "\r\n")
        frame += Self.clearBelow
        Self.emit(frame)
    }

    /// Leaves the last frame on the screen, puts the cursor below it and shows it. Safe to call more than once.
    func restore() {
        for source in signals { source.cancel() }
        signals = []
        guard drawn else { return }
        drawn = false
        Self.emit("\r\n")
        if cursorHidden.exchange(false, ordering: .acquiringAndReleasing) { Self.emit(Self.showCursor) }
    }
}
