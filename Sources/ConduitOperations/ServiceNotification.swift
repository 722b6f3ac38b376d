#if canImport(Glibc)
import Glibc
#endif

/// Tells the service manager how a service is doing (systemd's `sd_notify` protocol, for `Type=notify` units):
/// a datagram of `KEY=value` lines to the Unix socket named by `NOTIFY_SOCKET`. Without that variable (not started
/// by systemd, or not `Type=notify`) it does nothing.
public enum ServiceNotification {
    /// The service is up: its endpoints are bound and it serves.
    public static func ready(status: String? = nil, environment: [String: String]) {
        send(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? []), environment: environment)
    }

    /// The service is stopping.
    public static func stopping(environment: [String: String]) {
        send(["STOPPING=1"], environment: environment)
    }

    /// Sends `lines` to the socket in `NOTIFY_SOCKET`; returns whether a datagram was sent.
    @discardableResult
    public static func send(_ lines: [String], environment: [String: String]) -> Bool {
        guard let name = environment["NOTIFY_SOCKET"], !name.isEmpty, name.utf8.count < 108 else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(name.utf8)
        // A name starting with @ is in the abstract namespace: a leading NUL byte, and no terminating one counted.
        let abstract = path.first == UInt8(ascii: "@")
        if abstract { path[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.enumerated() { buffer[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (abstract ? 0 : 1))
        let message = Array((lines.joined(separator: "\n") + "\n").utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), socketAddress, length) }
            }
        }
        return sent == message.count
    }
}
