/// A strict RFC 8259 pull parser over a borrowed byte buffer.
///
/// It rejects trailing commas, bad escapes, unpaired surrogates, invalid UTF-8, unescaped control
/// characters, leading zeros and nesting beyond `maximumDepth`. Duplicate keys are detected by the
/// callers, which know their keys (a bit set of fields seen), and by ``JSONValue`` for generic objects.
///
/// The reader never allocates except to build the `String`s it returns. It is only valid inside the
/// `withUnsafeBufferPointer` closure that produced its buffer.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int = 0
    var depth: Int = 0
    let maximumDepth: Int
    /// Set when whitespace is skipped: callers that track whether the input is in canonical (compact) form clear it
    /// before a value and look at it after.
    var sawWhitespace = false
    /// Where the latest string scanned begins (its opening quote), and whether it holds escapes.
    var stringStart = 0
    var stringEscaped = false
    /// How many strings (keys and values) with escapes were scanned.
    var escapedStrings = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int = 32) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    // MARK: Errors

    func describeCurrent() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x20 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))' at offset \(index)"
        }
        return "byte 0x\(String(byte, radix: 16)) at offset \(index)"
    }

    func syntaxError(_ path: String, expected: String) -> ConduitError {
        ConduitError(.jsonSyntax, path: path, "expected \(expected), found \(describeCurrent())")
    }

    // MARK: Whitespace and structure

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                index += 1
                sawWhitespace = true
            } else {
                return
            }
        }
    }

    /// Skips whitespace and returns the next byte without consuming it.
    @inline(__always)
    mutating func peek(_ path: String) throws(ConduitError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw syntaxError(path, expected: "a value") }
        return bytes[index]
    }

    /// Checks that nothing but whitespace follows the document.
    mutating func expectEnd() throws(ConduitError) {
        skipWhitespace()
        if index != bytes.count {
            throw ConduitError(.jsonSyntax, path: "$", "unexpected data after the document: \(describeCurrent())")
        }
    }

    mutating func beginObject(_ path: String) throws(ConduitError) {
        let byte = try peek(path)
        guard byte == UInt8(ascii: "{") else {
            // Text that is not JSON at all is a syntax error; a JSON value of another type is the wrong type.
            _ = try JSONValue.parse(&self, path)
            if path == "$" { try expectEnd() }
            throw ConduitError(.eventType, path: path, "expected an object, found \(describeValueStart(byte))")
        }
        index += 1
        depth += 1
        if depth > maximumDepth {
            throw ConduitError(.jsonDepth, path: path, "nested deeper than \(maximumDepth) levels")
        }
    }

    mutating func beginArray(_ path: String) throws(ConduitError) {
        let byte = try peek(path)
        guard byte == UInt8(ascii: "[") else {
            throw ConduitError(.eventType, path: path, "expected an array, found \(describeValueStart(byte))")
        }
        index += 1
        depth += 1
        if depth > maximumDepth {
            throw ConduitError(.jsonDepth, path: path, "nested deeper than \(maximumDepth) levels")
        }
    }

    func describeValueStart(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        default: return describeCurrent()
        }
    }

    /// Advances to the next key of an object, consuming its colon, or returns `nil` at the closing brace.
    /// `first` tracks whether a member has been read yet; trailing commas are rejected.
    @inline(__always)
    mutating func nextKey(_ first: inout Bool, _ path: String) throws(ConduitError) -> JSONKey? {
        if let key = compactKey(&first) { return key }
        return try nextKeyInGeneral(&first, path)
    }

    /// The next key when the input is compact there: `"key":` (first) or `,"key":` with a key of plain ASCII. Returns
    /// `nil` and consumes nothing otherwise (the general path then reads it, or reports what is wrong).
    @inline(__always)
    mutating func compactKey(_ first: inout Bool) -> JSONKey? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var i = index
        guard i < count else { return nil }
        if !first {
            guard base[i] == UInt8(ascii: ","), i + 1 < count else { return nil }
            i += 1
        }
        guard base[i] == UInt8(ascii: "\"") else { return nil }
        let start = i + 1
        var end = start
        while end < count {
            let byte = base[end]
            guard byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\\") else { return nil }
            if byte == UInt8(ascii: "\"") { break }
            end += 1
        }
        guard end + 1 < count, base[end + 1] == UInt8(ascii: ":") else { return nil }
        first = false
        index = end + 2
        return JSONKey(start: start, count: end - start, decoded: nil)
    }

    mutating func nextKeyInGeneral(_ first: inout Bool, _ path: String) throws(ConduitError) -> JSONKey? {
        skipWhitespace()
        guard index < bytes.count else { throw syntaxError(path, expected: "'}' or a key") }
        var byte = bytes[index]
        if first {
            first = false
            if byte == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return nil
            }
        } else {
            if byte == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return nil
            }
            guard byte == UInt8(ascii: ",") else { throw syntaxError(path, expected: "',' or '}'") }
            index += 1
            skipWhitespace()
            guard index < bytes.count else { throw syntaxError(path, expected: "a key") }
            byte = bytes[index]
        }
        guard byte == UInt8(ascii: "\"") else { throw syntaxError(path, expected: "a key") }
        let token = try scanString(path)
        let key: JSONKey
        if token.escaped {
            key = JSONKey(start: 0, count: 0, decoded: decodeEscaped(token))
        } else {
            key = JSONKey(start: token.start, count: token.end - token.start, decoded: nil)
        }
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
            throw syntaxError(path, expected: "':'")
        }
        index += 1
        return key
    }

    /// Advances to the next element of an array, or returns `false` at the closing bracket.
    @inline(__always)
    mutating func nextElement(_ first: inout Bool, _ path: String) throws(ConduitError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw syntaxError(path, expected: "']' or a value") }
        let byte = bytes[index]
        if byte == UInt8(ascii: "]") {
            // `[]` is fine; `[1,]` never gets here: a value must follow a comma (checked below).
            index += 1
            depth -= 1
            first = false
            return false
        }
        if first {
            first = false
            return true
        }
        guard byte == UInt8(ascii: ",") else { throw syntaxError(path, expected: "',' or ']'") }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            throw ConduitError(.jsonSyntax, path: path, "trailing comma before ']' at offset \(index)")
        }
        return true
    }

    // MARK: Keys

    @inline(__always)
    func keyEquals(_ key: JSONKey, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        if let decoded = key.decoded {
            guard decoded.count == count else { return false }
            return decoded.withUnsafeBufferPointer { buffer in
                memoryEqual(buffer.baseAddress, literal.utf8Start, count)
            }
        }
        guard key.count == count else { return false }
        return memoryEqual(bytes.baseAddress.map { $0 + key.start }, literal.utf8Start, count)
    }

    func keyString(_ key: JSONKey) -> String {
        if let decoded = key.decoded { return String(decoding: decoded, as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[key.start..<(key.start + key.count)]), as: UTF8.self)
    }

    // MARK: Strings

    struct StringToken {
        var start: Int
        var end: Int
        var escaped: Bool
    }

    /// Scans a string starting at the opening quote; validates escapes and UTF-8.
    @inline(__always)
    mutating func scanString(_ path: String) throws(ConduitError) -> StringToken {
        index += 1  // opening quote
        let start = index
        var escaped = false
        let count = bytes.count
        guard let base = bytes.baseAddress else {
            throw ConduitError(.jsonSyntax, path: path, "unterminated string starting at offset \(start - 1)")
        }
        var i = index
        while i < count {
            // Eight bytes at a time while none of them is a quote, a backslash, a control character or non-ASCII.
            while i + 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
                if Self.needsAttention(word) { break }
                i += 8
            }
            // Then one by one up to the byte that needs attention.
            var byte = base[i]
            while byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                i += 1
                guard i < count else { break }
                byte = base[i]
            }
            guard i < count else { break }
            if byte == UInt8(ascii: "\"") {
                let token = StringToken(start: start, end: i, escaped: escaped)
                stringStart = start - 1
                stringEscaped = escaped
                if escaped { escapedStrings &+= 1 }
                index = i + 1
                return token
            }
            index = i
            if byte == UInt8(ascii: "\\") {
                escaped = true
                try scanEscape(path)
            } else if byte < 0x20 {
                throw ConduitError(
                    .jsonString, path: path,
                    "unescaped control character 0x\(String(byte, radix: 16)) in a string at offset \(index)")
            } else {
                try scanUTF8(byte, path)
            }
            i = index
        }
        index = i
        throw ConduitError(.jsonSyntax, path: path, "unterminated string starting at offset \(start - 1)")
    }

    /// Whether any of eight bytes is a quote, a backslash, below 0x20 or above 0x7F. A byte after one that is may be
    /// reported too (a borrow carries): the caller then looks at the bytes one by one.
    @inline(__always)
    static func needsAttention(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let zeroInQuote = (quote &- ones) & ~quote
        let zeroInBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (zeroInQuote | zeroInBackslash | control | word) & high != 0
    }

    mutating func scanEscape(_ path: String) throws(ConduitError) {
        let at = index
        index += 1
        guard index < bytes.count else {
            throw ConduitError(.jsonSyntax, path: path, "unterminated escape at offset \(at)")
        }
        switch bytes[index] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 1
        case UInt8(ascii: "u"):
            index += 1
            let unit = try readHex4(path, at: at)
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                else {
                    throw ConduitError(.jsonString, path: path, "unpaired surrogate \\u\(String(unit, radix: 16)) at offset \(at)")
                }
                index += 2
                let low = try readHex4(path, at: at)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw ConduitError(.jsonString, path: path, "unpaired surrogate \\u\(String(unit, radix: 16)) at offset \(at)")
                }
            } else if unit >= 0xDC00 && unit <= 0xDFFF {
                throw ConduitError(.jsonString, path: path, "unpaired surrogate \\u\(String(unit, radix: 16)) at offset \(at)")
            }
        default:
            throw ConduitError(.jsonString, path: path, "invalid escape \(describeCurrent())")
        }
    }

    mutating func readHex4(_ path: String, at: Int) throws(ConduitError) -> UInt32 {
        guard index + 4 <= bytes.count else {
            throw ConduitError(.jsonString, path: path, "truncated \\u escape at offset \(at)")
        }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw ConduitError(.jsonString, path: path, "invalid \\u escape at offset \(at)")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
    @inline(__always)
    mutating func scanUTF8(_ lead: UInt8, _ path: String) throws(ConduitError) {
        let at = index
        var needed = 0
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0: needed = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: needed = 2
        case 0xED: needed = 2; upper = 0x9F
        case 0xF0: needed = 3; lower = 0x90
        case 0xF1...0xF3: needed = 3
        case 0xF4: needed = 3; upper = 0x8F
        default:
            throw ConduitError(.jsonUTF8, path: path, "invalid UTF-8 byte 0x\(String(lead, radix: 16)) at offset \(at)")
        }
        guard index + needed < bytes.count else {
            throw ConduitError(.jsonUTF8, path: path, "truncated UTF-8 sequence at offset \(at)")
        }
        let second = bytes[index + 1]
        guard second >= lower && second <= upper else {
            throw ConduitError(.jsonUTF8, path: path, "invalid UTF-8 sequence at offset \(at)")
        }
        if needed > 1 {
            for offset in 2...needed where bytes[index + offset] & 0xC0 != 0x80 {
                throw ConduitError(.jsonUTF8, path: path, "invalid UTF-8 sequence at offset \(at)")
            }
        }
        index += needed + 1
    }

    /// The decoded bytes of a string that contains escapes.
    func decodeEscaped(_ token: StringToken) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.end - token.start)
        var i = token.start
        while i < token.end {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            let escape = bytes[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hexValue(at: i)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hexValue(at: i + 2)
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default: out.append(escape)  // " \ /
            }
        }
        return out
    }

    func hexValue(at position: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[position + offset]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            default: digit = UInt32(byte - UInt8(ascii: "A") + 10)
            }
            value = value << 4 | digit
        }
        return value
    }

    /// Reads a string value (the next value must be a string).
    @inline(__always)
    mutating func readString(_ path: String) throws(ConduitError) -> String {
        let byte = try peek(path)
        guard byte == UInt8(ascii: "\"") else {
            throw ConduitError(.eventType, path: path, "expected a string, found \(describeValueStart(byte))")
        }
        let token = try scanString(path)
        if token.escaped {
            return String(decoding: decodeEscaped(token), as: UTF8.self)
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
    }

    /// Reads a string value and returns its (unescaped) bytes, without building a `String`.
    @inline(__always)
    mutating func readStringBytes(_ path: String) throws(ConduitError) -> JSONKey {
        let byte = try peek(path)
        guard byte == UInt8(ascii: "\"") else {
            throw ConduitError(.eventType, path: path, "expected a string, found \(describeValueStart(byte))")
        }
        let token = try scanString(path)
        if token.escaped { return JSONKey(start: 0, count: 0, decoded: decodeEscaped(token)) }
        return JSONKey(start: token.start, count: token.end - token.start, decoded: nil)
    }

    /// Calls `body` with the bytes of a string token.
    @inline(__always)
    func withBytes<R>(of token: JSONKey, _ body: (UnsafeBufferPointer<UInt8>) throws(ConduitError) -> R) throws(ConduitError) -> R {
        if let decoded = token.decoded {
            return try decoded.withUnsafeBufferPointer { buffer throws(ConduitError) -> R in try body(buffer) }
        }
        return try body(UnsafeBufferPointer(rebasing: bytes[token.start..<(token.start + token.count)]))
    }

    // MARK: Literals

    mutating func readBool(_ path: String) throws(ConduitError) -> Bool {
        let byte = try peek(path)
        if byte == UInt8(ascii: "t"), matchLiteral("true") { return true }
        if byte == UInt8(ascii: "f"), matchLiteral("false") { return false }
        if byte == UInt8(ascii: "t") || byte == UInt8(ascii: "f") || byte == UInt8(ascii: "n") {
            if byte == UInt8(ascii: "n"), matchLiteral("null") {
                throw ConduitError(.eventType, path: path, "expected a boolean, found null")
            }
            throw syntaxError(path, expected: "a literal")
        }
        throw ConduitError(.eventType, path: path, "expected a boolean, found \(describeValueStart(byte))")
    }

    /// Consumes `literal` if the input continues with it.
    mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count,
            memoryEqual(bytes.baseAddress.map { $0 + index }, literal.utf8Start, count)
        else { return false }
        index += count
        return true
    }

    /// True (and consumed) if the next value is `null`.
    mutating func readNullIfPresent(_ path: String) throws(ConduitError) -> Bool {
        let byte = try peek(path)
        guard byte == UInt8(ascii: "n") else { return false }
        guard matchLiteral("null") else { throw syntaxError(path, expected: "a literal") }
        return true
    }

    // MARK: Numbers

    struct NumberToken {
        var start: Int
        var end: Int
        var isInteger: Bool
    }

    /// Scans a number with RFC 8259's grammar: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    mutating func scanNumber(_ path: String) throws(ConduitError) -> NumberToken {
        let byte = try peek(path)
        guard byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) else {
            throw ConduitError(.eventType, path: path, "expected a number, found \(describeValueStart(byte))")
        }
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else {
            throw ConduitError(.jsonNumber, path: path, "a number needs digits at offset \(start)")
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw ConduitError(.jsonNumber, path: path, "leading zero in a number at offset \(start)")
            }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw ConduitError(.jsonNumber, path: path, "a fraction needs digits at offset \(index)")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw ConduitError(.jsonNumber, path: path, "an exponent needs digits at offset \(index)")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return NumberToken(start: start, end: index, isInteger: isInteger)
    }

    func numberText(_ token: NumberToken) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
    }

    /// Reads an integer; fractions and exponents are rejected.
    mutating func readInt64(_ path: String) throws(ConduitError) -> Int64 {
        let token = try scanNumber(path)
        guard token.isInteger else {
            throw ConduitError(.eventType, path: path, "expected an integer, found \(numberText(token))")
        }
        var i = token.start
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var value: Int64 = 0
        while i < token.end {
            let digit = Int64(bytes[i] &- UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 {
                throw ConduitError(.jsonNumber, path: path, "\(numberText(token)) is out of the 64-bit integer range")
            }
            value = sum
            i += 1
        }
        return value
    }

    /// Reads an unsigned 64-bit integer.
    mutating func readUInt64(_ path: String) throws(ConduitError) -> UInt64 {
        let token = try scanNumber(path)
        guard token.isInteger else {
            throw ConduitError(.eventType, path: path, "expected an integer, found \(numberText(token))")
        }
        guard bytes[token.start] != UInt8(ascii: "-") else {
            throw ConduitError(.dataRange, path: path, "\(numberText(token)) is negative")
        }
        var value: UInt64 = 0
        var i = token.start
        while i < token.end {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[i] &- UInt8(ascii: "0")))
            if overflow1 || overflow2 {
                throw ConduitError(.jsonNumber, path: path, "\(numberText(token)) is out of the 64-bit unsigned range")
            }
            value = sum
            i += 1
        }
        return value
    }

    /// Reads a number as a `Double` (exact for integers below 2^53; otherwise correctly rounded by `strtod`).
    mutating func readDouble(_ path: String) throws(ConduitError) -> Double {
        try readDoubleToken(path).value
    }

    /// Reads a number as a `Double`, and clears `canonical` unless its text is what ``JSONWriter/double(_:)`` writes
    /// for it (`45` and `37.5`, not `45.0`, `-0` or `1e2`).
    mutating func readDouble(_ path: String, canonical: inout Bool) throws(ConduitError) -> Double {
        let (value, token) = try readDoubleToken(path)
        if canonical && !isCanonical(value, token) { canonical = false }
        return value
    }

    func isCanonical(_ value: Double, _ token: NumberToken) -> Bool {
        if value == value.rounded(), abs(value) < 1e15 {
            return token.isInteger && !(value == 0 && bytes[token.start] == UInt8(ascii: "-"))
        }
        let text = value.description.utf8
        return text.count == token.end - token.start && text.elementsEqual(UnsafeBufferPointer(rebasing: bytes[token.start..<token.end]))
    }

    mutating func readDoubleToken(_ path: String) throws(ConduitError) -> (value: Double, token: NumberToken) {
        let token = try scanNumber(path)
        if token.isInteger && token.end - token.start <= 15 {
            var i = token.start
            let negative = bytes[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            var value: Int64 = 0
            while i < token.end {
                value = value * 10 + Int64(bytes[i] &- UInt8(ascii: "0"))
                i += 1
            }
            return (Double(negative ? -value : value), token)
        }
        guard let value = Double(numberText(token)), value.isFinite else {
            throw ConduitError(.jsonNumber, path: path, "\(numberText(token)) is out of range")
        }
        return (value, token)
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Skips any value, validating it fully (duplicate keys included), and returns its byte range.
    mutating func skipValue(_ path: String) throws(ConduitError) -> Range<Int> {
        _ = try peek(path)
        let start = index
        _ = try JSONValue.parse(&self, path)
        return start..<index
    }
}

/// A key or short string read from a buffer: a range of the buffer, or the decoded bytes if it had escapes.
struct JSONKey {
    var start: Int
    var count: Int
    var decoded: [UInt8]?
}

@inline(__always)
func memoryEqual(_ lhs: UnsafePointer<UInt8>?, _ rhs: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    guard count > 0 else { return true }
    guard let lhs else { return false }
    // Eight bytes at a time, then the rest one by one.
    let left = UnsafeRawPointer(lhs)
    let right = UnsafeRawPointer(rhs)
    var i = 0
    while count - i >= 8 {
        if left.loadUnaligned(fromByteOffset: i, as: UInt64.self) != right.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < count {
        if lhs[i] != rhs[i] { return false }
        i += 1
    }
    return true
}

/// FNV-1a over bytes: a cheap hash of a few bytes, for tables whose keys peers cannot choose.
package func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}

/// Appends the UTF-8 encoding of a scalar value.
func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | (scalar >> 6)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | (scalar >> 12)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        out.append(UInt8(0xF0 | (scalar >> 18)))
        out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}
