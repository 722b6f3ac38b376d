import ConduitBroker
import ConduitCore
import ConduitOperations
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// What an operator reads over HTTP: the request parser, and a live broker's /metrics and /readyz against its journal.
@Suite(.timeLimit(.minutes(5)))
struct OperationsTests {
    static func get(_ address: String, _ path: String) throws -> (status: Int, body: String) { try HTTPProbe.get(address, path) }

    /// The value of the sample `name` (with its labels, as written) in a Prometheus exposition.
    static func sample(_ exposition: String, _ name: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func requestsAreParsedStrictlyAndBounded() {
        #expect(OperationsRequest.parse(Array("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n".utf8)) == .request(OperationsRequest(method: "GET", path: "/metrics")))
        #expect(OperationsRequest.parse(Array("GET /metrics HTTP/1.1\r\nHost: a\r\n".utf8)) == .incomplete)
        #expect(OperationsRequest.parse(Array("hello\r\n\r\n".utf8)) == .refused(status: 400, reason: "not an HTTP/1 request line"))
        let long = Array("GET / HTTP/1.1\r\nX: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 9000)
        guard case .refused(431, _) = OperationsRequest.parse(long) else { Issue.record("an endless head is refused"); return }
        let endpoints = OperationsEndpoints(metrics: { Array("m 1\n".utf8) }, readiness: { (false, "the disk is full") })
        #expect(OperationsRequest.respond(to: .request(OperationsRequest(method: "POST", path: "/metrics")), endpoints: endpoints).status == 405)
        #expect(OperationsRequest.respond(to: .request(OperationsRequest(method: "GET", path: "/x")), endpoints: endpoints).status == 404)
        let ready = OperationsRequest.respond(to: .request(OperationsRequest(method: "GET", path: "/readyz")), endpoints: endpoints)
        #expect(ready.status == 503 && String(decoding: ready.body, as: UTF8.self).contains("the disk is full"))
    }

    @Test func metricsCountWhatTheJournalHoldsAndReadinessFollowsTheDisk() throws {
        let disk = FaultyDisk()
        let metrics = BrokerMetrics(version: "test")
        let broker = try TestBroker {
            $0.journal.fileIO = disk.fileIO
            $0.metrics = metrics
        }
        let server = try OperationsServer(
            address: "127.0.0.1:0", endpoints: OperationsEndpoints(metrics: metrics.exposition, readiness: { broker.broker.readiness }))
        defer { server.stop() }
        #expect(try Self.get(server.address, "/healthz").status == 200)
        #expect(try Self.get(server.address, "/readyz").status == 200)

        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for index in 1...25 {
            _ = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "m\(index)"), correlation: UInt64(index))))
        }
        _ = try #require(rejection(try agent.publishAndWait(SampleEvents.progress(id: "bad", percent: 140), correlation: 99)))
        _ = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "m1"), correlation: 100)))
        // The counters move as the broker's loop gets to them, some after the replies went out: wait for the last.
        var exposition = ""
        #expect(Poll.until(30) {
            exposition = (try? Self.get(server.address, "/metrics"))?.body ?? ""
            return Self.sample(exposition, "conduit_broker_events_duplicate_total") == 1
                && Self.sample(exposition, #"conduit_broker_events_stored_total{kind="progress"}"#) == 25
        }, "\(exposition)")
        #expect(Self.sample(exposition, "conduit_broker_events_accepted_total") == 25)
        let last = try #require(try journalRecords(broker.directory.appending("journal")).last).sequence
        #expect(Self.sample(exposition, "conduit_broker_journal_last_sequence") == Double(last))
        #expect(Self.sample(exposition, #"conduit_broker_events_stored_total{kind="plan"}"#) == 1)
        #expect(Self.sample(exposition, "conduit_broker_events_duplicate_total") == 1)
        #expect(Self.sample(exposition, #"conduit_broker_events_rejected_total{code="data.range"}"#) == 1)
        #expect(Self.sample(exposition, "conduit_broker_ack_latency_seconds_count") == 26, "25 events and the resend")
        #expect((Self.sample(exposition, "conduit_broker_journal_commit_duration_seconds_count") ?? 0) >= 1)
        #expect(exposition.contains(#"conduit_build_info{version="test",component="broker"} 1"#))

        // The disk refuses the next batch: not ready, and why; ready again once a batch is stored.
        disk.setFailing(true)
        _ = try #require(rejection(try agent.publishAndWait(SampleEvents.progress(id: "full"), correlation: 101)))
        // The loop publishes its state after it answered: the REJECT may come first.
        #expect(Poll.until(30) { (try? Self.get(server.address, "/readyz"))?.status == 503 })
        let refused = try Self.get(server.address, "/readyz")
        #expect(refused.status == 503 && refused.body.contains("could not store the last batch"), "\(refused)")
        disk.setFailing(false)
        _ = try #require(acknowledgement(try agent.publishAndWait(SampleEvents.progress(id: "full"), correlation: 102)))
        #expect(Poll.until(30) { (try? Self.get(server.address, "/readyz"))?.status == 200 })
        broker.stop()
        #expect(try Self.get(server.address, "/readyz").status == 503, "a stopped broker is not ready")
    }
}
