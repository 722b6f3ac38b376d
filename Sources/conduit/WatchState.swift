import ArgumentParser
import ConduitConsole
import ConduitCore
import ConduitReplay
import ConduitState
import Foundation
import ZeroMQ

/// `conduit watch --state`: the aggregate state kept live in this terminal, by the ZeroMQ Guide's Clone pattern.
///
/// It subscribes to the whole fan-out first, then takes a base state: an aggregator's snapshot (`--snapshot`), or
/// the fold of a replay of the journal from sequence 1 through the broker's query endpoint. From then on it applies
/// only live events above the sequence it holds; a sequence that jumps, or a heartbeat announcing a sequence it has
/// not applied, is filled by a replay of the missing range first. Heartbeats move the fold clock (as the aggregator
/// does), so time-based alerts rise and clear while nothing is published.
struct StateWatch {
    var fanout: String
    var query: String
    var snapshot: String?
    var timeZone: TimeZone
    /// Stop after this many events applied (caught up and live).
    var count: Int?
    let context: Context
    let stopping: ReplayCommand.Interruption

    private var stopped: Bool { stopping.flag.load(ordering: .acquiring) }

    func run() throws {
        let subscriber = try Socket(context, type: .sub)
        try subscriber.set(.linger, .zero)
        try subscriber.set(.receiveHighWaterMark, 100_000)
        try subscriber.subscribe()  // everything, heartbeats included: the fold needs every event
        try subscriber.connect(fanout)
        defer { subscriber.close() }

        let view = LiveView(scenario: .default, timeZone: timeZone)
        var session = Session(view: view, count: count)
        defer { view.finish(state: session.state) }

        if let snapshot {
            session.state = try fetchSnapshot(from: snapshot)
            note("snapshot of \(snapshot) at sequence \(session.state.lastSequence)")
            view.update(state: session.state, newEvents: [], alertChanges: [])
        } else {
            try fill(&session, from: 1, to: .max, what: "catch-up")
        }
        if session.isDone || stopped { return }
        note("caught up at sequence \(session.state.lastSequence); live from \(fanout) (Ctrl-C to stop)")

        let poller = Poller()
        poller.add(subscriber)
        while !stopped && !session.isDone {
            do {
                try poller.poll(timeout: .milliseconds(100))
                var taken = 0
                while taken < 1024, !session.isDone, let frames = try subscriber.receiveFrames(wait: false) {
                    taken += 1
                    try receive(frames, &session)
                }
            } catch let error as ZMQError where error.isContextTerminated {
                break  // Ctrl-C shut the context down
            }
            // Draws what an earlier update deferred, and lets a quiet stream still show its roll-up.
            view.update(state: session.state, newEvents: [], alertChanges: [])
        }
    }

    /// The state being shown, and how many events it took.
    struct Session {
        let view: LiveView
        let count: Int?
        var state = AggregateState(scenario: .default)
        var applied = 0

        var isDone: Bool { count.map { applied >= $0 } ?? false }

        mutating func apply(_ event: Event) {
            guard !isDone, let sequence = event.sequence, sequence > state.lastSequence else { return }
            let changes = state.apply(event)
            applied += 1
            view.update(state: state, newEvents: [event], alertChanges: changes)
        }
    }

    private func receive(_ frames: [[UInt8]], _ session: inout Session) throws {
        switch try? FanoutMessage.decode(frames) {
        case .event(_, let record):
            let sequence = record.header.sequence
            guard sequence > session.state.lastSequence else { return }  // already in the base state
            if sequence > session.state.lastSequence + 1 {
                try fill(&session, from: session.state.lastSequence + 1, to: sequence - 1, what: "gap")
            }
            guard let event = try? EventCodec.decode(record.event) else { return }
            session.apply(event)
        case .heartbeat(let latest):
            if latest.sequence > session.state.lastSequence {
                try fill(&session, from: session.state.lastSequence + 1, to: latest.sequence, what: "gap")
            }
            // Like the aggregator: the clock starts with the first event, then heartbeats move it on.
            if let now = session.state.now, latest.recordedTime > now, latest.recordedTime.isWritable {
                let changes = session.state.advance(to: latest.recordedTime)
                session.view.update(state: session.state, newEvents: [], alertChanges: changes)
            }
        case nil:
            return
        }
    }

    /// Folds a replay of `from…to` through the broker's query endpoint. The catch-up must succeed; a gap that cannot
    /// be filled is reported and the live events go on (the fold takes any higher sequence).
    private func fill(_ session: inout Session, from: UInt64, to: UInt64, what: String) throws {
        var selection = ReplaySelection()
        selection.fromSequence = from
        selection.toSequence = to
        do {
            let summary = try BrokerReplay(endpoint: query).events(
                selection, shouldStop: { stopped || session.isDone }
            ) { _, event in session.apply(event) }
            let range = to == .max ? "\(from)…" : "\(from)…\(to)"
            if what == "gap" {
                session.view.note("filled a gap: replayed \(summary.matched) event\(summary.matched == 1 ? "" : "s") of \(range) from \(query)")
            }
            // Say so when the journal could not give the whole range (retention removed the start, the replay ended
            // early): the state lacks those events.
            if let first = summary.firstSequence, first > from {
                session.view.note("! the journal starts at sequence \(first): events \(from)…\(first - 1) are not in this state (try --snapshot of an aggregator)")
            }
            if let notice = summary.notice, to != .max { session.view.note("! \(what) of \(range): \(notice)") }
        } catch {
            if what == "catch-up" {
                throw RuntimeFailure.exit("watch", "cannot catch up from the broker's query endpoint \(query): \(error)", status: RuntimeFailure.unavailable)
            }
            session.view.note("! cannot fill the gap \(from)…\(to) from \(query): \(error)")
        }
    }

    private func fetchSnapshot(from endpoint: String) throws -> AggregateState {
        let socket = try Socket(context, type: .dealer)
        try socket.set(.linger, .zero)
        defer { socket.close() }
        try socket.connect(endpoint)
        try socket.send(frames: SnapshotRequest(request: 1).encode())
        let poller = Poller()
        poller.add(socket)
        guard try poller.poll(timeout: .seconds(10)) > 0, let frames = try socket.receiveFrames(wait: false) else {
            throw RuntimeFailure.exit("watch", "no answer from the aggregator at \(endpoint) within 10 s", status: RuntimeFailure.unavailable)
        }
        switch try SnapshotReply.decode(frames) {
        case .state(_, _, let json):
            return try AggregateState.restore(json: json, scenario: .default)
        case .error(_, let error):
            throw RuntimeFailure.exit("watch", "the aggregator at \(endpoint) answered: \(error)", status: RuntimeFailure.unavailable)
        }
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
