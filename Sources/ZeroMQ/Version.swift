import CZeroMQ

/// The version of the libzmq library this process is linked against.
///
/// The corresponding C function is `zmq_version`.
public struct LibraryVersion: Sendable, Equatable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int

    /// The version of the linked libzmq.
    public static var current: LibraryVersion {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return LibraryVersion(major: Int(major), minor: Int(minor), patch: Int(patch))
    }

    public var description: String { "\(major).\(minor).\(patch)" }
}
