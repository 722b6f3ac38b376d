/// A JSON document as a tree, parsed by the same strict reader as events.
///
/// Used for scenario files, snapshot and stats bodies, and unknown extension attributes. Object members
/// keep their order; duplicate keys are rejected while parsing. Numbers keep their source text so that
/// nothing is lost in a round trip.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, as its (validated) RFC 8259 text.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    /// One member of an object.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// Parses a complete document.
    ///
    /// - Parameters:
    ///   - bytes: the UTF-8 JSON text.
    ///   - maximumDepth: how deeply arrays and objects may nest.
    /// - Throws: ``ConduitError`` with a `json.*` code and the path where parsing failed.
    public static func parse(_ bytes: [UInt8], maximumDepth: Int = 64) throws(ConduitError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(ConduitError) -> JSONValue in
            var reader = JSONReader(buffer, maximumDepth: maximumDepth)
            let value = try parse(&reader, "$")
            try reader.expectEnd()
            return value
        }
    }

    static func parse(_ reader: inout JSONReader, _ path: String) throws(ConduitError) -> JSONValue {
        let byte = try reader.peek(path)
        switch byte {
        case UInt8(ascii: "{"):
            try reader.beginObject(path)
            var members: [Member] = []
            var seen: Set<String> = []
            var first = true
            while let key = try reader.nextKey(&first, path) {
                let name = reader.keyString(key)
                let childPath = JSONPath.member(path, name)
                guard seen.insert(name).inserted else {
                    throw ConduitError(.jsonDuplicateKey, path: childPath, "duplicate key \"\(name)\"")
                }
                members.append(Member(name, try parse(&reader, childPath)))
            }
            return .object(members)
        case UInt8(ascii: "["):
            try reader.beginArray(path)
            var elements: [JSONValue] = []
            var first = true
            while try reader.nextElement(&first, path) {
                elements.append(try parse(&reader, "\(path)[\(elements.count)]"))
            }
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(try reader.readString(path))
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            return .bool(try reader.readBool(path))
        case UInt8(ascii: "n"):
            guard reader.matchLiteral("null") else { throw reader.syntaxError(path, expected: "a value") }
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let token = try reader.scanNumber(path)
            let text = reader.numberText(token)
            guard let value = Double(text), value.isFinite else {
                throw ConduitError(.jsonNumber, path: path, "\(text) is out of range")
            }
            return .number(text)
        default:
            throw reader.syntaxError(path, expected: "a value")
        }
    }

    /// The compact JSON text of this value (members in their stored order).
    public var encoded: [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.bytes
    }

    /// The JSON text of this value indented by two spaces per level, one member or element per line, ending with a
    /// newline: the form of files people read and edit. Arrays of scalars stay on one line.
    public var indented: [UInt8] {
        var writer = JSONWriter()
        indent(&writer, level: 0)
        writer.bytes.append(UInt8(ascii: "\n"))
        return writer.bytes
    }

    private func indent(_ writer: inout JSONWriter, level: Int) {
        func newline(_ writer: inout JSONWriter, _ level: Int) {
            writer.bytes.append(UInt8(ascii: "\n"))
            writer.bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * level))
        }
        switch self {
        case .array(let elements) where elements.contains(where: \.isContainer):
            writer.bytes.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { writer.bytes.append(UInt8(ascii: ",")) }
                newline(&writer, level + 1)
                element.indent(&writer, level: level + 1)
            }
            newline(&writer, level)
            writer.bytes.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            writer.bytes.append(UInt8(ascii: "{"))
            for (position, member) in members.enumerated() {
                if position > 0 { writer.bytes.append(UInt8(ascii: ",")) }
                newline(&writer, level + 1)
                var key = JSONWriter()
                key.string(member.key)
                writer.bytes.append(contentsOf: key.bytes)
                writer.bytes.append(contentsOf: ": ".utf8)
                member.value.indent(&writer, level: level + 1)
            }
            newline(&writer, level)
            writer.bytes.append(UInt8(ascii: "}"))
        default:
            var compact = JSONWriter()
            compact.write(self)
            writer.bytes.append(contentsOf: compact.bytes)
        }
    }

    private var isContainer: Bool {
        switch self {
        case .array, .object: true
        default: false
        }
    }

    /// The member named `key` of an object, if any.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}
