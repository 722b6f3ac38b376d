import ConduitCore

/// The alert rules. Each one evaluates its condition with `Lifecycle` and hands the finding to
/// ``AggregateState/update(_:_:refs:_:)``, which raises it once and clears it when the finding goes.
extension AggregateState {
    /// A date after any deadline, to ask `Lifecycle/checkSchedule` for the behind-plan rule alone.
    private static let noDeadline = CalendarDate(year: 9999, month: 12, day: 31)!

    /// Marked accepted without a passed acceptance inspection (or with a blocking defect open).
    mutating func evaluateAcceptance(_ index: Int, _ changes: inout [AlertChange]) {
        let item = workItems[index]
        let finding = item.status == .accepted
            ? Lifecycle.checkAcceptance(
                workItem: item.item.id, status: .accepted, inspections: item.inspections.map(\.report),
                acceptance: item.item.acceptance)
            : nil
        update(itemKeys[index].acceptance, finding, refs: [item.lastRef].compactMap { $0 }, &changes)
    }

    /// Behind its plan by more than the threshold, and not started by its planned start.
    mutating func evaluateSchedule(_ index: Int, today: CalendarDate, _ changes: inout [AlertChange]) {
        let item = workItems[index]
        let status = item.status ?? .planned
        let refs = [item.lastRef].compactMap { $0 }
        // Hysteresis: raised beyond the threshold, cleared only once back within half of it, so that an item
        // reported weekly near the threshold does not raise and clear the alert every week.
        let raised = behindScheduleRaised[index]
        var behind = Lifecycle.checkSchedule(
            workItem: item.plannedItem, status: status, percent: item.percent, today: today, deadline: Self.noDeadline,
            tolerance: raised ? options.behindScheduleThreshold / 2 : options.behindScheduleThreshold)
        if behind?.kind != .behindSchedule { behind = nil }
        update(itemKeys[index].behindSchedule, behind, refs: refs, &changes)
        behindScheduleRaised[index] = behind != nil

        let notStarted = (status == .planned || status == .scheduled) && item.plannedStart < today
            ? LifecycleFinding(
                kind: .behindSchedule,
                reason: "\(item.item.id) has not started; its plan starts on \(item.plannedStart)")
            : nil
        update(itemKeys[index].notStarted, notStarted, refs: refs, &changes)
    }

    /// The deadline at risk for a community: one of its work items is unfinished past the deadline, or
    /// past its planned finish with less than 30 days to the deadline (`Lifecycle/checkSchedule`).
    mutating func evaluateDeadline(community: String, today: CalendarDate, _ changes: inout [AlertChange]) {
        var reasons: [String] = []
        var refs: [String] = []
        for item in workItems where item.item.community == community {
            guard let finding = Lifecycle.checkSchedule(
                workItem: item.plannedItem, status: item.status ?? .planned, percent: item.percent, today: today,
                deadline: scenario.deadline, tolerance: options.behindScheduleThreshold),
                finding.kind == .deadlineAtRisk
            else { continue }
            reasons.append(finding.reason)
            if let ref = item.lastRef { refs.append(ref) }
        }
        let finding = reasons.isEmpty
            ? nil
            : LifecycleFinding(
                kind: .deadlineAtRisk,
                reason: "\(community): the deadline \(scenario.deadline) is at risk: " + reasons.joined(separator: "; "))
        update(Keys.deadlineAtRisk(community), finding, refs: refs, &changes)
    }

    /// A failed or conditional inspection whose defects are past due with no later inspection of its kind.
    mutating func evaluateReinspection(_ index: Int, today: CalendarDate, _ changes: inout [AlertChange]) {
        let inspections = workItems[index].inspections
        var finding: LifecycleFinding?
        var refs: [String] = []
        // From the latest back, so that each inspection knows whether one of its kind was performed
        // after it (then it is not overdue) without rescanning: linear in the inspections. The
        // earliest overdue inspection is the one reported.
        var performedLater: [InspectionKind] = []
        for position in inspections.indices.reversed() {
            let kind = inspections[position].report.kind
            if performedLater.contains(kind) { continue }
            if let found = Lifecycle.checkReinspection(
                workItem: workItems[index].item.id, failed: inspections[position].report, laterInspections: [], today: today)
            {
                finding = found
                refs = [inspections[position].ref]
            }
            if inspections[position].report.status == .performed { performedLater.append(kind) }
        }
        update(itemKeys[index].reinspectionOverdue, finding, refs: refs, &changes)
    }

    /// The rules of one outage: its lifecycle, its notice, its overrun and its overlaps with outages of
    /// other services in the same community.
    mutating func evaluateOutage(_ index: Int, statusChanged: Bool, _ changes: inout [AlertChange]) {
        let outage = outages[index]
        let report = outage.report
        let key = outage.key
        if statusChanged {
            var finding = Lifecycle.checkTransition(
                outage: key, from: outage.previousStatus, to: report.status, startedAt: report.startedAt)
            // A restoration after a start the reports skipped is not an anomaly when startedAt is known.
            if report.status == .restored && report.startedAt != nil { finding = nil }
            update(Keys.outageTransition(key), finding, refs: outage.refs, &changes)
        } else if report.status == .restored && report.startedAt != nil {
            update(Keys.outageTransition(key), nil, refs: [], &changes)
        }

        let notice = report.status == .cancelled || report.status == .restored
            ? nil
            : Lifecycle.checkNotice(outage: key, report, requiredSeconds: options.requiredNoticeSeconds(for: report.service))
        update(Keys.shortNotice(key), notice, refs: outage.refs, &changes)

        // Restored after its window ended, and the clock never saw it still off (the restoration was the next thing
        // heard): the overrun goes into the ledger all the same, raised and at once cleared.
        if statusChanged, report.status == .restored, let end = report.windowEnd, let restored = report.restoredAt, restored > end {
            let minutes = (restored.microsecondsSinceEpoch - end.microsecondsSinceEpoch) / 60_000_000
            let late = LifecycleFinding(
                kind: .outageOverrun,
                reason: "outage \(key) was restored at \(restored), \(minutes / 60) h \(minutes % 60) min after its window ended at \(end)")
            update(Keys.outageOverrun(key), late, refs: outage.refs, &changes)
        }
        let overrun = now.flatMap { Lifecycle.checkOverrun(outage: key, report, now: $0) }
        update(Keys.outageOverrun(key), overrun, refs: outage.refs, &changes)
        if outage.isOff, let end = report.windowEnd, nextTimeCheck.map({ end < $0 }) ?? false { nextTimeCheck = end }

        // A restored or cancelled outage overlaps nothing: its pairs were cleared when it closed.
        for otherIndex in openOutages where otherIndex != index {
            let other = outages[otherIndex]
            guard other.community == outage.community, other.report.service != report.service else { continue }
            let finding = Lifecycle.checkOverlap(outage: key, report, with: other.key, other.report)
            update(Keys.outageOverlap(key, other.key), finding, refs: outage.refs + other.refs, &changes)
        }
        var low = 0
        var high = openOutages.count
        while low < high {
            let middle = (low + high) / 2
            if openOutages[middle] < index { low = middle + 1 } else { high = middle }
        }
        let position = low
        let listed = position < openOutages.endIndex && openOutages[position] == index
        if outage.isOpen && !listed {
            openOutages.insert(index, at: position)
        } else if !outage.isOpen && listed {
            openOutages.remove(at: position)
        }
    }

    /// When an online agent becomes silent: its last presence plus the missed heartbeats.
    func silenceDeadline(_ agent: AgentState) -> Timestamp {
        let intervalMicros = agent.heartbeatIntervalMs.map { Int64($0) * 1000 }
            ?? options.defaultHeartbeatInterval.components.seconds * 1_000_000
        return Timestamp(
            microsecondsSinceEpoch: agent.lastSeen.microsecondsSinceEpoch + intervalMicros * Int64(options.missedHeartbeats))
    }

    /// Evaluates the time-based rules when the clock has reached ``nextTimeCheck``: the day-based
    /// rules (behind schedule, not started, deadline, re-inspection) when the local day changed, then
    /// overruns and silent agents; and sets the next instant one of them may change.
    mutating func runTimeRules(_ changes: inout [AlertChange]) {
        guard let now else { return }
        if let next = nextTimeCheck, now < next { return }
        let day = options.localDate(of: now)
        if evaluatedDay != day {
            evaluatedDay = day
            for index in workItems.indices {
                evaluateSchedule(index, today: day, &changes)
                evaluateReinspection(index, today: day, &changes)
            }
            for community in scenario.communities {
                evaluateDeadline(community: community.id, today: day, &changes)
            }
        }
        var next = options.startOfLocalDay(after: day)
        for index in openOutages where outages[index].isOff {
            let outage = outages[index]
            let overrun = Lifecycle.checkOverrun(outage: outage.key, outage.report, now: now)
            update(Keys.outageOverrun(outage.key), overrun, refs: outage.refs, &changes)
            if overrun == nil, let end = outage.report.windowEnd, end < next { next = end }
        }
        for index in agents.indices where agents[index].liveness == .online && agents[index].judgedByClock {
            let agent = agents[index]
            let deadline = silenceDeadline(agent)
            if now > deadline {
                agents[index].liveness = .stale
                let silentSeconds = (now.microsecondsSinceEpoch - agent.lastSeen.microsecondsSinceEpoch) / 1_000_000
                let finding = LifecycleFinding(
                    kind: .agentSilent,
                    reason: "agent \(agent.key) has been silent for \(silentSeconds) s; its data is stale")
                update(Keys.agentSilent(agent.key), finding, refs: [agent.lastRef], &changes)
            } else if deadline < next {
                next = deadline
            }
        }
        nextTimeCheck = next
    }
}
