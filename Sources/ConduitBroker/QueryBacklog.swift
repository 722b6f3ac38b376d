import ConduitCore

/// The query clients whose replies are not being taken: the replies the socket could not queue yet, in order, and
/// the requests that wait behind them unprocessed. A client's replies are never dropped while it is connected; the
/// work it can leave waiting is bounded instead: past ``maximumWaitingRequests`` its further requests are
/// discarded and counted, and it is told how many once it reads again.
struct QueryBacklog {
    /// Requests a client may leave waiting behind its unread replies, and their bytes in all.
    static let maximumWaitingRequests = 1024
    static let maximumWaitingBytes = 256 << 10

    struct Client {
        var replies: [WireMessage] = []
        var requests: [WireMessage] = []
        var requestBytes = 0
        var discarded = 0

        mutating func takeRequest() -> WireMessage {
            let request = requests.removeFirst()
            requestBytes -= request.reduce(0) { $0 + $1.count }
            return request
        }
    }

    private(set) var clients: [[UInt8]: Client] = [:]

    var isEmpty: Bool { clients.isEmpty }

    /// Whether the client has replies or requests waiting: what it sends next waits too, to keep its order.
    func isWaiting(_ routingId: [UInt8]) -> Bool { clients[routingId] != nil }

    mutating func holdReply(_ frames: WireMessage, for routingId: [UInt8]) {
        clients[routingId, default: Client()].replies.append(frames)
    }

    /// Keeps a request for later; `false` when the client already has the most waiting (the request is discarded
    /// and counted).
    mutating func holdRequest(_ frames: WireMessage, from routingId: [UInt8]) -> Bool {
        var client = clients[routingId, default: Client()]
        defer { clients[routingId] = client }
        let bytes = frames.reduce(0) { $0 + $1.count }
        guard client.requests.count < Self.maximumWaitingRequests, client.requestBytes + bytes <= Self.maximumWaitingBytes else {
            client.discarded += 1
            return false
        }
        client.requests.append(frames)
        client.requestBytes += bytes
        return true
    }

    mutating func take(_ routingId: [UInt8]) -> Client? { clients.removeValue(forKey: routingId) }

    mutating func put(_ client: Client, for routingId: [UInt8]) { clients[routingId] = client }

    /// The error a client gets, once it reads again, for the requests discarded while it did not.
    static func discardedError(_ count: Int) -> ConduitError {
        ConduitError(
            .serviceUnavailable, path: "message",
            "\(count) request\(count == 1 ? " was" : "s were") discarded unanswered: replies were not being read "
                + "(at most \(maximumWaitingRequests) requests, 256 KiB, wait behind unread replies)")
    }
}
