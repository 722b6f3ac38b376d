import ConduitCore

/// An inspection asked for by the utility and carried out by an inspecting body, outside the acceptance:
/// fire safety during the work.
struct InspectionVisit: Sendable, Hashable {
    var kind: InspectionKind
    var authority: String
    /// The day the utility asks for it.
    var requestDay: Int
    /// The day it is carried out; it passes.
    var day: Int
    /// A minor point noted on the pass, to be fixed in two weeks, if any.
    var note: Defect?
}

/// The acceptance of one finished work item: asked for, inspected, possibly failed or passed on
/// conditions and re-inspected after the fix, then reported accepted.
struct AcceptancePlan: Sendable, Hashable {
    /// The organisation that performs the work item's acceptance kind.
    var authority: String
    /// The day the utility asks for the acceptance.
    var requestDay: Int
    /// The day of the first inspection.
    var inspectionDay: Int
    /// Its result.
    var outcome: InspectionResult
    /// The defects the first inspection finds if it does not pass (each due two weeks later).
    var defects: [Defect]
    /// A minor point noted if it passes at once.
    var passNote: Defect?
    /// If it does not pass: the day the utility reports the defects fixed and asks again.
    var rectifiedDay: Int
    /// If it does not pass: the day of the re-inspection, which passes.
    var reinspectionDay: Int
    /// Days from the passing inspection to the utility's `accepted` report.
    var acceptedDelay: Int

    /// The day of the inspection that passes.
    var passDay: Int { outcome == .passed ? inspectionDay : reinspectionDay }
    /// The day of the `accepted` report (before a late passing report pushes it on).
    var acceptedDay: Int { passDay + acceptedDelay }

    /// Draws the acceptance of a work item finished on `readyDay` (and whose elevator inspection, if any, is
    /// done): asked for one to three days later, inspected five to ten days after that; 15% fail and 12%
    /// pass on conditions, with defects due in two weeks, fixed in six to twelve days and re-inspected one to
    /// three days later (one in five only after the due date). Inspections fall on weekdays.
    static func draw(
        _ item: WorkItem, authority: String, readyDay: Int, buildings: [String], random: inout SimulationRandom
    ) -> AcceptancePlan {
        let requestDay = readyDay + random.int(1...3)
        let inspectionDay = LocalClock.workday(onOrAfter: requestDay + random.int(5...10))
        let dueDay = inspectionDay + 14
        let draw = random.unit()
        let outcome: InspectionResult = draw < 0.15 ? .failed : draw < 0.27 ? .conditional : .passed
        let defects = drawDefects(item, result: outcome == .passed ? .failed : outcome, dueDay: dueDay, buildings: buildings, random: &random)
        let passNote = random.chance(0.3)
            ? Defect(id: defects[0].id, severity: .minor, description: defects[0].description, dueDate: LocalClock.date(dueDay))
            : nil
        let rectifiedDay = inspectionDay + random.int(6...12)
        let reinspectionDay = LocalClock.workday(
            onOrAfter: random.chance(0.2) ? dueDay + random.int(1...4) : rectifiedDay + random.int(1...3))
        return AcceptancePlan(
            authority: authority, requestDay: requestDay, inspectionDay: inspectionDay, outcome: outcome, defects: defects,
            passNote: passNote, rectifiedDay: rectifiedDay, reinspectionDay: reinspectionDay, acceptedDelay: random.int(1...4))
    }

    /// One to three defects of a `result` inspection: a failed one has a critical or major defect first, a
    /// conditional one a major defect first; the others are major or minor.
    static func drawDefects(
        _ item: WorkItem, result: InspectionResult, dueDay: Int, buildings: [String], random: inout SimulationRandom
    ) -> [Defect] {
        let descriptions = random.shuffled(FieldText.acceptanceDefects(item))
        let count = min(random.int(1...3), descriptions.count)
        let prefix = switch item.acceptance {
        case .waterAcceptance: "wa"
        case .elevatorSupervisoryInspection: "el"
        default: "ja"
        }
        return (0..<count).map { position in
            let severity: DefectSeverity
            if position == 0 {
                severity = result == .failed && random.chance(0.3) ? .critical : .major
            } else {
                severity = random.chance(0.4) ? .major : .minor
            }
            return Defect(
                id: "\(prefix)-\(position + 1)", severity: severity,
                description: FieldText.fill(descriptions[position], building: random.pick(buildings)),
                dueDate: LocalClock.date(dueDay))
        }
    }
}
