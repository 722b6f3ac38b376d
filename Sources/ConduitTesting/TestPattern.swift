import ConduitJournal

/// The records the hidden `conduit journal append-test` writes, each derived from its sequence alone, so that a
/// test can check what a journal holds after the command was killed.
public enum TestPattern {
    /// The record's time: 1,000 µs apart from 2023-11-14T22:13:20Z.
    public static func time(_ sequence: UInt64) -> Int64 { 1_700_000_000_000_000 + Int64(sequence) * 1000 }

    /// One of seven topics, `test/0` to `test/6`.
    public static func topic(_ sequence: UInt64) -> [UInt8] { Array("test/\(sequence % 7)".utf8) }

    /// 50 to 349 bytes counting up from the sequence's low byte.
    public static func event(_ sequence: UInt64) -> [UInt8] {
        let length = 50 + Int(sequence % 300)
        return (0..<length).map { UInt8(truncatingIfNeeded: sequence &+ UInt64($0)) }
    }

    public static func record(_ sequence: UInt64) -> JournalRecord {
        JournalRecord(sequence: sequence, recordedTime: time(sequence), topic: topic(sequence), event: event(sequence))
    }

    public static func records(_ range: ClosedRange<UInt64>) -> [JournalRecord] { range.map(record) }
}
