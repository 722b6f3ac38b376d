/// A table of names fixed when it is made (a plan's identifiers), looked up by the bytes of a name: one hash
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

    /// Where the search for `name` begins: a hash of its bytes taken eight at a time (the last eight overlapping the
    /// word before when the count is not a multiple of eight).
    private static func slot(of name: UnsafeBufferPointer<UInt8>, mask: Int) -> Int {
        @inline(__always) func mix(_ hash: UInt64, _ word: UInt64) -> UInt64 {
            let mixed = (hash ^ word) &* 0xBF58_476D_1CE4_E5B9
            return mixed ^ mixed >> 31
        }
        var hash = UInt64(truncatingIfNeeded: name.count) &* 0x9E37_79B9_7F4A_7C15
        if let base = name.baseAddress {
            let raw = UnsafeRawPointer(base)
            if name.count >= 8 {
                var at = 0
                while name.count - at > 8 {
                    hash = mix(hash, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
                    at += 8
                }
                hash = mix(hash, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: name.count - 8, as: UInt64.self)))
            } else {
                var word: UInt64 = 0
                for at in 0..<name.count { word |= UInt64(base[at]) << (8 * UInt64(at)) }
                hash = mix(hash, word)
            }
        }
        hash = (hash ^ hash >> 29) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: hash ^ hash >> 32) & mask
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
