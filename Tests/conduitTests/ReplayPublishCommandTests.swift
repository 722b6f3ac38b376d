import ConduitCore
import ConduitReplay
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// `conduit replay --publish`: a journal window re-published on a fan-out of its own, at a speed.
@Suite(.timeLimit(.minutes(5)))
struct ReplayPublishCommandTests {
    /// Publishes progress reports to `broker`, sleeping `gaps` between them, so their recorded times are spaced.
    static func publishSpaced(_ broker: TestBroker, gaps: [Double]) throws {
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        _ = try agent.publishAndWait(SampleEvents.progress(id: "rp-0", percent: 10), correlation: 100)
        for (index, gap) in gaps.enumerated() {
            usleep(useconds_t(gap * 1_000_000))
            _ = try agent.publishAndWait(SampleEvents.progress(id: "rp-\(index + 1)", percent: 20 + index), correlation: UInt64(index))
        }
    }

    /// `conduit replay … --publish tcp://127.0.0.1:*` started, and the endpoint it announced.
    final class Replayer {
        let process = Process()
        let notes = OutputCollector()
        let endpoint: String

        init(_ arguments: [String]) throws {
            process.executableURL = try ConduitExecutable.url()
            process.arguments = ["replay"] + arguments + ["--publish", "tcp://127.0.0.1:*"]
            let errors = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            process.standardInput = FileHandle.nullDevice
            notes.start(errors.fileHandleForReading)
            try process.run()
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                // "publishing on tcp://127.0.0.1:41235 (4 events, …)"
                if let line = notes.lines().first(where: { $0.hasPrefix("publishing on ") }) {
                    endpoint = String(line.split(separator: " ")[2])
                    return
                }
                if !process.isRunning { throw TestClientError("conduit replay exited: \(notes.all)") }
                usleep(10_000)
            }
            process.terminate()
            throw TestClientError("conduit replay did not announce its endpoint: \(notes.all)")
        }

        /// Waits for the end; its status.
        func finish(timeout: TimeInterval = 120) -> Int32? {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning {
                process.terminate()
                return nil
            }
            process.waitUntilExit()
            return process.terminationStatus
        }

        deinit { if process.isRunning { process.terminate() } }
    }

    /// Events and heartbeats as a subscriber received them, with the moment each arrived.
    struct Received {
        var events: [(at: ContinuousClock.Instant, record: RecordedEvent)] = []
        /// Each heartbeat's sequence, with the sequence of the last event received before it.
        var heartbeats: [(sequence: UInt64, after: UInt64)] = []
    }

    static func receive(_ count: Int, from subscriber: TestSubscriber, timeout: Duration = .seconds(120)) throws -> Received {
        var received = Received()
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while received.events.count < count && clock.now < deadline {
            switch try subscriber.next(timeout: deadline - clock.now) {
            case .event(_, let record): received.events.append((clock.now, record))
            case .heartbeat(let latest):
                received.heartbeats.append((latest.sequence, received.events.last?.record.header.sequence ?? 0))
            case nil: break
            }
        }
        return received
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// Two subscribers to everything: the replay waits for both (each subscription is counted), and both get it all.
    @Test func itWaitsForEverySubscriberItWasAskedFor() throws {
        let broker = try TestBroker()
        try Self.publishSpaced(broker, gaps: [0.05, 0.05])
        let replayer = try Replayer(["--query", broker.endpoints.query, "--speed", "max", "--wait-subscribers", "2"])
        let context = try Context()
        let first = try TestSubscriber(context: context, endpoint: replayer.endpoint)
        usleep(300_000)
        #expect(replayer.process.isRunning && !replayer.notes.all.contains("re-published"), "still waiting for the second")
        let second = try TestSubscriber(context: context, endpoint: replayer.endpoint)
        let one = try Self.receive(4, from: first)
        let two = try Self.receive(4, from: second)
        #expect(replayer.finish() == 0, "\(replayer.notes.all)")
        #expect(one.events.map(\.record.header.sequence) == [1, 2, 3, 4], "the broker's plan, then the three events")
        #expect(two.events.map(\.record.header.sequence) == [1, 2, 3, 4])
    }

    @Test func aSubscriberReceivesTheWindowInOrderWithItsSpacingScaled() throws {
        let broker = try TestBroker()
        try Self.publishSpaced(broker, gaps: [1.0, 2.0, 0.5])
        let journal = try BrokerReplay(endpoint: broker.endpoints.query).events(ReplaySelection()) { _, _ in }
        #expect(journal.matched == 5, "the broker's plan, then four events")

        let replayer = try Replayer(["--query", broker.endpoints.query, "--speed", "10x", "--heartbeat-ms", "40"])
        let context = try Context()
        let subscribed = ContinuousClock.now
        let subscriber = try TestSubscriber(context: context, endpoint: replayer.endpoint)
        let received = try Self.receive(5, from: subscriber, timeout: .seconds(120))
        #expect(replayer.finish(timeout: 120) == 0, "\(replayer.notes.all)")

        // Exactly what the broker published, in order, with the original sequences and recorded times.
        var stored: [ReplayedEvent] = []
        _ = try BrokerReplay(endpoint: broker.endpoints.query).events(ReplaySelection()) { record, _ in stored.append(record) }
        #expect(received.events.map(\.record) == stored.map { RecordedEvent(header: $0.header, event: $0.event) })
        #expect(received.events.map(\.record.header.sequence) == [1, 2, 3, 4, 5])

        // Never ahead of the schedule: the last event cannot arrive before a tenth of the recorded span has passed
        // since the subscriber came (the schedule starts after that). How close to it each gap lands depends on the
        // machine; the schedule itself is ReplayPacerTests' business, on a clock of its own.
        let span = stored.last!.header.recordedTime.microsecondsSinceEpoch - stored.first!.header.recordedTime.microsecondsSinceEpoch
        let last = try #require(received.events.last?.at)
        #expect(Self.milliseconds(last - subscribed) >= Double(span) / 1000 / 10, "the window played faster than 10×")
        // Heartbeats while idle carry the latest sequence published.
        #expect(received.heartbeats.contains { $0.after > 0 }, "heartbeats between events")
        for heartbeat in received.heartbeats { #expect(heartbeat.sequence == heartbeat.after, "\(heartbeat)") }
        #expect(replayer.notes.all.contains("re-published 5 of 5 events (sequences 1…5)"))
        #expect(replayer.notes.all.contains("playing #5"), "the position on stderr")
    }

    /// SIGUSR1 pauses and resumes. The first one comes before anybody subscribes, so the replay starts paused and
    /// nothing arrives, whatever the machine's speed; the second lets everything through.
    @Test func sigusr1PausesAndResumesTheSchedule() throws {
        let broker = try TestBroker()
        try Self.publishSpaced(broker, gaps: [0.2])
        let replayer = try Replayer(["--query", broker.endpoints.query, "--speed", "5"])
        kill(replayer.process.processIdentifier, SIGUSR1)
        let context = try Context()
        let subscriber = try TestSubscriber(context: context, endpoint: replayer.endpoint)
        #expect(Poll.until(120) { replayer.notes.all.contains("paused #-") }, "\(replayer.notes.all)")
        #expect(try subscriber.nextEvent(timeout: .milliseconds(500)) == nil, "nothing is published while paused")
        kill(replayer.process.processIdentifier, SIGUSR1)
        let received = try Self.receive(3, from: subscriber, timeout: .seconds(120))
        #expect(replayer.finish(timeout: 120) == 0, "\(replayer.notes.all)")
        #expect(received.events.map(\.record.header.sequence) == [1, 2, 3], "the broker's plan, then the two events")
        let notes = replayer.notes.all
        let paused = try #require(notes.range(of: "paused #-"))
        #expect(notes[paused.upperBound...].contains("playing #"), "resumed after the pause: \(notes)")
    }

    @Test func speedsAndBadOptionsAreChecked() throws {
        let bad = try ChildProcess.conduit(["replay", "--dir", "/nonexistent", "--publish", "tcp://127.0.0.1:*", "--speed", "fast"])
        #expect(bad.status != 0)
        #expect(bad.errors.contains("--speed must be N or Nx"))

        // At max speed with nobody to wait for, an empty selection ends at once (the journal holds only its plan).
        let broker = try TestBroker()
        let empty = try ChildProcess.conduit(
            ["replay", "--query", broker.endpoints.query, "--publish", "tcp://127.0.0.1:*", "--speed", "max", "--wait-subscribers", "0",
             "--kind", "outage"],
            timeout: 120)
        #expect(empty.status == 0, "\(empty.errors)")
        #expect(empty.errors.contains("re-published 0 of 0 events"))
    }
}
