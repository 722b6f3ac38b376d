import ConduitCore
import Foundation
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// The attacks of the resource suite: each reproduces one way a peer made the broker hold memory or descriptors
/// without bound, at the size it was found with (scale 1), or that many times more (the long mode).
///
/// The well-behaved agent connects from 127.0.0.1; attackers connect from other loopback addresses (127.0.0.0/8
/// all reach the host), so that the per-address limit they meet is theirs.
extension ResourceSuite {
    /// Every case, in the order of the issue that found them.
    public static let cases: [ResourceCase] = [
        unreadRejects, unfinishedMultipart, oneMessageOfManyFrames, emptyFrames, slowloris, stalledReplays,
        stalledSubscribers, largeSubscription, manySubscriptions, idleConnections, handshakeHolders, networkFuzz,
        snapshotEndpoint,
    ]

    /// A client that never reads its `REJECT`s sends 4,000 rejected events of 60 KB.
    public static let unreadRejects = ResourceCase("unread REJECTs") { target in
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, type: .dealer)
        defer { socket.close(linger: .zero) }
        try socket.set(.receiveHighWaterMark, 1)
        try socket.set(.receiveBuffer, 4096)
        try socket.set(.sendTimeout, .seconds(10))
        try socket.connect(ResourceTarget.from("127.0.0.2", target.ingest))
        let count = 4000 * target.scale
        let bytes = target.scale == 1 ? 60_000 : 2_000
        // Valid JSON, rejected for its percent (`data.range`) once the whole event has been read.
        let event = Array(
            String(decoding: SampleEvents.padded(id: "reject", bytes: bytes), as: UTF8.self)
                .replacingOccurrences(of: #""percent":45"#, with: #""percent":140"#).utf8)
        var sent = 0
        for index in 0..<count {
            guard try socket.send(frames: IngestRequest.publish(correlation: UInt64(index), event: event).encode()) else { break }
            sent += 1
        }
        let statistics = try target.await(120, "the rejections") { ($0["eventsRejected"] ?? 0) >= sent || ($0["connectionsCut"] ?? 0) > 0 }
        return "\(sent) events of \(event.count) bytes rejected unread (\(statistics["eventsRejected"] ?? 0) rejections)"
    }

    /// 768 frames of 96 KiB with MORE and no last frame, on a fresh connection each round.
    public static let unfinishedMultipart = ResourceCase("unfinished multipart message") { target in
        let frame = RawPeer.frame([UInt8](repeating: 0x41, count: 96 << 10), more: true)
        var frames = 0
        for _ in 0..<(3 * target.scale) {
            let peer = try RawPeer(endpoint: target.ingest, source: "127.0.0.3")
            var sent = 0
            while sent < 768, peer.send(frame) { sent += 1 }
            frames += sent
            guard peer.isClosed(within: .seconds(30)) else { throw TestClientError("a connection left unfinished after \(sent) frames was not closed") }
        }
        return "\(frames) frames of 96 KiB sent, each connection closed before its message could end"
    }

    /// One message of 384 frames of 96 KiB.
    public static let oneMessageOfManyFrames = ResourceCase("one message of many frames") { target in
        let more = RawPeer.frame([UInt8](repeating: 0x42, count: 96 << 10), more: true)
        let last = RawPeer.frame([UInt8](repeating: 0x42, count: 96 << 10))
        var frames = 0
        for _ in 0..<(3 * target.scale) {
            let peer = try RawPeer(endpoint: target.ingest, source: "127.0.0.4")
            var sent = 0
            while sent < 383, peer.send(more) { sent += 1 }
            if sent == 383 && peer.send(last) { sent += 1 }
            frames += sent
            guard peer.isClosed(within: .seconds(30)) else { throw TestClientError("a message of \(sent) frames did not close its connection") }
        }
        return "\(frames) frames sent in messages of 384, each connection closed"
    }

    /// 3,000,000 empty frames in one message.
    public static let emptyFrames = ResourceCase("empty frames") { target in
        let chunk = [UInt8]([1, 0]).repeated(100_000)
        var frames = 0
        for _ in 0..<target.scale {
            let peer = try RawPeer(endpoint: target.ingest, source: "127.0.0.5")
            var sent = 0
            while sent < 3_000_000, peer.send(chunk) { sent += 100_000 }
            if sent >= 3_000_000 { _ = peer.send([0, 0]) }
            frames += sent
            guard peer.isClosed(within: .seconds(30)) else { throw TestClientError("\(sent) empty frames did not close the connection") }
        }
        return "\(frames) empty frames sent, the connection closed"
    }

    /// 400 connections, each holding all but one byte of a frame of the largest size (slowloris), from 20 addresses.
    public static let slowloris = ResourceCase("slowloris", settings: ["stalledConnectionMs": 1000]) { target in
        let partial = RawPeer.frameHeader(size: 96 << 10) + [UInt8](repeating: 0x43, count: (96 << 10) - 1)
        var peers: [RawPeer] = []
        var refusedAtOnce = 0
        for round in 0..<target.scale {
            for index in 0..<400 {
                guard let peer = try? RawPeer(endpoint: target.ingest, source: "127.0.1.\(10 + index % 20)") else {
                    refusedAtOnce += 1
                    continue
                }
                _ = peer.send(partial)
                peers.append(peer)
            }
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, peers.contains(where: { !$0.isClosed() }) { usleep(50_000) }
            guard !peers.contains(where: { !$0.isClosed() }) else {
                throw TestClientError("round \(round): \(peers.filter { !$0.isClosed() }.count) half-sent frames still held after 60 s")
            }
            peers.removeAll()
        }
        let statistics = try target.statistics()
        return "\(400 * target.scale) connections holding 96 KiB − 1 of a frame, all closed (refused \(statistics["connectionsRefused"] ?? 0), cut \(statistics["connectionsCut"] ?? 0), \(refusedAtOnce) not connected)"
    }

    /// 16 clients with 16 replays each (all 256 places) that never read; then a well-behaved client's replay.
    public static let stalledReplays = ResourceCase("stalled replays", journal: (events: 2000, eventBytes: 16_000)) { target in
        let context = try Context()
        defer { context.terminate() }
        var stalled: [Socket] = []
        defer { for socket in stalled { socket.close(linger: .zero) } }
        for _ in 0..<16 {
            let socket = try Socket(context, type: .dealer)
            try socket.set(.receiveHighWaterMark, 1)
            try socket.set(.receiveBuffer, 4096)
            try socket.connect(ResourceTarget.from("127.0.0.6", target.query))
            for request in 1...16 {
                try socket.send(frames: QueryRequest.replay(ReplayRequest(request: UInt64(request), window: .sequence(from: 1, to: .max), credit: .max)).encode())
            }
            stalled.append(socket)
        }
        try target.await(60, "256 replays in progress") { ($0["replaysActive"] ?? 0) == 256 }
        var replayed = 0
        for _ in 0..<target.scale {
            replayed += try wellBehavedReplay(target, context: context)
        }
        return "256 replays held unread by 16 clients; a well-behaved replay of \(replayed) events completed"
    }

    /// Replays the whole journal under credit, retrying while the broker has no place; the events received.
    static func wellBehavedReplay(_ target: ResourceTarget, context: Context) throws -> Int {
        let client = try TestClient(context: context, endpoint: target.query)
        defer { client.socket.close() }
        let deadline = Date().addingTimeInterval(120)
        var request: UInt64 = 100
        while Date() < deadline {
            request += 1
            try client.send(QueryRequest.replay(ReplayRequest(request: request, window: .sequence(from: 1, to: .max), credit: 256)).encode())
            var received = 0
            var refused = false
            reading: while true {
                switch try client.queryReply(timeout: .seconds(60)) {
                case .chunk(let id, let events) where id == request:
                    received += events.count
                    try client.send(QueryRequest.credit(request: request, amount: UInt32(events.count)).encode())
                case .end(let end) where end.request == request:
                    guard end.reason == .complete || end.reason == .beyondHead else {
                        throw TestClientError("the well-behaved replay ended \(end.reason)")
                    }
                    return received
                case .error(let id, let error) where id == request && error.code == .serviceUnavailable:
                    refused = true
                    break reading
                case .error(let id, let error) where id == request:
                    throw TestClientError("the well-behaved replay failed after \(received) events: \(error)")
                case let other:
                    throw TestClientError("unexpected reply to a replay: \(other)")
                }
            }
            if refused { usleep(200_000) }
        }
        throw TestClientError("the well-behaved replay found no place within 120 s")
    }

    /// 3 subscribers that stop reading while events of 60 KB are published.
    public static let stalledSubscribers = ResourceCase("stalled subscribers") { target in
        let context = try Context()
        defer { context.terminate() }
        var subscribers: [Socket] = []
        defer { for socket in subscribers { socket.close(linger: .zero) } }
        for _ in 0..<3 {
            let socket = try Socket(context, type: .sub)
            try socket.set(.receiveHighWaterMark, 1)
            try socket.set(.receiveBuffer, 4096)
            try socket.subscribe("")
            try socket.connect(ResourceTarget.from("127.0.0.7", target.fanout))
            subscribers.append(socket)
        }
        try target.await(60, "the subscribers' connections") { ($0["connections"] ?? 0) >= 5 }
        let publisher = try TestClient(context: context, endpoint: ResourceTarget.from("127.0.0.8", target.ingest))
        defer { publisher.socket.close() }
        let count = 2000 * target.scale
        // 60 KB events; the long mode's million are 2 KB (2 GB through the journal instead of 60).
        let bytes = target.scale == 1 ? 60_000 : 2_000
        var acknowledged = 0
        var inFlight = 0
        for index in 0..<count {
            try publisher.publish(SampleEvents.padded(id: "big-\(index)", bytes: bytes), correlation: UInt64(index))
            inFlight += 1
            while inFlight >= 64 || (index == count - 1 && inFlight > 0) {
                if case .ack = try publisher.ingestReply(timeout: .seconds(60)) { acknowledged += 1 }
                inFlight -= 1
            }
        }
        let statistics = try target.await(60, "the stalled subscribers' disconnection") { ($0["connectionsCut"] ?? 0) >= 3 }
        return "\(acknowledged) events of \(bytes / 1000) KB published to 3 stalled subscribers (cut \(statistics["connectionsCut"] ?? 0) times)"
    }

    /// A subscription of 8 MiB (sent by hand: libzmq's own SUB keeps its subscriptions in a tree it walks
    /// recursively, and overflows its stack on one this long).
    public static let largeSubscription = ResourceCase("one large subscription") { target in
        let subscription = RawPeer.frame([1] + [UInt8](repeating: 0x44, count: 8 << 20))
        var sentMiB = 0
        for _ in 0..<(3 * target.scale) {
            let peer = try RawPeer(endpoint: target.fanout, source: "127.0.0.9", socketType: "SUB")
            _ = peer.send(subscription)
            sentMiB += peer.bytesSent >> 20
            guard peer.isClosed(within: .seconds(30)) else { throw TestClientError("an 8 MiB subscription was taken") }
        }
        return "3 subscriptions of 8 MiB refused (\(sentMiB) MiB sent)"
    }

    /// 200,000 distinct subscriptions from one subscriber, sent again on every reconnection.
    public static let manySubscriptions = ResourceCase("many subscriptions") { target in
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, type: .sub)
        defer { socket.close(linger: .zero) }
        let count = 200_000 * target.scale
        for index in 0..<count { try socket.subscribe("outage/power/community-\(index)/") }
        try socket.connect(ResourceTarget.from("127.0.0.10", target.fanout))
        // A SUB sends its subscriptions again when it reconnects, once its owner calls into it.
        let deadline = Date().addingTimeInterval(120)
        var statistics: [String: Int] = [:]
        while Date() < deadline {
            for _ in 0..<10 {
                _ = try? socket.receiveFrames(wait: false)
                usleep(20_000)
            }
            statistics = try target.statistics()
            if (statistics["connectionsCut"] ?? 0) >= 3 { break }
        }
        guard (statistics["connectionsCut"] ?? 0) >= 3 else {
            throw TestClientError("a subscriber of \(count) subscriptions was not disconnected each time: \(statistics)")
        }
        return "\(count) subscriptions from one subscriber, disconnected \(statistics["connectionsCut"] ?? 0) times"
    }

    /// Idle connections beyond the descriptors the broker may hold (1,024 in the short mode; its own limit, and
    /// 19,978 connections, in the long one): it stays below them, does not spin, serves the agent connected before,
    /// and answers a new query client.
    public static let idleConnections = ResourceCase("idle connections", descriptorLimit: { $0 == 1 ? 1024 : nil }) { target in
        var peers: [RawPeer] = []
        var failed = 0
        var mostDescriptors = 0
        let limit = ProcessResources.descriptorLimit(of: target.pid) ?? 1024
        let total = target.scale == 1 ? 2000 : 19_978
        for index in 0..<total {
            // 8 per address from 250 addresses, on ingest and fan-out.
            let endpoint = index % 5 == 4 ? target.fanout : target.ingest
            let source = "127.0.\(2 + index / 250 % 200).\(1 + index % 250)"
            if let peer = try? RawPeer(endpoint: endpoint, source: source, socketType: index % 5 == 4 ? "SUB" : "DEALER") {
                peers.append(peer)
            } else {
                failed += 1
            }
            if index % 100 == 0 { mostDescriptors = max(mostDescriptors, ProcessResources.descriptors(of: target.pid) ?? 0) }
        }
        usleep(200_000)
        mostDescriptors = max(mostDescriptors, ProcessResources.descriptors(of: target.pid) ?? 0)
        guard mostDescriptors < limit else { throw TestClientError("the broker held \(mostDescriptors) descriptors of \(limit)") }
        // Held idle: the broker must not spin.
        let before = ProcessResources.cpuSeconds(of: target.pid) ?? 0
        let clock = ContinuousClock()
        let start = clock.now
        usleep(2_000_000)
        let used = (ProcessResources.cpuSeconds(of: target.pid) ?? 0) - before
        let elapsed = clock.now - start
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        guard used < wall / 2 else { throw TestClientError(String(format: "the broker used %.2f s of CPU in %.2f s idle", used, wall)) }
        // A new query client is answered.
        let context = try Context()
        defer { context.terminate() }
        let client = try TestClient(context: context, endpoint: target.query)
        defer { client.socket.close() }
        try client.send(QueryRequest.head(request: 1).encode())
        guard case .head = try client.queryReply(timeout: .seconds(30)) else { throw TestClientError("HEAD was not answered") }
        let statistics = try target.statistics()
        return String(
            format: "%d connections attempted (%d failed at once), at most %d descriptors of %d, %.2f s CPU in %.1f s idle, refused %d",
            total, failed, mostDescriptors, limit, used, wall, statistics["connectionsRefused"] ?? 0)
    }

    /// With CURVE: 300 peers holding half-sent handshake frames of the largest size, and one streaming a 511 MiB
    /// handshake frame to the fan-out.
    public static let handshakeHolders = ResourceCase("pre-authentication handshakes", settings: ["stalledConnectionMs": 1000], curve: true) { target in
        let hello = RawPeer.frameHeader(size: (96 << 10) - 1, command: true) + [5] + Array("HELLO".utf8)
            + [UInt8](repeating: 0, count: (96 << 10) - 10)
        var peers: [RawPeer] = []
        for index in 0..<(300 * target.scale) {
            guard let peer = try? RawPeer(endpoint: target.ingest, source: "127.0.3.\(1 + index % 30)", mechanism: .curve) else { continue }
            _ = peer.send(hello)
            peers.append(peer)
        }
        let streamer = try RawPeer(endpoint: target.fanout, source: "127.0.0.11", mechanism: .curve)
        var streamed = 0
        let chunk = [UInt8](repeating: 0x45, count: 1 << 20)
        if streamer.send(RawPeer.frameHeader(size: 511 << 20, command: true)) {
            while streamed < 511, streamer.send(chunk) { streamed += 1 }
        }
        guard streamer.isClosed(within: .seconds(30)) else { throw TestClientError("the 511 MiB handshake frame was taken") }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, peers.contains(where: { !$0.isClosed() }) { usleep(50_000) }
        guard !peers.contains(where: { !$0.isClosed() }) else { throw TestClientError("half-sent handshakes still held after 60 s") }
        return "\(peers.count) half-sent CURVE HELLOs of 96 KiB all closed; a 511 MiB handshake frame closed after \(streamed) MiB"
    }

    /// Random messages to every endpoint: frames of random count and size, some starting like a real command.
    public static let networkFuzz = ResourceCase("network fuzz") { target in
        let perEndpoint = 2000 * target.scale
        var random = SplitMix64(seed: 0xC0DE_F00D)
        let context = try Context()
        defer { context.terminate() }
        var sent = 0
        for (index, endpoint) in [target.ingest, target.query, target.fanout].enumerated() {
            let socket = try Socket(context, type: index == 2 ? .xsub : .dealer)
            defer { socket.close(linger: .zero) }
            try socket.set(.sendTimeout, .seconds(10))
            try socket.connect(ResourceTarget.from("127.0.0.\(12 + index)", endpoint))
            let commands = index == 0 ? ["PUBLISH", "HELLO", "HEARTBEAT", "GOODBYE"] : ["REPLAY", "CREDIT", "CANCEL", "HEAD", "STATS"]
            for _ in 0..<perEndpoint {
                var frames: [[UInt8]] = []
                let count = Int(random.next() % 8) + 1 + (random.next() % 50 == 0 ? Int(random.next() % 40) : 0)
                for position in 0..<count {
                    let roll = random.next() % 100
                    if index < 2 && position == 0 && roll < 60 {
                        frames.append(ProtocolSignature.frame)
                    } else if index < 2 && position == 1 && roll < 60 {
                        frames.append(Array(commands[Int(random.next() % UInt64(commands.count))].utf8))
                    } else {
                        let size = roll < 90 ? Int(random.next() % 64) : Int(random.next() % 3000)
                        frames.append((0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) })
                    }
                }
                guard try socket.send(frames: frames) else { break }
                sent += 1
                // Take what came back, as a client that reads.
                while (try? socket.receiveFrames(wait: false)) != nil {}
            }
        }
        return "\(sent) random messages to ingest, query and fan-out"
    }
}

extension ResourceSuite {
    /// The aggregator's snapshot endpoint (`conduit aggregator` against the broker): one peer streaming a frame of
    /// 255 MiB, then messages of 4 KiB frames never finished. The aggregator's own peak memory must stay under
    /// 150 MiB too, and it must still answer a snapshot.
    public static let snapshotEndpoint = ResourceCase("snapshot endpoint") { target in
        let aggregator = try RunningConduit(
            [
                "aggregator", "--fanout", target.fanout, "--query", target.query, "--ingest", target.ingest,
                "--snapshot", "tcp://127.0.0.1:*", "--checkpoint", target.directory + "/aggregator.checkpoint", "--no-alerts",
            ], executable: target.executable)
        defer { aggregator.signal(SIGTERM) }
        var endpoint: String?
        guard Poll.until(60, {
            endpoint = aggregator.output.lines().first { $0.hasPrefix("snapshot ") }.map { String($0.dropFirst(9)) }
            return endpoint != nil || !aggregator.isRunning
        }), let endpoint else { throw TestClientError("conduit aggregator did not report its snapshot endpoint: \(aggregator.errors.all)") }
        let pid = aggregator.process.processIdentifier
        var streamed = 0
        let chunk = [UInt8](repeating: 0x46, count: 1 << 20)
        for _ in 0..<target.scale {
            let streamer = try RawPeer(endpoint: endpoint, source: "127.0.0.20")
            if streamer.send(RawPeer.frameHeader(size: 255 << 20)) {
                while streamed < 255 * target.scale, streamer.send(chunk) { streamed += 1 }
            }
            guard streamer.isClosed(within: .seconds(30)) else { throw TestClientError("a 255 MiB frame was taken") }
        }
        var frames = 0
        let frame = RawPeer.frame([UInt8](repeating: 0x47, count: 4 << 10), more: true)
        for _ in 0..<(3 * target.scale) {
            let peer = try RawPeer(endpoint: endpoint, source: "127.0.0.21")
            var sent = 0
            while sent < 100_000, peer.send(frame) { sent += 1 }
            frames += sent
            guard peer.isClosed(within: .seconds(30)) else { throw TestClientError("a message left unfinished was held") }
        }
        // Still serving: a snapshot of the whole state.
        let context = try Context()
        defer { context.terminate() }
        let client = try TestClient(context: context, endpoint: endpoint)
        defer { client.socket.close() }
        try client.send(SnapshotRequest(request: 1, path: "").encode())
        guard let reply = try client.receive(timeout: .seconds(30)), case .state = try SnapshotReply.decode(reply) else {
            throw TestClientError("the aggregator did not answer a snapshot")
        }
        let peak = ProcessResources.memory(of: pid)?.peak ?? 0
        guard peak < 150 else { throw TestClientError(String(format: "the aggregator's peak was %.1f MiB", peak)) }
        return String(
            format: "aggregator: a frame of 255 MiB closed after %d MiB, %d frames of 4 KiB left unfinished closed, peak %.1f MiB",
            streamed, frames, peak)
    }
}

extension Array {
    /// The array repeated `count` times.
    func repeated(_ count: Int) -> [Element] {
        var result: [Element] = []
        result.reserveCapacity(self.count * count)
        for _ in 0..<count { result += self }
        return result
    }
}
