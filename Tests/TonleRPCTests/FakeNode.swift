import Foundation
import Synchronization
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleRPC
import TonleTypes

/// A node for router tests: a real ledger state in memory (so account proofs are real Merkle
/// proofs), blocks made up as needed, and switches for the states a router must report
/// (syncing, busy, a full mempool).
final class FakeNode: NodeAPI, @unchecked Sendable {
    struct State {
        var syncing = false
        var busy = false
        var pending: [TransactionID: Transaction] = [:]
        var committed: [TransactionID: (height: UInt64, index: UInt32, transaction: Transaction)] = [:]
        var height: UInt64 = 3
        /// When false, `?proof=true` finds no anchoring block (PROOF_NOT_READY).
        var anchorAvailable = true
    }

    let chainID = try! ChainID("tonle-test")
    let key = Ed25519.SigningKey(seed: Bytes32([UInt8](repeating: 7, count: 32))!)
    let validatorKey = Ed25519.SigningKey(seed: Bytes32([UInt8](repeating: 9, count: 32))!)
    let state = Mutex(State())
    let commits = CommitNotifier(height: 3)
    let record: AccountRecord
    let tree = MemoryTree()
    /// A real ledger state with a gateway and its settlement entries (`makeSettlementState`).
    let settlement: DictionaryState
    static let settlementTime: UInt64 = 1_790_000_000_000

    init() {
        let account = try! AccountID("sokha@aba")
        record = AccountRecord(id: account, keys: KeySet(single: key.publicKey), flags: [], balances: [Balance(currency: .usd, balance: 12_345, held: 45)])
        settlement = Self.makeSettlementState(chainID: chainID, key: key)
        // The tree holds the settlement state (so positions and entries prove against it), then the fake's own accounts.
        for (key, value) in settlement.all { tree.set(key, value) }
        tree.set(StateKey.account(account), StateRecord.account(record).encoded)
        tree.set(StateKey.account(try! AccountID("dara@aba")), [1, 2, 3])
    }

    /// Genesis with the central bank, a bank and the `upi` gateway, then one block (through the
    /// real ledger) with a prefund top-up and three inward remittances: upi-1, upi-2, upi-3.
    static func makeSettlementState(chainID: ChainID, key: Ed25519.SigningKey) -> DictionaryState {
        let keys = KeySet(single: key.publicKey)
        let genesis = try! Genesis(
            chainID: chainID, genesisTime: Timestamp(millisecondsSinceEpoch: settlementTime - 10_000),
            validators: ValidatorSet([Validator(publicKey: key.publicKey, power: 1, name: "v")]),
            participants: [Participant(id: InstitutionID("nbc"), role: .centralBank, name: "NBC"), Participant(id: InstitutionID("aba"), role: .bank, name: "ABA"),
                           Participant(id: InstitutionID("upi"), role: .gateway, name: "UnionPay")],
            accounts: [GenesisAccount(id: AccountID("issuance@nbc"), keys: keys, flags: .issuance), GenesisAccount(id: AccountID("admin@nbc"), keys: keys),
                       GenesisAccount(id: AccountID("prefund@upi"), keys: keys), GenesisAccount(id: AccountID("payable@upi"), keys: keys),
                       GenesisAccount(id: AccountID("sokha@aba"), keys: keys)])
        let state = DictionaryState()
        state.apply(Ledger.genesisWrites(genesis))
        let time = Timestamp(millisecondsSinceEpoch: settlementTime)
        func tx(_ creator: String, _ entry: SettlementEntry, _ n: UInt64) -> Transaction {
            let body = try! TransactionBody(chainID: chainID, creator: AccountID(creator), clientID: ID128(high: 9, low: n),
                                            expiry: Timestamp(millisecondsSinceEpoch: settlementTime + 60_000), commands: [.settlement(entry)])
            return try! Transaction.signing(body, with: [key])
        }
        let upi = try! InstitutionID("upi")
        var transactions = [tx("admin@nbc", try! SettlementEntry(kind: .prefundTopUp, gateway: upi, externalReference: "wire-1", amount: Amount(1_000_000, .khr),
                                                                 account: AccountID("issuance@nbc")), 0)]
        // The day's CNY/KHR reference rate, ± 1 %: the remittances below are checked against it.
        let rate = try! ReferenceRate(unitCurrency: "CNY", quotedCurrency: "KHR", businessDate: BusinessCalendar.date(of: time, cutoffMilliseconds: 0),
                                      rate: "563.25", toleranceBasisPoints: 100)
        let rateBody = try! TransactionBody(chainID: chainID, creator: AccountID("admin@nbc"), clientID: ID128(high: 9, low: 99),
                                            expiry: Timestamp(millisecondsSinceEpoch: settlementTime + 60_000), commands: [.setReferenceRate(rate)])
        transactions.append(try! Transaction.signing(rateBody, with: [key]))
        for n in 1...3 {
            let quote = try! FXQuote(quoteID: "q\(n)", unitCurrency: "CNY", quotedCurrency: "KHR", rate: "563.25", rounding: .halfEven,
                                     quotedAt: time, expiresAt: Timestamp(millisecondsSinceEpoch: settlementTime + 60_000))
            let entry = try! SettlementEntry(kind: .inwardRemittance, gateway: upi, externalReference: "upi-\(n)", amount: Amount(56_325 * Int64(n), .khr),
                                             account: AccountID("sokha@aba"), foreignAmount: ForeignAmount(currency: "CNY", minorUnits: 10_000 * Int64(n)), fx: quote)
            transactions.append(tx("prefund@upi", entry, UInt64(n)))
        }
        let outcome = Ledger.execute(transactions, context: BlockContext(chainID: chainID, height: 1, time: time), state: state)
        precondition(outcome.results.allSatisfy { $0 == .applied }, "settlement fixture: \(outcome.results)")
        state.apply(outcome.writes)
        return state
    }

    func withCommittedState<T: Sendable>(_ body: @escaping @Sendable (CommittedState) -> Result<T, APIError>) async throws(APIError) -> T {
        guard !state.withLock({ $0.busy }) else { throw APIError("NODE_BUSY", "busy", .serviceUnavailable) }
        let state = CommittedState(reader: settlement, height: 1, time: Timestamp(millisecondsSinceEpoch: Self.settlementTime), stateRoot: tree.root,
                                   prove: { [tree] key in MerkleProof(tree, key: key) })
        return try body(state).get()
    }

    func stateAnchor(after height: UInt64) async throws(APIError) -> StateAnchor {
        guard state.withLock({ $0.anchorAvailable }) else { throw APIError("PROOF_NOT_READY", "no anchor yet", .serviceUnavailable, headers: [.retryAfter: "1"]) }
        let anchor = header(height + 1)
        return StateAnchor(header: anchor, certificate: certificate(anchor))
    }

    var validatorSet: ValidatorSet { try! ValidatorSet([Validator(publicKey: validatorKey.publicKey, power: 10, name: "nbc")]) }

    /// A signed transfer from `creator`; the creator's name picks what `submit` answers:
    /// full → MEMPOOL_FULL, badsig → BAD_SIGNATURE, anything else → admitted.
    func transaction(_ creator: String, _ n: UInt64 = 1) -> Transaction {
        let source = try! AccountID(creator)
        let body = try! TransactionBody(chainID: chainID, creator: source, clientID: ID128(high: 1, low: n), expiry: Timestamp(millisecondsSinceEpoch: 4_000_000_000_000),
                                        commands: [.transfer(try! Transfer(source: source, target: try! AccountID("dara@aba"), amount: Amount(100, .usd)))])
        return try! Transaction.signing(body, with: [key])
    }

    /// Commits the pending `id` in a new block and tells waiters.
    func commit(_ id: TransactionID) {
        let height: UInt64 = state.withLock { state in
            state.height += 1
            if let tx = state.pending.removeValue(forKey: id) { state.committed[id] = (state.height, 0, tx) }
            return state.height
        }
        commits.publish(height)
    }

    func submit(_ transactions: [Transaction]) async -> [SubmitOutcome] {
        transactions.map { tx in
            state.withLock { state in
                if state.busy { return .refused(code: "MEMPOOL_FULL", message: "full", retryable: true) }
                if tx.body.creator.text.hasPrefix("badsig") { return .refused(code: "BAD_SIGNATURE", message: "bad", retryable: false) }
                if let done = state.committed[tx.id] {
                    return .committed(TransactionStatusView(id: tx.id.description, status: "committed", height: done.height, index: done.index, result: "applied"))
                }
                state.pending[tx.id] = tx
                return .pending(tx.id)
            }
        }
    }

    func transactionStatus(_ id: TransactionID, withTransaction: Bool) async -> TransactionStatusView {
        state.withLock { state in
            if let done = state.committed[id] {
                return TransactionStatusView(id: id.description, status: "committed", height: done.height, index: done.index, result: "applied",
                                             transaction: withTransaction ? Data(done.transaction.encoded).base64EncodedString() : nil)
            }
            if let tx = state.pending[id] { return TransactionStatusView(id: id.description, status: "pending", transaction: Data(tx.encoded).base64EncodedString()) }
            return TransactionStatusView(id: id.description, status: "unknown")
        }
    }

    func header(_ height: UInt64) -> BlockHeader {
        try! BlockHeader(chainID: chainID, height: height, time: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + height), previousBlockHash: .zero,
                         transactionsRoot: .zero, lastResultsRoot: .zero, stateRoot: tree.root, validatorsHash: validatorSet.hash,
                         nextValidatorsHash: validatorSet.hash, proposer: validatorKey.publicKey, lastCommitHash: .zero)
    }

    func certificate(_ header: BlockHeader) -> CommitCertificate {
        let message = VoteBody(chainID: chainID, type: .precommit, height: header.height, round: 0, blockHash: header.hash, validator: validatorKey.publicKey).encoded
        return try! CommitCertificate(height: header.height, round: 0, blockHash: header.hash,
                                      signatures: [KeySignature(publicKey: validatorKey.publicKey, signature: validatorKey.sign(message))])
    }

    func block(_ height: UInt64) async -> BlockView? {
        let (top, ids) = state.withLock { state in (state.height, Self.committed(state, at: height).map(\.id.description)) }
        guard height >= 1, height <= top else { return nil }
        let header = header(height)
        return BlockView(height: height, hash: header.hash.hex, previousHash: Digest.zero.hex, timeMilliseconds: header.time.millisecondsSinceEpoch,
                         proposer: validatorKey.publicKey.hex, stateRoot: tree.root.hex, transactions: ids, results: ids.map { _ in .applied },
                         header: Hex.encode(header.encoded), certificate: Hex.encode(certificate(header).encoded))
    }

    /// The transactions committed at `height`, in block order.
    static func committed(_ state: State, at height: UInt64) -> [Transaction] {
        state.committed.values.filter { $0.height == height }.sorted { ($0.index, $0.transaction.id.description) < ($1.index, $1.transaction.id.description) }.map(\.transaction)
    }

    func blockTransactions(_ height: UInt64) async -> [Transaction]? {
        state.withLock { state in height >= 1 && height <= state.height ? Self.committed(state, at: height) : nil }
    }

    func blocks(from: UInt64, limit: Int) async -> [BlockSummaryView] {
        let top = state.withLock { $0.height }
        guard from <= top else { return [] }
        return (from...min(top, from + UInt64(limit) - 1)).map {
            BlockSummaryView(height: $0, hash: header($0).hash.hex, timeMilliseconds: 0, proposer: validatorKey.publicKey.hex, transactions: 0)
        }
    }

    func account(_ id: AccountID, proof: Bool) async throws(APIError) -> AccountView {
        guard id == record.id else { throw .notFound("no account \(id)") }
        guard proof else { return AccountView(record: record, height: 3) }
        guard state.withLock({ $0.anchorAvailable }) else { throw APIError("PROOF_NOT_READY", "no anchor yet", .serviceUnavailable, headers: [.retryAfter: "1"]) }
        let key = StateKey.account(id), anchor = header(4)
        let view = StateProofView(height: 3, key: key.hex, value: Hex.encode(StateRecord.account(record).encoded),
                                    proof: Hex.encode(MerkleProof(tree, key: key.raw).encoded), stateRoot: tree.root.hex,
                                    header: Hex.encode(anchor.encoded), certificate: Hex.encode(certificate(anchor).encoded))
        return AccountView(record: record, height: 3, proof: view)
    }

    /// One credit of 250 KHR on 2026-12-08 for any account but `nobody@…`.
    func accountStatement(_ id: AccountID, date: BusinessDate) async throws(APIError) -> AccountStatement {
        guard !state.withLock({ $0.busy }) else { throw APIError("NODE_BUSY", "busy", .serviceUnavailable) }
        guard !id.text.hasPrefix("nobody@") else { throw .notFound("no account \(id) exists, or existed on \(date)") }
        guard !id.text.hasPrefix("pruned@") else { throw APIError("STATEMENT_UNAVAILABLE", "blocks of \(date) are pruned here", .conflict) }
        let time = Timestamp(millisecondsSinceEpoch: UInt64(date.day) * 86_400_000 + 3_600_000)
        let movement = AccountStatement.Movement(height: 3, index: 0, transaction: TransactionID(SHA256.hash([3])), time: time, amount: 250,
                                                 kind: "TRANSFER", counterparty: try! AccountID("payer@aba"), reference: "R&D <1>")
        return AccountStatement(account: id, date: date, from: time, to: time, height: 5, created: time,
                                currencies: [.init(currency: .khr, opening: 1_000, closing: 1_250, movements: [movement])])
    }

    func accountTransactions(_ id: AccountID, before: HistoryPosition?, limit: Int) async throws(APIError) -> AccountHistoryView {
        let all = (1...5).reversed().map { AccountHistoryView.Entry(id: String(repeating: "\($0)", count: 64), height: UInt64($0), index: 0) }
        let page = Array(all.filter { before == nil || $0.height < before!.height }.prefix(limit))
        return AccountHistoryView(account: id.text, transactions: page, next: page.count == limit ? page.last.map { "\($0.height):\($0.index)" } : nil)
    }

    func validators(signing height: UInt64?) async throws(APIError) -> ValidatorsView {
        let (busy, top) = state.withLock { ($0.busy, $0.height) }
        guard !busy else { throw APIError("NODE_BUSY", "busy", .serviceUnavailable) }
        guard (height ?? top + 1) <= top + 1 else { throw .notFound("no set for block \(height!) yet") }
        return ValidatorsView(signing: height ?? top + 1, set: validatorSet)
    }

    /// A receipt over a two-block chain made for the transaction: its block, holding it alone, and
    /// the next, whose results root holds its result; both certified by the fake's validator.
    func receipt(_ id: TransactionID) async throws(APIError) -> ReceiptView {
        let (found, anchorAvailable) = state.withLock { ($0.committed[id], $0.anchorAvailable) }
        guard let done = found else { throw .notFound("transaction \(id) is not committed here") }
        guard anchorAvailable else { throw APIError("PROOF_NOT_READY", "no anchor yet", .serviceUnavailable, headers: [.retryAfter: "1"]) }
        let time = { (height: UInt64) in Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + height) }
        let block = try! BlockHeader(chainID: chainID, height: done.height, time: time(done.height), previousBlockHash: .zero,
                                     transactionsRoot: MerkleList.root([id.digest]), lastResultsRoot: .zero, stateRoot: tree.root,
                                     validatorsHash: validatorSet.hash, nextValidatorsHash: validatorSet.hash, proposer: validatorKey.publicKey, lastCommitHash: .zero)
        let next = try! BlockHeader(chainID: chainID, height: done.height + 1, time: time(done.height + 1), previousBlockHash: block.hash,
                                    transactionsRoot: MerkleList.root([]), lastResultsRoot: ResultsTree.root([id], [.applied]), stateRoot: tree.root,
                                    validatorsHash: validatorSet.hash, nextValidatorsHash: validatorSet.hash, proposer: validatorKey.publicKey, lastCommitHash: .zero)
        return ReceiptView(id: id, height: done.height, index: 0, transaction: done.transaction, result: .applied,
                           transactionsProof: MerkleList.proof([id.digest], index: 0), resultsProof: MerkleList.proof([ResultsTree.leaf(0, id, .applied)], index: 0),
                           header: block, nextHeader: next, nextCertificate: certificate(next))
    }

    func status() -> StatusView {
        let (height, syncing) = state.withLock { ($0.height, $0.syncing) }
        return StatusView(name: "fake", chainID: chainID.text, version: "test", height: height, round: 0, stateRoot: tree.root.hex, latestBlockHash: Digest.zero.hex,
                          latestBlockTimeMilliseconds: 0, validator: true, peers: [], sync: syncing ? "syncing" : "caught_up", mempoolTransactions: 0)
    }

    func metricsText() -> String { "# TYPE tonle_height gauge\ntonle_height 3\n" }
}

/// Ledger state in a dictionary.
final class DictionaryState: LedgerStateReader, @unchecked Sendable {
    private let values = Mutex([Digest: [UInt8]]())
    func stateValue(for key: Digest) -> [UInt8]? { values.withLock { $0[key] } }
    func apply(_ writes: [StateWrite]) { values.withLock { for write in writes { $0[write.key] = write.value } } }
    var all: [Digest: [UInt8]] { values.withLock { $0 } }
}

/// A sparse Merkle tree in memory.
final class MemoryTree: MerkleNodeReader, @unchecked Sendable {
    private var nodes: [NodePosition: MerkleNode] = [:]

    func merkleNode(at position: NodePosition) -> MerkleNode? { nodes[position] }

    func set(_ key: Digest, _ value: [UInt8]) {
        let result = SparseMerkleTree.update(self, [MerkleUpdate(key: key.raw, valueHash: SHA256.hash(value))])
        for (position, node) in result.writes { nodes[position] = node }
    }

    var root: Digest { SparseMerkleTree.root(self) }
}
