#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two system calls by which the journal writer makes records durable, replaceable so that tests can
/// make them fail (a full disk, an I/O error) without filling a real disk.
public struct JournalFileIO: Sendable {
    /// Writes `buffer` at `offset` of `descriptor`; returns the number of bytes written, or `-errno`.
    /// A short count is allowed; the writer calls again for the rest. The default is `pwrite(2)`.
    public var write: @Sendable (_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer, _ offset: Int64) -> Int
    /// Flushes the data of `descriptor` to stable storage; returns 0 or `-errno`. The default is `fdatasync(2)`.
    public var sync: @Sendable (_ descriptor: Int32) -> Int32

    /// Creates a seam from a write call and a sync call.
    public init(
        write: @escaping @Sendable (_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer, _ offset: Int64) -> Int,
        sync: @escaping @Sendable (_ descriptor: Int32) -> Int32
    ) {
        self.write = write
        self.sync = sync
    }

    /// `pwrite(2)` and `fdatasync(2)`.
    public static let system = JournalFileIO(
        write: { descriptor, buffer, offset in
            let written = pwrite(descriptor, buffer.baseAddress, buffer.count, off_t(offset))
            return written >= 0 ? written : -Int(errno)
        },
        sync: { descriptor in
            #if canImport(Glibc)
            return fdatasync(descriptor) == 0 ? 0 : -errno
            #else
            return fsync(descriptor) == 0 ? 0 : -errno
            #endif
        })
}

/// Thin wrappers over the POSIX calls the journal needs: each reads `errno` at once, retries `EINTR`
/// and throws a ``JournalError`` naming the file.
enum POSIX {
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(JournalError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            let e = errno
            if e == EINTR { continue }
            throw JournalError.system("open", path: path, errno: e)
        }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, offset: UInt64, path: String)
        throws(JournalError) -> Int
    {
        var done = 0
        while done < count {
            let n = Glibc.pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else {
                let e = errno
                if e == EINTR { continue }
                throw JournalError.system("pread", path: path, offset: offset + UInt64(done), errno: e)
            }
        }
        return done
    }

    static func readAll(_ path: String) throws(JournalError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        let size = try fileSize(fd, path: path)
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var got = 0
        let result = bytes.withUnsafeMutableBytes { p in
            Result { () throws(JournalError) -> Int in
                size > 0 ? try pread(fd, p.baseAddress!, count: Int(size), offset: 0, path: path) : 0
            }
        }
        got = try result.get()
        return Array(bytes[0..<got])
    }

    /// Writes all of `bytes` at `offset` with plain `pwrite(2)` (not the injectable seam).
    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: UInt64, path: String) throws(JournalError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n >= 0 {
                done += n
            } else {
                let e = errno
                if e == EINTR { continue }
                throw JournalError.system("pwrite", path: path, offset: offset + UInt64(done), errno: e)
            }
        }
    }

    static func fileSize(_ fd: Int32, path: String) throws(JournalError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw JournalError.system("fstat", path: path, errno: errno) }
        return UInt64(info.st_size)
    }

    static func truncate(_ fd: Int32, to size: UInt64, path: String) throws(JournalError) {
        while ftruncate(fd, off_t(size)) != 0 {
            let e = errno
            if e == EINTR { continue }
            throw JournalError.system("ftruncate", path: path, offset: size, errno: e)
        }
    }

    static func dataSync(_ fd: Int32, path: String) throws(JournalError) {
        while fdatasync(fd) != 0 {
            let e = errno
            if e == EINTR { continue }
            throw JournalError.system("fdatasync", path: path, errno: e)
        }
    }

    /// Makes directory entries (created, renamed or removed files) durable.
    static func syncDirectory(_ path: String) throws(JournalError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        while fsync(fd) != 0 {
            let e = errno
            if e == EINTR { continue }
            throw JournalError.system("fsync", path: path, errno: e)
        }
    }

    /// Takes an advisory `flock(2)` lock; returns false if `nonBlocking` and another holder has it.
    static func lock(_ fd: Int32, exclusive: Bool, nonBlocking: Bool, path: String) throws(JournalError) -> Bool {
        let operation = (exclusive ? LOCK_EX : LOCK_SH) | (nonBlocking ? LOCK_NB : 0)
        while flock(fd, operation) != 0 {
            let e = errno
            if e == EINTR { continue }
            if e == EWOULDBLOCK { return false }
            throw JournalError.system("flock", path: path, errno: e)
        }
        return true
    }

    static func unlink(_ path: String) throws(JournalError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw JournalError.system("unlink", path: path, errno: errno) }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Makes the directory `path` and any of its parents that are missing (as `mkdir -p`).
    static func makeDirectory(_ path: String) throws(JournalError) {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        let failure = errno
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        let parent = trimmed.lastIndex(of: "/").map { String(trimmed[..<$0]) } ?? ""
        guard failure == ENOENT, !parent.isEmpty else { throw JournalError.system("mkdir", path: path, errno: failure) }
        try makeDirectory(parent)
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw JournalError.system("mkdir", path: path, errno: errno) }
    }

    /// The names in a directory (without "." and "..").
    static func listDirectory(_ path: String) throws(JournalError) -> [String] {
        guard let dir = opendir(path) else { throw JournalError.system("opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Writes a whole file atomically (``AtomicFile``). Not synced: used for index files, which are rebuilt when
    /// missing or damaged.
    static func replaceFile(_ path: String, with bytes: [UInt8]) throws(JournalError) {
        do {
            try AtomicFile.replace(path, with: bytes, durable: false)
        } catch {
            throw JournalError.system(error.operation, path: error.path, errno: error.errno)
        }
    }
}

/// Microseconds since the Unix epoch, from the real-time clock.
func currentMicroseconds() -> Int64 { SystemClock.realtimeMicroseconds() }

/// Nanoseconds from a monotonic clock.
func monotonicNanoseconds() -> UInt64 { SystemClock.monotonicNanoseconds() }

/// Calls `body` with the bytes of `array`, keeping the typed error.
func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(JournalError) -> R) throws(JournalError) -> R {
    let result = array.withUnsafeBytes { p in Result { () throws(JournalError) -> R in try body(p) } }
    return try result.get()
}
