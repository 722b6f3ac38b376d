/// A table of names fixed when it is made (a plan's identifiers), looked up by the bytes of a name: one FNV-1a hash
/// per lookup, then a comparison of bytes. Nothing looked up is ever added, so a name chosen by a peer cannot
/// lengthen a probe beyond what the plan's own names make. The validator looks several names up in every event.
struct NameTable<Value: Sendable>: Sendable {
    /// The names one after another, in one buffer: a lookup compares bytes without retaining a name.
    private var names: [UInt8] = []
    /// Where each slot's name is in `names`; a count of -1 marks an empty slot.
    private var slots: [(start: Int, count: Int)]
    private var values: [Value?]
    private let mask: Int
    /// How many names the table holds.
    private(set) var count = 0

    /// A table of these names; a name given twice keeps its last value.
    init(_ entries: [(name: String, value: Value)]) {
        var size = 8
        while size < entries.count * 2 { size <<= 1 }
        slots = Array(repeating: (start: 0, count: -1), count: size)
        values = Array(repeating: nil, count: size)
        mask = size - 1
        for entry in entries {
            let name = Array(entry.name.utf8)
            var index = name.withUnsafeBufferPointer { Self.slot(of: $0, mask: mask) }
            while slots[index].count >= 0, !names[slots[index].start..<slots[index].start + slots[index].count].elementsEqual(name) {
                index = (index + 1) & mask
            }
            if slots[index].count < 0 {
                count += 1
                slots[index] = (start: names.count, count: name.count)
                names += name
            }
            values[index] = entry.value
        }
    }

    subscript(_ name: Substring) -> Value? {
        var name = name
        return name.withUTF8 { find($0) }
    }

    subscript(_ name: String) -> Value? {
        var name = name
        return name.withUTF8 { find($0) }
    }

    subscript(_ name: UnsafeBufferPointer<UInt8>) -> Value? { find(name) }

    func contains(_ name: Substring) -> Bool { self[name] != nil }

    private func find(_ name: UnsafeBufferPointer<UInt8>) -> Value? {
        names.withUnsafeBufferPointer { names in
            var index = Self.slot(of: name, mask: mask)
            while true {
                let slot = slots[index]
                if slot.count < 0 { return nil }
                if slot.count == name.count, slot.count == 0 || memoryEqual(name.baseAddress, names.baseAddress! + slot.start, slot.count) {
                    return values[index]
                }
                index = (index + 1) & mask
            }
        }
    }

    private static func slot(of name: UnsafeBufferPointer<UInt8>, mask: Int) -> Int {
        let hash = fnv1a(name)
        return Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
    }
}

/// Whether two strings hold the same bytes (what `==` decides for the identifiers compared here, without its
/// Unicode machinery).
func sameBytes(_ lhs: Substring, _ rhs: Substring) -> Bool {
    var lhs = lhs
    return lhs.withUTF8 { sameBytes($0, rhs) }
}

/// Whether `bytes` are the UTF-8 of `text`.
func sameBytes(_ bytes: UnsafeBufferPointer<UInt8>, _ text: Substring) -> Bool {
    var text = text
    return text.withUTF8 { utf8 in
        utf8.count == bytes.count && (bytes.isEmpty || memoryEqual(bytes.baseAddress, utf8.baseAddress!, bytes.count))
    }
}

/// Whether `bytes` are those of `text`.
@inline(__always)
func sameBytes(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
    bytes.count == text.utf8CodeUnitCount && (bytes.isEmpty || memoryEqual(bytes.baseAddress, text.utf8Start, bytes.count))
}
