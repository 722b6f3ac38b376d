#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// What an operator asks a long-running process over HTTP, and how it answers.
public struct OperationsEndpoints: Sendable {
    /// The Prometheus text exposition of the process's metrics (`GET /metrics`).
    public var metrics: @Sendable () -> [UInt8]
    /// Whether the process can do its work now, and why not (`GET /readyz`: 200 or 503 with a JSON reason).
    public var readiness: @Sendable () -> (ready: Bool, reason: String)

    public init(metrics: @escaping @Sendable () -> [UInt8], readiness: @escaping @Sendable () -> (ready: Bool, reason: String)) {
        self.metrics = metrics
        self.readiness = readiness
    }
}

/// The first line of an HTTP request, as far as the operations server reads it.
public struct OperationsRequest: Sendable, Equatable {
    public var method: String
    public var path: String

    public init(method: String, path: String) {
        self.method = method
        self.path = path
    }

    /// The most bytes a request's head (request line and headers) may take.
    public static let maximumHeadBytes = 8192

    public enum Parse: Sendable, Equatable {
        /// The head is complete: the request.
        case request(OperationsRequest)
        /// More bytes are needed.
        case incomplete
        /// Not a request this server takes: the status to answer with, and why.
        case refused(status: Int, reason: String)
    }

    /// Parses what arrived so far on a connection.
    public static func parse(_ bytes: [UInt8]) -> Parse {
        guard let end = headEnd(bytes) else {
            return bytes.count >= maximumHeadBytes
                ? .refused(status: 431, reason: "the request head is over \(maximumHeadBytes) bytes") : .incomplete
        }
        guard end <= maximumHeadBytes else { return .refused(status: 431, reason: "the request head is over \(maximumHeadBytes) bytes") }
        let lineEnd = bytes.firstIndex(of: 0x0D) ?? end
        guard let line = String(bytes: bytes[..<lineEnd], encoding: .utf8) else {
            return .refused(status: 400, reason: "the request line is not UTF-8")
        }
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[1].hasPrefix("/") else {
            return .refused(status: 400, reason: "not an HTTP/1 request line")
        }
        let path = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        return .request(OperationsRequest(method: String(parts[0]), path: path))
    }

    /// The offset just past the blank line that ends the head, if it arrived.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 0x0A && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
            return index + 1
        }
        return nil
    }

    /// The response to a request: status, content type and body.
    public static func respond(to parse: Parse, endpoints: OperationsEndpoints) -> (status: Int, type: String, body: [UInt8]) {
        switch parse {
        case .incomplete:
            return (400, "application/json", json(["status": "bad request", "reason": "the request ended before its head"]))
        case .refused(let status, let reason):
            return (status, "application/json", json(["status": "bad request", "reason": reason]))
        case .request(let request):
            guard request.method == "GET" || request.method == "HEAD" else {
                return (405, "application/json", json(["status": "method not allowed", "reason": "only GET is served"]))
            }
            switch request.path {
            case "/metrics":
                return (200, "text/plain; version=0.0.4; charset=utf-8", endpoints.metrics())
            case "/healthz":
                return (200, "application/json", json(["status": "alive"]))
            case "/readyz":
                let (ready, reason) = endpoints.readiness()
                return ready
                    ? (200, "application/json", json(["status": "ready"]))
                    : (503, "application/json", json(["status": "not ready", "reason": reason]))
            default:
                return (404, "application/json", json(["status": "not found", "reason": "served: /metrics, /healthz, /readyz"]))
            }
        }
    }

    static func json(_ fields: KeyValuePairs<String, String>) -> [UInt8] {
        func quoted(_ text: String) -> String {
            var result = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": result += "\\\""
                case "\\": result += "\\\\"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: result.unicodeScalars.append(scalar)
                }
            }
            return result + "\""
        }
        return Array(("{" + fields.map { quoted($0.key) + ":" + quoted($0.value) }.joined(separator: ",") + "}\n").utf8)
    }
}

/// A small HTTP/1.1 server for operators: `GET /metrics`, `/healthz` and `/readyz`, one request per connection.
///
/// It runs on a thread of its own and takes at most 16 connections at once; a connection that sends more than 8 KiB
/// of request head, or does not finish it within 5 s, is answered with an error and closed. Nothing a peer sends can
/// reach the process it serves beyond these three questions.
public final class OperationsServer: Sendable {
    /// The address it listens on, its port resolved (`127.0.0.1:9570`).
    public let address: String
    private let listener: Int32
    private let stopping = Atomic<Bool>(false)
    private let wake: (read: Int32, write: Int32)
    private let finished = Mutex<Bool>(false)

    /// Binds `address` (`host:port`, port 0 for any free one) and starts serving `endpoints`.
    public init(address: String, endpoints: OperationsEndpoints) throws(OperationsServerError) {
        guard let (host, port) = hostAndPort(address) else {
            throw OperationsServerError("\(address) is not host:port")
        }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, host, &socketAddress.sin_addr) == 1 else {
            throw OperationsServerError("\(host) is not an IPv4 address")
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw OperationsServerError("cannot make a socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw OperationsServerError("cannot listen on \(address): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        self.address = "\(host):\(UInt16(bigEndian: actual.sin_port))"
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            close(descriptor)
            throw OperationsServerError("cannot make a wake-up pipe: \(String(cString: strerror(errno)))")
        }
        for end in pipeEnds {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        listener = descriptor
        wake = (pipeEnds[0], pipeEnds[1])
        let thread = Thread { [self] in serve(endpoints) }
        thread.name = "conduit-operations"
        thread.start()
    }

    /// Stops serving and closes the socket; returns once the server's thread has ended.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        while !finished.withLock({ $0 }) { usleep(1000) }
        close(listener)
        close(wake.read)
        close(wake.write)
    }

    deinit { stop() }

    private struct Connection {
        var descriptor: Int32
        var received: [UInt8] = []
        var deadline: Double
    }

    private func serve(_ endpoints: OperationsEndpoints) {
        defer { finished.withLock { $0 = true } }
        var connections: [Connection] = []
        while !stopping.load(ordering: .acquiring) {
            // With 16 connections open, new ones wait in the listen queue (a negative descriptor is left out of poll).
            let listening = connections.count < 16 ? listener : -1
            var polled = [pollfd(fd: listening, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            polled += connections.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            let now = Date().timeIntervalSince1970
            let wait = connections.map(\.deadline).min().map { max(0, Int32(($0 - now) * 1000)) } ?? -1
            guard poll(&polled, nfds_t(polled.count), wait) >= 0 || errno == EINTR else { return }
            if polled[1].revents != 0 { continue }
            var remaining: [Connection] = []
            for (index, var connection) in connections.enumerated() {
                let events = polled[index + 2].revents
                var answer: OperationsRequest.Parse?
                if events & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let count = read(connection.descriptor, &buffer, buffer.count)
                    if count > 0 {
                        connection.received += buffer[..<count]
                        let parsed = OperationsRequest.parse(connection.received)
                        if parsed != .incomplete { answer = parsed }
                    } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                        close(connection.descriptor)
                        continue
                    }
                }
                if answer == nil && Date().timeIntervalSince1970 >= connection.deadline {
                    answer = .refused(status: 408, reason: "the request head did not arrive within 5 s")
                }
                guard let answer else {
                    remaining.append(connection)
                    continue
                }
                Self.send(OperationsRequest.respond(to: answer, endpoints: endpoints), head: {
                    if case .request(let request) = answer { request.method == "HEAD" } else { false }
                }(), to: connection.descriptor)
                close(connection.descriptor)
            }
            connections = remaining
            if polled[0].revents & Int16(POLLIN) != 0, connections.count < 16 {
                let accepted = accept(listener, nil, nil)
                if accepted >= 0 {
                    _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
                    connections.append(Connection(descriptor: accepted, deadline: Date().timeIntervalSince1970 + 5))
                }
            }
        }
        for connection in connections { close(connection.descriptor) }
    }

    private static let reasons = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
                                  431: "Request Header Fields Too Large", 503: "Service Unavailable"]

    private static func send(_ response: (status: Int, type: String, body: [UInt8]), head: Bool, to descriptor: Int32) {
        let header = "HTTP/1.1 \(response.status) \(reasons[response.status] ?? "Error")\r\nContent-Type: \(response.type)\r\n"
            + "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        var bytes = Array(header.utf8)
        if !head { bytes += response.body }
        // The socket is non-blocking: a peer that does not read gets what fits within a second, then is closed.
        var sent = 0
        let deadline = Date().timeIntervalSince1970 + 1
        while sent < bytes.count && Date().timeIntervalSince1970 < deadline {
            let count = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if count > 0 { sent += count } else if errno == EAGAIN { usleep(1000) } else { return }
        }
    }
}

public struct OperationsServerError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// `host:port` split at its last colon (so an IPv6 host in brackets keeps its own colons); `nil` unless the port is a
/// number from 0 to 65535. What every `--http-address` and `--dashboard` takes.
public func hostAndPort(_ text: String) -> (host: String, port: Int)? {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
    return (String(text[..<colon]), port)
}
