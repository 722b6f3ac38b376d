#if canImport(Glibc)
import Glibc
#endif

/// Why a file could not be replaced: the path, the system call and its errno.
public struct AtomicFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var errno: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Replaces a whole file atomically: the bytes go to a temporary file beside it, which is renamed over it, so a
/// reader (or a crash) sees the old file or the new one, never a mix. Every file the project rewrites whole goes
/// through here: journal indexes, outbox compaction, the aggregator's checkpoint, state checkpoints.
public enum AtomicFile {
    /// The name of the temporary file that replacing `name` writes first (`.name.replacing`, beside it): what a
    /// crash can leave behind, to be removed or ignored.
    public static func temporaryName(for name: String) -> String { "." + name + ".replacing" }

    /// Whether a file name is such a temporary file.
    public static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.hasSuffix(".replacing") }

    /// - Parameter durable: sync the new file before the rename and the directory after it, so the replacement
    ///   survives a machine crash too. Without it, a crash may leave the old file (fine for what can be rebuilt).
    public static func replace(_ path: String, with bytes: [UInt8], durable: Bool) throws(AtomicFileError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = (directory.isEmpty ? "" : directory + "/") + temporaryName(for: name)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw AtomicFileError(path: temporary, operation: "open", errno: Glibc.errno) }
        func fail(_ operation: String, _ at: String) -> AtomicFileError {
            let error = AtomicFileError(path: at, operation: operation, errno: Glibc.errno)
            close(descriptor)
            unlink(temporary)
            return error
        }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0 {
                if Glibc.errno == EINTR { continue }
                throw fail("write", temporary)
            }
            written += result
        }
        if durable && fsync(descriptor) != 0 { throw fail("fsync", temporary) }
        if rename(temporary, path) != 0 { throw fail("rename", path) }
        close(descriptor)
        if durable {
            let directoryDescriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directoryDescriptor >= 0 {
                _ = fsync(directoryDescriptor)
                close(directoryDescriptor)
            }
        }
    }
}
