import Testing
import TonleCrypto
import TonleLedger
import TonleTypes

/// State in a dictionary.
struct MemoryState: LedgerStateReader {
    var values: [Digest: [UInt8]] = [:]
    func stateValue(for key: Digest) -> [UInt8]? { values[key] }
    mutating func apply(_ writes: [StateWrite]) { for write in writes { values[write.key] = write.value } }
    var records: [StateRecord] { values.values.map { try! StateRecord(encoded: $0) } }
}

/// A small network's ledger: the central bank (nbc), two banks (aclb, wing) and a gateway (upi),
/// run block by block with the invariants checked after each.
struct LedgerHarness {
    static let chain = try! ChainID("tonle-test")
    static let genesisTime: UInt64 = 1_790_000_000_000
    static func key(_ n: UInt8) -> Ed25519.SigningKey { Ed25519.SigningKey(seed: Bytes32(Array(repeating: n, count: 32))!) }
    static func id(_ text: String) -> AccountID { try! AccountID(text) }

    static let admin = key(1), sokhaKey = key(2), daraKey = key(3), tellerKey = key(4), multiKeys = [key(5), key(6), key(7)]
    static let validatorKeys = (10..<14).map { key(UInt8($0)) }

    var state = MemoryState()
    var height: UInt64 = 0
    var time: UInt64 = genesisTime
    var clientCounter: UInt64 = 0
    var validators: ValidatorSet

    init() {
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
        try! genesis.validate()
        state.apply(Ledger.genesisWrites(genesis))
        validators = genesis.validators
    }

    /// A transaction from `creator` signed by `signers`, expiring `expiresIn` ms after the next block.
    mutating func tx(_ creator: String, _ commands: [Command], signers: [Ed25519.SigningKey], expiresIn: UInt64 = 60_000, chain: ChainID = LedgerHarness.chain) -> Transaction {
        clientCounter += 1
        let body = try! TransactionBody(chainID: chain, creator: Self.id(creator), clientID: ID128(high: 0, low: clientCounter),
                                        expiry: Timestamp(millisecondsSinceEpoch: time + 1_000 + expiresIn), commands: commands)
        return try! Transaction.signing(body, with: signers)
    }

    /// Executes a block `advance` ms after the previous one; checks invariants; returns the results.
    @discardableResult
    mutating func block(_ transactions: [Transaction], advance: UInt64 = 1_000) -> [TransactionResult] {
        height += 1
        time += advance
        let outcome = Ledger.execute(transactions, context: BlockContext(chainID: Self.chain, height: height, time: Timestamp(millisecondsSinceEpoch: time)), state: state)
        state.apply(outcome.writes)
        validators = outcome.validators
        let violations = LedgerInvariants.violations(state.records)
        #expect(violations.isEmpty, "after block \(height): \(violations)")
        return outcome.results
    }

    /// One transaction in its own block; its result.
    mutating func run(_ creator: String, _ commands: [Command], signers: [Ed25519.SigningKey], expiresIn: UInt64 = 60_000) -> TransactionResult {
        let transaction = tx(creator, commands, signers: signers, expiresIn: expiresIn)
        return block([transaction])[0]
    }

    func account(_ id: String) -> AccountRecord? {
        guard let bytes = state.stateValue(for: StateKey.account(Self.id(id))), case .account(let a) = try! StateRecord(encoded: bytes) else { return nil }
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

func rejected(_ code: RejectionCode, _ command: UInt16? = 0) -> TransactionResult { .rejected(code, command: command) }
