import Foundation

/// Why a CURVE key file cannot be used: the file, what is wrong with it, and the error beneath, if any.
public struct CurveKeyFileError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The file cannot be read, or is not the JSON of a key file.
        case unreadable
        /// A key is not 40 characters of Z85, or the public key does not belong to the secret key.
        case invalidKey
        /// A public key file was given where the secret key file is needed.
        case noSecretKey
        /// A secret key file that its group or others may read or write.
        case unprotected
        /// The file could not be written.
        case unwritable
    }

    public var code: Code
    /// The path and what is wrong, for a person.
    public var message: String
    /// The error beneath (reading, decoding), if any.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        guard let underlying else { return message }
        return "\(message): \(underlying)"
    }
}

/// A CURVE key file as `conduit keygen` writes it: JSON with the owner (an organisation id, or `broker`), the public
/// key and, in the secret file only, the secret key, both in Z85.
public struct CurveKeyFile: Codable, Sendable, Equatable {
    public var owner: String
    public var publicKey: String
    public var secretKey: String?

    public init(owner: String, publicKey: String, secretKey: String?) {
        self.owner = owner
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// The public key's 32 bytes (checked by ``read(_:)``).
    public var publicKeyBytes: [UInt8] { Z85.decode(publicKey) ?? [] }

    /// Reads a key file, with an error naming the file and what is wrong. A file holding a secret key must be
    /// private to its owner (mode 0600 or stricter, as ssh requires of a private key): otherwise it is refused.
    public static func read(_ path: String) throws(CurveKeyFileError) -> CurveKeyFile {
        let file: CurveKeyFile
        do {
            file = try JSONDecoder().decode(CurveKeyFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw CurveKeyFileError(.unreadable, "cannot read the key file \(path)", underlying: Described(error))
        }
        guard let key = Z85.decode(file.publicKey), key.count == 32 else {
            throw CurveKeyFileError(.invalidKey, "\(path): publicKey is not a 40-character Z85 key")
        }
        if let secret = file.secretKey, (Z85.decode(secret)?.count ?? 0) != 32 {
            throw CurveKeyFileError(.invalidKey, "\(path): secretKey is not a 40-character Z85 key")
        }
        if file.secretKey != nil {
            var status = stat()
            if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
                throw CurveKeyFileError(
                    .unprotected,
                    "\(path) holds a secret key but its mode is \(String(status.st_mode & 0o777, radix: 8)): others may read it; "
                        + "make it private with chmod 600 \(path) (and make a new key pair if others did read it)")
            }
        }
        return file
    }

    /// Writes `owner`'s key files: the secret key file at `secretPath`, private from its first byte
    /// (``writePrivately(_:to:replacing:)``), and, when `publicPath` is given, the public key file there (mode 0644,
    /// replaced if it exists).
    public static func writePair(
        _ keys: CurveKeyPair, owner: String, secretPath: String, publicPath: String?, replacing: Bool
    ) throws(CurveKeyFileError) {
        let secret = CurveKeyFile(owner: owner, publicKey: keys.publicKeyText, secretKey: keys.secretKeyText)
        try writePrivately(secret.encoded, to: secretPath, replacing: replacing)
        if let publicPath { try writePublic(keys.publicKey, owner: owner, to: publicPath) }
    }

    /// Writes `owner`'s public key file at `path` (mode 0644, replaced if it exists).
    public static func writePublic(_ publicKey: [UInt8], owner: String, to path: String) throws(CurveKeyFileError) {
        guard let text = Z85.encode(publicKey) else {
            throw CurveKeyFileError(.invalidKey, "a public key is 32 bytes, got \(publicKey.count)")
        }
        let contents = Data(CurveKeyFile(owner: owner, publicKey: text, secretKey: nil).encoded)
        guard FileManager.default.createFile(atPath: path, contents: contents, attributes: [.posixPermissions: 0o644]) else {
            throw CurveKeyFileError(.unwritable, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The file's JSON, as `conduit keygen` writes it (indented, keys sorted).
    var encoded: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// Writes `contents` to `path` so that no other user can read it at any moment: a new file is created with mode
    /// 0600 under a temporary name in the same directory and renamed in (replacing `path` only when `replacing`). The
    /// directory must not be writable by others, who could otherwise swap the file.
    public static func writePrivately(_ contents: [UInt8], to path: String, replacing: Bool) throws(CurveKeyFileError) {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw CurveKeyFileError(.unwritable, "cannot write \(path): the directory \(directory) does not exist")
        }
        if status.st_mode & 0o022 != 0 {
            throw CurveKeyFileError(
                .unwritable,
                "refusing to write a secret key in \(directory): its mode \(String(status.st_mode & 0o777, radix: 8)) lets others write there; use a private directory")
        }
        if !replacing && access(path, F_OK) == 0 {
            throw CurveKeyFileError(.unwritable, "\(path) already exists")
        }
        let temporary = directory + "/." + (path as NSString).lastPathComponent + ".\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw CurveKeyFileError(.unwritable, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        var written = 0
        let ok = contents.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let result = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 { if errno == EINTR { continue } else { return false } }
                written += result
            }
            return fsync(descriptor) == 0
        }
        close(descriptor)
        guard ok, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CurveKeyFileError(.unwritable, "cannot write \(path): \(reason)")
        }
    }

    /// The key pair, when this is a secret key file.
    public func keyPair(path: String) throws(CurveKeyFileError) -> CurveKeyPair {
        guard let secretKey, let secret = Z85.decode(secretKey) else {
            throw CurveKeyFileError(.noSecretKey, "\(path) holds no secret key; give the .key file, not the .pub")
        }
        let pair: CurveKeyPair
        do {
            pair = try CurveKeyPair(secretKey: secret)
        } catch {
            throw CurveKeyFileError(.invalidKey, "\(path): the secret key is not usable", underlying: error)
        }
        guard pair.publicKeyText == publicKey else {
            throw CurveKeyFileError(.invalidKey, "\(path): the public key does not belong to the secret key")
        }
        return pair
    }

    /// A Foundation error as a `Sendable` description.
    private struct Described: Error, Sendable, CustomStringConvertible {
        let description: String
        init(_ error: any Error) { description = "\(error)" }
    }
}
