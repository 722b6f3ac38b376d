import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP peer that speaks ZMTP 3 by hand, byte by byte: what no ZeroMQ library sends — half a frame, a message that
/// never ends, a handshake left open — for tests of what a server holds for such a peer.
public final class RawPeer {
    public let descriptor: Int32
    /// Bytes sent so far.
    public private(set) var bytesSent = 0

    /// The security mechanism named in the greeting.
    public enum Mechanism: String, Sendable {
        case null = "NULL"
        case curve = "CURVE"
    }

    /// Connects to `endpoint` (`tcp://host:port`), from `source` (an address of this host, such as `127.0.0.7`)
    /// when given, sends the greeting and reads the server's; with the NULL mechanism then sends the `READY`
    /// command of a `socketType` socket. Sends wait at most `sendTimeout` for room in the kernel's buffer.
    public init(
        endpoint: String, source: String? = nil, mechanism: Mechanism = .null, socketType: String? = "DEALER",
        sendTimeout: Duration = .seconds(2)
    ) throws {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else {
            throw TestClientError("not a tcp endpoint: \(endpoint)")
        }
        let host = String(endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon])
        guard let port = UInt16(endpoint[endpoint.index(after: colon)...]) else { throw TestClientError("no port in \(endpoint)") }
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestClientError("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: Int(sendTimeout.components.seconds), tv_usec: Int(sendTimeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        do {
            if let source { try Self.bind(descriptor, to: source) }
            try Self.connect(descriptor, host: host, port: port)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        guard send(Self.greeting(mechanism)) else { throw TestClientError("the greeting to \(endpoint) was not taken") }
        // The server's greeting comes before any command (ZMTP 3: the version is known before the handshake).
        try receiveGreeting()
        if mechanism == .null, let socketType {
            guard send(Self.command("READY", Self.property("Socket-Type", Array(socketType.utf8)))) else {
                throw TestClientError("READY to \(endpoint) was not taken")
            }
        }
    }

    deinit { Glibc.close(descriptor) }

    /// Sends `bytes`; `false` if the peer closed the connection, or no room came within the send timeout.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
            bytesSent += written
        }
        return true
    }

    private func receiveGreeting() throws {
        var greeting = [UInt8](repeating: 0, count: 64)
        var received = 0
        while received < 64 {
            var item = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&item, 1, 10_000) == 1 else { throw TestClientError("no greeting from the server") }
            let read = greeting.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress! + received, 64 - received, 0) }
            guard read > 0 else { throw TestClientError("the server closed the connection in its greeting") }
            received += read
        }
    }

    /// Whether the peer closed the connection (or reset it): reads and drops what it sent, waiting at most
    /// `timeout` for news.
    public func isClosed(within timeout: Duration = .zero) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var item = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let remaining = max(.zero, deadline - clock.now)
            let milliseconds = Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
            let ready = poll(&item, 1, milliseconds)
            if ready <= 0 { return false }
            let read = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if read == 0 { return true }
            if read < 0 && errno != EAGAIN && errno != EINTR { return true }
        }
    }

    /// Closes the connection now.
    public func close() { shutdown(descriptor, Int32(SHUT_RDWR)) }

    // MARK: ZMTP 3 in bytes

    /// The 64-byte greeting of a client (version 3.0).
    public static func greeting(_ mechanism: Mechanism) -> [UInt8] {
        var bytes: [UInt8] = [0xFF] + [UInt8](repeating: 0, count: 8) + [0x7F, 3, 0]
        let name = Array(mechanism.rawValue.utf8)
        bytes += name + [UInt8](repeating: 0, count: 20 - name.count)
        bytes += [0] + [UInt8](repeating: 0, count: 31)
        return bytes
    }

    /// The header of a frame of `size` bytes; `more` when another frame of the message follows; `command` for a
    /// command frame.
    public static func frameHeader(size: Int, more: Bool = false, command: Bool = false) -> [UInt8] {
        let flags: UInt8 = (more ? 1 : 0) | (command ? 4 : 0)
        if size <= 255 { return [flags, UInt8(size)] }
        return [flags | 2] + withUnsafeBytes(of: UInt64(size).bigEndian, Array.init)
    }

    /// A whole frame.
    public static func frame(_ bytes: [UInt8], more: Bool = false) -> [UInt8] { frameHeader(size: bytes.count, more: more) + bytes }

    /// A command frame: its name and body.
    public static func command(_ name: String, _ body: [UInt8]) -> [UInt8] {
        let payload = [UInt8(name.utf8.count)] + Array(name.utf8) + body
        return frameHeader(size: payload.count, command: true) + payload
    }

    /// A metadata property of `READY`.
    public static func property(_ name: String, _ value: [UInt8]) -> [UInt8] {
        [UInt8(name.utf8.count)] + Array(name.utf8) + withUnsafeBytes(of: UInt32(value.count).bigEndian, Array.init) + value
    }

    // MARK: Sockets

    private static func address(_ text: String, port: UInt16) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else { throw TestClientError("not an IPv4 address: \(text)") }
        return address
    }

    private static func bind(_ descriptor: Int32, to source: String) throws {
        var address = try address(source, port: 0)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw TestClientError("bind to \(source): errno \(errno)") }
    }

    private static func connect(_ descriptor: Int32, host: String, port: UInt16) throws {
        var address = try address(host, port: port)
        // Non-blocking, so that a server whose backlog is full does not hold the caller for SYN retries.
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if status != 0 {
            guard errno == EINPROGRESS else { throw TestClientError("connect to \(host):\(port): errno \(errno)") }
            var item = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            guard poll(&item, 1, 5000) == 1 else { throw TestClientError("connect to \(host):\(port) timed out") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw TestClientError("connect to \(host):\(port): errno \(error)") }
        }
        _ = fcntl(descriptor, F_SETFL, flags)
    }
}

/// What the kernel says of a process: its memory, descriptors and CPU time (Linux `/proc`).
public enum ProcessResources {
    /// Resident memory now and at its peak (`VmRSS`, `VmHWM`), in MiB; `nil` once the process is gone.
    public static func memory(of pid: Int32) -> (resident: Double, peak: Double)? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var resident: Double?
        var peak: Double?
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kilobytes = Double(parts[1]) else { continue }
            if parts[0] == "VmRSS:" { resident = kilobytes / 1024 }
            if parts[0] == "VmHWM:" { peak = kilobytes / 1024 }
        }
        guard let resident, let peak else { return nil }
        return (resident, peak)
    }

    /// The most descriptors the process may hold open (its `RLIMIT_NOFILE`).
    public static func descriptorLimit(of pid: Int32) -> Int? {
        guard let limits = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8) else { return nil }
        for line in limits.split(separator: "\n") where line.hasPrefix("Max open files") {
            return line.split(separator: " ").dropFirst(3).first.flatMap { Int($0) }
        }
        return nil
    }

    /// Descriptors the process holds open.
    public static func descriptors(of pid: Int32) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    /// CPU time the process used so far (user and system), in seconds.
    public static func cpuSeconds(of pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
