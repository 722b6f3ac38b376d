import ConduitCore

/// What varies between two simulated years of the same scenario.
public struct SimulationOptions: Sendable, Hashable {
    /// The seed of every random choice. The same seed gives the same plan in every process. Default 2023.
    public var seed: UInt64
    /// The agent path segment of every event's source, `/<organisation>/<agent>`: an identifier
    /// (`a-z`, `0-9`, `-`). Default `sim`.
    public var agent: String

    /// Options with the given seed and agent name.
    public init(seed: UInt64 = 2023, agent: String = "sim") {
        self.seed = seed
        self.agent = agent
    }
}

/// One event of the simulated year, with the moment its agent publishes it.
public struct SimulatedEvent: Sendable, Hashable {
    /// When the agent publishes it, on the simulated clock. Never before `event.time`; sometimes later
    /// (a field report arriving a day or two late).
    public var due: Timestamp
    /// The event as the agent publishes it: no `sequence`, `recordedtime` or authenticated identity.
    public var event: Event

    /// An event to publish at `due`.
    public init(due: Timestamp, event: Event) {
        self.due = due
        self.event = event
    }
}
