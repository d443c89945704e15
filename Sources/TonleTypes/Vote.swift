import TonleCrypto

/// Prevote or precommit. The raw values are the encoding.
public enum VoteType: UInt8, Sendable, CaseIterable, CanonicalCodable {
    case prevote = 1
    case precommit = 2

    public func encode(to writer: inout CanonicalWriter) { writer.u8(rawValue) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let tag = try reader.u8("vote type")
        guard let type = VoteType(rawValue: tag) else { throw .unknownTag(field: "vote type", tag: UInt64(tag)) }
        self = type
    }
}

/// What a validator signs when it votes: for a block (by hash) or for nothing (nil) at a height
/// and round. A commit certificate's precommits are rebuilt from these fields.
public struct VoteBody: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.voteBody
    public static let encodedBytesMax = 2 + 4 + Limits.chainIDBytesMax + 1 + 8 + 4 + 33 + 32

    public var chainID: ChainID
    public var type: VoteType
    public var height: UInt64
    public var round: UInt32
    public var blockHash: Digest?
    public var validator: Ed25519.PublicKey

    public init(chainID: ChainID, type: VoteType, height: UInt64, round: UInt32, blockHash: Digest?, validator: Ed25519.PublicKey) {
        (self.chainID, self.type, self.height, self.round) = (chainID, type, height, round)
        (self.blockHash, self.validator) = (blockHash, validator)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        chainID.encode(to: &writer)
        type.encode(to: &writer)
        writer.u64(height)
        writer.u32(round)
        writer.optional(blockHash) { w, h in w.bytes32(h.raw) }
        writer.bytes32(validator.raw)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        chainID = try ChainID(from: &reader)
        type = try VoteType(from: &reader)
        height = try reader.u64("height")
        round = try reader.u32("round")
        blockHash = try reader.optional("block hash") { (r: inout CanonicalReader) throws(DecodeError) in Digest(try r.bytes32("block hash")) }
        validator = Ed25519.PublicKey(try reader.bytes32("validator"))
    }
}

/// A signed vote.
public struct Vote: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.vote
    public static let encodedBytesMax = 2 + VoteBody.encodedBytesMax + Ed25519.Signature.byteCount

    public let body: VoteBody
    public let signature: Ed25519.Signature

    public init(body: VoteBody, signature: Ed25519.Signature) { (self.body, self.signature) = (body, signature) }

    /// `body` signed with `key`, which must be the body's validator key.
    public init(signing body: VoteBody, with key: Ed25519.SigningKey) {
        precondition(key.publicKey == body.validator, "a vote is signed by its own validator")
        self.init(body: body, signature: key.sign(body.encoded))
    }

    public var signatureCheck: SignatureCheck {
        SignatureCheck(publicKey: body.validator, signature: signature, message: body.encoded)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        body.encode(to: &writer)
        writer.raw(signature.bytes)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        body = try VoteBody(from: &reader)
        signature = Ed25519.Signature(try reader.take(Ed25519.Signature.byteCount, "signature"))!
    }
}

/// What a proposer signs: the block it proposes for a height and round, with the round of the
/// proof-of-lock it re-proposes (Tendermint's validRound), if any.
public struct ProposalBody: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.proposalBody
    public static let encodedBytesMax = 2 + 4 + Limits.chainIDBytesMax + 8 + 4 + 5 + 32 + 8 + 32

    public var chainID: ChainID
    public var height: UInt64
    public var round: UInt32
    public var proofOfLockRound: UInt32?
    public var blockHash: Digest
    public var time: Timestamp
    public var proposer: Ed25519.PublicKey

    /// Throws when `proofOfLockRound` is not below `round`.
    public init(
        chainID: ChainID, height: UInt64, round: UInt32, proofOfLockRound: UInt32?, blockHash: Digest,
        time: Timestamp, proposer: Ed25519.PublicKey
    ) throws(DecodeError) {
        if let proofOfLockRound, proofOfLockRound >= round {
            throw .invalidValue(field: "proof-of-lock round", reason: "\(proofOfLockRound) is not below round \(round)")
        }
        (self.chainID, self.height, self.round, self.proofOfLockRound) = (chainID, height, round, proofOfLockRound)
        (self.blockHash, self.time, self.proposer) = (blockHash, time, proposer)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        chainID.encode(to: &writer)
        writer.u64(height)
        writer.u32(round)
        writer.optional(proofOfLockRound) { w, r in w.u32(r) }
        writer.bytes32(blockHash.raw)
        time.encode(to: &writer)
        writer.bytes32(proposer.raw)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        try self.init(
            chainID: ChainID(from: &reader), height: reader.u64("height"), round: reader.u32("round"),
            proofOfLockRound: reader.optional("proof-of-lock round") { (r: inout CanonicalReader) throws(DecodeError) in try r.u32("round") },
            blockHash: Digest(reader.bytes32("block hash")), time: Timestamp(from: &reader),
            proposer: Ed25519.PublicKey(reader.bytes32("proposer")))
    }
}

/// A signed proposal. The block itself travels separately and is matched by hash.
public struct Proposal: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.proposal
    public static let encodedBytesMax = 2 + ProposalBody.encodedBytesMax + Ed25519.Signature.byteCount

    public let body: ProposalBody
    public let signature: Ed25519.Signature

    public init(body: ProposalBody, signature: Ed25519.Signature) { (self.body, self.signature) = (body, signature) }

    /// `body` signed with `key`, which must be the body's proposer key.
    public init(signing body: ProposalBody, with key: Ed25519.SigningKey) {
        precondition(key.publicKey == body.proposer, "a proposal is signed by its proposer")
        self.init(body: body, signature: key.sign(body.encoded))
    }

    public var signatureCheck: SignatureCheck {
        SignatureCheck(publicKey: body.proposer, signature: signature, message: body.encoded)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        body.encode(to: &writer)
        writer.raw(signature.bytes)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        body = try ProposalBody(from: &reader)
        signature = Ed25519.Signature(try reader.take(Ed25519.Signature.byteCount, "signature"))!
    }
}
