import ArgumentParser
import Foundation
import Synchronization
import TransportReference
import ZeroMQ

/// `conduit bench transport`: the binding's message rate against the same loops written in C, side by side.
struct BenchTransport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Messages/s through the ZeroMQ binding against the same loops in C, over tcp loopback.",
        discussion: """
            Two loops, each run in Swift (through the ZeroMQ module) and in C (straight libzmq) in the same session, \
            alternating, so the ratio compares like with like on a noisy machine:
              pub-sub        PUB→SUB, a topic frame and a payload frame per message; the publisher waits at its \
            high-water mark (XPUB_NODROP) instead of dropping, so every message is delivered and counted.
              dealer-router  DEALER→ROUTER with one acknowledgement per message and at most --window unacknowledged.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Messages per run of each loop.")
    var messages: Int = 1_000_000

    @Option(help: "Payload frame size in bytes.")
    var payload: Int = 300

    @Option(help: "Unacknowledged messages a DEALER may have in flight.")
    var window: Int = 1000

    @Option(help: "The topic frame sent before each payload.")
    var topic: String = "progress.power.ganjiaba."

    func validate() throws {
        guard messages >= 1000 else { throw ValidationError("--messages must be at least 1000, got \(messages)") }
        guard payload >= 8 else { throw ValidationError("--payload must be at least 8 bytes, got \(payload)") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1, got \(window)") }
    }

    func run() throws {
        var swiftPubSub: [Double] = [], cPubSub: [Double] = []
        var swiftDealer: [Double] = [], cDealer: [Double] = []
        for run in 1...options.runs {
            if !options.json { FileHandle.standardError.write(Data("run \(run)/\(options.runs)…\n".utf8)) }
            cPubSub.append(try check(transport_reference_pub_sub(Int32(messages), Int32(payload), topic), "C pub-sub"))
            swiftPubSub.append(try TransportLoops.pubSub(messages: messages, payloadSize: payload, topic: topic))
            cDealer.append(
                try check(
                    transport_reference_dealer_router(Int32(messages), Int32(payload), topic, Int32(window)),
                    "C dealer-router"))
            swiftDealer.append(
                try TransportLoops.dealerRouter(messages: messages, payloadSize: payload, topic: topic, window: window))
        }
        var report = BenchReport(benchmark: "transport")
        report.parameters = [
            ("messages per run", "\(messages)"), ("payload", "\(payload) bytes + topic \"\(topic)\""),
            ("window", "\(window)"), ("transport", "tcp://127.0.0.1"), ("libzmq", LibraryVersion.current.description),
        ]
        report.add("pub_sub_swift", unit: "msgs/s", runs: swiftPubSub)
        report.add("pub_sub_c", unit: "msgs/s", runs: cPubSub)
        report.add("pub_sub_swift_vs_c", unit: "%", runs: zip(swiftPubSub, cPubSub).map { 100 * $0 / $1 })
        report.add("dealer_router_acked_swift", unit: "msgs/s", runs: swiftDealer)
        report.add("dealer_router_acked_c", unit: "msgs/s", runs: cDealer)
        report.add("dealer_router_swift_vs_c", unit: "%", runs: zip(swiftDealer, cDealer).map { 100 * $0 / $1 })
        report.print(json: options.json)
    }

    private func check(_ rate: Double, _ name: String) throws -> Double {
        guard rate > 0 else { throw ValidationError("the \(name) reference loop failed (libzmq error)") }
        return rate
    }
}

/// The benchmark loops through the Swift binding; the same shape as `TransportReference.c`.
enum TransportLoops {
    /// A zeroed buffer the publisher stamps with the message number, as the C loop does.
    private static func makeBuffer(_ size: Int) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        return buffer
    }

    private static func makeBuffer(_ text: String) -> UnsafeMutableRawBufferPointer {
        let bytes = Array(text.utf8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        buffer.copyBytes(from: bytes)
        return buffer
    }

    static func pubSub(messages: Int, payloadSize: Int, topic: String) throws -> Double {
        let context = try Context()
        let publisher = try Socket(context, type: .xpub)
        try publisher.set(.xpubNoDrop, true)
        try publisher.set(.linger, .zero)
        try publisher.bind("tcp://127.0.0.1:*")
        let endpoint = try publisher.lastEndpoint
        let finished = Mutex<ContinuousClock.Instant?>(nil)
        let done = DispatchSemaphore(value: 0)
        let subscriberThread = Thread {
            if (try? subscribe(context: context, endpoint: endpoint, messages: messages)) != nil {
                finished.withLock { $0 = ContinuousClock.now }
            }
            done.signal()
        }
        subscriberThread.start()
        _ = try publisher.receiveFrames()  // the subscription: nothing is sent before the subscriber is there
        let payload = makeBuffer(payloadSize)
        let topicBuffer = makeBuffer(topic)
        defer { payload.deallocate(); topicBuffer.deallocate() }
        let started = ContinuousClock.now
        try publish(publisher, topic: UnsafeRawBufferPointer(topicBuffer), payload: payload, messages: messages)
        done.wait()
        publisher.close()
        guard let end = finished.withLock({ $0 }) else {
            throw ValidationError("the Swift subscriber failed before receiving every message")
        }
        return Double(messages) / (end - started).seconds
    }

    private static func subscribe(context: Context, endpoint: String, messages: Int) throws(ZMQError) {
        let subscriber = try Socket(context, type: .sub)
        try subscriber.set(.linger, .zero)
        try subscriber.subscribe()
        try subscriber.connect(endpoint)
        var message = Message()
        for _ in 0..<messages {
            try subscriber.receive(into: &message)
            while message.hasMore { try subscriber.receive(into: &message) }
        }
        subscriber.close()
    }

    private static func publish(
        _ publisher: Socket, topic: UnsafeRawBufferPointer, payload: UnsafeMutableRawBufferPointer, messages: Int
    ) throws(ZMQError) {
        for index in 0..<messages {
            payload.storeBytes(of: Int32(truncatingIfNeeded: index), as: Int32.self)
            try publisher.send(topic, more: true)
            try publisher.send(UnsafeRawBufferPointer(payload))
        }
    }

    static func dealerRouter(messages: Int, payloadSize: Int, topic: String, window: Int) throws -> Double {
        let context = try Context()
        let endpointBox = Mutex<Result<String, ZMQError>?>(nil)
        let bound = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let routerThread = Thread {
            do throws(ZMQError) {
                try acknowledge(context: context, messages: messages) { endpoint in
                    endpointBox.withLock { $0 = .success(endpoint) }
                    bound.signal()
                }
            } catch {
                endpointBox.withLock { if $0 == nil { $0 = .failure(error) } }
                bound.signal()
            }
            done.signal()
        }
        routerThread.start()
        bound.wait()
        let endpoint = try endpointBox.withLock { $0! }.get()
        let dealer = try Socket(context, type: .dealer)
        try dealer.set(.linger, .zero)
        try dealer.connect(endpoint)
        let payload = makeBuffer(payloadSize)
        let topicBuffer = makeBuffer(topic)
        defer { payload.deallocate(); topicBuffer.deallocate() }
        let started = ContinuousClock.now
        try publishWithWindow(
            dealer, topic: UnsafeRawBufferPointer(topicBuffer), payload: payload, messages: messages, window: window)
        let elapsed = (ContinuousClock.now - started).seconds
        done.wait()
        dealer.close()
        return Double(messages) / elapsed
    }

    private static func acknowledge(
        context: Context, messages: Int, bound: (String) -> Void
    ) throws(ZMQError) {
        let router = try Socket(context, type: .router)
        try router.set(.linger, .zero)
        try router.bind("tcp://127.0.0.1:*")
        bound(try router.lastEndpoint)
        var routingId = Message()
        var part = Message()
        let ack = makeBuffer(8)
        defer { ack.deallocate() }
        for sequence in 1...UInt64(messages) {
            try router.receive(into: &routingId)
            try router.receive(into: &part)
            while part.hasMore { try router.receive(into: &part) }
            try router.send(contentsOf: routingId, more: true)
            ack.storeBytes(of: sequence, as: UInt64.self)
            try router.send(UnsafeRawBufferPointer(ack))
        }
        router.close()
    }

    private static func publishWithWindow(
        _ dealer: Socket, topic: UnsafeRawBufferPointer, payload: UnsafeMutableRawBufferPointer, messages: Int,
        window: Int
    ) throws(ZMQError) {
        var ack = Message()
        var sent = 0
        var acknowledged = 0
        while acknowledged < messages {
            while sent < messages && sent - acknowledged < window {
                payload.storeBytes(of: Int32(truncatingIfNeeded: sent), as: Int32.self)
                try dealer.send(topic, more: true)
                try dealer.send(UnsafeRawBufferPointer(payload))
                sent += 1
            }
            try dealer.receive(into: &ack)
            acknowledged += 1
            while try dealer.receive(into: &ack, wait: false) { acknowledged += 1 }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
