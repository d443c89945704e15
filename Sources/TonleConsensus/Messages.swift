import TonleCrypto
import TonleTypes

/// A step of a round. Votes are signed at the prevote and precommit steps; the proposal at propose.
public enum Step: UInt8, Sendable, Comparable, CaseIterable, CanonicalByteEnum, CustomStringConvertible {
    case propose = 1
    case prevote = 2
    case precommit = 3

    public static let fieldName = "step"
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String {
        switch self {
        case .propose: "propose"
        case .prevote: "prevote"
        case .precommit: "precommit"
        }
    }
}

/// What a timeout is for: one of the algorithm's three, or the retransmission of this node's own
/// messages while a round lasts (lost messages are sent again, so rounds end under loss).
public enum TimeoutKind: UInt8, Sendable, CaseIterable, CanonicalByteEnum, CustomStringConvertible {
    case propose = 1
    case prevote = 2
    case precommit = 3
    case retransmit = 4

    public static let fieldName = "timeout kind"
    public var description: String {
        switch self {
        case .propose: "propose"
        case .prevote: "prevote"
        case .precommit: "precommit"
        case .retransmit: "retransmit"
        }
    }
}

/// A timeout the core asked for, delivered back by the shell when it fires.
public struct Timeout: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    public let height: UInt64
    public let round: UInt32
    public let kind: TimeoutKind

    public init(height: UInt64, round: UInt32, kind: TimeoutKind) { (self.height, self.round, self.kind) = (height, round, kind) }

    public var description: String { "timeout h\(height) r\(round) \(kind)" }

    public func encode(to writer: inout CanonicalWriter) {
        writer.u64(height)
        writer.u32(round)
        kind.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (height, round, kind) = (try reader.u64("height"), try reader.u32("round"), try TimeoutKind(from: &reader))
    }
}

/// What the core asks the shell to sign. The shell signs it (the sign-state permitting),
/// broadcasts it, and delivers the signed message back to the core as an input.
public enum SignRequest: Hashable, Sendable {
    case proposal(ProposalBody, Block)
    case vote(VoteBody)

    public var height: UInt64 {
        switch self {
        case .proposal(let body, _): body.height
        case .vote(let body): body.height
        }
    }

    public var round: UInt32 {
        switch self {
        case .proposal(let body, _): body.round
        case .vote(let body): body.round
        }
    }

    public var step: Step {
        switch self {
        case .proposal: .propose
        case .vote(let body): body.type == .prevote ? .prevote : .precommit
        }
    }
}

/// A signed consensus message as it travels.
public enum ConsensusMessage: Hashable, Sendable {
    case proposal(Proposal, Block)
    case vote(Vote)
}

/// Everything that can happen to the core. Signatures are already checked by the shell.
public enum Input: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    /// A signed proposal with its block.
    case proposal(Proposal, Block)
    /// A signed prevote or precommit.
    case vote(Vote)
    /// A timeout the core scheduled has fired.
    case timeout(Timeout)
    /// The block to propose, answering `requestProposal`.
    case proposalValue(height: UInt64, round: UInt32, Block)
    /// Whether a proposed block is valid, answering `validate`.
    case proposalValidated(height: UInt64, blockHash: Digest, valid: Bool)
    /// The decided block of `height` is executed and stored; `validators` is the next height's set.
    case blockExecuted(height: UInt64, validators: ValidatorSet)
    /// A block of the current height with its commit certificate, from block sync (signatures checked).
    case syncedBlock(Block, CommitCertificate)

    /// The height the input belongs to.
    public var height: UInt64 {
        switch self {
        case .proposal(let proposal, _): proposal.body.height
        case .vote(let vote): vote.body.height
        case .timeout(let timeout): timeout.height
        case .proposalValue(let height, _, _), .proposalValidated(let height, _, _), .blockExecuted(let height, _): height
        case .syncedBlock(let block, _): block.header.height
        }
    }

    public var description: String {
        switch self {
        case .proposal(let p, let b): "proposal h\(p.body.height) r\(p.body.round) \(b.hash.hex.prefix(8)) pol \(p.body.proofOfLockRound.map(String.init) ?? "-") from \(p.body.proposer.hex.prefix(8))"
        case .vote(let v): "\(v.body.type == .prevote ? "prevote" : "precommit") h\(v.body.height) r\(v.body.round) \(v.body.blockHash.map { String($0.hex.prefix(8)) } ?? "nil") from \(v.body.validator.hex.prefix(8))"
        case .timeout(let t): t.description
        case .proposalValue(let h, let r, let b): "value h\(h) r\(r) \(b.hash.hex.prefix(8))"
        case .proposalValidated(let h, let hash, let valid): "validated h\(h) \(hash.hex.prefix(8)) \(valid)"
        case .blockExecuted(let h, _): "executed h\(h)"
        case .syncedBlock(let b, _): "synced h\(b.header.height) \(b.hash.hex.prefix(8))"
        }
    }

    public func encode(to w: inout CanonicalWriter) {
        switch self {
        case .proposal(let p, let b): w.u8(1); p.encode(to: &w); b.encode(to: &w)
        case .vote(let v): w.u8(2); v.encode(to: &w)
        case .timeout(let t): w.u8(3); t.encode(to: &w)
        case .proposalValue(let h, let r, let b): w.u8(4); w.u64(h); w.u32(r); b.encode(to: &w)
        case .proposalValidated(let h, let hash, let valid): w.u8(5); w.u64(h); w.bytes32(hash.raw); w.bool(valid)
        case .blockExecuted(let h, let set): w.u8(6); w.u64(h); set.encode(to: &w)
        case .syncedBlock(let b, let c): w.u8(7); b.encode(to: &w); c.encode(to: &w)
        }
    }

    public init(from r: inout CanonicalReader) throws(DecodeError) {
        switch try r.u8("input") {
        case 1: self = .proposal(try Proposal(from: &r), try Block(from: &r))
        case 2: self = .vote(try Vote(from: &r))
        case 3: self = .timeout(try Timeout(from: &r))
        case 4: self = .proposalValue(height: try r.u64("height"), round: try r.u32("round"), try Block(from: &r))
        case 5: self = .proposalValidated(height: try r.u64("height"), blockHash: Digest(try r.bytes32("hash")), valid: try r.bool("valid"))
        case 6: self = .blockExecuted(height: try r.u64("height"), validators: try ValidatorSet(from: &r))
        case 7: self = .syncedBlock(try Block(from: &r), try CommitCertificate(from: &r))
        case let tag: throw .unknownTag(field: "input", tag: UInt64(tag))
        }
    }
}

/// What the core asks of the shell, in the order the shell must carry it out (docs/consensus.md).
public enum Effect: Hashable, Sendable, CustomStringConvertible {
    /// Write the input to the WAL; durable before any later effect leaves the node.
    case persist(Input)
    /// Build a block for this height and round; answer with `proposalValue`.
    case requestProposal(height: UInt64, round: UInt32)
    /// Check a proposed block; answer with `proposalValidated`.
    case validate(Block)
    /// Sign (if the sign-state allows), broadcast, and deliver back as input.
    case sign(SignRequest)
    /// Send an already signed message to every peer again (lagging peers need it).
    case broadcast(ConsensusMessage)
    /// Deliver `timeout` after `milliseconds`.
    case scheduleTimeout(Timeout, milliseconds: UInt64)
    /// The height is decided: execute and store the block, then deliver `blockExecuted`.
    case decide(Block, CommitCertificate)
    /// A validator signed two different votes for one height, round and type.
    case evidence(Vote, Vote)

    public var description: String {
        switch self {
        case .persist(let input): "persist \(input)"
        case .requestProposal(let h, let r): "request proposal h\(h) r\(r)"
        case .validate(let b): "validate \(b.hash.hex.prefix(8))"
        case .sign(.proposal(let body, let block)): "sign proposal h\(body.height) r\(body.round) \(block.hash.hex.prefix(8)) pol \(body.proofOfLockRound.map(String.init) ?? "-")"
        case .sign(.vote(let body)): "sign \(body.type == .prevote ? "prevote" : "precommit") h\(body.height) r\(body.round) \(body.blockHash.map { String($0.hex.prefix(8)) } ?? "nil")"
        case .broadcast(.proposal(let p, _)): "rebroadcast proposal h\(p.body.height) r\(p.body.round)"
        case .broadcast(.vote(let v)): "rebroadcast \(v.body.type == .prevote ? "prevote" : "precommit") h\(v.body.height) r\(v.body.round)"
        case .scheduleTimeout(let t, let ms): "schedule \(t) in \(ms) ms"
        case .decide(let b, let c): "decide h\(b.header.height) \(b.hash.hex.prefix(8)) r\(c.round) signers \(c.signatures.count)"
        case .evidence(let a, _): "evidence equivocation by \(a.body.validator.hex.prefix(8)) h\(a.body.height) r\(a.body.round)"
        }
    }
}

extension Input {
    /// Bytes bounded by a block, a proposal and a certificate: what one WAL record may hold.
    public static let encodedBytesMax = Limits.blockBytesMax + 64 << 10

    /// The input's canonical bytes: a WAL record, or the signed message in the sign-state.
    public var encoded: [UInt8] {
        var writer = CanonicalWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// The input in `bytes`, which must hold exactly one.
    public init(encoded bytes: [UInt8]) throws(DecodeError) {
        guard bytes.count <= Self.encodedBytesMax else { throw .messageTooLarge(bytes: bytes.count, max: Self.encodedBytesMax) }
        var reader = CanonicalReader(bytes)
        self = try Input(from: &reader)
        try reader.finish()
    }
}
