import Foundation

/// A Server-Sent Events client over a plain socket (`GET /api/v1/stream` of `conduit dashboard`): the ids of the
/// events it reads, for tests of the stream and for the dashboard benchmark's simulated dashboards.
public final class EventStreamClient {
    let descriptor: Int32
    var buffer: [UInt8] = []

    /// Opens the stream at `url` (`http://host:port/…`); with `after`, as a browser that last saw that id.
    public init(url: String, after: UInt64?) throws {
        let address = url.dropFirst("http://".count).split(separator: "/").first.map(String.init) ?? ""
        descriptor = try HTTPProbe.connection(to: address)
        let header = after.map { "Last-Event-ID: \($0)\r\n" } ?? ""
        let request = Array("GET /api/v1/stream HTTP/1.1\r\nHost: \(address)\r\nAccept: text/event-stream\r\n\(header)\r\n".utf8)
        _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// The ids of the events that arrive within `milliseconds` (none if nothing did); throws when the stream ends.
    public func next(milliseconds: Int32) throws -> [UInt64] {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, milliseconds) == 1 else { return [] }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &chunk, chunk.count, 0)
        guard count > 0 else { throw TestClientError("the stream ended") }
        buffer += chunk[..<count]
        // Complete lines only, split at each line feed byte (a "\r\n" of the chunked framing is one Character in a
        // Swift String, so the text is not split as a String); "id: N" lines are the events.
        guard let end = buffer.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        var ids: [UInt64] = []
        for line in buffer[..<end].split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("id: ".utf8)) {
            let text = String(decoding: line.dropFirst(4), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if let id = UInt64(text) { ids.append(id) }
        }
        buffer = Array(buffer[(end + 1)...])
        return ids
    }

    /// The ids of the events read until one with `sequence` (within `seconds`).
    public func read(until sequence: UInt64, seconds: TimeInterval = 60) throws -> [UInt64] {
        var ids: [UInt64] = []
        let deadline = Date().addingTimeInterval(seconds)
        while ids.last != sequence {
            guard Date() < deadline else { throw TestClientError("no event \(sequence) in \(Int(seconds)) s; saw \(ids.suffix(20))") }
            do {
                ids += try next(milliseconds: 1000)
            } catch {
                throw TestClientError("the stream ended; saw \(ids.suffix(20))")
            }
        }
        return ids
    }

    public func close() { Glibc.close(descriptor) }
}
