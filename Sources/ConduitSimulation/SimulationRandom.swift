import ConduitCore

/// The simulator's random choices: a `SplitMix64` stream per named part of the plan.
///
/// Each work item, outage and global decision draws from its own stream, derived from the seed and a
/// label by FNV-1a (never `Hasher`, which is seeded per process), so a change in one part of the plan
/// does not shift the choices of the others. Bounded integers use the multiply-high method on the raw
/// 64-bit output rather than the standard library's `random(in:using:)`, whose algorithm is not
/// promised to stay the same from one Swift release to the next.
struct SimulationRandom {
    private var generator: SplitMix64

    /// The stream `label` of `seed`.
    init(seed: UInt64, stream label: String) {
        generator = SplitMix64(seed: seed ^ Self.fnv1a(label))
    }

    /// FNV-1a over the UTF-8 bytes of `text`.
    static func fnv1a(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8(ConduitCore.fnv1a)
    }

    /// A uniformly chosen integer of `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        let (high, _) = generator.next().multipliedFullWidth(by: width)
        return range.lowerBound + Int(high)
    }

    /// A uniformly chosen value in `0..<1`, with 53 bits.
    mutating func unit() -> Double {
        Double(generator.next() >> 11) * 0x1p-53
    }

    /// A uniformly chosen value of `range`.
    mutating func double(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + unit() * (range.upperBound - range.lowerBound)
    }

    /// True with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool {
        unit() < probability
    }

    /// One element of a non-empty array.
    mutating func pick<Element>(_ elements: [Element]) -> Element {
        elements[int(0...(elements.count - 1))]
    }

    /// The elements in a random order (Fisher–Yates).
    mutating func shuffled<Element>(_ elements: [Element]) -> [Element] {
        var result = elements
        guard result.count > 1 else { return result }
        for position in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(position, int(0...position))
        }
        return result
    }
}
