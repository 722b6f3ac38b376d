import ConduitCore

/// The alert rules. Each one evaluates its condition with `Lifecycle` and hands the finding to
/// ``AggregateState/update(_:_:subject:refs:_:)``, which raises it once (keeping a condition's figures current) and
/// clears it when the finding goes.
extension AggregateState {
    /// Marked accepted without a passed inspection of its acceptance kind (or with a blocking defect open), judged by
    /// the inspections whose `time` is not after the report that marked it accepted: one reported late but performed
    /// before shows that nothing was wrong, one performed after does not undo the violation.
    mutating func evaluateAcceptance(_ index: Int, _ changes: inout [AlertChange]) {
        let item = workItems[index]
        var finding: LifecycleFinding?
        if item.status == .accepted {
            let acceptedAt = item.statusSince ?? item.reportedAt ?? .earliest
            finding = Lifecycle.checkAcceptance(
                workItem: item.item.id, status: .accepted,
                inspections: item.inspections.lazy.filter { $0.time <= acceptedAt }.map(\.report), acceptance: item.item.acceptance)
        }
        update(itemKeys[index].acceptance, finding, subject: itemKeys[index].subject, refs: [item.lastRef].compactMap { $0 }, &changes)
    }

    /// Behind its plan by more than the threshold, or not started by its planned start: one entry per item.
    mutating func evaluateSchedule(_ index: Int, today: CalendarDate, _ changes: inout [AlertChange]) {
        // Hysteresis: raised beyond the threshold, cleared only once back within half of it, so that an item
        // reported weekly near the threshold does not raise and clear the alert every week.
        let raised = behindScheduleRaised[index]
        let status = workItems[index].status ?? .planned
        let percent = workItems[index].percent
        if !raised {
            // Nothing raised and nothing to raise: done without building a finding (most reports).
            let closed = status == .completed || status == .accepted || status == .cancelled
            let notStarted = (status == .planned || status == .scheduled) && workItems[index].plannedStart < today
            let expected = Lifecycle.expectedPercent(
                plannedStart: workItems[index].plannedStart, plannedFinish: workItems[index].plannedFinish, today: today)
            if closed || (!notStarted && expected - percent <= options.behindScheduleThreshold) { return }
        }
        let behind = Lifecycle.checkBehind(
            workItem: workItems[index].item.id, plannedStart: workItems[index].plannedStart,
            plannedFinish: workItems[index].plannedFinish, status: status, percent: percent, today: today,
            tolerance: raised ? options.behindScheduleThreshold / 2 : options.behindScheduleThreshold)
        let lastRef = workItems[index].lastRef
        update(itemKeys[index].behindSchedule, behind, subject: itemKeys[index].subject, refs: [lastRef].compactMap { $0 }, &changes)
        behindScheduleRaised[index] = behind != nil
    }

    /// The plan's deadline at risk for one work item (`Lifecycle/checkDeadline`): past it and not accepted, or past
    /// its planned finish with too little time or too slow a pace left.
    mutating func evaluateDeadline(_ index: Int, today: CalendarDate, _ changes: inout [AlertChange]) {
        let status = workItems[index].status ?? .planned
        if !deadlineRaised.contains(index) {
            // Only past the deadline or past its planned finish can an item not accepted raise one.
            guard today > scenario.deadline || workItems[index].plannedFinish < today, status != .accepted, status != .cancelled
            else { return }
        }
        let finding = Lifecycle.checkDeadline(
            workItem: workItems[index].plannedItem, status: status, percent: workItems[index].percent,
            actualStart: workItems[index].actualStart, today: today, deadline: scenario.deadline)
        let lastRef = workItems[index].lastRef
        update(itemKeys[index].deadline, finding, subject: itemKeys[index].subject, refs: [lastRef].compactMap { $0 }, &changes)
        if finding != nil { deadlineRaised.insert(index) } else { deadlineRaised.remove(index) }
    }

    /// Suspended for one of an escalation rule's reasons for at least the rule's days: an entry for the rule's
    /// organisation, cleared when the work resumes.
    mutating func evaluateEscalations(_ index: Int, today: CalendarDate, _ changes: inout [AlertChange]) {
        let rules = scenario.ledger.escalations
        guard !rules.isEmpty else { return }
        let item = workItems[index]
        for rule in rules {
            var finding: LifecycleFinding?
            if item.status == .suspended, let since = item.statusSince, rule.matches(item.blockingReason) {
                let days = today.daysSinceEpoch - options.localDate(of: since).daysSinceEpoch
                if days >= rule.afterDays {
                    var figures = AlertFigures()
                    figures[.percent] = .number(item.percent)
                    figures[.suspendedSince] = .time(since)
                    figures[.suspendedDays] = .integer(Int64(days))
                    figures[.blockingReason] = item.blockingReason.map(AlertFigures.Value.text)
                    finding = LifecycleFinding(
                        kind: .escalation,
                        reason: "\(item.item.id) has been suspended for \(days) days (\(rule.reason.en)); escalated to \(rule.organisation) after \(rule.afterDays) days",
                        figures: figures)
                }
            }
            var subject = itemKeys[index].subject
            subject.organisation = rule.organisation
            update(Keys.escalation(rule.id, item.item.id), finding, subject: subject, refs: [item.lastRef].compactMap { $0 }, &changes)
        }
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
        update(itemKeys[index].reinspectionOverdue, finding, subject: itemKeys[index].subject, refs: refs, &changes)
    }

    /// The rules of one outage: its lifecycle, its notice, its restoration against its window, a window that ended
    /// with no start or restoration reported, and its overlaps with outages of other services in the same community.
    mutating func evaluateOutage(_ index: Int, statusChanged: Bool, _ changes: inout [AlertChange]) {
        let report = outages[index].report
        let key = outages[index].key
        let subject = outageSubject(index)
        let refs = outages[index].refs
        let keys = outages[index].keys
        if statusChanged {
            var finding = Lifecycle.checkTransition(
                outage: key, from: outages[index].previousStatus, to: report.status, startedAt: report.startedAt)
            // A restoration after a start the reports skipped is not an anomaly when startedAt is known.
            if report.status == .restored && report.startedAt != nil { finding = nil }
            updateOutage(index, .transition, keys.transition, finding, subject: subject, refs: refs, &changes)
        } else if report.status == .restored && report.startedAt != nil {
            updateOutage(index, .transition, keys.transition, nil, subject: subject, refs: [], &changes)
        }

        // Violations: on the record whatever became of the outage since; withdrawn only when a later report shows
        // otherwise (a notice reported late, a corrected restoration time). A violation on the record is not
        // described again while it stands.
        let required = options.requiredNoticeSeconds(for: report.service)
        let violation = Lifecycle.noticeViolation(report, requiredSeconds: required)
        for (entry, entryKey, kind) in [(OutageEntries.shortNotice, keys.shortNotice, AlertKind.shortNotice), (.noNotice, keys.noNotice, .noNotice)] {
            if violation == kind {
                if !outages[index].raised.contains(entry) {
                    let finding = Lifecycle.checkNotice(outage: key, report, requiredSeconds: required, zone: scenario.timeZone)
                    updateOutage(index, entry, entryKey, finding, subject: subject, refs: refs, &changes)
                }
            } else {
                updateOutage(index, entry, entryKey, nil, subject: subject, refs: refs, &changes)
            }
        }
        // The restoration's own time decides an overrun, whenever its report arrives.
        let overrun = Lifecycle.checkRestoration(outage: key, report, zone: scenario.timeZone)
        updateOutage(index, .overrun, keys.overrun, overrun, subject: subject, refs: refs, &changes)

        // Conditions of the clock: still off past the window as far as the reports tell, or never reported started.
        let unrestored = now.flatMap { Lifecycle.checkOverrun(outage: key, report, now: $0, zone: scenario.timeZone) }
        updateOutage(index, .unrestored, keys.unrestored, unrestored, subject: subject, refs: refs, &changes)
        let lapsed = now.flatMap { Lifecycle.checkLapsed(outage: key, report, now: $0, zone: scenario.timeZone) }
        updateOutage(index, .lapsed, keys.lapsed, lapsed, subject: subject, refs: refs, &changes)
        outages[index].lapsed = lapsed != nil
        let outage = outages[index]
        if outage.isOff || outage.isPlanned, let end = report.windowEnd, end >= now ?? .earliest, nextTimeCheck.map({ end < $0 }) ?? false {
            nextTimeCheck = end
        }

        // A closed outage overlaps nothing: its pairs are cleared when it closes.
        for otherIndex in openOutages where otherIndex != index {
            let other = outages[otherIndex]
            guard other.community == outage.community, other.report.service != report.service else { continue }
            let finding = outage.isOpen ? Lifecycle.checkOverlap(outage: key, report, with: other.key, other.report) : nil
            update(Keys.outageOverlap(key, other.key), finding, subject: subject, refs: outage.refs + other.refs, &changes)
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
    /// rules (behind schedule, deadline, escalations, re-inspection) when the local day changed, then
    /// outages still off or never started past their windows, and silent agents; and sets the next instant one of
    /// them may change.
    mutating func runTimeRules(_ changes: inout [AlertChange]) {
        guard let now else { return }
        if let next = nextTimeCheck, now < next { return }
        let day = options.localDate(of: now)
        if evaluatedDay != day {
            evaluatedDay = day
            for index in workItems.indices {
                evaluateSchedule(index, today: day, &changes)
                evaluateDeadline(index, today: day, &changes)
                evaluateEscalations(index, today: day, &changes)
                evaluateReinspection(index, today: day, &changes)
            }
        }
        var next = options.startOfLocalDay(after: day)
        for index in openOutages {
            let outage = outages[index]
            guard let end = outage.report.windowEnd else { continue }
            if now > end && (outage.isOff || outage.isPlanned) {
                // Past the window: the outage's own rules say what that means (and a lapsed one leaves the open list).
                evaluateOutage(index, statusChanged: false, &changes)
            } else if (outage.isOff || outage.isPlanned) && end < next {
                next = end
            }
        }
        for index in agents.indices where agents[index].liveness == .online && agents[index].judgedByClock {
            let agent = agents[index]
            let deadline = silenceDeadline(agent)
            if now > deadline {
                agents[index].liveness = .stale
                let silentSeconds = (now.microsecondsSinceEpoch - agent.lastSeen.microsecondsSinceEpoch) / 1_000_000
                var figures = AlertFigures()
                figures[.silentSeconds] = .integer(silentSeconds)
                let finding = LifecycleFinding(
                    kind: .agentSilent,
                    reason: "agent \(agent.key) has been silent for \(silentSeconds) s; its data is stale", figures: figures)
                update(
                    Keys.agentSilent(agent.key), finding, subject: LedgerSubject(organisation: agent.organisation),
                    refs: [agent.lastRef], &changes)
            } else if deadline < next {
                next = deadline
            }
        }
        nextTimeCheck = next
    }
}
