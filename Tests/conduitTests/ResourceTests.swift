import ConduitTesting
import Foundation
import Testing

/// Every way a peer was found to make `conduit broker` hold memory or descriptors without bound, reproduced
/// against the real executable while a well-behaved agent publishes: the broker stays alive, its peak resident
/// memory stays under 150 MiB, and every one of the agent's events is acknowledged.
///
/// The short mode runs each attack at the size it was found with. `CONDUIT_RESOURCE_SCALE=500` runs each 500
/// times larger (a million messages and more per endpoint), as `conduit bench fuzz --scale 500` does.
/// `CONDUIT_RESOURCE_LOG=<directory>` keeps each broker's log there.
@Suite(.serialized, .timeLimit(.minutes(30)))
struct ResourceTests {
    static let scale = ProcessInfo.processInfo.environment["CONDUIT_RESOURCE_SCALE"].flatMap(Int.init) ?? 1

    @Test(.serialized, arguments: ResourceSuite.cases.map(\.name))
    func theBrokerStaysBoundedUnderAttack(_ name: String) throws {
        let resourceCase = try #require(ResourceSuite.cases.first { $0.name == name })
        let report = try ResourceSuite.run(resourceCase, scale: Self.scale)
        print("resource: \(report)")
        #expect(report.alive && report.exitStatus == 0, "\(report)")
        #expect(report.peakMiB < 150, "\(report)")
        #expect(report.validAcknowledged == report.validPublished, "\(report)")
    }
}
