import ConduitBroker
import ConduitCore
import ConduitJournal
import ConduitReplay
import ConduitTesting
import Foundation
import Testing
import ZeroMQ

/// The plan as data: the broker states the plan it runs in the journal, serves it, and takes a coordinator's change
/// as an event that later events are validated against.
@Suite(.timeLimit(.minutes(5)))
struct PlanTests {
    /// The seed plan with one more work item of the power bureau, `ganjiaba-extra-power`: an amended plan.
    static let changedPlan: Scenario = {
        var plan = Scenario.default
        var item = plan.workItems[0]
        item.id = "ganjiaba-extra-power"
        item.title = LocalizedText(zh: "附加线路", en: "Extra lines")
        return try! Scenario(
            id: "jiangkou-2023-amended", name: plan.name, reference: plan.reference, note: plan.note,
            deadline: plan.deadline, timeZone: plan.timeZone, noticeRules: plan.noticeRules,
            communities: plan.communities, organisations: plan.organisations, workItems: plan.workItems + [item])
    }()

    static func progress(_ item: String, id: String, source: String = "/power-supply-bureau/agent-1") -> [UInt8] {
        Array(SampleEvents.progressJSON(id: id, source: source).replacing(#""workitem":"ganjiaba-power""#, with: #""workitem":"\#(item)""#).utf8)
    }

    static func planEvent(_ plan: Scenario, id: String, source: String) -> [UInt8] {
        EventCodec.encode(Event(id: id, source: source, time: Timestamp(secondsSinceEpoch: 1_690_000_000), data: .plan(plan)))
    }

    static func askPlan(_ client: TestClient) throws -> PlanInForce {
        try client.send(IngestRequest.plan(correlation: 7).encode())
        guard case .plan(let correlation, let plan) = try client.ingestReply() else {
            throw TestClientError("expected PLAN")
        }
        #expect(correlation == 7)
        return plan
    }

    @Test func aGivenPlanIsStatedFirstAndStaysInForceAcrossRestarts() throws {
        let directory = TemporaryDirectory()
        do {
            let broker = try TestBroker(directory: directory) { $0.scenario = Self.changedPlan }
            let context = try Context()
            let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
            let told = try Self.askPlan(agent)
            #expect(told.sequence == 1)
            #expect(try told.plan() == Self.changedPlan)
            let ack = try #require(acknowledgement(try agent.publishAndWait(Self.progress("ganjiaba-extra-power", id: "x-1"), correlation: 1)))
            #expect(ack.sequence == 2)
            // The query endpoint answers the same.
            let query = try TestClient(context: context, endpoint: broker.endpoints.query)
            try query.send(QueryRequest.plan(request: 9).encode())
            #expect(try query.queryReply() == .plan(request: 9, told))
            broker.stop()
        }
        let records = try journalRecords(directory.appending("journal"))
        #expect(records.first?.topic == Array("plan/-/-/".utf8))
        guard case .plan(let stated) = try EventCodec.decode(try #require(records.first).event).data else {
            Issue.record("the first record is not the plan")
            return
        }
        #expect(stated == Self.changedPlan)

        // Restarted without a plan, the broker keeps the journal's and states nothing again.
        let again = try TestBroker(directory: directory)
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: again.endpoints.ingest)
        #expect(try Self.askPlan(agent).sequence == 1)
        let ack = try #require(acknowledgement(try agent.publishAndWait(Self.progress("ganjiaba-extra-power", id: "x-2"), correlation: 2)))
        #expect(ack.sequence == 3)
        again.stop()
    }

    @Test func aNewJournalBeginsWithTheSeedPlanWhenNoneIsGiven() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let told = try Self.askPlan(agent)
        #expect(told.sequence == 1)
        #expect(try told.plan() == Scenario.default)
        broker.stop()
        let records = try journalRecords(broker.directory.appending("journal"))
        #expect(records.count == 1)
        let stated = try EventCodec.decode(try #require(records.first).event)
        #expect(stated.source == "/conduit/broker")
        #expect(stated.data == .plan(Scenario.default))
    }

    /// A journal written before plans were recorded states none: it is read under the seed plan, and the broker that
    /// opens it states that plan after its last record, once.
    @Test func aJournalThatStatesNoPlanIsGivenTheSeedPlanOnce() throws {
        let directory = TemporaryDirectory()
        let path = try makeJournal(in: directory)
        #expect(try JournalPlan.latest(directory: path).sequence == 0)
        for _ in 0..<2 {
            let broker = try TestBroker(directory: directory)
            let context = try Context()
            let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
            let told = try Self.askPlan(agent)
            #expect(told.sequence == 61)
            #expect(try told.plan() == Scenario.default)
            broker.stop()
        }
        #expect(try journalRecords(path).count == 61, "stated by the first broker, not again by the second")
    }

    /// Retention may remove the segment that stated the plan: the broker states it again, so that what is left of the
    /// journal still says which plan its events were taken under.
    @Test func aPlanRemovedByRetentionIsStatedAgain() throws {
        let broker = try TestBroker {
            $0.scenario = Self.changedPlan
            $0.journal.segmentSize = 64 << 10
            $0.journal.retention = JournalRetention(maximumTotalBytes: 160 << 10)
        }
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let query = try TestClient(context: context, endpoint: broker.endpoints.query)
        var index = 0
        var head = try Self.askPlan(agent)
        #expect(head.sequence == 1)
        // Until the first segment, which holds the plan, is gone.
        while try Self.firstSequence(query) == 1 && index < 5_000 {
            index += 1
            _ = try #require(acknowledgement(try agent.publishAndWait(
                Self.progress("ganjiaba-extra-power", id: "r-\(index)"), correlation: UInt64(index))))
        }
        head = try Self.askPlan(agent)
        let first = try Self.firstSequence(query)
        #expect(first > 1, "retention removed the first segment")
        #expect(head.sequence >= first, "the plan in force is in what is left of the journal")
        #expect(try head.plan() == Self.changedPlan)
        broker.stop()
        let stated = try JournalPlan.latest(directory: broker.directory.appending("journal"))
        #expect(stated.sequence == head.sequence)
        #expect(try stated.plan() == Self.changedPlan)
    }

    /// The first sequence the broker's journal still holds, asked on the query endpoint.
    static func firstSequence(_ query: TestClient) throws -> UInt64 {
        try query.send(QueryRequest.head(request: 1).encode())
        guard case .head(let head) = try query.queryReply() else { throw TestClientError("expected HEAD") }
        return head.firstSequence
    }

    @Test func aCoordinatorChangesThePlanAndLaterEventsFollowIt() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let before = try #require(rejection(try agent.publishAndWait(Self.progress("ganjiaba-extra-power", id: "x-1"), correlation: 1)))
        #expect(before.error.code == .scenarioWorkItem)

        // Only a coordinator of the plan may change it.
        let forbidden = try #require(rejection(try agent.publishAndWait(
            Self.planEvent(Self.changedPlan, id: "plan-1", source: "/power-supply-bureau/agent-1"), correlation: 2)))
        #expect(forbidden.error.code == .authForbidden)
        #expect(forbidden.error.path == "source")

        let change = try #require(acknowledgement(try agent.publishAndWait(
            Self.planEvent(Self.changedPlan, id: "plan-2", source: "/housing-bureau/office"), correlation: 3)))
        let told = try Self.askPlan(agent)
        #expect(told.sequence == change.sequence)
        #expect(try told.plan() == Self.changedPlan)
        let after = try #require(acknowledgement(try agent.publishAndWait(Self.progress("ganjiaba-extra-power", id: "x-1"), correlation: 4)))
        #expect(after.sequence == change.sequence + 1)
        broker.stop()
    }

    @Test func anInvalidPlanIsRejectedWithThePathInsideData() throws {
        let broker = try TestBroker()
        let context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        let text = String(decoding: Self.planEvent(Self.changedPlan, id: "plan-1", source: "/housing-bureau/office"), as: UTF8.self)
            .replacing(#""community":"ganjiaba","organisation":"power-supply-bureau""#, with: #""community":"nowhere","organisation":"power-supply-bureau""#)
        let refused = try #require(rejection(try agent.publishAndWait(Array(text.utf8), correlation: 1)))
        #expect(refused.error.code == .scenarioCommunity)
        #expect(refused.error.path == "data.workItems[0].community")
        broker.stop()
        #expect(try journalRecords(broker.directory.appending("journal")).count == 1, "the seed plan alone")
    }
}
