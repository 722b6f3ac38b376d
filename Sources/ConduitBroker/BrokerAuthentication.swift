import ConduitCore
import Foundation
import Synchronization
import ZeroMQ

/// CURVE authentication for all three of the broker's endpoints: the broker's key pair and the principals it admits,
/// each with its public keys.
///
/// With authentication on, a client whose key is not listed, or whose role may not use the endpoint, fails its
/// handshake (ZAP status 400; each endpoint is a ZAP domain of its own: `ingest`, `fanout`, `query`). An admitted
/// client's organisation is the authenticated identity the broker stamps on its events (`authidentity`); an event or
/// `HELLO` whose source names another organisation, or whose kind the principal's role may not publish, is rejected
/// with `auth.forbidden`.
public struct BrokerAuthentication: Sendable {
    /// The broker's own key pair (the secret key stays on the broker's machine).
    public var serverKeys: CurveKeyPair
    /// Admitted clients: 32-byte public key → principal.
    public var principals: [[UInt8]: Principal]
    /// Where the principals were read from, to read them again (``Broker/reloadAuthorisation()``, SIGHUP).
    public var source: Source?

    /// Where a broker's principals come from.
    public enum Source: Sendable, Equatable {
        /// Every `*.pub` file of a directory: each key speaks for its owner organisation, with all its rights.
        case keyDirectory(String)
        /// An authorisation file (`conduit-authorisation/1`): principals with roles.
        case authorisationFile(String)
    }

    public init(serverKeys: CurveKeyPair, principals: [[UInt8]: Principal], source: Source? = nil) {
        self.serverKeys = serverKeys
        self.principals = principals
        self.source = source
    }

    /// Each key speaks for its organisation with all its rights (a principal named after the organisation, no role).
    public init(serverKeys: CurveKeyPair, clients: [[UInt8]: String]) {
        self.init(
            serverKeys: serverKeys,
            principals: clients.mapValues { Principal(name: $0, organisation: $0, role: nil) })
    }

    /// The ZAP decision for one connection to the endpoint named by the request's domain.
    func decide(_ request: ZAPRequest) -> ZAPDecision {
        guard request.mechanism == "CURVE", let key = request.clientPublicKey else {
            return .deny(reason: "CURVE required")
        }
        guard let principal = principals[key] else { return .deny(reason: "unknown client key") }
        guard let endpoint = HubEndpoint(rawValue: request.domain), principal.mayConnect(to: endpoint) else {
            return .deny(reason: "\(principal.name) (role \(principal.role?.rawValue ?? "organisation")) may not use the \(request.domain) endpoint")
        }
        return .allow(userId: principal.name)
    }

    /// Of `principals`, the keys whose role may read the aggregator's snapshots (coordinator, reviewer, dashboard), each
    /// with its principal's name: what an aggregator admits to its snapshot endpoint.
    public static func snapshotClients(_ principals: [[UInt8]: Principal]) -> [[UInt8]: String] {
        principals.filter { $0.value.mayConnect(to: .snapshot) }.mapValues(\.name)
    }

    /// The principals by name (the user id of their connections).
    var principalsByName: [String: Principal] {
        Dictionary(principals.values.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

extension BrokerAuthentication {
    /// Loads the broker's authentication: its secret key file, and every `*.pub` file in `clientsDirectory`, each of
    /// an organisation of the scenario.
    public static func load(serverKeyFile: String, clientsDirectory: String, scenario: Scenario)
        throws(BrokerError) -> BrokerAuthentication
    {
        let server = try serverKeys(serverKeyFile)
        return BrokerAuthentication(
            serverKeys: server, principals: try principals(from: .keyDirectory(clientsDirectory), scenario: scenario),
            source: .keyDirectory(clientsDirectory))
    }

    /// Loads the broker's authentication: its secret key file, and the principals of an authorisation file.
    public static func load(serverKeyFile: String, authorisationFile: String, scenario: Scenario)
        throws(BrokerError) -> BrokerAuthentication
    {
        let server = try serverKeys(serverKeyFile)
        return BrokerAuthentication(
            serverKeys: server, principals: try principals(from: .authorisationFile(authorisationFile), scenario: scenario),
            source: .authorisationFile(authorisationFile))
    }

    static func serverKeys(_ path: String) throws(BrokerError) -> CurveKeyPair {
        do { return try CurveKeyFile.read(path).keyPair(path: path) } catch { throw wrapped(error) }
    }

    private static func wrapped(_ error: CurveKeyFileError) -> BrokerError {
        BrokerError(.invalidConfiguration, error.message, underlying: error.underlying)
    }

    /// The principals of `source`, checked against `scenario`: every key is 32 bytes of Z85, belongs to one principal,
    /// and speaks for an organisation of the plan (or `conduit`).
    public static func principals(from source: Source, scenario: Scenario) throws(BrokerError) -> [[UInt8]: Principal] {
        var principals: [[UInt8]: Principal] = [:]
        var listedIn: [[UInt8]: String] = [:]
        // One key is one principal: a key listed twice could speak for either.
        func admit(_ key: [UInt8], _ principal: Principal, from place: String) throws(BrokerError) {
            if let earlier = listedIn[key] {
                throw BrokerError(
                    .invalidConfiguration,
                    "\(place) and \(earlier) list the same public key (for \(principal.name) and \(principals[key]?.name ?? "?")); a key belongs to one principal: remove one")
            }
            listedIn[key] = place
            principals[key] = principal
        }
        switch source {
        case .keyDirectory(let directory):
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pub") }.sorted()
            } catch {
                throw BrokerError(.invalidConfiguration, "cannot list the client keys in \(directory)", underlying: ErrorDescription(error))
            }
            for name in names {
                let path = directory + "/" + name
                let file: CurveKeyFile
                do { file = try CurveKeyFile.read(path) } catch { throw wrapped(error) }
                // `conduit` is the aggregator's, which publishes the alerts it derives (keygen --owner conduit).
                guard scenario.organisation(file.owner) != nil || file.owner == EventValidator.systemOrganisation else {
                    throw BrokerError(
                        .invalidConfiguration,
                        "\(path): \(file.owner) is not an organisation of the scenario (nor conduit, the aggregator's owner)")
                }
                try admit(file.publicKeyBytes, Principal(name: file.owner, organisation: file.owner, role: nil), from: path)
            }
            guard !principals.isEmpty else {
                throw BrokerError(.invalidConfiguration, "no client keys (*.pub) in \(directory): nobody could connect")
            }
        case .authorisationFile(let path):
            let bytes: [UInt8]
            do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw BrokerError(.invalidConfiguration, "cannot read the authorisation file \(path)", underlying: ErrorDescription(error))
            }
            let organisations = Set(scenario.organisations.map(\.id) + [EventValidator.systemOrganisation])
            let file: AuthorisationFile
            do { file = try AuthorisationFile.parse(bytes, organisations: organisations) } catch {
                throw BrokerError(.invalidConfiguration, "\(path):\n\(error)")
            }
            let base = (path as NSString).deletingLastPathComponent
            for entry in file.entries {
                for (index, text) in entry.publicKeys.enumerated() {
                    guard let key = Z85.decode(text), key.count == 32 else {
                        throw BrokerError(.invalidConfiguration, "\(path): \(entry.path).publicKeys[\(index)] is not a 40-character Z85 key")
                    }
                    try admit(key, entry.principal, from: "\(path) \(entry.path).publicKeys[\(index)]")
                }
                for (index, name) in entry.keyFiles.enumerated() {
                    let keyPath = name.hasPrefix("/") ? name : (base.isEmpty ? name : base + "/" + name)
                    let keyFile: CurveKeyFile
                    do { keyFile = try CurveKeyFile.read(keyPath) } catch {
                        throw BrokerError(.invalidConfiguration, "\(path): \(entry.path).keyFiles[\(index)]: \(error.message)")
                    }
                    try admit(keyFile.publicKeyBytes, entry.principal, from: "\(path) \(entry.path).keyFiles[\(index)]")
                }
            }
            guard !principals.isEmpty else {
                throw BrokerError(.invalidConfiguration, "\(path) admits no principal: nobody could connect")
            }
        }
        return principals
    }
}

/// The principals in force, shared by the broker's thread and its ZAP handler, and replaced whole on a reload.
final class AuthorisationBox: Sendable {
    private struct Table {
        var authentication: BrokerAuthentication
        var byName: [String: Principal]
        /// Principals removed or changed by reloads, whose connections the broker's thread has yet to close.
        var revoked: Set<String> = []
    }
    private let table: Mutex<Table>
    /// Handshakes refused: an unknown key, no CURVE, or a role that may not use the endpoint.
    let refusals = Atomic<UInt64>(0)

    init(_ authentication: BrokerAuthentication) {
        table = Mutex(Table(authentication: authentication, byName: authentication.principalsByName))
    }

    var authentication: BrokerAuthentication { table.withLock { $0.authentication } }

    func decide(_ request: ZAPRequest) -> ZAPDecision {
        let decision = table.withLock { $0.authentication.decide(request) }
        if case .deny = decision { refusals.add(1, ordering: .relaxed) }
        return decision
    }

    /// The principals whose connections are to be closed since the last call.
    func takeRevoked() -> Set<String> {
        table.withLock { table in
            defer { table.revoked = [] }
            return table.revoked
        }
    }

    /// The principal a connection's user id names, if it is still admitted.
    func principal(named name: String) -> Principal? { table.withLock { $0.byName[name] } }

    /// Puts `principals` in force; returns the principals removed or changed (their connections are to be closed).
    func replace(_ principals: [[UInt8]: Principal]) -> (removed: Set<String>, count: Int) {
        table.withLock { table in
            let before = table.authentication.principals
            table.authentication.principals = principals
            table.byName = table.authentication.principalsByName
            // A principal loses its connections when it is gone, its role or organisation changed, or one of its keys
            // was taken away (a connection does not say which of its principal's keys it used).
            var removed: Set<String> = []
            for (key, principal) in before where principals[key] != principal { removed.insert(principal.name) }
            table.revoked.formUnion(removed)
            return (removed, principals.count)
        }
    }
}
