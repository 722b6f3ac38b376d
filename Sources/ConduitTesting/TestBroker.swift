import ConduitBroker
import ConduitCore
import Foundation
import Logging
import ZeroMQ

/// A directory under the system's temporary directory, removed when the value goes away.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "conduit-test") {
        let template = NSTemporaryDirectory() + "/\(prefix)-XXXXXX"
        var bytes = Array(template.utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed for \(template)")
        path = String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A path inside the directory.
    public func appending(_ name: String) -> String { path + "/" + name }

    /// Removes the directory now (it is removed anyway when the value goes away).
    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    deinit { remove() }
}

/// A broker on ephemeral loopback ports with its journal in a temporary directory: what every live test starts.
public final class TestBroker: Sendable {
    public let broker: Broker
    public let endpoints: BrokerEndpoints
    public let directory: TemporaryDirectory

    /// The configuration tests start from: ephemeral ports, a fast fan-out heartbeat (50 ms).
    public static func configuration(in directory: TemporaryDirectory) -> BrokerConfiguration {
        var configuration = BrokerConfiguration(journalDirectory: directory.appending("journal"))
        configuration.ingestEndpoint = "tcp://127.0.0.1:*"
        configuration.fanoutEndpoint = "tcp://127.0.0.1:*"
        configuration.queryEndpoint = "tcp://127.0.0.1:*"
        configuration.fanoutHeartbeatInterval = .milliseconds(50)
        // Replies already queued leave before the sockets close, even on a loaded machine; costs nothing otherwise.
        configuration.shutdownLinger = .seconds(5)
        return configuration
    }

    /// Starts a broker; `configure` may change the test configuration; `clock` is what its timers run on (a test
    /// may move it forward instead of waiting).
    public init(
        directory: TemporaryDirectory = TemporaryDirectory(), configure: (inout BrokerConfiguration) -> Void = { _ in },
        clock: @escaping @Sendable () -> Int64 = Broker.wallClock
    ) throws {
        var configuration = Self.configuration(in: directory)
        configure(&configuration)
        var logger = Logger(label: "conduit.test.broker")
        logger.logLevel = .warning
        broker = Broker(configuration: configuration, logger: logger, clock: clock)
        endpoints = try broker.start()
        self.directory = directory
    }

    public func stop() { broker.stop() }

    deinit { broker.stop() }

    /// A broker's new journal begins with the plan it runs (sequence 1, a `conduit.plan` event of `/conduit/broker`):
    /// the first event a client sends is given this sequence.
    public static let firstEventSequence: UInt64 = 2
}

/// Errors of the test clients: a reply that did not come in time, or came wrong.
public struct TestClientError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A raw DEALER client of the ingest or query endpoint, speaking the wire protocol through ConduitCore's codecs.
public final class TestClient {
    public let socket: Socket
    private let poller = Poller()

    /// - Parameter curve: the client's key pair and the broker's public key, when the broker requires CURVE.
    public init(context: Context, endpoint: String, routingId: String? = nil, curve: (CurveKeyPair, [UInt8])? = nil) throws {
        socket = try Socket(context, type: .dealer)
        try socket.set(.linger, .zero)
        if let (keys, serverKey) = curve { try socket.makeCurveClient(keys, serverKey: serverKey) }
        if let routingId { try socket.set(.routingId, Array(routingId.utf8)) }
        try socket.connect(endpoint)
        poller.add(socket)
    }

    public func send(_ frames: [[UInt8]]) throws { try socket.send(frames: frames) }

    /// The next message, or `nil` after `timeout`.
    public func receive(timeout: Duration = .seconds(60)) throws -> [[UInt8]]? {
        guard try poller.poll(timeout: timeout) > 0 else { return nil }
        return try socket.receiveFrames(wait: false)
    }

    /// Publishes `event` as it is encoded (no validation on this side).
    public func publish(_ event: [UInt8], correlation: UInt64) throws {
        try send(IngestRequest.publish(correlation: correlation, event: event).encode())
    }

    /// The next ingest reply; throws if none comes in `timeout`.
    public func ingestReply(timeout: Duration = .seconds(60)) throws -> IngestReply {
        guard let frames = try receive(timeout: timeout) else { throw TestClientError("no ingest reply within \(timeout)") }
        return try IngestReply.decode(frames)
    }

    /// The next query reply; throws if none comes in `timeout`.
    public func queryReply(timeout: Duration = .seconds(60)) throws -> QueryReply {
        guard let frames = try receive(timeout: timeout) else { throw TestClientError("no query reply within \(timeout)") }
        return try QueryReply.decode(frames)
    }

    /// Publishes and waits for the reply.
    public func publishAndWait(_ event: [UInt8], correlation: UInt64, timeout: Duration = .seconds(60)) throws -> IngestReply {
        try publish(event, correlation: correlation)
        return try ingestReply(timeout: timeout)
    }
}

/// A SUB client of the fan-out endpoint. It subscribes to heartbeats too, so ``awaitReady()`` can tell when its
/// subscriptions are in place.
public final class TestSubscriber {
    public let socket: Socket
    private let poller = Poller()

    public init(
        context: Context, endpoint: String, prefixes: [String] = [""], receiveHighWaterMark: Int32? = nil,
        receiveBuffer: Int32? = nil, curve: (CurveKeyPair, [UInt8])? = nil
    ) throws {
        socket = try Socket(context, type: .sub)
        try socket.set(.linger, .zero)
        if let receiveBuffer { try socket.set(.receiveBuffer, receiveBuffer) }
        if let (keys, serverKey) = curve { try socket.makeCurveClient(keys, serverKey: serverKey) }
        if let receiveHighWaterMark { try socket.set(.receiveHighWaterMark, receiveHighWaterMark) }
        for prefix in prefixes { try socket.subscribe(prefix) }
        // One subscription per prefix: "" already takes heartbeats (a publisher that counts subscriptions, such as
        // `conduit replay --wait-subscribers`, would otherwise count this subscriber twice).
        if !prefixes.contains("") { try socket.subscribe(Topic.heartbeat) }
        try socket.connect(endpoint)
        poller.add(socket)
    }

    /// Waits for the first heartbeat: from then on, every event published reaches this subscriber.
    public func awaitReady(timeout: Duration = .seconds(60)) throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if case .heartbeat = try next(timeout: deadline - clock.now) { return }
        }
        throw TestClientError("no fan-out heartbeat within \(timeout)")
    }

    /// The next fan-out message, or `nil` after `timeout`.
    public func next(timeout: Duration = .seconds(60)) throws -> FanoutMessage? {
        guard try poller.poll(timeout: timeout) > 0, let frames = try socket.receiveFrames(wait: false) else { return nil }
        return try FanoutMessage.decode(frames)
    }

    /// The next event (skipping heartbeats), or `nil` after `timeout`.
    public func nextEvent(timeout: Duration = .seconds(60)) throws -> RecordedEvent? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            switch try next(timeout: deadline - clock.now) {
            case .event(_, let record): return record
            case .heartbeat: continue
            case nil: return nil
            }
        }
        return nil
    }
}
