import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleStorage
import TonleTypes

/// Why a block cannot be applied to the store as it is.
public enum ApplyError: Error, Equatable, Sendable, CustomStringConvertible {
    case notInitialised
    case alreadyInitialised
    case invalidGenesis(String)
    case wrongHeight(expected: UInt64, got: UInt64)
    case wrongChain
    case inconsistent(String)
    /// Executing the block broke the supply invariant: a bug, never stored (the node stops).
    case invariant([String])
    case store(StoreError)

    public var description: String {
        switch self {
        case .notInitialised: "the store has no genesis state"
        case .alreadyInitialised: "the store already has a genesis state"
        case .invalidGenesis(let reason): "invalid genesis: \(reason)"
        case .wrongHeight(let expected, let got): "block \(got) cannot follow: block \(expected) is next"
        case .wrongChain: "the block is for another chain"
        case .inconsistent(let reason): "the block does not follow the stored chain: \(reason)"
        case .invariant(let found): "executing the block breaks the ledger's invariants (not stored; a bug: report it with the data directory): \(found.prefix(5).joined(separator: "; "))"
        case .store(let error): error.description
        }
    }
}

/// Executes decided blocks and commits everything they produce in one store transaction:
/// ledger execution, the state tree update, block, results, indexes, applied height.
public enum BlockExecutor {
    /// Writes the genesis state (height 0) into an empty store.
    public static func initialise(_ store: any LedgerStore, genesis: Genesis) throws(ApplyError) {
        guard store.appliedHeight == nil else { throw .alreadyInitialised }
        do { try genesis.validate() } catch { throw .invalidGenesis(error.description) }
        let writes = Ledger.genesisWrites(genesis)
        let tree = SparseMerkleTree.update(store, merkleUpdates(writes))
        let batch = CommitBatch(
            height: 0, block: nil, transactionIDs: [], results: [], certificate: nil, stateWrites: writes, nodeWrites: tree.writes,
            stateRoot: tree.root, accountIndex: [], validators: genesis.validators)
        do { try store.commit(batch) } catch { throw .store(error) }
    }

    /// Timings of one application, for benchmarks and metrics.
    public struct Applied: Sendable {
        public let results: [TransactionResult]
        public let stateRoot: Digest
        /// The validator set that signs the next block.
        public let validators: ValidatorSet
        public let executeNanoseconds: UInt64
        public let stateRootNanoseconds: UInt64
        public let commitNanoseconds: UInt64
    }

    /// Executes `block` on top of the store and commits it. The block must be next and must agree
    /// with the stored chain (previous hash, state root, last results hash); its commit certificate
    /// is stored with it when given. `clock` measures the phases (pass a monotonic clock; the
    /// executor itself never reads one).
    @discardableResult
    public static func apply(
        _ block: Block, certificate: CommitCertificate? = nil, to store: any LedgerStore, clock: () -> UInt64 = { 0 }
    ) throws(ApplyError) -> Applied {
        try check(block, against: store)
        let start = clock()
        let ids = block.transactions.map(\.id)
        let context = BlockContext(chainID: block.header.chainID, height: block.header.height, time: block.header.time)
        let outcome = Ledger.execute(block.transactions, ids: ids, context: context, state: store)
        guard outcome.invariantViolations.isEmpty else { throw .invariant(outcome.invariantViolations) }
        let executed = clock()
        let tree = SparseMerkleTree.update(store, merkleUpdates(outcome.writes))
        let hashed = clock()
        let batch = CommitBatch(
            height: block.header.height, block: block, transactionIDs: ids, results: outcome.results, certificate: certificate,
            stateWrites: outcome.writes, nodeWrites: tree.writes, stateRoot: tree.root, accountIndex: accountIndex(block.transactions, written: outcome.accountsWritten),
            validators: outcome.validators.current)
        do { try store.commit(batch) } catch { throw .store(error) }
        let committed = clock()
        return Applied(results: outcome.results, stateRoot: tree.root, validators: outcome.validators.current, executeNanoseconds: executed - start,
                       stateRootNanoseconds: hashed - executed, commitNanoseconds: committed - hashed)
    }

    /// What the next block must link to and state.
    public struct ChainTip: Hashable, Sendable {
        public let nextHeight: UInt64
        public let previousBlockHash: Digest
        public let stateRoot: Digest
        public let lastResultsRoot: Digest
        /// The set that signs the next block, and the one that signs the block after it.
        public let validatorsHash: Digest
        public let nextValidatorsHash: Digest
    }

    /// The stored chain's tip.
    public static func tip(_ store: any LedgerStore) throws(ApplyError) -> ChainTip {
        guard let height = store.appliedHeight else { throw .notInitialised }
        guard let bytes = store.stateValue(for: StateKey.validators), case .validators(let schedule)? = try? StateRecord(encoded: bytes) else {
            throw .store(.corrupt("the validator schedule is missing from the state"))
        }
        let (current, next) = (schedule.current.hash, schedule.next.hash)
        guard height > 0 else {
            return ChainTip(nextHeight: 1, previousBlockHash: .zero, stateRoot: store.stateRoot, lastResultsRoot: .zero, validatorsHash: current, nextValidatorsHash: next)
        }
        guard let hashes = store.hashes(at: height) else { throw .store(.corrupt("block \(height) is missing")) }
        return ChainTip(nextHeight: height + 1, previousBlockHash: hashes.block, stateRoot: store.stateRoot, lastResultsRoot: hashes.results,
                        validatorsHash: current, nextValidatorsHash: next)
    }

    /// The header of the next block, linked to the stored chain (links, roots and validator sets
    /// come from the store), with the proposer's choices.
    public static func nextHeader(
        _ store: any LedgerStore, chainID: ChainID, time: Timestamp, transactions: [Transaction], proposer: Ed25519.PublicKey,
        lastCommit: CommitCertificate?
    ) throws(ApplyError) -> BlockHeader {
        let tip = try tip(store)
        do {
            return try BlockHeader(
                chainID: chainID, height: tip.nextHeight, time: time, previousBlockHash: tip.previousBlockHash,
                transactionsRoot: MerkleList.root(transactions.map(\.id.digest)), lastResultsRoot: tip.lastResultsRoot,
                stateRoot: tip.stateRoot, validatorsHash: tip.validatorsHash, nextValidatorsHash: tip.nextValidatorsHash, proposer: proposer,
                lastCommitHash: lastCommit?.hash ?? .zero)
        } catch { throw .inconsistent(error.description) }
    }

    /// Whether `header` states what the stored chain says comes next: its height, the previous
    /// block's hash, the state root, the last results root and both validator sets.
    public static func follows(_ header: BlockHeader, _ tip: ChainTip) -> String? {
        if header.height != tip.nextHeight { return "height \(header.height), not \(tip.nextHeight)" }
        if header.previousBlockHash != tip.previousBlockHash { return "previous block hash" }
        if header.stateRoot != tip.stateRoot { return "state root" }
        if header.lastResultsRoot != tip.lastResultsRoot { return "last results root" }
        if header.validatorsHash != tip.validatorsHash { return "validators hash" }
        if header.nextValidatorsHash != tip.nextValidatorsHash { return "next validators hash" }
        return nil
    }

    private static func check(_ block: Block, against store: any LedgerStore) throws(ApplyError) {
        let tip = try tip(store), header = block.header
        guard header.height == tip.nextHeight else { throw .wrongHeight(expected: tip.nextHeight, got: header.height) }
        if let mismatch = follows(header, tip) { throw .inconsistent(mismatch) }
        do { try block.checkConsistency() } catch { throw .inconsistent("\(error)") }
    }

    static func merkleUpdates(_ writes: [StateWrite]) -> [MerkleUpdate] {
        writes.map { MerkleUpdate(key: $0.key.raw, valueHash: $0.value.map { SHA256.hash($0) }) }
    }

    /// The accounts each transaction names (creator and the accounts in its commands) or wrote (a
    /// hold's post names only the hold), once each, with the balances after it of those it wrote.
    static func accountIndex(_ transactions: [Transaction], written: [[AccountBalances]]) -> [AccountIndexEntry] {
        var entries: [AccountIndexEntry] = []
        entries.reserveCapacity(transactions.count * 3)
        for (position, (transaction, written)) in zip(transactions, written).enumerated() {
            // Both sorted by account: merged in one pass.
            let named = transaction.accountsNamed, index = UInt32(position)
            var (n, w) = (0, 0)
            while n < named.count || w < written.count {
                if w == written.count || (n < named.count && named[n] < written[w].account) {
                    entries.append(AccountIndexEntry(account: named[n], index: index))
                    n += 1
                } else {
                    if n < named.count && named[n] == written[w].account { n += 1 }
                    entries.append(AccountIndexEntry(account: written[w].account, index: index, balances: written[w].balances))
                    w += 1
                }
            }
        }
        return entries
    }
}
