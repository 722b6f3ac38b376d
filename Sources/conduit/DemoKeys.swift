import ArgumentParser
import ConduitBroker
import Foundation
import ZeroMQ

/// The demo's CURVE keys, so that it runs with authentication on as a real deployment would: made on its first run
/// in `<data>/keys` (each secret key private) and kept while the run continues. The broker's pair, one pair per
/// organisation, the aggregator's (`conduit`), and the public keys the broker admits in `keys/clients`.
struct DemoKeys {
    let directory: String
    let broker: CurveKeyPair
    /// Owner → key pair: every organisation of the demo and `conduit`.
    let clients: [String: CurveKeyPair]

    /// Reads the keys in `directory`, making those that are missing.
    static func loadOrMake(in directory: String, owners: [String]) throws -> DemoKeys {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory + "/clients", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(directory, 0o700)
        func pair(_ owner: String) throws -> CurveKeyPair {
            let secretPath = "\(directory)/\(owner).key"
            if manager.fileExists(atPath: secretPath) {
                do { return try CurveKeyFile.read(secretPath).keyPair(path: secretPath) } catch { throw ValidationError("\(error)") }
            }
            let keys = try CurveKeyPair.generate()
            let publicPath = owner == "broker" ? "\(directory)/broker.pub" : "\(directory)/clients/\(owner).pub"
            do {
                try CurveKeyFile.writePair(keys, owner: owner, secretPath: secretPath, publicPath: publicPath, replacing: false)
            } catch { throw ValidationError("\(error)") }
            return keys
        }
        let broker = try pair("broker")
        var clients: [String: CurveKeyPair] = [:]
        for owner in owners { clients[owner] = try pair(owner) }
        return DemoKeys(directory: directory, broker: broker, clients: clients)
    }

    /// What the broker admits: every client key, for its owner.
    var authentication: BrokerAuthentication {
        BrokerAuthentication(
            serverKeys: broker, clients: Dictionary(uniqueKeysWithValues: clients.map { ($0.value.publicKey, $0.key) }))
    }

    /// The keys an owner connects to the broker with.
    func client(_ owner: String) -> CurveClientKeys? {
        clients[owner].map { CurveClientKeys(keys: $0, serverKey: broker.publicKey) }
    }
}
