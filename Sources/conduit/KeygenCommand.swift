import ArgumentParser
import ConduitBroker
import ConduitCore
import Foundation
import ZeroMQ

/// `conduit keygen`: a CURVE key pair for the broker or for one organisation's agents.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a CURVE key pair for the broker or for an organisation.",
        discussion: """
            Writes <dir>/<owner>.key (both keys, readable by its owner only) and <dir>/<owner>.pub (the public key). \
            The owner is `broker` or an organisation of the scenario, such as power-supply-bureau.

            To turn authentication on: `conduit keygen --owner broker --dir keys`, one \
            `conduit keygen --owner <organisation> --dir keys/clients` per organisation, give each organisation its \
            .key file and the broker's .pub, keep the clients' .pub files in keys/clients, and start \
            `conduit broker --server-key keys/broker.key --client-keys keys/clients`. The broker then admits only \
            those keys on all three endpoints, and each key may publish only for its own organisation.
            """
    )

    @Option(help: "Who the key is for: broker, conduit (the aggregator's alerts), or an organisation id of the plan.")
    var owner: String

    @Option(help: "The directory to write the two files to (created if missing).")
    var dir: String = "."

    @Flag(help: "Replace existing key files of the same owner.")
    var force = false

    func validate() throws {
        // Any plan's organisation may have a key (the broker admits it only if its plan names the organisation).
        guard Identifier.isValid(owner) else {
            throw ValidationError("--owner must be broker, conduit or an organisation id (lower-case letters, digits, dashes); got \"\(owner)\"")
        }
    }

    func run() throws {
        let keys = try CurveKeyPair.generate()
        let secretPath = dir + "/" + owner + ".key"
        let publicPath = dir + "/" + owner + ".pub"
        let manager = FileManager.default
        if !force, manager.fileExists(atPath: secretPath) || manager.fileExists(atPath: publicPath) {
            throw ValidationError("\(secretPath) or \(publicPath) already exists; use --force to replace them")
        }
        try manager.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            // The secret key is never readable by others, not even for a moment: created 0600 and renamed in.
            try CurveKeyFile.writePair(keys, owner: owner, secretPath: secretPath, publicPath: publicPath, replacing: force)
        } catch {
            throw ValidationError(error.description)
        }
        print("wrote \(secretPath) (secret: keep it with \(owner)) and \(publicPath)")
        print("public key \(keys.publicKeyText)")
    }
}
