import ConduitCore
import Foundation
import ZeroMQ

/// CURVE authentication for all three of the broker's endpoints: the broker's key pair and the public keys it
/// admits, each belonging to one organisation of the scenario.
///
/// With authentication on, a client whose key is not listed fails its handshake (ZAP status 400); an admitted
/// client's organisation is the authenticated identity the broker stamps on its events (`authidentity`), and an
/// event or `HELLO` whose source names another organisation is rejected with `auth.forbidden`.
public struct BrokerAuthentication: Sendable {
    /// The broker's own key pair (the secret key stays on the broker's machine).
    public var serverKeys: CurveKeyPair
    /// Admitted clients: 32-byte public key → organisation id.
    public var clients: [[UInt8]: String]

    public init(serverKeys: CurveKeyPair, clients: [[UInt8]: String]) {
        self.serverKeys = serverKeys
        self.clients = clients
    }

    /// The ZAP decision for one connection.
    func decide(_ request: ZAPRequest) -> ZAPDecision {
        guard request.mechanism == "CURVE", let key = request.clientPublicKey else {
            return .deny(reason: "CURVE required")
        }
        guard let organisation = clients[key] else { return .deny(reason: "unknown client key") }
        return .allow(userId: organisation)
    }
}

extension BrokerAuthentication {
    /// Loads the broker's authentication: its secret key file, and every `*.pub` file in `clientsDirectory`, each of
    /// an organisation of the scenario.
    public static func load(serverKeyFile: String, clientsDirectory: String, scenario: Scenario)
        throws(BrokerError) -> BrokerAuthentication
    {
        func wrapped(_ error: CurveKeyFileError) -> BrokerError {
            BrokerError(.invalidConfiguration, error.message, underlying: error.underlying)
        }
        let server: CurveKeyPair
        do { server = try CurveKeyFile.read(serverKeyFile).keyPair(path: serverKeyFile) } catch { throw wrapped(error) }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: clientsDirectory).filter { $0.hasSuffix(".pub") }.sorted()
        } catch {
            throw BrokerError(.invalidConfiguration, "cannot list the client keys in \(clientsDirectory)", underlying: ErrorDescription(error))
        }
        var clients: [[UInt8]: String] = [:]
        var listedIn: [[UInt8]: String] = [:]
        for name in names {
            let path = clientsDirectory + "/" + name
            let file: CurveKeyFile
            do { file = try CurveKeyFile.read(path) } catch { throw wrapped(error) }
            guard scenario.organisation(file.owner) != nil else {
                throw BrokerError(.invalidConfiguration, "\(path): \(file.owner) is not an organisation of the scenario")
            }
            // One key is one principal: a key listed twice could speak for either organisation.
            if let earlier = listedIn[file.publicKeyBytes] {
                throw BrokerError(
                    .invalidConfiguration,
                    "\(path) and \(earlier) list the same public key (for \(file.owner) and \(clients[file.publicKeyBytes] ?? "?")); a key belongs to one organisation: remove one")
            }
            listedIn[file.publicKeyBytes] = path
            clients[file.publicKeyBytes] = file.owner
        }
        guard !clients.isEmpty else {
            throw BrokerError(.invalidConfiguration, "no client keys (*.pub) in \(clientsDirectory): nobody could connect")
        }
        return BrokerAuthentication(serverKeys: server, clients: clients)
    }
}
