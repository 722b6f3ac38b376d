import ArgumentParser
import Foundation
import ZeroMQ

/// `conduit smoke`: a quick end-to-end check of the ZeroMQ layer on this machine.
struct Smoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that ZeroMQ works here: publish/subscribe, request/acknowledge and CURVE, over loopback.",
        discussion: """
            Binds ephemeral ports on 127.0.0.1, sends events through PUB→SUB with a topic filter, through \
            DEALER→ROUTER with an acknowledgement each, and through a CURVE-encrypted connection that a ZAP \
            handler admits; prints what each step saw and exits non-zero if any step fails.
            """
    )

    @Option(help: "Messages to send through each pattern.")
    var messages: Int = 10_000

    func validate() throws {
        guard messages >= 1 else { throw ValidationError("--messages must be at least 1, got \(messages)") }
    }

    func run() throws {
        print("libzmq \(LibraryVersion.current), CURVE \(CurveKeyPair.isAvailable ? "available" : "missing")")
        let context = try Context()
        try step("PUB→SUB with a prefix filter") { try publishSubscribe(context) }
        try step("DEALER→ROUTER with acknowledgements") { try requestAcknowledge(context) }
        try step("CURVE handshake admitted by the ZAP handler") { try curve() }
        print("smoke: all steps passed")
    }

    private func step(_ name: String, _ body: () throws -> String) throws {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let detail = try body()
            let elapsed = clock.now - started
            print("ok    \(name): \(detail) in \(elapsed.formatted(.units(allowed: [.milliseconds])))")
        } catch {
            print("FAIL  \(name): \(error)")
            throw ExitCode.failure
        }
    }

    private func publishSubscribe(_ context: Context) throws -> String {
        let publisher = try Socket(context, type: .xpub)
        try publisher.set(.xpubNoDrop, true)
        try publisher.bind("tcp://127.0.0.1:*")
        let subscriber = try Socket(context, type: .sub)
        try subscriber.subscribe("progress.power.")
        try subscriber.connect(try publisher.lastEndpoint)
        _ = try publisher.receiveFrames()  // the subscription has arrived
        for index in 0..<messages {
            let topic = index % 2 == 0 ? "progress.power.ganjiaba." : "progress.water.ganjiaba."
            try publisher.send(frames: [Array(topic.utf8), Array("event \(index)".utf8)])
        }
        try publisher.send(frames: [Array("progress.power.end.".utf8), []])
        var received = 0
        while let frames = try subscriber.receiveFrames(), frames[0] != Array("progress.power.end.".utf8) {
            guard frames[0] == Array("progress.power.ganjiaba.".utf8) else {
                throw ValidationError("the filter let through \(String(decoding: frames[0], as: UTF8.self))")
            }
            received += 1
        }
        let expected = (messages + 1) / 2
        guard received == expected else { throw ValidationError("received \(received) of \(expected)") }
        publisher.close()
        subscriber.close()
        return "\(received) of \(messages) events matched the filter and arrived"
    }

    private func requestAcknowledge(_ context: Context) throws -> String {
        let router = try Socket(context, type: .router)
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try Socket(context, type: .dealer)
        try dealer.set(.routingId, Array("smoke-agent".utf8))
        try dealer.connect(try router.lastEndpoint)
        for index in 0..<messages {
            try dealer.send("event \(index)")
            guard let request = try router.receiveFrames(), request.count == 2 else {
                throw ValidationError("the router received a malformed request")
            }
            try router.send(frames: [request[0], Array("ack \(index)".utf8)])
            guard try dealer.receiveString() == "ack \(index)" else {
                throw ValidationError("acknowledgement \(index) did not match")
            }
        }
        router.close()
        dealer.close()
        return "\(messages) events acknowledged one by one"
    }

    private func curve() throws -> String {
        guard CurveKeyPair.isAvailable else { throw ValidationError("libzmq was built without CURVE") }
        let context = try Context()
        let serverKeys = try CurveKeyPair.generate()
        let clientKeys = try CurveKeyPair.generate()
        let handler = try ZAPHandler(context: context) { request in
            request.clientPublicKey == clientKeys.publicKey ? .allow(userId: "smoke-agent") : .deny(reason: "unknown")
        }
        defer { handler.stop() }
        let router = try Socket(context, type: .router)
        try router.makeCurveServer(serverKeys)
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try Socket(context, type: .dealer)
        try dealer.makeCurveClient(clientKeys, serverKey: serverKeys.publicKey)
        try dealer.connect(try router.lastEndpoint)
        try dealer.send("secret")
        guard let message = try router.receiveMessage(), message.frames.last == Array("secret".utf8) else {
            throw ValidationError("the encrypted message did not arrive")
        }
        router.close()
        dealer.close()
        return "encrypted message arrived from authenticated user \"\(message.userId ?? "?")\""
    }
}
