import ConduitBroker
import ConduitCore
import ConduitDashboard
import ConduitReplay
import ConduitState
import ConduitTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import ZeroMQ

/// A broker with a few events, and a dashboard feed that has applied them all.
final class DashboardFixture: Sendable {
    let broker: TestBroker
    let feed: DashboardFeed
    let journal: String
    let context: Context

    init(events: Int = 4) throws {
        // No fan-out heartbeats while a test runs: they would move the live state's clock (and the alerts it
        // evaluates) step by step, where a fold of the journal evaluates once.
        broker = try TestBroker { $0.fanoutHeartbeatInterval = .seconds(3600) }
        journal = broker.directory.appending("journal")
        context = try Context()
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        for index in 1...events {
            _ = try agent.publishAndWait(SampleEvents.progress(id: "p-\(index)", percent: 10 * index), correlation: UInt64(index))
        }
        _ = try agent.publishAndWait(SampleEvents.outage(id: "o-1"), correlation: 99)
        feed = try DashboardFeed(configuration: .init(fanout: broker.endpoints.fanout, query: broker.endpoints.query, plan: .default))
        feed.start()
        let head = broker.broker.currentStatistics.lastSequence
        guard Poll.until(60, { self.feed.state.lastSequence >= head && self.feed.status.live }) else {
            throw TestClientError("the feed did not catch up to \(head): \(feed.state.lastSequence), \(String(describing: feed.status.failure))")
        }
    }

    /// Publishes one more event; returns its sequence once the feed has applied it.
    func publish(_ event: [UInt8], correlation: UInt64) throws -> UInt64 {
        let agent = try TestClient(context: context, endpoint: broker.endpoints.ingest)
        guard case .ack(let ack) = try agent.publishAndWait(event, correlation: correlation) else { throw TestClientError("not acknowledged") }
        _ = Poll.until(60) { self.feed.state.lastSequence >= ack.sequence }
        return ack.sequence
    }

    func api(journal: Bool = true) -> DashboardAPI { DashboardAPI(feed: feed, journalDirectory: journal ? self.journal : nil) }

    deinit {
        feed.stop()
        broker.stop()
    }
}

func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

func json(_ buffer: ByteBuffer) throws -> JSONValue { try JSONValue.parse(Array(buffer: buffer)) }

/// Every route of the API through HummingbirdTesting, with bad input answered by clear problems.
@Suite(.timeLimit(.minutes(5)), .serialized)
struct DashboardRouteTests {
    func application(_ api: DashboardAPI, access: DashboardAccess? = nil) -> some ApplicationProtocol {
        Application(router: DashboardServer.router(api: api, access: access))
    }

    /// A problem document: its status, type and detail.
    func expectProblem(_ response: TestResponse, _ status: Int, _ kind: String, mentioning words: [String]) throws {
        #expect(response.status.code == status)
        #expect(response.headers[.contentType] == "application/problem+json")
        let document = try json(response.body)
        #expect(document["type"] == .string("/api/v1/problems#\(kind)"))
        #expect(document["status"] == .number(String(status)))
        guard case .string(let detail)? = document["detail"] else {
            Issue.record("no detail")
            return
        }
        for word in words { #expect(detail.contains(word), "\(detail) mentions \(word)") }
    }

    /// The fold of the journal, its clock moved to `now` as the live state's is by the broker's heartbeats.
    static func fold(_ journal: String, advancedTo now: JSONValue?) throws -> AggregateState {
        var state = try StateReplay(directory: journal).state()
        if case .string(let text)? = now, let time = try? Timestamp(rfc3339: text), let own = state.now, time > own {
            _ = state.advance(to: time)
        }
        return state
    }

    @Test func theOverviewAndTheStateAreTheFoldOfTheJournal() async throws {
        let fixture = try DashboardFixture()
        let journal = fixture.journal
        try await application(fixture.api()).test(.router) { client in
            try await client.execute(uri: "/api/v1/state", method: .get) { response in
                #expect(response.status == .ok)
                let live = try json(response.body)
                #expect(Array(buffer: response.body) == (try Self.fold(journal, advancedTo: live["now"])).json())
            }
            try await client.execute(uri: "/api/v1/overview", method: .get) { response in
                let overview = try json(response.body)
                let folded = try Self.fold(journal, advancedTo: overview["now"])
                let summary = folded.summary()
                #expect(overview["lastSequence"] == .number(String(folded.lastSequence)))
                #expect(overview["householdsWithoutService"] == .number(String(summary.overall.householdsAffectedNow)))
                #expect(overview["openOutages"] == .number(String(folded.outages.filter(\.isOpen).count)))
                #expect(overview["openLedgerEntries"] == .number(String(folded.activeAlerts.count)))
                #expect(overview["communities"]?["ganjiaba"]?["percentComplete"] == .number(String(summary.communities["ganjiaba"]!.percentComplete)))
                #expect(overview["live"] == .bool(true))
            }
            try await client.execute(uri: "/api/v1/state?path=workitems/ganjiaba-power", method: .get) { response in
                let item = try json(response.body)
                #expect(item["percent"] == .number("40.0"))
                #expect(item["status"] == .string("in_progress"))
            }
            try await client.execute(uri: "/api/v1/state?path=workitems/nowhere", method: .get) { response in
                try expectProblem(response, 404, "not-found", mentioning: ["workitems/nowhere"])
            }
        }
    }

    @Test func theStateAtAMomentComesFromTheJournalAndBadMomentsAreProblems() async throws {
        let fixture = try DashboardFixture()
        let replay = StateReplay(directory: fixture.journal)
        let atThree = try replay.state(atSequence: 3).json()
        let diff = try replay.diff(fromSequence: 2, toSequence: 5).diff.json()
        try await application(fixture.api()).test(.router) { client in
            try await client.execute(uri: "/api/v1/state?seq=3", method: .get) { response in
                #expect(Array(buffer: response.body) == atThree)
            }
            try await client.execute(uri: "/api/v1/overview?seq=3", method: .get) { response in
                let overview = try json(response.body)
                #expect(overview["lastSequence"] == .number("3"))
            }
            try await client.execute(uri: "/api/v1/state?at=2023-06-01", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/v1/state?at=last-tuesday", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["at", "last-tuesday", "RFC 3339"])
            }
            try await client.execute(uri: "/api/v1/state?seq=900", method: .get) { response in
                try expectProblem(response, 416, "outside-journal", mentioning: ["900", "ends at sequence"])
            }
            try await client.execute(uri: "/api/v1/state?seq=-1", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["seq"])
            }
            try await client.execute(uri: "/api/v1/state?sequence=3", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["unknown parameter sequence"])
            }
            try await client.execute(uri: "/api/v1/diff?fromSeq=2&toSeq=5", method: .get) { response in
                #expect(Array(buffer: response.body) == diff)
            }
            try await client.execute(uri: "/api/v1/diff?fromSeq=5&toSeq=2", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["below"])
            }
            try await client.execute(uri: "/api/v1/diff?from=2023-06-01", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["from and to"])
            }
        }
    }

    @Test func theLedgerFiltersAndExportsCSVForExcel() async throws {
        let fixture = try DashboardFixture()
        let state = fixture.feed.state
        try await application(fixture.api()).test(.router) { client in
            try await client.execute(uri: "/api/v1/ledger?status=all", method: .get) { response in
                var all = LedgerQuery()
                all.status = .all
                #expect(Array(buffer: response.body) == state.ledgerJSON(state.ledgerEntries(all)))
            }
            try await client.execute(uri: "/api/v1/ledger?status=all&format=csv", method: .get) { response in
                let bytes = Array(buffer: response.body)
                #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]), "a byte order mark, for Excel")
                #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                #expect(response.headers[.contentDisposition]?.contains("attachment") == true)
                #expect(String(decoding: bytes.dropFirst(3), as: UTF8.self).hasPrefix("key,class,kind"))
            }
            try await client.execute(uri: "/api/v1/ledger?status=maybe", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["status", "maybe"])
            }
            try await client.execute(uri: "/api/v1/ledger?organisation=acme", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["acme", "not an organisation"])
            }
            try await client.execute(uri: "/api/v1/ledger?kind=late,behind_schedule", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["kind \"late\""])
            }
        }
    }

    @Test func incidentsEventsAndThePlan() async throws {
        let fixture = try DashboardFixture()
        let last = fixture.feed.state.lastSequence
        try await application(fixture.api()).test(.router) { client in
            try await client.execute(uri: "/api/v1/incident?subject=ganjiaba-power", method: .get) { response in
                #expect(response.status == .ok)
                let report = try json(response.body)
                #expect(report["format"] == .string("conduit-incident/1"))
            }
            try await client.execute(uri: "/api/v1/incident?subject=no-such-item", method: .get) { response in
                try expectProblem(response, 404, "not-found", mentioning: ["no-such-item"])
            }
            try await client.execute(uri: "/api/v1/incident", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["subject"])
            }
            try await client.execute(uri: "/api/v1/events?fromSeq=2&toSeq=4", method: .get) { response in
                #expect(response.headers[.contentType] == "application/x-ndjson")
                let lines = text(response.body).split(separator: "\n")
                #expect(lines.map { (try? JSONValue.parse(Array($0.utf8)))?["sequence"] } == [.number("2"), .number("3"), .number("4")])
            }
            try await client.execute(uri: "/api/v1/events?fromSeq=500", method: .get) { response in
                try expectProblem(response, 416, "outside-journal", mentioning: ["500"])
            }
            try await client.execute(uri: "/api/v1/events?kind=gossip", method: .get) { response in
                try expectProblem(response, 400, "bad-parameter", mentioning: ["gossip"])
            }
            try await client.execute(uri: "/api/v1/plan", method: .get) { response in
                #expect(Array(buffer: response.body) == Scenario.default.canonicalJSON)
            }
            try await client.execute(uri: "/api/v1/span", method: .get) { response in
                let span = try json(response.body)
                #expect(span["lastSequence"] == .number(String(last)))
            }
            // HEAD: the GET's status and headers, no body.
            try await client.execute(uri: "/api/v1/plan", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(response.headers[.contentLength] == String(Scenario.default.canonicalJSON.count))
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/api/v1/incident?subject=no-such-item", method: .head) { response in
                #expect(response.status.code == 404)
                #expect(response.body.readableBytes == 0)
            }
            // What no route serves is a problem too, naming what was asked for and where the routes are.
            try await client.execute(uri: "/api/v1/ledgers?status=open", method: .get) { response in
                try expectProblem(response, 404, "not-found", mentioning: ["GET /api/v1/ledgers", "/api/v1/openapi.json"])
            }
            try await client.execute(uri: "/favicon.ico", method: .get) { response in
                try expectProblem(response, 404, "not-found", mentioning: ["/favicon.ico", "the page is at /"])
            }
            try await client.execute(uri: "/api/v1/ledger", method: .post) { response in
                try expectProblem(response, 405, "method-not-allowed", mentioning: ["POST /api/v1/ledger", "GET and HEAD only"])
                #expect(response.headers[.allow] == "GET, HEAD")
            }
        }
        // Without the journal, history is not served, and says why.
        try await application(fixture.api(journal: false)).test(.router) { client in
            try await client.execute(uri: "/api/v1/incident?subject=ganjiaba-power", method: .get) { response in
                try expectProblem(response, 501, "no-journal", mentioning: ["--dir"])
            }
        }
    }

    /// The OpenAPI document names every route the server answers, and each answers.
    @Test func theOpenAPIDocumentListsEveryRoute() async throws {
        let fixture = try DashboardFixture()
        try await application(fixture.api()).test(.router) { client in
            let document = try await client.execute(uri: "/api/v1/openapi.json", method: .get) { try json($0.body) }
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths")
                return
            }
            #expect(document["openapi"] == .string("3.1.0"))
            for path in paths.map(\.key) where path != "/api/v1/stream" {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status.code != 404 || path == "/api/v1/incident", "\(path) is served")
                }
            }
            #expect(Set(paths.map(\.key)) == [
                "/api/v1/overview", "/api/v1/state", "/api/v1/diff", "/api/v1/ledger", "/api/v1/incident", "/api/v1/events",
                "/api/v1/plan", "/api/v1/span", "/api/v1/stream", "/api/v1/openapi.json", "/healthz", "/readyz",
            ])
            try await client.execute(uri: "/", method: .get) { response in
                #expect(text(response.body).contains("/assets/app.js"))
                #expect(!text(response.body).contains("http://") && !text(response.body).contains("https://"), "nothing from elsewhere")
            }
            try await client.execute(uri: "/assets/app.js", method: .get) { response in
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(!text(response.body).contains("https://"), "no CDN")
            }
        }
    }

    @Test func withTokensEveryRequestButTheHealthChecksNeedsOne() async throws {
        let fixture = try DashboardFixture(events: 1)
        let token = String(repeating: "k", count: 43)
        try await application(fixture.api(), access: DashboardAccess(tokens: [token: "county-office"])).test(.router) { client in
            try await client.execute(uri: "/api/v1/state", method: .get) { response in
                try expectProblem(response, 401, "unauthorised", mentioning: ["token"])
            }
            try await client.execute(uri: "/api/v1/state", method: .get, headers: [.authorization: "Bearer " + token]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/v1/state", method: .get, headers: [.authorization: "Bearer " + token.dropLast() + "j"]) { response in
                #expect(response.status.code == 401)
            }
            try await client.execute(uri: "/?token=" + token, method: .get) { response in
                #expect(response.headers[.setCookie]?.hasPrefix("conduit-token=" + token) == true)
            }
            try await client.execute(uri: "/api/v1/plan", method: .get, headers: [.cookie: "conduit-token=" + token]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/api/v1/state", method: .post) { response in
                #expect(response.status.code == 401 || response.status.code == 405, "nothing is writable")
            }
        }
    }

    /// The stream sends every event after the one asked for, then each new one, with its sequence as the id.
    @Test func theStreamResumesAfterTheLastEventId() async throws {
        let fixture = try DashboardFixture()
        let stream = try #require(fixture.feed.stream(after: 2))
        var iterator = stream.makeAsyncIterator()
        var sequences: [UInt64] = []
        for _ in 3...fixture.feed.state.lastSequence { if let event = await iterator.next() { sequences.append(event.sequence) } }
        #expect(sequences == Array(3...fixture.feed.state.lastSequence))
        let next = try fixture.publish(SampleEvents.progress(id: "p-late", percent: 90), correlation: 500)
        #expect(await iterator.next()?.sequence == next)
        let message = String(decoding: StreamedEvent(sequence: 7, recordedTime: Timestamp(microsecondsSinceEpoch: 0), json: Array("{}".utf8)).serverSentEvent, as: UTF8.self)
        #expect(message == "id: 7\nevent: conduit\ndata: {\"sequence\":7,\"recordedTime\":\"1970-01-01T00:00:00Z\",\"event\":{}}\n\n")
    }
}
