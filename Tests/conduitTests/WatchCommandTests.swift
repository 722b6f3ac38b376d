import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// `conduit watch` as a coordinator runs it: live events, filtered, one line each.
@Suite(.timeLimit(.minutes(5)))
struct WatchCommandTests {
    @Test func watchPrintsTheMatchingLiveEvents() throws {
        let broker = try TestBroker()
        let process = Process()
        process.executableURL = try ConduitExecutable.url()
        process.arguments = [
            "watch", "--fanout", broker.endpoints.fanout, "--kind", "outage", "--format", "jsonl", "--count", "3",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let collector = OutputCollector()
        collector.start(output.fileHandleForReading)
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // Publish until the watcher has its three outages (its subscription takes a moment to reach the broker).
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        var index = 0
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            index += 1
            _ = try agent.publishAndWait(SampleEvents.progress(id: "w-p\(index)"), correlation: UInt64(2 * index))
            _ = try agent.publishAndWait(SampleEvents.outage(id: "w-o\(index)"), correlation: UInt64(2 * index + 1))
            usleep(20_000)
        }
        process.waitUntilExit()
        while !collector.finished { usleep(1000) }
        #expect(process.terminationStatus == 0)
        let events = try collector.lines().map { try EventCodec.decode(Array($0.utf8)) }
        #expect(events.count == 3)
        #expect(events.allSatisfy { $0.kind == .outage }, "only outages pass --kind outage")
        let sequences = events.compactMap(\.sequence)
        #expect(sequences == sequences.sorted())
    }

    /// A usage error found once the command runs names that command and its usage, not the root's.
    @Test func aUsageErrorFoundWhileRunningNamesTheCommand() throws {
        let outcome = try ChildProcess.conduit(["watch", "--snapshot", "tcp://127.0.0.1:1"])
        #expect(outcome.status == 64)
        #expect(outcome.errors.contains("Error: --snapshot goes with --state\nUsage: conduit watch"), "\(outcome.errors)")
        #expect(outcome.errors.contains("See 'conduit watch --help'"))
        #expect(!outcome.errors.contains("conduit <subcommand>"))
    }
}
