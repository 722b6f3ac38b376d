import ArgumentParser
import ConduitConsole
import ConduitCore
import ConduitReplay
import Foundation

/// `conduit incident`: everything that touched one work item or outage, as a timeline with the durations.
struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident",
        abstract: "Everything that touched one work item or outage: a timeline, who published each step, the durations.",
        discussion: """
            Reads the journal directory read-only (safe while the broker runs) and folds it with the aggregator's \
            fold. For a work item: its progress reports and inspections, the outages it caused and every report of \
            them. For an outage — by its key <community>/<service>/<subject> as `conduit state` lists it, or by its \
            subject alone — every report of it. Both with the alerts about them: those an aggregator published, and \
            those the fold derives on replay (marked *). Then the durations: notice lead time, outage length against \
            the planned window, time from a failed inspection to the re-inspection, start and finish against the plan.

            --since/--until or --from-seq/--to-seq limit the timeline to a window; earlier events are still folded. \
            Ctrl-C stops cleanly; nothing is printed then.

            Examples:
              conduit incident ganjiaba-power
              conduit incident ruijing-biyuan/water/2023-07-03T01:00:00Z --time-zone Asia/Shanghai
              conduit incident gjb-cut-1 --json
            """
    )

    @Argument(help: ArgumentHelp("A work item id, an outage key, or an outage's subject.", valueName: "outage-key | work-item-id"))
    var id: String

    @OptionGroup var journal: JournalDirectoryOption

    @Option(help: "List events recorded at or after this time (RFC 3339, or a date YYYY-MM-DD: its start at the plan's UTC offset, +08:00 for the seed plan).")
    var since: String?

    @Option(help: "List events recorded before this time (RFC 3339, or a date YYYY-MM-DD: its start at the plan's UTC offset, +08:00 for the seed plan); the fold stops there.")
    var until: String?

    @Option(help: "List events from this sequence on.")
    var fromSeq: UInt64?

    @Option(help: "List events up to this sequence; the fold stops there.")
    var toSeq: UInt64?

    @OptionGroup var language: LanguageOption

    @Option(help: "The time zone of the timeline, e.g. UTC (default: the plan's, Asia/Shanghai for the seed plan).")
    var timeZone: String?

    @Flag(help: "Print the report as JSON instead of text.")
    var json = false

    func run() async throws {
        // Ctrl-C is trapped here; the report (reading and scanning the journal) is made on a thread of its own.
        let watch = await InterruptionWatch()
        defer { watch.cancel() }
        let command = self
        try await onOwnThread { try command.report(watch: watch) }
    }

    private func report(watch: InterruptionWatch) throws {
        let window = try ReplaySelection.window(fromSeq: fromSeq, toSeq: toSeq, since: since, until: until)

        let progress = ScanProgress()
        let report: IncidentReport
        do {
            report = try IncidentReplay(directory: journal.dir).report(
                for: id, window: window, progress: progress.show, shouldStop: { watch.isInterrupted })
        } catch let error as IncidentError {
            progress.finish()
            throw RuntimeFailure.exit("incident", error.description, status: RuntimeFailure.notFound)
        } catch {
            progress.finish()
            throw RuntimeFailure.exit("incident", "cannot read the journal in \(journal.dir): \(error)", status: RuntimeFailure.noInput)
        }
        progress.finish()
        try RuntimeFailure.check(report.reading)
        if json {
            FileHandle.standardOutput.write(Data(report.json() + [UInt8(ascii: "\n")]))
        } else {
            print(report.text(timeZone: try CommandPlan.timeZone(timeZone, plan: report.scenario), language: try language.language()))
        }
    }
}
