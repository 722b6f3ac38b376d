import ConduitCore

extension ConduitError.Code {
    /// A state checkpoint that cannot be restored: a member missing, of the wrong type or not known
    /// to the scenario.
    public static let stateCheckpoint = ConduitError.Code(rawValue: "state.checkpoint")
}

/// Checkpoints and snapshots: the state as deterministic JSON (members sorted by key, compact).
///
/// The document (`format` `conduit-state/1`) holds what the fold needs to continue — `lastSequence`,
/// `now`, `options`, `workitems`, `outages`, `agents`, `ledger` (every entry, open and closed), `publishedAlerts`
/// and the rule clock — and derived views for readers, ignored by ``restore(json:scenario:)``: `alerts` (the open
/// entries), `summary`, `communities`, `utilities`, `organisations`, per work item `expectedPercent`,
/// `acceptedByInspections`, `openBlockingDefects` and `stale`, and per ledger entry `class`, `open` and `overdue`.
extension AggregateState {
    /// The format signature of a state document.
    public static let jsonFormat = "conduit-state/1"

    /// The whole state as deterministic JSON.
    public func json() -> [UInt8] { document().encoded }

    /// One subtree as deterministic JSON, `nil` for an unknown path.
    ///
    /// Paths are `/`-separated member names from the document's root: `communities/ganjiaba`,
    /// `utilities/water`, `organisations/power-supply-bureau`, `workitems/ganjiaba-power`, `alerts`,
    /// `outages`, `agents`, `summary`. An outage is addressed by its position: `outages/0`.
    public func json(at path: String) -> [UInt8]? {
        var value = document()
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch value {
            case .object(let members):
                guard let member = members.first(where: { $0.key == segment }) else { return nil }
                value = member.value
            case .array(let elements):
                guard let position = Int(segment), elements.indices.contains(position) else { return nil }
                value = elements[position]
            default:
                return nil
            }
        }
        return value.encoded
    }

    /// Restores a state from ``json()``: `restore(json: state.json(), scenario: state.scenario) == state`.
    /// - Throws: ``ConduitError``: `json.*` for bad JSON, `state.checkpoint` with the path of a member
    ///   missing, mistyped or unknown to `scenario`.
    public static func restore(json: [UInt8], scenario: Scenario) throws(ConduitError) -> AggregateState {
        let root = Node(value: try JSONValue.parse(json), path: "$")
        guard try root.string("format") == jsonFormat else {
            throw ConduitError(.stateCheckpoint, path: "format", "not a \(jsonFormat) document")
        }
        // A snapshot carries the plan it was folded under; one written before plans were carried is of `scenario`.
        let plan: Scenario
        if let document = try root.optionalNode("plan") {
            plan = try Scenario.decode(document: document.value, path: "plan")
        } else {
            guard try root.string("scenario") == scenario.id else {
                throw ConduitError(.stateCheckpoint, path: "scenario", "the checkpoint is of another scenario than \(scenario.id)")
            }
            plan = scenario
        }
        let options = try decodeOptions(root.node("options"))
        let followsPlan = try root.optionalBool("optionsFollowPlan") ?? false
        var state = AggregateState(scenario: plan, options: followsPlan ? nil : options)
        if let sequence = try root.optionalNode("planSequence") { state.planSequence = UInt64(try sequence.integer()) }
        state.lastSequence = UInt64(try root.int("lastSequence"))
        state.now = try root.optionalTimestamp("now")
        state.eventsApplied = try root.int("eventsApplied")
        state.eventsIgnored = try root.int("eventsIgnored")
        state.evaluatedDay = try root.optionalDate("evaluatedDay")
        state.nextTimeCheck = try root.optionalTimestamp("nextTimeCheck")

        let items = try root.node("workitems")
        for (key, _) in try items.members() where state.workItemIndex[key] == nil {
            throw ConduitError(.stateCheckpoint, path: "workitems.\(key)", "\(key) is not a work item of the scenario")
        }
        for index in state.workItems.indices {
            guard let node = try items.optionalNode(state.workItems[index].item.id) else { continue }
            try decodeWorkItem(node, into: &state.workItems[index])
        }
        for node in try root.node("outages").elements() {
            let outage = try decodeOutage(node)
            state.outageIndex[outage.key] = state.outages.count
            if outage.isOpen { state.openOutages.append(state.outages.count) }
            state.outages.append(outage)
        }
        for node in try root.node("agents").elements() {
            let agent = try decodeAgent(node)
            state.agentIndex[agent.key] = state.agents.count
            state.agents.append(agent)
        }
        for (key, node) in try root.node("ledger").members() {
            state.ledger[key] = try decodeEntry(node, key: key)
        }
        for index in state.outages.indices {
            for (entry, key) in state.outages[index].keys.all where state.ledger[key]?.isRaised ?? false {
                state.outages[index].raised.insert(entry)
            }
        }
        for index in state.workItems.indices {
            state.behindScheduleRaised[index] = state.ledger[state.itemKeys[index].behindSchedule]?.isRaised ?? false
            if state.ledger[state.itemKeys[index].deadline]?.isRaised ?? false { state.deadlineRaised.insert(index) }
        }
        for (key, node) in try root.node("publishedAlerts").members() {
            state.publishedAlerts[key] = PublishedAlert(
                report: try decodeAlertReport(node.node("report")), ref: try node.string("ref"), time: try node.timestamp("time"))
        }
        return state
    }

    // MARK: - Writing

    func document() -> JSONValue {
        let today = self.today
        let summary = summary()
        var members: [String: JSONValue] = [
            "format": .string(Self.jsonFormat),
            "scenario": .string(scenario.id),
            "lastSequence": .integer(Int64(lastSequence)),
            "eventsApplied": .integer(Int64(eventsApplied)),
            "eventsIgnored": .integer(Int64(eventsIgnored)),
            "options": encode(options),
            "optionsFollowPlan": .bool(optionsFollowPlan),
            "plan": scenario.document,
            "planSequence": .integer(Int64(planSequence)),
            "workitems": .sortedObject(Dictionary(uniqueKeysWithValues: workItems.map { ($0.item.id, encode($0, today: today)) })),
            "outages": .array(outages.map(encode)),
            "agents": .array(agents.map(encode)),
            "ledger": .sortedObject(ledger.mapValues { encode($0, today: today) }),
            "alerts": .sortedObject(ledger.filter { $0.value.isOpen }.mapValues { encode($0, today: today) }),
            "publishedAlerts": .sortedObject(publishedAlerts.mapValues(encode)),
            "summary": encode(summary),
        ]
        members["now"] = now.map { .string($0.rfc3339) }
        members["evaluatedDay"] = evaluatedDay.map { .string($0.iso8601) }
        members["nextTimeCheck"] = nextTimeCheck.map { .string($0.rfc3339) }

        var communities: [String: JSONValue] = [:]
        for community in scenario.communities {
            communities[community.id] = view(
                rollup: summary.communities[community.id] ?? Rollup(),
                workItems: workItems.filter { $0.item.community == community.id },
                outages: outages.filter { $0.community == community.id },
                extra: ["name": .sortedObject(["zh": .string(community.name.zh), "en": .string(community.name.en)])])
        }
        members["communities"] = .sortedObject(communities)
        var utilities: [String: JSONValue] = [:]
        for (utility, rollup) in summary.utilities {
            utilities[utility.rawValue] = view(
                rollup: rollup, workItems: workItems.filter { $0.item.utility == utility },
                outages: outages.filter { $0.report.service == utility }, extra: [:])
        }
        members["utilities"] = .sortedObject(utilities)
        var organisations: [String: JSONValue] = [:]
        for (organisation, rollup) in summary.organisations {
            organisations[organisation] = view(
                rollup: rollup, workItems: workItems.filter { $0.item.organisation == organisation },
                outages: outages.filter { $0.organisation == organisation }, extra: [:])
        }
        members["organisations"] = .sortedObject(organisations)
        return .sortedObject(members)
    }

    /// A community's, utility's or organisation's view: its roll-up, its work items, its outages and
    /// the active alerts about them.
    private func view(rollup: Rollup, workItems items: [WorkItemState], outages scoped: [OutageState], extra: [String: JSONValue]) -> JSONValue {
        let itemIDs = Set(items.map(\.item.id))
        let outageKeys = Set(scoped.map(\.key))
        let alerts = ledger.values.filter { entry in
            entry.isOpen
                && (entry.subject.workItem.map(itemIDs.contains) ?? false || entry.subject.outage.map(outageKeys.contains) ?? false)
        }.map(\.key).sorted()
        var members = extra
        members["rollup"] = encode(rollup)
        members["workitems"] = .array(items.map { .string($0.item.id) })
        members["outages"] = .array(scoped.map { .string($0.key) })
        members["alerts"] = .array(alerts.map(JSONValue.string))
        return .sortedObject(members)
    }

    private func encode(_ options: StateOptions) -> JSONValue {
        .sortedObject([
            "requiredNoticeMs": .sortedObject(
                Dictionary(uniqueKeysWithValues: options.requiredNotice.map { ($0.key.rawValue, .integer(milliseconds($0.value))) })),
            "behindScheduleThreshold": .double(options.behindScheduleThreshold),
            "missedHeartbeats": .integer(Int64(options.missedHeartbeats)),
            "defaultHeartbeatIntervalMs": .integer(milliseconds(options.defaultHeartbeatInterval)),
            "utcOffsetSeconds": .integer(options.utcOffsetSeconds),
        ])
    }

    private func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    private func encode(_ item: WorkItemState, today: CalendarDate?) -> JSONValue {
        var members: [String: JSONValue] = [
            "percent": .double(item.percent),
            "plannedStart": .string(item.plannedStart.iso8601),
            "plannedFinish": .string(item.plannedFinish.iso8601),
            "householdsAffected": .integer(Int64(item.householdsAffected)),
            "inspections": .array(item.inspections.map { record in
                .sortedObject(["time": .string(record.time.rfc3339), "ref": .string(record.ref), "report": encode(record.report)])
            }),
            "community": .string(item.item.community),
            "organisation": .string(item.item.organisation),
            "acceptedByInspections": .bool(item.isAcceptedByInspections),
            "openBlockingDefects": .array(item.openBlockingDefects.map { .string($0.id) }),
            "stale": .bool(item.reportedBy.flatMap { agent(String($0.dropFirst())) }.map { $0.liveness == .stale } ?? false),
        ]
        members["utility"] = item.item.utility.map { .string($0.rawValue) }
        members["status"] = item.status.map { .string($0.rawValue) }
        members["actualStart"] = item.actualStart.map { .string($0.iso8601) }
        members["actualFinish"] = item.actualFinish.map { .string($0.iso8601) }
        members["blockingReason"] = item.blockingReason.map(JSONValue.string)
        members["statusSince"] = item.statusSince.map { .string($0.rfc3339) }
        members["reportedAt"] = item.reportedAt.map { .string($0.rfc3339) }
        members["lastRef"] = item.lastRef.map(JSONValue.string)
        members["reportedBy"] = item.reportedBy.map(JSONValue.string)
        members["expectedPercent"] = today.map { .double(item.expectedPercent(on: $0)) }
        return .sortedObject(members)
    }

    private func encode(_ report: InspectionReport) -> JSONValue {
        var members: [String: JSONValue] = [
            "status": .string(report.status.rawValue),
            "kind": .string(report.kind.rawValue),
            "authority": .string(report.authority),
            "defects": .array(report.defects.map { defect in
                var fields: [String: JSONValue] = [
                    "id": .string(defect.id), "severity": .string(defect.severity.rawValue),
                    "description": .string(defect.description), "status": .string(defect.status.rawValue),
                ]
                fields["dueDate"] = defect.dueDate.map { .string($0.iso8601) }
                return .sortedObject(fields)
            }),
        ]
        members["scheduledAt"] = report.scheduledAt.map { .string($0.rfc3339) }
        members["performedAt"] = report.performedAt.map { .string($0.rfc3339) }
        members["result"] = report.result.map { .string($0.rawValue) }
        return .sortedObject(members)
    }

    private func encode(_ outage: OutageState) -> JSONValue {
        let report = outage.report
        var reportMembers: [String: JSONValue] = [
            "status": .string(report.status.rawValue),
            "nature": .string(report.nature.rawValue),
            "service": .string(report.service.rawValue),
            "buildings": .array(report.buildings.map(JSONValue.string)),
            "households": .integer(Int64(report.households)),
        ]
        reportMembers["windowStart"] = report.windowStart.map { .string($0.rfc3339) }
        reportMembers["windowEnd"] = report.windowEnd.map { .string($0.rfc3339) }
        reportMembers["noticedAt"] = report.noticedAt.map { .string($0.rfc3339) }
        reportMembers["startedAt"] = report.startedAt.map { .string($0.rfc3339) }
        reportMembers["restoredAt"] = report.restoredAt.map { .string($0.rfc3339) }
        reportMembers["causedBy"] = report.causedBy.map(JSONValue.string)
        var members: [String: JSONValue] = [
            "key": .string(outage.key),
            "community": .string(outage.community),
            "organisation": .string(outage.organisation),
            "report": .sortedObject(reportMembers),
            "reportedAt": .string(outage.reportedAt.rfc3339),
            "refs": .array(outage.refs.map(JSONValue.string)),
        ]
        members["previousStatus"] = outage.previousStatus.map { .string($0.rawValue) }
        if outage.lapsed { members["lapsed"] = .bool(true) }
        return .sortedObject(members)
    }

    private func encode(_ agent: AgentState) -> JSONValue {
        var members: [String: JSONValue] = [
            "key": .string(agent.key),
            "organisation": .string(agent.organisation),
            "lastSeen": .string(agent.lastSeen.rfc3339),
            "liveness": .string(agent.liveness.rawValue),
            "lastRef": .string(agent.lastRef),
            "judgedByClock": .bool(agent.judgedByClock),
        ]
        members["heartbeatIntervalMs"] = agent.heartbeatIntervalMs.map { .integer(Int64($0)) }
        members["version"] = agent.version.map(JSONValue.string)
        return .sortedObject(members)
    }

    func encodeEntry(_ entry: LedgerEntry, today: CalendarDate?) -> JSONValue { encode(entry, today: today) }

    private func encode(_ entry: LedgerEntry, today: CalendarDate?) -> JSONValue {
        var members: [String: JSONValue] = [
            "kind": .string(entry.kind.rawValue), "class": .string(entry.ledgerClass.rawValue), "message": .string(entry.message),
            "refs": .array(entry.refs.map(JSONValue.string)), "raisedAt": .string(entry.raisedAt.rfc3339),
            "raised": .bool(entry.isRaised), "open": .bool(entry.isOpen), "figures": Self.encode(entry.figures),
            "overdue": .bool(today.map(entry.isOverdue(on:)) ?? false),
            "history": .array(entry.history.map { step in
                var fields: [String: JSONValue] = [
                    "status": .string(step.status.rawValue), "time": .string(step.time.rfc3339), "message": .string(step.message),
                ]
                fields["by"] = step.by.map(JSONValue.string)
                return .sortedObject(fields)
            }),
        ]
        members["organisation"] = entry.subject.organisation.map(JSONValue.string)
        members["community"] = entry.subject.community.map(JSONValue.string)
        members["workItem"] = entry.subject.workItem.map(JSONValue.string)
        members["outage"] = entry.subject.outage.map(JSONValue.string)
        members["utility"] = entry.subject.utility.map { .string($0.rawValue) }
        members["deadline"] = entry.deadline.map { .string($0.iso8601) }
        members["clearedAt"] = entry.clearedAt.map { .string($0.rfc3339) }
        if entry.repeats > 0 { members["repeats"] = .integer(Int64(entry.repeats)) }
        if let acknowledgement = entry.acknowledgement {
            members["acknowledgement"] = .sortedObject([
                "time": .string(acknowledgement.time.rfc3339), "organisation": .string(acknowledgement.organisation),
                "note": .string(acknowledgement.note), "ref": .string(acknowledgement.ref),
            ])
        }
        return .sortedObject(members)
    }

    /// Figures as a JSON object, members sorted like every object of the document (numbers, integers, dates, times
    /// and texts as on the wire).
    static func encode(_ figures: AlertFigures) -> JSONValue {
        .sortedObject(Dictionary(uniqueKeysWithValues: figures.entries.map { figure in
            let value: JSONValue
            switch figure.value {
            case .number(let number): value = .double(number)
            case .integer(let integer): value = .integer(integer)
            case .date(let date): value = .string(date.iso8601)
            case .time(let time): value = .string(time.rfc3339)
            case .text(let text): value = .string(text)
            }
            return (figure.name.rawValue, value)
        }))
    }

    private func encode(_ alert: PublishedAlert) -> JSONValue {
        let report = alert.report
        return .sortedObject([
            "ref": .string(alert.ref), "time": .string(alert.time.rfc3339),
            "report": .sortedObject([
                "status": .string(report.status.rawValue), "kind": .string(report.kind.rawValue), "key": .string(report.key),
                "message": .string(report.message), "refs": .array(report.refs.map(JSONValue.string)),
                "organisation": report.organisation.map(JSONValue.string), "community": report.community.map(JSONValue.string),
                "workItem": report.workItem.map(JSONValue.string), "outage": report.outage.map(JSONValue.string),
                "raisedAt": report.raisedAt.map { .string($0.rfc3339) }, "deadline": report.deadline.map { .string($0.iso8601) },
                "figures": report.figures.isEmpty ? nil : Self.encode(report.figures),
            ]),
        ])
    }

    private func encode(_ rollup: Rollup) -> JSONValue {
        .sortedObject([
            "workItems": .integer(Int64(rollup.workItems)),
            "households": .integer(Int64(rollup.households)),
            "householdsAffectedNow": .integer(Int64(rollup.householdsAffectedNow)),
            "percentComplete": .double(rollup.percentComplete),
            "expectedPercent": .double(rollup.expectedPercent),
            "itemsLate": .integer(Int64(rollup.itemsLate)),
            "itemsAccepted": .integer(Int64(rollup.itemsAccepted)),
            "outagesOff": .integer(Int64(rollup.outagesOff)),
            "outagesPlanned": .integer(Int64(rollup.outagesPlanned)),
        ])
    }

    private func encode(_ summary: StateSummary) -> JSONValue {
        var members: [String: JSONValue] = [
            "overall": encode(summary.overall),
            "communities": .sortedObject(summary.communities.mapValues(encode)),
            "utilities": .sortedObject(Dictionary(uniqueKeysWithValues: summary.utilities.map { ($0.key.rawValue, encode($0.value)) })),
            "organisations": .sortedObject(summary.organisations.mapValues(encode)),
        ]
        members["today"] = summary.today.map { .string($0.iso8601) }
        return .sortedObject(members)
    }

    // MARK: - Reading

    private static func decodeOptions(_ node: Node) throws(ConduitError) -> StateOptions {
        var notice: [Utility: Duration] = [:]
        for (key, value) in try node.node("requiredNoticeMs").members() {
            guard let utility = Utility(rawValue: key) else {
                throw ConduitError(.stateCheckpoint, path: value.path, "\(key) is not a utility")
            }
            notice[utility] = .milliseconds(try value.integer())
        }
        return StateOptions(
            requiredNotice: notice, behindScheduleThreshold: try node.double("behindScheduleThreshold"),
            missedHeartbeats: try node.int("missedHeartbeats"),
            defaultHeartbeatInterval: .milliseconds(try node.node("defaultHeartbeatIntervalMs").integer()),
            utcOffsetSeconds: try node.node("utcOffsetSeconds").integer())
    }

    private static func decodeWorkItem(_ node: Node, into item: inout WorkItemState) throws(ConduitError) {
        item.status = try node.optionalEnumeration("status")
        item.percent = try node.double("percent")
        item.plannedStart = try node.date("plannedStart")
        item.plannedFinish = try node.date("plannedFinish")
        item.actualStart = try node.optionalDate("actualStart")
        item.actualFinish = try node.optionalDate("actualFinish")
        item.householdsAffected = try node.int("householdsAffected")
        item.blockingReason = try node.optionalString("blockingReason")
        item.statusSince = try node.optionalTimestamp("statusSince")
        item.reportedAt = try node.optionalTimestamp("reportedAt")
        item.lastRef = try node.optionalString("lastRef")
        item.reportedBy = try node.optionalString("reportedBy")
        item.inspections = []
        for record in try node.node("inspections").elements() {
            item.inspections.append(InspectionRecord(
                report: try decodeInspection(record.node("report")), time: try record.timestamp("time"), ref: try record.string("ref")))
        }
    }

    private static func decodeInspection(_ node: Node) throws(ConduitError) -> InspectionReport {
        var defects: [Defect] = []
        for defect in try node.node("defects").elements() {
            defects.append(Defect(
                id: try defect.string("id"), severity: try defect.enumeration("severity"), description: try defect.string("description"),
                dueDate: try defect.optionalDate("dueDate"), status: try defect.enumeration("status")))
        }
        return InspectionReport(
            status: try node.enumeration("status"), kind: try node.enumeration("kind"), authority: try node.string("authority"),
            scheduledAt: try node.optionalTimestamp("scheduledAt"), performedAt: try node.optionalTimestamp("performedAt"),
            result: try node.optionalEnumeration("result"), defects: defects)
    }

    private static func decodeOutage(_ node: Node) throws(ConduitError) -> OutageState {
        let report = try node.node("report")
        var outage = OutageState(
            key: try node.string("key"), community: try node.string("community"), organisation: try node.string("organisation"),
            report: OutageReport(
                status: try report.enumeration("status"), nature: try report.enumeration("nature"),
                service: try report.enumeration("service"), windowStart: try report.optionalTimestamp("windowStart"),
                windowEnd: try report.optionalTimestamp("windowEnd"), noticedAt: try report.optionalTimestamp("noticedAt"),
                startedAt: try report.optionalTimestamp("startedAt"), restoredAt: try report.optionalTimestamp("restoredAt"),
                buildings: try report.strings("buildings"), households: try report.int("households"),
                causedBy: try report.optionalString("causedBy")),
            previousStatus: try node.optionalEnumeration("previousStatus"), reportedAt: try node.timestamp("reportedAt"),
            refs: try node.strings("refs"))
        outage.lapsed = try node.optionalBool("lapsed") ?? false
        return outage
    }

    private static func decodeEntry(_ node: Node, key: String) throws(ConduitError) -> LedgerEntry {
        var history: [LedgerStep] = []
        for step in try node.node("history").elements() {
            history.append(LedgerStep(
                status: try step.enumeration("status"), time: try step.timestamp("time"), message: try step.string("message"),
                by: try step.optionalString("by")))
        }
        var acknowledgement: LedgerAcknowledgement?
        if let ack = try node.optionalNode("acknowledgement") {
            acknowledgement = LedgerAcknowledgement(
                time: try ack.timestamp("time"), organisation: try ack.string("organisation"), note: try ack.string("note"),
                ref: try ack.string("ref"))
        }
        return LedgerEntry(
            kind: try node.enumeration("kind"), key: key,
            subject: LedgerSubject(
                organisation: try node.optionalString("organisation"), community: try node.optionalString("community"),
                workItem: try node.optionalString("workItem"), outage: try node.optionalString("outage"),
                utility: try node.optionalEnumeration("utility")),
            message: try node.string("message"), refs: try node.strings("refs"), figures: try decodeFigures(node.node("figures")),
            raisedAt: try node.timestamp("raisedAt"), deadline: try node.optionalDate("deadline"), isRaised: try node.bool("raised"),
            clearedAt: try node.optionalTimestamp("clearedAt"), acknowledgement: acknowledgement,
            repeats: try node.optionalNode("repeats").map { node throws(ConduitError) in Int(try node.integer()) } ?? 0,
            history: history)
    }

    private static func decodeFigures(_ node: Node) throws(ConduitError) -> AlertFigures {
        var figures = AlertFigures()
        for (name, value) in try node.members() {
            guard let figure = FigureName(rawValue: name) else { throw value.fail("\(name) is not a figure") }
            switch figure.valueType {
            case .number: figures[figure] = .number(try value.number())
            case .integer: figures[figure] = .integer(try value.integer())
            case .date:
                do { figures[figure] = .date(try CalendarDate(iso8601: try value.text())) } catch { throw value.fail(error.reason) }
            case .time:
                do { figures[figure] = .time(try Timestamp(rfc3339: try value.text())) } catch { throw value.fail(error.reason) }
            case .text: figures[figure] = .text(try value.text())
            }
        }
        return figures
    }

    private static func decodeAgent(_ node: Node) throws(ConduitError) -> AgentState {
        let liveness = try node.string("liveness")
        guard let parsed = AgentLiveness(rawValue: liveness) else {
            throw ConduitError(.stateCheckpoint, path: node.path + ".liveness", "\(liveness) is not a liveness")
        }
        return AgentState(
            key: try node.string("key"), organisation: try node.string("organisation"), lastSeen: try node.timestamp("lastSeen"),
            heartbeatIntervalMs: try node.optionalNode("heartbeatIntervalMs").map { node throws(ConduitError) in Int(try node.integer()) },
            version: try node.optionalString("version"), liveness: parsed, lastRef: try node.string("lastRef"),
            judgedByClock: try node.optionalBool("judgedByClock") ?? false)
    }

    private static func decodeAlertReport(_ node: Node) throws(ConduitError) -> AlertReport {
        AlertReport(
            status: try node.enumeration("status"), kind: try node.enumeration("kind"), key: try node.string("key"),
            message: try node.string("message"), refs: try node.strings("refs"), organisation: try node.optionalString("organisation"),
            community: try node.optionalString("community"), workItem: try node.optionalString("workItem"),
            outage: try node.optionalString("outage"), raisedAt: try node.optionalTimestamp("raisedAt"),
            deadline: try node.optionalDate("deadline"),
            figures: try node.optionalNode("figures").map { node throws(ConduitError) in try decodeFigures(node) } ?? AlertFigures())
    }
}

extension JSONValue {
    /// An object with its members sorted by key.
    static func sortedObject(_ members: [String: JSONValue?]) -> JSONValue {
        .object(members.compactMap { key, value in value.map { Member(key, $0) } }.sorted { $0.key < $1.key })
    }

    static func integer(_ value: Int64) -> JSONValue { .number(String(value)) }

    /// A finite double in Swift's shortest round-tripping form, which is valid JSON.
    static func double(_ value: Double) -> JSONValue { .number(value.description) }
}

/// A value of a checkpoint with its path, for reading with errors that say where.
private struct Node {
    var value: JSONValue
    var path: String

    func fail(_ reason: String) -> ConduitError { ConduitError(.stateCheckpoint, path: path, reason) }

    func optionalNode(_ key: String) throws(ConduitError) -> Node? {
        guard case .object(let members) = value else { throw fail("expected an object") }
        guard let member = members.first(where: { $0.key == key }) else { return nil }
        if case .null = member.value { return nil }
        return Node(value: member.value, path: path + "." + key)
    }

    func node(_ key: String) throws(ConduitError) -> Node {
        guard let node = try optionalNode(key) else { throw ConduitError(.stateCheckpoint, path: path + "." + key, "missing") }
        return node
    }

    func members() throws(ConduitError) -> [(String, Node)] {
        guard case .object(let members) = value else { throw fail("expected an object") }
        return members.map { ($0.key, Node(value: $0.value, path: path + "." + $0.key)) }
    }

    func elements() throws(ConduitError) -> [Node] {
        guard case .array(let elements) = value else { throw fail("expected an array") }
        return elements.enumerated().map { Node(value: $0.element, path: "\(path)[\($0.offset)]") }
    }

    func text() throws(ConduitError) -> String {
        guard case .string(let text) = value else { throw fail("expected a string") }
        return text
    }

    func integer() throws(ConduitError) -> Int64 {
        guard case .number(let text) = value, let number = Int64(text) else { throw fail("expected an integer") }
        return number
    }

    func number() throws(ConduitError) -> Double {
        guard case .number(let text) = value, let number = Double(text) else { throw fail("expected a number") }
        return number
    }

    func bool(_ key: String) throws(ConduitError) -> Bool {
        guard let flag = try optionalBool(key) else { throw ConduitError(.stateCheckpoint, path: path + "." + key, "missing") }
        return flag
    }

    func optionalBool(_ key: String) throws(ConduitError) -> Bool? {
        guard let node = try optionalNode(key) else { return nil }
        guard case .bool(let flag) = node.value else { throw node.fail("expected true or false") }
        return flag
    }

    func string(_ key: String) throws(ConduitError) -> String { try node(key).text() }
    func optionalString(_ key: String) throws(ConduitError) -> String? { try optionalNode(key)?.text() }
    func int(_ key: String) throws(ConduitError) -> Int { Int(try node(key).integer()) }
    func double(_ key: String) throws(ConduitError) -> Double { try node(key).number() }
    func strings(_ key: String) throws(ConduitError) -> [String] {
        var result: [String] = []
        for element in try node(key).elements() { result.append(try element.text()) }
        return result
    }

    func timestamp(_ key: String) throws(ConduitError) -> Timestamp {
        let node = try node(key)
        do { return try Timestamp(rfc3339: try node.text()) } catch { throw node.fail(error.reason) }
    }

    func optionalTimestamp(_ key: String) throws(ConduitError) -> Timestamp? {
        guard try optionalNode(key) != nil else { return nil }
        return try timestamp(key)
    }

    func date(_ key: String) throws(ConduitError) -> CalendarDate {
        let node = try node(key)
        do { return try CalendarDate(iso8601: try node.text()) } catch { throw node.fail(error.reason) }
    }

    func optionalDate(_ key: String) throws(ConduitError) -> CalendarDate? {
        guard try optionalNode(key) != nil else { return nil }
        return try date(key)
    }

    func enumeration<Value: RawRepresentable>(_ key: String) throws(ConduitError) -> Value where Value.RawValue == String {
        let node = try node(key)
        let text = try node.text()
        guard let value = Value(rawValue: text) else { throw node.fail("\(text) is not a valid value") }
        return value
    }

    func optionalEnumeration<Value: RawRepresentable>(_ key: String) throws(ConduitError) -> Value? where Value.RawValue == String {
        guard try optionalNode(key) != nil else { return nil }
        return try enumeration(key) as Value
    }
}
