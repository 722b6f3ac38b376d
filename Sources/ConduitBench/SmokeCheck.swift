import ZeroMQ

/// `conduit smoke`'s checks of the ZeroMQ layer on this machine, over loopback: publish/subscribe with a filter,
/// request and acknowledgement, and a CURVE handshake a ZAP handler admits. Every receive is bounded (10 s): a
/// check that cannot finish says so.
public struct SmokeCheck {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public let messages: Int
    let context: Context

    public init(messages: Int) throws {
        self.messages = messages
        context = try Context()
    }

    private func bound(_ socket: Socket) throws {
        try socket.set(.linger, .zero)
        try socket.set(.receiveTimeout, .seconds(10))
        try socket.set(.sendTimeout, .seconds(10))
    }

    public func publishSubscribe() throws -> String {
        let publisher = try Socket(context, type: .xpub)
        try publisher.set(.xpubNoDrop, true)
        try publisher.bind("tcp://127.0.0.1:*")
        let subscriber = try Socket(context, type: .sub)
        try bound(subscriber)
        try bound(publisher)
        try subscriber.subscribe("progress.power.")
        try subscriber.connect(try publisher.lastEndpoint)
        guard try publisher.receiveFrames() != nil else { throw Failure("the subscription did not arrive") }
        for index in 0..<messages {
            let topic = index % 2 == 0 ? "progress.power.ganjiaba." : "progress.water.ganjiaba."
            try publisher.send(frames: [Array(topic.utf8), Array("event \(index)".utf8)])
        }
        try publisher.send(frames: [Array("progress.power.end.".utf8), []])
        var received = 0
        while let frames = try subscriber.receiveFrames(), frames[0] != Array("progress.power.end.".utf8) {
            guard frames[0] == Array("progress.power.ganjiaba.".utf8) else {
                throw SmokeCheck.Failure("the filter let through \(String(decoding: frames[0], as: UTF8.self))")
            }
            received += 1
        }
        let expected = (messages + 1) / 2
        guard received == expected else { throw SmokeCheck.Failure("received \(received) of \(expected)") }
        publisher.close()
        subscriber.close()
        return "\(received) of \(messages) events matched the filter and arrived"
    }

    public func requestAcknowledge() throws -> String {
        let router = try Socket(context, type: .router)
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try Socket(context, type: .dealer)
        try bound(router)
        try bound(dealer)
        try dealer.set(.routingId, Array("smoke-agent".utf8))
        try dealer.connect(try router.lastEndpoint)
        for index in 0..<messages {
            try dealer.send("event \(index)")
            guard let request = try router.receiveFrames(), request.count == 2 else {
                throw SmokeCheck.Failure("the router received a malformed request")
            }
            try router.send(frames: [request[0], Array("ack \(index)".utf8)])
            guard try dealer.receiveString() == "ack \(index)" else {
                throw SmokeCheck.Failure("acknowledgement \(index) did not match")
            }
        }
        router.close()
        dealer.close()
        return "\(messages) events acknowledged one by one"
    }

    public func curve() throws -> String {
        guard CurveKeyPair.isAvailable else { throw SmokeCheck.Failure("libzmq was built without CURVE") }
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
        try bound(router)
        try dealer.makeCurveClient(clientKeys, serverKey: serverKeys.publicKey)
        try dealer.connect(try router.lastEndpoint)
        try dealer.send("secret")
        guard let message = try router.receiveMessage(), message.frames.last == Array("secret".utf8) else {
            throw SmokeCheck.Failure("the encrypted message did not arrive")
        }
        router.close()
        dealer.close()
        return "encrypted message arrived from authenticated user \"\(message.userId ?? "?")\""
    }
}
