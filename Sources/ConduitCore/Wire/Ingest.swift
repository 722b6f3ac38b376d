/// A message from an agent (DEALER) to the broker's ingest socket (ROUTER).
///
/// Frames as the agent sends them; the broker's ROUTER sees the peer's routing identity first and
/// strips it before decoding. See the WireProtocol article for the byte layouts.
public enum IngestRequest: Sendable, Hashable {
    /// `PUBLISH`: one event. The correlation is chosen by the agent and echoed in the ack or reject,
    /// so an agent can keep a window of unacknowledged events in flight.
    case publish(correlation: UInt64, event: [UInt8])
    /// `HELLO`: the agent's CloudEvents source, the heartbeat interval it promises, and the optional features it asks
    /// for (``IngestFeature``; none is the protocol's first form, a four-frame `HELLO`).
    case hello(source: String, heartbeatIntervalMs: UInt32, features: [String] = [])
    /// `BATCH` (feature `batch`): several events in one message, each with its correlation; each is answered as if it
    /// had come in a `PUBLISH` of its own, its acknowledgement in an `ACKS`.
    case batch([BatchEntry])
    /// `HEARTBEAT`: the agent is alive.
    case heartbeat
    /// `GOODBYE`: the agent is stopping.
    case goodbye
    /// `PLAN`: asks for the plan the broker validates against.
    case plan(correlation: UInt64)

    /// A `PUBLISH` of an event in canonical JSON.
    public static func publish(correlation: UInt64, event: Event) -> IngestRequest {
        .publish(correlation: correlation, event: EventCodec.encode(event))
    }

    /// The frames of this message.
    public func encode() -> WireMessage {
        switch self {
        case .publish(let correlation, let event):
            return [ProtocolSignature.frame, Wire.command("PUBLISH"), Wire.frame(correlation), event]
        case .hello(let source, let interval, let features):
            let frames = [ProtocolSignature.frame, Wire.command("HELLO"), Wire.frame(source), Wire.frame(interval)]
            return features.isEmpty ? frames : frames + [Wire.frame(features.joined(separator: ","))]
        case .batch(let entries):
            var body: [UInt8] = []
            body.reserveCapacity(entries.reduce(0) { $0 + 12 + $1.eventCount })
            for entry in entries {
                Wire.append(entry.correlation, to: &body)
                Wire.append(UInt32(entry.eventCount), to: &body)
                entry.withEvent { body.append(contentsOf: $0) }
            }
            return [ProtocolSignature.frame, Wire.command("BATCH"), body]
        case .heartbeat:
            return [ProtocolSignature.frame, Wire.command("HEARTBEAT")]
        case .goodbye:
            return [ProtocolSignature.frame, Wire.command("GOODBYE")]
        case .plan(let correlation):
            return [ProtocolSignature.frame, Wire.command("PLAN"), Wire.frame(correlation)]
        }
    }

    /// Decodes a message (without the routing identity).
    /// - Throws: ``ConduitError`` with a `frame.*` code, or `event.oversize` for a too-large event frame.
    ///   The event JSON itself is not decoded here.
    public static func decode(_ message: WireMessage) throws(ConduitError) -> IngestRequest {
        let command = try Wire.command(of: message)
        switch command {
        case Wire.command("PUBLISH"):
            try Wire.arity(message, 4, "PUBLISH")
            let correlation = try Wire.readUInt64(message, 2)
            guard message[3].count <= EventCodec.maximumEventBytes else {
                throw ConduitError(.eventOversize, path: "frame[3]", "the event is \(message[3].count) bytes; the limit is \(EventCodec.maximumEventBytes)")
            }
            return .publish(correlation: correlation, event: message[3])
        case Wire.command("HELLO"):
            if message.count != 5 { try Wire.arity(message, 4, "HELLO") }
            let source = try Wire.readText(message, 2, maximum: 256, allowEmpty: false)
            guard source.hasPrefix("/"), source.utf8.count >= 2 else {
                throw ConduitError(.frameValue, path: "frame[2]", "\"\(source)\" is not a source; expected /<organisation>[/<agent>]")
            }
            let interval = try Wire.readUInt32(message, 3)
            guard message.count == 5 else { return .hello(source: source, heartbeatIntervalMs: interval) }
            let features = try Wire.readText(message, 4, maximum: 256, allowEmpty: true)
            return .hello(source: source, heartbeatIntervalMs: interval, features: features.split(separator: ",").map(String.init))
        case Wire.command("BATCH"):
            try Wire.arity(message, 3, "BATCH")
            return .batch(try BatchEntry.decode(message[2]))
        case Wire.command("HEARTBEAT"):
            try Wire.arity(message, 2, "HEARTBEAT")
            return .heartbeat
        case Wire.command("GOODBYE"):
            try Wire.arity(message, 2, "GOODBYE")
            return .goodbye
        case Wire.command("PLAN"):
            try Wire.arity(message, 3, "PLAN")
            return .plan(correlation: try Wire.readUInt64(message, 2))
        default:
            throw Wire.unknownCommand(command, "ingest")
        }
    }

    /// The correlation of a `PUBLISH` whose frames are at least readable, for rejecting it; 0 otherwise.
    public static func correlation(ofUndecodable message: WireMessage) -> UInt64 {
        guard message.count >= 3, message[2].count == 8 else { return 0 }
        return Wire.uint64(message[2], 0)
    }
}

/// The optional features of the ingest protocol, asked for in `HELLO` and granted in `WELCOME`.
public enum IngestFeature {
    /// `BATCH` from the agent, `ACKS` from the broker: several events, and their acknowledgements, per message.
    public static let batch = "batch"
    /// The features this version of Conduit grants.
    public static let supported: Set<String> = [batch]
}

/// One event of a `BATCH`.
public struct BatchEntry: Sendable, Hashable {
    public var correlation: UInt64
    /// The event's bytes: an array of its own, or a range of the `BATCH` body it was decoded from, shared with the
    /// other entries rather than copied out.
    private var storage: [UInt8]
    private var range: Range<Int>

    public init(correlation: UInt64, event: [UInt8]) {
        self.correlation = correlation
        self.storage = event
        self.range = 0..<event.count
    }

    init(correlation: UInt64, body: [UInt8], range: Range<Int>) {
        self.correlation = correlation
        self.storage = body
        self.range = range
    }

    /// The event's JSON.
    public var event: [UInt8] {
        get { range == 0..<storage.count ? storage : Array(storage[range]) }
        set {
            storage = newValue
            range = 0..<newValue.count
        }
    }

    /// The event's length in bytes.
    public var eventCount: Int { range.count }

    /// Calls `body` with the event's bytes where they lie.
    public func withEvent<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    public static func == (lhs: BatchEntry, rhs: BatchEntry) -> Bool {
        lhs.correlation == rhs.correlation && lhs.withEvent { left in rhs.withEvent { right in left.elementsEqual(right) } }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(correlation)
        withEvent { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// The most events in one `BATCH`.
    public static let maximumEntries = 1024

    /// The entries of a `BATCH` body: each a correlation (u64), a length (u32) and that many bytes of event JSON.
    static func decode(_ body: [UInt8]) throws(ConduitError) -> [BatchEntry] {
        var entries: [BatchEntry] = []
        var offset = 0
        while offset < body.count {
            guard entries.count < maximumEntries else {
                throw ConduitError(.frameValue, path: "frame[2]", "a BATCH holds at most \(maximumEntries) events")
            }
            guard body.count - offset >= 12 else {
                throw ConduitError(.frameSize, path: "frame[2]", "entry \(entries.count) is cut short: \(body.count - offset) bytes where a correlation and a length take 12")
            }
            let correlation = Wire.uint64(body, offset)
            let length = body[(offset + 8)..<(offset + 12)].reduce(0) { $0 << 8 | Int($1) }
            guard length <= EventCodec.maximumEventBytes else {
                throw ConduitError(.eventOversize, path: "frame[2]", "entry \(entries.count) is \(length) bytes; the limit is \(EventCodec.maximumEventBytes)")
            }
            guard body.count - offset - 12 >= length else {
                throw ConduitError(.frameSize, path: "frame[2]", "entry \(entries.count) says \(length) bytes; \(body.count - offset - 12) remain")
            }
            entries.append(BatchEntry(correlation: correlation, body: body, range: (offset + 12)..<(offset + 12 + length)))
            offset += 12 + length
        }
        guard !entries.isEmpty else { throw ConduitError(.frameSize, path: "frame[2]", "a BATCH holds at least one event") }
        return entries
    }
}

/// One acknowledgement of an `ACKS`: the event's correlation, its sequence, and whether it was a resend.
public struct BatchAcknowledgement: Sendable, Hashable {
    public var correlation: UInt64
    public var sequence: UInt64
    public var duplicate: Bool

    public init(correlation: UInt64, sequence: UInt64, duplicate: Bool) {
        self.correlation = correlation
        self.sequence = sequence
        self.duplicate = duplicate
    }
}

/// The broker's acknowledgement of a published event.
public struct Acknowledgement: Sendable, Hashable {
    /// The agent's correlation from the `PUBLISH`.
    public var correlation: UInt64
    /// The event's broker sequence (its original one if it was a duplicate).
    public var sequence: UInt64
    /// Whether the event had been stored before (same source and id); it was not stored again.
    public var duplicate: Bool
    public var source: String
    public var id: String

    public init(correlation: UInt64, sequence: UInt64, duplicate: Bool, source: String, id: String) {
        self.correlation = correlation
        self.sequence = sequence
        self.duplicate = duplicate
        self.source = source
        self.id = id
    }
}

/// The broker's refusal of a message, with the stable error code, the path and the reason.
public struct Rejection: Sendable, Hashable {
    /// The correlation of the rejected `PUBLISH`, or 0 if the message had none.
    public var correlation: UInt64
    public var error: ConduitError

    public init(correlation: UInt64, error: ConduitError) {
        self.correlation = correlation
        self.error = error
    }
}

/// The broker's answer to `HELLO`.
public struct Welcome: Sendable, Hashable {
    /// How often the broker sends heartbeats to idle agents and expects theirs.
    public var heartbeatIntervalMs: UInt32
    /// The largest event frame accepted.
    public var maximumEventBytes: UInt32
    /// How many unacknowledged `PUBLISH`es an agent may have in flight.
    public var maximumInFlight: UInt32
    /// The broker's journal head (latest sequence) when it answered.
    public var headSequence: UInt64
    /// The features granted, of those `HELLO` asked for (``IngestFeature``); sent only when some were asked for.
    public var features: [String]

    public init(
        heartbeatIntervalMs: UInt32, maximumEventBytes: UInt32, maximumInFlight: UInt32, headSequence: UInt64,
        features: [String] = []
    ) {
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.maximumEventBytes = maximumEventBytes
        self.maximumInFlight = maximumInFlight
        self.headSequence = headSequence
        self.features = features
    }
}

/// A message from the broker's ingest socket to an agent.
public enum IngestReply: Sendable, Hashable {
    /// `WELCOME`: answer to `HELLO`.
    case welcome(Welcome)
    /// `ACK`: the event is durable (or was already).
    case ack(Acknowledgement)
    /// `ACKS`: the events of a `BATCH` that are durable, in the order they were sent (rejected ones get a `REJECT`).
    case acks([BatchAcknowledgement])
    /// `REJECT`: the message was refused; nothing was stored.
    case reject(Rejection)
    /// `HEARTBEAT`: the broker is alive.
    case heartbeat
    /// `PLAN`: answer to `PLAN`, the plan in force.
    case plan(correlation: UInt64, PlanInForce)

    public func encode() -> WireMessage {
        switch self {
        case .welcome(let welcome):
            var body: [UInt8] = []
            body.reserveCapacity(20)
            Wire.append(welcome.heartbeatIntervalMs, to: &body)
            Wire.append(welcome.maximumEventBytes, to: &body)
            Wire.append(welcome.maximumInFlight, to: &body)
            Wire.append(welcome.headSequence, to: &body)
            let frames = [ProtocolSignature.frame, Wire.command("WELCOME"), body]
            return welcome.features.isEmpty ? frames : frames + [Wire.frame(welcome.features.joined(separator: ","))]
        case .acks(let acks):
            // 17 bytes each: correlation and sequence big-endian, then the duplicate flag.
            let body = [UInt8](unsafeUninitializedCapacity: acks.count * 17) { buffer, count in
                let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
                for (index, ack) in acks.enumerated() {
                    raw.storeBytes(of: ack.correlation.bigEndian, toByteOffset: index * 17, as: UInt64.self)
                    raw.storeBytes(of: ack.sequence.bigEndian, toByteOffset: index * 17 + 8, as: UInt64.self)
                    raw.storeBytes(of: ack.duplicate ? 1 : 0, toByteOffset: index * 17 + 16, as: UInt8.self)
                }
                count = acks.count * 17
            }
            return [ProtocolSignature.frame, Wire.command("ACKS"), body]
        case .ack(let ack):
            return [
                ProtocolSignature.frame, Wire.command("ACK"), Wire.frame(ack.correlation), Wire.frame(ack.sequence),
                [ack.duplicate ? 1 : 0], Wire.frame(ack.source), Wire.frame(ack.id),
            ]
        case .reject(let rejection):
            return [ProtocolSignature.frame, Wire.command("REJECT"), Wire.frame(rejection.correlation)]
                + Wire.errorFrames(rejection.error)
        case .heartbeat:
            return [ProtocolSignature.frame, Wire.command("HEARTBEAT")]
        case .plan(let correlation, let plan):
            return [ProtocolSignature.frame, Wire.command("PLAN"), Wire.frame(correlation), Wire.frame(plan.sequence), plan.json]
        }
    }

    public static func decode(_ message: WireMessage) throws(ConduitError) -> IngestReply {
        let command = try Wire.command(of: message)
        switch command {
        case Wire.command("WELCOME"):
            if message.count != 4 { try Wire.arity(message, 3, "WELCOME") }
            let body = message[2]
            guard body.count == 20 else {
                throw ConduitError(.frameSize, path: "frame[2]", "WELCOME's body is 20 bytes, got \(body.count)")
            }
            let words = (0..<3).map { index in body[(index * 4)..<(index * 4 + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
            let features = message.count == 4 ? try Wire.readText(message, 3, maximum: 256, allowEmpty: true) : ""
            return .welcome(Welcome(
                heartbeatIntervalMs: words[0], maximumEventBytes: words[1], maximumInFlight: words[2],
                headSequence: Wire.uint64(body, 12), features: features.split(separator: ",").map(String.init)))
        case Wire.command("ACKS"):
            try Wire.arity(message, 3, "ACKS")
            let body = message[2]
            guard !body.isEmpty, body.count % 17 == 0 else {
                throw ConduitError(.frameSize, path: "frame[2]", "ACKS holds 17 bytes per acknowledgement, got \(body.count)")
            }
            var acks: [BatchAcknowledgement] = []
            acks.reserveCapacity(body.count / 17)
            for offset in stride(from: 0, to: body.count, by: 17) {
                guard body[offset + 16] <= 1 else {
                    throw ConduitError(.frameValue, path: "frame[2]", "acknowledgement \(offset / 17) has flags 0x\(String(body[offset + 16], radix: 16))")
                }
                acks.append(BatchAcknowledgement(
                    correlation: Wire.uint64(body, offset), sequence: Wire.uint64(body, offset + 8), duplicate: body[offset + 16] == 1))
            }
            return .acks(acks)
        case Wire.command("ACK"):
            try Wire.arity(message, 7, "ACK")
            let flags = try Wire.readByte(message, 4)
            guard flags <= 1 else {
                throw ConduitError(.frameValue, path: "frame[4]", "flags 0x\(String(flags, radix: 16)) has bits other than bit 0 (duplicate) set")
            }
            return .ack(Acknowledgement(
                correlation: try Wire.readUInt64(message, 2), sequence: try Wire.readUInt64(message, 3),
                duplicate: flags == 1, source: try Wire.readText(message, 5, maximum: 256, allowEmpty: false),
                id: try Wire.readText(message, 6, maximum: 128, allowEmpty: false)))
        case Wire.command("REJECT"):
            try Wire.arity(message, 6, "REJECT")
            return .reject(Rejection(correlation: try Wire.readUInt64(message, 2), error: try Wire.readError(message, from: 3)))
        case Wire.command("HEARTBEAT"):
            try Wire.arity(message, 2, "HEARTBEAT")
            return .heartbeat
        case Wire.command("PLAN"):
            try Wire.arity(message, 5, "PLAN")
            return .plan(correlation: try Wire.readUInt64(message, 2), try PlanInForce.decode(message, from: 3))
        default:
            throw Wire.unknownCommand(command, "ingest")
        }
    }
}

/// The plan a broker validates against, as its `PLAN` replies carry it: the sequence of the `conduit.plan` event
/// that put it in force, and the plan's canonical JSON.
public struct PlanInForce: Sendable, Hashable {
    /// The sequence of the plan's `conduit.plan` event in the journal; 0 while that event is not yet durable.
    public var sequence: UInt64
    /// The plan document, canonical (``Scenario/canonicalJSON``).
    public var json: [UInt8]

    public init(sequence: UInt64, json: [UInt8]) {
        self.sequence = sequence
        self.json = json
    }

    /// The plan itself.
    public func plan() throws(ConduitError) -> Scenario { try Scenario.decode(json) }

    static func decode(_ message: WireMessage, from index: Int) throws(ConduitError) -> PlanInForce {
        PlanInForce(sequence: try Wire.readUInt64(message, index), json: message[index + 1])
    }
}

extension IngestReply {
    /// Calls `emit` with each frame of this reply in order (and whether more follow), without building arrays where
    /// it can: the broker's acknowledgement path sends one reply per event. The frames are those of ``encode()``.
    @inlinable
    public func forEachFrame<Failure: Error>(
        _ emit: (UnsafeRawBufferPointer, _ more: Bool) throws(Failure) -> Void
    ) throws(Failure) {
        guard case .ack(let ack) = self else {
            let frames = encode()
            for (index, frame) in frames.enumerated() {
                try FrameBytes.withBytes(frame) { (bytes) throws(Failure) in try emit(bytes, index < frames.count - 1) }
            }
            return
        }
        try FrameBytes.withBytes(ProtocolSignature.frame) { (bytes) throws(Failure) in try emit(bytes, true) }
        try FrameBytes.withBytes(IngestReply.ackCommand) { (bytes) throws(Failure) in try emit(bytes, true) }
        var numbers = (ack.correlation.bigEndian, ack.sequence.bigEndian)
        try FrameBytes.withRawBytes(&numbers) { (both) throws(Failure) in
            try emit(UnsafeRawBufferPointer(rebasing: both[0..<8]), true)
            try emit(UnsafeRawBufferPointer(rebasing: both[8..<16]), true)
        }
        var flag: UInt8 = ack.duplicate ? 1 : 0
        try FrameBytes.withRawBytes(&flag) { (bytes) throws(Failure) in try emit(bytes, true) }
        var source = ack.source
        try FrameBytes.withUTF8(&source) { (bytes) throws(Failure) in try emit(bytes, true) }
        var id = ack.id
        try FrameBytes.withUTF8(&id) { (bytes) throws(Failure) in try emit(bytes, false) }
    }

    @usableFromInline static let ackCommand: [UInt8] = Array("ACK".utf8)
}

/// Byte access that keeps a typed error (the standard library's methods rethrow untyped errors); inlinable so that
/// the acknowledgement path is specialised in its caller.
@usableFromInline
enum FrameBytes {
    /// `body` with the bytes of `array`, keeping a typed error.
    @inlinable
    static func withBytes<Failure: Error>(
        _ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(Failure) -> Void
    ) throws(Failure) {
        let outcome: Result<Void, Failure> = array.withUnsafeBytes { bytes in
            do throws(Failure) { try body(bytes); return .success(()) } catch { return .failure(error) }
        }
        try outcome.get()
    }

    /// `body` with the raw bytes of a value, keeping a typed error.
    @inlinable
    static func withRawBytes<Value, Failure: Error>(
        _ value: inout Value, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Void
    ) throws(Failure) {
        let outcome: Result<Void, Failure> = withUnsafeBytes(of: &value) { bytes in
            do throws(Failure) { try body(bytes); return .success(()) } catch { return .failure(error) }
        }
        try outcome.get()
    }

    /// `body` with the UTF-8 bytes of a string (made contiguous if needed), keeping a typed error.
    @inlinable
    static func withUTF8<Failure: Error>(
        _ text: inout String, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Void
    ) throws(Failure) {
        let outcome: Result<Void, Failure> = text.withUTF8 { bytes in
            do throws(Failure) { try body(UnsafeRawBufferPointer(bytes)); return .success(()) } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }
}
