import ConduitBench
import ConduitBridge
import ConduitCore
import ConduitJournal
import ConduitTesting
import Foundation
import NATS
import Testing

/// `conduit broker --hub`: brokers that stand by for each other, the hub's JetStream stream as the journal of
/// record. Real nats-servers and broker processes on loopback.
@Suite(.timeLimit(.minutes(15)), .serialized, .enabled(if: NATSServerProcess.isAvailable, "needs nats-server (Deploy/bootstrap.sh --tests installs it)"))
struct FailoverTests {
    /// Three NATS nodes, two brokers, four agents publishing; the active broker is killed three times and a NATS node
    /// once: every acknowledged event is in the stream exactly once, at its acknowledged sequence, and the agents'
    /// outboxes drain. (`conduit bench failover` runs the same with more kills and reports the failover times.)
    @Test func killingTheActiveBrokerLosesAndDuplicatesNothing() throws {
        var options = FailoverBenchmark.Options()
        options.kills = 3
        options.rate = 100
        options.acknowledgementsBetweenKills = 150
        let (_, outcome) = try FailoverBenchmark.run(options)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.undrained == 0)
        #expect(outcome.failoverSeconds.count == 3, "a standby took over after every kill")
        #expect(outcome.acknowledged >= 3 * 150)
        #expect(outcome.streamMessages >= UInt64(outcome.acknowledged), "the stream also holds the agents' births and deaths")
    }

    /// The lease passes only by compare-and-set: a standby takes it once it has seen the same revision for a whole
    /// lease time (by its own clock), or at once when it is released; the broker that lost it cannot renew it.
    @Test func theLeaseChangesHandsOnlyByCompareAndSet() throws {
        let directory = TemporaryDirectory(prefix: "conduit-lease")
        let nats = try NATSServerProcess(directory: directory.appending("nats"))
        let connection = try NATSConnection(servers: [nats.url], name: "conduit-test")
        let jetStream = try connection.jetStream()
        let a = try BrokerLease(jetStream, hub: "county", name: "a", replicas: 1, lease: .milliseconds(200))
        let b = try BrokerLease(jetStream, hub: "county", name: "b", replicas: 1, lease: .milliseconds(200))
        #expect(try a.tryAcquire(now: 0), "a free lease is taken")
        #expect(try !b.tryAcquire(now: 0))
        #expect(b.holder == "a")
        #expect(try !b.tryAcquire(now: 150_000), "not yet a lease time")
        #expect(try a.renew())
        #expect(try !b.tryAcquire(now: 300_000), "renewed: a new revision, watched from now")
        #expect(try !b.tryAcquire(now: 450_000))
        #expect(try b.tryAcquire(now: 500_000), "the same revision for a lease time: taken")
        #expect(try !a.renew(), "the broker that lost the lease cannot renew it")
        #expect(a.holder == "b")
        b.release()
        #expect(try a.tryAcquire(now: 600_000), "a released lease is taken at once")
        let again = try BrokerLease(jetStream, hub: "county", name: "a", replicas: 1, lease: .milliseconds(200))
        #expect(try again.tryAcquire(now: 0), "a broker started again under its name takes its lease back")
        #expect(try !a.renew())
    }

    /// The stream takes a batch only as its next messages: a batch stored twice, or one that skips ahead, is refused.
    @Test func theStreamTakesABatchOnlyAsItsNextMessages() throws {
        let directory = TemporaryDirectory(prefix: "conduit-stream-journal")
        let nats = try NATSServerProcess(directory: directory.appending("nats"))
        let connection = try NATSConnection(servers: [nats.url], name: "conduit-test")
        let jetStream = try connection.jetStream()
        try jetStream.addStream(StreamConfiguration(name: "CONDUIT_COUNTY", subjects: ["conduit.>"]))
        let store = try StreamJournal(connection: connection, hub: "county", stream: "CONDUIT_COUNTY", subjectPrefix: "conduit", timeout: .seconds(5))
        func records(_ sequences: ClosedRange<UInt64>) throws -> [JournalRecord] {
            try sequences.map { sequence in
                var event = try EventCodec.decode(SampleEvents.progress(id: "e\(sequence)"))
                event.sequence = sequence
                event.recordedTime = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000 + Int64(sequence))
                return JournalRecord(
                    sequence: sequence, recordedTime: event.recordedTime!.microsecondsSinceEpoch, topic: event.topic, event: EventCodec.encode(event))
            }
        }
        try store.store(records(1...3))
        #expect(throws: (any Error).self, "the same batch again") { try store.store(records(1...3)) }
        #expect(throws: (any Error).self, "a batch that skips ahead") { try store.store(records(5...6)) }
        try store.store(records(4...5))
        #expect(try jetStream.streamState("CONDUIT_COUNTY") == StreamState(messages: 5, firstSequence: 1, lastSequence: 5))
        let fourth = try #require(try jetStream.message(stream: "CONDUIT_COUNTY", sequence: 4, headers: ["Nats-Msg-Id"]))
        #expect(fourth.headers["Nats-Msg-Id"] == "county:4")
        #expect(fourth.subject == "conduit.progress.power.ganjiaba")
        #expect(JetStreamBridge.subject(prefix: "conduit", event: fourth.data) == fourth.subject, "the bridge's subject, from the event")
        let presence = Array(#"{"specversion":"1.0","id":"p1","source":"/power-supply-bureau/agent-1","type":"conduit.presence","time":"2023-06-01T08:30:00Z","data":{"status":"birth","agent":"agent-1"}}"#.utf8)
        let event = try EventCodec.decode(presence)
        #expect(JetStreamBridge.subject(prefix: "conduit", topic: event.topic) == "conduit.presence._._")
        #expect(JetStreamBridge.subject(prefix: "conduit", event: presence) == "conduit.presence._._")
        #expect(try EventCodec.decode(fourth.data).id == "e4")
    }

    /// A local journal that is not a copy of the stream (another hub's, or written without it) is refused.
    @Test func aLocalJournalThatIsNotACopyOfTheStreamIsRefused() throws {
        let directory = TemporaryDirectory(prefix: "conduit-failover-refusal")
        let nats = try NATSServerProcess(directory: directory.appending("nats"))
        let journal = try makeJournal(in: directory, count: 10)
        let outcome = try ChildProcess.conduit([
            "broker", "--hub", "county", "--nats", nats.url, "--data", journal, "--ingest", "tcp://127.0.0.1:0", "--fanout",
            "tcp://127.0.0.1:0", "--query", "tcp://127.0.0.1:0",
        ])
        #expect(outcome.status == 74)
        #expect(outcome.errors.contains("is not a copy of stream CONDUIT_COUNTY"), "\(outcome.errors)")
        let usage = try ChildProcess.conduit(["broker", "--hub", "county hub", "--nats", nats.url, "--data", journal])
        #expect(usage.status == 64)
        #expect(usage.errors.contains("--hub must be letters, digits, - and _"), "\(usage.errors)")
    }

    /// The failover settings are keys of the configuration file and environment variables too, checked as the flags
    /// are, with the error naming where a bad value came from.
    @Test func theHubsSettingsComeFromTheFileAndTheEnvironmentToo() throws {
        let directory = TemporaryDirectory(prefix: "conduit-failover-settings")
        let nats = try NATSServerProcess(directory: directory.appending("nats"))
        let journal = try makeJournal(in: directory, count: 3)
        func configured(_ members: String) throws -> String {
            let file = directory.appending("conduit-\(UUID().uuidString).json")
            try Data(#"{"format": "conduit-config/1", "broker": {\#(members)}}"#.utf8).write(to: URL(fileURLWithPath: file))
            return file
        }
        // From the file: the hub and its NATS server are taken (the journal is then refused as no copy of its stream).
        let file = try configured(
            #""hub": "county", "nats": "\#(nats.url)", "data": "\#(journal)", "ingest": "tcp://127.0.0.1:0", "#
                + #""fanout": "tcp://127.0.0.1:0", "query": "tcp://127.0.0.1:0""#)
        let fromFile = try ChildProcess.conduit(["broker", "--config", file])
        #expect(fromFile.status == 74)
        #expect(fromFile.errors.contains("is not a copy of stream CONDUIT_COUNTY"), "\(fromFile.errors)")
        // Bad values, wherever they come from, are refused before anything starts.
        let badHub = try configured(#""hub": "county hub""#)
        let refusedHub = try ChildProcess.conduit(["broker", "--config", badHub])
        #expect(refusedHub.status == 64)
        #expect(refusedHub.errors.contains("broker.hub in \(badHub) must be letters, digits, - and _"), "\(refusedHub.errors)")
        let badReplicas = try configured(#""hub": "county", "replicas": 2"#)
        let refusedReplicas = try ChildProcess.conduit(["broker", "--config", badReplicas])
        #expect(refusedReplicas.status == 64)
        #expect(refusedReplicas.errors.contains("broker.replicas in \(badReplicas) must be 1, 3 or 5; got 2"), "\(refusedReplicas.errors)")
        let shortLease = try ChildProcess.conduit(
            ["broker", "--hub", "county", "--data", journal], environment: ["CONDUIT_LEASE": "0.1"])
        #expect(shortLease.status == 64)
        #expect(shortLease.errors.contains("CONDUIT_LEASE must be between 0.2 and 600 seconds; got 0.1"), "\(shortLease.errors)")
        let mirrorAlone = try ChildProcess.conduit(["broker", "--data", journal], environment: ["CONDUIT_MIRROR": "true"])
        #expect(mirrorAlone.status == 64)
        #expect(mirrorAlone.errors.contains("CONDUIT_MIRROR needs a hub"), "\(mirrorAlone.errors)")
        let replicasAlone = try ChildProcess.conduit(["broker", "--data", journal, "--replicas", "3"])
        #expect(replicasAlone.status == 64)
        #expect(replicasAlone.errors.contains("--replicas is a setting of a hub's broker and needs a hub"), "\(replicasAlone.errors)")
    }
}
