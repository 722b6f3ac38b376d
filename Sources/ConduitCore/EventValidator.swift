/// Checks what one event can get wrong by itself, against a scenario.
///
/// Rejected here (each with a stable code and the path):
/// - payload values out of range or contradicting each other: percent outside 0–100 (`data.range`),
///   a window or date range that ends before it begins (`data.window`), a restoration before the start
///   (`data.order`), a result on a requested inspection (`data.conflict`), required fields for the status
///   (`event.missing`);
/// - references the scenario does not know: community (`scenario.community`), work item
///   (`scenario.work_item`), organisation (`scenario.organisation`), building (`scenario.building`),
///   and a utility the source organisation does not run (`scenario.utility`);
/// - inspections out of their authority: an authority that does not carry out inspections of that kind
///   (`scenario.organisation` at `data.authority`), and a performed inspection reported by anyone but its
///   authority (`auth.forbidden` at `source`): a utility may request an acceptance, not pass its own work.
///
/// Also rejected: an outage for more households than the buildings it lists hold (`data.range`), a work item
/// causing an outage at another community (`scenario.work_item` at `data.causedBy`), a report of a planned outage
/// that leaves out its window without naming the outage by `subject` (`event.missing`), and an acknowledgement of a
/// ledger entry by anyone but a coordinator of the plan (`auth.forbidden`). ``completed(_:)`` fills in `site` and
/// `utility` from the work item.
///
/// What shows only across events (accepted without a passed acceptance, restored without a start)
/// is never rejected; ``Lifecycle`` has the rules the aggregator uses to raise alerts for it.
public struct EventValidator: Sendable {
    /// The organisation id reserved for Conduit's own components (the aggregator's alerts):
    /// sources `/conduit/…` are accepted without being in the scenario.
    public static let systemOrganisation = "conduit"
    /// ``systemOrganisation``, for comparing bytes with.
    static var systemOrganisationBytes: StaticString { "conduit" }

    public let scenario: Scenario
    let lookup: Lookup

    /// Compact indexes of the scenario, keyed by `Substring` so that parts of `source` are looked up
    /// without building a `String`.
    struct Lookup: Sendable {
        // The entries hold no reference: finding one retains nothing.
        struct WorkItemEntry: Sendable {
            var community: Int
            var utility: Utility?
            /// The organisation responsible for it, at its place in ``organisationNames``: the only one that reports
            /// its progress and the outages it causes.
            var organisation: Int
        }
        struct OrganisationEntry: Sendable {
            /// The utilities it runs (``bit(_:)`` of each).
            var utilities: UInt8
            /// Its place in ``organisationNames``.
            var index: Int
        }
        let organisations: NameTable<OrganisationEntry>
        /// The organisations of the plan, then any other that a work item names (none in a consistent plan).
        let organisationNames: [Substring]
        let organisationInspects: NameTable<[InspectionKind]>
        let coordinators: NameTable<Bool>
        let communities: NameTable<Int>
        let workItems: NameTable<WorkItemEntry>
        /// The topic of a progress report about each community (or none, last) by each utility (or none, last).
        private let progressTopics: [[[UInt8]]]
        /// Whether each community's id is written in JSON as it is, with no escape.
        let communityNeedsNoEscaping: [Bool]
        /// Whether every organisation, community and work item of the plan is named by an identifier (as every plan
        /// read from JSON is): a name found in these tables is then one.
        let namesAreIdentifiers: Bool

        init(_ scenario: Scenario) {
            namesAreIdentifiers = (scenario.organisations.map(\.id) + scenario.communities.map(\.id) + scenario.workItems.map(\.id))
                .allSatisfy { Identifier.isValid($0) }
            coordinators = NameTable(
                scenario.organisations.filter { $0.roles.contains(.coordinator) }.map { (name: $0.id, value: true) })
            var names = scenario.organisations.map { Substring($0.id) }
            // Keyed by bytes, as the tables are: names that differ in bytes are different names.
            var places: [[UInt8]: Int] = [:]
            for (place, name) in names.enumerated() { places[Array(name.utf8)] = place }
            organisations = NameTable(
                scenario.organisations.enumerated().map { place, organisation in
                    (name: organisation.id,
                     value: OrganisationEntry(utilities: organisation.utilities.reduce(0) { $0 | Lookup.bit($1) }, index: place))
                })
            for item in scenario.workItems where places[Array(item.organisation.utf8)] == nil {
                places[Array(item.organisation.utf8)] = names.count
                names.append(Substring(item.organisation))
            }
            organisationNames = names
            organisationInspects = NameTable(scenario.organisations.map { (name: $0.id, value: $0.inspects) })
            let communities = NameTable(scenario.communities.enumerated().map { (name: $0.element.id, value: $0.offset) })
            self.communities = communities
            workItems = NameTable(
                scenario.workItems.map { item in
                    (name: item.id,
                     value: WorkItemEntry(
                        community: communities[item.community] ?? -1, utility: item.utility, organisation: places[Array(item.organisation.utf8)]!))
                })
            communityNeedsNoEscaping = scenario.communities.map { EventCodec.needsNoEscaping($0.id) }
            progressTopics = ([.power, .water, .telecom, .broadcast, nil] as [Utility?]).map { utility in
                (scenario.communities.map { Optional.some($0.id) } + [nil]).map { Topic.make(kind: .progress, utility: utility, community: $0) }
            }
        }

        /// The topic of a progress report by `utility` about the community at `community` (-1 for none).
        func progressTopic(utility: Utility?, community: Int) -> [UInt8] {
            let row: Int
            switch utility {
            case .power: row = 0
            case .water: row = 1
            case .telecom: row = 2
            case .broadcast: row = 3
            case nil: row = 4
            }
            return progressTopics[row][community >= 0 ? community : progressTopics[row].count - 1]
        }

        static func bit(_ utility: Utility) -> UInt8 {
            switch utility {
            case .power: 1
            case .water: 2
            case .telecom: 4
            case .broadcast: 8
            }
        }
    }

    public init(scenario: Scenario = .default) {
        self.scenario = scenario
        self.lookup = Lookup(scenario)
    }

    /// Validates an event. Decoding has already checked structure and formats.
    public func validate(_ event: Event) throws(ConduitError) {
        try Self.checkPayload(event.data)
        try checkReferences(event)
    }

    /// The topic a progress report taken the quick way is published under.
    public func progressTopic(of event: CanonicalProgress) -> [UInt8] {
        lookup.progressTopic(utility: event.utility, community: event.community)
    }

    /// The community a progress report taken the quick way is stored with as its `site`, if any.
    public func site(of event: CanonicalProgress) -> String? {
        event.community >= 0 ? scenario.communities[event.community].id : nil
    }

    /// A valid event with the attributes its topic is made of filled in where the plan decides them: `site`
    /// and `utility` from its work item (a work item of no utility leaves `utility` absent), and an outage's
    /// `utility` from its `service`. Attributes the event gives are kept (``validate(_:)`` checked them against the
    /// work item). The broker stores and publishes this form, so that the community and utility subscriptions and
    /// filters select every event about a community or utility.
    public func completed(_ event: Event) -> Event {
        var event = event
        complete(&event)
        return event
    }

    /// ``completed(_:)`` in place, without copying the event.
    public func complete(_ event: inout Event) {
        guard event.site == nil || event.utility == nil else { return }
        complete(&event, item: event.workItem.flatMap { lookup.workItems[$0] })
    }

    /// ``validate(_:)`` then ``complete(_:)``, the work item looked up once for both.
    public func validateAndComplete(_ event: inout Event) throws(ConduitError) {
        try Self.checkPayload(event.data)
        let item = try references(event)
        if event.site == nil || event.utility == nil { complete(&event, item: item) }
    }

    private func complete(_ event: inout Event, item: Lookup.WorkItemEntry?) {
        if let item {
            if event.site == nil, item.community >= 0 { event.site = scenario.communities[item.community].id }
            if event.utility == nil { event.utility = item.utility }
        }
        if event.utility == nil, case .outage(let report) = event.data { event.utility = report.service }
    }

    /// The checks that need no scenario: ranges, windows and contradictions inside the payload.
    public static func checkPayload(_ data: EventData) throws(ConduitError) {
        switch data {
        case .progress(let report):
            if let percent = report.percent {
                if percent > 100 {
                    throw ConduitError(.dataRange, path: "data.percent", "\(format(percent)) is above 100")
                }
                if percent < 0 {
                    throw ConduitError(.dataRange, path: "data.percent", "\(format(percent)) is below 0")
                }
                if (report.status == .completed || report.status == .accepted) && percent < 100 {
                    throw ConduitError(.dataConflict, path: "data.percent", "\(format(percent)) with status \(report.status.rawValue); a \(report.status.rawValue) work item is 100 percent done")
                }
            }
            if let start = report.plannedStart, let finish = report.plannedFinish, finish < start {
                throw ConduitError(.dataWindow, path: "data.plannedFinish", "\(finish) is before plannedStart \(start)")
            }
            if let start = report.actualStart, let finish = report.actualFinish, finish < start {
                throw ConduitError(.dataWindow, path: "data.actualFinish", "\(finish) is before actualStart \(start)")
            }
            if let households = report.householdsAffected, households < 0 {
                throw ConduitError(.dataRange, path: "data.householdsAffected", "\(households) is below 0")
            }
        case .inspection(let report):
            switch report.status {
            case .requested:
                if let result = report.result {
                    throw ConduitError(.dataConflict, path: "data.result", "a requested inspection has no result yet, got \"\(result.rawValue)\"")
                }
                if report.performedAt != nil {
                    throw ConduitError(.dataConflict, path: "data.performedAt", "a requested inspection has not been performed yet")
                }
            case .performed:
                guard let result = report.result else {
                    throw ConduitError(.eventMissing, path: "data.result", "a performed inspection needs result")
                }
                guard report.performedAt != nil else {
                    throw ConduitError(.eventMissing, path: "data.performedAt", "a performed inspection needs performedAt")
                }
                if result == .passed, let index = report.defects.firstIndex(where: { $0.status == .open && $0.severity.blocksAcceptance }) {
                    let defect = report.defects[index]
                    throw ConduitError(.dataConflict, path: "data.defects[\(index)].status", "an inspection that passed cannot leave \(defect.severity.rawValue) defect \(defect.id) open; use conditional or failed")
                }
            }
            var ids: Set<String> = []
            for (index, defect) in report.defects.enumerated() where !ids.insert(defect.id).inserted {
                throw ConduitError(.dataConflict, path: "data.defects[\(index)].id", "defect id \(defect.id) appears twice")
            }
        case .outage(let report):
            switch (report.windowStart, report.windowEnd) {
            case (let start?, let end?):
                if end <= start {
                    throw ConduitError(.dataWindow, path: "data.windowEnd", "the window ends at \(end), not after it begins at \(start)")
                }
            case (nil, .some):
                throw ConduitError(.eventMissing, path: "data.windowStart", "a window needs both windowStart and windowEnd")
            case (.some, nil):
                throw ConduitError(.eventMissing, path: "data.windowEnd", "a window needs both windowStart and windowEnd")
            case (nil, nil):
                // The window is announced with the outage; the reports that follow it (started, restored, cancelled)
                // may leave it out and name the outage by subject (see checkReferences).
                if report.nature == .planned && (report.status == .proposed || report.status == .noticed) {
                    throw ConduitError(.eventMissing, path: "data.windowStart", "a planned outage needs windowStart and windowEnd when it is \(report.status.rawValue)")
                }
            }
            if let started = report.startedAt, let restored = report.restoredAt, restored < started {
                throw ConduitError(.dataOrder, path: "data.restoredAt", "restored at \(restored), before it started at \(started)")
            }
            if report.households < 0 {
                throw ConduitError(.dataRange, path: "data.households", "\(report.households) is below 0")
            }
            if report.status == .restored && report.restoredAt == nil {
                throw ConduitError(.eventMissing, path: "data.restoredAt", "a restored outage needs restoredAt")
            }
            if report.status == .started && report.startedAt == nil {
                throw ConduitError(.eventMissing, path: "data.startedAt", "a started outage needs startedAt")
            }
        case .presence(let report):
            if let interval = report.heartbeatIntervalMs, interval < 100 || interval > 3_600_000 {
                throw ConduitError(.dataRange, path: "data.heartbeatIntervalMs", "\(interval) is outside 100 to 3600000")
            }
        case .alert(let report):
            if report.status == .acknowledged && !report.key.hasPrefix(report.kind.rawValue + "/") {
                throw ConduitError(.dataConflict, path: "data.key", "the key of a \(report.kind.rawValue) entry begins with \(report.kind.rawValue)/")
            }
        case .plan:
            break
        }
    }

    func checkReferences(_ event: Event) throws(ConduitError) { _ = try references(event) }

    /// The checks against the plan; the event's work item as the plan has it, if it names one.
    private func references(_ event: Event) throws(ConduitError) -> Lookup.WorkItemEntry? {
        let organisationID = event.sourceOrganisation
        let isSystem = organisationID == Self.systemOrganisation
        let utilities = lookup.organisations[organisationID]?.utilities
        if utilities == nil && !isSystem {
            throw ConduitError(.scenarioOrganisation, path: "source", "\"\(organisationID)\" is not an organisation of the scenario")
        }
        if case .alert(let report) = event.data {
            if report.status == .acknowledged {
                guard !isSystem, lookup.coordinators.contains(organisationID) else {
                    throw ConduitError(.authForbidden, path: "source", "a ledger entry is acknowledged by a coordinator of the plan; \(organisationID) is none")
                }
            } else if !isSystem {
                throw ConduitError(.authForbidden, path: "source", "alerts are derived by Conduit's aggregator; \(organisationID) cannot publish them")
            }
        }
        if event.kind == .plan {
            if !isSystem && !lookup.coordinators.contains(organisationID) {
                throw ConduitError(.authForbidden, path: "source", "the plan is changed by a coordinator of the plan; \(organisationID) is not one")
            }
            for (attribute, present) in [("utility", event.utility != nil), ("site", event.site != nil), ("workitem", event.workItem != nil)] where present {
                throw ConduitError(.dataConflict, path: attribute, "a plan event is about the whole programme; it has no \(attribute) attribute")
            }
            return nil
        }
        if let utility = event.utility, let utilities, event.kind == .progress || event.kind == .outage || event.kind == .presence,
            utilities & Lookup.bit(utility) == 0
        {
            throw ConduitError(.scenarioUtility, path: "utility", "\(organisationID) does not run \(utility.rawValue)")
        }
        var communityIndex: Int?
        if let site = event.site {
            guard let known = lookup.communities[site] else {
                throw ConduitError(.scenarioCommunity, path: "site", "\"\(site)\" is not a community of the scenario")
            }
            communityIndex = known
        }
        var namedWorkItem: Lookup.WorkItemEntry?
        if let workItemID = event.workItem {
            guard let workItem = lookup.workItems[workItemID] else {
                throw ConduitError(.scenarioWorkItem, path: "workitem", "\"\(workItemID)\" is not a work item of the scenario")
            }
            if let site = event.site, communityIndex != workItem.community {
                let owner = scenario.communities[workItem.community].id
                throw ConduitError(.scenarioWorkItem, path: "workitem", "\(workItemID) belongs to \(owner), not \(site)")
            }
            if let utility = event.utility, utility != workItem.utility {
                throw ConduitError(
                    .scenarioWorkItem, path: "workitem",
                    "\(workItemID) is \(workItem.utility.map { $0.rawValue + " work" } ?? "no utility's work"), not \(utility.rawValue)")
            }
            if communityIndex == nil { communityIndex = workItem.community }
            namedWorkItem = workItem
        }
        // Authority comes from the plan: a work item's progress, a request for its inspection and the outages it causes
        // are reported by the organisation responsible for it, whatever optional attributes the event leaves out.
        if !isSystem, let workItemID = event.workItem ?? event.outageCause,
            let owner = (namedWorkItem ?? lookup.workItems[workItemID]).map({ lookup.organisationNames[$0.organisation] }),
            !sameBytes(owner, organisationID), event.kind != .inspection || !lookup.coordinators.contains(organisationID)
        {
            let path = event.workItem != nil ? "workitem" : "data.causedBy"
            switch event.data {
            case .inspection(let report) where report.status == .performed || Substring(report.authority) == organisationID:
                break  // the authority schedules and reports its own inspections (a performed one is checked below)
            default:
                throw ConduitError(
                    .authForbidden, path: path, "\(workItemID) is the work of \(owner); \(organisationID) cannot report on it")
            }
        }
        switch event.data {
        case .progress:
            if event.workItem == nil {
                throw ConduitError(.eventMissing, path: "workitem", "a progress event needs the workitem attribute")
            }
        case .inspection(let report):
            if event.workItem == nil {
                throw ConduitError(.eventMissing, path: "workitem", "an inspection event needs the workitem attribute")
            }
            guard let inspects = lookup.organisationInspects[report.authority] else {
                throw ConduitError(.scenarioOrganisation, path: "data.authority", "\"\(report.authority)\" is not an organisation of the scenario")
            }
            if !inspects.contains(report.kind) {
                throw ConduitError(
                    .scenarioOrganisation, path: "data.authority",
                    "\(report.authority) does not carry out \(report.kind.rawValue) inspections")
            }
            if report.status == .performed && !isSystem && organisationID != Substring(report.authority) {
                throw ConduitError(
                    .authForbidden, path: "source",
                    "a performed inspection is reported by its authority \(report.authority), not by \(organisationID)")
            }
        case .outage(let report):
            // The interrupted service decides who may announce it, not the optional utility attribute.
            if !isSystem, let utilities, utilities & Lookup.bit(report.service) == 0 {
                throw ConduitError(.authForbidden, path: "data.service", "\(organisationID) does not run \(report.service.rawValue); it cannot report its outages")
            }
            guard let communityIndex else {
                throw ConduitError(.eventMissing, path: "site", "an outage event needs the site attribute")
            }
            let community = scenario.communities[communityIndex]
            for (index, building) in report.buildings.enumerated() where !community.hasBuilding(building) {
                throw ConduitError(.scenarioBuilding, path: "data.buildings[\(index)]", "\"\(building)\" is not a building of \(community.id)")
            }
            if let cause = report.causedBy {
                guard let causing = lookup.workItems[cause] else {
                    throw ConduitError(.scenarioWorkItem, path: "data.causedBy", "\"\(cause)\" is not a work item of the scenario")
                }
                if causing.community != communityIndex {
                    throw ConduitError(
                        .scenarioWorkItem, path: "data.causedBy",
                        "\(cause) is work at \(scenario.communities[causing.community].id), not at \(community.id)")
                }
            }
            if report.households > community.households {
                throw ConduitError(.dataRange, path: "data.households", "\(report.households) is more than the \(community.households) households of \(community.id)")
            }
            if !report.buildings.isEmpty {
                var listed = 0
                var counted: Set<String> = []
                for building in community.buildings where report.buildings.contains(building.id) && counted.insert(building.id).inserted {
                    listed += building.households
                }
                if report.households > listed {
                    throw ConduitError(
                        .dataRange, path: "data.households",
                        "\(report.households) is more than the \(listed) households of buildings \(report.buildings.joined(separator: ", ")) of \(community.id)")
                }
            }
            if report.windowStart == nil && report.nature == .planned && event.subject == nil {
                throw ConduitError(
                    .eventMissing, path: "subject",
                    "a report of a planned outage without its window names the outage by subject, as its notice did")
            }
        case .presence, .alert, .plan:
            break
        }
        return namedWorkItem
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
