import ConduitCore
import ConduitJournal
import ConduitState
import Foundation

/// Everything that touched one work item or one outage, from the journal: a timeline of its events, of the alerts
/// about it (published ones, and those the fold derives while replaying), and the durations that matter.
public struct IncidentReport: Sendable {
    /// The format signature of the JSON document.
    public static let jsonFormat = "conduit-incident/1"

    /// What the report is about.
    public enum Subject: Sendable, Hashable {
        /// A work item of the scenario, by id.
        case workItem(String)
        /// An outage, by the key the fold gives it: `<site>/<service>/<subject, or window start…>`.
        case outage(String)

        /// The id or key.
        public var id: String {
            switch self {
            case .workItem(let id), .outage(let id): id
            }
        }
    }

    public var subject: Subject
    /// The scenario the events refer to.
    public let scenario: Scenario
    /// The work item as the fold holds it at the end (for a work item).
    public var workItem: WorkItemState?
    /// The outages of the timeline as the fold holds them at the end: the outage itself, or those the work item
    /// caused, in the order they were first reported.
    public var outages: [OutageState]
    /// The timeline, in journal order; alerts the fold derived follow the event that made them.
    public var entries: [IncidentEntry]
    /// Notice lead times, outage lengths, re-inspection delays, starts and finishes against the plan.
    public var durations: [IncidentDuration]
    /// The fold clock at the end (the last event, or the window's end).
    public var asOf: Timestamp?
    /// What reading the journal met: records read, an interruption, a torn tail.
    public var reading: JournalReading

    /// The local calendar day of ``asOf``, in the fold's time zone.
    var today: CalendarDate?
}

/// One step of an incident's timeline.
public struct IncidentEntry: Sendable, Hashable {
    /// What the step is.
    public enum Content: Sendable, Hashable {
        /// An event of the journal: a report about the subject, or an alert about it published by an aggregator.
        case event(Event)
        /// An alert about the subject that the fold raised or cleared while replaying (the same fold as the
        /// aggregator's, so it matches what an aggregator published, when one ran).
        case derivedAlert(AlertChange)
    }

    /// The journal sequence of the event, or of the event whose folding derived the alert (the last one folded
    /// when the fold's clock was advanced to the window's end).
    public var sequence: UInt64
    /// When the broker recorded the event (`nil` for a derived alert).
    public var recordedTime: Timestamp?
    public var content: Content

    /// When it happened: the event's `time`, or the fold clock when the alert changed.
    public var time: Timestamp {
        switch content {
        case .event(let event): event.time
        case .derivedAlert(let change): change.time
        }
    }
}

/// A duration that matters in an incident.
public struct IncidentDuration: Sendable, Hashable {
    /// What is measured.
    public enum Kind: String, Sendable, CaseIterable {
        /// An outage's notice ahead of its window: `windowStart − noticedAt`, against the required notice.
        case noticeLeadTime = "notice_lead_time"
        /// How long a service was off: `restoredAt − startedAt`, against the planned window.
        case outageLength = "outage_length"
        /// From a failed or conditional inspection to the next performed inspection of its kind.
        case reinspection
        /// A work item's actual start against its planned start (days; positive is late).
        case start
        /// A work item's actual finish against its planned finish (days; positive is late).
        case finish
    }

    /// A point in time: an instant, or a calendar day (work item plans).
    public enum Point: Sendable, Hashable {
        case instant(Timestamp)
        case day(CalendarDate)

        /// RFC 3339, or `YYYY-MM-DD`.
        public var text: String {
            switch self {
            case .instant(let time): time.rfc3339
            case .day(let date): date.iso8601
            }
        }
    }

    public var kind: Kind
    /// The outage key, or the work item id.
    public var subject: String
    /// Where it starts: for starts and finishes, the plan.
    public var from: Point
    /// Where it ends; `nil` while it has not (or when it was not reported).
    public var to: Point?
    /// `to − from` in seconds; while it has not ended, up to the report's end (then ``ongoing``); `nil` when unknown.
    public var seconds: Int64?
    /// Whether it has not ended at the report's end.
    public var ongoing: Bool
    /// What it is measured against, in seconds: the required notice, the planned window.
    public var expectedSeconds: Int64?
    /// A few words more: the re-inspection's result, what is missing.
    public var note: String?
}

/// Why an incident report could not be made.
public struct IncidentError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Compare codes, not messages.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Nothing in the journal is about the id.
        public static let notFound = Code("notFound")
        /// The id is the subject of several outages.
        public static let ambiguous = Code("ambiguous")
        /// Events are about the id, but none in the window.
        public static let outsideWindow = Code("outsideWindow")
    }

    public var code: Code
    /// A sentence saying what was wrong.
    public var message: String
    /// Ids to try instead: near matches (not found), or the outages an ambiguous id names.
    public var candidates: [String]
    /// The error beneath, if any.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, candidates: [String] = [], underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.candidates = candidates
        self.underlying = underlying
    }

    /// The message, and the candidates on the following lines.
    public var description: String {
        guard !candidates.isEmpty else { return message }
        let heading = code == .ambiguous ? "give one of" : "did you mean"
        return message + "; " + heading + ":\n" + candidates.map { "  " + $0 }.joined(separator: "\n")
    }
}

/// Builds ``IncidentReport``s from a journal directory: read-only, safe while a broker appends to it.
///
/// Two passes over the journal. The first decodes outage reports only, to name the outages: those a work item
/// caused (a report may name its cause only after earlier reports of the same outage), or the one an outage id
/// means (the whole key, or the part after `<site>/<service>/` — the subject the reporter gave it). The second
/// folds every event with ``AggregateState``, as `conduit state` does, and keeps what touches the subject.
public struct IncidentReplay: Sendable {
    public let directory: String
    public let scenario: Scenario
    public let options: StateOptions?

    public init(directory: String, scenario: Scenario = .default, options: StateOptions? = nil) {
        self.directory = directory
        self.scenario = scenario
        self.options = options
    }

    /// The report about `id` (a work item id, an outage key, or an outage's subject).
    ///
    /// Only the window of `window` (its sequences and recorded times) is used: events before it are folded but not
    /// listed, the fold stops at its end. `progress` gets the records read so far (both passes); `shouldStop` is
    /// polled between chunks, and when it stops the reading the report is incomplete
    /// (``JournalReading/interrupted``).
    /// - Throws: ``IncidentError`` when the id matches nothing, names several outages, or matches nothing in the
    ///   window; journal errors.
    public func report(
        for id: String, window: ReplaySelection = ReplaySelection(), progress: (UInt64) -> Void = { _ in },
        shouldStop: () -> Bool = { false }
    ) throws -> IncidentReport {
        let statistics = try JournalInspector.statistics(directory: directory)

        // Pass 1: the outages, by key, and those the id names or the work item caused.
        var outageKeys: [String] = []
        var seenKeys: Set<String> = []
        var caused: Set<String> = []
        var named: [String] = []
        let outagePrefix = Topic.prefix(kind: .outage)
        let planPrefix = Topic.prefix(kind: .plan)
        // Work items of every plan the journal states, besides those of the plan the fold starts with.
        var plannedItems = Set(scenario.workItems.map(\.id))
        var reading = try JournalScan.run(
            directory: directory, statistics: statistics, progress: progress, shouldStop: shouldStop
        ) { view in
            if view.topic.starts(with: planPrefix), let event = JournalScan.event(view), case .plan(let plan) = event.data {
                plannedItems.formUnion(plan.workItems.map(\.id))
                return true
            }
            guard view.topic.starts(with: outagePrefix), let event = JournalScan.event(view),
                let key = AggregateState.outageKey(of: event), case .outage(let report) = event.data
            else { return true }
            if seenKeys.insert(key).inserted {
                outageKeys.append(key)
                if key == id || Self.reference(ofOutage: key) == id { named.append(key) }
            }
            if report.causedBy == id { caused.insert(key) }
            return true
        }
        let firstPass = reading.scanned
        if reading.interrupted { return empty(.workItem(id), reading) }

        let subject: IncidentReport.Subject
        if plannedItems.contains(id) {
            subject = .workItem(id)
        } else if named.count == 1 {
            subject = .outage(named[0])
        } else if named.count > 1 {
            throw IncidentError(.ambiguous, "\"\(id)\" is the subject of \(named.count) outages", candidates: named)
        } else {
            throw IncidentError(
                .notFound, "nothing in the journal in \(directory) is about \"\(id)\": it is not a work item of the plan nor an outage",
                candidates: Self.nearMatches(id, workItems: plannedItems.sorted(), outages: outageKeys))
        }

        // Pass 2: fold everything up to the window's end, keep what touches the subject.
        var collector = IncidentCollector(
            subject: subject, linkedOutages: subject.isWorkItem ? caused : [subject.id], window: window)
        var state = AggregateState(scenario: scenario, options: options)
        let second = try JournalScan.run(
            directory: directory, statistics: statistics, progress: { progress(firstPass + $0) }, shouldStop: shouldStop
        ) { view in
            if view.sequence > window.toSequence { return false }
            if let until = window.until, view.recordedTime >= until.microsecondsSinceEpoch { return false }
            guard let event = JournalScan.event(view) else { return true }
            let changes = state.apply(event)
            collector.add(event, sequence: view.sequence, recordedTime: view.recordedTime, changes: changes)
            return true
        }
        reading.scanned += second.scanned
        reading.interrupted = second.interrupted
        if let until = window.until, !second.interrupted {
            collector.addAdvance(state.advance(to: until), afterSequence: second.lastSequence ?? 0)
        }
        if second.interrupted { return empty(subject, reading) }

        if collector.entries.isEmpty {
            guard collector.outside > 0 else {
                throw IncidentError(.notFound, "no event in the journal in \(directory) is about \(subject.description)")
            }
            throw IncidentError(
                .outsideWindow,
                "\(collector.outside) event(s) are about \(subject.description), none in the window; the first is sequence "
                    + "\(collector.firstOutside!), the last \(collector.lastOutside!)")
        }

        var report = IncidentReport(
            subject: subject, scenario: state.scenario, workItem: subject.isWorkItem ? state.workItem(id) : nil,
            outages: state.outages.filter { collector.linkedOutages.contains($0.key) }, entries: collector.entries,
            durations: [], asOf: state.now, reading: reading, today: state.today)
        report.durations = report.measure(options: state.options)
        return report
    }

    private func empty(_ subject: IncidentReport.Subject, _ reading: JournalReading) -> IncidentReport {
        IncidentReport(
            subject: subject, scenario: scenario, workItem: nil, outages: [], entries: [], durations: [], asOf: nil,
            reading: reading, today: nil)
    }

    /// The part of an outage key after `<site>/<service>/`: the reporter's subject, or the window's start….
    static func reference(ofOutage key: String) -> Substring {
        let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count == 3 ? parts[2] : Substring(key)
    }

    /// Up to five work items and outage keys close to `id`: containing it or contained in it, else within a few
    /// edits of it (or of an outage's subject).
    static func nearMatches(_ id: String, workItems: [String], outages: [String]) -> [String] {
        let wanted = id.lowercased()
        var scored: [(score: Int, candidate: String)] = []
        for (candidate, names) in workItems.map({ ($0, [$0]) }) + outages.map({ ($0, [$0, String(reference(ofOutage: $0))]) }) {
            var best = Int.max
            for name in names.map({ $0.lowercased() }) {
                if name.contains(wanted) || wanted.contains(name) {
                    best = 0
                } else {
                    let distance = editDistance(wanted, name)
                    if distance <= max(2, wanted.count / 3) { best = min(best, distance) }
                }
            }
            if best < .max { scored.append((best, candidate)) }
        }
        return scored.sorted { ($0.score, $0.candidate) < ($1.score, $1.candidate) }.prefix(5).map(\.candidate)
    }

    /// The Levenshtein distance between two strings, by characters.
    static func editDistance(_ first: String, _ second: String) -> Int {
        let a = Array(first)
        let b = Array(second)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension IncidentReport.Subject: CustomStringConvertible {
    var isWorkItem: Bool {
        if case .workItem = self { return true }
        return false
    }

    /// `work item <id>` or `outage <key>`.
    public var description: String {
        switch self {
        case .workItem(let id): "work item \(id)"
        case .outage(let key): "outage \(key)"
        }
    }
}

/// Keeps, while the journal is folded, the events and alert changes that touch a subject. No I/O.
struct IncidentCollector {
    let subject: IncidentReport.Subject
    /// The outages of the report: those the work item caused, or the outage itself.
    let linkedOutages: Set<String>
    let window: ReplaySelection
    /// What alert keys may mention: the subject's id and its outages' keys.
    let mentioned: [String]
    /// `source#id` of every event about the subject so far (alerts refer to events this way).
    private(set) var refs: Set<String> = []
    private(set) var entries: [IncidentEntry] = []
    /// Events about the subject outside the window, and the first and last of their sequences.
    private(set) var outside = 0
    private(set) var firstOutside: UInt64?
    private(set) var lastOutside: UInt64?

    init(subject: IncidentReport.Subject, linkedOutages: Set<String>, window: ReplaySelection) {
        self.subject = subject
        self.linkedOutages = linkedOutages
        self.window = window
        mentioned = [subject.id] + linkedOutages.sorted().filter { $0 != subject.id }
    }

    /// Whether the event reports on the subject: its work item, or one of its outages.
    func isAbout(_ event: Event) -> Bool {
        if case .workItem(let id) = subject, event.workItem == id { return true }
        guard let key = AggregateState.outageKey(of: event) else { return false }
        return linkedOutages.contains(key)
    }

    /// Whether an alert is about the subject: its key names the subject or one of its outages (as a whole
    /// component of the key), or it refers to an event about the subject.
    func isAbout(alertKey key: String, refs alertRefs: [String]) -> Bool {
        mentioned.contains { Self.mentions(key, $0) } || alertRefs.contains(where: refs.contains)
    }

    /// Whether `name` appears in `key` as a whole: after a `/` or `+`, and before the key's end, a `+` or (for a
    /// work item id, which has no `/`) a `/`. Outage keys hold `/` themselves and end alert keys or precede a `+`.
    static func mentions(_ key: String, _ name: String) -> Bool {
        let slashEnds = !name.contains("/")
        var searched = key.startIndex..<key.endIndex
        while let found = key.range(of: name, range: searched) {
            let before = found.lowerBound == key.startIndex ? nil : key[key.index(before: found.lowerBound)]
            let after = found.upperBound == key.endIndex ? nil : key[found.upperBound]
            if (before == "/" || before == "+") && (after == nil || after == "+" || (slashEnds && after == "/")) { return true }
            searched = key.index(after: found.lowerBound)..<key.endIndex
        }
        return false
    }

    /// Takes one folded event and the alert changes its folding returned.
    mutating func add(_ event: Event, sequence: UInt64, recordedTime: Int64, changes: [AlertChange]) {
        let inWindow = sequence >= window.fromSequence && window.matches(recordedTime: recordedTime)
        var about = isAbout(event)
        if about {
            refs.insert(event.source + "#" + event.id)
        } else if case .alert(let report) = event.data {
            about = isAbout(alertKey: report.key, refs: report.refs)
        }
        if about {
            if inWindow {
                entries.append(IncidentEntry(
                    sequence: sequence, recordedTime: Timestamp(microsecondsSinceEpoch: recordedTime), content: .event(event)))
            } else if event.kind != .alert {
                outside += 1
                if firstOutside == nil { firstOutside = sequence }
                lastOutside = sequence
            }
        }
        if inWindow { addAdvance(changes, afterSequence: sequence) }
    }

    /// Takes the alert changes of the fold's clock moving on (or of an event), after the event `sequence`.
    mutating func addAdvance(_ changes: [AlertChange], afterSequence sequence: UInt64) {
        for change in changes where isAbout(alertKey: change.key, refs: change.refs) {
            entries.append(IncidentEntry(sequence: sequence, recordedTime: nil, content: .derivedAlert(change)))
        }
    }
}

// MARK: - Durations

extension IncidentReport {
    /// The durations of the report's outages and work item, as of ``asOf``.
    func measure(options: StateOptions) -> [IncidentDuration] {
        var durations: [IncidentDuration] = []
        if let workItem { durations += Self.plan(workItem, today: today) + Self.reinspections(workItem, asOf: asOf) }
        for outage in outages { durations += Self.measure(outage, options: options, asOf: asOf) }
        return durations
    }

    static func seconds(_ from: Timestamp, _ to: Timestamp) -> Int64 {
        (to.microsecondsSinceEpoch - from.microsecondsSinceEpoch) / 1_000_000
    }

    /// Notice lead time and outage length against the required notice and the planned window.
    static func measure(_ outage: OutageState, options: StateOptions, asOf: Timestamp?) -> [IncidentDuration] {
        let report = outage.report
        var durations: [IncidentDuration] = []
        var window: Int64?
        if let start = report.windowStart, let end = report.windowEnd { window = seconds(start, end) }
        if let start = report.windowStart, let noticed = report.noticedAt {
            let lead = seconds(noticed, start)
            let required = options.requiredNoticeSeconds(for: report.service)
            durations.append(IncidentDuration(
                kind: .noticeLeadTime, subject: outage.key, from: .instant(noticed), to: .instant(start), seconds: lead,
                ongoing: false, expectedSeconds: required, note: lead < required ? "short of the required notice" : nil))
        } else if report.nature == .planned, report.windowStart != nil {
            durations.append(IncidentDuration(
                kind: .noticeLeadTime, subject: outage.key, from: .instant(report.windowStart!), to: nil, seconds: nil,
                ongoing: false, expectedSeconds: options.requiredNoticeSeconds(for: report.service), note: "no notice reported"))
        }
        if let started = report.startedAt {
            let restored = report.restoredAt
            let end = restored ?? asOf
            durations.append(IncidentDuration(
                kind: .outageLength, subject: outage.key, from: .instant(started), to: restored.map(IncidentDuration.Point.instant),
                seconds: end.map { seconds(started, $0) }, ongoing: restored == nil, expectedSeconds: window,
                note: restored == nil
                    ? (report.status == .restored ? "restored, but no restoredAt reported" : "not restored") : nil))
        }
        return durations
    }

    /// From each failed or conditional inspection to the next performed inspection of its kind.
    static func reinspections(_ item: WorkItemState, asOf: Timestamp?) -> [IncidentDuration] {
        var durations: [IncidentDuration] = []
        let performed = item.inspections.filter { $0.report.status == .performed }
        for (position, record) in performed.enumerated() {
            guard record.report.result == .failed || record.report.result == .conditional else { continue }
            let failedAt = record.report.performedAt ?? record.time
            let subject = "\(item.item.id) \(record.report.kind.rawValue)"
            let result = record.report.result!.rawValue
            if let next = performed[(position + 1)...].first(where: { $0.report.kind == record.report.kind }) {
                let at = next.report.performedAt ?? next.time
                durations.append(IncidentDuration(
                    kind: .reinspection, subject: subject, from: .instant(failedAt), to: .instant(at), seconds: seconds(failedAt, at),
                    ongoing: false, expectedSeconds: nil,
                    note: "\(result), re-inspected: \(next.report.result?.rawValue ?? "no result")"))
            } else {
                durations.append(IncidentDuration(
                    kind: .reinspection, subject: subject, from: .instant(failedAt), to: nil,
                    seconds: asOf.map { seconds(failedAt, $0) }, ongoing: true, expectedSeconds: nil,
                    note: "\(result), not re-inspected"))
            }
        }
        return durations
    }

    /// Actual start and finish against the plan, in days.
    static func plan(_ item: WorkItemState, today: CalendarDate?) -> [IncidentDuration] {
        func days(_ from: CalendarDate, _ to: CalendarDate) -> Int64 { Int64(to.daysSinceEpoch - from.daysSinceEpoch) * 86_400 }
        func measure(_ kind: IncidentDuration.Kind, planned: CalendarDate, actual: CalendarDate?, happened: Bool) -> IncidentDuration {
            if let actual {
                return IncidentDuration(
                    kind: kind, subject: item.item.id, from: .day(planned), to: .day(actual), seconds: days(planned, actual),
                    ongoing: false, expectedSeconds: nil, note: nil)
            }
            if happened {
                return IncidentDuration(
                    kind: kind, subject: item.item.id, from: .day(planned), to: nil, seconds: nil, ongoing: false,
                    expectedSeconds: nil, note: "no actual date reported")
            }
            // Not yet: how far past the plan it is today (negative: still ahead of it).
            return IncidentDuration(
                kind: kind, subject: item.item.id, from: .day(planned), to: nil, seconds: today.map { days(planned, $0) },
                ongoing: true, expectedSeconds: nil, note: kind == .start ? "not started" : "not finished")
        }
        let status = item.status ?? .planned
        let started = status != .planned && status != .scheduled
        let finished = status == .completed || status == .accepted
        guard status != .cancelled else { return [] }
        return [
            measure(.start, planned: item.plannedStart, actual: item.actualStart, happened: started),
            measure(.finish, planned: item.plannedFinish, actual: item.actualFinish, happened: finished),
        ]
    }
}
