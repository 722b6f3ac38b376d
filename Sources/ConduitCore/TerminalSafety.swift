extension StringProtocol {
    /// The text with every control character shown as an escape (`\u001b`) instead of being sent to a terminal:
    /// the C0 controls, DEL and the C1 controls (U+0080–U+009F), which a terminal could take for commands (move
    /// the cursor, clear the screen, set the title), and the Unicode bidirectional controls, which can make text
    /// read other than it is. Line breaks and tabs are escaped too unless `keepingLineBreaks`. Everything a person
    /// reads (timeline, incident report, state tables, the live views) goes through it.
    public func escapingControlCharacters(keepingLineBreaks: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            let value = scalar.value
            let isControl = value < 0x20 || (0x7F...0x9F).contains(value)
            let isBidi = (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
                || value == 0x200E || value == 0x200F || value == 0x061C
            if keepingLineBreaks && (value == 0x0A || value == 0x09) {
                out.unicodeScalars.append(scalar)
            } else if isControl || isBidi {
                let hex = String(value, radix: 16)
                out += "\\u" + String(repeating: "0", count: Swift.max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
