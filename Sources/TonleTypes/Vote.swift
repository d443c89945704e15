import TonleCrypto

/// Prevote or precommit. The raw values are the encoding.
public enum VoteType: UInt8, Sendable, CaseIterable, CanonicalByteEnum {
    case prevote = 1
    case precommit = 2

    public static let fieldName = "vote type"
}

/// What a validator signs when it votes: for a block (by hash) or for nothing (nil) at a height
/// and round. A commit certificate's precommits are rebuilt from these fields.
public struct VoteBody: SignableBody {
    public static let kind = MessageKind.voteBody
    public static let signedKind = MessageKind.vote
    public static let encodedBytesMax = 2 + 4 + Limits.chainIDBytesMax + 1 + 8 + 4 + 33 + 32

    public var chainID: ChainID
    public var type: VoteType
    public var height: UInt64
    public var round: UInt32
    public var blockHash: Digest?
    public var validator: Ed25519.PublicKey

    public var signer: Ed25519.PublicKey { validator }

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

/// What a proposer signs: the block it proposes for a height and round, with the round of the
/// proof-of-lock it re-proposes (Tendermint's validRound), if any.
public struct ProposalBody: SignableBody {
    public static let kind = MessageKind.proposalBody
    public static let signedKind = MessageKind.proposal
    public static let encodedBytesMax = 2 + 4 + Limits.chainIDBytesMax + 8 + 4 + 5 + 32 + 8 + 32

    public var chainID: ChainID
    public var height: UInt64
    public var round: UInt32
    public var proofOfLockRound: UInt32?
    public var blockHash: Digest
    public var time: Timestamp
    public var proposer: Ed25519.PublicKey

    public var signer: Ed25519.PublicKey { proposer }

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

/// A signed vote: a vote body and its validator's signature.
public typealias Vote = Signed<VoteBody>

/// A signed proposal. The block itself travels separately and is matched by hash.
public typealias Proposal = Signed<ProposalBody>
