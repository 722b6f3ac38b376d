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

    /// Reads a key file, with an error naming the file and what is wrong.
    public static func read(_ path: String) throws(BrokerError) -> CurveKeyFile {
        let file: CurveKeyFile
        do {
            file = try JSONDecoder().decode(CurveKeyFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw BrokerError(.invalidConfiguration, "cannot read the key file \(path)", underlying: ErrorDescription(error))
        }
        guard let key = Z85.decode(file.publicKey), key.count == 32 else {
            throw BrokerError(.invalidConfiguration, "\(path): publicKey is not a 40-character Z85 key")
        }
        if let secret = file.secretKey, (Z85.decode(secret)?.count ?? 0) != 32 {
            throw BrokerError(.invalidConfiguration, "\(path): secretKey is not a 40-character Z85 key")
        }
        return file
    }

    /// The key pair, when this is a secret key file.
    public func keyPair(path: String) throws(BrokerError) -> CurveKeyPair {
        guard let secretKey, let secret = Z85.decode(secretKey) else {
            throw BrokerError(.invalidConfiguration, "\(path) holds no secret key; give the .key file, not the .pub")
        }
        do {
            let pair = try CurveKeyPair(secretKey: secret)
            guard pair.publicKeyText == publicKey else {
                throw BrokerError(.invalidConfiguration, "\(path): the public key does not belong to the secret key")
            }
            return pair
        } catch let error as BrokerError {
            throw error
        } catch {
            throw BrokerError(.invalidConfiguration, "\(path): the secret key is not usable", underlying: ErrorDescription(error))
        }
    }

    /// Loads the broker's authentication: its secret key file, and every `*.pub` file in `clientsDirectory`.
    public static func authentication(serverKeyFile: String, clientsDirectory: String, scenario: Scenario)
        throws(BrokerError) -> BrokerAuthentication
    {
        let server = try read(serverKeyFile).keyPair(path: serverKeyFile)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: clientsDirectory).filter { $0.hasSuffix(".pub") }.sorted()
        } catch {
            throw BrokerError(.invalidConfiguration, "cannot list the client keys in \(clientsDirectory)", underlying: ErrorDescription(error))
        }
        var clients: [[UInt8]: String] = [:]
        for name in names {
            let path = clientsDirectory + "/" + name
            let file = try read(path)
            guard scenario.organisation(file.owner) != nil else {
                throw BrokerError(.invalidConfiguration, "\(path): \(file.owner) is not an organisation of the scenario")
            }
            clients[Z85.decode(file.publicKey)!] = file.owner
        }
        guard !clients.isEmpty else {
            throw BrokerError(.invalidConfiguration, "no client keys (*.pub) in \(clientsDirectory): nobody could connect")
        }
        return BrokerAuthentication(serverKeys: server, clients: clients)
    }
}

