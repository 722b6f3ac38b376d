import ConduitCore
import Testing
import ZeroMQ

@testable import ConduitReplay

@Suite(.timeLimit(.minutes(5)))
struct ReplayPublisherTests {
    /// A pause asked for before the window starts (SIGUSR1 right after "publishing on", before `run` has begun)
    /// starts it paused; it plays once resumed.
    @Test func aPauseAskedForBeforeTheStartStartsThePlayPaused() throws {
        let context = try Context()
        defer { context.terminate() }
        let publisher = try ReplayPublisher(context: context, endpoint: "tcp://127.0.0.1:*")
        let events = (1...3).map { sequence in
            ReplayedEvent(
                header: RecordHeader(sequence: UInt64(sequence), recordedTime: Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000 + Int64(sequence))),
                topic: Array("progress/power/ganjiaba/".utf8), event: Array("{\"n\":\(sequence)}".utf8))
        }
        let control = ReplayControl()
        control.togglePause()
        var positions: [ReplayPosition] = []
        let outcome = try publisher.run(events, speed: try #require(ReplaySpeed(argument: "max")), subscribers: 0, control: control) { position in
            positions.append(position)
            // Resumed once it has said that it is paused with nothing published.
            if position.isPaused && position.published == 0 && !position.isWaiting && control.toggleCount == 1 { control.togglePause() }
        }
        #expect(positions.first { !$0.isWaiting && $0.isPaused }?.published == 0, "paused before the first event: \(positions)")
        #expect(outcome.published == 3)
        #expect(positions.last?.isPaused == false)
    }
}
