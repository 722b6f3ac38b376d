import Testing
@testable import ConduitCore

@Suite struct LifecycleTests {
    @Test func workItemLifecycle() {
        #expect(Lifecycle.checkTransition(workItem: "w", from: nil, to: .completed) == nil)
        #expect(Lifecycle.checkTransition(workItem: "w", from: .planned, to: .scheduled) == nil)
        #expect(Lifecycle.checkTransition(workItem: "w", from: .inProgress, to: .suspended) == nil)
        #expect(Lifecycle.checkTransition(workItem: "w", from: .suspended, to: .inProgress) == nil)
        #expect(Lifecycle.checkTransition(workItem: "w", from: .inProgress, to: .inProgress) == nil)
        #expect(Lifecycle.checkTransition(workItem: "w", from: .scheduled, to: .cancelled) == nil)
        #expect(Lifecycle.checkTransition(workItem: "w", from: .planned, to: .completed)?.kind == .lifecycleAnomaly)
        #expect(Lifecycle.checkTransition(workItem: "w", from: .accepted, to: .inProgress)?.kind == .lifecycleAnomaly)
        #expect(Lifecycle.checkTransition(workItem: "w", from: .completed, to: .cancelled)?.kind == .lifecycleAnomaly)
    }

    static let passed = InspectionReport(status: .performed, kind: .waterAcceptance, authority: "water-investment-company", performedAt: Timestamp(secondsSinceEpoch: 1), result: .passed)
    static let failedWithMajor = InspectionReport(
        status: .performed, kind: .waterAcceptance, authority: "water-investment-company", performedAt: Timestamp(secondsSinceEpoch: 0),
        result: .failed, defects: [Defect(id: "d1", severity: .major, description: "leak", dueDate: CalendarDate(year: 2023, month: 11, day: 1))])

    @Test func acceptedOnlyAfterAPassedAcceptanceWithNoOpenBlockingDefect() {
        #expect(Lifecycle.checkAcceptance(workItem: "w", status: .accepted, inspections: [], acceptance: .waterAcceptance)?.reason == "w is marked accepted without a passed water_acceptance inspection")
        #expect(Lifecycle.checkAcceptance(workItem: "w", status: .accepted, inspections: [Self.passed], acceptance: .waterAcceptance) == nil)
        #expect(Lifecycle.checkAcceptance(workItem: "w", status: .accepted, inspections: [Self.failedWithMajor, Self.passed], acceptance: .waterAcceptance)?.kind == .acceptanceMissing)
        var rectified = Self.passed
        rectified.defects = [Defect(id: "d1", severity: .major, description: "leak", status: .verified)]
        #expect(Lifecycle.checkAcceptance(workItem: "w", status: .accepted, inspections: [Self.failedWithMajor, rectified], acceptance: .waterAcceptance) == nil)
        // A request that claims the defect rectified does not close it: only an inspector's report does.
        let claim = InspectionReport(
            status: .requested, kind: .waterAcceptance, authority: "water-investment-company",
            defects: [Defect(id: "d1", severity: .major, description: "leak", status: .rectified)])
        #expect(Lifecycle.openBlockingDefects(in: [Self.failedWithMajor, claim]).map(\.id) == ["d1"])
        var minorOpen = Self.passed
        minorOpen.defects = [Defect(id: "d2", severity: .minor, description: "paint")]
        #expect(Lifecycle.isAccepted(by: [minorOpen], acceptance: .waterAcceptance))
        #expect(!Lifecycle.isAccepted(by: [Self.passed], acceptance: .fireSafety))
        // A joint acceptance accepts joint-acceptance work only, not water or elevator work.
        var joint = Self.passed
        joint.kind = .jointAcceptance
        #expect(Lifecycle.isAccepted(by: [joint], acceptance: .jointAcceptance))
        #expect(!Lifecycle.isAccepted(by: [joint], acceptance: .waterAcceptance))
        #expect(!Lifecycle.isAccepted(by: [joint], acceptance: .elevatorSupervisoryInspection))
        #expect(Lifecycle.isAccepted(by: [], acceptance: nil), "work that needs no acceptance needs no inspection")
        #expect(Lifecycle.checkAcceptance(workItem: "w", status: .completed, inspections: [], acceptance: .waterAcceptance) == nil)
    }

    @Test func outageLifecycle() {
        #expect(Lifecycle.checkTransition(outage: "o", from: .noticed, to: .started) == nil)
        #expect(Lifecycle.checkTransition(outage: "o", from: .started, to: .restored) == nil)
        #expect(Lifecycle.checkTransition(outage: "o", from: .noticed, to: .restored)?.reason == "outage o was restored but never started (it was noticed)")
        #expect(Lifecycle.checkTransition(outage: "o", from: nil, to: .restored)?.kind == .lifecycleAnomaly)
        #expect(Lifecycle.checkTransition(outage: "o", from: nil, to: .restored, startedAt: Timestamp(secondsSinceEpoch: 0)) == nil)
        #expect(Lifecycle.checkTransition(outage: "o", from: .restored, to: .cancelled)?.kind == .lifecycleAnomaly)
    }

    @Test func noticeOverrunAndOverlap() throws {
        guard case .outage(var outage) = Samples.outage.data else { return }
        #expect(Lifecycle.checkNotice(outage: "o", outage) == nil)
        outage.noticedAt = try Timestamp(rfc3339: "2023-07-01T20:00:00Z")
        #expect(Lifecycle.checkNotice(outage: "o", outage)?.kind == .shortNotice)
        var late = outage
        late.noticedAt = late.windowStart.map { $0.adding(seconds: 3 * 3600 + 600) }
        #expect(Lifecycle.checkNotice(outage: "o", late)?.reason == "outage o was noticed 3 h 10 min after its window had begun; 24 h are required")
        outage.status = .started
        outage.restoredAt = nil
        #expect(Lifecycle.checkOverrun(outage: "o", outage, now: try Timestamp(rfc3339: "2023-07-02T06:00:00Z"))?.kind == .outageUnrestored)
        #expect(Lifecycle.checkOverrun(outage: "o", outage, now: try Timestamp(rfc3339: "2023-07-02T04:00:00Z")) == nil)
        var other = outage
        other.buildings = ["b02", "b03"]
        #expect(Lifecycle.overlaps(outage, other))
        #expect(Lifecycle.checkOverlap(outage: "o", outage, with: "p", other)?.kind == .outageOverlap)
        other.status = .cancelled
        #expect(Lifecycle.checkOverlap(outage: "o", outage, with: "p", other) == nil)
        other.buildings = ["b04"]
        #expect(!Lifecycle.overlaps(outage, other))
        other.buildings = ["b01"]
        other.windowStart = try Timestamp(rfc3339: "2023-07-02T05:00:00Z")
        other.windowEnd = try Timestamp(rfc3339: "2023-07-02T06:00:00Z")
        #expect(!Lifecycle.overlaps(outage, other))
    }

    @Test func reinspectionScheduleAndSilence() {
        let today = CalendarDate(year: 2023, month: 11, day: 5)!
        #expect(Lifecycle.checkReinspection(workItem: "w", failed: Self.failedWithMajor, laterInspections: [], today: today)?.kind == .reinspectionOverdue)
        #expect(Lifecycle.checkReinspection(workItem: "w", failed: Self.failedWithMajor, laterInspections: [Self.passed], today: today) == nil)
        #expect(Lifecycle.checkReinspection(workItem: "w", failed: Self.failedWithMajor, laterInspections: [], today: CalendarDate(year: 2023, month: 10, day: 5)!) == nil)

        let item = Scenario.default.workItem("ganjiaba-power")!  // 2023-04-01 … 2023-09-30
        #expect(Lifecycle.expectedPercent(plannedStart: item.plannedStart, plannedFinish: item.plannedFinish, today: CalendarDate(year: 2023, month: 3, day: 1)!) == 0)
        #expect(Lifecycle.expectedPercent(plannedStart: item.plannedStart, plannedFinish: item.plannedFinish, today: CalendarDate(year: 2023, month: 10, day: 1)!) == 100)
        let deadline = Scenario.default.deadline
        #expect(Lifecycle.checkSchedule(workItem: item, status: .inProgress, percent: 10, today: CalendarDate(year: 2023, month: 7, day: 1)!, deadline: deadline)?.kind == .behindSchedule)
        #expect(Lifecycle.checkSchedule(workItem: item, status: .inProgress, percent: 50, today: CalendarDate(year: 2023, month: 7, day: 1)!, deadline: deadline) == nil)
        #expect(Lifecycle.checkSchedule(workItem: item, status: .inProgress, percent: 90, today: CalendarDate(year: 2023, month: 12, day: 10)!, deadline: deadline)?.kind == .deadlineAtRisk)
        // Completed but not accepted when the deadline has passed: the deadline was missed.
        #expect(Lifecycle.checkSchedule(workItem: item, status: .completed, percent: 100, today: CalendarDate(year: 2024, month: 1, day: 10)!, deadline: deadline)?.kind == .deadlineAtRisk)
        #expect(Lifecycle.checkSchedule(workItem: item, status: .accepted, percent: 100, today: CalendarDate(year: 2024, month: 1, day: 10)!, deadline: deadline) == nil)

        let seen = Timestamp(secondsSinceEpoch: 1000)
        #expect(Lifecycle.checkSilence(agent: "a", lastSeen: seen, heartbeatIntervalMs: 5000, now: seen.adding(seconds: 14)) == nil)
        #expect(Lifecycle.checkSilence(agent: "a", lastSeen: seen, heartbeatIntervalMs: 5000, now: seen.adding(seconds: 16))?.kind == .agentSilent)
    }
}
