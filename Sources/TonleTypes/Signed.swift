import TonleCrypto

/// A message body that one key signs: votes and proposals.
public protocol SignableBody: CanonicalMessage, Hashable {
    /// The kind of the signed message that carries this body.
    static var signedKind: MessageKind { get }
    /// The key that must sign the body.
    var signer: Ed25519.PublicKey { get }
}

/// A body and its signer's Ed25519 signature over the body's canonical bytes.
/// Encoded as header, the complete body, then the 64-byte signature.
public struct Signed<Body: SignableBody>: Hashable, Sendable, CanonicalMessage {
    public static var kind: MessageKind { Body.signedKind }
    public static var encodedBytesMax: Int { 2 + Body.encodedBytesMax + Ed25519.Signature.byteCount }

    public let body: Body
    public let signature: Ed25519.Signature

    public init(body: Body, signature: Ed25519.Signature) { (self.body, self.signature) = (body, signature) }

    /// `body` signed with `key`, which must be the body's signer.
    public init(signing body: Body, with key: Ed25519.SigningKey) {
        precondition(key.publicKey == body.signer, "a message is signed by its own signer")
        self.init(body: body, signature: key.sign(body.encoded))
    }

    public var signatureCheck: SignatureCheck {
        SignatureCheck(publicKey: body.signer, signature: signature, message: body.encoded)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        body.encode(to: &writer)
        writer.raw(signature.bytes)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        body = try Body(from: &reader)
        signature = Ed25519.Signature(try reader.take(Ed25519.Signature.byteCount, "signature"))!
    }
}

/// A public key and its signature: one entry in a transaction's signatures or a commit certificate.
public struct KeySignature: Hashable, Sendable, CanonicalCodable {
    public static let encodedBytes = 32 + Ed25519.Signature.byteCount

    public let publicKey: Ed25519.PublicKey
    public let signature: Ed25519.Signature

    public init(publicKey: Ed25519.PublicKey, signature: Ed25519.Signature) { (self.publicKey, self.signature) = (publicKey, signature) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.bytes32(publicKey.raw)
        writer.raw(signature.bytes)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        publicKey = Ed25519.PublicKey(try reader.bytes32("signer"))
        signature = Ed25519.Signature(try reader.take(Ed25519.Signature.byteCount, "signature"))!
    }
}
