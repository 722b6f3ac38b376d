import ConduitCore
import ConduitJournal
import ConduitState
import NATS

/// Several hubs' journals, gathered in one JetStream stream (a province's stream that sources each county's, as
/// `conduit bridge nats` writes them), folded into one state per hub, each under its own plan, and rolled up.
public enum ProvinceView {
    /// One hub's part of the province: its events folded in sequence order under the plans its journal states.
    public struct Hub: Sendable {
        /// The hub's name, from its events' message ids (`<hub>:<sequence>`).
        public var name: String
        public var state: AggregateState
        /// How many of its events the stream holds, and the last of their sequences.
        public var events: Int
        public var lastSequence: UInt64
    }

    /// Why a stream cannot be folded.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Makes a province's stream: every county stream in `counties` sourced into `name`.
    @discardableResult
    public static func makeStream(_ jetStream: JetStream, name: String, counties: [String], replicas: Int = 1) throws -> StreamState {
        try jetStream.addStream(StreamConfiguration(name: name, subjects: [], replicas: replicas, sources: counties))
    }

    /// Reads every message of `stream` (from its first sequence) and folds each hub's events, in that hub's sequence
    /// order, into a state of its own. A hub's events must follow each other without a gap (as a county stream holds
    /// them); `progress` hears how many messages have been read.
    public static func fold(_ jetStream: JetStream, stream: String, progress: (UInt64) -> Void = { _ in }) throws -> [Hub] {
        var hubs: [String: Hub] = [:]
        var order: [String] = []
        try forEachEvent(jetStream, stream: stream, progress: progress) { name, hubSequence, event, _ in
            if hubs[name] == nil {
                hubs[name] = Hub(name: name, state: AggregateState(scenario: .default), events: 0, lastSequence: 0)
                order.append(name)
            }
            try follows(hubSequence, hubs[name]!.lastSequence, hub: name, stream: stream)
            _ = hubs[name]!.state.apply(event)
            hubs[name]!.events += 1
            hubs[name]!.lastSequence = hubSequence
        }
        return order.compactMap { hubs[$0] }
    }

    /// Copies hub `hub`'s events from `stream` into the journal at `directory` (made if missing), under their own
    /// sequences and recorded times, after those it already holds: a local journal that `conduit state`, `replay`,
    /// `incident` and `ledger` read as they read the hub's. Answers how many events were added and the journal's
    /// last sequence.
    /// With `fromStreamSequence`, messages of the stream before it are not read (for a hub's own stream, whose
    /// sequences are the hub's: the journal's next sequence).
    public static func fetch(
        _ jetStream: JetStream, stream: String, hub: String, into directory: String, fromStreamSequence: UInt64? = nil,
        progress: (UInt64) -> Void = { _ in }
    ) throws -> (added: Int, lastSequence: UInt64) {
        guard try jetStream.streamState(stream) != nil else { throw Failure(description: "there is no stream \(stream)") }
        let (journal, _) = try Journal.open(directory: directory)
        defer { try? journal.close() }
        let (added, last, _) = try append(
            jetStream, stream: stream, hub: hub, to: journal, fromStreamSequence: fromStreamSequence, progress: progress)
        return (added, last)
    }

    /// Appends hub `hub`'s events of `stream` that follow `journal`'s last one to it (see
    /// ``fetch(_:stream:hub:into:fromStreamSequence:progress:)``). With `checkingLast`, the hub's event of the
    /// journal's last sequence, if the stream has it, must be the journal's last record (a copy of the stream, not
    /// another journal). Answers how many events were added, the journal's last sequence and the last stream
    /// sequence read.
    @discardableResult
    static func append(
        _ jetStream: JetStream, stream: String, hub: String, to journal: Journal, fromStreamSequence: UInt64?,
        checkingLast: Bool = false, progress: (UInt64) -> Void = { _ in }
    ) throws -> (added: Int, lastSequence: UInt64, position: UInt64) {
        var last = journal.lastSequence
        let initialLast = last
        let ending = checkingLast && last > 0 ? try journal.reader(from: last).next()?.event : nil
        var added = 0
        var records: [JournalRecord] = []
        func flush() throws {
            guard !records.isEmpty else { return }
            try journal.append(records)
            added += records.count
            records.removeAll(keepingCapacity: true)
        }
        let position = try forEachEvent(jetStream, stream: stream, only: hub, from: fromStreamSequence, progress: progress) {
            _, hubSequence, event, bytes, _ in
            if hubSequence == initialLast, let ending, ending != bytes {
                throw Failure(
                    description:
                        "the journal in \(journal.directory) is not a copy of hub \(hub)'s events in \(stream): its event \(hubSequence) differs (give it a directory of its own)")
            }
            guard hubSequence > last else { return }
            try follows(hubSequence, last, hub: hub, stream: stream)
            guard let recorded = event.recordedTime, event.sequence == hubSequence else {
                throw Failure(description: "\(hub):\(hubSequence) in \(stream) is not a stored event: it lacks its sequence or recorded time")
            }
            records.append(JournalRecord(sequence: hubSequence, recordedTime: recorded.microsecondsSinceEpoch, topic: event.topic, event: bytes))
            last = hubSequence
            if records.count == 1000 { try flush() }
        }
        try flush()
        return (added, last, position)
    }

    /// Each message of `stream` that is a hub's event, in the stream's order: the hub, the event's sequence in its
    /// hub's journal (from the message id `<hub>:<sequence>`), the event and its bytes. With `only`, messages of
    /// other hubs (or with no hub's id) are skipped undecoded; without, a message that is no hub's event is refused.
    static func forEachEvent(
        _ jetStream: JetStream, stream: String, only: String? = nil, from: UInt64? = nil, progress: (UInt64) -> Void,
        _ body: (_ hub: String, _ hubSequence: UInt64, _ event: Event, _ bytes: [UInt8]) throws -> Void
    ) throws {
        _ = try forEachEvent(jetStream, stream: stream, only: only, from: from, progress: progress) { hub, hubSequence, event, bytes, _ in
            try body(hub, hubSequence, event, bytes)
        }
    }

    /// ``forEachEvent(_:stream:only:from:progress:_:)`` with each message's stream sequence; answers the last stream
    /// sequence read (the stream's last when it was asked), or `from − 1` when there was nothing to read.
    static func forEachEvent(
        _ jetStream: JetStream, stream: String, only: String? = nil, from: UInt64? = nil, progress: (UInt64) -> Void,
        _ body: (_ hub: String, _ hubSequence: UInt64, _ event: Event, _ bytes: [UInt8], _ streamSequence: UInt64) throws -> Void
    ) throws -> UInt64 {
        guard let state = try jetStream.streamState(stream) else { throw Failure(description: "there is no stream \(stream)") }
        var sequence = max(state.firstSequence, from ?? 0)
        let read = max(state.lastSequence, sequence > 0 ? sequence - 1 : 0)
        while sequence > 0 && sequence <= state.lastSequence {
            defer { sequence += 1 }
            if sequence % 1000 == 0 { progress(sequence) }
            guard let message = try jetStream.message(stream: stream, sequence: sequence, headers: ["Nats-Msg-Id"]) else { continue }
            let id = message.headers["Nats-Msg-Id"] ?? ""
            guard let colon = id.lastIndex(of: ":"), let hubSequence = UInt64(id[id.index(after: colon)...]),
                only == nil || id[..<colon] == only![...]
            else {
                if only != nil { continue }
                throw Failure(description: "message \(sequence) of \(stream) is not a hub's event: its id is \(id.isEmpty ? "missing" : id)")
            }
            let event: Event
            do { event = try EventCodec.decode(message.data) } catch {
                throw Failure(description: "message \(sequence) of \(stream) (\(id)) is not an event: \(error)")
            }
            try body(String(id[..<colon]), hubSequence, event, message.data, sequence)
        }
        return read
    }

    /// Refuses an event that does not follow the hub's last one.
    static func follows(_ sequence: UInt64, _ last: UInt64, hub: String, stream: String) throws {
        guard sequence == last + 1 else {
            throw Failure(description: "hub \(hub)'s events in \(stream) go from \(last) to \(sequence): the stream is not its whole journal")
        }
    }
}
