import ConduitCore
import ConduitReplay
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The coordinators' dashboard over HTTP (Hummingbird): the page and its assets, the JSON API under `/api/v1/`, the
/// live stream of events (Server-Sent Events), the OpenAPI document, `/healthz` and `/readyz`.
///
/// Read-only: it answers `GET` (and `HEAD`) only. With ``DashboardAccess`` it asks every request for a coordinator's
/// token (`Authorization: Bearer …`, or the `token` cookie the page sets from its `?token=` link).
public enum DashboardServer {
    /// The router of every route, for ``application(api:address:access:onRunning:)`` and for tests.
    public static func router(api: DashboardAPI, access: DashboardAccess? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        if let access { router.add(middleware: AccessMiddleware(access: access)) }
        router.add(middleware: NotFoundMiddleware())
        /// `path` for GET, and for HEAD with the same status and headers and no body (a stream is then not started).
        func get(_ path: RouterPath, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
            router.get(path, use: handler)
            router.head(path) { request, context in
                var response = try await handler(request, context)
                let length = response.headers[.contentLength]
                response.body = ResponseBody()
                response.headers[.contentLength] = length  // what the GET sends, as HEAD says
                return response
            }
        }
        get("/") { _, _ in Self.asset(DashboardAssets.indexHTML, type: "text/html; charset=utf-8") }
        get("/assets/app.js") { _, _ in Self.asset(DashboardAssets.appJS, type: "text/javascript; charset=utf-8") }
        get("/assets/app.css") { _, _ in Self.asset(DashboardAssets.appCSS, type: "text/css; charset=utf-8") }
        get("/healthz") { _, _ in Self.respond(.json(Array(#"{"status":"alive"}"#.utf8))) }
        get("/readyz") { _, _ in
            let status = api.feed.status
            if status.live { return Self.respond(.json(Array(#"{"status":"ready"}"#.utf8))) }
            let reason = status.failure ?? "catching up with the broker"
            return Self.respond(Problem(status: 503, kind: "not-ready", title: "Not ready", detail: reason).response)
        }
        get("/api/v1/openapi.json") { _, _ in Self.asset(OpenAPIDocument.json, type: "application/json; charset=utf-8") }
        get("/api/v1/overview") { request, _ in Self.answer { () throws(Problem) in try api.overview(Self.parameters(request)) } }
        get("/api/v1/plan") { _, _ in Self.respond(api.planDocument()) }
        get("/api/v1/span") { _, _ in Self.answer { () throws(Problem) in try api.span() } }
        get("/api/v1/state") { request, _ in Self.answer { () throws(Problem) in try api.state(Self.parameters(request)) } }
        get("/api/v1/diff") { request, _ in Self.answer { () throws(Problem) in try api.diff(Self.parameters(request)) } }
        get("/api/v1/ledger") { request, _ in Self.answer { () throws(Problem) in try api.ledger(Self.parameters(request)) } }
        get("/api/v1/incident") { request, _ in Self.answer { () throws(Problem) in try api.incident(Self.parameters(request)) } }
        get("/api/v1/events") { request, _ in Self.answer { () throws(Problem) in try api.events(Self.parameters(request)) } }
        get("/api/v1/stream") { request, _ in try Self.stream(request, api: api) }
        return router
    }

    /// The application, bound to `address` (`host:port`; port 0 picks one); `onRunning` hears the bound port.
    public static func application(
        api: DashboardAPI, host: String, port: Int, access: DashboardAccess? = nil,
        onRunning: @escaping @Sendable (Int) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(api: api, access: access),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "conduit-dashboard"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
    }

    static let lastEventID = HTTPField.Name("Last-Event-ID")!

    /// `GET /api/v1/stream`: every event as it is applied, as Server-Sent Events whose id is the sequence. A browser
    /// that reconnects sends the last id it saw (`Last-Event-ID`, or `?after=`) and gets every event after it, first
    /// from the journal when the feed no longer keeps them, then live: nothing is missed, nothing repeated.
    static func stream(_ request: Request, api: DashboardAPI) throws -> Response {
        let given = request.headers[lastEventID] ?? request.uri.queryParameters["after"].map(String.init)
        var after: UInt64?
        if let given {
            guard let value = UInt64(given) else {
                return respond(Problem.badParameter("Last-Event-ID (or after) must be a sequence; got \"\(given)\"").response)
            }
            after = value
        }
        let feed = api.feed
        let start = after
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            var sent = start
            while true {
                if let stream = feed.stream(after: sent) {
                    for await event in stream {
                        if let last = sent, event.sequence <= last { continue }
                        try await writer.write(ByteBuffer(bytes: event.serverSentEvent))
                        sent = event.sequence
                    }
                    break  // the feed stopped
                }
                // Older than what the feed keeps: from the journal, up to what it has applied, then again.
                let head = feed.state.lastSequence
                let from = (sent ?? 0) + 1
                guard from <= head else {
                    try await Task.sleep(for: .milliseconds(100))
                    continue
                }
                let replayed = try await Task.detached { try api.storedEvents(from: from, to: head) }.value
                for event in replayed {
                    try await writer.write(ByteBuffer(bytes: event.serverSentEvent))
                    sent = event.sequence
                }
                if replayed.isEmpty { sent = head }
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: body)
    }

    static func parameters(_ request: Request) -> [String: String] {
        var parameters: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { parameters[String(key)] = String(value) }
        return parameters
    }

    static func answer(_ call: () throws(Problem) -> APIResponse) -> Response {
        do { return respond(try call()) } catch { return respond(error.response) }
    }

    static func respond(_ answer: APIResponse) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = answer.contentType
        headers[.cacheControl] = "no-store"
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension DashboardAPI {
    /// The stored events `from`…`to`, from the journal directory, else through the broker's query endpoint.
    func storedEvents(from: UInt64, to: UInt64) throws -> [StreamedEvent] {
        var selection = ReplaySelection()
        selection.fromSequence = from
        selection.toSequence = to
        var events: [StreamedEvent] = []
        let collect: (ReplayedEvent, Event) throws -> Void = { record, _ in
            events.append(StreamedEvent(sequence: record.header.sequence, recordedTime: record.header.recordedTime, json: record.event))
        }
        if let journalDirectory {
            _ = try OfflineReplay(directory: journalDirectory).events(selection, collect)
        } else {
            _ = try BrokerReplay(endpoint: feed.configuration.query, curve: feed.configuration.curve).events(selection, collect)
        }
        return events
    }
}

/// Who may read the dashboard when access is restricted: a token per coordinator, each naming its principal.
public struct DashboardAccess: Sendable {
    /// Principal names by token.
    public let tokens: [String: String]

    public init(tokens: [String: String]) { self.tokens = tokens }

    /// The principal a request's token names, if any: `Authorization: Bearer <token>`, else the `conduit-token`
    /// cookie.
    func principal(_ request: Request) -> String? {
        if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") {
            return Self.match(String(authorization.dropFirst("Bearer ".count)), in: tokens)
        }
        for part in (request.headers[.cookie] ?? "").split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == "conduit-token" { return Self.match(String(pair[1]), in: tokens) }
        }
        return nil
    }

    /// Compares the given token with every known one in time that does not depend on where they differ.
    static func match(_ given: String, in tokens: [String: String]) -> String? {
        var found: String?
        let bytes = Array(given.utf8)
        for (token, principal) in tokens {
            let known = Array(token.utf8)
            var difference = UInt8(known.count == bytes.count ? 0 : 1)
            for index in 0..<known.count { difference |= known[index] ^ (index < bytes.count ? bytes[index] : 0) }
            if difference == 0 { found = principal }
        }
        return found
    }
}

/// Answers a request that no route takes as every other error of the dashboard is answered, with a problem document
/// that names what was asked for and where the routes are: 405 for a method other than GET and HEAD, else 404.
struct NotFoundMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            if request.method != .get && request.method != .head {
                var response = DashboardServer.respond(
                    Problem(
                        status: 405, kind: "method-not-allowed", title: "The dashboard is read-only",
                        detail: "\(request.method) \(request.uri.path): the dashboard answers GET and HEAD only"
                    ).response)
                response.headers[.allow] = "GET, HEAD"
                return response
            }
            return DashboardServer.respond(
                Problem(
                    status: 404, kind: "not-found", title: "Nothing is served here",
                    detail: "no \(request.method) \(request.uri.path) here: the page is at /, the API under /api/v1/, described by /api/v1/openapi.json"
                ).response)
        }
    }
}

/// Refuses a request without a known token, except the health checks.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let access: DashboardAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" || request.uri.path == "/readyz" { return try await next(request, context) }
        if request.uri.path == "/", let token = request.uri.queryParameters["token"], DashboardAccess.match(String(token), in: access.tokens) != nil {
            // The link a coordinator is given: remember the token in a cookie for the page's own requests.
            var response = try await next(request, context)
            response.headers[.setCookie] = "conduit-token=\(token); Path=/; HttpOnly; SameSite=Strict"
            return response
        }
        guard access.principal(request) != nil else {
            var response = DashboardServer.respond(
                Problem(status: 401, kind: "unauthorised", title: "A coordinator's token is needed",
                        detail: "give Authorization: Bearer <token>, or open the page with ?token=<token>").response)
            response.headers[.wwwAuthenticate] = "Bearer realm=\"conduit\""
            return response
        }
        return try await next(request, context)
    }
}
