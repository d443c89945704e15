import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleTypes

/// Where a transaction landed, and what became of it.
public struct TransactionLocation: Hashable, Sendable {
    public let height: UInt64
    public let index: UInt32
    public let result: TransactionResult

    public init(height: UInt64, index: UInt32, result: TransactionResult) { (self.height, self.index, self.result) = (height, index, result) }
}

/// One entry of an account's history: a transaction that named or wrote the account.
public struct AccountHistoryEntry: Hashable, Sendable {
    public let height: UInt64
    public let index: UInt32
    public let transaction: TransactionID
    /// The account's balances after the transaction, when it wrote the account (nil: it left them
    /// as they were — rejected, or naming the account only). Kept from the store's
    /// `historyBalancesFrom` on.
    public let balances: [Balance]?

    public init(height: UInt64, index: UInt32, transaction: TransactionID, balances: [Balance]? = nil) {
        (self.height, self.index, self.transaction, self.balances) = (height, index, transaction, balances)
    }

    /// The position to continue from when paging backwards.
    public var cursor: HistoryCursor { HistoryCursor(height: height, index: index) }
}

/// A position in an account's history; a page holds the entries strictly before it.
public struct HistoryCursor: Hashable, Sendable, Comparable {
    public let height: UInt64
    public let index: UInt32

    public init(height: UInt64, index: UInt32) { (self.height, self.index) = (height, index) }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.height, lhs.index) < (rhs.height, rhs.index) }
}

/// An account's entry for one transaction of a batch.
public struct AccountIndexEntry: Hashable, Sendable {
    public let account: AccountID
    public let index: UInt32
    /// The account's balances after the transaction, when it wrote them.
    public let balances: [Balance]?

    public init(account: AccountID, index: UInt32, balances: [Balance]? = nil) { (self.account, self.index, self.balances) = (account, index, balances) }
}

/// Everything applying one block (or, at height 0, genesis) writes, in one atomic step.
public struct CommitBatch: Sendable {
    /// 0 for the genesis state, then 1, 2, ... without gaps.
    public let height: UInt64
    /// The block (absent for genesis).
    public let block: Block?
    /// Its transaction ids, in block order.
    public let transactionIDs: [TransactionID]
    public let results: [TransactionResult]
    /// The block's commit certificate, when known.
    public let certificate: CommitCertificate?
    public let stateWrites: [StateWrite]
    public let nodeWrites: [(NodePosition, MerkleNode?)]
    /// The state root after this batch.
    public let stateRoot: Digest
    /// Accounts each transaction names or writes (by transaction index), with the balances after
    /// it of those it wrote: the account history.
    public let accountIndex: [AccountIndexEntry]
    /// The validator set that signs block `height + 1` (kept by height: `validatorSet(signing:)`).
    public let validators: ValidatorSet

    public init(
        height: UInt64, block: Block?, transactionIDs: [TransactionID], results: [TransactionResult], certificate: CommitCertificate?,
        stateWrites: [StateWrite], nodeWrites: [(NodePosition, MerkleNode?)], stateRoot: Digest, accountIndex: [AccountIndexEntry],
        validators: ValidatorSet
    ) {
        precondition((block == nil) == (height == 0), "genesis has no block; every later batch has one")
        precondition(transactionIDs.count == results.count && results.count == (block?.transactions.count ?? 0), "one result per transaction")
        (self.height, self.block, self.transactionIDs, self.results, self.certificate) = (height, block, transactionIDs, results, certificate)
        (self.stateWrites, self.nodeWrites, self.stateRoot, self.accountIndex, self.validators) = (stateWrites, nodeWrites, stateRoot, accountIndex, validators)
    }

    /// The Merkle root of this batch's results (`ResultsTree`): the next header's `lastResultsRoot`.
    public var resultsRoot: Digest { ResultsTree.root(transactionIDs, results) }
}

/// Why a store could not do what was asked.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Commits must be gapless: the next height is `expected`.
    case heightGap(expected: UInt64, got: UInt64)
    /// The files are damaged or inconsistent; the message says what was found.
    case corrupt(String)
    /// The underlying engine failed (disk full, I/O error, ...).
    case io(String)

    public var description: String {
        switch self {
        case .heightGap(let expected, let got): "commit of height \(got) when \(expected) is next"
        case .corrupt(let message): "store is corrupt: \(message)"
        case .io(let message): "store I/O failed: \(message)"
        }
    }
}

/// Blocks, their results and certificates, by height.
public protocol BlockStore: AnyObject {
    /// The last committed height: 0 after genesis; nil for a store that has no genesis yet.
    var appliedHeight: UInt64? { get }
    func block(at height: UInt64) -> Block?
    /// Block `height`'s header and number of transactions (a store may read them without
    /// decoding the transactions).
    func blockSummary(at height: UInt64) -> (header: BlockHeader, transactions: Int)?
    func results(at height: UInt64) -> [TransactionResult]?
    func certificate(at height: UInt64) -> CommitCertificate?
    /// The state root after applying block `height` (after genesis at 0).
    func stateRoot(at height: UInt64) -> Digest?
    /// The hash of block `height` and the Merkle root of its results, without reading the block.
    func hashes(at height: UInt64) -> (block: Digest, results: Digest)?
    /// The validator set that signs block `height` (from 1), as the chain scheduled it.
    func validatorSet(signing height: UInt64) -> ValidatorSet?
    /// The lowest height whose block is kept: 1, unless older blocks were pruned
    /// (`storage.retain_blocks`) or the store started after a block (state sync).
    var oldestBlockHeight: UInt64 { get }
}

extension BlockStore {
    public var oldestBlockHeight: UInt64 { 1 }
}

/// The current state: values by key (what the ledger reads), tree nodes by position (what the
/// Merkle tree reads), and the root.
public protocol StateStore: AnyObject, LedgerStateReader, MerkleNodeReader {
    var stateRoot: Digest { get }
    /// Every value in the state: for audits, exports and tests (it reads the whole state).
    func allStateValues() -> [Digest: [UInt8]]
}

/// Lookups the CLI and the API need.
public protocol IndexStore: AnyObject {
    func transactionLocation(_ id: TransactionID) -> TransactionLocation?
    /// An account's history, newest first: up to `limit` entries before `cursor` (or from the newest).
    func accountHistory(_ account: AccountID, before cursor: HistoryCursor?, limit: Int) -> [AccountHistoryEntry]
    /// The first height from which the history is whole and its entries carry balances: 0 for a
    /// store that kept them from genesis; the next height for a store made by an older version,
    /// or the first block after the height a store started at (state sync).
    var historyBalancesFrom: UInt64 { get }
}

extension IndexStore {
    public var historyBalancesFrom: UInt64 { 0 }
}

/// A node's whole store. `commit` applies a batch atomically: after a crash the store is at the
/// last committed height, all of it, never part of a batch.
public protocol LedgerStore: BlockStore, StateStore, IndexStore {
    func commit(_ batch: CommitBatch) throws(StoreError)
}

public enum StoreLimits {
    /// The largest page of account history returned at once.
    public static let historyPageMax = 1_000
}
