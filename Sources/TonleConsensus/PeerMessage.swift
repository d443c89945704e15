import TonleCrypto
import TonleMerkle
import TonleTypes

/// Named limits of the peer protocol (docs/network.md).
public enum NetworkLimits {
    /// The largest frame: a proposal carrying the largest block, with room for its header,
    /// signature and the AEAD tag. Longer length prefixes close the link before any allocation.
    public static let frameBytesMax = Limits.blockBytesMax + 1 << 20
    /// The largest frame before a link's handshake completes: the handshake's own messages (a
    /// 97-byte hello, an 80-byte sealed signature). Nothing larger is read from a peer that has
    /// not proved its key.
    public static let handshakeFrameBytesMax = 128
    /// Transactions in one gossip message.
    public static let gossipTransactionsMax = 4_096
    /// Blocks in one sync response.
    public static let syncBlocksMax = 256
    /// A sync response stops adding blocks once it holds this many bytes (it always holds one).
    public static let syncResponseBytesTarget = 4 << 20
}

/// A decided block with the certificate that proves it, as block sync carries it.
public struct CertifiedBlock: Hashable, Sendable, CanonicalCodable {
    public let block: Block
    public let certificate: CommitCertificate

    public init(block: Block, certificate: CommitCertificate) { (self.block, self.certificate) = (block, certificate) }

    public func encode(to writer: inout CanonicalWriter) {
        block.encode(to: &writer)
        certificate.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        block = try Block(from: &reader)
        certificate = try CommitCertificate(from: &reader)
    }
}

/// What travels on an established peer link (after the handshake, each message is one sealed frame).
public enum PeerMessage: Hashable, Sendable {
    /// A signed proposal with its block, or a signed vote.
    case consensus(ConsensusMessage)
    /// Transactions admitted by the sender's mempool (signatures checked again by the receiver).
    case transactions([Transaction])
    /// The sender's highest stored block.
    case status(height: UInt64)
    /// Asks for up to `count` stored blocks from height `from` on.
    case blocksRequest(from: UInt64, count: UInt32)
    /// Stored blocks with their commit certificates, in height order.
    case blocks([CertifiedBlock])
    /// State sync (docs/network.md, "State sync"): which snapshots can you serve?
    case snapshotsRequest
    /// The snapshots the sender serves, newest first.
    case snapshots([SnapshotOffer])
    /// Asks for the 2^depth subtree summaries of the snapshot at `height`.
    case snapshotTopRequest(height: UInt64)
    /// The summaries in path order; none when the sender no longer holds that snapshot.
    case snapshotTop(height: UInt64, summaries: [SubtreeSummary])
    /// Asks for chunk `index` of the snapshot at `height`.
    case chunkRequest(height: UInt64, index: UInt32)
    /// The chunk's values in ascending key order; nil when the sender no longer holds that snapshot.
    case chunk(height: UInt64, index: UInt32, entries: [StateEntry]?)

    /// The message's bytes: a tag byte, then the payload's canonical encoding.
    public var encoded: [UInt8] {
        var w = CanonicalWriter()
        switch self {
        case .consensus(.proposal(let proposal, let block)): w.u8(1); proposal.encode(to: &w); block.encode(to: &w)
        case .consensus(.vote(let vote)): w.u8(2); vote.encode(to: &w)
        case .transactions(let transactions): w.u8(3); w.list(transactions)
        case .status(let height): w.u8(4); w.u64(height)
        case .blocksRequest(let from, let count): w.u8(5); w.u64(from); w.u32(count)
        case .blocks(let blocks): w.u8(6); w.list(blocks)
        case .snapshotsRequest: w.u8(7)
        case .snapshots(let offers): w.u8(8); w.list(offers)
        case .snapshotTopRequest(let height): w.u8(9); w.u64(height)
        case .snapshotTop(let height, let summaries): w.u8(10); w.u64(height); w.list(summaries) { $0.summary($1) }
        case .chunkRequest(let height, let index): w.u8(11); w.u64(height); w.u32(index)
        case .chunk(let height, let index, let entries): w.u8(12); w.u64(height); w.u32(index); w.optional(entries) { $0.list($1) }
        }
        return w.bytes
    }

    /// Decodes exactly one message; throws on anything else.
    public init(encoded bytes: [UInt8]) throws(DecodeError) {
        guard bytes.count <= NetworkLimits.frameBytesMax else { throw .messageTooLarge(bytes: bytes.count, max: NetworkLimits.frameBytesMax) }
        var r = CanonicalReader(bytes)
        switch try r.u8("peer message") {
        case 1: self = .consensus(.proposal(try Proposal(from: &r), try Block(from: &r)))
        case 2: self = .consensus(.vote(try Vote(from: &r)))
        case 3: self = .transactions(try r.list("transactions", of: Transaction.self, max: NetworkLimits.gossipTransactionsMax, elementBytesMin: 64))
        case 4: self = .status(height: try r.u64("height"))
        case 5: self = .blocksRequest(from: try r.u64("from"), count: try r.u32("count"))
        case 6: self = .blocks(try r.list("blocks", of: CertifiedBlock.self, max: NetworkLimits.syncBlocksMax, elementBytesMin: 64))
        case 7: self = .snapshotsRequest
        case 8: self = .snapshots(try r.list("offers", of: SnapshotOffer.self, max: StateSyncLimits.offersMax, elementBytesMin: 41))
        case 9: self = .snapshotTopRequest(height: try r.u64("height"))
        case 10:
            let height = try r.u64("height")
            let summaries = try r.list("summaries", max: 1 << StateChunks.depthMax) { (r: inout CanonicalReader) throws(DecodeError) in try r.summary() }
            self = .snapshotTop(height: height, summaries: summaries)
        case 11: self = .chunkRequest(height: try r.u64("height"), index: try r.u32("index"))
        case 12:
            let height = try r.u64("height"), index = try r.u32("index")
            let entries = try r.optional("entries") { (r: inout CanonicalReader) throws(DecodeError) in
                try r.list("entries", of: StateEntry.self, max: StateSyncLimits.chunkValuesMax, elementBytesMin: 36)
            }
            self = .chunk(height: height, index: index, entries: entries)
        case let tag: throw .unknownTag(field: "peer message", tag: UInt64(tag))
        }
        try r.finish()
    }
}
