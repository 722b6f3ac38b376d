import Foundation

/// A plain HTTP/1.1 client for tests of the operations endpoints: one request per connection, no dependencies.
public enum HTTPProbe {
    /// `GET path` over a fresh TCP connection: the status and the body.
    public static func get(_ address: String, _ path: String, method: String = "GET") throws -> (status: Int, body: String) {
        let descriptor = try connection(to: address)
        defer { close(descriptor) }
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            response += buffer[..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusText = text.split(separator: " ").dropFirst().first, let status = Int(statusText),
            let bodyStart = text.range(of: "\r\n\r\n")
        else { throw TestClientError("not an HTTP response: \(text)") }
        return (status, String(text[bodyStart.upperBound...]))
    }

    /// A TCP connection to `address` (`host:port`, IPv4); the caller closes the descriptor.
    public static func connection(to address: String) throws -> Int32 {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw TestClientError("not host:port: \(address)") }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = port.bigEndian
        inet_pton(AF_INET, String(parts[0]), &peer.sin_addr)
        let connected = withUnsafePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw TestClientError("cannot connect to \(address)")
        }
        return descriptor
    }
}

/// Reading the Prometheus text format in tests.
public enum PrometheusText {
    /// The value of the sample named exactly `name` (labels included, if any), if there is one.
    public static func sample(_ exposition: String, _ name: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }
}
