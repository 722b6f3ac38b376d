import ConduitAggregator
import ConduitCore
import ConduitState
import Glibc
import Logging
import NATS
import Synchronization
import ZeroMQ

/// Follows a hub's journal through its broker (the Clone pattern of ``FanoutFollower``: catch-up from the query
/// endpoint, then the live fan-out, gaps filled) and publishes every event into one JetStream stream, so that the
/// stream's sequence is the journal's sequence:
///
/// - each event is published with the message id `<hub>:<sequence>` and the header
///   `Nats-Expected-Last-Sequence: <sequence − 1>`, so JetStream stores it only as the next message of the stream
///   (never twice, never out of order, and a second bridge on the same stream is fenced off);
/// - a bridge that starts, or restarts after a crash, reads the stream's last sequence and follows the journal from
///   the event after it;
/// - a publication that fails for a transient reason (no answer in time, a cluster electing a leader, a server
///   restarting) is tried again, with the same message id, until it is stored.
///
/// Subjects are `<prefix>.<kind>.<utility>.<site>` (`conduit.progress.power.ganjiaba`); the payload is the event's
/// canonical JSON as the journal holds it, with `Conduit-Sequence` and `Conduit-Recorded-Time` headers.
public final class JetStreamBridge: Sendable {
    public struct Configuration: Sendable {
        /// The hub's name: the message ids' prefix, which tells one hub's stream from another's.
        public var hub: String
        /// The stream to publish into (made if missing).
        public var stream: String
        /// The subjects' first tokens (`conduit`): hubs that share one NATS account give each its own.
        public var subjectPrefix: String
        /// The stream's replicas when the bridge makes it (3 on a cluster).
        public var replicas: Int
        /// NATS servers (`nats://host:port`), any of a cluster's.
        public var servers: [String]
        /// The broker to follow.
        public var follower: FanoutFollower.Configuration

        public init(hub: String, stream: String? = nil, subjectPrefix: String = "conduit", replicas: Int = 1, servers: [String], follower: FanoutFollower.Configuration) {
            self.hub = hub
            self.stream = stream ?? Self.streamName(hub: hub)
            self.subjectPrefix = subjectPrefix
            self.replicas = replicas
            self.servers = servers
            self.follower = follower
        }

        /// `CONDUIT_<HUB>`, in capitals, with anything JetStream refuses in a name made `_`.
        public static func streamName(hub: String) -> String {
            "CONDUIT_" + JetStreamBridge.token(hub.uppercased())
        }
    }

    /// What the bridge has done, for its caller's progress lines and tests; safe to read from any thread.
    public final class Progress: Sendable {
        /// The last sequence stored in the stream.
        public let stored = Atomic<UInt64>(0)
        /// Publications tried again after a transient failure.
        public let retries = Atomic<Int>(0)
        /// Publications JetStream answered as duplicates (stored before, by this bridge or an earlier run).
        public let duplicates = Atomic<Int>(0)
        public init() {}

        /// The last sequence stored in the stream.
        public var storedSequence: UInt64 { stored.load(ordering: .acquiring) }
        /// Publications tried again so far.
        public var retryCount: Int { retries.load(ordering: .relaxed) }
    }

    /// Set from any thread (a signal handler's task) to stop the bridge after the event being published.
    public final class StopSignal: Sendable {
        private let flag = Atomic<Bool>(false)
        public init() {}
        public func stop() { flag.store(true, ordering: .releasing) }
        public var isSet: Bool { flag.load(ordering: .acquiring) }

        /// Runs `body` until it succeeds or fails for a reason that is not transient. A transient JetStream failure is
        /// logged as `event` (with `what` was being done) and tried again after `pause` microseconds, unless the
        /// signal is set: then `stopped` of the failure is thrown.
        func retrying<T>(
            _ what: String, logger: Logger, event: Logger.Message, pause: UInt32, stopped: (NATSError) -> any Error,
            _ body: () throws -> T
        ) throws -> T {
            while true {
                do {
                    return try body()
                } catch let error as NATSError where error.isTransient {
                    logger.warning(event, metadata: ["doing": "\(what)", "error": "\(error)"])
                    if isSet { throw stopped(error) }
                    usleep(pause)
                }
            }
        }
    }

    public let configuration: Configuration
    public let progress = Progress()
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Why the bridge stopped for good: the stream is not this hub's, or another writer is ahead of it.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    /// Connects, makes the stream if it is missing, and bridges until `stopping` is set (checked at least every
    /// `checkMilliseconds`). Throws ``Refusal`` when the stream cannot be this hub's journal, and `NATSError` /
    /// `ZMQError` when a connection cannot be made at all.
    public func run(context: Context, stopping: StopSignal, checkMilliseconds: Int = 200) throws {
        let connection = try NATSConnection(servers: configuration.servers, name: "conduit-bridge \(configuration.hub)")
        let jetStream = try connection.jetStream()
        let from = try resumePoint(jetStream, stopping: stopping)
        progress.stored.store(from, ordering: .releasing)
        logger.info(
            "bridge.started",
            metadata: ["stream": "\(configuration.stream)", "from": "\(from)", "nats": "\(connection.connectedURL ?? "?")"])

        let follower = try FanoutFollower(context: context, configuration: configuration.follower)
        defer { follower.close() }
        let poller = Poller()
        follower.add(to: poller)
        var failure: (any Error)?
        let handle: (FanoutSync.Action) throws -> Void = { action in
            switch action {
            case .apply(let record):
                try self.publish(record, jetStream, stopping: stopping)
            case .replayFailed(_, let reason):
                self.logger.warning("bridge.replay.failed", metadata: ["error": "\(reason)"])
            case .gap(let from, let to):
                self.logger.info("bridge.gap", metadata: ["from": "\(from)", "to": "\(to)"])
            case .advanceClock, .caughtUp, .gapFilled, .send:
                break
            }
        }
        do {
            try follower.start(from: from, handle)
            while !stopping.isSet {
                var wait = Duration.milliseconds(checkMilliseconds)
                if let deadline = follower.nextDeadline, deadline < wait { wait = deadline }
                _ = try poller.poll(timeout: wait)
                try follower.receive(handle)
            }
        } catch let error as Stopped {
            _ = error
        } catch {
            failure = error
        }
        if let failure { throw failure }
    }

    struct Stopped: Error {}

    /// The sequence the stream holds up to: 0 for a new stream; for an existing one, its last message must be this
    /// hub's event of that sequence.
    func resumePoint(_ jetStream: JetStream, stopping: StopSignal) throws -> UInt64 {
        let state = try retrying(stopping, "reading stream \(configuration.stream)") { () throws in
            if let state = try jetStream.streamState(configuration.stream) { return state }
            return try jetStream.addStream(
                StreamConfiguration(
                    name: configuration.stream, subjects: [configuration.subjectPrefix + ".>"], replicas: configuration.replicas))
        }
        guard state.lastSequence > 0 else { return 0 }
        let last = try retrying(stopping, "reading the stream's last message") { () throws in
            try jetStream.message(stream: configuration.stream, sequence: state.lastSequence, headers: ["Nats-Msg-Id"])
        }
        let expected = messageID(state.lastSequence)
        guard let id = last?.headers["Nats-Msg-Id"], id == expected else {
            throw Refusal(
                description:
                    "stream \(configuration.stream) is not hub \(configuration.hub)'s journal: its message \(state.lastSequence) has id \(last?.headers["Nats-Msg-Id"] ?? "none"), not \(expected)"
            )
        }
        return state.lastSequence
    }

    func messageID(_ sequence: UInt64) -> String { "\(configuration.hub):\(sequence)" }

    /// The headers of a hub's event in its stream: the message id `<hub>:<sequence>`, the expected last sequence
    /// (the event before it), and the event's sequence and recorded time.
    static func headers(hub: String, sequence: UInt64, recordedTime: Timestamp) -> [(String, String)] {
        [
            ("Nats-Msg-Id", "\(hub):\(sequence)"), ("Nats-Expected-Last-Sequence", String(sequence - 1)),
            ("Conduit-Sequence", String(sequence)), ("Conduit-Recorded-Time", recordedTime.rfc3339),
        ]
    }

    /// Publishes one event as the stream's message of the same sequence, trying again until it is stored.
    func publish(_ record: RecordedEvent, _ jetStream: JetStream, stopping: StopSignal) throws {
        let sequence = record.header.sequence
        guard sequence > progress.stored.load(ordering: .acquiring) else { return }
        let subject = Self.subject(prefix: configuration.subjectPrefix, event: record.event)
        let headers = Self.headers(hub: configuration.hub, sequence: sequence, recordedTime: record.header.recordedTime)
        while true {
            do {
                let answer = try jetStream.publish(subject: subject, payload: record.event, headers: headers)
                if answer.duplicate { progress.duplicates.add(1, ordering: .relaxed) }
                guard answer.sequence == sequence else {
                    throw Refusal(description: "stream \(configuration.stream) stored event \(sequence) as its message \(answer.sequence)")
                }
                progress.stored.store(sequence, ordering: .releasing)
                return
            } catch let error as NATSError where error.isWrongLastSequence {
                // An earlier try may have been stored without its answer reaching us: then the stream's last
                // message is this one. Anything else is another writer.
                let state = try retrying(stopping, "reading stream \(configuration.stream)") { () throws in
                    try jetStream.streamState(configuration.stream)
                }
                if state?.lastSequence == sequence,
                    let stored = try jetStream.message(stream: configuration.stream, sequence: sequence, headers: ["Nats-Msg-Id"]),
                    stored.headers["Nats-Msg-Id"] == messageID(sequence)
                {
                    progress.stored.store(sequence, ordering: .releasing)
                    return
                }
                let last = state?.lastSequence ?? 0
                if last < sequence - 1 {
                    throw Refusal(
                        description:
                            "stream \(configuration.stream) ends at sequence \(last) but the journal's next event is \(sequence): events \(last + 1)…\(sequence - 1) are no longer in the journal (retention removed them), so the stream cannot be the journal")
                }
                throw Refusal(
                    description: "stream \(configuration.stream) is at sequence \(last), not \(sequence - 1): another writer publishes into it")
            } catch let error as NATSError where error.isTransient {
                progress.retries.add(1, ordering: .relaxed)
                logger.warning("bridge.publish.retry", metadata: ["sequence": "\(sequence)", "error": "\(error)"])
                if stopping.isSet { throw Stopped() }
                usleep(100_000)
            }
        }
    }

    /// Runs `body` until it succeeds or fails for a reason that is not transient; stops when `stopping` is set.
    func retrying<T>(_ stopping: StopSignal, _ what: String, _ body: () throws -> T) throws -> T {
        try stopping.retrying(what, logger: logger, event: "bridge.retry", pause: 100_000, stopped: { _ in Stopped() }, body)
    }

    /// `<prefix>.<kind>.<utility>.<site>` for an event's canonical JSON; a missing or unusable token is `_`.
    public static func subject(prefix: String, event: [UInt8]) -> String {
        let decoded = try? EventCodec.decode(event)
        let kind = decoded?.kind.rawValue
        return [prefix, token(kind), token(decoded?.utility?.rawValue), token(decoded?.site)].joined(separator: ".")
    }

    /// The same subject from a stored event's topic (`<kind>/<utility>/<community>/`, `-` for an absent segment),
    /// without decoding the event: what a broker writing its journal of record uses.
    public static func subject(prefix: String, topic: [UInt8]) -> String {
        var subject = prefix
        for segment in topic.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).prefix(3) {
            let text = String(decoding: segment, as: UTF8.self)
            subject += "." + token(text == Topic.absent ? nil : text)
        }
        return subject
    }

    /// `text` with every character NATS names and subject tokens do not take made `_`; `_` for nothing.
    static func token(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "_" }
        return String(text.map { isTokenCharacter($0) ? $0 : "_" })
    }

    /// ASCII letters, digits, `-` and `_`: what a hub's name, a stream's name and a subject token are made of here.
    public static func isTokenCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "-" || character == "_")
    }
}
