import Foundation
import Testing
@testable import ConduitCore

/// Events used across the tests, in canonical form.
enum Samples {
    /// A progress report of about 300 bytes, the size the codec benchmark uses.
    static let progressJSON = #"{"specversion":"1.0","id":"pw-0001","source":"/power-supply-bureau/agent-1","type":"conduit.progress","time":"2023-06-01T08:30:00Z","utility":"power","site":"ganjiaba","workitem":"ganjiaba-power","data":{"status":"in_progress","percent":45,"plannedStart":"2023-04-01","plannedFinish":"2023-09-30","actualStart":"2023-04-03","householdsAffected":120}}"#

    /// The progress report as a broker without authentication stores and sends it: sequence 42, recorded at
    /// 2023-06-01T08:30:00.250Z (the WireProtocol article's fan-out and CHUNK examples).
    static let stampedProgressJSON = #"{"specversion":"1.0","id":"pw-0001","source":"/power-supply-bureau/agent-1","type":"conduit.progress","time":"2023-06-01T08:30:00Z","utility":"power","site":"ganjiaba","workitem":"ganjiaba-power","sequence":42,"recordedtime":"2023-06-01T08:30:00.250000Z","data":{"status":"in_progress","percent":45,"plannedStart":"2023-04-01","plannedFinish":"2023-09-30","actualStart":"2023-04-03","householdsAffected":120}}"#

    static let progress = Event(
        id: "pw-0001", source: "/power-supply-bureau/agent-1",
        time: try! Timestamp(rfc3339: "2023-06-01T08:30:00Z"), utility: .power, site: "ganjiaba",
        workItem: "ganjiaba-power",
        data: .progress(ProgressReport(
            status: .inProgress, percent: 45, plannedStart: CalendarDate(year: 2023, month: 4, day: 1),
            plannedFinish: CalendarDate(year: 2023, month: 9, day: 30), actualStart: CalendarDate(year: 2023, month: 4, day: 3),
            householdsAffected: 120)))

    static let inspection = Event(
        id: "insp-7", source: "/water-investment-company/inspector", time: try! Timestamp(rfc3339: "2023-10-20T10:00:00+08:00"),
        subject: "main pipe", utility: .water, site: "ruijing-biyuan", workItem: "ruijing-biyuan-water",
        data: .inspection(InspectionReport(
            status: .performed, kind: .waterAcceptance, authority: "water-investment-company",
            performedAt: try! Timestamp(rfc3339: "2023-10-20T09:30:00+08:00"), result: .failed,
            defects: [Defect(id: "d1", severity: .major, description: "渗漏 \"leak\" at valve\n", dueDate: CalendarDate(year: 2023, month: 11, day: 1))])))

    static let outage = Event(
        id: "out-3", source: "/power-supply-bureau/agent-1", time: try! Timestamp(rfc3339: "2023-07-02T01:00:00Z"),
        utility: .power, site: "jinxiu-xincheng",
        data: .outage(OutageReport(
            status: .restored, nature: .planned, service: .power,
            windowStart: try! Timestamp(rfc3339: "2023-07-02T01:00:00Z"), windowEnd: try! Timestamp(rfc3339: "2023-07-02T05:00:00Z"),
            noticedAt: try! Timestamp(rfc3339: "2023-06-30T01:00:00Z"), startedAt: try! Timestamp(rfc3339: "2023-07-02T01:05:00Z"),
            restoredAt: try! Timestamp(rfc3339: "2023-07-02T04:40:00.250Z"), buildings: ["b01", "b02"], households: 96,
            causedBy: "jinxiu-xincheng-power")))

    static let presence = Event(
        id: "hb-1", source: "/china-mobile/agent", time: Timestamp(secondsSinceEpoch: 1_700_000_000), utility: .telecom,
        sequence: 42, recordedTime: Timestamp(microsecondsSinceEpoch: 1_700_000_000_123_456), authenticatedIdentity: "china-mobile",
        data: .presence(PresenceReport(status: .heartbeat, agent: "agent", heartbeatIntervalMs: 5000, version: "0.1.0")))

    static let alert = Event(
        id: "alert-1", source: "/conduit/aggregator", time: Timestamp(secondsSinceEpoch: 1_700_000_000),
        extensions: [ExtensionAttribute(name: "traceparent", json: Array(#""00-abc-01""#.utf8))],
        data: .alert(AlertReport(status: .raised, kind: .behindSchedule, key: "ganjiaba-water/behind", message: "behind plan", refs: ["/water-investment-company#w-9"])))

    /// A ledger entry as the aggregator publishes it (the WireProtocol article's alert example): an overrun of a power
    /// outage at Jinxiu Xincheng, restored 40 minutes after its window, with its subject, deadline and figures.
    static let ledgerAlertJSON = #"{"specversion":"1.0","id":"raised-57-outage_overrun/jinxiu-xincheng/power/jx-cut-1","source":"/conduit/aggregator","type":"conduit.alert","time":"2023-07-02T05:40:00Z","utility":"power","site":"jinxiu-xincheng","workitem":"jinxiu-xincheng-power","data":{"status":"raised","kind":"outage_overrun","key":"outage_overrun/jinxiu-xincheng/power/jx-cut-1","message":"outage jinxiu-xincheng/power/jx-cut-1 was restored at 2023-07-02T05:40:00Z, 0 h 40 min after its window ended at 2023-07-02T05:00:00Z","refs":["/power-supply-bureau/agent-1#out-1","/power-supply-bureau/agent-1#out-3"],"organisation":"power-supply-bureau","community":"jinxiu-xincheng","workItem":"jinxiu-xincheng-power","outage":"jinxiu-xincheng/power/jx-cut-1","raisedAt":"2023-07-02T05:40:00Z","deadline":"2023-07-09","figures":{"windowStart":"2023-07-02T01:00:00Z","windowEnd":"2023-07-02T05:00:00Z","startedAt":"2023-07-02T01:05:00Z","restoredAt":"2023-07-02T05:40:00Z","overrunMinutes":40,"households":96}}}"#

    static var ledgerAlert: Event {
        var figures = AlertFigures()
        figures[.households] = .integer(96)
        figures[.overrunMinutes] = .integer(40)
        figures[.restoredAt] = .time(try! Timestamp(rfc3339: "2023-07-02T05:40:00Z"))
        figures[.startedAt] = .time(try! Timestamp(rfc3339: "2023-07-02T01:05:00Z"))
        figures[.windowEnd] = .time(try! Timestamp(rfc3339: "2023-07-02T05:00:00Z"))
        figures[.windowStart] = .time(try! Timestamp(rfc3339: "2023-07-02T01:00:00Z"))
        let key = "outage_overrun/jinxiu-xincheng/power/jx-cut-1"
        return Event(
            id: "raised-57-" + key, source: "/conduit/aggregator", time: try! Timestamp(rfc3339: "2023-07-02T05:40:00Z"),
            utility: .power, site: "jinxiu-xincheng", workItem: "jinxiu-xincheng-power",
            data: .alert(AlertReport(
                status: .raised, kind: .outageOverrun, key: key,
                message: "outage jinxiu-xincheng/power/jx-cut-1 was restored at 2023-07-02T05:40:00Z, 0 h 40 min after its window ended at 2023-07-02T05:00:00Z",
                refs: ["/power-supply-bureau/agent-1#out-1", "/power-supply-bureau/agent-1#out-3"], organisation: "power-supply-bureau",
                community: "jinxiu-xincheng", workItem: "jinxiu-xincheng-power", outage: "jinxiu-xincheng/power/jx-cut-1",
                raisedAt: try! Timestamp(rfc3339: "2023-07-02T05:40:00Z"), deadline: CalendarDate(year: 2023, month: 7, day: 9),
                figures: figures)))
    }

    /// A coordinator's acknowledgement of that entry (the article's example).
    static let acknowledgementJSON = #"{"specversion":"1.0","id":"ack-0042","source":"/county-government-office/desk-1","type":"conduit.alert","time":"2023-07-04T02:00:00Z","data":{"status":"acknowledged","kind":"outage_overrun","key":"outage_overrun/jinxiu-xincheng/power/jx-cut-1","message":"供电局已书面说明：电缆接头返工；通报批评 / written explanation received: cable joint rework; criticised in the weekly bulletin"}}"#

    static let all: [Event] = [progress, inspection, outage, presence, alert, ledgerAlert]

    /// The sample progress event with `data` changed by `edit`, as JSON.
    static func progress(replacingData data: String) -> String {
        let start = progressJSON.range(of: #""data":"#)!.upperBound
        return String(progressJSON[..<start]) + data + "}"
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

extension Samples {
    static let progressBytes: [UInt8] = bytes(progressJSON)
    static let stampedProgressBytes: [UInt8] = bytes(stampedProgressJSON)
    static let recordedAt = Timestamp(microsecondsSinceEpoch: 1_685_608_200_250_000)  // 2023-06-01T08:30:00.250Z
}

/// Bytes from a hex string ("00ff…").
func hex(_ text: String) -> [UInt8] {
    var result: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
    while let high = iterator.next(), let low = iterator.next() {
        result.append(nibble(high) << 4 | nibble(low))
    }
    return result
}

/// Asserts that `body` throws a ``ConduitError`` with this code and path.
func expectError(_ code: ConduitError.Code, at path: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(code) at \(path), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ConduitError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.path == path, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a ConduitError, got \(error)", sourceLocation: sourceLocation)
    }
}
