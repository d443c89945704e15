import TonleCrypto

/// A block's header: everything a light client needs to check a block and the state after it.
public struct BlockHeader: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.blockHeader
    public static let encodedBytesMax = 2 + 4 + Limits.chainIDBytesMax + 8 + 8 + 32 * 8

    public var chainID: ChainID
    /// 1 for the first block after genesis.
    public var height: UInt64
    /// BFT time from the proposer, bounded by the previous block's.
    public var time: Timestamp
    /// Zero at height 1.
    public var previousBlockHash: Digest
    /// `MerkleList.root` of the transaction ids, in block order.
    public var transactionsRoot: Digest
    /// `MerkleList.root` over the previous block's results, one leaf per transaction: SHA-256 of its
    /// id and its result's canonical bytes (docs/encoding.md, "Results root"). A receipt proves one.
    public var lastResultsRoot: Digest
    /// State root after applying the previous block (after genesis, at height 1).
    public var stateRoot: Digest
    /// The set that signs this block.
    public var validatorsHash: Digest
    /// The set that signs the next block: a light client that trusts this header's set learns
    /// the next one here (a validator change made in block h takes effect at h + 2).
    public var nextValidatorsHash: Digest
    public var proposer: Ed25519.PublicKey
    /// Hash of the previous block's commit certificate; zero at height 1.
    public var lastCommitHash: Digest

    public init(
        chainID: ChainID, height: UInt64, time: Timestamp, previousBlockHash: Digest, transactionsRoot: Digest,
        lastResultsRoot: Digest, stateRoot: Digest, validatorsHash: Digest, nextValidatorsHash: Digest,
        proposer: Ed25519.PublicKey, lastCommitHash: Digest
    ) throws(DecodeError) {
        guard height >= 1 else { throw .invalidValue(field: "height", reason: "blocks start at height 1") }
        (self.chainID, self.height, self.time, self.previousBlockHash) = (chainID, height, time, previousBlockHash)
        (self.transactionsRoot, self.lastResultsRoot, self.stateRoot) = (transactionsRoot, lastResultsRoot, stateRoot)
        (self.validatorsHash, self.nextValidatorsHash) = (validatorsHash, nextValidatorsHash)
        (self.proposer, self.lastCommitHash) = (proposer, lastCommitHash)
    }

    /// The block's hash: SHA-256 of the header's canonical bytes.
    public var hash: Digest { SHA256.hash(encoded) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        chainID.encode(to: &writer)
        writer.u64(height)
        time.encode(to: &writer)
        for digest in [previousBlockHash, transactionsRoot, lastResultsRoot, stateRoot, validatorsHash, nextValidatorsHash] {
            writer.bytes32(digest.raw)
        }
        writer.bytes32(proposer.raw)
        writer.bytes32(lastCommitHash.raw)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        let chainID = try ChainID(from: &reader)
        let height = try reader.u64("height"), time = try Timestamp(from: &reader)
        var digests: [Digest] = []
        for field in ["previous block hash", "transactions root", "last results root", "state root", "validators hash", "next validators hash"] {
            digests.append(Digest(try reader.bytes32(field)))
        }
        try self.init(
            chainID: chainID, height: height, time: time, previousBlockHash: digests[0], transactionsRoot: digests[1],
            lastResultsRoot: digests[2], stateRoot: digests[3], validatorsHash: digests[4], nextValidatorsHash: digests[5],
            proposer: Ed25519.PublicKey(reader.bytes32("proposer")), lastCommitHash: Digest(reader.bytes32("last commit hash")))
    }
}

/// Why a block is not internally consistent.
public enum BlockError: Error, Equatable, Sendable {
    case transactionsRootMismatch
    case lastCommitMissing
    case lastCommitUnexpected
    case lastCommitMismatch
}

/// A block: header, transactions, and the commit certificate of the previous block.
public struct Block: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.block
    public static let encodedBytesMax = Limits.blockBytesMax

    public let header: BlockHeader
    public let transactions: [Transaction]
    /// Absent at height 1, present at every later height.
    public let lastCommit: CommitCertificate?

    public init(header: BlockHeader, transactions: [Transaction], lastCommit: CommitCertificate?) throws(DecodeError) {
        guard transactions.count <= Limits.blockTransactionsMax else {
            throw .tooLarge(field: "transactions", count: transactions.count, max: Limits.blockTransactionsMax)
        }
        (self.header, self.transactions, self.lastCommit) = (header, transactions, lastCommit)
    }

    public var hash: Digest { header.hash }

    /// Checks what the block alone can show: the transactions root and the last commit agree
    /// with the header. (Whether the certificate is valid needs the validator set.)
    public func checkConsistency() throws(BlockError) {
        guard MerkleList.root(transactions.map(\.id.digest)) == header.transactionsRoot else { throw .transactionsRootMismatch }
        switch (header.height, lastCommit) {
        case (1, nil): return
        case (1, .some): throw .lastCommitUnexpected
        case (_, nil): throw .lastCommitMissing
        case (let height, .some(let commit)):
            guard commit.height == height - 1, commit.blockHash == header.previousBlockHash,
                  commit.hash == header.lastCommitHash
            else { throw .lastCommitMismatch }
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        header.encode(to: &writer)
        writer.list(transactions)
        writer.optional(lastCommit) { w, c in c.encode(to: &w) }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        try self.init(
            header: BlockHeader(from: &reader),
            transactions: reader.list("transactions", of: Transaction.self, max: Limits.blockTransactionsMax, elementBytesMin: 120),
            lastCommit: reader.optional("last commit") { (r: inout CanonicalReader) throws(DecodeError) in try CommitCertificate(from: &r) })
    }
}
