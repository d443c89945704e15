import Foundation
import Hummingbird
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleTypes

/// What the RPC needs from a node (the node implements it; tests may too). Every method is safe
/// to call from any task. Failures are `APIError`s: a stable code, a message, an HTTP status.
public protocol NodeAPI: Sendable {
    /// Checks (signatures in parallel) and admits transactions; one outcome each, in order.
    func submit(_ transactions: [Transaction]) async -> [SubmitOutcome]
    /// Where a transaction is; a pending one with its bytes, a committed one too when
    /// `withTransaction` (which reads its block).
    func transactionStatus(_ id: TransactionID, withTransaction: Bool) async -> TransactionStatusView
    /// A stored block, or nil above the stored height.
    func block(_ height: UInt64) async -> BlockView?
    /// A stored block's transactions, in block order, or nil above the stored height.
    func blockTransactions(_ height: UInt64) async -> [Transaction]?
    /// Up to `limit` stored blocks from `from`, oldest first.
    func blocks(from: UInt64, limit: Int) async -> [BlockSummaryView]
    /// An account as of the latest block; with `proof`, a Merkle proof of it anchored to a
    /// certified header (which may mean waiting for the next block).
    func account(_ id: AccountID, proof: Bool) async throws(APIError) -> AccountView
    /// An account's transactions, newest first, strictly before `before` (or from the newest).
    func accountTransactions(_ id: AccountID, before: HistoryPosition?, limit: Int) async throws(APIError) -> AccountHistoryView
    /// An account's booked movements and balances on a business date (`AccountStatements`).
    func accountStatement(_ id: AccountID, date: BusinessDate) async throws(APIError) -> AccountStatement
    /// The validator set that signs block `height` (nil: the next block); 404 above the next block.
    func validators(signing height: UInt64?) async throws(APIError) -> ValidatorsView
    /// A committed transaction's receipt: its bytes and result, with Merkle proofs of both against
    /// the certified headers of its block and the next (which may mean waiting for the next block).
    func receipt(_ id: TransactionID) async throws(APIError) -> ReceiptView
    /// Runs a read of the committed state (settlement reports) where the node may read its
    /// store, and returns its answer; NODE_BUSY if the node cannot take the read now.
    func withCommittedState<T: Sendable>(_ body: @escaping @Sendable (CommittedState) -> Result<T, APIError>) async throws(APIError) -> T
    /// Block `height + 1`'s header and certificate, which certify the state after block `height`,
    /// waiting up to `rpc.proof_wait_seconds` for that block (else PROOF_NOT_READY).
    func stateAnchor(after height: UInt64) async throws(APIError) -> StateAnchor
    /// The node's status right now.
    func status() -> StatusView
    /// Prometheus text exposition of the node's metrics.
    func metricsText() -> String
    /// Tells waiters when a new block is stored (long polls and the event stream).
    var commits: CommitNotifier { get }
    /// The low-prefund alerts block `height` caused, if the node still has them (the event stream).
    func prefundAlerts(at height: UInt64) async -> [PrefundAlertView]
}

extension NodeAPI {
    /// A node that keeps no alerts (test doubles).
    public func prefundAlerts(at height: UInt64) async -> [PrefundAlertView] { [] }
}

/// A gateway's prefund fell below the threshold its configuration sets (`prefund_low` events,
/// docs/api.md#events): in `currency`, after block `height`.
public struct PrefundAlertView: Codable, Sendable, Equatable {
    public var gateway: String
    public var currency: String
    public var height: UInt64
    public var balance: String
    public var threshold: String
    public var balanceMinor: Int64
    public var thresholdMinor: Int64

    public init(gateway: InstitutionID, currency: Currency, height: UInt64, balanceMinor: Int64, thresholdMinor: Int64) {
        (self.gateway, self.currency, self.height, self.balanceMinor, self.thresholdMinor) = (gateway.text, currency.code, height, balanceMinor, thresholdMinor)
        balance = Amount(balanceMinor, currency).decimalString
        threshold = Amount(thresholdMinor, currency).decimalString
    }

    enum CodingKeys: String, CodingKey {
        case gateway, currency, height, balance, threshold, balanceMinor = "balance_minor", thresholdMinor = "threshold_minor"
    }
}

/// A refusal: a stable code (docs/api.md), a message saying what to do, the HTTP status.
public struct APIError: Error, Sendable, Equatable {
    public let code: String
    public let message: String
    public let status: HTTPResponse.Status
    public var headers: HTTPFields = [:]

    public init(_ code: String, _ message: String, _ status: HTTPResponse.Status, headers: HTTPFields = [:]) {
        (self.code, self.message, self.status, self.headers) = (code, message, status, headers)
    }

    public static func notFound(_ message: String) -> APIError { APIError("NOT_FOUND", message, .notFound) }
    public static func malformed(_ what: String, _ message: String) -> APIError { APIError("MALFORMED_\(what)", message, .badRequest) }
}

/// The result of submitting one transaction.
public enum SubmitOutcome: Sendable, Equatable {
    /// Waiting in the mempool (newly admitted, or already there).
    case pending(TransactionID)
    /// Already in a block.
    case committed(TransactionStatusView)
    /// Refused: a stable code, a message, and whether retrying later may succeed.
    case refused(code: String, message: String, retryable: Bool)
}

/// A position in an account's history (`before=HEIGHT:INDEX`).
public struct HistoryPosition: Sendable, Equatable {
    public let height: UInt64
    public let index: UInt32

    public init(height: UInt64, index: UInt32) { (self.height, self.index) = (height, index) }

    /// Parses `HEIGHT:INDEX`: a height from 0 to `Limits.heightMax`, an index that fits 32 bits.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let height = RequestInput.decimal(parts[0], in: 0...Limits.heightMax),
              let index = RequestInput.decimal(parts[1], in: 0...UInt64(UInt32.max))
        else { return nil }
        (self.height, self.index) = (height, UInt32(truncatingIfNeeded: index))
    }

    public var text: String { "\(height):\(index)" }
}

/// `GET /v1/transactions/{id}`.
public struct TransactionStatusView: Codable, Sendable, Equatable {
    public var id: String
    /// pending, committed or unknown.
    public var status: String
    public var height: UInt64?
    public var index: UInt32?
    /// "applied", or a rejection code (docs/errors.md).
    public var result: String?
    /// For a rejection a command caused: that command's index (from 0).
    public var command: UInt16?
    /// For a rejection with a specific rule behind it: the rule (`KHQR_CRC_MISMATCH`, docs/errors.md).
    public var detail: String?
    /// The signed transaction's canonical bytes (base64): for a pending one, and for a committed
    /// one when asked (`?transaction=true`).
    public var transaction: String?

    public init(id: String, status: String, height: UInt64? = nil, index: UInt32? = nil, result: String? = nil, transaction: String? = nil) {
        (self.id, self.status, self.height, self.index, self.result, self.transaction) = (id, status, height, index, result, transaction)
    }

    /// A committed transaction's status, with its result in full.
    public init(id: String, height: UInt64, index: UInt32, outcome: TransactionResult, transaction: String? = nil) {
        self.init(id: id, status: "committed", height: height, index: index, result: outcome.code, transaction: transaction)
        (command, detail) = (outcome.command, outcome.detail?.name)
    }
}

extension TransactionResult {
    /// "applied", or the rejection code's name.
    public var code: String {
        switch self {
        case .applied: "applied"
        case .rejected(let code, _, _): code.name
        }
    }

    /// The index of the command that caused a rejection, if one did.
    public var command: UInt16? {
        if case .rejected(_, let command, _) = self { return command }
        return nil
    }

    public var detail: RejectionDetail? {
        if case .rejected(_, _, let detail) = self { return detail }
        return nil
    }

    /// The result named by its parts as the API shows them; nil for names this version does not know.
    public init?(code: String, command: UInt16?, detail: String?) {
        if code == "applied", command == nil, detail == nil {
            self = .applied
            return
        }
        guard let rejection = RejectionCode.allCases.first(where: { $0.name == code }) else { return nil }
        let parsed = detail.flatMap { name in RejectionDetail.allCases.first { $0.name == name } }
        guard (detail == nil) == (parsed == nil) else { return nil }
        self = .rejected(rejection, command: command, detail: parsed)
    }
}

/// One rejected transaction of a block, in full (the block's `results` give only the codes).
public struct RejectionView: Codable, Sendable, Equatable {
    public var index: UInt32
    public var code: String
    public var command: UInt16?
    public var detail: String?

    public init(index: UInt32, _ result: TransactionResult) { (self.index, code, command, detail) = (index, result.code, result.command, result.detail?.name) }
}

/// `GET /v1/blocks/{height}`: the block, its results, and what checks it offline (`tonle verify
/// block`): its canonical header and commit certificate, and — once stored — the next block's,
/// whose header carries this block's results root and the state root after it.
public struct BlockView: Codable, Sendable, Equatable {
    public var height: UInt64
    public var hash: String
    public var previousHash: String
    public var timeMilliseconds: UInt64
    public var proposer: String
    /// The state root after this block's transactions (certified by the next block's header).
    public var stateRoot: String
    public var transactions: [String]
    /// One per transaction: "applied" or a rejection code.
    public var results: [String]
    /// The rejected ones in full: the command that caused each, and the specific rule.
    public var rejections: [RejectionView]
    /// The header's canonical bytes (hex).
    public var header: String
    /// The commit certificate's canonical bytes (hex).
    public var certificate: String
    /// Block `height + 1`'s header and certificate (hex), absent until it is stored.
    public var nextHeader: String?
    public var nextCertificate: String?
    /// With `?transactions=true`: each signed transaction's canonical bytes (base64), in block order.
    public var transactionBytes: [String]?

    public init(height: UInt64, hash: String, previousHash: String, timeMilliseconds: UInt64, proposer: String, stateRoot: String,
                transactions: [String], results: [TransactionResult], header: String, certificate: String, nextHeader: String? = nil,
                nextCertificate: String? = nil) {
        (self.height, self.hash, self.previousHash, self.timeMilliseconds, self.proposer) = (height, hash, previousHash, timeMilliseconds, proposer)
        (self.stateRoot, self.transactions, self.header, self.certificate) = (stateRoot, transactions, header, certificate)
        self.results = results.map(\.code)
        rejections = results.enumerated().compactMap { $0.element.isApplied ? nil : RejectionView(index: UInt32($0.offset), $0.element) }
        (self.nextHeader, self.nextCertificate) = (nextHeader, nextCertificate)
    }

    /// The results in full, rebuilt from `results` and `rejections`; nil if they disagree.
    public var fullResults: [TransactionResult]? {
        var full: [TransactionResult] = []
        let rejected = Dictionary(rejections.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        for (index, code) in results.enumerated() {
            let rejection = rejected[UInt32(index)]
            guard rejection.map({ $0.code == code }) ?? true, let result = TransactionResult(code: code, command: rejection?.command, detail: rejection?.detail) else { return nil }
            full.append(result)
        }
        return rejected.count == full.filter({ !$0.isApplied }).count ? full : nil
    }

    enum CodingKeys: String, CodingKey {
        case height, hash, previousHash = "previous_hash", timeMilliseconds = "time_ms", proposer, stateRoot = "state_root", transactions, results
        case rejections, header, certificate, nextHeader = "next_header", nextCertificate = "next_certificate"
        case transactionBytes = "transaction_bytes"
    }
}

/// `GET /v1/transactions/{id}/receipt` (docs/api.md#receipts): what a committed transaction is
/// and what became of it, provable offline. The transaction's id (SHA-256 of its body) is leaf
/// `index` of block `height`'s transactions root; the leaf SHA-256(id ‖ result bytes) is leaf
/// `index` of the next block's last results root; the next header links to this block's by hash
/// and is certified by `next_certificate`. Everything but `transaction` (base64) is hex.
public struct ReceiptView: Codable, Sendable, Equatable {
    public var id: String
    public var height: UInt64
    public var index: UInt32
    /// The signed transaction's canonical bytes (base64).
    public var transaction: String
    public var result: String
    public var command: UInt16?
    public var detail: String?
    /// The result's canonical bytes (hex): what the results leaf hashes.
    public var resultBytes: String
    public var transactionsProof: String
    public var resultsProof: String
    /// Block `height`'s header, block `height + 1`'s header and its commit certificate.
    public var header: String
    public var nextHeader: String
    public var nextCertificate: String

    public init(id: TransactionID, height: UInt64, index: UInt32, transaction: Transaction, result: TransactionResult, transactionsProof: MerkleListProof,
                resultsProof: MerkleListProof, header: BlockHeader, nextHeader: BlockHeader, nextCertificate: CommitCertificate) {
        (self.id, self.height, self.index) = (id.digest.hex, height, index)
        self.transaction = Data(transaction.encoded).base64EncodedString()
        (self.result, command, detail) = (result.code, result.command, result.detail?.name)
        var writer = CanonicalWriter()
        result.encode(to: &writer)
        resultBytes = Hex.encode(writer.bytes)
        (self.transactionsProof, self.resultsProof) = (Self.hex(transactionsProof), Self.hex(resultsProof))
        (self.header, self.nextHeader, self.nextCertificate) = (Hex.encode(header.encoded), Hex.encode(nextHeader.encoded), Hex.encode(nextCertificate.encoded))
    }

    static func hex(_ proof: MerkleListProof) -> String {
        var writer = CanonicalWriter()
        proof.encode(to: &writer)
        return Hex.encode(writer.bytes)
    }

    enum CodingKeys: String, CodingKey {
        case id, height, index, transaction, result, command, detail, resultBytes = "result_bytes", transactionsProof = "transactions_proof"
        case resultsProof = "results_proof", header, nextHeader = "next_header", nextCertificate = "next_certificate"
    }
}

/// One row of `GET /v1/blocks`.
public struct BlockSummaryView: Codable, Sendable, Equatable {
    public var height: UInt64
    public var hash: String
    public var timeMilliseconds: UInt64
    public var proposer: String
    public var transactions: Int

    public init(height: UInt64, hash: String, timeMilliseconds: UInt64, proposer: String, transactions: Int) {
        (self.height, self.hash, self.timeMilliseconds, self.proposer, self.transactions) = (height, hash, timeMilliseconds, proposer, transactions)
    }

    enum CodingKeys: String, CodingKey { case height, hash, timeMilliseconds = "time_ms", proposer, transactions }
}

/// `GET /v1/accounts/{id}`.
public struct AccountView: Codable, Sendable, Equatable {
    public struct BalanceView: Codable, Sendable, Equatable {
        public var currency: String
        /// Major units as decimal text ("12.50"); `*_minor` are the integers.
        public var balance: String
        public var held: String
        public var available: String
        public var balanceMinor: Int64
        public var heldMinor: Int64

        enum CodingKeys: String, CodingKey { case currency, balance, held, available, balanceMinor = "balance_minor", heldMinor = "held_minor" }
    }

    public struct LimitView: Codable, Sendable, Equatable {
        public var currency: String
        public var perTransactionMax: String?
        public var dailyDebitMax: String?
        public var debitedToday: String

        enum CodingKeys: String, CodingKey { case currency, perTransactionMax = "per_transaction_max", dailyDebitMax = "daily_debit_max", debitedToday = "debited_today" }
    }

    public var id: String
    /// The height whose state this is.
    public var height: UInt64
    public var keys: [String]
    public var quorum: UInt8
    public var flags: [String]
    public var frozen: Bool
    public var balances: [BalanceView]
    public var limits: [LimitView]
    public var proof: StateProofView?

    public init(record: AccountRecord, height: UInt64, proof: StateProofView? = nil) {
        let text = { (minor: Int64, currency: Currency) in Amount(minor, currency).decimalString }
        id = record.id.text
        self.height = height
        keys = record.keys.keys.map(\.hex)
        quorum = record.keys.quorum
        flags = record.flags.contains(.issuance) ? ["issuance"] : []
        frozen = record.frozen
        balances = record.balances.map {
            BalanceView(currency: $0.currency.code, balance: text($0.balance, $0.currency), held: text($0.held, $0.currency),
                        available: text($0.available, $0.currency), balanceMinor: $0.balance, heldMinor: $0.held)
        }
        limits = record.limits.map { limit in
            LimitView(currency: limit.currency.code, perTransactionMax: limit.perTransactionMax.map { text($0, limit.currency) },
                      dailyDebitMax: limit.dailyDebitMax.map { text($0, limit.currency) }, debitedToday: text(limit.debitedToday, limit.currency))
        }
        self.proof = proof
    }
}

/// A Merkle proof of one state key — its record, or that it has none — in the state after block
/// `height`, anchored to block `height + 1`, whose certified header carries that state root
/// (docs/api.md#accounts-and-proofs). Accounts, positions and settlement entries carry one with
/// `?proof=true`; `OfflineVerifier.verifyState` checks it.
public struct StateProofView: Codable, Sendable, Equatable {
    /// The state height the proof is of; the anchor is block `height + 1`.
    public var height: UInt64
    /// The state key (docs/encoding.md#state-keys).
    public var key: String
    /// The state record's bytes (tag byte and canonical record); absent: the key has no record,
    /// and the proof is of that absence.
    public var value: String?
    public var proof: String
    public var stateRoot: String
    /// Block `height + 1`'s header, and the commit certificate for it.
    public var header: String
    public var certificate: String

    public init(height: UInt64, key: String, value: String?, proof: String, stateRoot: String, header: String, certificate: String) {
        (self.height, self.key, self.value, self.proof, self.stateRoot, self.header, self.certificate) = (height, key, value, proof, stateRoot, header, certificate)
    }

    /// A proof taken from the state, waiting for its anchor.
    init(height: UInt64, key: Digest, value: [UInt8]?, proof: MerkleProof, stateRoot: Digest) {
        self.init(height: height, key: key.hex, value: value.map(Hex.encode), proof: Hex.encode(proof.encoded), stateRoot: stateRoot.hex, header: "", certificate: "")
    }

    /// Anchored: block `height + 1`'s header and certificate.
    mutating func anchor(_ anchor: StateAnchor) {
        (header, certificate) = (Hex.encode(anchor.header.encoded), Hex.encode(anchor.certificate.encoded))
    }

    enum CodingKeys: String, CodingKey { case height, key, value, proof, stateRoot = "state_root", header, certificate }
}

/// The certified header that carries the state root after a block, and its certificate.
public struct StateAnchor: Sendable {
    public let header: BlockHeader
    public let certificate: CommitCertificate
    public init(header: BlockHeader, certificate: CommitCertificate) { (self.header, self.certificate) = (header, certificate) }
}

/// `GET /v1/accounts/{id}/transactions`.
public struct AccountHistoryView: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var height: UInt64
        public var index: UInt32
        public init(id: String, height: UInt64, index: UInt32) { (self.id, self.height, self.index) = (id, height, index) }
    }

    public var account: String
    public var transactions: [Entry]
    /// Pass as `before` for the next (older) page; absent on the last page.
    public var next: String?

    public init(account: String, transactions: [Entry], next: String?) { (self.account, self.transactions, self.next) = (account, transactions, next) }
}

/// `GET /v1/validators`.
public struct ValidatorsView: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public var publicKey: String
        public var name: String
        public var power: UInt64
        public init(publicKey: String, name: String, power: UInt64) { (self.publicKey, self.name, self.power) = (publicKey, name, power) }
        enum CodingKeys: String, CodingKey { case publicKey = "public_key", name, power }
    }

    /// The state height the set is read from: it signs block `height + 1`.
    public var height: UInt64
    /// The block this set signs (`height + 1`).
    public var blockHeight: UInt64
    public var validators: [Member]
    public var totalPower: UInt64
    /// Power a commit certificate needs: more than two thirds of the total.
    public var quorumPower: UInt64
    /// The set's canonical bytes (hex), for `tonle verify --validators`.
    public var encoded: String

    /// The set that signs block `blockHeight` (from 1).
    public init(signing blockHeight: UInt64, set: ValidatorSet) {
        precondition(blockHeight >= 1)
        (height, self.blockHeight) = (blockHeight - 1, blockHeight)
        validators = set.validators.map { Member(publicKey: $0.publicKey.hex, name: $0.name, power: $0.power) }
        totalPower = set.totalPower
        quorumPower = set.quorumPower
        encoded = Hex.encode(set.encoded)
    }

    enum CodingKeys: String, CodingKey { case height, blockHeight = "block_height", validators, totalPower = "total_power", quorumPower = "quorum_power", encoded }
}

/// `GET /v1/status`.
public struct StatusView: Codable, Sendable, Equatable {
    public var name: String
    public var chainID: String
    public var version: String
    public var height: UInt64
    public var round: UInt32
    public var stateRoot: String
    public var latestBlockHash: String
    public var latestBlockTimeMilliseconds: UInt64
    public var validator: Bool
    public var peers: [String]
    /// "caught_up" or "syncing".
    public var sync: String
    public var mempoolTransactions: Int
    /// The lowest height whose block this node keeps (1 unless pruned, or state-synced).
    public var oldestBlockHeight: UInt64

    public init(name: String, chainID: String, version: String, height: UInt64, round: UInt32, stateRoot: String, latestBlockHash: String,
                latestBlockTimeMilliseconds: UInt64, validator: Bool, peers: [String], sync: String, mempoolTransactions: Int,
                oldestBlockHeight: UInt64 = 1) {
        (self.name, self.chainID, self.version, self.height, self.round, self.stateRoot) = (name, chainID, version, height, round, stateRoot)
        (self.latestBlockHash, self.latestBlockTimeMilliseconds, self.validator, self.peers) = (latestBlockHash, latestBlockTimeMilliseconds, validator, peers)
        (self.sync, self.mempoolTransactions, self.oldestBlockHeight) = (sync, mempoolTransactions, oldestBlockHeight)
    }

    enum CodingKeys: String, CodingKey {
        case name, chainID = "chain_id", version, height, round, stateRoot = "state_root", latestBlockHash = "latest_block_hash"
        case latestBlockTimeMilliseconds = "latest_block_time_ms", validator, peers, sync, mempoolTransactions = "mempool_transactions"
        case oldestBlockHeight = "oldest_block_height"
    }
}
