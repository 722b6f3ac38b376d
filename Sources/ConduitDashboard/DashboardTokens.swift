import ConduitCore
import Foundation

/// The dashboard's tokens file, `conduit-dashboard-tokens/1`: which coordinator each token stands for.
///
/// ```json
/// { "format": "conduit-dashboard-tokens/1",
///   "tokens": [ { "principal": "county-office", "token": "…43 characters…" } ] }
/// ```
///
/// A token is 32 random bytes in base64url. The file holds secrets: it is written readable by its owner only.
public enum DashboardTokens {
    public static let format = "conduit-dashboard-tokens/1"

    /// The principals by token.
    public static func read(_ path: String) throws -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DashboardError.unavailable("cannot read the tokens file \(path): \(error.localizedDescription)")
        }
        return try parse(Array(data), path: path)
    }

    static func parse(_ bytes: [UInt8], path: String) throws -> [String: String] {
        let document: JSONValue
        do { document = try JSONValue.parse(bytes) } catch { throw DashboardError.unavailable("the tokens file \(path) is not valid: \(error)") }
        guard document["format"] == .string(format) else {
            throw DashboardError.unavailable("the tokens file \(path) is not valid: $.format must be \"\(format)\"")
        }
        guard case .array(let entries)? = document["tokens"] else {
            throw DashboardError.unavailable("the tokens file \(path) is not valid: $.tokens must be an array")
        }
        var tokens: [String: String] = [:]
        for (index, entry) in entries.enumerated() {
            guard case .string(let principal)? = entry["principal"], case .string(let token)? = entry["token"], token.utf8.count >= 32 else {
                throw DashboardError.unavailable(
                    "the tokens file \(path) is not valid: $.tokens[\(index)] needs a principal and a token of at least 32 characters")
            }
            tokens[token] = principal
        }
        return tokens
    }

    /// Makes a token for `principal`, adds it to the file at `path` (made if missing, owner-only), returns it.
    public static func add(principal: String, to path: String) throws -> String {
        var existing: [(String, String)] = []
        if FileManager.default.fileExists(atPath: path) {
            existing = try read(path).map { ($0.value, $0.key) }.sorted { $0.0 < $1.0 }
        }
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let token = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        existing.append((principal, token))
        let document = JSONValue.object([
            .init("format", .string(format)),
            .init("tokens", .array(existing.map { .object([.init("principal", .string($0.0)), .init("token", .string($0.1))]) })),
        ])
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DashboardError.unavailable("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let text = document.indented + [UInt8(ascii: "\n")]
        let written = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == text.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw DashboardError.unavailable("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return token
    }

    /// The principals an authorisation file names, with their roles (its keys are not needed here).
    public static func principals(inAuthorisation bytes: [UInt8]) throws -> [(name: String, role: String?)] {
        let document = try JSONValue.parse(bytes)
        guard case .array(let principals)? = document["principals"] else {
            throw DashboardError.unavailable("$.principals must be an array")
        }
        return principals.compactMap { principal in
            guard case .string(let name)? = principal["name"] else { return nil }
            if case .string(let role)? = principal["role"] { return (name, role) }
            return (name, nil)
        }
    }
}
