import CNATS
import Glibc
import Synchronization

/// What NATS or JetStream answered when a call did not succeed: the client's status, JetStream's error code when
/// the server gave one, and the client's text.
public struct NATSError: Error, CustomStringConvertible, Sendable {
    /// The libnats status (`natsStatus`).
    public var status: Int32
    /// JetStream's error code (`10071`: wrong last sequence), or 0.
    public var jetStreamCode: Int
    public var message: String

    public var description: String {
        jetStreamCode == 0 ? message : "\(message) (JetStream error \(jetStreamCode))"
    }

    /// The stream's last sequence was not the one the publication expected: another writer got there first, or
    /// this one is behind.
    public var isWrongLastSequence: Bool { jetStreamCode == Int(JSStreamWrongLastSequenceErr.rawValue) }
    /// No stream of that name.
    public var isStreamNotFound: Bool { jetStreamCode == Int(JSStreamNotFoundErr.rawValue) }
    /// No message at that sequence.
    public var isNoMessage: Bool { jetStreamCode == Int(JSNoMessageFoundErr.rawValue) || status == Int32(NATS_NOT_FOUND.rawValue) }
    /// The server did not answer in time, the connection is down, or a cluster has no leader or not enough peers
    /// yet: the call may be tried again.
    public var isTransient: Bool {
        let statuses = [NATS_TIMEOUT, NATS_CONNECTION_CLOSED, NATS_NO_SERVER, NATS_NO_RESPONDERS, NATS_CONNECTION_DISCONNECTED, NATS_STALE_CONNECTION]
        let codes = [JSClusterNotAvailErr, JSClusterNotLeaderErr, JSClusterNoPeersErr, JSInsufficientResourcesErr, JSClusterIncompleteErr]
        // Key-value calls report JetStream's answer as text only.
        let texts = ["no suitable peers", "temporarily unavailable", "insufficient resources", "timeout"]
        return statuses.contains { status == Int32($0.rawValue) } || codes.contains { jetStreamCode == Int($0.rawValue) }
            || texts.contains { message.lowercased().contains($0) }
    }

    init(_ status: natsStatus, code: jsErrCode = jsErrCode(rawValue: 0), doing what: String) {
        self.status = Int32(status.rawValue)
        jetStreamCode = Int(code.rawValue)
        var detail = String(cString: natsStatus_GetText(status))
        var last = NATS_OK
        if let text = nats_GetLastError(&last), last == status, !String(cString: text).isEmpty { detail = String(cString: text) }
        message = "\(what): \(detail)"
    }
}

@inline(__always)
func check(_ status: natsStatus, _ what: @autoclosure () -> String) throws(NATSError) {
    guard status == NATS_OK else { throw NATSError(status, doing: what()) }
}

@inline(__always)
func check(_ status: natsStatus, code: jsErrCode, _ what: @autoclosure () -> String) throws(NATSError) {
    guard status == NATS_OK else { throw NATSError(status, code: code, doing: what()) }
}

/// A connection to a NATS server or cluster (libnats reconnects by itself, to any of `servers`).
public final class NATSConnection {
    let connection: OpaquePointer

    /// Connects to the first of `servers` (`nats://host:port`) that answers, within `timeoutMilliseconds`.
    /// Once connected, libnats reconnects on its own for ever (every `reconnectWaitMilliseconds`).
    public init(servers: [String], name: String, timeoutMilliseconds: Int64 = 5000, reconnectWaitMilliseconds: Int64 = 250) throws(NATSError) {
        var options: OpaquePointer?
        try check(natsOptions_Create(&options), "cannot make NATS options")
        defer { natsOptions_Destroy(options) }
        let copies = servers.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
        try check(natsOptions_SetServers(options, &pointers, Int32(pointers.count)), "bad NATS server list \(servers)")
        try check(natsOptions_SetName(options, name), "bad NATS client name")
        try check(natsOptions_SetTimeout(options, timeoutMilliseconds), "bad NATS timeout")
        try check(natsOptions_SetMaxReconnect(options, -1), "bad NATS reconnect setting")
        try check(natsOptions_SetReconnectWait(options, reconnectWaitMilliseconds), "bad NATS reconnect wait")
        var connection: OpaquePointer?
        try check(natsConnection_Connect(&connection, options), "cannot connect to NATS at \(servers.joined(separator: ","))")
        self.connection = connection!
    }

    /// A JetStream context whose API requests wait up to `waitMilliseconds` for an answer.
    public func jetStream(waitMilliseconds: Int64 = 5000) throws(NATSError) -> JetStream {
        var options = jsOptions()
        try check(jsOptions_Init(&options), "cannot make JetStream options")
        options.Wait = waitMilliseconds
        var context: OpaquePointer?
        try check(natsConnection_JetStream(&context, connection, &options), "cannot make a JetStream context")
        return JetStream(context: context!, connection: self)
    }

    /// The server the connection is on now (`nats://host:port`), or `nil` while disconnected.
    public var connectedURL: String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard natsConnection_GetConnectedUrl(connection, &buffer, buffer.count) == NATS_OK, buffer[0] != 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        natsConnection_Close(connection)
        natsConnection_Destroy(connection)
    }
}

/// How a stream is made: its name, subjects, replicas and the window in which message ids are deduplicated.
public struct StreamConfiguration: Sendable {
    public var name: String
    public var subjects: [String]
    /// 1, or 3 on a cluster (R3).
    public var replicas: Int
    /// The window in which a publication with a message id already stored is answered as a duplicate.
    public var duplicateWindowSeconds: Int
    /// Streams whose messages this one copies in (JetStream sources), for a stream that gathers others.
    public var sources: [String]

    public init(name: String, subjects: [String], replicas: Int = 1, duplicateWindowSeconds: Int = 120, sources: [String] = []) {
        self.name = name
        self.subjects = subjects
        self.replicas = replicas
        self.duplicateWindowSeconds = duplicateWindowSeconds
        self.sources = sources
    }
}

/// A stream's messages as the server counts them.
public struct StreamState: Sendable, Equatable {
    public var messages: UInt64
    public var firstSequence: UInt64
    public var lastSequence: UInt64

    public init(messages: UInt64, firstSequence: UInt64, lastSequence: UInt64) {
        self.messages = messages
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
    }
}

/// JetStream's answer to a publication: stored as `sequence` of `stream`, or (`duplicate`) already stored.
public struct PublishAcknowledgement: Sendable, Equatable {
    public var stream: String
    public var sequence: UInt64
    public var duplicate: Bool
}

/// A message as a stream holds it.
public struct StoredMessage: Sendable {
    public var subject: String
    public var data: [UInt8]
    /// The headers asked for that the message has.
    public var headers: [String: String]
}

/// The JetStream API this package uses: streams, publications with a message id and an expected last sequence,
/// and messages read back by sequence. Calls block until the server answers (or the context's wait ends).
public final class JetStream {
    let context: OpaquePointer
    let connection: NATSConnection

    init(context: OpaquePointer, connection: NATSConnection) {
        self.context = context
        self.connection = connection
    }

    deinit { jsCtx_Destroy(context) }

    /// Makes the stream, or answers the existing one's state if it is already there with the same configuration.
    @discardableResult
    public func addStream(_ configuration: StreamConfiguration) throws(NATSError) -> StreamState {
        var config = jsStreamConfig()
        try check(jsStreamConfig_Init(&config), "cannot make a stream configuration")
        let name = strdup(configuration.name)
        let subjects = configuration.subjects.map { UnsafePointer(strdup($0)) }
        let sourceNames = configuration.sources.map { strdup($0) }
        defer {
            free(name)
            subjects.forEach { free(UnsafeMutablePointer(mutating: $0)) }
            sourceNames.forEach { free($0) }
        }
        var sources = sourceNames.map { source -> jsStreamSource in
            var entry = jsStreamSource()
            entry.Name = UnsafePointer(source)
            return entry
        }
        var subjectPointers: [UnsafePointer<CChar>?] = subjects
        var status = NATS_OK
        var code = jsErrCode(rawValue: 0)
        var info: UnsafeMutablePointer<jsStreamInfo>?
        sources.withUnsafeMutableBufferPointer { sourceBuffer in
            var sourcePointers: [UnsafeMutablePointer<jsStreamSource>?] = (0..<sourceBuffer.count).map { sourceBuffer.baseAddress! + $0 }
            subjectPointers.withUnsafeMutableBufferPointer { subjectBuffer in
                sourcePointers.withUnsafeMutableBufferPointer { sourcePointerBuffer in
                    config.Name = UnsafePointer(name)
                    config.Subjects = subjectBuffer.isEmpty ? nil : subjectBuffer.baseAddress
                    config.SubjectsLen = Int32(subjectBuffer.count)
                    config.Sources = sourcePointerBuffer.isEmpty ? nil : sourcePointerBuffer.baseAddress
                    config.SourcesLen = Int32(sourcePointerBuffer.count)
                    config.Storage = js_FileStorage
                    config.Replicas = Int64(configuration.replicas)
                    config.Duplicates = Int64(configuration.duplicateWindowSeconds) * 1_000_000_000
                    status = js_AddStream(&info, context, &config, nil, &code)
                }
            }
        }
        try check(status, code: code, "cannot make stream \(configuration.name)")
        defer { jsStreamInfo_Destroy(info) }
        return Self.state(info!.pointee.State)
    }

    /// The stream's state, or `nil` if there is no stream of that name.
    public func streamState(_ name: String) throws(NATSError) -> StreamState? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(rawValue: 0)
        let status = js_GetStreamInfo(&info, context, name, nil, &code)
        if status == NATS_NOT_FOUND || code == JSStreamNotFoundErr { return nil }
        try check(status, code: code, "cannot read stream \(name)")
        defer { jsStreamInfo_Destroy(info) }
        return Self.state(info!.pointee.State)
    }

    /// Deletes the stream and its messages.
    public func deleteStream(_ name: String) throws(NATSError) {
        var code = jsErrCode(rawValue: 0)
        try check(js_DeleteStream(context, name, nil, &code), code: code, "cannot delete stream \(name)")
    }

    /// Publishes `payload` on `subject` with `headers` (`Nats-Msg-Id`, `Nats-Expected-Last-Sequence`, … are
    /// JetStream's own) and waits for the stream's acknowledgement.
    public func publish(subject: String, payload: [UInt8], headers: [(String, String)] = []) throws(NATSError) -> PublishAcknowledgement {
        var message: OpaquePointer?
        let created = payload.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { natsMsg_Create(&message, subject, nil, $0.baseAddress, Int32($0.count)) }
        }
        try check(created, "cannot make a message on \(subject)")
        defer { natsMsg_Destroy(message) }
        for (key, value) in headers {
            try check(natsMsgHeader_Set(message, key, value), "cannot set header \(key)")
        }
        var acknowledgement: UnsafeMutablePointer<jsPubAck>?
        var code = jsErrCode(rawValue: 0)
        try check(js_PublishMsg(&acknowledgement, context, message, nil, &code), code: code, "JetStream did not store the message on \(subject)")
        defer { jsPubAck_Destroy(acknowledgement) }
        let answer = acknowledgement!.pointee
        return PublishAcknowledgement(stream: String(cString: answer.Stream), sequence: answer.Sequence, duplicate: answer.Duplicate)
    }

    /// The message stored at `sequence` of `stream` with the `headers` asked for, or `nil` if there is none.
    public func message(stream: String, sequence: UInt64, headers: [String] = []) throws(NATSError) -> StoredMessage? {
        var message: OpaquePointer?
        var code = jsErrCode(rawValue: 0)
        let status = js_GetMsg(&message, context, stream, sequence, nil, &code)
        if status == NATS_NOT_FOUND || code == JSNoMessageFoundErr { return nil }
        try check(status, code: code, "cannot read message \(sequence) of stream \(stream)")
        defer { natsMsg_Destroy(message) }
        let length = Int(natsMsg_GetDataLength(message))
        var data: [UInt8] = []
        if length > 0, let bytes = natsMsg_GetData(message) {
            data = bytes.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
        }
        var found: [String: String] = [:]
        for key in headers {
            var value: UnsafePointer<CChar>?
            if natsMsgHeader_Get(message, key, &value) == NATS_OK, let value { found[key] = String(cString: value) }
        }
        return StoredMessage(subject: String(cString: natsMsg_GetSubject(message)), data: data, headers: found)
    }

    static func state(_ state: jsStreamState) -> StreamState {
        StreamState(messages: state.Msgs, firstSequence: state.FirstSeq, lastSequence: state.LastSeq)
    }
}

/// A message to publish: subject, payload and headers. Its `Nats-Msg-Id` header names it in the answers of
/// ``PipelinedPublisher/publish(_:timeoutMilliseconds:)``.
public struct OutgoingMessage: Sendable {
    public var subject: String
    public var payload: [UInt8]
    public var headers: [(String, String)]

    public init(subject: String, payload: [UInt8], headers: [(String, String)]) {
        self.subject = subject
        self.payload = payload
        self.headers = headers
    }
}

/// Publishes many messages without waiting for each answer (libnats's asynchronous publications), then waits for
/// every answer: one round trip for a whole batch instead of one per message. JetStream handles a connection's
/// publications in the order they were sent, so a batch whose messages each expect the previous one's sequence is
/// stored whole and in order, or from the first refused message on not at all.
public final class PipelinedPublisher {
    let context: OpaquePointer
    let connection: NATSConnection
    private let answers: Answers

    /// The answers of the batch being published, filled on libnats's thread.
    final class Answers: @unchecked Sendable {
        struct Answer {
            var acknowledgement: PublishAcknowledgement?
            var error: NATSError?
        }
        let lock = Mutex<[String: Answer]>([:])
    }

    public init(connection: NATSConnection, maximumPending: Int = 4096) throws(NATSError) {
        self.connection = connection
        answers = Answers()
        var options = jsOptions()
        try check(jsOptions_Init(&options), "cannot make JetStream options")
        options.PublishAsync.MaxPending = Int64(maximumPending)
        options.PublishAsync.AckHandler = { _, message, acknowledgement, failure, closure in
            defer { natsMsg_Destroy(message) }
            guard let closure, let message else { return }
            let answers = Unmanaged<Answers>.fromOpaque(closure).takeUnretainedValue()
            var value: UnsafePointer<CChar>?
            guard natsMsgHeader_Get(message, "Nats-Msg-Id", &value) == NATS_OK, let value else { return }
            var answer = Answers.Answer()
            if let acknowledgement {
                let ack = acknowledgement.pointee
                answer.acknowledgement = PublishAcknowledgement(
                    stream: ack.Stream.map { String(cString: $0) } ?? "", sequence: ack.Sequence, duplicate: ack.Duplicate)
            } else if let failure {
                var error = NATSError(failure.pointee.Err, code: failure.pointee.ErrCode, doing: "JetStream did not store the message")
                if let text = failure.pointee.ErrText { error.message = "JetStream did not store the message: \(String(cString: text))" }
                answer.error = error
            }
            let id = String(cString: value)
            answers.lock.withLock { $0[id] = answer }
        }
        options.PublishAsync.AckHandlerClosure = Unmanaged.passUnretained(answers).toOpaque()
        var context: OpaquePointer?
        try check(natsConnection_JetStream(&context, connection.connection, &options), "cannot make a JetStream context")
        self.context = context!
    }

    deinit { jsCtx_Destroy(context) }

    /// Publishes `messages` (each with its own `Nats-Msg-Id`) and waits up to `timeoutMilliseconds` for all their
    /// answers. Returns the acknowledgements in the order of `messages`; throws the first message's error when one
    /// was refused or went unanswered (later ones may have been stored or not: read the stream to know).
    public func publish(_ messages: [OutgoingMessage], timeoutMilliseconds: Int64 = 5000) throws(NATSError) -> [PublishAcknowledgement] {
        answers.lock.withLock { $0.removeAll(keepingCapacity: true) }
        var ids: [String] = []
        ids.reserveCapacity(messages.count)
        for outgoing in messages {
            var message: OpaquePointer?
            let created = outgoing.payload.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { natsMsg_Create(&message, outgoing.subject, nil, $0.baseAddress, Int32($0.count)) }
            }
            try check(created, "cannot make a message on \(outgoing.subject)")
            var id = ""
            for (key, value) in outgoing.headers {
                if key == "Nats-Msg-Id" { id = value }
                let status = natsMsgHeader_Set(message, key, value)
                if status != NATS_OK {
                    natsMsg_Destroy(message)
                    throw NATSError(status, doing: "cannot set header \(key)")
                }
            }
            ids.append(id)
            let status = js_PublishMsgAsync(context, &message, nil)
            if status != NATS_OK {
                natsMsg_Destroy(message)
                drainPending()
                throw NATSError(status, doing: "cannot publish on \(outgoing.subject)")
            }
        }
        var options = jsPubOptions()
        try check(jsPubOptions_Init(&options), "cannot make publish options")
        options.MaxWait = timeoutMilliseconds
        let completed = js_PublishAsyncComplete(context, &options)
        if completed != NATS_OK { drainPending() }
        let found = answers.lock.withLock { $0 }
        var acknowledgements: [PublishAcknowledgement] = []
        acknowledgements.reserveCapacity(ids.count)
        for id in ids {
            guard let answer = found[id] else {
                throw NATSError(completed == NATS_OK ? NATS_TIMEOUT : completed, doing: "JetStream did not answer publication \(id) in time")
            }
            if let error = answer.error { throw error }
            if let acknowledgement = answer.acknowledgement { acknowledgements.append(acknowledgement) }
        }
        return acknowledgements
    }

    /// Forgets publications still waiting for an answer (after a timeout), so the next batch starts clean.
    private func drainPending() {
        var pending = natsMsgList()
        if js_PublishAsyncGetPendingList(&pending, context) == NATS_OK { natsMsgList_Destroy(&pending) }
    }
}

/// A key of a JetStream key-value bucket, written only by compare-and-set on its revision: what a lease is built on.
public final class KeyValueBucket {
    let store: OpaquePointer
    let jetStream: JetStream

    /// Opens bucket `name`, making it (with `replicas` and a history of one) if it is missing.
    public init(_ jetStream: JetStream, name: String, replicas: Int = 1) throws(NATSError) {
        self.jetStream = jetStream
        var store: OpaquePointer?
        let status = js_KeyValue(&store, jetStream.context, name)
        if status == NATS_OK {
            self.store = store!
            return
        }
        var config = kvConfig()
        try check(kvConfig_Init(&config), "cannot make a bucket configuration")
        let bucket = strdup(name)
        defer { free(bucket) }
        config.Bucket = UnsafePointer(bucket)
        config.History = 1
        config.Replicas = Int32(replicas)
        config.StorageType = js_FileStorage
        try check(js_CreateKeyValue(&store, jetStream.context, &config), "cannot make key-value bucket \(name)")
        self.store = store!
    }

    deinit { kvStore_Destroy(store) }

    /// A key's value and revision (`nil` when the key is absent or deleted).
    public struct Entry: Sendable, Equatable {
        public var value: String
        public var revision: UInt64
    }

    public func get(_ key: String) throws(NATSError) -> Entry? {
        var entry: OpaquePointer?
        let status = kvStore_Get(&entry, store, key)
        if status == NATS_NOT_FOUND { return nil }
        try check(status, "cannot read key \(key)")
        defer { kvEntry_Destroy(entry) }
        return Entry(value: String(cString: kvEntry_ValueString(entry)), revision: kvEntry_Revision(entry))
    }

    /// Writes `key` only if it is absent (or deleted); answers the new revision, or `nil` if it exists.
    public func create(_ key: String, value: String) throws(NATSError) -> UInt64? {
        var revision: UInt64 = 0
        let status = kvStore_CreateString(&revision, store, key, value)
        if status == NATS_OK { return revision }
        if Self.isRevisionMismatch(status) { return nil }
        throw NATSError(status, doing: "cannot create key \(key)")
    }

    /// Writes `key` only if its revision is still `revision`; answers the new revision, or `nil` if it moved on.
    public func update(_ key: String, value: String, revision: UInt64) throws(NATSError) -> UInt64? {
        var next: UInt64 = 0
        let status = kvStore_UpdateString(&next, store, key, value, revision)
        if status == NATS_OK { return next }
        if Self.isRevisionMismatch(status) { return nil }
        throw NATSError(status, doing: "cannot update key \(key)")
    }

    /// A refused compare-and-set: libnats reports JetStream's "wrong last sequence" as an error status.
    static func isRevisionMismatch(_ status: natsStatus) -> Bool {
        var last = NATS_OK
        guard status == NATS_ERR, let text = nats_GetLastError(&last) else { return false }
        let message = String(cString: text)
        return message.contains("wrong last sequence") || message.contains("10071") || message.contains("key exists")
    }
}
