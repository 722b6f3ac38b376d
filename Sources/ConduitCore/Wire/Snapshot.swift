/// A request to the aggregator's snapshot socket (ROUTER), from a DEALER.
public struct SnapshotRequest: Sendable, Hashable {
    /// Chosen by the client; echoed in the reply.
    public var request: UInt64
    /// The subtree of the state, as `/`-separated segments (`communities/ganjiaba`); empty: the whole state.
    public var path: String

    public init(request: UInt64, path: String = "") {
        self.request = request
        self.path = path
    }

    /// `[CONDUIT/1][SNAPSHOT][request][path]`.
    public func encode() -> WireMessage {
        [ProtocolSignature.frame, Wire.command("SNAPSHOT"), Wire.frame(request), Wire.frame(path)]
    }

    public static func decode(_ message: WireMessage) throws(ConduitError) -> SnapshotRequest {
        let command = try Wire.command(of: message)
        guard command == Wire.command("SNAPSHOT") else { throw Wire.unknownCommand(command, "snapshot") }
        try Wire.arity(message, 4, "SNAPSHOT")
        let request = try Wire.readUInt64(message, 2)
        let path = try Wire.readText(message, 3, maximum: 512)
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if !path.isEmpty, let bad = segments.first(where: { !Identifier.isValid(String($0)) && !isFieldName($0) }) {
            throw ConduitError(.frameValue, path: "frame[3]", "\"\(bad)\" is not a path segment (an identifier or a field name)")
        }
        return SnapshotRequest(request: request, path: path)
    }

    private static func isFieldName(_ segment: Substring) -> Bool {
        !segment.isEmpty && segment.utf8.count <= 64
            && segment.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
    }
}

/// A reply from the aggregator's snapshot socket.
public enum SnapshotReply: Sendable, Hashable {
    /// `STATE`: the state (or subtree) as JSON, as of the event with `sequence`: apply only live
    /// events with a higher sequence after it.
    case state(request: UInt64, sequence: UInt64, json: [UInt8])
    /// `ERROR`: for instance `query.not_found` for an unknown path.
    case error(request: UInt64, ConduitError)

    public func encode() -> WireMessage {
        switch self {
        case .state(let request, let sequence, let json):
            return [ProtocolSignature.frame, Wire.command("STATE"), Wire.frame(request), Wire.frame(sequence), json]
        case .error(let request, let error):
            return [ProtocolSignature.frame, Wire.command("ERROR"), Wire.frame(request)] + Wire.errorFrames(error)
        }
    }

    public static func decode(_ message: WireMessage) throws(ConduitError) -> SnapshotReply {
        let command = try Wire.command(of: message)
        switch command {
        case Wire.command("STATE"):
            try Wire.arity(message, 5, "STATE")
            return .state(request: try Wire.readUInt64(message, 2), sequence: try Wire.readUInt64(message, 3), json: message[4])
        case Wire.command("ERROR"):
            try Wire.arity(message, 6, "ERROR")
            return .error(request: try Wire.readUInt64(message, 2), try Wire.readError(message, from: 3))
        default:
            throw Wire.unknownCommand(command, "snapshot")
        }
    }
}
