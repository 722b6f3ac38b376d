/// What Conduit coordinates: communities and their buildings, organisations and what they run or
/// inspect, work items with their plans, and the deadline.
///
/// The plan of a programme. A plan is a JSON document (format `conduit-plan/1`, described in the ConduitCore
/// article); documents of the earlier format `conduit-scenario/1` are read too, with the seed's time zone and no
/// notice rules. ``default`` is the 2023 old-community renovation plan of Jiangkou County (江府办发〔2023〕8号):
/// 甘家坝, 瑞景碧苑 and 锦绣新城, 972 households, due 2023-12-31.
public struct Scenario: Sendable, Hashable {
    /// The format signature a plan document carries in `format`.
    public static let format = "conduit-plan/1"
    /// The earlier format signature, still read.
    public static let legacyFormat = "conduit-scenario/1"

    public var id: String
    public var name: LocalizedText
    /// Where the figures come from (a document reference).
    public var reference: String?
    /// What in the scenario is not from the source document.
    public var note: String?
    /// The date by which the work is to be essentially complete.
    public var deadline: CalendarDate
    /// The programme's time zone: dates of the plan and "today" are days of its local calendar.
    public var timeZone: PlanTimeZone
    /// How long before a planned outage residents must be told, per service, with the rule's source.
    public var noticeRules: [NoticeRule]
    /// The ledger's rectification periods and escalations (``LedgerRules``).
    public var ledger: LedgerRules
    public var communities: [Community]
    public var organisations: [Organisation]
    public var workItems: [WorkItem]

    private var communityIndex: [String: Int]
    private var organisationIndex: [String: Int]
    private var workItemIndex: [String: Int]

    /// Creates a scenario and checks that it is consistent.
    public init(
        id: String, name: LocalizedText, reference: String? = nil, note: String? = nil, deadline: CalendarDate,
        timeZone: PlanTimeZone = .chinaStandardTime, noticeRules: [NoticeRule] = [], ledger: LedgerRules = LedgerRules(),
        communities: [Community], organisations: [Organisation], workItems: [WorkItem]
    ) throws(ConduitError) {
        self.init(
            unchecked: id, name: name, reference: reference, note: note, deadline: deadline, timeZone: timeZone,
            noticeRules: noticeRules, ledger: ledger, communities: communities, organisations: organisations, workItems: workItems)
        if let first = consistencyProblems().first { throw first }
    }

    /// A scenario as given, its indexes built (the first of duplicate ids wins); ``consistencyProblems()`` says what
    /// is wrong with it.
    private init(
        unchecked id: String, name: LocalizedText, reference: String?, note: String?, deadline: CalendarDate,
        timeZone: PlanTimeZone, noticeRules: [NoticeRule], ledger: LedgerRules,
        communities: [Community], organisations: [Organisation], workItems: [WorkItem]
    ) {
        self.id = id
        self.name = name
        self.reference = reference
        self.note = note
        self.deadline = deadline
        self.timeZone = timeZone
        self.noticeRules = noticeRules
        self.ledger = ledger
        self.communities = communities
        self.organisations = organisations
        self.workItems = workItems
        communityIndex = Self.index(communities.map(\.id))
        organisationIndex = Self.index(organisations.map(\.id))
        workItemIndex = Self.index(workItems.map(\.id))
    }

    private static func index(_ ids: [String]) -> [String: Int] {
        var index: [String: Int] = [:]
        for (position, id) in ids.enumerated() where index[id] == nil { index[id] = position }
        return index
    }

    /// Everything inconsistent in the plan, each with its path, in document order; empty when it is sound.
    func consistencyProblems() -> [ConduitError] {
        var problems: [ConduitError] = []
        for (path, ids) in [("communities", communities.map(\.id)), ("organisations", organisations.map(\.id)), ("workItems", workItems.map(\.id))] {
            var seen: Set<String> = []
            for (position, id) in ids.enumerated() where !seen.insert(id).inserted {
                problems.append(ConduitError(.scenarioInvalid, path: "\(path)[\(position)].id", "duplicate id \(id)"))
            }
        }
        var ruled: Set<Utility> = []
        for (position, rule) in noticeRules.enumerated() {
            if !ruled.insert(rule.service).inserted {
                problems.append(ConduitError(.scenarioInvalid, path: "noticeRules[\(position)].service", "a second rule for \(rule.service.rawValue)"))
            }
            if !(0...NoticeRule.maximumLeadHours).contains(rule.leadHours) {
                problems.append(ConduitError(.dataRange, path: "noticeRules[\(position)].leadHours", "\(rule.leadHours) is outside 0 to \(NoticeRule.maximumLeadHours)"))
            }
        }
        do { try ledger.check { organisationIndex[$0] != nil } } catch { problems.append(error) }
        for (position, community) in communities.enumerated() {
            let sum = community.buildings.reduce(0) { $0 + $1.households }
            if !community.buildings.isEmpty && sum != community.households {
                problems.append(ConduitError(.scenarioInvalid, path: "communities[\(position)].households", "\(community.households) households, but its buildings hold \(sum)"))
            }
            var buildingIDs: Set<String> = []
            for (buildingPosition, building) in community.buildings.enumerated() where !buildingIDs.insert(building.id).inserted {
                problems.append(ConduitError(.scenarioInvalid, path: "communities[\(position)].buildings[\(buildingPosition)].id", "duplicate building id \(building.id)"))
            }
        }
        for (position, item) in workItems.enumerated() {
            let community = community(item.community)
            if community == nil {
                problems.append(ConduitError(.scenarioCommunity, path: "workItems[\(position)].community", "\"\(item.community)\" is not a community of the plan"))
            }
            if let organisation = organisation(item.organisation) {
                if let utility = item.utility, !organisation.utilities.contains(utility) {
                    problems.append(ConduitError(.scenarioUtility, path: "workItems[\(position)].utility", "\(organisation.id) does not run \(utility.rawValue)"))
                }
            } else {
                problems.append(ConduitError(.scenarioOrganisation, path: "workItems[\(position)].organisation", "\"\(item.organisation)\" is not an organisation of the plan"))
            }
            if item.plannedFinish < item.plannedStart {
                problems.append(ConduitError(.dataWindow, path: "workItems[\(position)].plannedFinish", "\(item.plannedFinish) is before plannedStart \(item.plannedStart)"))
            }
            if let community, item.households < 0 || item.households > community.households {
                problems.append(ConduitError(.dataRange, path: "workItems[\(position)].households", "\(item.households) is outside 0 to \(community.households)"))
            }
        }
        return problems
    }

    /// The community with this id.
    public func community(_ id: String) -> Community? {
        communityIndex[id].map { communities[$0] }
    }

    /// The organisation with this id.
    public func organisation(_ id: String) -> Organisation? {
        organisationIndex[id].map { organisations[$0] }
    }

    /// The work item with this id.
    public func workItem(_ id: String) -> WorkItem? {
        workItemIndex[id].map { workItems[$0] }
    }

    /// The notice rule for `service`, if the plan has one.
    public func noticeRule(for service: Utility) -> NoticeRule? {
        noticeRules.first { $0.service == service }
    }

    /// All households of all communities.
    public var totalHouseholds: Int { communities.reduce(0) { $0 + $1.households } }

    /// Organisations that run a utility.
    public func organisations(running utility: Utility) -> [Organisation] {
        organisations.filter { $0.utilities.contains(utility) }
    }

    /// The scenario of the source document, decoded from ``defaultJSON``.
    public static let `default`: Scenario = {
        do {
            return try decode(defaultJSON)
        } catch {
            fatalError("the embedded default scenario is invalid: \(error)")
        }
    }()
}

/// A name or text in Chinese and English.
public struct LocalizedText: Sendable, Hashable {
    public var zh: String
    public var en: String
    public init(zh: String, en: String) {
        self.zh = zh
        self.en = en
    }
}

/// A programme's time zone: its IANA name, for showing times, and its offset from UTC, which decides the local
/// calendar day of the plan's rules.
///
/// The fold uses the fixed offset rather than the zone's rules so that a journal folds the same way on any
/// machine and with any version of the time zone database; `conduit plan check` warns when the zone's offset
/// differs from it during the programme (daylight saving time).
public struct PlanTimeZone: Sendable, Hashable {
    /// The IANA time zone name, such as `Asia/Shanghai`.
    public var identifier: String
    /// The offset from UTC in seconds, −14 h to +14 h.
    public var utcOffsetSeconds: Int64

    public init(identifier: String, utcOffsetSeconds: Int64) {
        self.identifier = identifier
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// China Standard Time: `Asia/Shanghai`, UTC+08:00.
    public static let chinaStandardTime = PlanTimeZone(identifier: "Asia/Shanghai", utcOffsetSeconds: 8 * 3600)

    /// The offset as text: `+08:00`, `-03:30`.
    public var offsetText: String {
        let magnitude = utcOffsetSeconds.magnitude / 60
        let hours = magnitude / 60, minutes = magnitude % 60
        return (utcOffsetSeconds < 0 ? "-" : "+") + (hours < 10 ? "0" : "") + String(hours) + ":" + (minutes < 10 ? "0" : "") + String(minutes)
    }

    /// Reads `±HH:MM`.
    public static func offset(from text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 6, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"), bytes[3] == UInt8(ascii: ":") else {
            return nil
        }
        let digits = [bytes[1], bytes[2], bytes[4], bytes[5]]
        guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        let values = digits.map { Int64($0 - UInt8(ascii: "0")) }
        let hours = values[0] * 10 + values[1], minutes = values[2] * 10 + values[3]
        guard minutes < 60, hours * 60 + minutes <= 14 * 60 else { return nil }
        let seconds = (hours * 60 + minutes) * 60
        return bytes[0] == UInt8(ascii: "-") ? -seconds : seconds
    }
}

/// How long before a planned outage of one service the residents must be told, and the rule it comes from.
public struct NoticeRule: Sendable, Hashable {
    /// The longest lead a plan may require: a year.
    public static let maximumLeadHours = 8_760

    public var service: Utility
    /// The lead in hours.
    public var leadHours: Int
    /// The rule's source: the regulation and article, or why the lead was chosen.
    public var source: LocalizedText
    /// Whether the lead is the plan's own assumption rather than a rule's.
    public var assumed: Bool

    public init(service: Utility, leadHours: Int, source: LocalizedText, assumed: Bool = false) {
        self.service = service
        self.leadHours = leadHours
        self.source = source
        self.assumed = assumed
    }

    /// The lead in seconds.
    public var leadSeconds: Int64 { Int64(leadHours) * 3600 }
}

/// A residential community (小区) being renovated.
public struct Community: Sendable, Hashable {
    public var id: String
    public var name: LocalizedText
    public var households: Int
    public var buildings: [Building]

    public init(id: String, name: LocalizedText, households: Int, buildings: [Building]) {
        self.id = id
        self.name = name
        self.households = households
        self.buildings = buildings
    }

    /// Whether the community has a building with this id.
    public func hasBuilding(_ id: String) -> Bool { buildings.contains { $0.id == id } }
}

/// A residential building of a community.
public struct Building: Sendable, Hashable {
    public var id: String
    public var households: Int
    public init(id: String, households: Int) {
        self.id = id
        self.households = households
    }
}

/// What part an organisation plays.
public enum OrganisationRole: String, WireEnum {
    /// Runs a utility and relocates its lines (power, water, telecom carriers, broadcast).
    case utility
    /// Inspects and accepts work (water acceptance, elevators, fire safety, joint acceptance).
    case inspector
    /// Coordinates and supervises (housing bureau, supervision office, sub-district).
    case coordinator
    /// Supports with approvals, funds, enforcement, publicity and other duties.
    case support
}

/// An organisation named by the plan, with its duties.
public struct Organisation: Sendable, Hashable {
    public var id: String
    public var name: LocalizedText
    public var roles: [OrganisationRole]
    /// Utilities it runs; an event from it may only claim these.
    public var utilities: [Utility]
    /// Inspections it performs.
    public var inspects: [InspectionKind]
    /// Its duty in the plan.
    public var duty: LocalizedText

    public init(
        id: String, name: LocalizedText, roles: [OrganisationRole], utilities: [Utility] = [],
        inspects: [InspectionKind] = [], duty: LocalizedText
    ) {
        self.id = id
        self.name = name
        self.roles = roles
        self.utilities = utilities
        self.inspects = inspects
        self.duty = duty
    }
}

/// A piece of work of one organisation at one community, with its plan: the relocation of a utility's lines, or
/// work of no utility (an added elevator, the household survey).
public struct WorkItem: Sendable, Hashable {
    public var id: String
    public var community: String
    public var organisation: String
    /// The utility whose lines the work relocates; `nil` for work of no utility.
    public var utility: Utility?
    public var title: LocalizedText
    public var plannedStart: CalendarDate
    public var plannedFinish: CalendarDate
    /// Households the work affects.
    public var households: Int
    /// The inspection whose pass accepts this work; `nil`: the work needs no acceptance (it is done when completed).
    public var acceptance: InspectionKind?

    public init(
        id: String, community: String, organisation: String, utility: Utility?, title: LocalizedText,
        plannedStart: CalendarDate, plannedFinish: CalendarDate, households: Int, acceptance: InspectionKind?
    ) {
        self.id = id
        self.community = community
        self.organisation = organisation
        self.utility = utility
        self.title = title
        self.plannedStart = plannedStart
        self.plannedFinish = plannedFinish
        self.households = households
        self.acceptance = acceptance
    }
}

// MARK: - Decoding

extension Scenario {
    /// Decodes a scenario document.
    /// - Throws: ``ConduitError`` with the JSON path: `json.*` for syntax, `event.missing`, `event.type`,
    ///   `event.unknown_field`, `event.format`, `data.enum` for structure, `scenario.*` for consistency.
    public static func decode(_ bytes: [UInt8]) throws(ConduitError) -> Scenario {
        guard bytes.count <= 4 << 20 else {
            throw ConduitError(.eventOversize, path: "$", "a scenario is limited to 4 MiB")
        }
        return try decode(document: try JSONValue.parse(bytes), path: "$")
    }

    /// Decodes a plan document already parsed, such as the `data` of a `conduit.plan` event; errors carry paths
    /// below `path` (`data.workItems[3].utility`). The first problem is thrown (``problems(in:)`` lists them all).
    public static func decode(document: JSONValue, path: String) throws(ConduitError) -> Scenario {
        var problems: [ConduitError] = []
        let plan = decode(document: document, path: path, problems: &problems)
        if let first = problems.first { throw first }
        guard let plan else { throw ConduitError(.scenarioInvalid, path: path, "not a plan") }
        return plan
    }

    /// Every problem of a plan document, each with its path, in document order: what is malformed (every element
    /// of the document is read, whatever is wrong with the others), then, once the structure is right, everything
    /// inconsistent. Empty when ``decode(_:)`` succeeds.
    public static func problems(in bytes: [UInt8]) -> [ConduitError] {
        guard bytes.count <= 4 << 20 else { return [ConduitError(.eventOversize, path: "$", "a plan is limited to 4 MiB")] }
        let document: JSONValue
        do { document = try JSONValue.parse(bytes) } catch { return [error] }
        var problems: [ConduitError] = []
        _ = decode(document: document, path: "$", problems: &problems)
        return problems
    }

    /// The plan of `document`, or `nil` with what is wrong appended to `problems`.
    static func decode(document: JSONValue, path: String, problems: inout [ConduitError]) -> Scenario? {
        let prefix = path == "$" ? "" : path + "."
        func attempt<T>(_ body: () throws(ConduitError) -> T) -> T? {
            do { return try body() } catch {
                problems.append(error)
                return nil
            }
        }
        /// The elements of array `key` that decode, each decoded on its own.
        func each<T>(_ root: ScenarioObject, _ key: String, _ body: (Int, JSONValue) throws(ConduitError) -> T) -> [T] {
            guard let values = attempt({ () throws(ConduitError) -> [JSONValue] in try root.array(key) }) else { return [] }
            return values.enumerated().compactMap { position, value in attempt { () throws(ConduitError) -> T in try body(position, value) } }
        }
        guard let root = attempt({ () throws(ConduitError) -> ScenarioObject in try ScenarioObject(document, path: path) }),
            let format = attempt({ () throws(ConduitError) -> String in try root.string("format") })
        else { return nil }
        guard format == Scenario.format || format == Scenario.legacyFormat else {
            problems.append(ConduitError(.eventFormat, path: root.childPath("format"), "\"\(format)\" is not \"\(Scenario.format)\""))
            return nil
        }
        let legacy = format == Scenario.legacyFormat
        let allowed: Set<String> = legacy
            ? ["format", "id", "name", "reference", "note", "deadline", "communities", "organisations", "workItems"]
            : ["format", "id", "name", "reference", "note", "deadline", "timeZone", "utcOffset", "noticeRules", "ledger",
               "communities", "organisations", "workItems"]
        for member in root.members where !allowed.contains(member.key) {
            problems.append(ConduitError(.eventUnknownField, path: root.childPath(member.key), "\"\(member.key)\" is not a field here"))
        }
        let id = attempt { () throws(ConduitError) -> String in try root.identifier("id") }
        let name = attempt { () throws(ConduitError) -> LocalizedText in try root.text("name") }
        let reference = attempt { () throws(ConduitError) -> String? in try root.optionalString("reference") } ?? nil
        let note = attempt { () throws(ConduitError) -> String? in try root.optionalString("note") } ?? nil
        let deadline = attempt { () throws(ConduitError) -> CalendarDate in try root.date("deadline") }
        var timeZone: PlanTimeZone? = .chinaStandardTime
        var noticeRules: [NoticeRule] = []
        var ledger = LedgerRules()
        if !legacy {
            if root.has("ledger") {
                ledger = attempt { () throws(ConduitError) -> LedgerRules in
                    try LedgerRules.decode(try ScenarioObject(try root.value("ledger"), path: "\(prefix)ledger"))
                } ?? ledger
            }
            let identifier = attempt { () throws(ConduitError) -> String in
                let identifier = try root.string("timeZone")
                guard identifier.utf8.count <= 64,
                    identifier.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") })
                else {
                    throw ConduitError(.eventFormat, path: root.childPath("timeZone"), "expected an IANA time zone name such as Asia/Shanghai")
                }
                return identifier
            }
            let offset = attempt { () throws(ConduitError) -> Int64 in
                let text = try root.string("utcOffset")
                guard let offset = PlanTimeZone.offset(from: text) else {
                    throw ConduitError(.eventFormat, path: root.childPath("utcOffset"), "\"\(text)\" is not an offset ±HH:MM within ±14:00, such as +08:00")
                }
                return offset
            }
            timeZone = identifier.flatMap { identifier in offset.map { PlanTimeZone(identifier: identifier, utcOffsetSeconds: $0) } }
            noticeRules = each(root, "noticeRules") { (position, value) throws(ConduitError) -> NoticeRule in
                let object = try ScenarioObject(value, path: "\(prefix)noticeRules[\(position)]")
                try object.allow(["service", "leadHours", "source", "assumed"])
                return NoticeRule(
                    service: try object.enumValue("service", Utility.self), leadHours: try object.count("leadHours"),
                    source: try object.text("source"), assumed: try object.optionalBool("assumed") ?? false)
            }
        }
        let communities = each(root, "communities") { (position, value) throws(ConduitError) -> Community in
            let object = try ScenarioObject(value, path: "\(prefix)communities[\(position)]")
            try object.allow(["id", "name", "households", "buildings"])
            let buildings = try object.array("buildings").enumerated().map { (index, value) throws(ConduitError) -> Building in
                let building = try ScenarioObject(value, path: "\(object.path).buildings[\(index)]")
                try building.allow(["id", "households"])
                return Building(id: try building.identifier("id"), households: try building.count("households"))
            }
            return Community(
                id: try object.identifier("id"), name: try object.text("name"),
                households: try object.count("households"), buildings: buildings)
        }
        let organisations = each(root, "organisations") { (position, value) throws(ConduitError) -> Organisation in
            let object = try ScenarioObject(value, path: "\(prefix)organisations[\(position)]")
            try object.allow(["id", "name", "roles", "utilities", "inspects", "duty"])
            return Organisation(
                id: try object.identifier("id"), name: try object.text("name"),
                roles: try object.enums("roles", OrganisationRole.self),
                utilities: try object.enums("utilities", Utility.self, optional: true),
                inspects: try object.enums("inspects", InspectionKind.self, optional: true),
                duty: try object.text("duty"))
        }
        let workItems = each(root, "workItems") { (position, value) throws(ConduitError) -> WorkItem in
            let object = try ScenarioObject(value, path: "\(prefix)workItems[\(position)]")
            try object.allow(["id", "community", "organisation", "utility", "title", "plannedStart", "plannedFinish", "households", "acceptance"])
            return WorkItem(
                id: try object.identifier("id"), community: try object.identifier("community"),
                organisation: try object.identifier("organisation"),
                utility: object.has("utility") ? try object.enumValue("utility", Utility.self) : nil,
                title: try object.text("title"), plannedStart: try object.date("plannedStart"),
                plannedFinish: try object.date("plannedFinish"), households: try object.count("households"),
                acceptance: object.has("acceptance") ? try object.enumValue("acceptance", InspectionKind.self) : nil)
        }
        // Consistency is judged once the structure is right: a missing element would only echo as unknown references.
        guard problems.isEmpty, let id, let name, let deadline, let timeZone else { return nil }
        let plan = Scenario(
            unchecked: id, name: name, reference: reference, note: note, deadline: deadline, timeZone: timeZone,
            noticeRules: noticeRules, ledger: ledger, communities: communities, organisations: organisations, workItems: workItems)
        problems += plan.consistencyProblems().map { ConduitError($0.code, path: prefix + $0.path, $0.reason) }
        return problems.isEmpty ? plan : nil
    }
}

// MARK: - Encoding

extension Scenario {
    /// The plan as a JSON document of format ``format``, members in the documented order; ``decode(_:)`` reads it
    /// back as an equal plan.
    public var document: JSONValue {
        func text(_ value: LocalizedText) -> JSONValue {
            .object([.init("zh", .string(value.zh)), .init("en", .string(value.en))])
        }
        func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
        var members: [JSONValue.Member] = [
            .init("format", .string(Scenario.format)), .init("id", .string(id)), .init("name", text(name)),
        ]
        if let reference { members.append(.init("reference", .string(reference))) }
        if let note { members.append(.init("note", .string(note))) }
        members += [
            .init("deadline", .string(deadline.description)),
            .init("timeZone", .string(timeZone.identifier)),
            .init("utcOffset", .string(timeZone.offsetText)),
            .init("noticeRules", .array(noticeRules.map { rule in
                var fields: [JSONValue.Member] = [
                    .init("service", .string(rule.service.rawValue)), .init("leadHours", .number(String(rule.leadHours))),
                    .init("source", text(rule.source)),
                ]
                if rule.assumed { fields.append(.init("assumed", .bool(true))) }
                return .object(fields)
            })),
        ]
        if !ledger.isEmpty { members.append(.init("ledger", ledger.document)) }
        members += [
            .init("communities", .array(communities.map { community in
                .object([
                    .init("id", .string(community.id)), .init("name", text(community.name)),
                    .init("households", .number(String(community.households))),
                    .init("buildings", .array(community.buildings.map { building in
                        .object([.init("id", .string(building.id)), .init("households", .number(String(building.households)))])
                    })),
                ])
            })),
            .init("organisations", .array(organisations.map { organisation in
                var fields: [JSONValue.Member] = [
                    .init("id", .string(organisation.id)), .init("name", text(organisation.name)),
                    .init("roles", strings(organisation.roles.map(\.rawValue))),
                ]
                if !organisation.utilities.isEmpty { fields.append(.init("utilities", strings(organisation.utilities.map(\.rawValue)))) }
                if !organisation.inspects.isEmpty { fields.append(.init("inspects", strings(organisation.inspects.map(\.rawValue)))) }
                fields.append(.init("duty", text(organisation.duty)))
                return .object(fields)
            })),
            .init("workItems", .array(workItems.map { item in
                var fields: [JSONValue.Member] = [
                    .init("id", .string(item.id)), .init("community", .string(item.community)),
                    .init("organisation", .string(item.organisation)),
                ]
                if let utility = item.utility { fields.append(.init("utility", .string(utility.rawValue))) }
                fields += [
                    .init("title", text(item.title)), .init("plannedStart", .string(item.plannedStart.description)),
                    .init("plannedFinish", .string(item.plannedFinish.description)),
                    .init("households", .number(String(item.households))),
                ]
                if let acceptance = item.acceptance { fields.append(.init("acceptance", .string(acceptance.rawValue))) }
                return .object(fields)
            })),
        ]
        return .object(members)
    }

    /// The plan's canonical JSON: ``document``, compact. Two plans are the same plan when these bytes are equal.
    public var canonicalJSON: [UInt8] { document.encoded }
}

/// Reads the members of one object of a scenario document, with paths for every error.
struct ScenarioObject {
    let members: [JSONValue.Member]
    let path: String

    init(_ value: JSONValue, path: String) throws(ConduitError) {
        guard case .object(let members) = value else {
            throw ConduitError(.eventType, path: path, "expected an object")
        }
        self.members = members
        self.path = path
    }

    func childPath(_ key: String) -> String { JSONPath.member(path, key) }

    func has(_ key: String) -> Bool { members.contains { $0.key == key } }

    func optionalArray(_ key: String) throws(ConduitError) -> [JSONValue] {
        has(key) ? try array(key) : []
    }

    func allow(_ keys: Set<String>) throws(ConduitError) {
        for member in members where !keys.contains(member.key) {
            throw ConduitError(.eventUnknownField, path: childPath(member.key), "\"\(member.key)\" is not a field here")
        }
    }

    func value(_ key: String) throws(ConduitError) -> JSONValue {
        guard let member = members.first(where: { $0.key == key }) else {
            throw ConduitError(.eventMissing, path: childPath(key), "the required field \(key) is missing")
        }
        return member.value
    }

    func string(_ key: String) throws(ConduitError) -> String {
        guard case .string(let text) = try value(key), !text.isEmpty else {
            throw ConduitError(.eventType, path: childPath(key), "expected a non-empty string")
        }
        return text
    }

    func optionalString(_ key: String) throws(ConduitError) -> String? {
        guard members.contains(where: { $0.key == key }) else { return nil }
        return try string(key)
    }

    func optionalBool(_ key: String) throws(ConduitError) -> Bool? {
        guard members.contains(where: { $0.key == key }) else { return nil }
        guard case .bool(let flag) = try value(key) else {
            throw ConduitError(.eventType, path: childPath(key), "expected true or false")
        }
        return flag
    }

    func identifier(_ key: String) throws(ConduitError) -> String {
        let text = try string(key)
        guard Identifier.isValid(text) else {
            throw ConduitError(.eventFormat, path: childPath(key), "\"\(text)\" is not an identifier (1 to 64 characters a-z, 0-9, '-')")
        }
        return text
    }

    func count(_ key: String) throws(ConduitError) -> Int {
        guard case .number(let text) = try value(key), let number = Int(text) else {
            throw ConduitError(.eventType, path: childPath(key), "expected an integer")
        }
        guard number >= 0 else { throw ConduitError(.dataRange, path: childPath(key), "\(number) is below 0") }
        return number
    }

    func date(_ key: String) throws(ConduitError) -> CalendarDate {
        let text = try string(key)
        do {
            return try CalendarDate(iso8601: text)
        } catch {
            throw ConduitError(error.code, path: childPath(key), error.reason)
        }
    }

    func text(_ key: String) throws(ConduitError) -> LocalizedText {
        let object = try ScenarioObject(try value(key), path: childPath(key))
        try object.allow(["zh", "en"])
        return LocalizedText(zh: try object.string("zh"), en: try object.string("en"))
    }

    func array(_ key: String) throws(ConduitError) -> [JSONValue] {
        guard case .array(let elements) = try value(key) else {
            throw ConduitError(.eventType, path: childPath(key), "expected an array")
        }
        return elements
    }

    func enumValue<E: WireEnum>(_ key: String, _ type: E.Type) throws(ConduitError) -> E {
        let text = try string(key)
        guard let value = E(rawValue: text) else {
            throw ConduitError(.dataEnum, path: childPath(key), "\"\(text)\" is not one of \(E.choices)")
        }
        return value
    }

    func enums<E: WireEnum>(_ key: String, _ type: E.Type, optional: Bool = false) throws(ConduitError) -> [E] {
        if optional && !members.contains(where: { $0.key == key }) { return [] }
        return try array(key).enumerated().map { (index, element) throws(ConduitError) -> E in
            guard case .string(let text) = element, let value = E(rawValue: text) else {
                throw ConduitError(.dataEnum, path: "\(childPath(key))[\(index)]", "expected one of \(E.choices)")
            }
            return value
        }
    }
}
