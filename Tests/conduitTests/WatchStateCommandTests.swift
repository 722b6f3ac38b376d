import ConduitAggregator
import ConduitCore
import ConduitReplay
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// `conduit watch --state` as a child process whose output is a pipe: the plain-line form.
@Suite(.timeLimit(.minutes(5)))
struct WatchStateCommandTests {
    /// Waits until `condition` holds, up to `seconds`.
    static func wait(_ seconds: TimeInterval, until condition: () -> Bool) -> Bool { Poll.until(seconds, condition) }

    @Test func caughtUpAndLiveEventsAndTheirAlertsArePrintedAsLines() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        // Before the watcher starts: a progress report and a power outage.
        _ = try agent.publishAndWait(SampleEvents.progress(id: "ws-1"), correlation: 1)
        _ = try agent.publishAndWait(OverlappingOutages.power, correlation: 2)

        let watcher = try RunningConduit([
            "watch", "--state", "--fanout", broker.endpoints.fanout, "--query", broker.endpoints.query, "--count", "4",
            "--time-zone", "Asia/Shanghai",
        ])
        let (lines, notes) = (watcher.output, watcher.errors)

        #expect(Self.wait(120) { notes.all.contains("caught up at sequence 3") }, "stderr: \(notes.all)")
        // Live: a water outage on the same building, overlapping in time.
        _ = try agent.publishAndWait(OverlappingOutages.water, correlation: 3)
        #expect(Self.wait(120) { !watcher.isRunning }, "--count 4 ends it; stdout: \(lines.all)")
        #expect(watcher.finish() == 0, "stderr: \(notes.all)")

        let printed = lines.lines().map(String.init)
        let events = printed.filter { $0.contains("  #") }
        #expect(events.count == 4, "\(printed)")
        #expect(events[0].contains("#1") && events[0].contains("plan jiangkou-2023-old-communities in force"), "the broker's plan")
        #expect(events[1].contains("#2") && events[1].contains("ganjiaba-power in_progress 45%"))
        #expect(events[2].contains("#3") && events[2].contains("power outage noticed"))
        #expect(events[3].contains("#4") && events[3].contains("water outage noticed"), "live")
        let overlap = try #require(printed.firstIndex { $0.hasPrefix("alert raised [outage_overlap]") }, "\(printed)")
        #expect(printed[overlap].contains("ganjiaba/power/power-cut-b01") && printed[overlap].contains("ganjiaba/water/water-cut-b01"))
        #expect(overlap > printed.firstIndex { $0.contains("#4") }!, "raised by the live event")
        let rollup = try #require(printed.last)
        #expect(rollup.hasPrefix("= #4 as of "), "a last roll-up")
        #expect(rollup.contains("2 outages open"))
        #expect(!printed.joined().contains("\u{1B}["), "no escapes when stdout is not a terminal")
    }

    @Test func aLateWatcherCatchesUpFromTheJournal() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for index in 1...5 { _ = try agent.publishAndWait(SampleEvents.progress(id: "hb-\(index)", percent: 10 * index), correlation: UInt64(index)) }
        let outcome = try ChildProcess.conduit(
            ["watch", "--state", "--fanout", broker.endpoints.fanout, "--query", broker.endpoints.query, "--count", "6"],
            timeout: 120)
        #expect(outcome.status == 0, "\(outcome.errors)")
        let printed = outcome.output.split(separator: "\n").map(String.init)
        #expect(printed.filter { $0.contains("  #") }.count == 6, "the plan and five events")
        #expect(printed.last?.hasPrefix("= #6 ") == true, "\(printed)")
    }

    @Test func fromAnAggregatorsSnapshotOnlyLaterEventsAreApplied() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        _ = try agent.publishAndWait(SampleEvents.progress(id: "sn-1"), correlation: 1)
        _ = try agent.publishAndWait(OverlappingOutages.power, correlation: 2)
        let configuration = AggregatorProbe.configuration(for: broker, publishAlerts: false)
        let aggregator = Aggregator(configuration: configuration)
        let snapshot = try aggregator.start()
        defer { aggregator.stop() }
        #expect(Self.wait(120) { aggregator.sequence == 3 })

        let watcher = try RunningConduit([
            "watch", "--state", "--fanout", broker.endpoints.fanout, "--query", broker.endpoints.query, "--snapshot", snapshot,
            "--count", "1",
        ])
        let (lines, notes) = (watcher.output, watcher.errors)
        #expect(Self.wait(120) { notes.all.contains("at sequence 3") }, "stderr: \(notes.all)")
        _ = try agent.publishAndWait(OverlappingOutages.water, correlation: 3)
        #expect(Self.wait(120) { !watcher.isRunning }, "stdout: \(lines.all)")
        #expect(watcher.finish() == 0, "stderr: \(notes.all)")
        let printed = lines.lines().map(String.init)
        #expect(printed.filter { $0.contains("  #") }.map { $0.contains("#4") } == [true], "only the live event: \(printed)")
        #expect(printed.contains { $0.hasPrefix("alert raised [outage_overlap]") }, "the snapshot's outage and the live one overlap: \(printed)")
        #expect(printed.last?.hasPrefix("= #4 ") == true)
    }

    @Test func aSequenceJumpAndAHeartbeatAheadAreFilledByReplay() throws {
        // The watcher's fan-out is a socket of the test's, which skips events; the broker's query endpoint has them.
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        _ = try agent.publishAndWait(SampleEvents.progress(id: "gap-1", percent: 10), correlation: 1)
        let fanout = try Socket(context, type: .xpub)
        try fanout.set(.linger, .zero)
        try fanout.bind("tcp://127.0.0.1:*")
        defer { fanout.close() }

        let watcher = try RunningConduit([
            "watch", "--state", "--fanout", try fanout.lastEndpoint, "--query", broker.endpoints.query, "--count", "6",
        ])
        let (lines, notes) = (watcher.output, watcher.errors)
        #expect(Self.wait(120) { notes.all.contains("caught up at sequence 2") }, "stderr: \(notes.all)")
        #expect(Self.wait(120) { (try? fanout.receiveFrames(wait: false)) != nil }, "the watcher subscribes")

        for index in 2...5 {
            _ = try agent.publishAndWait(SampleEvents.progress(id: "gap-\(index)", percent: 10 * index), correlation: UInt64(index))
        }
        var stored: [ReplayedEvent] = []
        _ = try BrokerReplay(endpoint: broker.endpoints.query).events(ReplaySelection()) { record, _ in stored.append(record) }
        #expect(stored.count == 6, "the plan and five events")
        // #4 without #3: a jump. Then a heartbeat announcing #6 while #5 and #6 never come.
        try fanout.send(frames: stored[3].fanoutMessage.encode())
        #expect(Self.wait(120) { lines.all.contains("#4") }, "stdout: \(lines.all)")
        try fanout.send(frames: FanoutMessage.heartbeat(latest: stored[5].header).encode())
        #expect(Self.wait(120) { !watcher.isRunning }, "stdout: \(lines.all)\nstderr: \(notes.all)")
        #expect(watcher.finish() == 0, "stderr: \(notes.all)")
        let sequences = lines.lines().filter { $0.contains("  #") }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("#") }.flatMap { UInt64($0.dropFirst()) }
        }
        #expect(sequences == [1, 2, 3, 4, 5, 6])
        #expect(notes.all.contains("filled a gap: replayed 1 event of 3…3"))
        #expect(notes.all.contains("filled a gap: replayed 2 events of 5…6"))
    }

    @Test func stateOptionsThatDoNotApplyAreRefused() throws {
        let outcome = try ChildProcess.conduit(["watch", "--state", "--kind", "outage"], timeout: 120)
        #expect(outcome.status != 0)
        #expect(outcome.errors.contains("--state folds every event"))
    }
}
