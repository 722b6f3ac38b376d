import Synchronization

/// A problem found in a journal: what, in which file, at which byte offset, and the sequence expected there.
public struct JournalProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file concerned.
    public var path: String
    /// The byte offset in `path`.
    public var offset: UInt64
    /// The sequence of the record expected at `offset`, if known.
    public var sequence: UInt64?
    /// What is wrong.
    public var message: String

    /// Creates a problem report.
    public init(path: String, offset: UInt64, sequence: UInt64?, message: String) {
        self.path = path
        self.offset = offset
        self.sequence = sequence
        self.message = message
    }

    /// The file, offset, sequence and message on one line.
    public var description: String {
        "\(path) at byte \(offset)" + (sequence.map { " (sequence \($0))" } ?? "") + ": \(message)"
    }
}

/// What a segment holds, as readers in the writer's process see it.
struct CatalogSegment: Sendable {
    var path: String
    /// Records and index; for the segment being written, only the durable records.
    var summary: SegmentSummary
    var sealed: Bool
    /// Damage where the valid records of a sealed segment end (`summary.endOffset`).
    var problem: JournalProblem?
}

struct CatalogState: Sendable {
    var segments: [CatalogSegment] = []
    var durableSequence: UInt64 = 0
}

/// The state the writer shares with readers in its process: the segments and how far each is durable.
final class JournalCatalog: Sendable {
    let directory: String
    let state: Mutex<CatalogState>

    init(directory: String, state: CatalogState) {
        self.directory = directory
        self.state = Mutex(state)
    }

    /// Where a reader starts: a segment, a byte offset in it, and the sequence expected there.
    struct Start {
        var firstSequence: UInt64
        var offset: UInt64
        var sequence: UInt64
        var runningMaxTime: Int64
    }

    /// How far a reader may read in a segment.
    struct Extent {
        var path: String
        var endOffset: UInt64
        var nextSequence: UInt64
        var sealed: Bool
        var problem: JournalProblem?
        /// The first sequence of the following segment, if there is one.
        var following: UInt64?
    }

    func start(atSequence sequence: UInt64) throws(JournalError) -> Start {
        try state.withLock { (state) throws(JournalError) -> Start in
            guard let first = state.segments.first else {
                throw JournalError(.notAvailable, "the journal has no segment", path: directory)
            }
            guard sequence >= first.summary.firstSequence else {
                throw JournalError(
                    .notAvailable,
                    "sequence \(sequence) is no longer in the journal; the oldest is \(first.summary.firstSequence)",
                    path: directory)
            }
            var chosen = state.segments[0]
            for segment in state.segments where segment.summary.firstSequence <= sequence { chosen = segment }
            let entry = chosen.summary.entry(forSequence: sequence)
            return Start(
                firstSequence: chosen.summary.firstSequence,
                offset: entry?.offset ?? UInt64(JournalFormat.segmentHeaderLength),
                sequence: entry?.sequence ?? chosen.summary.firstSequence, runningMaxTime: entry?.maxTimeBefore ?? .min)
        }
    }

    func start(atTime time: Int64) throws(JournalError) -> Start {
        try state.withLock { (state) throws(JournalError) -> Start in
            guard !state.segments.isEmpty else {
                throw JournalError(.notAvailable, "the journal has no segment", path: directory)
            }
            var chosen = state.segments[state.segments.count - 1]
            for segment in state.segments where segment.summary.recordCount > 0 && segment.summary.maxTime >= time {
                chosen = segment
                break
            }
            if chosen.summary.recordCount > 0 && chosen.summary.maxTime < time {
                // Every durable record is older: start after the last one.
                return Start(
                    firstSequence: chosen.summary.firstSequence, offset: chosen.summary.endOffset,
                    sequence: chosen.summary.nextSequence, runningMaxTime: chosen.summary.maxTime)
            }
            let entry = chosen.summary.entry(forTime: time)
            return Start(
                firstSequence: chosen.summary.firstSequence,
                offset: entry?.offset ?? UInt64(JournalFormat.segmentHeaderLength),
                sequence: entry?.sequence ?? chosen.summary.firstSequence, runningMaxTime: entry?.maxTimeBefore ?? .min)
        }
    }

    func extent(ofSegment firstSequence: UInt64) -> Extent? {
        state.withLock { state -> Extent? in
            guard let i = state.segments.firstIndex(where: { $0.summary.firstSequence == firstSequence }) else { return nil }
            let segment = state.segments[i]
            return Extent(
                path: segment.path, endOffset: segment.summary.endOffset, nextSequence: segment.summary.nextSequence,
                sealed: segment.sealed, problem: segment.problem,
                following: i + 1 < state.segments.count ? state.segments[i + 1].summary.firstSequence : nil)
        }
    }

    var oldestSequence: UInt64 { state.withLock { $0.segments.first?.summary.firstSequence ?? 0 } }
}
