import CRC32CHardware

/// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected as 0x82F63B78): with the processor's crc32 instruction
/// where it has one (x86-64 with SSE 4.2), otherwise computed eight bytes at a time ("slicing-by-8"). This is the
/// checksum of every record, segment header and index file.
public enum CRC32C {
    /// Whether the hardware instruction is used.
    public static let usesHardware = conduit_crc32c_hardware_available() != 0

    /// Eight tables of 256 entries, one after the other.
    static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            table[n] = c
        }
        for n in 0..<256 {
            var c = table[n]
            for k in 1..<8 {
                c = table[Int(c & 0xFF)] ^ (c >> 8)
                table[k * 256 + n] = c
            }
        }
        return table
    }()

    /// The CRC-32C of `bytes`, continuing from `seed` (the checksum of the bytes before them, or 0).
    /// `checksum(b, seed: checksum(a))` equals the checksum of `a` followed by `b`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return seed }
        return checksum(base, count: bytes.count, seed: seed)
    }

    /// The CRC-32C of the bytes of `bytes`, continuing from `seed`.
    public static func checksum(_ bytes: some Sequence<UInt8>, seed: UInt32 = 0) -> UInt32 {
        let array = Array(bytes)
        return array.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// The CRC-32C of `count` bytes at `base`, continuing from `seed`.
    static func checksum(_ base: UnsafeRawPointer, count: Int, seed: UInt32) -> UInt32 {
        if usesHardware { return ~conduit_crc32c_hardware(~seed, base, count) }
        return software(base, count: count, seed: seed)
    }

    /// The table-driven computation, for processors without the instruction (and to check the hardware one).
    static func software(_ base: UnsafeRawPointer, count: Int, seed: UInt32) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var c = ~seed
            var i = 0
            while i + 8 <= count {
                let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ UInt64(c)
                c = t[7 * 256 + Int(truncatingIfNeeded: v & 0xFF)]
                    ^ t[6 * 256 + Int(truncatingIfNeeded: (v >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int(truncatingIfNeeded: (v >> 16) & 0xFF)]
                    ^ t[4 * 256 + Int(truncatingIfNeeded: (v >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int(truncatingIfNeeded: (v >> 32) & 0xFF)]
                    ^ t[2 * 256 + Int(truncatingIfNeeded: (v >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int(truncatingIfNeeded: (v >> 48) & 0xFF)]
                    ^ t[Int(truncatingIfNeeded: v >> 56)]
                i += 8
            }
            while i < count {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8)
                i += 1
            }
            return ~c
        }
    }
}
