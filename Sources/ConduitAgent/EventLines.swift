import ConduitCore
import ConduitJournal
import Foundation

/// Events from JSON lines: a stream (standard input, a pipe) or the files dropped in a spool directory, each valid
/// event published through an ``Agent`` (stored in its outbox), each bad line reported with its number and skipped.
/// Linear time and bounded memory whatever the input; only regular files are read from a directory.
public enum EventLines {
    /// What a reader of lines keeps of its bad lines: the first ``maximumKept`` (each quoted up to ``quoteBytes``),
    /// and how many there were in all. Its memory, and the report made of it, stay bounded whatever the input.
    public struct LineFailures: Sendable {
        public static let maximumKept = 1000
        public static let quoteBytes = 200
        public private(set) var kept: [(line: Int, quote: String, reason: String)] = []
        public private(set) var count = 0

        public mutating func add(line: Int, bytes: ArraySlice<UInt8>, reason: String) {
            count += 1
            guard kept.count < Self.maximumKept else { return }
            var quote = String(decoding: bytes.prefix(Self.quoteBytes), as: UTF8.self)
            if bytes.count > Self.quoteBytes { quote += "…" }
            kept.append((line, quote.escapingControlCharacters(), reason))
        }

        /// The report written beside a file: the kept failures, and how many more there were.
        public var report: String {
            var text = kept.map { "line \($0.line): \($0.reason)\n\($0.quote)\n" }.joined()
            if count > kept.count { text += "… and \(count - kept.count) more rejected line(s)\n" }
            return text
        }
    }

    /// The longest line taken as an event: one event and its line break (a longer one is rejected unread).
    public static let maximumLineBytes = EventCodec.maximumEventBytes + 2

    /// Forwards the events of `handle`, one JSON object a line, in linear time and bounded memory: a line longer
    /// than an event can be is rejected without being kept. Stops at the end of the input, or when `shouldStop`
    /// (checked at least every fifth of a second while the input is quiet).
    @discardableResult
    public static func forward(
        _ handle: FileHandle, name: String, agent: Agent, onRejected: (String) -> Void, shouldStop: () -> Bool
    ) -> LineFailures {
        var failures = LineFailures()
        var buffer: [UInt8] = []
        var scanned = 0  // bytes of `buffer` already searched for a line break
        var skipping = false  // inside a line that is too long: drop bytes until its end
        var lineNumber = 0
        func reject(_ bytes: ArraySlice<UInt8>, _ reason: String) {
            failures.add(line: lineNumber, bytes: bytes, reason: reason)
            onRejected("rejected \(name):\(lineNumber): \(reason)")
        }
        func take(_ line: ArraySlice<UInt8>) {
            lineNumber += 1
            var bytes = line
            while let last = bytes.last, last == 13 || last == 32 { bytes.removeLast() }
            guard !bytes.isEmpty else { return }
            do {
                let event = try EventCodec.decode(Array(bytes))
                try agent.publish([event])
            } catch {
                reject(bytes, "\(error)")
            }
        }
        while !shouldStop() {
            // Wait for input a fifth of a second at a time, so that Ctrl-C is noticed while the input is quiet.
            var descriptor = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 200)
            if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer += chunk
            var start = 0
            while let newline = buffer[(start + scanned)...].firstIndex(of: 10) {
                if skipping {
                    skipping = false
                } else {
                    take(buffer[start..<newline])
                }
                start = newline + 1
                scanned = 0
            }
            buffer.removeSubrange(..<start)
            scanned = buffer.count
            if buffer.count > maximumLineBytes {
                if !skipping {
                    lineNumber += 1
                    reject(buffer[...], "longer than \(maximumLineBytes) bytes: not an event; skipped to its end")
                    skipping = true
                }
                buffer.removeAll(keepingCapacity: true)
                scanned = 0
            }
        }
        if !buffer.isEmpty && !skipping && !shouldStop() { take(buffer[...]) }
        return failures
    }

    /// Forwards *.jsonl files dropped in `directory`, oldest name first, until `shouldStop`: each is renamed
    /// `.done` once its valid events are in the outbox, with a `.rejected` report beside it when lines were bad.
    public static func forwardDirectory(
        _ directory: String, agent: Agent, onRejected: (String) -> Void, note: (String) -> Void, shouldStop: () -> Bool
    ) {        var unmovable: Set<String> = []
        var skipped: Set<String> = []
        while !shouldStop() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names.filter({ $0.hasSuffix(".jsonl") && !unmovable.contains($0) && !skipped.contains($0) }).sorted() {
                if shouldStop() { break }
                let path = directory + "/" + name
                // Regular files only, never followed through a link: a link could name a file elsewhere (whose lines
                // would land in the report here), a FIFO or a device could be read for ever.
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                guard info.st_mode & S_IFMT == S_IFREG else {
                    skipped.insert(name)
                    note("\(name): not a regular file (a link, a FIFO or a device); skipped".escapingControlCharacters())
                    continue
                }
                // A file changed within the last second may still be being written: take it on a later pass.
                if Double(time(nil)) - Double(info.st_mtim.tv_sec) < 1 { continue }
                let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard descriptor >= 0 else { continue }
                var opened = stat()
                guard fstat(descriptor, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG else {
                    close(descriptor)  // replaced between the look and the open
                    continue
                }
                let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
                let failures = forward(handle, name: name, agent: agent, onRejected: onRejected, shouldStop: shouldStop)
                try? handle.close()
                if shouldStop() {
                    // Part of it may be in the outbox already; it is read again next time (the broker stores each
                    // event once: same source and id).
                    note("\(name): interrupted; it will be read again".escapingControlCharacters())
                    break
                }
                if failures.count > 0 {
                    // Replaced whole (a link at that name is replaced, not followed).
                    try? AtomicFile.replace(path + ".rejected", with: Array(failures.report.utf8), durable: false)
                }
                // Everything valid is in the outbox (durable) before the file is marked done. A name already done
                // before gets a suffix; a file that cannot be renamed is reported and never read again.
                var done = path + ".done"
                var attempt = 1
                while FileManager.default.fileExists(atPath: done) {
                    attempt += 1
                    done = path + ".\(attempt).done"
                }
                do {
                    try FileManager.default.moveItem(atPath: path, toPath: done)
                } catch {
                    unmovable.insert(name)
                    note("\(name): forwarded, but it cannot be renamed to \((done as NSString).lastPathComponent) (\(error.localizedDescription)); it will not be read again while this agent runs".escapingControlCharacters())
                }
                note("\(name): forwarded, \(failures.count) line(s) rejected".escapingControlCharacters())
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }
}
