import Foundation
import Testing

@testable import ZeroMQ

@Suite(.timeLimit(.minutes(5)))
struct SecurityTests {
    @Test func z85RoundTripsAndRejectsBadLengths() throws {
        // The test vector of RFC 32.
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(Z85.encode(bytes) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == bytes)
        #expect(Z85.encode([1, 2, 3]) == nil)
        #expect(Z85.decode("Hell") == nil)
    }

    @Test func curveKeyPairsDerivePublicFromSecret() throws {
        try #require(CurveKeyPair.isAvailable, "libzmq is built with CURVE")
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.count == 32)
        #expect(pair.secretKeyText.count == 40)
        #expect(try CurveKeyPair(secretKey: pair.secretKey) == pair)
        #expect(throws: ZMQError.self) { try CurveKeyPair(secretKey: [1, 2, 3]) }
    }

    /// A CURVE server (ROUTER) with a ZAP handler that knows one client key.
    struct Server {
        let context: Context
        let handler: ZAPHandler
        let router: Socket
        let keys: CurveKeyPair
        let endpoint: String

        init(allowing allowed: [UInt8]) throws {
            context = try Context()
            keys = try CurveKeyPair.generate()
            handler = try ZAPHandler(context: context) { request in
                guard request.clientPublicKey == allowed else { return .deny(reason: "unknown key") }
                return .allow(userId: "power-supply-bureau")
            }
            router = try Socket(context, type: .router)
            try router.makeCurveServer(keys)
            try router.set(.zapDomain, "conduit")
            try router.bind("tcp://127.0.0.1:*")
            endpoint = try router.lastEndpoint
        }
    }

    @Test func curveHandshakeSucceedsAndCarriesTheAuthenticatedUserId() throws {
        let client = try CurveKeyPair.generate()
        let server = try Server(allowing: client.publicKey)
        let dealer = try Socket(server.context, type: .dealer)
        try dealer.makeCurveClient(client, serverKey: server.keys.publicKey)
        try dealer.connect(server.endpoint)
        try dealer.send("hello")
        let message = try #require(try server.router.receiveMessage())
        #expect(message.frames.last == Array("hello".utf8))
        #expect(message.userId == "power-supply-bureau")
        server.handler.stop()
    }

    @Test func curveHandshakeFailsWithAWrongServerKey() throws {
        let client = try CurveKeyPair.generate()
        let server = try Server(allowing: client.publicKey)
        let dealer = try Socket(server.context, type: .dealer)
        try dealer.makeCurveClient(client, serverKey: try CurveKeyPair.generate().publicKey)
        let monitor = try SocketMonitor(dealer)
        try dealer.connect(server.endpoint)
        try dealer.send("hello", wait: false)
        let failure = try monitor.waitFor(timeout: .seconds(60)) { $0.kind.isHandshakeFailure }
        #expect(failure != nil, "the client sees its handshake fail")
        #expect(failure?.handshakeFailureReason != nil)
        #expect(failure?.refusal(by: "broker")?.hasPrefix("the CURVE handshake with the broker at \(server.endpoint) failed (") == true, "\(String(describing: failure))")
        let poller = Poller()
        poller.add(server.router)
        #expect(try poller.poll(timeout: .milliseconds(200)) == 0, "nothing reaches the server")
        monitor.close()
    }

    @Test func zapHandlerDeniesAnUnknownKey() throws {
        let known = try CurveKeyPair.generate()
        let server = try Server(allowing: known.publicKey)
        let serverMonitor = try SocketMonitor(server.router)
        let stranger = try CurveKeyPair.generate()
        let dealer = try Socket(server.context, type: .dealer)
        try dealer.makeCurveClient(stranger, serverKey: server.keys.publicKey)
        try dealer.connect(server.endpoint)
        try dealer.send("let me in", wait: false)
        let failure = try serverMonitor.waitFor(timeout: .seconds(60)) { $0.kind == .handshakeFailedAuth }
        #expect(failure?.value == 400)
        #expect(failure?.handshakeFailureReason?.contains("400") == true)
        let poller = Poller()
        poller.add(server.router)
        #expect(try poller.poll(timeout: .milliseconds(200)) == 0, "the denied client's message is not delivered")
        serverMonitor.close()
    }

    /// A client that watches its handshakes learns that the server refused its key, and says so in words.
    @Test func aClientLearnsThatTheServerRefusedItsKey() throws {
        let server = try Server(allowing: try CurveKeyPair.generate().publicKey)
        let dealer = try Socket(server.context, type: .dealer)
        try dealer.set(.linger, .zero)
        try dealer.makeCurveClient(try CurveKeyPair.generate(), serverKey: server.keys.publicKey)
        let handshakes = try SocketMonitor.handshakeFailures(of: dealer)
        #expect(handshakes.latestHandshakeFailure() == nil, "nothing failed before connecting")
        try dealer.connect(server.endpoint)
        try dealer.send("let me in", wait: false)
        var failure: MonitorEvent?
        let deadline = ContinuousClock.now + .seconds(60)
        while failure == nil, ContinuousClock.now < deadline {
            failure = handshakes.latestHandshakeFailure()
            if failure == nil { usleep(10_000) }
        }
        #expect(failure != nil, "the client sees its handshake refused")
        #expect(failure?.kind == .handshakeFailedAuth)
        #expect(failure?.endpoint == server.endpoint)
        #expect(
            failure?.refusal(by: "broker")
                == "the broker at \(server.endpoint) refused this client's key (authentication refused (ZAP status 400)): the key is not one it admits there")
        handshakes.close()
        server.handler.stop()
    }

    /// A request socket gets its reply through CURVE, is told at once that a server refused its key, and gets
    /// nothing, without an error, from a server that is not there.
    @Test func aRequestSocketTellsARefusedKeyFromNoAnswer() throws {
        let client = try CurveKeyPair.generate()
        let server = try Server(allowing: client.publicKey)
        let admitted = try RequestSocket(
            server.context, endpoints: [server.endpoint], curve: CurveClientKeys(keys: client, serverKey: server.keys.publicKey),
            server: "broker")
        try admitted.send([Array("ping".utf8)])
        let request = try #require(try server.router.receiveMessage())
        _ = try server.router.send(frames: [request.frames[0], Array("pong".utf8)])
        #expect(try admitted.reply(within: .seconds(60)) == [Array("pong".utf8)])
        admitted.close()

        let stranger = try RequestSocket(
            server.context, endpoints: [server.endpoint],
            curve: CurveClientKeys(keys: try CurveKeyPair.generate(), serverKey: server.keys.publicKey), server: "broker")
        try stranger.send([Array("ping".utf8)])
        do {
            _ = try stranger.reply(within: .seconds(60))
            Issue.record("a refused key got a reply")
        } catch let failed as RequestSocket.HandshakeFailed {
            #expect(failed.event.kind == .handshakeFailedAuth)
            #expect(failed.description.hasPrefix("the broker at \(server.endpoint) refused this client's key"))
        }
        stranger.close()

        // An IPC path nothing listens on (a TCP port could be taken by another test meanwhile).
        let vacant = "ipc://\(NSTemporaryDirectory())/zeromq-vacant-\(UUID().uuidString)"
        let unanswered = try RequestSocket(server.context, endpoints: [vacant], curve: nil, server: "broker")
        try unanswered.send([Array("ping".utf8)])
        #expect(try unanswered.reply(within: .milliseconds(200)) == nil)
        unanswered.close()
        // With several servers a request is queued only to a completed connection: with none, sending does not wait.
        let nobody = try RequestSocket(server.context, endpoints: [vacant, vacant + "-2"], curve: nil, server: "broker")
        try nobody.send([Array("ping".utf8)])
        #expect(try nobody.reply(within: .milliseconds(200)) == nil)
        nobody.close()
        server.handler.stop()
    }

    @Test func monitorReportsConnectAndDisconnect() throws {
        let context = try Context()
        let router = try Socket(context, type: .router)
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try Socket(context, type: .dealer)
        let monitor = try SocketMonitor(dealer)
        try dealer.connect(try router.lastEndpoint)
        #expect(try monitor.waitFor(timeout: .seconds(60)) { $0.kind == .connected } != nil)
        router.close()
        #expect(try monitor.waitFor(timeout: .seconds(60)) { $0.kind == .disconnected } != nil)
        monitor.close()
    }

    @Test func xpubSeesSubscriptionsAndWelcomesSubscribers() throws {
        let context = try Context()
        let xpub = try Socket(context, type: .xpub)
        try xpub.set(.xpubVerbose, true)
        try xpub.set(.xpubWelcomeMessage, Array("welcome.".utf8))
        try xpub.bind("tcp://127.0.0.1:*")
        let sub = try Socket(context, type: .sub)
        try sub.subscribe("welcome.")
        try sub.subscribe("alert.")
        try sub.connect(try xpub.lastEndpoint)
        var subscriptions: Set<[UInt8]> = []
        while subscriptions.count < 2, let frames = try xpub.receiveFrames() {
            subscriptions.insert(frames[0])
        }
        #expect(subscriptions == [[1] + Array("welcome.".utf8), [1] + Array("alert.".utf8)])
        #expect(try sub.receiveString() == "welcome.")
    }
}
