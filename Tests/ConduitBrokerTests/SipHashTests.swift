import ConduitCore
import Testing

@testable import ConduitBroker

/// The dedupe window's SipHash against the reference vectors of SipHash-2-4 (key 00 01 … 0f, messages 00 01 … of
/// each length), given whole and in pieces, and its fingerprints of dedupe keys.
struct SipHashTests {
    static let key: (UInt64, UInt64) = (0x0706_0504_0302_0100, 0x0F0E_0D0C_0B0A_0908)
    /// SipHash-2-4 with its 64-bit output of the messages of 0 to 15 bytes.
    static let narrow: [UInt64] = [
        0x726F_DB47_DD0E_0E31, 0x74F8_39C5_93DC_67FD, 0x0D6C_8009_D9A9_4F5A, 0x8567_6696_D7FB_7E2D,
        0xCF27_94E0_2771_87B7, 0x1876_5564_CD99_A68D, 0xCBC9_466E_58FE_E3CE, 0xAB02_00F5_8B01_D137,
        0x93F5_F579_9A93_2462, 0x9E00_82DF_0BA9_E4B0, 0x7A5D_BBC5_94DD_B9F3, 0xF4B3_2F46_226B_ADA7,
        0x751E_8FBC_860E_E5FB, 0x14EA_5627_C084_3D90, 0xF723_CA90_8E7A_F2EE, 0xA129_CA61_49BE_45E5,
    ]

    static func message(_ count: Int) -> [UInt8] { (0..<count).map { UInt8($0) } }

    @Test func theNarrowOutputIsTheReferences() {
        for (count, expected) in Self.narrow.enumerated() {
            let bytes = Self.message(count)
            // Whole, and split at every point (a piece may leave bytes waiting for the next).
            for split in 0...count {
                var hash = SipHash128(key: Self.key, compressionRounds: 2, finalizationRounds: 4, wide: false)
                bytes.withUnsafeBufferPointer { all in
                    hash.append(UnsafeBufferPointer(rebasing: all[..<split]))
                    hash.append(UnsafeBufferPointer(rebasing: all[split...]))
                }
                #expect(hash.finalizeNarrow() == expected, "\(count) bytes split at \(split)")
            }
            var byByte = SipHash128(key: Self.key, compressionRounds: 2, finalizationRounds: 4, wide: false)
            for byte in bytes { byByte.append(byte) }
            #expect(byByte.finalizeNarrow() == expected)
        }
    }

    @Test func piecesOfAnyLengthsHashAsTheirBytesOneByOne() {
        // Three pieces, as a fingerprint is made: words that straddle pieces, with and without bytes waiting.
        for count in 0...40 {
            let bytes = Self.message(count)
            var byByte = SipHash128(key: Self.key)
            for byte in bytes { byByte.append(byte) }
            let expected = byByte.finalize()
            for first in 0...count {
                for second in first...count {
                    var hash = SipHash128(key: Self.key)
                    bytes.withUnsafeBufferPointer { all in
                        hash.append(UnsafeBufferPointer(rebasing: all[..<first]))
                        hash.append(UnsafeBufferPointer(rebasing: all[first..<second]))
                        hash.append(UnsafeBufferPointer(rebasing: all[second...]))
                    }
                    let (high, low) = hash.finalize()
                    #expect(high == expected.0 && low == expected.1, "\(count) bytes split at \(first) and \(second)")
                }
            }
        }
    }

    @Test func theWideOutputOfTheEmptyMessageIsTheReferences() {
        // SipHash-2-4-128 of the empty message: a3 81 7f 04 ba 25 a8 e6 6d f6 72 14 c7 55 02 93.
        let hash = SipHash128(key: Self.key, compressionRounds: 2, finalizationRounds: 4)
        let (first, second) = hash.finalize()
        #expect(first == 0xE6A8_25BA_047F_81A3 && second == 0x9302_55C7_1472_F66D)
    }

    @Test func aDedupeKeysFingerprintIsThatOfItsBytesHoweverItIsAskedFor() {
        typealias Fingerprint = DedupeWindow<DedupeKey>.Fingerprint
        var seen: Set<Fingerprint> = []
        for source in ["/power-supply-bureau/agent-1", "/power-supply-bureau/agent-12", "/水务/站"] {
            for id in ["", "1", "21", "pw-0001", "a much longer id that spans several words of eight bytes"] {
                let key = DedupeKey(source: source, id: id)
                let fromBytes = Array(source.utf8).withUnsafeBufferPointer { s in Array(id.utf8).withUnsafeBufferPointer { Fingerprint(source: s, id: $0) } }
                #expect(Fingerprint(key) == fromBytes)
                #expect(seen.insert(fromBytes).inserted, "\(source) \(id)")
            }
        }
        // The byte between source and id keeps ("/a/b", "c") and ("/a/bc", "") apart.
        #expect(Fingerprint(DedupeKey(source: "/a/b", id: "c")) != Fingerprint(DedupeKey(source: "/a/bc", id: "")))
    }
}
