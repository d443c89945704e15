import Foundation
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleStorage
import TonleTypes

/// What the RPC shows of a node's store, built on the thread that owns the store (the node loop
/// runs these inside its queries): blocks, transactions, accounts, receipts, anchors.
public struct StoreViews {
    public let store: any LedgerStore

    public init(store: any LedgerStore) { self.store = store }

    /// A committed transaction's status; with `bytes`, its canonical bytes too (reads its block).
    public func statusView(_ id: TransactionID, _ location: TransactionLocation, bytes: Bool = false) -> TransactionStatusView {
        let transaction = bytes ? store.block(at: location.height).flatMap { Int(location.index) < $0.transactions.count ? $0.transactions[Int(location.index)] : nil } : nil
        return TransactionStatusView(id: id.digest.hex, height: location.height, index: location.index, outcome: location.result,
                                     transaction: transaction.map { Data($0.encoded).base64EncodedString() })
    }

    /// A transaction's status: committed here, `pending` (the mempool's copy), or unknown.
    public func transactionStatus(_ id: TransactionID, pending: Transaction?, withTransaction: Bool) -> TransactionStatusView {
        if let location = store.transactionLocation(id) { return statusView(id, location, bytes: withTransaction) }
        if let pending { return TransactionStatusView(id: id.digest.hex, status: "pending", transaction: Data(pending.encoded).base64EncodedString()) }
        return TransactionStatusView(id: id.digest.hex, status: "unknown")
    }

    public func blockView(_ height: UInt64) -> BlockView? {
        guard height >= 1, let block = store.block(at: height), let root = store.stateRoot(at: height), let certificate = store.certificate(at: height) else { return nil }
        let next = anchor(height + 1)
        return BlockView(
            height: height, hash: block.hash.hex, previousHash: block.header.previousBlockHash.hex, timeMilliseconds: block.header.time.millisecondsSinceEpoch,
            proposer: block.header.proposer.hex, stateRoot: root.hex, transactions: block.transactions.map(\.id.digest.hex), results: store.results(at: height) ?? [],
            header: Hex.encode(block.header.encoded), certificate: Hex.encode(certificate.encoded),
            nextHeader: next.map { Hex.encode($0.header.encoded) }, nextCertificate: next.map { Hex.encode($0.certificate.encoded) })
    }

    public func blockSummaries(from: UInt64, limit: Int) -> [BlockSummaryView] {
        let applied = store.appliedHeight ?? 0
        guard from >= 1, from <= applied, limit >= 1 else { return [] }
        return (from...min(applied, from + UInt64(limit) - 1)).compactMap { height in
            store.blockSummary(at: height).map {
                BlockSummaryView(height: height, hash: $0.header.hash.hex, timeMilliseconds: $0.header.time.millisecondsSinceEpoch,
                                 proposer: $0.header.proposer.hex, transactions: $0.transactions)
            }
        }
    }

    /// An account's record at the applied height, with its state value and, if asked, its Merkle proof.
    public struct AccountSnapshot: Sendable {
        public let height: UInt64
        public let record: AccountRecord
        public let value: [UInt8]
        public let proof: MerkleProof?
        public let root: Digest
    }

    public func accountSnapshot(_ id: AccountID, proof: Bool) -> AccountSnapshot? {
        let key = StateKey.account(id)
        guard let value = store.stateValue(for: key), case .account(let record)? = try? StateRecord(encoded: value) else { return nil }
        return AccountSnapshot(height: store.appliedHeight ?? 0, record: record, value: value, proof: proof ? MerkleProof(store, key: key.raw) : nil, root: store.stateRoot)
    }

    /// Block `height`'s header and commit certificate.
    public struct Anchor: Sendable {
        public let header: BlockHeader
        public let certificate: CommitCertificate
    }

    public func anchor(_ height: UInt64) -> Anchor? {
        guard let summary = store.blockSummary(at: height), let certificate = store.certificate(at: height) else { return nil }
        return Anchor(header: summary.header, certificate: certificate)
    }

    public func accountHistory(_ id: AccountID, before: HistoryPosition?, limit: Int) -> AccountHistoryView {
        let entries = store.accountHistory(id, before: before.map { HistoryCursor(height: $0.height, index: $0.index) }, limit: limit)
        let next = entries.count == limit ? entries.last.map { HistoryPosition(height: $0.height, index: $0.index).text } : nil
        return AccountHistoryView(account: id.text, transactions: entries.map { .init(id: $0.transaction.digest.hex, height: $0.height, index: $0.index) }, next: next)
    }

    /// The applied state and its block's time (`fallbackTime` before the first block), for settlement reports.
    public func committedState(fallbackTime: UInt64) -> CommittedState {
        let height = store.appliedHeight ?? 0
        let time = store.blockSummary(at: height)?.header.time ?? Timestamp(millisecondsSinceEpoch: fallbackTime)
        return CommittedState(reader: store, height: height, time: time, stateRoot: store.stateRoot, prove: { [store] key in MerkleProof(store, key: key) })
    }

    /// The set that signs block `height` (nil: the next block), or nil if no block that high can be signed yet.
    public func validatorsView(signing height: UInt64?) -> ValidatorsView? {
        let height = height ?? (store.appliedHeight ?? 0) + 1
        return store.validatorSet(signing: height).map { ValidatorsView(signing: height, set: $0) }
    }

    /// What a receipt needs from the store: the transaction, its result, and the Merkle proofs of
    /// both in its block (the anchor, block height + 1, comes separately).
    public struct ReceiptParts: Sendable {
        public let height: UInt64
        public let index: UInt32
        public let transaction: Transaction
        public let result: TransactionResult
        public let header: BlockHeader
        public let transactionsProof: MerkleListProof
        public let resultsProof: MerkleListProof
    }

    public func receiptParts(_ id: TransactionID) -> ReceiptParts? {
        guard let location = store.transactionLocation(id), let block = store.block(at: location.height), let results = store.results(at: location.height),
              Int(location.index) < block.transactions.count, results.count == block.transactions.count
        else { return nil }
        let index = Int(location.index), ids = block.transactions.map(\.id)
        return ReceiptParts(
            height: location.height, index: location.index, transaction: block.transactions[index], result: results[index], header: block.header,
            transactionsProof: MerkleList.proof(ids.map(\.digest), index: index), resultsProof: MerkleList.proof(ResultsTree.leaves(ids, results), index: index))
    }
}
