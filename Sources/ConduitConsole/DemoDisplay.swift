import ConduitAggregator
import ConduitBroker
import ConduitCore
import ConduitState
import Foundation
import Synchronization

/// What the demo shows while it runs: the aggregator's state in the live view as it changes, and what it counted
/// on the way for the summary.
public final class DemoDisplay: Sendable {
    /// What the aggregator reported while the demo ran.
    public struct Counts: Sendable {
        /// Events folded.
        public var events = 0
        /// Events folded, by kind.
        public var byKind: [String: Int] = [:]
        /// Alerts raised.
        public var raised = 0
        /// Alerts cleared.
        public var cleared = 0
    }

    private struct Shown: ~Copyable {
        var view: LiveView
        var state: AggregateState?
        var counts = Counts()
    }

    private let shown: Mutex<Shown>

    /// - Parameter interactive: redraw the live view in place (a terminal), or print plain lines; `nil`: redraw
    ///   when standard output is a terminal.
    public init(scenario: Scenario, interactive: Bool?) {
        shown = Mutex(Shown(view: LiveView(
            scenario: scenario, interactive: interactive, timeZone: TimeZone(identifier: "Asia/Shanghai") ?? .current,
            rollupEvery: 100, rollupInterval: .seconds(5))))
    }

    /// The state of the aggregator's last update, if any.
    public var latestState: AggregateState? { shown.withLock { $0.state } }
    /// What was counted so far.
    public var counts: Counts { shown.withLock { $0.counts } }

    /// Prints the header and where the broker and aggregator listen.
    public func begin(header: String, endpoints: BrokerEndpoints, snapshot: String) {
        print(header)
        print("broker: ingest \(endpoints.ingest), fanout \(endpoints.fanout), query \(endpoints.query); aggregator snapshot \(snapshot)")
        fflush(nil)
    }

    /// Shows an update of the aggregator and counts it. Called on the aggregator's thread.
    public func update(_ update: AggregatorUpdate) {
        shown.withLock { shown in
            shown.state = update.state
            shown.counts.events += update.events.count
            for event in update.events { shown.counts.byKind[event.kind.rawValue, default: 0] += 1 }
            for change in update.alertChanges {
                if change.status == .raised {
                    shown.counts.raised += 1
                } else {
                    shown.counts.cleared += 1
                }
            }
            shown.view.update(state: update.state, newEvents: update.events, alertChanges: update.alertChanges)
        }
    }

    /// The last frame (or roll-up), then the summary below it.
    public func finish(state: AggregateState?, summary: [String]) {
        shown.withLock { shown in
            if let state { shown.view.finish(state: state) }
        }
        print("")
        print(summary.joined(separator: "\n"))
        fflush(nil)
    }
}
