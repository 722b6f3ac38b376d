extension StringProtocol {
    /// The text with every control character shown as an escape (`\u001b`) instead of being sent to a terminal:
    /// the C0 controls, DEL and the C1 controls (U+0080–U+009F), which a terminal could take for commands (move
    /// the cursor, clear the screen, set the title), and the Unicode bidirectional controls, which can make text
    /// read other than it is. Line breaks and tabs are escaped too unless `keepingLineBreaks`. Everything a person
    /// reads (timeline, incident report, state tables, the live views) goes through it.
    public func escapingControlCharacters(keepingLineBreaks: Bool = false) -> String {
        func escaped(_ scalar: Unicode.Scalar) -> Bool {
            let value = scalar.value
            if keepingLineBreaks && (value == 0x0A || value == 0x09) { return false }
            return value < 0x20 || (0x7F...0x9F).contains(value) || (0x202A...0x202E).contains(value)
                || (0x2066...0x2069).contains(value) || value == 0x200E || value == 0x200F || value == 0x061C
        }
        // Most text has nothing to escape: it is returned as it is.
        guard unicodeScalars.contains(where: escaped) else { return String(self) }
        var out = ""
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            if escaped(scalar) {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: Swift.max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
