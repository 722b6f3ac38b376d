import Testing
@testable import ConduitCore

@Suite struct TopicTests {
    @Test func topicsEndEverySegmentWithTheDelimiter() {
        #expect(Topic.make(kind: .outage, utility: .water, community: "ganjiaba") == bytes("outage/water/ganjiaba/"))
        #expect(Topic.make(kind: .presence, utility: nil, community: nil) == bytes("presence/-/-/"))
        #expect(Samples.progress.topic == bytes("progress/power/ganjiaba/"))
    }

    @Test func prefixesSelectKindThenUtilityThenCommunity() {
        let topic = Topic.make(kind: .outage, utility: .water, community: "ruijing-biyuan")
        #expect(topic.starts(with: Topic.prefix()))
        #expect(topic.starts(with: Topic.prefix(kind: .outage)))
        #expect(topic.starts(with: Topic.prefix(kind: .outage, utility: .water)))
        #expect(topic.starts(with: Topic.prefix(kind: .outage, utility: .water, community: "ruijing-biyuan")))
        #expect(!topic.starts(with: Topic.prefix(kind: .progress)))
        #expect(!topic.starts(with: Topic.prefix(kind: .outage, utility: .power)))
    }

    @Test func aPrefixNeverMatchesALongerName() {
        let longer = Topic.make(kind: .outage, utility: .water, community: "ganjiaba-east")
        #expect(!longer.starts(with: Topic.prefix(kind: .outage, utility: .water, community: "ganjiaba")))
        #expect(!Topic.heartbeat.starts(with: Topic.prefix(kind: .progress)))
    }

    @Test func parsesTopics() throws {
        let parts = try Topic.parse(bytes("inspection/-/jinxiu-xincheng/"))
        #expect(parts == Topic.Parts(kind: .inspection, utility: nil, community: "jinxiu-xincheng"))
        expectError(.frameTopic, at: "frame[0]") { _ = try Topic.parse(bytes("inspection/gas/x/")) }
        expectError(.frameTopic, at: "frame[0]") { _ = try Topic.parse(bytes("rumour/-/-/")) }
        expectError(.frameTopic, at: "frame[0]") { _ = try Topic.parse(bytes("progress/-/-/extra/")) }
    }
}
