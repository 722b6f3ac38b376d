#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The TCP connection behind one peer of a server socket, named by the descriptor that libzmq's monitor reports
/// (``MonitorEvent/Kind/accepted``, ``MonitorEvent/Kind/disconnected``) and that the peer's messages carry
/// (``Message/sourceDescriptor``).
///
/// libzmq owns the descriptor. This only reads what the kernel knows of the connection, and may shut it down
/// (`shutdown(2)`): libzmq then sees the peer gone, drops what it held of the connection (an unfinished message
/// included) and closes the descriptor itself. A descriptor number is reused once closed, so a connection is
/// known by its descriptor *and* its peer's address and port, and ``shutDown()`` checks both first.
public struct PeerConnection: Sendable, Hashable, CustomStringConvertible {
    public let descriptor: Int32
    /// The peer's address without its port (`127.0.0.1`, `::1`); `unix` for a local (IPC) connection.
    public let address: String
    /// The peer's port (0 for IPC).
    public let port: UInt16

    /// The connection behind `descriptor` as it is now; `nil` if the descriptor is not a connected socket.
    ///
    /// The corresponding C function is `getpeername`.
    public init?(descriptor: Int32) {
        guard let (address, port) = Self.peer(of: descriptor) else { return nil }
        self.descriptor = descriptor
        self.address = address
        self.port = port
    }

    public var description: String { address == "unix" ? "unix#\(descriptor)" : "\(address):\(port)#\(descriptor)" }

    /// Whether the descriptor still names this connection (not closed, not reused for another).
    public var isCurrent: Bool {
        guard let (address, port) = Self.peer(of: descriptor) else { return false }
        return address == self.address && port == self.port
    }

    /// Shuts the connection down in both directions, if the descriptor still names it; returns whether it did.
    ///
    /// The corresponding C function is `shutdown`.
    @discardableResult
    public func shutDown() -> Bool {
        guard isCurrent else { return false }
        return shutdown(descriptor, Int32(SHUT_RDWR)) == 0
    }

    /// What the kernel has counted on a TCP connection, within bounds: exact (each range one value) when no byte
    /// arrived and none was acknowledged while the kernel was asked; otherwise the least and the most each count can
    /// be.
    public struct Counters: Sendable, Equatable {
        /// Bytes that arrived from the peer and that libzmq has read from the kernel (received minus what waits in
        /// the kernel's receive queue).
        public var taken: ClosedRange<UInt64>
        /// Bytes libzmq wrote to the kernel for the peer: acknowledged by it, or still in the send queue.
        public var written: ClosedRange<UInt64>
    }

    /// The kernel's counters for the connection; `nil` if it is not TCP, or the kernel does not count received
    /// bytes (Linux before 4.1).
    ///
    /// The corresponding C functions are `getsockopt` with `TCP_INFO` and `ioctl` with `SIOCINQ` and `SIOCOUTQ`.
    public func counters() -> Counters? {
        #if os(Linux)
        // Glibc's `struct tcp_info` stops before the byte counters; the kernel's (linux/tcp.h) has
        // `tcpi_bytes_acked` and `tcpi_bytes_received` as u64s at offsets 120 and 128.
        let ackedOffset = 120
        let receivedOffset = 128
        func byteCounters() -> (acked: UInt64, received: UInt64)? {
            var buffer = [UInt8](repeating: 0, count: 256)
            var length = socklen_t(buffer.count)
            let status = buffer.withUnsafeMutableBytes { raw in
                getsockopt(descriptor, Int32(IPPROTO_TCP), Int32(TCP_INFO), raw.baseAddress, &length)
            }
            guard status == 0, Int(length) >= receivedOffset + 8 else { return nil }
            return buffer.withUnsafeBytes {
                ($0.loadUnaligned(fromByteOffset: ackedOffset, as: UInt64.self),
                 $0.loadUnaligned(fromByteOffset: receivedOffset, as: UInt64.self))
            }
        }
        guard let before = byteCounters() else { return nil }
        var waiting: Int32 = 0
        var queued: Int32 = 0
        guard ioctl(descriptor, UInt(FIONREAD), &waiting) == 0, ioctl(descriptor, UInt(TIOCOUTQ), &queued) == 0,
            let after = byteCounters()
        else {
            return nil
        }
        // The queues are read between two readings of the counters, while libzmq's I/O thread reads and writes the
        // socket and the peer sends and acknowledges. At the moment a queue was read, its counter stood between its
        // two readings: that bounds what libzmq had read and written then. A peer that streams without a pause (the
        // very one the guard must stop) moves the counters between nearly every two readings, so bounds, not
        // nothing, are what such a reading gives.
        let waitingBytes = UInt64(max(0, waiting))
        let queuedBytes = UInt64(max(0, queued))
        guard after.received >= before.received, after.acked >= before.acked, waitingBytes <= after.received else { return nil }
        let leastTaken = before.received >= waitingBytes ? before.received - waitingBytes : 0
        return Counters(
            taken: leastTaken...(after.received - waitingBytes),
            written: (before.acked &+ queuedBytes)...(after.acked &+ queuedBytes))
        #else
        return nil
        #endif
    }

    private static func peer(of descriptor: Int32) -> (String, UInt16)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
        }
        guard status == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            let port = withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(as: sockaddr_in.self).sin_port) }
            let offset = MemoryLayout<sockaddr_in>.offset(of: \sockaddr_in.sin_addr)!
            return (text(family: AF_INET, storage, offset: offset, length: Int(INET_ADDRSTRLEN)), port)
        case AF_INET6:
            let port = withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(as: sockaddr_in6.self).sin6_port) }
            let offset = MemoryLayout<sockaddr_in6>.offset(of: \sockaddr_in6.sin6_addr)!
            return (text(family: AF_INET6, storage, offset: offset, length: Int(INET6_ADDRSTRLEN)), port)
        case AF_UNIX:
            return ("unix", 0)
        default:
            return nil
        }
    }

    /// The address at `offset` in `storage` as text (`inet_ntop`).
    private static func text(family: Int32, _ storage: sockaddr_storage, offset: Int, length: Int) -> String {
        var characters = [CChar](repeating: 0, count: length + 1)
        let written = withUnsafeBytes(of: storage) { bytes in
            characters.withUnsafeMutableBufferPointer { buffer in
                inet_ntop(family, bytes.baseAddress! + offset, buffer.baseAddress, socklen_t(length))
            }
        }
        guard written != nil else { return "?" }
        return String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The process's limit on open descriptors (`RLIMIT_NOFILE`), which bounds how many connections it can hold.
public enum DescriptorLimit {
    /// The soft limit now in effect.
    ///
    /// The corresponding C function is `getrlimit`.
    public static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is the largest value
    }

    /// Raises the soft limit to the hard limit (never lowers it) and returns the limit then in effect.
    ///
    /// The corresponding C function is `setrlimit`.
    @discardableResult
    public static func raiseToMaximum() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return current }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised)
        }
        return current
    }

    /// How many descriptors the process has open (the entries of `/proc/self/fd`); `nil` where that cannot be read.
    public static var openCount: Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { $0.prefix(2) }
            if name.first != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1  // the directory stream's own descriptor
    }
}
