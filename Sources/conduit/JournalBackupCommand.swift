import ArgumentParser
import ConduitConsole
import ConduitJournal
import ConduitReplay
import Foundation

extension RuntimeFailure {
    /// What was read is damaged (the live journal a backup copies): 65.
    static let dataError: Int32 = 65
    /// A read or a write failed (a full disk): 74.
    static let ioError: Int32 = 74
}

/// `conduit journal backup`: a copy of a journal, taken while the broker writes it, that is a sound journal itself.
struct JournalBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a journal, while the broker writes it, into a new directory a broker can open.",
        discussion: """
            The backup in --to (new, or empty) is a sound journal ending at a record boundary: each sealed segment \
            whole with its index, the newest up to its last complete, checksummed record when it is read (a record \
            being written is left out; later appends are not in the backup). The backup holds each segment as a \
            reader does, so retention cannot remove one it still needs; if retention removes the oldest before the \
            backup reaches it, the backup starts at the next segment. The folds' checkpoints (<journal>.state, or \
            --checkpoints) go to <backup>/state and --aggregator-checkpoint to <backup>/aggregator.checkpoint, copied \
            before the journal so that it holds every sequence they describe; each is replaced by rename when written, \
            so the copy is of one whole version.

            Files are written under temporary names, synced and renamed in. backup.json is written first as \
            unfinished and last as the manifest (sequences, each file's size and CRC-32C): a backup cut off by a crash \
            never looks finished, and conduit journal verify --dir <backup> checks the files against it. \
            conduit broker --data <backup> continues the sequence. To restore the checkpoints, copy <backup>/state \
            to <journal>.state and the aggregator's to its --checkpoint path.

            Exit status: 0 done; 64 a mistake in the command line; 65 the live journal is damaged (conduit journal \
            verify says where); 66 no journal at --dir, or no checkpoint where one was named; 73 --to exists and is \
            not empty; 74 a read or write failed, a full disk say; 130 interrupted. A backup that fails leaves nothing.
            """
    )

    @OptionGroup var directory: JournalDirectoryOption

    @Option(name: .customLong("to"), help: ArgumentHelp("The backup directory: new, or empty.", valueName: "directory"))
    var target: String

    @Option(help: ArgumentHelp(
        "The folds' checkpoints to copy (default: <journal>.state, when it exists).", valueName: "directory"))
    var checkpoints: String?

    @Flag(help: "Copy no fold checkpoints.")
    var noCheckpoints = false

    @Option(help: ArgumentHelp("The aggregator's checkpoint file to copy (what conduit aggregator --checkpoint names).", valueName: "file"))
    var aggregatorCheckpoint: String?

    func validate() throws {
        if checkpoints != nil && noCheckpoints { throw ValidationError("give --checkpoints or --no-checkpoints, not both") }
    }

    func run() async throws {
        // Ctrl-C is trapped: the backup stops between blocks and removes what it copied.
        let watch = await InterruptionWatch()
        defer { watch.cancel() }
        let command = self
        try await onOwnThread { try command.backup(watch: watch) }
    }

    private func backup(watch: InterruptionWatch) throws {
        var options = JournalBackupOptions()
        if !noCheckpoints {
            let folds = checkpoints ?? StateCheckpoints.beside(journal: directory.dir).directory
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folds, isDirectory: &isDirectory) && isDirectory.boolValue {
                options.companions.append(JournalBackupCompanion(source: folds, name: Self.foldCheckpoints))
            } else if checkpoints != nil {
                throw RuntimeFailure.exit(
                    "journal backup", "no fold checkpoints directory at \(folds)", status: RuntimeFailure.noInput)
            }
        }
        if let aggregatorCheckpoint {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: aggregatorCheckpoint, isDirectory: &isDirectory), !isDirectory.boolValue
            else {
                throw RuntimeFailure.exit(
                    "journal backup", "no aggregator checkpoint file at \(aggregatorCheckpoint)", status: RuntimeFailure.noInput)
            }
            options.companions.append(JournalBackupCompanion(source: aggregatorCheckpoint, name: Self.aggregatorCheckpoint))
        }
        let progress = ScanProgress()
        options.observe = { step in
            if case .copied(let bytes, let total) = step {
                progress.show(line: "copied \(Self.megabytes(bytes)) of \(Self.megabytes(total)) MB…")
            }
        }
        options.shouldStop = { watch.isInterrupted }
        let report: JournalBackupReport
        do {
            report = try JournalBackup.run(from: directory.dir, to: target, options: options)
        } catch {
            progress.finish()
            let (message, status) = explain(error)
            throw RuntimeFailure.exit("journal backup", message, status: status)
        }
        progress.finish()
        print(summary(report))
        checkAggregatorCheckpoint(report)
    }

    /// The backup's names for what it copies beside the journal.
    static let foldCheckpoints = "state"
    static let aggregatorCheckpoint = "aggregator.checkpoint"

    /// What went wrong, in words, and the exit status that says what kind of failure it was.
    private func explain(_ error: JournalError) -> (String, Int32) {
        let nothingLeft = "nothing of the backup was left"
        switch error.code {
        case .notAJournal:
            return ("no journal at \(directory.dir): \(error.message)", RuntimeFailure.noInput)
        case .notAvailable where error.path != nil && error.message.hasPrefix("nothing to copy"):
            return ("no file or directory at \(error.path!) to copy", RuntimeFailure.noInput)
        case .targetExists:
            return ("\(target): \(error.message)", RuntimeFailure.cannotCreate)
        case .invalidArgument:
            return ("\(error.message)", RuntimeFailure.usage)
        case .corrupt:
            return (
                "the journal in \(directory.dir) is damaged, so a copy would not be sound: \(error); \(nothingLeft) (conduit journal verify --dir \(directory.dir) says more)",
                RuntimeFailure.dataError
            )
        case .ioFailed where error.errno == ENOSPC:
            return ("the disk is full: \(error); \(nothingLeft)", RuntimeFailure.ioError)
        case .ioFailed:
            return ("\(error); \(nothingLeft)", RuntimeFailure.ioError)
        case .interrupted:
            return ("interrupted; \(nothingLeft)", RuntimeFailure.interrupted)
        default:
            return ("\(error); \(nothingLeft)", RuntimeFailure.failure)
        }
    }

    private func summary(_ report: JournalBackupReport) -> String {
        let sequences = report.records > 0 ? "sequences \(report.firstSequence)...\(report.lastSequence)" : "no records"
        let seconds = Double(report.elapsed.components.seconds) + Double(report.elapsed.components.attoseconds) / 1e18
        var lines = [
            "backup of \(report.manifest.source) in \(report.directory): \(sequences), \(report.segments) segment(s), "
                + "\(report.journalBytes) byte(s), \(String(format: "%.2f", seconds)) s"
        ]
        if let tail = report.leftOut {
            lines.append(
                "  left out: \(tail.bytes) byte(s) at the end of \(tail.path), not a complete record when read (\(tail.reason))")
        }
        if let removed = report.removedByRetention.first {
            lines.append(
                "  retention removed the segment(s) from sequence \(removed) before the backup reached them: it starts at \(report.firstSequence)")
        }
        for index in report.rebuiltIndexes {
            lines.append("  \(index): written from its segment (the journal's was missing or did not match)")
        }
        for copy in report.companions {
            let place = "from \(copy.companion.source) in \(report.directory)/\(copy.companion.name)"
            lines.append(
                copy.companion.name == Self.aggregatorCheckpoint
                    ? "  aggregator checkpoint: \(copy.bytes) byte(s) \(place)"
                    : "  fold checkpoints: \(copy.files) file(s), \(copy.bytes) byte(s) \(place)")
        }
        lines.append("  manifest: \(report.directory)/\(JournalBackupManifest.fileName)")
        return lines.joined(separator: "\n")
    }

    /// The aggregator's checkpoint was copied before the journal, so it cannot describe a sequence past the backup's
    /// end, unless it follows another journal: say so.
    private func checkAggregatorCheckpoint(_ report: JournalBackupReport) {
        let path = report.directory + "/" + Self.aggregatorCheckpoint
        guard aggregatorCheckpoint != nil, let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let sequence = (object["lastSequence"] as? NSNumber)?.uint64Value, sequence > report.lastSequence
        else { return }
        FileHandle.standardError.write(
            Data(
                "warning: the aggregator's checkpoint is at sequence \(sequence), past the backup's last sequence \(report.lastSequence): it does not follow this journal\n"
                    .utf8))
    }

    private static func megabytes(_ bytes: UInt64) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
}
