/// The paths that errors give into a JSON document: `$` for the document, `data.percent` for members with plain
/// names, `workItems[3]` for elements, and a name that is not plain quoted: `data["two words"]`, `$[""]`.
public enum JSONPath {
    /// The path of member `key` of the object at `parent` (`$` for the document itself).
    public static func member(_ parent: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D
        }
        if plain { return parent == "$" ? key : parent + "." + key }
        var quoted = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return parent + "[\"" + quoted + "\"]"
    }
}
