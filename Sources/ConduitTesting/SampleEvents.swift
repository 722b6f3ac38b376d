import ConduitCore

/// Valid events of the default scenario, for tests and benchmarks.
public enum SampleEvents {
    /// A progress report of the power supply bureau at Ganjiaba, about 330 bytes, as JSON.
    public static func progressJSON(id: String, percent: Int = 45, source: String = "/power-supply-bureau/agent-1") -> String {
        #"{"specversion":"1.0","id":""# + id + #"","source":""# + source
            + #"","type":"conduit.progress","time":"2023-06-01T08:30:00Z","utility":"power","site":"ganjiaba","workitem":"ganjiaba-power","data":{"status":"in_progress","percent":"#
            + "\(percent)"
            + #","plannedStart":"2023-04-01","plannedFinish":"2023-09-30","actualStart":"2023-04-03","householdsAffected":120}}"#
    }

    /// The same progress report as bytes.
    public static func progress(id: String, percent: Int = 45, source: String = "/power-supply-bureau/agent-1") -> [UInt8] {
        Array(progressJSON(id: id, percent: percent, source: source).utf8)
    }

    /// A planned water outage at Ruijing Biyuan, noticed ahead, as bytes.
    public static func outage(id: String) -> [UInt8] {
        Array(
            (#"{"specversion":"1.0","id":""# + id
                + #"","source":"/water-investment-company/agent-1","type":"conduit.outage","time":"2023-07-01T09:00:00+08:00","utility":"water","site":"ruijing-biyuan","data":{"status":"noticed","nature":"planned","service":"water","windowStart":"2023-07-03T09:00:00+08:00","windowEnd":"2023-07-03T17:00:00+08:00","noticedAt":"2023-07-01T09:00:00+08:00","households":40}}"#).utf8)
    }
}
