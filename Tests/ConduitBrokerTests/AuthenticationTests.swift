import ConduitBroker
import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// Invariant 7: with authentication on, only known keys connect, a key publishes only for its own organisation, and
/// the broker stamps the authenticated identity over whatever the client claimed.
@Suite(.timeLimit(.minutes(5)))
struct AuthenticationTests {
    let server: CurveKeyPair
    let power: CurveKeyPair
    let water: CurveKeyPair

    init() throws {
        server = try CurveKeyPair.generate()
        power = try CurveKeyPair.generate()
        water = try CurveKeyPair.generate()
    }

    func broker() throws -> TestBroker {
        try TestBroker {
            $0.authentication = BrokerAuthentication(
                serverKeys: server,
                clients: [power.publicKey: "power-supply-bureau", water.publicKey: "water-investment-company"])
        }
    }

    @Test func aKnownKeyPublishesForItsOwnOrganisationAndIsStamped() throws {
        let broker = try broker()
        let context = try Context()
        let subscriber = try TestSubscriber(
            context: context, endpoint: broker.endpoints.fanout, prefixes: ["progress/"], curve: (water, server.publicKey))
        try subscriber.awaitReady()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (power, server.publicKey))
        // The client claims another identity; the broker overwrites it with the key's organisation.
        let claimed = SampleEvents.progressJSON(id: "auth-1").replacingOccurrences(
            of: #""workitem":"ganjiaba-power","#, with: #""workitem":"ganjiaba-power","authidentity":"fire-brigade","#)
        let ack = try #require(acknowledgement(try agent.publishAndWait(Array(claimed.utf8), correlation: 1)))
        #expect(ack.sequence == TestBroker.firstEventSequence)
        let record = try #require(try subscriber.nextEvent())
        #expect(try EventCodec.decode(record.event).authenticatedIdentity == "power-supply-bureau")
    }

    @Test func aKeyCannotSpeakForAnotherOrganisation() throws {
        let broker = try broker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest, curve: (water, server.publicKey))
        let rejected = try #require(rejection(try agent.publishAndWait(SampleEvents.progress(id: "spoof"), correlation: 2)))
        #expect(rejected.error.code == .authForbidden)
        #expect(rejected.error.path == "source")
        try agent.send(IngestRequest.hello(source: "/power-supply-bureau/agent-1", heartbeatIntervalMs: 1000).encode())
        guard case .reject(let hello) = try agent.ingestReply() else { Issue.record("expected REJECT"); return }
        #expect(hello.error.code == .authForbidden)
        broker.stop()
        #expect(try journalRecords(broker.directory.appending("journal")).count == 1, "nothing but the plan was stored")
    }

    @Test func unknownKeysAndPlainClientsCannotConnect() throws {
        let broker = try broker()
        let context = try Context()
        let stranger = try TestClient(
            context: context, endpoint: broker.endpoints.ingest, curve: (try CurveKeyPair.generate(), server.publicKey))
        try stranger.publish(SampleEvents.progress(id: "stranger"), correlation: 1)
        #expect(try stranger.receive(timeout: .milliseconds(500)) == nil, "an unknown key fails its handshake")
        let plain = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        try plain.publish(SampleEvents.progress(id: "plain"), correlation: 1)
        #expect(try plain.receive(timeout: .milliseconds(500)) == nil, "a client without CURVE is not admitted")
        let query = try TestClient(context: context, endpoint: broker.endpoints.query)
        try query.send(QueryRequest.head(request: 1).encode())
        #expect(try query.receive(timeout: .milliseconds(300)) == nil, "the query endpoint is guarded too")
        broker.stop()
        #expect(try journalRecords(broker.directory.appending("journal")).count == 1, "nothing but the plan was stored")
    }
}

/// Who may speak for whom when the keys say little or nothing.
@Suite(.timeLimit(.minutes(5)))
struct PrincipalTests {
    /// Without CURVE, the organisation a connection's HELLO introduced still binds the events it publishes.
    @Test func aConnectionPublishesOnlyForTheOrganisationItsHelloIntroduced() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        try agent.send(IngestRequest.hello(source: "/china-telecom/nms", heartbeatIntervalMs: 60_000).encode())
        guard case .welcome = try agent.ingestReply() else { Issue.record("expected WELCOME"); return }
        let other = SampleEvents.progressJSON(id: "x-1", source: "/power-supply-bureau/agent-1")
        let refused = try #require(rejection(try agent.publishAndWait(Array(other.utf8), correlation: 1)))
        #expect(refused.error.code == .authForbidden)
        #expect(refused.error.path == "source")
        #expect(refused.error.reason.contains("/china-telecom/nms"))
        // A connection that introduced nobody is not bound (HELLO is optional).
        let plain = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        #expect(acknowledgement(try plain.publishAndWait(Array(other.utf8), correlation: 2)) != nil)
        broker.stop()
    }

    /// One public key listed for two organisations could speak for either: the broker does not start.
    /// A key directory admits the plan's organisations and the aggregator's key (owner `conduit`), and names a file
    /// whose owner is neither.
    @Test func aKeyDirectoryAdmitsTheAggregatorsKeyAndNamesAStrangeOwner() throws {
        let directory = TemporaryDirectory()
        let clients = directory.appending("clients")
        try FileManager.default.createDirectory(atPath: clients, withIntermediateDirectories: true)
        let server = try CurveKeyPair.generate(), aggregator = try CurveKeyPair.generate(), power = try CurveKeyPair.generate()
        try CurveKeyFile.writePrivately(
            Array(try JSONEncoder().encode(CurveKeyFile(owner: "broker", publicKey: server.publicKeyText, secretKey: server.secretKeyText))),
            to: directory.appending("broker.key"), replacing: false)
        for (owner, key) in [("conduit", aggregator), ("power-supply-bureau", power)] {
            try JSONEncoder().encode(CurveKeyFile(owner: owner, publicKey: key.publicKeyText, secretKey: nil))
                .write(to: URL(fileURLWithPath: clients + "/\(owner).pub"))
        }
        let loaded = try BrokerAuthentication.load(serverKeyFile: directory.appending("broker.key"), clientsDirectory: clients, scenario: .default)
        #expect(loaded.principals[aggregator.publicKey]?.organisation == "conduit")
        #expect(loaded.principals[power.publicKey]?.organisation == "power-supply-bureau")

        let stranger = try CurveKeyPair.generate()
        try JSONEncoder().encode(CurveKeyFile(owner: "acme", publicKey: stranger.publicKeyText, secretKey: nil))
            .write(to: URL(fileURLWithPath: clients + "/acme.pub"))
        #expect {
            _ = try BrokerAuthentication.load(serverKeyFile: directory.appending("broker.key"), clientsDirectory: clients, scenario: .default)
        } throws: { error in
            "\(error)".contains("clients/acme.pub: acme is not an organisation of the scenario")
        }
    }

    @Test func aKeyListedTwiceIsRefused() throws {
        let directory = TemporaryDirectory()
        let clients = directory.appending("clients")
        try FileManager.default.createDirectory(atPath: clients, withIntermediateDirectories: true)
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        try CurveKeyFile.writePrivately(
            Array(try JSONEncoder().encode(CurveKeyFile(owner: "broker", publicKey: server.publicKeyText, secretKey: server.secretKeyText))),
            to: directory.appending("broker.key"), replacing: false)
        for (name, owner) in [("china-telecom.pub", "china-telecom"), ("zz-water-copy.pub", "water-investment-company")] {
            try JSONEncoder().encode(CurveKeyFile(owner: owner, publicKey: client.publicKeyText, secretKey: nil))
                .write(to: URL(fileURLWithPath: clients + "/" + name))
        }
        #expect {
            _ = try BrokerAuthentication.load(serverKeyFile: directory.appending("broker.key"), clientsDirectory: clients, scenario: .default)
        } throws: { error in
            "\(error)".contains("list the same public key")
        }
    }
}
