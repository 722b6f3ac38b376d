import ConduitCore
import ConduitJournal
import Foundation

/// Writes `events` as a journal, sequenced from 1, each recorded two seconds after its `time`.
public func writeJournal(_ events: [Event], in directory: TemporaryDirectory) throws -> String {
    let path = directory.appending("journal")
    let (journal, _) = try Journal.open(directory: path)
    var records: [JournalRecord] = []
    for (index, original) in events.enumerated() {
        var event = original
        event.sequence = UInt64(index + 1)
        event.recordedTime = event.time.adding(seconds: 2)
        records.append(JournalRecord(
            sequence: UInt64(index + 1), recordedTime: event.recordedTime!.microsecondsSinceEpoch, topic: event.topic,
            event: EventCodec.encode(event)))
    }
    try journal.append(records)
    try journal.close()
    return path
}

/// The relocation of Ganjiaba's power lines, told in events of the default scenario (times in UTC+8).
///
/// | seq | time (+08:00)    | what |
/// | --- | ---------------- | ---- |
/// | 1   | 06-01 08:00      | ganjiaba-power in progress, 45 % (started 04-03, planned 04-01 → 09-30) |
/// | 2   | 06-02 09:00      | power outage `gjb-cut-1` at Ganjiaba noticed for 06-05 09:00–17:00 (3 days ahead: short), no cause yet |
/// | 3   | 06-02 09:00:01   | the aggregator's alert: short notice of `ganjiaba/power/gjb-cut-1` |
/// | 4   | 06-03 10:00      | ganjiaba-water in progress, 20 % |
/// | 5   | 06-05 09:10      | `gjb-cut-1` started, caused by ganjiaba-power |
/// | 6   | 06-05 17:30      | ganjiaba-water in progress, 25 % (the fold notices the overrun) |
/// | 7   | 06-05 18:30      | `gjb-cut-1` restored |
/// | 8   | 08-01 10:00      | joint acceptance of ganjiaba-power failed, major defect d1 due 08-10 |
/// | 9   | 08-12 10:00      | ganjiaba-water in progress, 60 % (the fold notices the overdue re-inspection) |
/// | 10  | 08-15 10:00      | joint acceptance of ganjiaba-power passed |
/// | 11  | 10-05 16:00      | ganjiaba-power completed (actual finish 10-05) |
public enum Story {
    public static func time(_ text: String) -> Timestamp { try! Timestamp(rfc3339: text) }
    public static func date(_ text: String) -> CalendarDate { try! CalendarDate(iso8601: text) }

    public static let power = "/power-supply-bureau/agent-1"
    public static let water = "/water-investment-company/agent-1"
    public static let bureau = "/housing-bureau/inspector-1"
    public static let outageKey = "ganjiaba/power/gjb-cut-1"

    public static func progress(
        _ id: String, _ item: String, _ status: WorkStatus, _ percent: Double, at time: String, actualFinish: String? = nil
    ) -> Event {
        let power = item == "ganjiaba-power"
        return Event(
            id: id, source: power ? Self.power : water, time: Self.time(time), utility: power ? .power : .water, site: "ganjiaba",
            workItem: item, authenticatedIdentity: power ? "power-supply-bureau" : nil,
            data: .progress(ProgressReport(
                status: status, percent: percent, plannedStart: power ? date("2023-04-01") : nil,
                plannedFinish: power ? date("2023-09-30") : nil, actualStart: power ? date("2023-04-03") : nil,
                actualFinish: actualFinish.map(date))))
    }

    public static func outage(
        _ id: String, _ status: OutageStatus, at time: String, startedAt: String? = nil, restoredAt: String? = nil,
        causedBy: String? = nil
    ) -> Event {
        Event(
            id: id, source: power, time: Self.time(time), subject: "gjb-cut-1", utility: .power, site: "ganjiaba",
            authenticatedIdentity: "power-supply-bureau",
            data: .outage(OutageReport(
                status: status, nature: .planned, service: .power, windowStart: Self.time("2023-06-05T09:00:00+08:00"),
                windowEnd: Self.time("2023-06-05T17:00:00+08:00"), noticedAt: Self.time("2023-06-02T09:00:00+08:00"),
                startedAt: startedAt.map(Self.time), restoredAt: restoredAt.map(Self.time), buildings: ["b01", "b02"],
                households: 108, causedBy: causedBy)))
    }

    public static func inspection(_ id: String, _ result: InspectionResult, at time: String, defects: [Defect] = []) -> Event {
        Event(
            id: id, source: bureau, time: Self.time(time), utility: .power, site: "ganjiaba", workItem: "ganjiaba-power",
            data: .inspection(InspectionReport(
                status: .performed, kind: .jointAcceptance, authority: "housing-bureau", performedAt: Self.time(time),
                result: result, defects: defects)))
    }

    public static var events: [Event] {
        [
            progress("p1", "ganjiaba-power", .inProgress, 45, at: "2023-06-01T08:00:00+08:00"),
            outage("o1", .noticed, at: "2023-06-02T09:00:00+08:00"),
            Event(
                id: "a1", source: "/conduit/aggregator", time: time("2023-06-02T09:00:01+08:00"),
                data: .alert(AlertReport(
                    status: .raised, kind: .shortNotice, key: "short_notice/" + outageKey,
                    message: "outage \(outageKey) was noticed 72 h 0 min before its window; 168 h are required",
                    refs: [power + "#o1"]))),
            progress("w1", "ganjiaba-water", .inProgress, 20, at: "2023-06-03T10:00:00+08:00"),
            outage("o2", .started, at: "2023-06-05T09:10:00+08:00", startedAt: "2023-06-05T09:10:00+08:00", causedBy: "ganjiaba-power"),
            progress("w2", "ganjiaba-water", .inProgress, 25, at: "2023-06-05T17:30:00+08:00"),
            outage("o3", .restored, at: "2023-06-05T18:30:00+08:00", restoredAt: "2023-06-05T18:30:00+08:00"),
            inspection("i1", .failed, at: "2023-08-01T10:00:00+08:00", defects: [
                Defect(id: "d1", severity: .major, description: "cable trench not backfilled", dueDate: date("2023-08-10"))
            ]),
            progress("w3", "ganjiaba-water", .inProgress, 60, at: "2023-08-12T10:00:00+08:00"),
            inspection("i2", .passed, at: "2023-08-15T10:00:00+08:00", defects: [
                Defect(id: "d1", severity: .major, description: "cable trench not backfilled", status: .verified)
            ]),
            progress("p2", "ganjiaba-power", .completed, 100, at: "2023-10-05T16:00:00+08:00", actualFinish: "2023-10-05"),
        ]
    }

    /// The story as a journal in `directory`.
    public static func journal(in directory: TemporaryDirectory) throws -> String { try writeJournal(events, in: directory) }
}
