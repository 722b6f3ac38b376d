/// A message on the broker's fan-out socket (XPUB → SUB).
///
/// The topic comes first because ZeroMQ filters subscriptions on the first frame; the signature follows.
public enum FanoutMessage: Sendable, Hashable {
    /// An event: `[topic][CONDUIT/1][header][event JSON]`.
    case event(topic: [UInt8], record: RecordedEvent)
    /// An idle heartbeat on ``Topic/heartbeat``: `[_heartbeat/][CONDUIT/1][header]`, whose header carries
    /// the latest sequence and the broker's clock.
    case heartbeat(latest: RecordHeader)

    /// The fan-out message of a recorded event, with its topic.
    public static func event(_ event: Event, record: RecordedEvent) -> FanoutMessage {
        .event(topic: event.topic, record: record)
    }

    public func encode() -> WireMessage {
        switch self {
        case .event(let topic, let record):
            return [topic, ProtocolSignature.frame, record.header.frame, record.event]
        case .heartbeat(let latest):
            return [Topic.heartbeat, ProtocolSignature.frame, latest.frame]
        }
    }

    public static func decode(_ message: WireMessage) throws(ConduitError) -> FanoutMessage {
        guard message.count >= 3 else {
            throw ConduitError(.frameArity, path: "message", "a fan-out message has 3 or 4 frames, got \(message.count)")
        }
        try ProtocolSignature.check(message, at: 1)
        if message[0] == Topic.heartbeat {
            try Wire.arity(message, 3, "a heartbeat")
            return .heartbeat(latest: try RecordHeader(frame: message[2], index: 2))
        }
        try Wire.arity(message, 4, "an event")
        _ = try Topic.parse(message[0])
        guard message[3].count <= EventCodec.maximumEventBytes else {
            throw ConduitError(.eventOversize, path: "frame[3]", "the event is \(message[3].count) bytes; the limit is \(EventCodec.maximumEventBytes)")
        }
        return .event(topic: message[0], record: RecordedEvent(header: try RecordHeader(frame: message[2], index: 2), event: message[3]))
    }
}
