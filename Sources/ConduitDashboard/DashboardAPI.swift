import ConduitConsole
import ConduitCore
import ConduitJournal
import ConduitReplay
import ConduitState
import Foundation

/// An answer of the API, whatever serves it: a status, a media type and a body.
public struct APIResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// Extra headers (a download's file name).
    public var headers: [(String, String)] = []

    public init(status: Int = 200, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    static func json(_ body: [UInt8]) -> APIResponse { APIResponse(contentType: "application/json; charset=utf-8", body: body) }
}

/// A problem with a request, answered as `application/problem+json` (RFC 9457): a stable `type` per kind of
/// problem, a `title`, the HTTP `status` and a `detail` that says what was wrong and where.
public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    /// The kind of problem: `bad-parameter`, `not-found`, `outside-journal`, `no-journal`, `unavailable`,
    /// `unauthorised`, `not-ready`, `method-not-allowed`.
    public var kind: String
    public var title: String
    public var detail: String

    public init(status: Int, kind: String, title: String, detail: String) {
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
    }

    public var description: String { "\(status) \(kind): \(detail)" }

    static func badParameter(_ detail: String) -> Problem { Problem(status: 400, kind: "bad-parameter", title: "A parameter is not valid", detail: detail) }
    static func notFound(_ detail: String) -> Problem { Problem(status: 404, kind: "not-found", title: "Nothing has this id", detail: detail) }
    static func outsideJournal(_ detail: String) -> Problem {
        Problem(status: 416, kind: "outside-journal", title: "The window is outside the journal", detail: detail)
    }

    /// The problem document.
    public var response: APIResponse {
        let document = JSONValue.object([
            .init("type", .string("/api/v1/problems#\(kind)")), .init("title", .string(title)), .init("status", .number(String(status))),
            .init("detail", .string(detail)),
        ])
        return APIResponse(status: status, contentType: "application/problem+json", body: document.encoded)
    }
}

/// The dashboard's JSON API under `/api/v1/`, apart from its transport: each call takes the request's query
/// parameters and answers a body or a ``Problem``. The live state comes from a ``DashboardFeed``; history (a state
/// at a moment, a diff, an incident, a window of events) from the journal directory, read-only.
public struct DashboardAPI: Sendable {
    public let feed: DashboardFeed
    /// The journal to read history from; `nil`: only the live state is served.
    public let journalDirectory: String?
    /// Where folds of the journal keep their checkpoints; `nil`: none.
    public let checkpoints: StateCheckpoints?

    public init(feed: DashboardFeed, journalDirectory: String?, checkpoints: StateCheckpoints? = nil) {
        self.feed = feed
        self.journalDirectory = journalDirectory
        self.checkpoints = checkpoints
    }

    var plan: Scenario { feed.state.scenario }

    // MARK: - Calls

    /// `GET /api/v1/overview`: what the overview shows, of the live state or (`at`, `seq`) the state at a moment.
    public func overview(_ parameters: [String: String] = [:]) throws(Problem) -> APIResponse {
        try Self.known(parameters, ["at", "seq"])
        if parameters.isEmpty { return .json(Self.overview(feed.state, live: feed.status.live).encoded) }
        return .json(Self.overview(try pastState(parameters), live: false).encoded)
    }

    /// The state at the moment `at` (a time) and/or `seq` (a sequence) name, folded from the journal.
    func pastState(_ parameters: [String: String]) throws(Problem) -> AggregateState {
        var moment: Timestamp?
        if let text = parameters["at"] { moment = try time(text, "at") }
        var sequence: UInt64?
        if let text = parameters["seq"] { sequence = try Self.sequence(text, "seq") }
        if let sequence { try withinJournal(sequence, "seq") }
        let replay = try replay()
        return try fold { try replay.state(atTime: moment, atSequence: sequence) }
    }

    /// `GET /api/v1/state`: the live state, or (`at`, `seq`) the state at a moment of the journal; `path` a subtree.
    public func state(_ parameters: [String: String]) throws(Problem) -> APIResponse {
        try Self.known(parameters, ["at", "seq", "path"])
        let state: AggregateState
        if parameters["at"] != nil || parameters["seq"] != nil {
            state = try pastState(parameters.filter { $0.key != "path" })
        } else {
            state = feed.state
        }
        guard let path = parameters["path"] else { return .json(state.json()) }
        guard let subtree = state.json(at: path) else {
            throw .notFound("path \(path) names nothing in the state (try communities/<id>, workitems/<id>, outages, alerts, ledger, summary)")
        }
        return .json(subtree)
    }

    /// `GET /api/v1/diff`: what changed between two times (`from`, `to`) or two sequences (`fromSeq`, `toSeq`).
    public func diff(_ parameters: [String: String]) throws(Problem) -> APIResponse {
        try Self.known(parameters, ["from", "to", "fromSeq", "toSeq"])
        switch (parameters["from"], parameters["to"], parameters["fromSeq"], parameters["toSeq"]) {
        case (let from?, let to?, nil, nil):
            let (earlier, later) = (try time(from, "from"), try time(to, "to"))
            guard earlier <= later else { throw .badParameter("to \(to) is before from \(from)") }
            let replay = try replay()
            return .json(try fold { try replay.diff(fromTime: earlier, toTime: later).diff }.json())
        case (nil, nil, let from?, let to?):
            let (earlier, later) = (try Self.sequence(from, "fromSeq"), try Self.sequence(to, "toSeq"))
            guard earlier <= later else { throw .badParameter("toSeq \(later) is below fromSeq \(earlier)") }
            try withinJournal(later, "toSeq")
            let replay = try replay()
            return .json(try fold { try replay.diff(fromSequence: earlier, toSequence: later).diff }.json())
        default:
            throw .badParameter("give from and to (times), or fromSeq and toSeq (sequences)")
        }
    }

    /// `GET /api/v1/ledger`: the ledger's entries, filtered (`status`, `class`, `kind`, `organisation`,
    /// `community`, each a comma-separated list), as JSON or (`format=csv`) CSV that Excel opens with its Chinese
    /// text intact (UTF-8 with a byte order mark); of the live state, or `at` a moment.
    public func ledger(_ parameters: [String: String]) throws(Problem) -> APIResponse {
        try Self.known(parameters, ["status", "class", "kind", "organisation", "community", "format", "at"])
        var query = LedgerQuery()
        if let status = parameters["status"] {
            guard let value = LedgerQuery.Status(rawValue: status) else { throw .badParameter("status must be open, closed or all; got \"\(status)\"") }
            query.status = value
        }
        query.classes = Set(try Self.list(parameters["class"], "class", LedgerClass.init(rawValue:), LedgerClass.allCases.map(\.rawValue)))
        query.kinds = Set(try Self.list(parameters["kind"], "kind", AlertKind.init(rawValue:), AlertKind.allCases.map(\.rawValue)))
        query.organisations = Set(Self.split(parameters["organisation"]))
        query.communities = Set(Self.split(parameters["community"]))
        let state: AggregateState
        if parameters["at"] != nil {
            state = try pastState(["at": parameters["at"]!])
        } else {
            state = feed.state
        }
        for organisation in query.organisations where state.scenario.organisation(organisation) == nil {
            throw .badParameter("organisation \(organisation) is not an organisation of the plan \(state.scenario.id)")
        }
        for community in query.communities where !state.scenario.communities.contains(where: { $0.id == community }) {
            throw .badParameter("community \(community) is not a community of the plan \(state.scenario.id)")
        }
        let entries = state.ledgerEntries(query)
        switch parameters["format"] ?? "json" {
        case "json":
            return .json(state.ledgerJSON(entries))
        case "csv":
            let csv = [0xEF, 0xBB, 0xBF] + Array(LedgerTable(state: state, entries: entries).csv.utf8)
            return APIResponse(
                contentType: "text/csv; charset=utf-8", body: csv,
                headers: [("Content-Disposition", "attachment; filename=\"ledger-\(state.scenario.id).csv\"")])
        case let other:
            throw .badParameter("format must be json or csv; got \"\(other)\"")
        }
    }

    /// `GET /api/v1/incident?subject=<work item | outage key | outage reference>`: what `conduit incident` shows.
    public func incident(_ parameters: [String: String]) throws(Problem) -> APIResponse {
        try Self.known(parameters, ["subject"])
        guard let subject = parameters["subject"], !subject.isEmpty else { throw .badParameter("subject is required: a work item id or an outage key") }
        let directory = try journal()
        do {
            let report = try IncidentReplay(directory: directory, scenario: plan).report(for: subject)
            return .json(report.json())
        } catch let error as IncidentError {
            throw .notFound("\(error)")
        } catch {
            throw Problem(status: 503, kind: "unavailable", title: "The journal cannot be read", detail: "\(error)")
        }
    }

    /// `GET /api/v1/events`: a window of the journal as JSON lines (`application/x-ndjson`), one stored event per
    /// line with its sequence: `fromSeq`, `toSeq`, `since`, `until`, `kind`, `community`, `organisation`,
    /// `workItem`, at most `limit` events (default 10,000).
    public func events(_ parameters: [String: String]) throws(Problem) -> APIResponse {
        try Self.known(parameters, ["fromSeq", "toSeq", "since", "until", "kind", "community", "organisation", "workItem", "limit"])
        var selection = ReplaySelection()
        if let from = parameters["fromSeq"] { selection.fromSequence = try Self.sequence(from, "fromSeq") }
        if let to = parameters["toSeq"] { selection.toSequence = try Self.sequence(to, "toSeq") }
        guard selection.fromSequence <= selection.toSequence else {
            throw .badParameter("toSeq \(selection.toSequence) is below fromSeq \(selection.fromSequence)")
        }
        if let since = parameters["since"] { selection.since = try time(since, "since") }
        if let until = parameters["until"] { selection.until = try time(until, "until") }
        selection.kinds = Set(try Self.list(parameters["kind"], "kind", EventKind.init(rawValue:), EventKind.allCases.map(\.rawValue)))
        selection.communities = Set(Self.split(parameters["community"]))
        selection.organisations = Set(Self.split(parameters["organisation"]))
        selection.workItems = Set(Self.split(parameters["workItem"]))
        let limit = try parameters["limit"].map { (text) throws(Problem) -> Int in
            guard let value = Int(text), value >= 1, value <= 1_000_000 else { throw .badParameter("limit must be 1 to 1000000; got \"\(text)\"") }
            return value
        } ?? 10_000
        let directory = try journal()
        let bounds = try journalBounds()
        if let first = bounds.first, let last = bounds.last, selection.fromSequence > last || selection.toSequence < first {
            throw .outsideJournal("the journal holds sequences \(first)…\(last); the window \(selection.fromSequence)…\(selection.toSequence == .max ? "" : String(selection.toSequence)) has none of them")
        }
        var body: [UInt8] = []
        var count = 0
        do {
            _ = try OfflineReplay(directory: directory).events(selection, shouldStop: { count >= limit }) { record, _ in
                guard count < limit else { return }
                body += Array("{\"sequence\":\(record.header.sequence),\"recordedTime\":\"\(record.header.recordedTime.rfc3339)\",\"event\":".utf8)
                body += record.event
                body += Array("}\n".utf8)
                count += 1
            }
        } catch {
            throw Problem(status: 503, kind: "unavailable", title: "The journal cannot be read", detail: "\(error)")
        }
        return APIResponse(contentType: "application/x-ndjson", body: body)
    }

    /// `GET /api/v1/plan`: the plan in force, as `conduit plan show --json` prints it.
    public func planDocument() -> APIResponse { .json(plan.canonicalJSON) }

    /// `GET /api/v1/span`: the first and last sequence and recorded time of the journal, for the time slider.
    public func span() throws(Problem) -> APIResponse {
        let directory = try journal()
        do {
            let statistics = try JournalInspector.statistics(directory: directory)
            var members: [JSONValue.Member] = []
            if let first = statistics.firstSequence { members.append(.init("firstSequence", .number(String(first)))) }
            if let last = statistics.lastSequence { members.append(.init("lastSequence", .number(String(last)))) }
            if let first = statistics.firstTime {
                members.append(.init("firstRecordedTime", .string(Timestamp(microsecondsSinceEpoch: first).rfc3339)))
            }
            if let last = statistics.maxTime {
                members.append(.init("lastRecordedTime", .string(Timestamp(microsecondsSinceEpoch: last).rfc3339)))
            }
            let state = feed.state
            if let now = state.now { members.append(.init("stateTime", .string(now.rfc3339))) }
            return .json(JSONValue.object(members).encoded)
        } catch {
            throw Problem(status: 503, kind: "unavailable", title: "The journal cannot be read", detail: "\(error)")
        }
    }

    // MARK: - Pieces

    /// The overview's figures: per community and utility the roll-ups, days to the deadline, households without
    /// service now, open outages and ledger entries, agents online and silent.
    static func overview(_ state: AggregateState, live: Bool) -> JSONValue {
        let summary = state.summary()
        let today = state.today
        let deadline = state.scenario.deadline
        let daysLeft = today.map { deadline.daysSinceEpoch - $0.daysSinceEpoch }
        let openOutages = state.outages.filter { $0.isOpen }.count
        let openEntries = state.activeAlerts.count
        let online = state.agents.filter { $0.liveness == .online }.count
        let silent = state.agents.filter { $0.liveness == .stale }.count
        func rollup(_ rollup: Rollup) -> JSONValue {
            .object([
                .init("workItems", .number(String(rollup.workItems))), .init("households", .number(String(rollup.households))),
                .init("householdsWithoutService", .number(String(rollup.householdsAffectedNow))),
                .init("percentComplete", .number(String(rollup.percentComplete))),
                .init("expectedPercent", .number(String(rollup.expectedPercent))), .init("itemsLate", .number(String(rollup.itemsLate))),
                .init("itemsAccepted", .number(String(rollup.itemsAccepted))), .init("outagesOff", .number(String(rollup.outagesOff))),
                .init("outagesPlanned", .number(String(rollup.outagesPlanned))),
            ])
        }
        var members: [JSONValue.Member] = [
            .init("live", .bool(live)), .init("lastSequence", .number(String(state.lastSequence))),
            .init("plan", .string(state.scenario.id)), .init("deadline", .string(deadline.description)),
        ]
        if let now = state.now { members.append(.init("now", .string(now.rfc3339))) }
        if let today { members.append(.init("today", .string(today.description))) }
        if let daysLeft { members.append(.init("daysToDeadline", .number(String(daysLeft)))) }
        members += [
            .init("householdsWithoutService", .number(String(summary.overall.householdsAffectedNow))),
            .init("openOutages", .number(String(openOutages))), .init("openLedgerEntries", .number(String(openEntries))),
            .init("agentsOnline", .number(String(online))), .init("agentsSilent", .number(String(silent))),
            .init("overall", rollup(summary.overall)),
            .init("communities", .object(summary.communities.keys.sorted().map { .init($0, rollup(summary.communities[$0]!)) })),
            .init("utilities", .object(summary.utilities.keys.sorted { $0.rawValue < $1.rawValue }.map { .init($0.rawValue, rollup(summary.utilities[$0]!)) })),
        ]
        return .object(members)
    }

    func journal() throws(Problem) -> String {
        guard let journalDirectory else {
            throw Problem(
                status: 501, kind: "no-journal", title: "History needs the journal",
                detail: "this dashboard was started without --dir: it serves the live state only")
        }
        return journalDirectory
    }

    func replay() throws(Problem) -> StateReplay {
        StateReplay(directory: try journal(), scenario: plan, checkpoints: checkpoints)
    }

    /// Runs a fold of the journal, its failures as problems.
    func fold<Result>(_ body: () throws -> Result) throws(Problem) -> Result {
        do { return try body() } catch let problem as Problem { throw problem } catch {
            throw Problem(status: 503, kind: "unavailable", title: "The journal cannot be read", detail: "\(error)")
        }
    }

    func journalBounds() throws(Problem) -> (first: UInt64?, last: UInt64?) {
        do {
            let statistics = try JournalInspector.statistics(directory: try journal())
            return (statistics.firstSequence, statistics.lastSequence)
        } catch let problem as Problem { throw problem } catch {
            throw Problem(status: 503, kind: "unavailable", title: "The journal cannot be read", detail: "\(error)")
        }
    }

    func withinJournal(_ sequence: UInt64, _ name: String) throws(Problem) {
        let (_, last) = try journalBounds()
        guard let last, sequence <= last else {
            throw .outsideJournal("\(name) \(sequence) is beyond the journal, which ends at sequence \(last.map(String.init) ?? "0")")
        }
    }

    /// An RFC 3339 time, or a date (the start of that day in the plan's time zone).
    func time(_ text: String, _ name: String) throws(Problem) -> Timestamp {
        if let date = try? CalendarDate(iso8601: text) { return date.startOfDayUTC.adding(seconds: -plan.timeZone.utcOffsetSeconds) }
        guard let time = try? Timestamp(rfc3339: text) else {
            throw .badParameter("\(name) \"\(text)\" is neither an RFC 3339 time (2023-07-01T08:00:00+08:00) nor a date (2023-07-01)")
        }
        return time
    }

    static func sequence(_ text: String, _ name: String) throws(Problem) -> UInt64 {
        guard let value = UInt64(text), value >= 1 else { throw .badParameter("\(name) must be a sequence (a whole number from 1); got \"\(text)\"") }
        return value
    }

    static func split(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func list<Value>(_ text: String?, _ name: String, _ make: (String) -> Value?, _ allowed: [String]) throws(Problem) -> [Value] {
        var values: [Value] = []
        for item in split(text) {
            guard let value = make(item) else { throw .badParameter("\(name) \"\(item)\" is not one of \(allowed.joined(separator: ", "))") }
            values.append(value)
        }
        return values
    }

    /// A parameter no call of this route knows is a mistake worth saying (a misspelt filter would filter nothing).
    static func known(_ parameters: [String: String], _ names: [String]) throws(Problem) {
        for name in parameters.keys.sorted() where !names.contains(name) {
            throw .badParameter("unknown parameter \(name) (this route takes \(names.joined(separator: ", ")))")
        }
    }
}
