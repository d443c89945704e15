import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleTypes

/// A store in memory: for tests, the simulator, and as the reference the SQLite store is held to.
public final class MemoryStore: LedgerStore {
    public private(set) var appliedHeight: UInt64?
    public private(set) var stateRoot: Digest = .zero
    private var values: [Digest: [UInt8]] = [:]
    private var nodes = MemoryNodeStore()
    private var blocks: [UInt64: (block: Block, results: [TransactionResult], certificate: CommitCertificate?, hashes: (Digest, Digest))] = [:]
    private var roots: [UInt64: Digest] = [:]
    private var locations: [TransactionID: TransactionLocation] = [:]
    private var histories: [AccountID: [AccountHistoryEntry]] = [:]
    /// Each validator set with the first height it signs, in height order.
    private var validatorSets: [(from: UInt64, set: ValidatorSet)] = []

    public init() {}

    public func commit(_ batch: CommitBatch) throws(StoreError) {
        let expected = appliedHeight.map { $0 + 1 } ?? 0
        guard batch.height == expected else { throw .heightGap(expected: expected, got: batch.height) }
        for write in batch.stateWrites { values[write.key] = write.value }
        nodes.apply(batch.nodeWrites)
        if let block = batch.block {
            blocks[batch.height] = (block, batch.results, batch.certificate, (block.hash, batch.resultsRoot))
            for (index, id) in batch.transactionIDs.enumerated() {
                locations[id] = TransactionLocation(height: batch.height, index: UInt32(index), result: batch.results[index])
            }
            for entry in batch.accountIndex {
                histories[entry.account, default: []].append(
                    AccountHistoryEntry(height: batch.height, index: entry.index, transaction: batch.transactionIDs[Int(entry.index)], balances: entry.balances))
            }
        }
        roots[batch.height] = batch.stateRoot
        if validatorSets.last?.set != batch.validators { validatorSets.append((batch.height + 1, batch.validators)) }
        (appliedHeight, stateRoot) = (batch.height, batch.stateRoot)
    }

    public func stateValue(for key: Digest) -> [UInt8]? { values[key] }
    public func merkleNode(at position: NodePosition) -> MerkleNode? { nodes.merkleNode(at: position) }
    public func block(at height: UInt64) -> Block? { blocks[height]?.block }
    public func blockSummary(at height: UInt64) -> (header: BlockHeader, transactions: Int)? {
        blocks[height].map { ($0.block.header, $0.block.transactions.count) }
    }
    public func results(at height: UInt64) -> [TransactionResult]? { blocks[height]?.results }
    public func certificate(at height: UInt64) -> CommitCertificate? { blocks[height]?.certificate }
    public func stateRoot(at height: UInt64) -> Digest? { roots[height] }
    public func hashes(at height: UInt64) -> (block: Digest, results: Digest)? { blocks[height]?.hashes }

    public func validatorSet(signing height: UInt64) -> ValidatorSet? {
        guard height >= 1, height <= (appliedHeight ?? 0) + 1 else { return nil }
        return validatorSets.last { $0.from <= height }?.set
    }
    public func transactionLocation(_ id: TransactionID) -> TransactionLocation? { locations[id] }

    public func accountHistory(_ account: AccountID, before cursor: HistoryCursor?, limit: Int) -> [AccountHistoryEntry] {
        let entries = histories[account] ?? []
        let older = cursor.map { c in entries.filter { $0.cursor < c } } ?? entries
        return Array(older.reversed().prefix(min(limit, StoreLimits.historyPageMax)))
    }

    public func allStateValues() -> [Digest: [UInt8]] { values }
    /// Every stored tree node.
    public var allNodes: [NodePosition: MerkleNode] { nodes.nodes }
}
