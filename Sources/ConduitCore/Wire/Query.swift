/// A window of the journal to replay.
public enum ReplayWindow: Sendable, Hashable {
    /// Sequences `from` through `to`, inclusive. `to == UInt64.max`: up to the head.
    case sequence(from: UInt64, to: UInt64)
    /// Events recorded at or after `from` and before `to` (microseconds).
    case time(from: Timestamp, to: Timestamp)

    /// Whether a recorded event falls in the window.
    public func contains(_ header: RecordHeader) -> Bool {
        switch self {
        case .sequence(let from, let to): header.sequence >= from && header.sequence <= to
        case .time(let from, let to): header.recordedTime >= from && header.recordedTime < to
        }
    }

    /// The 17-byte frame: `S` or `T`, then two big-endian 64-bit values.
    var frame: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(17)
        switch self {
        case .sequence(let from, let to):
            bytes.append(UInt8(ascii: "S"))
            Wire.append(from, to: &bytes)
            Wire.append(to, to: &bytes)
        case .time(let from, let to):
            bytes.append(UInt8(ascii: "T"))
            Wire.append(UInt64(bitPattern: from.microsecondsSinceEpoch), to: &bytes)
            Wire.append(UInt64(bitPattern: to.microsecondsSinceEpoch), to: &bytes)
        }
        return bytes
    }

    init(frame: [UInt8], index: Int) throws(ConduitError) {
        guard frame.count == 17 else {
            throw ConduitError(.frameSize, path: "frame[\(index)]", "a replay window is 17 bytes, got \(frame.count)")
        }
        let from = Wire.uint64(frame, 1)
        let to = Wire.uint64(frame, 9)
        switch frame[0] {
        case UInt8(ascii: "S"):
            guard from <= to else {
                throw ConduitError(.dataWindow, path: "frame[\(index)]", "the window ends at sequence \(to), before it begins at \(from)")
            }
            self = .sequence(from: from, to: to)
        case UInt8(ascii: "T"):
            let start = Timestamp(microsecondsSinceEpoch: Int64(bitPattern: from))
            let end = Timestamp(microsecondsSinceEpoch: Int64(bitPattern: to))
            guard start <= end else {
                throw ConduitError(.dataWindow, path: "frame[\(index)]", "the window ends at \(end), before it begins at \(start)")
            }
            self = .time(from: start, to: end)
        default:
            throw ConduitError(.frameValue, path: "frame[\(index)]", "a replay window starts with 'S' (sequence) or 'T' (time)")
        }
    }
}

/// A request to stream part of the journal.
public struct ReplayRequest: Sendable, Hashable {
    /// Chosen by the client; every reply to this request carries it.
    public var request: UInt64
    public var window: ReplayWindow
    /// How many events the server may send before it needs more `CREDIT`.
    public var credit: UInt32
    /// Topic prefixes (as for a subscription); an event is sent if its topic starts with any of them.
    /// None: every event. At most 16.
    public var topicPrefixes: [[UInt8]]

    public static let maximumPrefixes = 16

    public init(request: UInt64, window: ReplayWindow, credit: UInt32, topicPrefixes: [[UInt8]] = []) {
        self.request = request
        self.window = window
        self.credit = credit
        self.topicPrefixes = topicPrefixes
    }

    /// Whether a topic passes the filters.
    public func selects(topic: [UInt8]) -> Bool {
        topicPrefixes.isEmpty || topicPrefixes.contains { topic.starts(with: $0) }
    }
}

/// A message from a client (DEALER) to the broker's query socket (ROUTER).
public enum QueryRequest: Sendable, Hashable {
    /// `REPLAY`: stream a window of the journal under credit-based flow control.
    case replay(ReplayRequest)
    /// `CREDIT`: allow `amount` more events on a replay.
    case credit(request: UInt64, amount: UInt32)
    /// `CANCEL`: stop a replay; the server ends it with `END cancelled`.
    case cancel(request: UInt64)
    /// `HEAD`: ask for the journal's first and latest sequence.
    case head(request: UInt64)
    /// `STATS`: ask for the broker's counters as JSON.
    case stats(request: UInt64)
    /// `PLAN`: the plan the broker validates against.
    case plan(request: UInt64)

    public func encode() -> WireMessage {
        switch self {
        case .replay(let replay):
            return [ProtocolSignature.frame, Wire.command("REPLAY"), Wire.frame(replay.request), replay.window.frame, Wire.frame(replay.credit)]
                + replay.topicPrefixes
        case .credit(let request, let amount):
            return [ProtocolSignature.frame, Wire.command("CREDIT"), Wire.frame(request), Wire.frame(amount)]
        case .cancel(let request):
            return [ProtocolSignature.frame, Wire.command("CANCEL"), Wire.frame(request)]
        case .head(let request):
            return [ProtocolSignature.frame, Wire.command("HEAD"), Wire.frame(request)]
        case .stats(let request):
            return [ProtocolSignature.frame, Wire.command("STATS"), Wire.frame(request)]
        case .plan(let request):
            return [ProtocolSignature.frame, Wire.command("PLAN"), Wire.frame(request)]
        }
    }

    public static func decode(_ message: WireMessage) throws(ConduitError) -> QueryRequest {
        let command = try Wire.command(of: message)
        switch command {
        case Wire.command("REPLAY"):
            guard message.count >= 5, message.count <= 5 + ReplayRequest.maximumPrefixes else {
                throw ConduitError(.frameArity, path: "message", "REPLAY has 5 frames and up to \(ReplayRequest.maximumPrefixes) prefix frames, got \(message.count)")
            }
            let request = try Wire.readUInt64(message, 2)
            let window = try ReplayWindow(frame: message[3], index: 3)
            let credit = try Wire.readUInt32(message, 4)
            let prefixes = Array(message[5...])
            for (offset, prefix) in prefixes.enumerated() where prefix.count > 255 {
                throw ConduitError(.frameTopic, path: "frame[\(5 + offset)]", "a topic prefix is at most 255 bytes")
            }
            return .replay(ReplayRequest(request: request, window: window, credit: credit, topicPrefixes: prefixes))
        case Wire.command("CREDIT"):
            try Wire.arity(message, 4, "CREDIT")
            return .credit(request: try Wire.readUInt64(message, 2), amount: try Wire.readUInt32(message, 3))
        case Wire.command("CANCEL"):
            try Wire.arity(message, 3, "CANCEL")
            return .cancel(request: try Wire.readUInt64(message, 2))
        case Wire.command("HEAD"):
            try Wire.arity(message, 3, "HEAD")
            return .head(request: try Wire.readUInt64(message, 2))
        case Wire.command("STATS"):
            try Wire.arity(message, 3, "STATS")
            return .stats(request: try Wire.readUInt64(message, 2))
        case Wire.command("PLAN"):
            try Wire.arity(message, 3, "PLAN")
            return .plan(request: try Wire.readUInt64(message, 2))
        default:
            throw Wire.unknownCommand(command, "query")
        }
    }
}

/// Why a replay stream ended.
public enum EndReason: String, WireEnum {
    /// Every event of the window was sent.
    case complete
    /// The window reaches past the journal head; everything up to the head was sent.
    case beyondHead = "beyond_head"
    /// The window begins before the journal's first retained record; nothing older exists.
    case beforeStart = "before_start"
    /// The client cancelled.
    case cancelled
    /// The client gave no credit for too long.
    case idle
    /// The server failed (the journal could not be read).
    case error
}

/// The end of a replay stream.
public struct EndOfStream: Sendable, Hashable {
    public var request: UInt64
    public var reason: EndReason
    /// The last sequence sent on this stream (0 if none).
    public var lastSequence: UInt64
    /// The journal head when the stream ended.
    public var headSequence: UInt64

    public init(request: UInt64, reason: EndReason, lastSequence: UInt64, headSequence: UInt64) {
        self.request = request
        self.reason = reason
        self.lastSequence = lastSequence
        self.headSequence = headSequence
    }
}

/// The journal's extent.
public struct JournalHead: Sendable, Hashable {
    public var request: UInt64
    /// The first sequence still in the journal (0 if empty).
    public var firstSequence: UInt64
    /// The latest sequence (0 if empty).
    public var headSequence: UInt64
    /// When the latest event was recorded.
    public var headRecordedTime: Timestamp

    public init(request: UInt64, firstSequence: UInt64, headSequence: UInt64, headRecordedTime: Timestamp) {
        self.request = request
        self.firstSequence = firstSequence
        self.headSequence = headSequence
        self.headRecordedTime = headRecordedTime
    }
}

/// A message from the broker's query socket to a client.
public enum QueryReply: Sendable, Hashable {
    /// `CHUNK`: one or more events of a replay, each a header frame and an event frame.
    case chunk(request: UInt64, events: [RecordedEvent])
    /// `END`: the stream is over.
    case end(EndOfStream)
    /// `HEAD`: the journal's extent.
    case head(JournalHead)
    /// `STATS`: counters as a JSON object.
    case stats(request: UInt64, json: [UInt8])
    /// `PLAN`: the plan in force.
    case plan(request: UInt64, PlanInForce)
    /// `ERROR`: the request failed.
    case error(request: UInt64, ConduitError)

    /// The most events one `CHUNK` carries.
    public static let maximumChunkEvents = 1024

    public func encode() -> WireMessage {
        switch self {
        case .chunk(let request, let events):
            var message: WireMessage = [ProtocolSignature.frame, Wire.command("CHUNK"), Wire.frame(request)]
            message.reserveCapacity(3 + 2 * events.count)
            for record in events {
                message.append(record.header.frame)
                message.append(record.event)
            }
            return message
        case .end(let end):
            return [
                ProtocolSignature.frame, Wire.command("END"), Wire.frame(end.request), Wire.frame(end.reason.rawValue),
                Wire.frame(end.lastSequence), Wire.frame(end.headSequence),
            ]
        case .head(let head):
            return [
                ProtocolSignature.frame, Wire.command("HEAD"), Wire.frame(head.request), Wire.frame(head.firstSequence),
                Wire.frame(head.headSequence), Wire.frame(UInt64(bitPattern: head.headRecordedTime.microsecondsSinceEpoch)),
            ]
        case .stats(let request, let json):
            return [ProtocolSignature.frame, Wire.command("STATS"), Wire.frame(request), json]
        case .plan(let request, let plan):
            return [ProtocolSignature.frame, Wire.command("PLAN"), Wire.frame(request), Wire.frame(plan.sequence), plan.json]
        case .error(let request, let error):
            return [ProtocolSignature.frame, Wire.command("ERROR"), Wire.frame(request)] + Wire.errorFrames(error)
        }
    }

    public static func decode(_ message: WireMessage) throws(ConduitError) -> QueryReply {
        let command = try Wire.command(of: message)
        switch command {
        case Wire.command("CHUNK"):
            guard message.count >= 5, (message.count - 3) % 2 == 0, (message.count - 3) / 2 <= maximumChunkEvents else {
                throw ConduitError(.frameArity, path: "message", "CHUNK has 3 frames and 1 to \(maximumChunkEvents) pairs of header and event, got \(message.count) frames")
            }
            var events: [RecordedEvent] = []
            events.reserveCapacity((message.count - 3) / 2)
            var index = 3
            while index < message.count {
                let header = try RecordHeader(frame: message[index], index: index)
                guard message[index + 1].count <= EventCodec.maximumEventBytes else {
                    throw ConduitError(.eventOversize, path: "frame[\(index + 1)]", "the event is \(message[index + 1].count) bytes")
                }
                events.append(RecordedEvent(header: header, event: message[index + 1]))
                index += 2
            }
            return .chunk(request: try Wire.readUInt64(message, 2), events: events)
        case Wire.command("END"):
            try Wire.arity(message, 6, "END")
            let reasonText = try Wire.readText(message, 3, maximum: 32)
            guard let reason = EndReason(rawValue: reasonText) else {
                throw ConduitError(.frameValue, path: "frame[3]", "\"\(reasonText)\" is not one of \(EndReason.choices)")
            }
            return .end(EndOfStream(
                request: try Wire.readUInt64(message, 2), reason: reason,
                lastSequence: try Wire.readUInt64(message, 4), headSequence: try Wire.readUInt64(message, 5)))
        case Wire.command("HEAD"):
            try Wire.arity(message, 6, "HEAD")
            return .head(JournalHead(
                request: try Wire.readUInt64(message, 2), firstSequence: try Wire.readUInt64(message, 3),
                headSequence: try Wire.readUInt64(message, 4),
                headRecordedTime: Timestamp(microsecondsSinceEpoch: try Wire.readInt64(message, 5))))
        case Wire.command("STATS"):
            try Wire.arity(message, 4, "STATS")
            return .stats(request: try Wire.readUInt64(message, 2), json: message[3])
        case Wire.command("PLAN"):
            try Wire.arity(message, 5, "PLAN")
            return .plan(request: try Wire.readUInt64(message, 2), try PlanInForce.decode(message, from: 3))
        case Wire.command("ERROR"):
            try Wire.arity(message, 6, "ERROR")
            return .error(request: try Wire.readUInt64(message, 2), try Wire.readError(message, from: 3))
        default:
            throw Wire.unknownCommand(command, "query")
        }
    }
}
