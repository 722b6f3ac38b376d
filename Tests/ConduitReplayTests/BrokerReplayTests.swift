import ConduitCore
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

@testable import ConduitReplay

@Suite(.timeLimit(.minutes(5)))
struct BrokerReplayTests {
    @Test func throughTheBrokerTheOutputIsTheSameAsFromTheJournal() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for index in 1...40 {
            let event = index % 2 == 1 ? SampleEvents.progress(id: "p\(index)") : SampleEvents.outage(id: "o\(index)")
            try agent.publish(event, correlation: UInt64(index))
        }
        for _ in 1...40 { _ = try agent.ingestReply() }

        for selection in [ReplaySelection(), { var s = ReplaySelection(); s.kinds = [.outage]; s.fromSequence = 5; return s }()] {
            for format in ReplayFormat.allCases {
                let writer = ReplayWriter(format: format, timeZone: TimeZone(identifier: "UTC")!)
                var viaBroker: [UInt8] = []
                let brokerSummary = try BrokerReplay(endpoint: broker.endpoints.query).run(
                    selection, writer: writer, emit: { viaBroker += $0 })
                var offline: [UInt8] = []
                let offlineSummary = try OfflineReplay(directory: broker.directory.appending("journal")).run(
                    selection, writer: writer, emit: { offline += $0 })
                #expect(viaBroker == offline, "\(format)")
                #expect(brokerSummary.matched == offlineSummary.matched)
                #expect(brokerSummary.matched > 0)
            }
        }

        var beyond = ReplaySelection()
        beyond.fromSequence = 1000
        let summary = try BrokerReplay(endpoint: broker.endpoints.query).run(
            beyond, writer: ReplayWriter(format: .jsonl), emit: { _ in })
        #expect(summary.matched == 0)
        #expect(summary.notice?.contains("after the journal's last event (41)") == true)
    }
}
