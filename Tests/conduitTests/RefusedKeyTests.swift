import ConduitTesting
import Foundation
import Testing

/// A client whose key the broker does not admit is told that the broker refused its key, at once, rather than that
/// the broker did not answer; the key the broker lists goes through the same commands.
@Suite(.timeLimit(.minutes(5))) struct RefusedKeyTests {
    @Test func publishReplayAndWatchWithAKeyTheBrokerDoesNotAdmitSaySo() throws {
        let directory = TemporaryDirectory()
        let keys = directory.appending("keys"), stray = directory.appending("stray")
        for (owner, folder) in [("broker", keys), ("power-supply-bureau", keys + "/clients"), ("water-investment-company", stray)] {
            let made = try ChildProcess.conduit(["keygen", "--owner", owner, "--dir", folder])
            #expect(made.status == 0, "\(made.errors)")
        }
        // The admitted organisation's secret key is not among the broker's client keys.
        try FileManager.default.moveItem(atPath: keys + "/clients/power-supply-bureau.key", toPath: directory.appending("power.key"))
        let broker = try BrokerProcess(
            journalDirectory: directory.appending("journal"),
            extraArguments: ["--server-key", keys + "/broker.key", "--client-keys", keys + "/clients"])
        defer { broker.stop() }
        func publish(_ organisation: String, _ workItem: String, key: String, outbox: String) throws -> ProcessOutcome {
            try ChildProcess.conduit([
                "publish", "progress", "--org", organisation, "--work-item", workItem, "--status", "in_progress", "--percent", "10",
                "--ingest", broker.ingest, "--key", key, "--server-key", keys + "/broker.pub", "--outbox", outbox, "--timeout", "60",
            ])
        }

        let refusedOutbox = directory.appending("refused-outbox")
        let refused = try publish("water-investment-company", "ganjiaba-water", key: stray + "/water-investment-company.key", outbox: refusedOutbox)
        #expect(refused.status == 65, "\(refused.errors)")
        #expect(
            refused.errors.contains(
                "the broker at \(broker.ingest) refused this client's key (authentication refused (ZAP status 400)): the key is not one it admits there; nothing was stored"),
            "\(refused.errors)")
        let inOutbox = (try? FileManager.default.contentsOfDirectory(atPath: refusedOutbox)) ?? []
        #expect(inOutbox.isEmpty, "nothing was stored in the outbox: \(inOutbox)")

        let replay = try ChildProcess.conduit([
            "replay", "--query", broker.query, "--key", stray + "/water-investment-company.key", "--server-key", keys + "/broker.pub",
            "--format", "jsonl",
        ])
        #expect(replay.status != 0)
        #expect(replay.errors.contains("the broker at \(broker.query) refused this client's key"), "\(replay.errors)")

        let watch = try ChildProcess.conduit([
            "watch", "--fanout", broker.fanout, "--key", stray + "/water-investment-company.key", "--server-key", keys + "/broker.pub",
        ])
        #expect(watch.status == 69, "\(watch.errors)")
        #expect(watch.errors.contains("the broker at \(broker.fanout) refused this client's key"), "\(watch.errors)")

        // The live state catches up through the query endpoint: it says why it cannot (after the replay's time-out).
        let state = try ChildProcess.conduit([
            "watch", "--state", "--fanout", broker.fanout, "--query", broker.query, "--key", stray + "/water-investment-company.key",
            "--server-key", keys + "/broker.pub",
        ])
        #expect(state.status == 69, "\(state.errors)")
        #expect(
            state.errors.contains("cannot catch up from the broker's query endpoint \(broker.query): the broker at \(broker.query) refused this client's key"),
            "\(state.errors)")

        // The listed key, through the same commands: acknowledged, and replayed.
        let admitted = try publish("power-supply-bureau", "ganjiaba-power", key: directory.appending("power.key"), outbox: directory.appending("outbox"))
        #expect(admitted.status == 0, "\(admitted.errors)")
        let replayed = try ChildProcess.conduit([
            "replay", "--query", broker.query, "--key", directory.appending("power.key"), "--server-key", keys + "/broker.pub",
            "--format", "jsonl",
        ])
        #expect(replayed.status == 0, "\(replayed.errors)")
        #expect(replayed.output.contains("\"workitem\":\"ganjiaba-power\""), "\(replayed.output)")
    }
}
