import ConduitCore

/// The thresholds the alert rules of ``AggregateState`` use. Every value is configurable.
public struct StateOptions: Sendable, Hashable {
    /// How long before a planned outage's window residents must be notified, per interrupted service.
    ///
    /// ``init(plan:)`` takes them from the plan's notice rules, each with its source in the plan (the seed plan's are
    /// in `Scenario.defaultJSON`). The defaults, for options made without a plan, are the seed plan's leads: power
    /// seven days, the other services 24 hours.
    ///
    /// A service missing from the dictionary uses `Lifecycle/requiredNoticeSeconds`.
    public var requiredNotice: [Utility: Duration]
    /// How many percentage points a work item may lag its linear plan before `behind_schedule` is raised.
    /// Default 10. A raised alert clears once the item is back within half of it.
    public var behindScheduleThreshold: Double
    /// How many heartbeat intervals an agent may miss before it is silent (`agent_silent`) and its data
    /// stale. Default 3, as `Lifecycle/checkSilence(agent:lastSeen:heartbeatIntervalMs:now:)`.
    public var missedHeartbeats: Int
    /// The heartbeat interval assumed for an agent that announced none. Default 30 seconds.
    public var defaultHeartbeatInterval: Duration
    /// The offset from UTC of the local calendar that decides "today" for plans and due dates.
    /// Default +8 hours (China Standard Time), the communities' time zone.
    public var utcOffsetSeconds: Int64

    /// The default lead times, see ``requiredNotice``.
    public static let defaultRequiredNotice: [Utility: Duration] = [
        .power: .seconds(7 * 86_400),
        .water: .seconds(86_400),
        .telecom: .seconds(86_400),
        .broadcast: .seconds(86_400),
    ]

    /// Options with the defaults stated on each property.
    public init(
        requiredNotice: [Utility: Duration] = StateOptions.defaultRequiredNotice,
        behindScheduleThreshold: Double = 10,
        missedHeartbeats: Int = 3,
        defaultHeartbeatInterval: Duration = .seconds(30),
        utcOffsetSeconds: Int64 = 8 * 3600
    ) {
        self.requiredNotice = requiredNotice
        self.behindScheduleThreshold = behindScheduleThreshold
        self.missedHeartbeats = missedHeartbeats
        self.defaultHeartbeatInterval = defaultHeartbeatInterval
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// Options for `plan`: its notice rules (a service without one needs `Lifecycle/requiredNoticeSeconds`) and
    /// its time zone's offset, with the default thresholds.
    public init(plan: Scenario) {
        self.init(
            requiredNotice: Dictionary(uniqueKeysWithValues: plan.noticeRules.map { ($0.service, Duration.seconds($0.leadSeconds)) }),
            utcOffsetSeconds: plan.timeZone.utcOffsetSeconds)
    }

    /// The required notice for `service`, in seconds.
    public func requiredNoticeSeconds(for service: Utility) -> Int64 {
        requiredNotice[service].map { $0.components.seconds } ?? Lifecycle.requiredNoticeSeconds
    }

    /// The local calendar day of `time`.
    public func localDate(of time: Timestamp) -> CalendarDate {
        time.adding(seconds: utcOffsetSeconds).utcDate
    }

    /// The instant the local calendar day after `date` begins.
    func startOfLocalDay(after date: CalendarDate) -> Timestamp {
        CalendarDate(daysSinceEpoch: date.daysSinceEpoch + 1).startOfDayUTC.adding(seconds: -utcOffsetSeconds)
    }
}
