import Testing

@testable import ConduitJournal

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0...31 as ClosedRange<UInt8>)) == 0x46DD_794E)
    }

    @Test func chainingEqualsWhole() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let head = CRC32C.checksum(bytes[0..<split])
            #expect(CRC32C.checksum(bytes[split...], seed: head) == CRC32C.checksum(bytes))
        }
    }

    /// The hardware instruction (where this machine has it) and the tables agree on every length and alignment.
    @Test func hardwareEqualsSoftware() {
        let bytes = (0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        bytes.withUnsafeBytes { buffer in
            for start in [0, 1, 3, 8] {
                for count in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4090] {
                    let base = buffer.baseAddress! + start
                    let software = CRC32C.software(base, count: count, seed: 0x1234_5678)
                    #expect(CRC32C.checksum(base, count: count, seed: 0x1234_5678) == software, "\(start)+\(count)")
                }
            }
        }
    }
}
