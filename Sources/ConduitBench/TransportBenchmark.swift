import Foundation
import Synchronization
import TransportReference
import ZeroMQ

/// The binding's message rate against the same loops written in C, side by side, over tcp loopback.
///
/// Two loops, each run in Swift (through the ZeroMQ module) and in C (straight libzmq) in the same session,
/// alternating, so the ratio compares like with like on a noisy machine: PUB→SUB with a topic frame and a payload
/// frame per message, the publisher waiting at its high-water mark instead of dropping; and DEALER→ROUTER with one
/// acknowledgement per message and at most ``Options/window`` unacknowledged.
public enum TransportBenchmark {
    public struct Options: Sendable {
        /// How many times each loop runs; the median is reported.
        public var runs: Int
        /// Messages per run of each loop: at least 1,000.
        public var messages: Int
        /// Payload frame size in bytes: at least 8.
        public var payload: Int
        /// Unacknowledged messages a DEALER may have in flight: 1 to 1,000.
        public var window: Int
        /// The topic frame sent before each payload.
        public var topic: String

        public init(
            runs: Int = 3, messages: Int = 1_000_000, payload: Int = 300, window: Int = 1000,
            topic: String = "progress.power.ganjiaba."
        ) {
            self.runs = runs
            self.messages = messages
            self.payload = payload
            self.window = window
            self.topic = topic
        }

        public func validate() throws(BenchError) {
            try BenchError.checkRuns(runs)
            guard messages >= 1000 else { throw .invalidOptions("--messages must be at least 1000, got \(messages)") }
            guard payload >= 8 else { throw .invalidOptions("--payload must be at least 8 bytes, got \(payload)") }
            // Beyond the high-water mark (1,000 messages) a ROUTER drops acknowledgements instead of queuing them.
            guard (1...1000).contains(window) else { throw .invalidOptions("--window must be 1 to 1000, got \(window)") }
        }
    }

    /// Runs both loops in C and in Swift `options.runs` times; `progress` hears which run is starting. A loop that
    /// stalls (nothing moved for 30 s) or fails throws ``BenchError`` (`.failed`).
    public static func run(_ options: Options, progress: (String) -> Void = { _ in }) throws -> BenchReport {
        try options.validate()
        let (messages, payload, window, topic) = (options.messages, options.payload, options.window, options.topic)
        var swiftPubSub: [Double] = [], cPubSub: [Double] = []
        var swiftDealer: [Double] = [], cDealer: [Double] = []
        for run in 1...options.runs {
            progress("run \(run)/\(options.runs)…")
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
        return report
    }

    private static func check(_ rate: Double, _ name: String) throws(BenchError) -> Double {
        if rate == TRANSPORT_REFERENCE_STALLED {
            throw .failed("the \(name) reference loop stalled: no message moved for \(TransportLoops.stall)")
        }
        guard rate > 0 else { throw .failed("the \(name) reference loop failed (a libzmq error)") }
        return rate
    }
}

/// The benchmark loops through the Swift binding; the same shape as `TransportReference.c`. Every blocking send and
/// receive is bounded by ``stall``: a loop that cannot finish says so instead of waiting for ever.
enum TransportLoops {
    /// The longest any send or receive may wait.
    static let stall = Duration.milliseconds(Int(TRANSPORT_REFERENCE_STALL_MS))

    private static func stalled(_ what: String) -> ZMQError {
        ZMQError(code: .init(rawValue: EAGAIN), operation: "\(what), with nothing moving for \(stall),")
    }

    /// Linger 0, and sends and receives bounded by ``stall``.
    private static func bound(_ socket: Socket) throws(ZMQError) {
        try socket.set(.linger, .zero)
        try socket.set(.receiveTimeout, stall)
        try socket.set(.sendTimeout, stall)
    }

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
        try bound(publisher)
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
        let payload = makeBuffer(payloadSize)
        let topicBuffer = makeBuffer(topic)
        defer { payload.deallocate(); topicBuffer.deallocate() }
        let started = ContinuousClock.now
        var published: ZMQError?
        do throws(ZMQError) {
            // The subscription first: nothing is sent before the subscriber is there.
            guard try publisher.receiveFrames() != nil else { throw stalled("waiting for the subscription") }
            try publish(publisher, topic: UnsafeRawBufferPointer(topicBuffer), payload: payload, messages: messages)
        } catch {
            published = error
        }
        done.wait()  // the subscriber's receives are bounded too
        publisher.close()
        if let published { throw BenchError.failed("the Swift publisher: \(published)", cause: published) }
        guard let end = finished.withLock({ $0 }) else {
            throw BenchError.failed("the Swift subscriber failed before receiving every message (no message for \(stall), or a libzmq error)")
        }
        return Double(messages) / (end - started).seconds
    }

    private static func subscribe(context: Context, endpoint: String, messages: Int) throws(ZMQError) {
        let subscriber = try Socket(context, type: .sub)
        try bound(subscriber)
        try subscriber.subscribe()
        try subscriber.connect(endpoint)
        defer { subscriber.close() }
        var message = Message()
        for _ in 0..<messages {
            guard try subscriber.receive(into: &message) else { throw stalled("receiving") }
            while message.hasMore {
                guard try subscriber.receive(into: &message) else { throw stalled("receiving") }
            }
        }
    }

    private static func publish(
        _ publisher: Socket, topic: UnsafeRawBufferPointer, payload: UnsafeMutableRawBufferPointer, messages: Int
    ) throws(ZMQError) {
        for index in 0..<messages {
            payload.storeBytes(of: Int32(truncatingIfNeeded: index), as: Int32.self)
            guard try publisher.send(topic, more: true), try publisher.send(UnsafeRawBufferPointer(payload)) else {
                throw stalled("sending")
            }
        }
    }

    static func dealerRouter(messages: Int, payloadSize: Int, topic: String, window: Int) throws -> Double {
        let context = try Context()
        let endpointBox = Mutex<Result<String, ZMQError>?>(nil)
        let routerFailure = Mutex<ZMQError?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let dealerFinished = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let routerThread = Thread {
            do throws(ZMQError) {
                // The ROUTER is closed only once the DEALER has stopped: closing it with linger 0 right after the
                // last send would discard acknowledgements still queued, and the DEALER would wait for them.
                try acknowledge(context: context, messages: messages, closeAfter: dealerFinished) { endpoint in
                    endpointBox.withLock { $0 = .success(endpoint) }
                    ready.signal()
                }
            } catch {
                routerFailure.withLock { $0 = error }
                endpointBox.withLock { if $0 == nil { $0 = .failure(error) } }
                ready.signal()
            }
            done.signal()
        }
        routerThread.start()
        ready.wait()
        let endpoint: String
        do { endpoint = try endpointBox.withLock { $0! }.get() } catch { dealerFinished.signal(); done.wait(); throw error }
        let payload = makeBuffer(payloadSize)
        let topicBuffer = makeBuffer(topic)
        defer { payload.deallocate(); topicBuffer.deallocate() }
        var published: ZMQError?
        let started = ContinuousClock.now
        do throws(ZMQError) {
            let dealer = try Socket(context, type: .dealer)
            defer { dealer.close() }
            try bound(dealer)
            try dealer.connect(endpoint)
            try publishWithWindow(
                dealer, topic: UnsafeRawBufferPointer(topicBuffer), payload: payload, messages: messages, window: window)
        } catch {
            published = error
        }
        let elapsed = (ContinuousClock.now - started).seconds
        dealerFinished.signal()
        done.wait()  // the router's receives are bounded too
        if let published { throw BenchError.failed("the Swift dealer: \(published)", cause: published) }
        if let failed = routerFailure.withLock({ $0 }) { throw BenchError.failed("the Swift router: \(failed)", cause: failed) }
        return Double(messages) / elapsed
    }

    private static func acknowledge(
        context: Context, messages: Int, closeAfter dealerFinished: DispatchSemaphore, bound: (String) -> Void
    ) throws(ZMQError) {
        let router = try Socket(context, type: .router)
        defer {
            dealerFinished.wait()
            router.close()
        }
        try TransportLoops.bound(router)
        try router.bind("tcp://127.0.0.1:*")
        bound(try router.lastEndpoint)
        var routingId = Message()
        var part = Message()
        let ack = makeBuffer(8)
        defer { ack.deallocate() }
        for sequence in 1...UInt64(messages) {
            guard try router.receive(into: &routingId), try router.receive(into: &part) else { throw stalled("receiving") }
            while part.hasMore {
                guard try router.receive(into: &part) else { throw stalled("receiving") }
            }
            ack.storeBytes(of: sequence, as: UInt64.self)
            guard try router.send(contentsOf: routingId, more: true), try router.send(UnsafeRawBufferPointer(ack)) else {
                throw stalled("sending")
            }
        }
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
                guard try dealer.send(topic, more: true), try dealer.send(UnsafeRawBufferPointer(payload)) else {
                    throw stalled("sending")
                }
                sent += 1
            }
            guard try dealer.receive(into: &ack) else { throw stalled("waiting for acknowledgements") }
            acknowledged += 1
            while try dealer.receive(into: &ack, wait: false) { acknowledged += 1 }
        }
    }
}
