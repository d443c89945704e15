import Foundation
import Hummingbird
import TonleCrypto
import TonleLedger
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
    /// Up to `limit` stored blocks from `from`, oldest first.
    func blocks(from: UInt64, limit: Int) async -> [BlockSummaryView]
    /// An account as of the latest block; with `proof`, a Merkle proof of it anchored to a
    /// certified header (which may mean waiting for the next block).
    func account(_ id: AccountID, proof: Bool) async throws(APIError) -> AccountView
    /// An account's transactions, newest first, strictly before `before` (or from the newest).
    func accountTransactions(_ id: AccountID, before: HistoryPosition?, limit: Int) async throws(APIError) -> AccountHistoryView
    /// The current validator set.
    func validators() async throws(APIError) -> ValidatorsView
    /// Runs a read of the committed state (settlement reports) where the node may read its
    /// store, and returns its answer; NODE_BUSY if the node cannot take the read now.
    func withCommittedState<T: Sendable>(_ body: @escaping @Sendable (CommittedState) -> Result<T, APIError>) async throws(APIError) -> T
    /// The node's status right now.
    func status() -> StatusView
    /// Prometheus text exposition of the node's metrics.
    func metricsText() -> String
    /// Tells waiters when a new block is stored (long polls and the event stream).
    var commits: CommitNotifier { get }
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
    /// The signed transaction's canonical bytes (base64): for a pending one, and for a committed
    /// one when asked (`?transaction=true`).
    public var transaction: String?

    public init(id: String, status: String, height: UInt64? = nil, index: UInt32? = nil, result: String? = nil, transaction: String? = nil) {
        (self.id, self.status, self.height, self.index, self.result, self.transaction) = (id, status, height, index, result, transaction)
    }
}

/// `GET /v1/blocks/{height}`: the block, its results, and the canonical header and commit
/// certificate for offline checks (`tonle verify block`).
public struct BlockView: Codable, Sendable, Equatable {
    public var height: UInt64
    public var hash: String
    public var previousHash: String
    public var timeMilliseconds: UInt64
    public var proposer: String
    /// The state root after this block's transactions.
    public var stateRoot: String
    public var transactions: [String]
    /// One per transaction: "applied" or a rejection code.
    public var results: [String]
    /// The header's canonical bytes (hex).
    public var header: String
    /// The commit certificate's canonical bytes (hex).
    public var certificate: String

    public init(height: UInt64, hash: String, previousHash: String, timeMilliseconds: UInt64, proposer: String, stateRoot: String,
                transactions: [String], results: [String], header: String, certificate: String) {
        (self.height, self.hash, self.previousHash, self.timeMilliseconds, self.proposer) = (height, hash, previousHash, timeMilliseconds, proposer)
        (self.stateRoot, self.transactions, self.results, self.header, self.certificate) = (stateRoot, transactions, results, header, certificate)
    }

    enum CodingKeys: String, CodingKey {
        case height, hash, previousHash = "previous_hash", timeMilliseconds = "time_ms", proposer, stateRoot = "state_root", transactions, results
        case header, certificate
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
    public var proof: AccountProofView?

    public init(record: AccountRecord, height: UInt64, proof: AccountProofView? = nil) {
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

/// A Merkle proof of an account's record, anchored to the certified header whose `state_root`
/// is the root the proof leads to (docs/api.md#proofs). Everything is hex of canonical bytes.
public struct AccountProofView: Codable, Sendable, Equatable {
    /// The state height the proof is of; the anchor is block `height + 1`, whose header carries
    /// the state root after block `height`.
    public var height: UInt64
    /// The state key (SHA-256 of the account namespace and id).
    public var key: String
    /// The account record's canonical bytes.
    public var value: String
    public var proof: String
    public var stateRoot: String
    /// Block `height + 1`'s header, and the commit certificate for it.
    public var header: String
    public var certificate: String

    public init(height: UInt64, key: String, value: String, proof: String, stateRoot: String, header: String, certificate: String) {
        (self.height, self.key, self.value, self.proof, self.stateRoot, self.header, self.certificate) = (height, key, value, proof, stateRoot, header, certificate)
    }

    enum CodingKeys: String, CodingKey { case height, key, value, proof, stateRoot = "state_root", header, certificate }
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

    /// The set that signs block `height + 1`.
    public var height: UInt64
    public var validators: [Member]
    public var totalPower: UInt64
    /// Power a commit certificate needs: more than two thirds of the total.
    public var quorumPower: UInt64
    /// The set's canonical bytes (hex), for `tonle verify --validators`.
    public var encoded: String

    public init(height: UInt64, set: ValidatorSet) {
        self.height = height
        validators = set.validators.map { Member(publicKey: $0.publicKey.hex, name: $0.name, power: $0.power) }
        totalPower = set.totalPower
        quorumPower = set.quorumPower
        encoded = Hex.encode(set.encoded)
    }

    enum CodingKeys: String, CodingKey { case height, validators, totalPower = "total_power", quorumPower = "quorum_power", encoded }
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

    public init(name: String, chainID: String, version: String, height: UInt64, round: UInt32, stateRoot: String, latestBlockHash: String,
                latestBlockTimeMilliseconds: UInt64, validator: Bool, peers: [String], sync: String, mempoolTransactions: Int) {
        (self.name, self.chainID, self.version, self.height, self.round, self.stateRoot) = (name, chainID, version, height, round, stateRoot)
        (self.latestBlockHash, self.latestBlockTimeMilliseconds, self.validator, self.peers) = (latestBlockHash, latestBlockTimeMilliseconds, validator, peers)
        (self.sync, self.mempoolTransactions) = (sync, mempoolTransactions)
    }

    enum CodingKeys: String, CodingKey {
        case name, chainID = "chain_id", version, height, round, stateRoot = "state_root", latestBlockHash = "latest_block_hash"
        case latestBlockTimeMilliseconds = "latest_block_time_ms", validator, peers, sync, mempoolTransactions = "mempool_transactions"
    }
}
