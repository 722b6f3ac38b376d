/// SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) with its 128-bit output, over bytes
/// given in pieces. The dedupe window fingerprints a key with one pass of SipHash-1-3-128 under a key drawn at
/// random for the process, where two salted passes of the standard library's 64-bit `Hasher` took twice the work.
/// The rounds are parameters so that the reference vectors of SipHash-2-4 check the code (`SipHashTests`).
struct SipHash128 {
    private var v0: UInt64
    private var v1: UInt64
    private var v2: UInt64
    private var v3: UInt64
    /// Bytes not yet compressed (fewer than 8), the first in the lowest byte.
    private var tail: UInt64 = 0
    private var tailCount = 0
    private var length = 0
    private let compressionRounds: Int
    private let finalizationRounds: Int
    private let wide: Bool

    /// - Parameter wide: the 128-bit output (``finalize()``), or the 64-bit one (``finalizeNarrow()``).
    init(key: (UInt64, UInt64), compressionRounds: Int = 1, finalizationRounds: Int = 3, wide: Bool = true) {
        v0 = key.0 ^ 0x736F_6D65_7073_6575
        v1 = key.1 ^ 0x646F_7261_6E64_6F6D ^ (wide ? 0xEE : 0)
        v2 = key.0 ^ 0x6C79_6765_6E65_7261
        v3 = key.1 ^ 0x7465_6462_7974_6573
        self.compressionRounds = compressionRounds
        self.finalizationRounds = finalizationRounds
        self.wide = wide
    }

    @inline(__always)
    private static func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 { value << bits | value >> (64 - bits) }

    @inline(__always)
    private mutating func round() {
        v0 &+= v1
        v1 = Self.rotate(v1, 13)
        v1 ^= v0
        v0 = Self.rotate(v0, 32)
        v2 &+= v3
        v3 = Self.rotate(v3, 16)
        v3 ^= v2
        v0 &+= v3
        v3 = Self.rotate(v3, 21)
        v3 ^= v0
        v2 &+= v1
        v1 = Self.rotate(v1, 17)
        v1 ^= v2
        v2 = Self.rotate(v2, 32)
    }

    @inline(__always)
    private mutating func compress(_ word: UInt64) {
        v3 ^= word
        for _ in 0..<compressionRounds { round() }
        v0 ^= word
    }

    mutating func append(_ byte: UInt8) {
        tail |= UInt64(byte) << (8 * UInt64(tailCount))
        tailCount += 1
        length += 1
        if tailCount == 8 {
            compress(tail)
            tail = 0
            tailCount = 0
        }
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        length += bytes.count
        let raw = UnsafeRawPointer(base)
        var offset = 0
        if tailCount == 0 {
            while bytes.count - offset >= 8 {
                compress(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                offset += 8
            }
        } else {
            // Eight bytes at a time still: each word completes the waiting bytes, and its last ones wait in their place.
            let shift = 8 * UInt64(tailCount)
            while bytes.count - offset >= 8 {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                compress(tail | word << shift)
                tail = word >> (64 - shift)
                offset += 8
            }
        }
        while offset < bytes.count {
            tail |= UInt64(base[offset]) << (8 * UInt64(tailCount))
            tailCount += 1
            offset += 1
            if tailCount == 8 {
                compress(tail)
                tail = 0
                tailCount = 0
            }
        }
    }

    /// The two halves of the 128-bit output (the first is the output's first 8 bytes, little-endian).
    consuming func finalize() -> (UInt64, UInt64) {
        precondition(wide, "a narrow SipHash has a 64-bit output")
        compress(tail | UInt64(truncatingIfNeeded: length) << 56)
        v2 ^= 0xEE
        for _ in 0..<finalizationRounds { round() }
        let first = v0 ^ v1 ^ v2 ^ v3
        v1 ^= 0xDD
        for _ in 0..<finalizationRounds { round() }
        return (first, v0 ^ v1 ^ v2 ^ v3)
    }

    /// The 64-bit output.
    consuming func finalizeNarrow() -> UInt64 {
        precondition(!wide, "a wide SipHash has a 128-bit output")
        compress(tail | UInt64(truncatingIfNeeded: length) << 56)
        v2 ^= 0xFF
        for _ in 0..<finalizationRounds { round() }
        return v0 ^ v1 ^ v2 ^ v3
    }
}
