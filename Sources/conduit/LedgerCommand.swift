import ArgumentParser
import ConduitConsole
import ConduitCore
import ConduitReplay
import ConduitState
import Foundation

/// `conduit ledger`: the supervision office's ledger — its entries, open, closed or all — folded from the journal.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "The supervision office's ledger (督查台账): conditions and violations, whom they are for, their deadlines.",
        discussion: """
            Folds the journal (read-only, safe while the broker runs) with the aggregator's fold, up to now, a \
            recorded time (--at) or a sequence (--seq), and prints the ledger's entries: each with its class \
            (a condition clears when its cause goes; a violation stays until a coordinator acknowledges it), its \
            kind, the responsible organisation, community and work item or outage, when it was raised, its \
            rectification deadline from the plan, its current figures and its message. --status open (the default), \
            closed or all; --organisation, --community, --kind, --class select; --by groups the table.

            A coordinator acknowledges an entry with an event: \
            conduit publish acknowledgement --org county-government-office --entry <key> --note "…"

            Examples:
              conduit ledger --dir conduit-demo/journal
              conduit ledger --dir conduit-demo/journal --status all --by organisation
              conduit ledger --dir conduit-demo/journal --class violation --format csv > violations.csv
              conduit ledger --dir conduit-demo/journal --at 2023-07-01 --community ganjiaba --format json
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    @OptionGroup var journal: JournalDirectoryOption

    @Option(help: "The ledger as it was at this recorded time (RFC 3339, or a date YYYY-MM-DD: its start at the plan's UTC offset, +08:00 for the seed plan).")
    var at: String?

    @Option(help: "The ledger after the event with this sequence.")
    var seq: UInt64?

    @Option(help: "open (conditions raised, violations not acknowledged), closed, or all.")
    var status: String = "open"

    @Option(parsing: .singleValue, help: "Only entries of this responsible organisation (repeatable).")
    var organisation: [String] = []

    @Option(parsing: .singleValue, help: "Only entries about this community (repeatable).")
    var community: [String] = []

    @Option(parsing: .singleValue, help: "Only entries of this kind, e.g. short_notice (repeatable).")
    var kind: [String] = []

    @Option(name: .customLong("class"), help: "Only conditions or only violations.")
    var ledgerClass: String?

    @Option(help: "Group the table by organisation or community.")
    var by: String = "none"

    @Option(help: "table, json or csv.")
    var format: Format = .table

    @OptionGroup var checkpoints: FoldCheckpointOptions

    /// What the options select.
    func query() throws -> LedgerQuery {
        var query = LedgerQuery()
        guard let status = LedgerQuery.Status(rawValue: status) else {
            throw ValidationError("--status must be open, closed or all; got \"\(status)\"")
        }
        query.status = status
        let scenario = Scenario.default
        for id in organisation where scenario.organisation(id) == nil {
            throw ValidationError("--organisation \(id) is not an organisation of the plan")
        }
        for id in community where scenario.community(id) == nil {
            throw ValidationError("--community \(id) is not a community of the plan")
        }
        query.organisations = Set(organisation)
        query.communities = Set(community)
        query.kinds = Set(try kind.map { try ReplayCommand.value(AlertKind.self, $0, option: "--kind") })
        if let ledgerClass { query.classes = [try ReplayCommand.value(LedgerClass.self, ledgerClass, option: "--class")] }
        return query
    }

    func validate() throws {
        _ = try query()
        guard LedgerTable.Grouping(rawValue: by) != nil else {
            throw ValidationError("--by must be organisation or community; got \"\(by)\"")
        }
        if at != nil && seq != nil { throw ValidationError("give --at or --seq, not both") }
    }

    func run() async throws {
        let watch = await InterruptionWatch()
        defer { watch.cancel() }
        let command = self
        try await onOwnThread { try command.fold(watch: watch) }
    }

    private func fold(watch: InterruptionWatch) throws {
        let replay = checkpoints.replay(journal: journal.dir)
        let time = try at.map { try ReplayCommand.time($0, option: "--at") }
        let progress = ScanProgress()
        let state: AggregateState
        let reading: JournalReading
        do {
            (state, reading) = try replay.fold(atTime: time, atSequence: seq, progress: progress.show, shouldStop: { watch.isInterrupted })
        } catch {
            progress.finish()
            throw RuntimeFailure.exit("ledger", "cannot read the journal in \(journal.dir): \(error)", status: RuntimeFailure.noInput)
        }
        progress.finish()
        try RuntimeFailure.check(reading)
        let entries = state.ledgerEntries(try query())
        switch format {
        case .json:
            FileHandle.standardOutput.write(Data(state.ledgerJSON(entries) + [UInt8(ascii: "\n")]))
        case .csv:
            FileHandle.standardOutput.write(Data(LedgerTable(state: state, entries: entries).csv.utf8))
        case .table:
            print(LedgerTable(state: state, entries: entries, grouping: LedgerTable.Grouping(rawValue: by) ?? .none).text)
        }
    }
}
