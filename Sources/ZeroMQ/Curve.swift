import CZeroMQ

/// Z85, ZeroMQ's printable encoding of binary keys (RFC 32): 4 bytes become 5 characters.
public enum Z85 {
    /// Encodes `bytes`, whose count must be a multiple of 4; `nil` otherwise.
    ///
    /// The corresponding C function is `zmq_z85_encode`.
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var output = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        let encoded = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in zmq_z85_encode(out.baseAddress, input.baseAddress, bytes.count) }
        }
        guard encoded != nil else { return nil }
        return String(decoding: output.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes Z85 `text`, whose length must be a multiple of 5 and whose characters must be Z85's; `nil` otherwise.
    ///
    /// The corresponding C function is `zmq_z85_decode`.
    public static func decode(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 5 == 0 else { return nil }
        var output = [UInt8](repeating: 0, count: characters.count * 4 / 5)
        let decoded = output.withUnsafeMutableBufferPointer { out in
            zmq_z85_decode(out.baseAddress, text)
        }
        return decoded == nil ? nil : output
    }
}

/// The text in a NUL-terminated C character buffer.
private func text(_ characters: [CChar]) -> String {
    let bytes = characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

/// A CURVE key pair (RFC 26): a 32-byte public key and its secret key, each printable as 40 Z85 characters.
public struct CurveKeyPair: Sendable, Equatable {
    /// The public key, 32 bytes.
    public let publicKey: [UInt8]
    /// The secret key, 32 bytes. Keep it out of logs.
    public let secretKey: [UInt8]

    /// The public key in Z85 (40 characters).
    public var publicKeyText: String { Z85.encode(publicKey)! }
    /// The secret key in Z85 (40 characters).
    public var secretKeyText: String { Z85.encode(secretKey)! }

    /// Makes a new random key pair. Throws when libzmq was built without CURVE support.
    ///
    /// The corresponding C function is `zmq_curve_keypair`.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_keypair") { zmq_curve_keypair(&publicText, &secretText) }
        return CurveKeyPair(
            publicKey: Z85.decode(text(publicText))!, secretKey: Z85.decode(text(secretText))!)
    }

    /// The key pair whose secret key is `secretKey` (32 bytes), deriving the public key.
    ///
    /// The corresponding C function is `zmq_curve_public`.
    public init(secretKey: [UInt8]) throws(ZMQError) {
        guard secretKey.count == 32, let secretText = Z85.encode(secretKey) else {
            throw ZMQError(code: .invalidArgument, operation: "zmq_curve_public(secret key of \(secretKey.count) bytes)")
        }
        var publicText = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_public") { zmq_curve_public(&publicText, secretText) }
        self.publicKey = Z85.decode(text(publicText))!
        self.secretKey = secretKey
    }

    init(publicKey: [UInt8], secretKey: [UInt8]) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Whether libzmq was built with CURVE security.
    ///
    /// The corresponding C function is `zmq_has("curve")`.
    public static var isAvailable: Bool { zmq_has("curve") == 1 }
}

/// A CURVE client's own key pair and the public key of the server it connects to.
public struct CurveClientKeys: Sendable, Equatable {
    public var keys: CurveKeyPair
    public var serverKey: [UInt8]
    public init(keys: CurveKeyPair, serverKey: [UInt8]) {
        self.keys = keys
        self.serverKey = serverKey
    }
}

extension Socket {
    /// Makes this socket a CURVE client with `client`'s keys (see ``makeCurveClient(_:serverKey:)``).
    public func makeCurveClient(_ client: CurveClientKeys) throws(ZMQError) {
        try makeCurveClient(client.keys, serverKey: client.serverKey)
    }

    /// Makes this socket a CURVE client with `client`'s keys, when there are any, and watches its handshakes: the
    /// monitor returned (`nil` without keys) tells a request that got no answer whether the server refused the key
    /// (``SocketMonitor/latestHandshakeFailure()``). Call it before `connect`, and close the monitor before the socket.
    public func makeCurveClientWatchingHandshakes(_ client: CurveClientKeys?) throws(ZMQError) -> SocketMonitor? {
        guard let client else { return nil }
        try makeCurveClient(client)
        return try SocketMonitor.handshakeFailures(of: self)
    }

    /// Makes this socket a CURVE server with `keys`. Bind a ``ZAPHandler`` first, or every client is accepted.
    public func makeCurveServer(_ keys: CurveKeyPair) throws(ZMQError) {
        try set(.curveServer, true)
        try set(.curveSecretKey, keys.secretKey)
    }

    /// Makes this socket a CURVE client with its own `keys`, expecting the server's public key `serverKey`.
    public func makeCurveClient(_ keys: CurveKeyPair, serverKey: [UInt8]) throws(ZMQError) {
        try set(.curveServerKey, serverKey)
        try set(.curvePublicKey, keys.publicKey)
        try set(.curveSecretKey, keys.secretKey)
    }
}
