import TonleCrypto

/// A transaction's id: SHA-256 of its body's canonical bytes (what was signed). Signatures are
/// not part of it, so adding or reordering signatures never changes the id.
public struct TransactionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let digest: Digest
    public init(_ digest: Digest) { self.digest = digest }
    public var description: String { digest.hex }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.digest < rhs.digest }
}

/// What a transaction asks for, and what its signers sign.
public struct TransactionBody: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.transactionBody
    public static let encodedBytesMax = Limits.transactionBytesMax

    public var chainID: ChainID
    /// The account that submits the transaction (and pays for it, when fees exist).
    public var creator: AccountID
    /// Chosen by the submitter, unique per creator: the submitter's own idempotency key.
    public var clientID: ID128
    /// Block time after which the transaction can no longer be included.
    public var expiry: Timestamp
    public var commands: [Command]

    public init(chainID: ChainID, creator: AccountID, clientID: ID128, expiry: Timestamp, commands: [Command]) throws(DecodeError) {
        guard !commands.isEmpty else { throw .invalidValue(field: "commands", reason: "a transaction needs at least one command") }
        guard commands.count <= Limits.transactionCommandsMax else {
            throw .tooLarge(field: "commands", count: commands.count, max: Limits.transactionCommandsMax)
        }
        (self.chainID, self.creator, self.clientID, self.expiry, self.commands) = (chainID, creator, clientID, expiry, commands)
    }

    /// The transaction's id.
    public var id: TransactionID { TransactionID(SHA256.hash(encoded)) }

    /// What a retry must repeat: SHA-256 of the body's canonical bytes without the expiry. A
    /// client that rebuilds a lost transaction keeps its creator and client id and gets a new
    /// expiry (so a new id); the same request digest says it asks for the same thing.
    public var requestDigest: Digest {
        var writer = CanonicalWriter()
        writer.header(Self.self)
        chainID.encode(to: &writer)
        creator.encode(to: &writer)
        clientID.encode(to: &writer)
        writer.list(commands)
        return SHA256.hash(writer.bytes)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        chainID.encode(to: &writer)
        creator.encode(to: &writer)
        clientID.encode(to: &writer)
        expiry.encode(to: &writer)
        writer.list(commands)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        try self.init(
            chainID: ChainID(from: &reader), creator: AccountID(from: &reader), clientID: ID128(from: &reader),
            expiry: Timestamp(from: &reader),
            commands: reader.list("commands", of: Command.self, max: Limits.transactionCommandsMax))
    }
}

/// A signed transaction: the body and one or more signatures over the body's canonical bytes,
/// sorted by signer key (one signature per key).
public struct Transaction: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.transaction
    public static let encodedBytesMax = Limits.transactionBytesMax

    public let body: TransactionBody
    public let signatures: [KeySignature]

    /// Sorts `signatures` by key; throws on none, too many, or two from one key.
    public init(body: TransactionBody, signatures: [KeySignature]) throws(DecodeError) {
        try self.init(body: body, sortedSignatures: signatures.sorted { $0.publicKey < $1.publicKey })
    }

    /// Signs `body` with every key in `keys`.
    public static func signing(_ body: TransactionBody, with keys: [Ed25519.SigningKey]) throws(DecodeError) -> Transaction {
        let message = body.encoded
        return try Transaction(body: body, signatures: keys.map { KeySignature(publicKey: $0.publicKey, signature: $0.sign(message)) })
    }

    private init(body: TransactionBody, sortedSignatures signatures: [KeySignature]) throws(DecodeError) {
        guard !signatures.isEmpty else { throw .invalidValue(field: "signatures", reason: "a transaction needs at least one signature") }
        guard signatures.count <= Limits.transactionSignaturesMax else {
            throw .tooLarge(field: "signatures", count: signatures.count, max: Limits.transactionSignaturesMax)
        }
        try signatures.requireStrictlyAscending("signatures", by: \.publicKey)
        (self.body, self.signatures) = (body, signatures)
    }

    public var id: TransactionID { body.id }

    /// One check per signature, for `BatchVerifier` (the mempool verifies many at once).
    public var signatureChecks: [SignatureCheck] {
        let message = body.encoded
        return signatures.map { SignatureCheck(publicKey: $0.publicKey, signature: $0.signature, message: message) }
    }

    /// True when every signature is valid. (Whether the signers satisfy the account's quorum is
    /// the ledger's question.)
    public var hasValidSignatures: Bool { signatureChecks.allSatisfy(\.isValid) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        body.encode(to: &writer)
        writer.list(signatures)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        let body = try TransactionBody(from: &reader)
        try self.init(
            body: body,
            sortedSignatures: reader.list(
                "signatures", of: KeySignature.self, max: Limits.transactionSignaturesMax, elementBytesMin: KeySignature.encodedBytes))
    }
}
