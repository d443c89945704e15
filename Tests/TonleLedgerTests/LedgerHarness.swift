import Foundation
import Testing
import TonleCrypto
import TonleLedger
import TonleRuntime
import TonleStorage
import TonleStore
import TonleTypes

/// The stores the ledger's tests run on: every rule is shown through the real SQLite store as
/// well as the in-memory one.
enum LedgerStoreKind: String, CaseIterable, Sendable {
    case memory, sqlite

    func make() -> any LedgerStore {
        switch self {
        case .memory: return MemoryStore()
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-ledger-\(UUID().uuidString)")
            try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var options = SQLiteStore.Options()
            options.mergeEntriesMax = 5_000   // merge now and then, so reads come from both the log and the tables
            return try! SQLiteStore(path: directory.appendingPathComponent("ledger.sqlite").path, options: options)
        }
    }
}

/// A small network's ledger: the central bank (nbc), two banks (aclb, wing) and a gateway (upi),
/// run block by block through `BlockExecutor` on a real store, with the invariants checked after each.
struct LedgerHarness {
    static let chain = try! ChainID("tonle-test")
    static let genesisTime: UInt64 = 1_790_000_000_000
    static func key(_ n: UInt8) -> Ed25519.SigningKey { Ed25519.SigningKey(seed: Bytes32(Array(repeating: n, count: 32))!) }
    static func id(_ text: String) -> AccountID { try! AccountID(text) }

    static let admin = key(1), sokhaKey = key(2), daraKey = key(3), tellerKey = key(4), multiKeys = [key(5), key(6), key(7)]
    static let validatorKeys = (10..<14).map { key(UInt8($0)) }

    let store: any LedgerStore
    var height: UInt64 = 0
    var time: UInt64 = genesisTime
    var clientCounter: UInt64 = 0
    var validators: ValidatorSet

    init(_ kind: LedgerStoreKind = .memory) {
        store = kind.make()
        let single = { (key: Ed25519.SigningKey) in KeySet(single: key.publicKey) }
        let genesis = try! Genesis(
            chainID: Self.chain, genesisTime: Timestamp(millisecondsSinceEpoch: Self.genesisTime),
            validators: ValidatorSet(Self.validatorKeys.map { try Validator(publicKey: $0.publicKey, power: 1, name: "v") }),
            participants: [
                Participant(id: InstitutionID("nbc"), role: .centralBank, name: "National Bank of Cambodia"),
                Participant(id: InstitutionID("aclb"), role: .bank, name: "ACLEDA Bank"),
                Participant(id: InstitutionID("wing"), role: .paymentProvider, name: "Wing"),
                Participant(id: InstitutionID("upi"), role: .gateway, name: "UnionPay International"),
            ],
            accounts: [
                GenesisAccount(id: Self.id("admin@nbc"), keys: single(Self.admin)),
                GenesisAccount(id: Self.id("issuance@nbc"), keys: single(Self.admin), flags: .issuance,
                               balances: [Amount(-2_000_000, .khr), Amount(-20_000, .usd)]),
                GenesisAccount(id: Self.id("sokha@aclb"), keys: single(Self.sokhaKey), balances: [Amount(1_000_000, .khr), Amount(10_000, .usd)]),
                GenesisAccount(id: Self.id("teller@aclb"), keys: single(Self.tellerKey)),
                GenesisAccount(id: Self.id("multi@aclb"), keys: KeySet(keys: Self.multiKeys.map(\.publicKey), quorum: 2), balances: [Amount(1_000_000, .khr)]),
                GenesisAccount(id: Self.id("dara@wing"), keys: single(Self.daraKey), balances: [Amount(10_000, .usd)]),
            ])
        try! BlockExecutor.initialise(store, genesis: genesis)
        validators = genesis.validators
    }

    /// A transaction from `creator` signed by `signers`, expiring `expiresIn` ms after the next
    /// block, under `clientID` (default: a new one).
    mutating func tx(_ creator: String, _ commands: [Command], signers: [Ed25519.SigningKey], expiresIn: UInt64 = 60_000, chain: ChainID = LedgerHarness.chain,
                     clientID: ID128? = nil) -> Transaction {
        clientCounter += 1
        let body = try! TransactionBody(chainID: chain, creator: Self.id(creator), clientID: clientID ?? ID128(high: 0, low: clientCounter),
                                        expiry: Timestamp(millisecondsSinceEpoch: time + 1_000 + expiresIn), commands: commands)
        return try! Transaction.signing(body, with: signers)
    }

    /// Executes a block `advance` ms after the previous one, through `BlockExecutor` with a commit
    /// certificate from the validators; checks the invariants; returns the results.
    @discardableResult
    mutating func block(_ transactions: [Transaction], advance: UInt64 = 1_000) -> [TransactionResult] {
        time += advance
        let lastCommit = height == 0 ? nil : store.certificate(at: height)
        let header = try! BlockExecutor.nextHeader(
            store, chainID: Self.chain, time: Timestamp(millisecondsSinceEpoch: time), transactions: transactions,
            proposer: Self.validatorKeys[0].publicKey, lastCommit: lastCommit)
        let block = try! Block(header: header, transactions: transactions, lastCommit: lastCommit)
        let certificate = try! CommitCertificate(height: header.height, round: 0, blockHash: block.hash, signatures: Self.validatorKeys.map { key in
            let vote = VoteBody(chainID: Self.chain, type: .precommit, height: header.height, round: 0, blockHash: block.hash, validator: key.publicKey)
            return KeySignature(publicKey: key.publicKey, signature: key.sign(vote.encoded))
        })
        let applied = try! BlockExecutor.apply(block, certificate: certificate, to: store)
        height += 1
        validators = applied.validators
        let violations = LedgerInvariants.violations(records)
        #expect(violations.isEmpty, "after block \(height): \(violations)")
        return applied.results
    }

    /// Every record in the state.
    var records: [StateRecord] { store.allStateValues().values.map { try! StateRecord(encoded: $0) } }
    /// The state's value under `key`.
    func value(_ key: Digest) -> [UInt8]? { store.stateValue(for: key) }
    func record(_ key: Digest) -> StateRecord? { value(key).flatMap { try? StateRecord(encoded: $0) } }

    /// One transaction in its own block; its result.
    mutating func run(_ creator: String, _ commands: [Command], signers: [Ed25519.SigningKey], expiresIn: UInt64 = 60_000) -> TransactionResult {
        let transaction = tx(creator, commands, signers: signers, expiresIn: expiresIn)
        return block([transaction])[0]
    }

    func account(_ id: String) -> AccountRecord? {
        guard let bytes = store.stateValue(for: StateKey.account(Self.id(id))), case .account(let a) = try! StateRecord(encoded: bytes) else { return nil }
        return a
    }

    func balance(_ id: String, _ currency: Currency) -> Balance { account(id)!.balance(currency) }
}

// Command shorthands.
func transfer(_ from: String, _ to: String, _ units: Int64, _ currency: Currency = .khr) -> Command {
    .transfer(try! Transfer(source: LedgerHarness.id(from), target: LedgerHarness.id(to), amount: Amount(units, currency)))
}

func hold(_ id: UInt64, _ from: String, _ to: String, _ units: Int64, timeout: UInt64 = 10_000) -> Command {
    .hold(try! Hold(id: ID128(high: 7, low: id), source: LedgerHarness.id(from), target: LedgerHarness.id(to), amount: Amount(units, .khr), timeoutMilliseconds: timeout))
}

func rejected(_ code: RejectionCode, _ command: UInt16? = 0, detail: RejectionDetail? = nil) -> TransactionResult {
    .rejected(code, command: command, detail: detail)
}
