import ConduitTesting
import Foundation
import Testing

/// `conduit bench transport` always finishes: its C and Swift DEALER→ROUTER loops once closed the ROUTER with
/// linger 0 right after its last acknowledgements, which could discard them and leave the DEALER waiting for ever.
@Suite(.timeLimit(.minutes(10)))
struct BenchTransportCommandTests {
    @Test func everyLoopFinishesRunAfterRun() throws {
        // A window as large as the run: the ROUTER sends its last acknowledgement the moment it has read the last
        // message, the case that lost them.
        let outcome = try ChildProcess.conduit(
            ["bench", "transport", "--messages", "1000", "--window", "1000", "--runs", "30", "--json"], timeout: 400)
        #expect(outcome.status == 0, "\(outcome.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        let figures = try #require(report["figures"] as? [String: [String: Any]])
        for name in ["dealer_router_acked_c", "dealer_router_acked_swift", "pub_sub_c", "pub_sub_swift"] {
            let runs = try #require(figures[name]?["runs"] as? [Double], "\(name)")
            #expect(runs.count == 30 && runs.allSatisfy { $0 > 0 }, "\(name): \(runs)")
        }
    }

    @Test func aWindowBeyondTheHighWaterMarkIsRefused() throws {
        let outcome = try ChildProcess.conduit(["bench", "transport", "--window", "5000"], timeout: 60)
        #expect(outcome.status == 64)
        #expect(outcome.errors.contains("--window must be 1 to 1000, got 5000"))
    }
}
