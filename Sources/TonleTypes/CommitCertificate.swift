import TonleCrypto

/// Why a commit certificate does not prove its block.
public enum CertificateError: Error, Equatable, Sendable, CustomStringConvertible {
    case wrongBlock(expectedHeight: UInt64, expectedHash: Digest)
    case unknownValidator(Ed25519.PublicKey)
    case invalidSignature(Ed25519.PublicKey)
    case insufficientPower(signed: UInt64, needed: UInt64)

    public var description: String {
        switch self {
        case .wrongBlock(let height, let hash): "the certificate is not for block \(height) with hash \(hash)"
        case .unknownValidator(let key): "signer \(key) is not in the validator set"
        case .invalidSignature(let key): "the precommit signature of \(key) is invalid"
        case .insufficientPower(let signed, let needed): "signers hold \(signed) voting power; more than two thirds (\(needed)) is needed"
        }
    }
}

/// Proof that a block was committed: precommits for it, in one round, from validators holding
/// more than two thirds of the voting power. Stored with block h and carried in block h+1.
public struct CommitCertificate: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.commitCertificate
    public static let encodedBytesMax = 2 + 8 + 4 + 32 + 4 + Limits.validatorsMax * KeySignature.encodedBytes

    public let height: UInt64
    public let round: UInt32
    public let blockHash: Digest
    /// Validators' precommit signatures, sorted by key, one per validator.
    public let signatures: [KeySignature]

    /// Sorts `signatures` by key; throws on none, too many, or two from one validator.
    public init(height: UInt64, round: UInt32, blockHash: Digest, signatures: [KeySignature]) throws(DecodeError) {
        try self.init(height: height, round: round, blockHash: blockHash, sorted: signatures.sorted { $0.publicKey < $1.publicKey })
    }

    private init(height: UInt64, round: UInt32, blockHash: Digest, sorted signatures: [KeySignature]) throws(DecodeError) {
        guard !signatures.isEmpty else { throw .invalidValue(field: "commit signatures", reason: "a certificate needs signatures") }
        guard signatures.count <= Limits.validatorsMax else {
            throw .tooLarge(field: "commit signatures", count: signatures.count, max: Limits.validatorsMax)
        }
        try signatures.requireStrictlyAscending("commit signatures", by: \.publicKey)
        (self.height, self.round, self.blockHash, self.signatures) = (height, round, blockHash, signatures)
    }

    /// The precommit each signature must be over.
    public func precommit(chainID: ChainID, validator: Ed25519.PublicKey) -> VoteBody {
        VoteBody(chainID: chainID, type: .precommit, height: height, round: round, blockHash: blockHash, validator: validator)
    }

    /// The signature checks, for batch verification by the caller.
    public func signatureChecks(chainID: ChainID) -> [SignatureCheck] {
        signatures.map {
            SignatureCheck(publicKey: $0.publicKey, signature: $0.signature, message: precommit(chainID: chainID, validator: $0.publicKey).encoded)
        }
    }

    /// Throws unless this certificate commits block `height`/`blockHash` under `validators`:
    /// every signer is a validator, every signature is valid, and together they hold a quorum.
    public func verify(chainID: ChainID, validators: ValidatorSet, height expectedHeight: UInt64, blockHash expectedHash: Digest) throws(CertificateError) {
        guard height == expectedHeight, blockHash == expectedHash else {
            throw .wrongBlock(expectedHeight: expectedHeight, expectedHash: expectedHash)
        }
        var power: UInt64 = 0
        for check in signatureChecks(chainID: chainID) {
            guard let validator = validators.validator(check.publicKey) else { throw .unknownValidator(check.publicKey) }
            guard check.isValid else { throw .invalidSignature(check.publicKey) }
            power += validator.power
        }
        guard validators.isQuorum(power) else { throw .insufficientPower(signed: power, needed: validators.quorumPower) }
    }

    /// SHA-256 of the canonical encoding (a block header's `lastCommitHash`).
    public var hash: Digest { SHA256.hash(encoded) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        writer.u64(height)
        writer.u32(round)
        writer.bytes32(blockHash.raw)
        writer.list(signatures)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        try self.init(
            height: reader.u64("height"), round: reader.u32("round"), blockHash: Digest(reader.bytes32("block hash")),
            sorted: reader.list("commit signatures", of: KeySignature.self, max: Limits.validatorsMax, elementBytesMin: KeySignature.encodedBytes))
    }
}
