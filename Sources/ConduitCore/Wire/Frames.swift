/// One ZeroMQ message: its frames, in order.
public typealias WireMessage = [[UInt8]]

/// The protocol signature every message carries: `CONDUIT/1`.
public enum ProtocolSignature {
    /// The bytes of the signature frame.
    public static let frame: [UInt8] = Array("CONDUIT/1".utf8)

    static func check(_ message: WireMessage, at index: Int) throws(ConduitError) {
        guard message.count > index else {
            throw ConduitError(.frameArity, path: "message", "expected a signature frame at frame[\(index)], got \(message.count) frames")
        }
        guard message[index] == frame else {
            let shown = String(decoding: message[index].prefix(32), as: UTF8.self)
            throw ConduitError(.frameVersion, path: "frame[\(index)]", "\"\(shown)\" is not the protocol signature CONDUIT/1")
        }
    }
}

/// The broker's stamp on a recorded event: its sequence and the time it recorded it.
/// On the wire: 16 bytes, the sequence as a big-endian `UInt64`, then the time as a big-endian
/// `Int64` of microseconds since the Unix epoch.
public struct RecordHeader: Sendable, Hashable {
    public var sequence: UInt64
    public var recordedTime: Timestamp

    public init(sequence: UInt64, recordedTime: Timestamp) {
        self.sequence = sequence
        self.recordedTime = recordedTime
    }

    /// The 16-byte frame.
    public var frame: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        Wire.append(sequence, to: &bytes)
        Wire.append(UInt64(bitPattern: recordedTime.microsecondsSinceEpoch), to: &bytes)
        return bytes
    }

    /// Reads a 16-byte header frame.
    public init(frame: [UInt8], index: Int) throws(ConduitError) {
        guard frame.count == 16 else {
            throw ConduitError(.frameSize, path: "frame[\(index)]", "a record header is 16 bytes, got \(frame.count)")
        }
        sequence = Wire.uint64(frame, 0)
        recordedTime = Timestamp(microsecondsSinceEpoch: Int64(bitPattern: Wire.uint64(frame, 8)))
    }
}

/// An event as stored and forwarded: the broker's header and the event's JSON.
public struct RecordedEvent: Sendable, Hashable {
    public var header: RecordHeader
    /// The event's canonical JSON, with `sequence`, `recordedtime` and `authidentity` stamped.
    public var event: [UInt8]

    public init(header: RecordHeader, event: [UInt8]) {
        self.header = header
        self.event = event
    }
}

/// Helpers shared by the message codecs.
enum Wire {
    static func command(_ name: StaticString) -> [UInt8] {
        Array(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    static func uint64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<(offset + 8) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    static func frame(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        append(value, to: &bytes)
        return bytes
    }

    static func frame(_ value: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4)
        append(value, to: &bytes)
        return bytes
    }

    static func frame(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func readUInt64(_ message: WireMessage, _ index: Int) throws(ConduitError) -> UInt64 {
        let frame = message[index]
        guard frame.count == 8 else {
            throw ConduitError(.frameSize, path: "frame[\(index)]", "expected an 8-byte big-endian integer, got \(frame.count) bytes")
        }
        return uint64(frame, 0)
    }

    static func readInt64(_ message: WireMessage, _ index: Int) throws(ConduitError) -> Int64 {
        Int64(bitPattern: try readUInt64(message, index))
    }

    static func readUInt32(_ message: WireMessage, _ index: Int) throws(ConduitError) -> UInt32 {
        let frame = message[index]
        guard frame.count == 4 else {
            throw ConduitError(.frameSize, path: "frame[\(index)]", "expected a 4-byte big-endian integer, got \(frame.count) bytes")
        }
        return frame.reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func readByte(_ message: WireMessage, _ index: Int) throws(ConduitError) -> UInt8 {
        let frame = message[index]
        guard frame.count == 1 else {
            throw ConduitError(.frameSize, path: "frame[\(index)]", "expected 1 byte, got \(frame.count)")
        }
        return frame[0]
    }

    static func readText(_ message: WireMessage, _ index: Int, maximum: Int = 1024, allowEmpty: Bool = true) throws(ConduitError) -> String {
        let frame = message[index]
        guard frame.count <= maximum else {
            throw ConduitError(.frameSize, path: "frame[\(index)]", "text of \(frame.count) bytes; the limit is \(maximum)")
        }
        guard allowEmpty || !frame.isEmpty else {
            throw ConduitError(.frameValue, path: "frame[\(index)]", "must not be empty")
        }
        guard let text = String(validating: frame, as: UTF8.self) else {
            throw ConduitError(.frameValue, path: "frame[\(index)]", "not valid UTF-8")
        }
        return text
    }

    /// Checks the signature and returns the command frame's text.
    static func command(of message: WireMessage, signatureAt index: Int = 0) throws(ConduitError) -> [UInt8] {
        try ProtocolSignature.check(message, at: index)
        guard message.count > index + 1 else {
            throw ConduitError(.frameArity, path: "message", "expected a command frame at frame[\(index + 1)]")
        }
        return message[index + 1]
    }

    static func arity(_ message: WireMessage, _ expected: Int, _ name: String) throws(ConduitError) {
        guard message.count == expected else {
            throw ConduitError(.frameArity, path: "message", "\(name) has \(expected) frames, got \(message.count)")
        }
    }

    static func unknownCommand(_ command: [UInt8], _ socket: String, index: Int = 1) -> ConduitError {
        let shown = String(decoding: command.prefix(32), as: UTF8.self)
        return ConduitError(.frameCommand, path: "frame[\(index)]", "\"\(shown)\" is not a command of the \(socket) socket")
    }

    /// Frames of an error: code, path, reason.
    /// The most bytes of a path and of a reason an `ERROR` or `REJECT` carries: they quote the input, which may be
    /// as large as an event, and a peer that never reads its rejections must not make the broker hold copies of it.
    static let maximumErrorPathBytes = 256
    static let maximumErrorReasonBytes = 1024

    static func errorFrames(_ error: ConduitError) -> [[UInt8]] {
        [
            frame(error.code.rawValue), truncated(error.path, to: maximumErrorPathBytes),
            truncated(error.reason, to: maximumErrorReasonBytes),
        ]
    }

    /// The UTF-8 of `text`, cut at a character boundary to fit `limit` bytes with an ellipsis when it is longer.
    static func truncated(_ text: String, to limit: Int) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return bytes }
        let ellipsis = Array("…".utf8)
        var end = limit - ellipsis.count
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }  // not inside a multi-byte character
        return Array(bytes[..<end]) + ellipsis
    }

    static func readError(_ message: WireMessage, from index: Int) throws(ConduitError) -> ConduitError {
        let code = try readText(message, index, maximum: 64, allowEmpty: false)
        let path = try readText(message, index + 1, maximum: 1024)
        let reason = try readText(message, index + 2, maximum: 4096)
        return ConduitError(ConduitError.Code(rawValue: code), path: path, reason)
    }
}
