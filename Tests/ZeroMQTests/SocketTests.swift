import Foundation
import Synchronization
import Testing

@testable import ZeroMQ

/// Waits until a SUB socket's subscriptions have reached the PUB: sends on a sync topic until one arrives.
func awaitSubscription(publisher: Socket, subscriber: Socket, syncTopic: String = "sync.") throws {
    let poller = Poller()
    poller.add(subscriber)
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        try publisher.send(frames: [Array(syncTopic.utf8), []])
        if try poller.poll(timeout: .milliseconds(10)) > 0 {
            // Drain every sync message that arrived.
            while let frames = try subscriber.receiveFrames(wait: false) {
                #expect(frames[0] == Array(syncTopic.utf8))
            }
            return
        }
    }
    Issue.record("the subscription never reached the publisher")
}

@Suite(.timeLimit(.minutes(5)))
struct SocketTests {
    @Test func linkedLibraryIsVersionFourThree() {
        let version = LibraryVersion.current
        #expect(version.major == 4)
        #expect(version.minor >= 3)
    }

    @Test func ephemeralPortIsReportedAndAddressInUseIsAnError() throws {
        let context = try Context()
        let first = try Socket(context, type: .router)
        try first.bind("tcp://127.0.0.1:*")
        let endpoint = try first.lastEndpoint
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(!endpoint.hasSuffix(":*"))
        let second = try Socket(context, type: .router)
        let error = #expect(throws: ZMQError.self) { try second.bind(endpoint) }
        #expect(error?.code == .addressInUse)
        #expect(error?.description.contains(endpoint) == true)
        try first.unbind(endpoint)
        // The listener closes in libzmq's I/O thread, so the port frees shortly after unbind returns.
        var rebound = false
        let deadline = ContinuousClock.now + .seconds(60)
        while !rebound && ContinuousClock.now < deadline {
            do { try second.bind(endpoint); rebound = true } catch { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(rebound, "the endpoint is free again after unbind")
        first.close()
        second.close()
    }

    @Test func publishSubscribeWithPrefixFilters() throws {
        let context = try Context()
        let publisher = try Socket(context, type: .pub)
        try publisher.bind("tcp://127.0.0.1:*")
        let subscriber = try Socket(context, type: .sub)
        try subscriber.subscribe("sync.")
        try subscriber.subscribe("progress.power.")
        try subscriber.subscribe("outage.")
        try subscriber.connect(try publisher.lastEndpoint)
        try awaitSubscription(publisher: publisher, subscriber: subscriber)

        let topics = [
            "progress.power.ganjiaba.", "progress.water.ganjiaba.", "outage.water.jinxiu.",
            "progress.powerline.ganjiaba.", "inspection.water.ruijing.", "progress.power.jinxiu.",
        ]
        for (index, topic) in topics.enumerated() {
            try publisher.send(frames: [Array(topic.utf8), Array("event \(index)".utf8)])
        }
        try publisher.send(frames: [Array("sync.".utf8), []])  // a marker that everything before it was sent
        var received: [String] = []
        while let frames = try subscriber.receiveFrames(), frames[0] != Array("sync.".utf8) {
            received.append(String(decoding: frames[0], as: UTF8.self))
        }
        #expect(received == ["progress.power.ganjiaba.", "outage.water.jinxiu.", "progress.power.jinxiu."])

        try subscriber.unsubscribe("outage.")
        try awaitSubscription(publisher: publisher, subscriber: subscriber)
        try publisher.send(frames: [Array("outage.power.ganjiaba.".utf8), []])
        try publisher.send(frames: [Array("progress.power.ganjiaba.".utf8), []])
        let next = try subscriber.receiveFrames()
        #expect(next?[0] == Array("progress.power.ganjiaba.".utf8))
    }

    @Test func routerAndDealerRoundTripsWithRoutingIds() throws {
        let context = try Context()
        let router = try Socket(context, type: .router)
        try router.set(.routerMandatory, true)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        var dealers: [Socket] = []
        for name in ["power", "water"] {
            let dealer = try Socket(context, type: .dealer)
            try dealer.set(.routingId, Array(name.utf8))
            try dealer.connect(endpoint)
            dealers.append(dealer)
        }
        #expect(try dealers[0].get(.routingId) == Array("power".utf8))
        for round in 0..<50 {
            for dealer in dealers {
                try dealer.send(frames: [Array("request \(round)".utf8)])
            }
            for _ in dealers {
                let frames = try #require(try router.receiveFrames())
                #expect(frames.count == 2)
                try router.send(frames: [frames[0], Array("ack ".utf8) + frames[0] + Array(" ".utf8) + frames[1]])
            }
            for (dealer, name) in zip(dealers, ["power", "water"]) {
                let reply = try #require(try dealer.receiveFrames())
                #expect(reply == [Array("ack \(name) request \(round)".utf8)])
            }
        }
        let error = #expect(throws: ZMQError.self) { try router.send(frames: [Array("nobody".utf8), [1]]) }
        #expect(error?.code == .hostUnreachable)
    }

    @Test(arguments: ["tcp://127.0.0.1:*", "inproc://frames"])
    func emptyManyAndLargeFramesArriveWhole(endpoint: String) throws {
        let context = try Context()
        let server = try Socket(context, type: .router)
        try server.bind(endpoint)
        let client = try Socket(context, type: .dealer)
        try client.connect(try server.lastEndpoint)

        let empties: [[UInt8]] = [[], [], [0], []]
        try client.send(frames: empties)
        #expect(try server.receiveFrames()?.dropFirst().map { $0 } == empties)

        let many = (0..<64).map { index in [UInt8](repeating: UInt8(index), count: index * 3) }
        try client.send(frames: many)
        #expect(try server.receiveFrames()?.dropFirst().map { $0 } == many)

        var large = [UInt8](repeating: 0, count: 4 << 20)
        for index in large.indices { large[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 11) }
        try client.send(frames: [Array("big".utf8), large])
        let received = try #require(try server.receiveFrames())
        #expect(received.count == 3)
        #expect(received[2].count == 4 << 20)
        #expect(received[2] == large)

        var message = Message()
        try client.send(Message(large))
        try server.receive(into: &message)  // routing id
        let routingIdHasMore = message.hasMore
        #expect(routingIdHasMore)
        try server.receive(into: &message)
        let (hasMore, count, same) = (message.hasMore, message.count, message.withUnsafeBytes { $0.elementsEqual(large) })
        #expect(!hasMore)
        #expect(count == large.count)
        #expect(same)
    }

    @Test func pollTimesOutAndThenReportsReadiness() throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.bind("inproc://poll")
        let push = try Socket(context, type: .push)
        try push.connect("inproc://poll")
        let poller = Poller()
        let index = poller.add(pull)
        #expect(try poller.poll(timeout: .milliseconds(80)) == 0)
        #expect(!poller.isReadable(index))
        #expect(try pull.receiveFrames(wait: false) == nil)

        try push.send("hello")
        #expect(try poller.poll(timeout: .seconds(60)) == 1)
        #expect(poller.isReadable(index))
        #expect(try pull.receiveString(wait: false) == "hello")
    }

    @Test func publisherDropsAtItsHighWaterMarkWhileASubscriberStalls() throws {
        let context = try Context()
        let publisher = try Socket(context, type: .pub)
        try publisher.set(.sendHighWaterMark, 100)
        try publisher.set(.sendBuffer, 4096)  // small kernel buffers: what is sent cannot all fit, on any machine
        try publisher.bind("tcp://127.0.0.1:*")
        let subscriber = try Socket(context, type: .sub)
        try subscriber.set(.receiveHighWaterMark, 100)
        try subscriber.set(.receiveBuffer, 4096)
        try subscriber.subscribe("")
        try subscriber.connect(try publisher.lastEndpoint)
        try awaitSubscription(publisher: publisher, subscriber: subscriber)

        // The subscriber reads nothing while the publisher sends far more than the queues and TCP buffers hold.
        let sent = 200_000
        let payload = [UInt8](repeating: 0x2A, count: 300)
        var refused = 0
        for sequence in 0..<sent {
            var frame = withUnsafeBytes(of: UInt64(sequence).bigEndian) { Array($0) }
            frame += payload
            if !(try publisher.send(frames: [Array("t.".utf8), frame], wait: false)) { refused += 1 }
        }
        #expect(refused == 0, "a PUB socket never blocks: it drops")

        // Now the subscriber drains what survived; the sequence numbers show the gap.
        var received = 0
        var gaps = 0
        var last: UInt64? = nil
        let poller = Poller()
        poller.add(subscriber)
        // Until the last message sent has been read, or nothing has come for a few seconds (it was dropped).
        while last != UInt64(sent - 1), try poller.poll(timeout: .seconds(5)) > 0 {
            while let frames = try subscriber.receiveFrames(wait: false) {
                let sequence = frames[1].prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                if let last, sequence != last + 1 { gaps += 1 }
                last = sequence
                received += 1
            }
        }
        #expect(received > 0)
        #expect(received < sent, "a stalled subscriber loses messages at the high-water mark")
        // Dropped messages show as a gap, or, when the drops were the last ones sent, as a sequence that stops short.
        #expect(gaps >= 1 || last != UInt64(sent - 1), "the loss is visible in the sequence")
    }

    @Test func contextShutdownUnblocksAReceiveInAnotherThread() throws {
        let context = try Context()
        let outcome = Mutex<ZMQError?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            do throws(ZMQError) {
                let socket = try Socket(context, type: .pull)
                try socket.bind("inproc://blocked")
                ready.signal()
                _ = try socket.receiveFrames()  // blocks until shutdown
                socket.close()
            } catch {
                outcome.withLock { $0 = error }
            }
            done.signal()
        }
        thread.start()
        ready.wait()
        Thread.sleep(forTimeInterval: 0.1)
        context.shutdown()
        #expect(done.wait(timeout: .now() + 60) == .success, "shutdown must unblock the receive")
        #expect(outcome.withLock { $0 }?.isContextTerminated == true)
        // Sockets closed by the thread's error path (deinit): the context can now terminate.
        context.terminate()
    }

    /// A hang here is caught by the suite's time limit: no wall-clock expectation of its own.
    @Test func closingWithPendingMessagesDoesNotHang() throws {
        do {
            let context = try Context()
            let push = try Socket(context, type: .push)
            try push.connect("tcp://127.0.0.1:9")  // nothing listens: messages stay queued
            for index in 0..<100 { try push.send("pending \(index)", wait: false) }
            push.close()
            context.terminate()
        }
        do {
            // A forgotten socket is closed by its deinit with zero linger; the context then terminates.
            let context = try Context()
            var push: Socket? = try Socket(context, type: .push)
            try push?.set(.linger, .seconds(-1))  // infinite, libzmq's default
            try push?.connect("tcp://127.0.0.1:9")
            try push?.send("pending", wait: false)
            push = nil
            context.terminate()
        }
    }

    @Test func operationsOnAClosedSocketAreErrors() throws {
        let context = try Context()
        let socket = try Socket(context, type: .dealer)
        socket.close()
        socket.close()
        #expect(socket.isClosed)
        let error = #expect(throws: ZMQError.self) { try socket.send("late") }
        #expect(error?.code == .notASocket)
    }

    @Test func optionsReadBackWhatWasSet() throws {
        let context = try Context()
        let socket = try Socket(context, type: .xpub)
        try socket.set(.sendHighWaterMark, 1234)
        #expect(try socket.get(.sendHighWaterMark) == 1234)
        try socket.set(.linger, .milliseconds(250))
        #expect(try socket.get(.linger) == .milliseconds(250))
        try socket.set(.maximumMessageSize, 65536)
        #expect(try socket.get(.maximumMessageSize) == 65536)
        try socket.set(.reconnectInterval, .milliseconds(100))
        try socket.set(.reconnectIntervalMaximum, .seconds(5))
        #expect(try socket.get(.reconnectIntervalMaximum) == .seconds(5))
        try socket.set(.tcpKeepAlive, 1)
        try socket.set(.xpubVerbose, true)
        try socket.set(.xpubNoDrop, true)
        try socket.set(.xpubWelcomeMessage, Array("welcome".utf8))
        try socket.set(.immediate, true)
        #expect(try socket.get(.immediate))
        let error = #expect(throws: ZMQError.self) { try socket.set(.routerHandover, true) }
        #expect(error?.code == .invalidArgument)
    }
}

/// A loop thread carries its name where the system shows threads (`top -H`, `perf`), not that of whichever thread
/// started it; a name longer than the kernel's 15 bytes is cut there.
@Suite struct LoopThreadNameTests {
    @Test(arguments: [("conduit-broker", "conduit-broker"), ("conduit-agent-feed-of-a-long-name", "conduit-agent-f")])
    func theThreadIsNamedAsTheLoop(name: String, shown: String) throws {
        let thread = LoopThread<String>(name: name)
        let seen = try thread.start { setup in
            let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "(unreadable)"
            setup.ready(comm.trimmingCharacters(in: .whitespacesAndNewlines))
            while !setup.control.isStopRequested { usleep(1000) }
        }
        thread.stop()
        #expect(seen == shown)
    }
}
