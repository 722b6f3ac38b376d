import ConduitCore

/// Planned outages at Ganjiaba on building b01, noticed ahead: two of different services with overlapping windows
/// raise `outage_overlap`. Their windows are in 2099, so that a fold whose clock follows a broker's wall clock (its
/// heartbeats) never sees them lapse before the test is done.
public enum OverlappingOutages {
    public static func json(id: String, service: Utility, organisation: String, subject: String, from: String, to: String) -> [UInt8] {
        Array(
            (#"{"specversion":"1.0","id":""# + id + #"","source":"/"# + organisation
                + #"/agent-1","type":"conduit.outage","time":"2023-07-01T09:00:00+08:00","subject":""# + subject
                + #"","utility":""# + service.rawValue
                + #"","site":"ganjiaba","data":{"status":"noticed","nature":"planned","service":""# + service.rawValue
                + #"","windowStart":""# + from + #"","windowEnd":""# + to
                + #"","noticedAt":"2023-06-20T09:00:00+08:00","buildings":["b01"],"households":54}}"#).utf8)
    }

    public static let power = json(
        id: "ov-power", service: .power, organisation: "power-supply-bureau", subject: "power-cut-b01",
        from: "2099-07-10T09:00:00+08:00", to: "2099-07-10T17:00:00+08:00")
    public static let water = json(
        id: "ov-water", service: .water, organisation: "water-investment-company", subject: "water-cut-b01",
        from: "2099-07-10T13:00:00+08:00", to: "2099-07-10T20:00:00+08:00")
}
