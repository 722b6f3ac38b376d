import ConduitAggregator
import ConduitBroker
import ConduitCore
import ConduitState
import Foundation
import Synchronization

/// What the demo shows while it runs: the aggregator's state in the live view as it changes, and what it counted
/// on the way for the summary.
final class DemoDisplay: Sendable {
    struct Counts: Sendable {
        var events = 0
        var byKind: [String: Int] = [:]
        var raised = 0
        var cleared = 0
        var raisedByKind: [String: Int] = [:]
    }

    private struct Shown: ~Copyable {
        var view: LiveView
        var state: AggregateState?
        var counts = Counts()
    }

    private let shown: Mutex<Shown>

    /// - Parameter interactive: redraw the live view in place (a terminal), or print plain lines; `nil`: redraw
    ///   when standard output is a terminal.
    init(scenario: Scenario, interactive: Bool?) {
        shown = Mutex(Shown(view: LiveView(
            scenario: scenario, interactive: interactive, timeZone: TimeZone(identifier: "Asia/Shanghai") ?? .current,
            rollupEvery: 100, rollupInterval: .seconds(5))))
    }

    var latestState: AggregateState? { shown.withLock { $0.state } }
    var counts: Counts { shown.withLock { $0.counts } }

    func begin(header: String, endpoints: BrokerEndpoints, snapshot: String) {
        print(header)
        print("broker: ingest \(endpoints.ingest), fanout \(endpoints.fanout), query \(endpoints.query); aggregator snapshot \(snapshot)")
        fflush(nil)
    }

    /// Called on the aggregator's thread.
    func update(_ update: AggregatorUpdate) {
        shown.withLock { shown in
            shown.state = update.state
            shown.counts.events += update.events.count
            for event in update.events { shown.counts.byKind[event.kind.rawValue, default: 0] += 1 }
            for change in update.alertChanges {
                if change.status == .raised {
                    shown.counts.raised += 1
                    shown.counts.raisedByKind[change.kind.rawValue, default: 0] += 1
                } else {
                    shown.counts.cleared += 1
                }
            }
            shown.view.update(state: update.state, newEvents: update.events, alertChanges: update.alertChanges)
        }
    }

    /// The last frame (or roll-up), then the summary below it.
    func finish(state: AggregateState?, summary: [String]) {
        shown.withLock { shown in
            if let state { shown.view.finish(state: state) }
        }
        print("")
        print(summary.joined(separator: "\n"))
        fflush(nil)
    }
}
