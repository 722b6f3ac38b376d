import ArgumentParser
import ConduitConsole
import ConduitCore
import ConduitReplay
import Foundation
import Synchronization

/// `conduit replay`: a window of the journal, filtered, as a timeline, JSON lines or CSV.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a window of the journal, filtered, as a timeline, JSON lines or CSV.",
        discussion: """
            Reads the journal directory read-only: safe while the broker runs. The window is by sequence \
            (--from-seq/--to-seq) and/or recorded time (--since/--until, RFC 3339 or YYYY-MM-DD). Filters of one \
            kind are alternatives (repeat the flag), different filters must all match. A summary goes to standard \
            error; Ctrl-C stops cleanly after the current chunk.

            With --publish, re-publishes the window instead of printing it: onto an XPUB socket bound at the \
            endpoint, in the broker's fan-out format (topic, CONDUIT/1, record header with each event's original \
            sequence and recorded time, event JSON; _heartbeat/ with the latest sequence published after each \
            --heartbeat-ms without a message), so `conduit watch --fanout <endpoint>` or a dashboard subscribes to \
            it as to a broker. A filtered window keeps its original sequences, so it has gaps by design. The window \
            is read into memory first. The original spacing of the recorded times is kept, divided by --speed: \
            10 or 10x (ten times faster), 0.5x, original (1x) or max (no waiting). It starts once \
            --wait-subscribers subscribers are connected: connections counted by a socket monitor, as many \
            subscription messages received on the XPUB, then 100 ms to let the rest of their subscriptions land \
            (0 starts at once). Nothing is dropped: a slow subscriber holds the replay back. The position (sequence, \
            recorded time, percent of the window) goes to standard error. Pause and resume: the space key when \
            standard input is a terminal (q quits), or SIGUSR1 (kill -USR1 <pid>) from anywhere. Ctrl-C stops.

            Examples:
              conduit replay --kind outage --community ganjiaba
              conduit replay --since 2023-07-01 --until 2023-08-01 --format csv > july.csv
              conduit replay --work-item ganjiaba-power --format jsonl
              conduit replay --since 2023-07-01 --until 2023-07-02 --publish tcp://127.0.0.1:5581 --speed 60x
            """
    )

    @OptionGroup var journal: JournalDirectoryOption

    @Option(
        name: .customLong("query"),
        help: "Replay through a running broker's query endpoint (e.g. tcp://127.0.0.1:5572) instead of --dir (without --dir, also CONDUIT_QUERY or the profile's).")
    var queryFlag: String?

    /// The query endpoint to replay through: --query, else (without --dir) the environment's or the profile's. A bad
    /// profile is reported by the keys' resolution, which every replay goes through.
    var query: String? { try? keys.remote("query", flag: queryFlag, directoryGiven: journal.given != nil) }

    @Option(help: "The first sequence to replay.")
    var fromSeq: UInt64?

    @Option(help: "The last sequence to replay.")
    var toSeq: UInt64?

    @Option(help: "Events recorded at or after this time (RFC 3339, or a date YYYY-MM-DD: its start at the plan's UTC offset, +08:00 for the seed plan).")
    var since: String?

    @Option(help: "Events recorded before this time (RFC 3339, or a date YYYY-MM-DD: its start at the plan's UTC offset, +08:00 for the seed plan).")
    var until: String?

    @Option(help: "Only this kind: progress, inspection, outage, presence, alert (repeatable).")
    var kind: [String] = []

    @Option(help: "Only this utility: power, water, telecom, broadcast (repeatable).")
    var utility: [String] = []

    @Option(help: "Only this community id, e.g. ganjiaba (repeatable).")
    var community: [String] = []

    @Option(help: "Only events about this work item, including outages it caused (repeatable).")
    var workItem: [String] = []

    @Option(help: "Only events from this organisation, e.g. power-supply-bureau (repeatable).")
    var organisation: [String] = []

    @Option(help: "Only the events of this outage: its key as `conduit state` shows it (ganjiaba/power/<reference>), an event id, its subject or the causing work item (repeatable).")
    var outage: [String] = []

    @Option(help: "Output: timeline (for people), jsonl (the stored events), csv (for spreadsheets).")
    var format: String = "timeline"

    @OptionGroup var language: LanguageOption

    @OptionGroup var keys: ClientKeyOptions

    @Flag(help: "With --format csv: begin with a UTF-8 byte order mark, so that Excel reads Chinese text correctly.")
    var bom = false

    @Option(help: "The time zone of the timeline, e.g. UTC (default: the plan's, Asia/Shanghai for the seed plan).")
    var timeZone: String?

    @Option(help: ArgumentHelp("Re-publish the window onto a fan-out bound here, e.g. tcp://127.0.0.1:5581 (port * picks one; the endpoint is printed).", valueName: "endpoint"))
    var publish: String?

    @Option(help: "With --publish: N or Nx (N times the original pace), original, or max.")
    var speed: String = "original"

    @Option(help: "With --publish: wait for this many subscribers before starting (0: start at once).")
    var waitSubscribers: Int = 1

    @Option(help: "With --publish: a heartbeat after this many milliseconds without a message.")
    var heartbeatMs: Int = 1000

    func run() async throws {
        if let publish {
            // SIGINT/SIGTERM stop, SIGUSR1 pauses and resumes; the publisher runs on a thread of its own.
            let control = ReplayControl()
            let signals = await TrappedSignals([.sigint, .sigterm, .sigusr1]) { signal in
                if signal == .sigusr1 { control.togglePause() } else { control.stop() }
            }
            defer { signals.cancel() }
            let curve = try keys.broker()
            let selection = try selection(plan: query.map { CommandPlan.of(query: $0, curve: curve) } ?? CommandPlan.of(journal: journal.dir))
            let command = self
            try await onOwnThread { try command.runPublish(publish, selection: selection, control: control) }
            return
        }
        // Ctrl-C is trapped here; the replay (reading and scanning the journal) runs on a thread of its own.
        let watch = await InterruptionWatch()
        defer { watch.cancel() }
        let command = self
        try await onOwnThread { try command.replay(watch: watch) }
    }

    private func replay(watch: InterruptionWatch) throws {
        guard let format = ReplayFormat(rawValue: format) else {
            throw ValidationError("--format must be timeline, jsonl or csv; got \"\(format)\"")
        }
        let curve = try keys.broker()
        let scenario = query.map { CommandPlan.of(query: $0, curve: curve) } ?? CommandPlan.of(journal: journal.dir)
        let selection = try selection(plan: scenario)
        let writer = ReplayWriter(
            format: format, scenario: scenario, timeZone: try CommandPlan.timeZone(timeZone, plan: scenario),
            language: try language.language(), byteOrderMark: bom)

        let progress = ScanProgress()
        let output = FileHandle.standardOutput
        let summary: ReplaySummary
        do {
            if let query {
                summary = try BrokerReplay(endpoint: query, curve: curve).run(
                    selection, writer: writer, emit: { output.write(Data($0)) }, shouldStop: { watch.isInterrupted })
            } else {
                summary = try OfflineReplay(directory: journal.dir).run(
                    selection, writer: writer, emit: { output.write(Data($0)) }, progress: progress.show,
                    shouldStop: { watch.isInterrupted })
            }
        } catch {
            progress.finish()
            throw RuntimeFailure.exit("replay", "cannot replay \(query ?? journal.dir): \(error)", status: query == nil ? RuntimeFailure.noInput : RuntimeFailure.unavailable)
        }
        progress.finish()
        var lines = ["replayed \(summary.matched) of \(summary.scanned) events scanned"]
        if let first = summary.firstSequence, let last = summary.lastSequence { lines[0] += " (sequences \(first)…\(last))" }
        if let first = summary.journalFirst, let last = summary.journalLast { lines.append("the journal holds sequences \(first)…\(last)") }
        if let notice = summary.notice { lines.append(notice) }
        if let tail = summary.tail { lines.append(tail.warning) }
        if watch.isInterrupted { lines.append("interrupted: the output is complete up to the last sequence above") }
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// The window and filters the options select; communities must be the plan's.
    func selection(plan scenario: Scenario = .default) throws -> ReplaySelection {
        var selection = try ReplaySelection.window(fromSeq: fromSeq, toSeq: toSeq, since: since, until: until, zone: scenario.timeZone)
        selection.kinds = Set(try kind.map { try Self.value(EventKind.self, $0, option: "--kind") })
        selection.utilities = Set(try utility.map { try Self.value(Utility.self, $0, option: "--utility") })
        for id in community where scenario.community(id) == nil {
            throw ValidationError("--community \(id) is not a community of the plan \(scenario.id) (\(scenario.communities.map(\.id).joined(separator: ", ")))")
        }
        selection.communities = Set(community)
        selection.workItems = Set(workItem)
        selection.organisations = Set(organisation)
        selection.outages = Set(outage)
        return selection
    }

    /// Set by a signal handler, read between chunks of work.
    final class Interruption: Sendable {
        let flag = Atomic<Bool>(false)
    }

    /// The time zone named by `--time-zone`, or this machine's.
    static func zone(_ identifier: String?) throws -> TimeZone {
        guard let identifier else { return .current }
        guard let zone = TimeZone(identifier: identifier) else {
            throw ValidationError("--time-zone \(identifier) is not a time zone (try Asia/Shanghai or UTC)")
        }
        return zone
    }

    /// An RFC 3339 time, or a date: the start of that day in `zone` (the plan's days), never UTC midnight.
    static func time(_ text: String, option: String, zone: PlanTimeZone = .chinaStandardTime) throws -> Timestamp {
        if let date = try? CalendarDate(iso8601: text) { return date.startOfDayUTC.adding(seconds: -zone.utcOffsetSeconds) }
        do { return try Timestamp(rfc3339: text) } catch {
            throw ValidationError("\(option) \"\(text)\" is neither RFC 3339 (2023-07-01T08:00:00+08:00) nor a date (2023-07-01)")
        }
    }

    /// An RFC 3339 time with its offset: when a reported fact happened. A date alone is refused: which moment of the
    /// day it meant cannot be guessed.
    static func instant(_ text: String, option: String) throws -> Timestamp {
        if (try? CalendarDate(iso8601: text)) != nil {
            throw ValidationError("\(option) \"\(text)\" is a date; give the time too, with its offset (\(text)T09:00:00+08:00)")
        }
        do { return try Timestamp(rfc3339: text) } catch {
            throw ValidationError("\(option) \"\(text)\" is not an RFC 3339 time (2023-07-01T09:00:00+08:00)")
        }
    }

    static func value<Value: WireEnum>(_ type: Value.Type, _ text: String, option: String) throws -> Value {
        guard let value = Value(rawValue: text) else {
            throw ValidationError("\(option) must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")); got \"\(text)\"")
        }
        return value
    }
}
