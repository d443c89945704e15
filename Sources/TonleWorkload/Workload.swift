import Dispatch
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleRuntime
import TonleStorage
import TonleTypes

/// A deterministic stream of blocks for tests and benchmarks: a genesis with the central bank
/// and four banks, `accounts` funded accounts — created by setup blocks, or imported into the
/// genesis state (`Setup.imported`) — then blocks of random transfers. The same seed always gives the same blocks, so a run can be replayed exactly
/// (after a crash, in another process, or in memory to check a store).
public struct Workload: Sendable {
    public let seed: UInt64
    public let accounts: Int
    public let chainID = try! ChainID("tonle-workload")
    public let genesisTime = Timestamp(millisecondsSinceEpoch: 1_790_000_000_000)
    public let admin = Ed25519.SigningKey(seed: Bytes32(Array(repeating: 1, count: 32))!)
    /// One key for every workload account: making a million keys would take longer than the run.
    public let accountKey = Ed25519.SigningKey(seed: Bytes32(Array(repeating: 2, count: 32))!)
    public let validatorKeys = (10..<14).map { Ed25519.SigningKey(seed: Bytes32(Array(repeating: UInt8($0), count: 32))!) }
    /// Real signatures, or zero bytes where only the execution is measured (the ledger checks
    /// which keys signed; signature validity is checked before execution).
    public let signed: Bool
    /// How the accounts come to exist.
    public enum Setup: String, Sendable {
        /// Blocks 1…`setupBlocks` create and fund them, 5,000 a block, through the ledger.
        case blocks
        /// They are in the genesis state, funded by the issuance account (`importedWrites`): a
        /// bulk genesis import, which builds millions of accounts in minutes.
        case imported
    }
    public let setup: Setup
    /// BFT time between blocks: 1 s by default; hours make request records expire within a
    /// benchmark (they are forgotten two transaction lifetimes after their block).
    public let blockMilliseconds: UInt64
    /// Accounts created per setup block (two commands each).
    public let setupBlockAccounts = 5_000
    public static let openingBalance: Int64 = 1_000_000_000

    public init(seed: UInt64, accounts: Int, signed: Bool = false, setup: Setup = .blocks, blockMilliseconds: UInt64 = 1_000) {
        precondition(accounts >= 2 && accounts <= Int(UInt32.max), "transfers need two accounts; an import numbers them in 32 bits")
        precondition((1...86_400_000).contains(blockMilliseconds), "a block every 1 ms to 1 day")
        (self.seed, self.accounts, self.signed, self.setup, self.blockMilliseconds) = (seed, accounts, signed, setup, blockMilliseconds)
    }

    public var validators: ValidatorSet { try! ValidatorSet(validatorKeys.map { try Validator(publicKey: $0.publicKey, power: 1, name: "validator") }) }

    /// The genesis document. With imported accounts, the issuance account opens at minus their
    /// opening balances (the accounts themselves are in `importedWrites`, not the document).
    public var genesis: Genesis {
        let admin = KeySet(single: self.admin.publicKey)
        let issued = setup == .imported ? [Amount(-Workload.openingBalance * Int64(accounts), .khr)] : []
        return try! Genesis(
            chainID: chainID, genesisTime: genesisTime, validators: validators,
            participants: [try Participant(id: InstitutionID("nbc"), role: .centralBank, name: "Central bank")]
                + (0..<4).map { try Participant(id: InstitutionID("bank\($0)"), role: .bank, name: "Bank \($0)") },
            accounts: [
                try GenesisAccount(id: AccountID("admin@nbc"), keys: admin),
                try GenesisAccount(id: AccountID("issuance@nbc"), keys: admin, flags: .issuance, balances: issued),
            ])
    }

    public func account(_ index: Int) -> AccountID { try! AccountID("a\(index)@bank\(index % 4)") }

    /// Blocks 1…`setupBlocks` create the accounts; later blocks transfer.
    public var setupBlocks: Int { setup == .imported ? 0 : (accounts + setupBlockAccounts - 1) / setupBlockAccounts }

    public func time(ofHeight height: UInt64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: genesisTime.millisecondsSinceEpoch + height * blockMilliseconds)
    }

    /// The transactions of block `height`: account setup first, then `transfers` random transfers.
    public func transactions(height: UInt64, transfers: Int) -> [Transaction] {
        let expiry = Timestamp(millisecondsSinceEpoch: time(ofHeight: height).millisecondsSinceEpoch + 60_000)
        if height <= UInt64(setupBlocks) {
            let first = Int(height - 1) * setupBlockAccounts
            return (first..<min(accounts, first + setupBlockAccounts)).map { index in
                let commands: [Command] = [
                    .createAccount(CreateAccount(id: account(index), keys: KeySet(single: accountKey.publicKey))),
                    .issue(Issue(issuer: try! AccountID("issuance@nbc"), target: account(index), amount: Amount(Workload.openingBalance, .khr))),
                ]
                return transaction(creator: try! AccountID("admin@nbc"), key: admin, height: height, index: index, expiry: expiry, commands: commands)
            }
        }
        var random = SplitMix64(seed: seed ^ (height &* 0x9E37_79B9_7F4A_7C15))
        return (0..<transfers).map { index in
            let source = Int(random.next() % UInt64(accounts))
            var target = Int(random.next() % UInt64(accounts - 1))
            if target >= source { target += 1 }
            let amount = Amount(Int64(random.next() % 1_000) + 1, .khr)
            let command = Command.transfer(try! Transfer(source: account(source), target: account(target), amount: amount))
            return transaction(creator: account(source), key: accountKey, height: height, index: index, expiry: expiry, commands: [command])
        }
    }

    private func transaction(creator: AccountID, key: Ed25519.SigningKey, height: UInt64, index: Int, expiry: Timestamp, commands: [Command]) -> Transaction {
        let body = try! TransactionBody(chainID: chainID, creator: creator, clientID: ID128(high: height, low: UInt64(index)), expiry: expiry, commands: commands)
        if signed { return try! Transaction.signing(body, with: [key]) }
        return try! Transaction(body: body, signatures: [KeySignature(publicKey: key.publicKey, signature: Ed25519.Signature(Array(repeating: 0, count: 64))!)])
    }

    /// The next block on top of `store`, carrying the stored certificate of the block before it.
    public func nextBlock(on store: any LedgerStore, transfers: Int) throws(ApplyError) -> Block {
        let height = (store.appliedHeight ?? 0) + 1
        let transactions = transactions(height: height, transfers: transfers)
        let lastCommit = height > 1 ? store.certificate(at: height - 1) : nil
        let header = try BlockExecutor.nextHeader(
            store, chainID: chainID, time: time(ofHeight: height), transactions: transactions, proposer: validatorKeys[Int(height % 4)].publicKey, lastCommit: lastCommit)
        return try! Block(header: header, transactions: transactions, lastCommit: lastCommit)
    }

    /// Precommits for `block` from every validator.
    public func certificate(for block: Block) -> CommitCertificate {
        try! CommitCertificate(height: block.header.height, round: 0, blockHash: block.hash, signatures: validatorKeys.map { key in
            let vote = VoteBody(chainID: chainID, type: .precommit, height: block.header.height, round: 0, blockHash: block.hash, validator: key.publicKey)
            return KeySignature(publicKey: key.publicKey, signature: key.sign(vote.encoded))
        })
    }

    /// Initialises an empty store, or does nothing to one that has the genesis state. Imported
    /// accounts go in through one ordinary commit at height 0, built in memory (a large import
    /// streams `importedWrites` into `RocksStore.importGenesis` instead).
    public func initialise(_ store: any LedgerStore) throws(ApplyError) {
        guard store.appliedHeight == nil else { return }
        guard setup == .imported else { return try BlockExecutor.initialise(store, genesis: genesis) }
        let writes = Array(importedWrites())
        let tree = SparseMerkleTree.update(store, writes.map { MerkleUpdate(key: $0.key.raw, valueHash: $0.value.map { SHA256.hash($0) }) })
        let batch = CommitBatch(
            height: 0, block: nil, transactionIDs: [], results: [], certificate: nil, stateWrites: writes, nodeWrites: tree.writes,
            stateRoot: tree.root, accountIndex: [], validators: validators)
        do { try store.commit(batch) } catch { throw .store(error) }
    }

    /// The genesis state with every account imported, in ascending key order: the genesis
    /// document's records, and each account's record with its opening balance. Sorting needs 16
    /// bytes per account in memory; the records are made as the sequence is read.
    public func importedWrites() -> ImportedWrites {
        // Each account's key by its first 8 bytes, on every core; ties (rare) by the whole key.
        var order = [(prefix: UInt64, index: UInt32)](repeating: (0, 0), count: accounts)
        let chunks = 64, size = (accounts + chunks - 1) / chunks
        order.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for index in min(accounts, chunk * size)..<min(accounts, (chunk + 1) * size) {
                    slots[index] = (StateKey.account(account(index)).raw.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).bigEndian }, UInt32(index))
                }
            }
        }
        order.sort { a, b in
            a.prefix != b.prefix ? a.prefix < b.prefix : StateKey.account(account(Int(a.index))) < StateKey.account(account(Int(b.index)))
        }
        return ImportedWrites(workload: self, order: order.map(\.index), genesis: Ledger.genesisWrites(genesis))
    }

    /// `importedWrites`: the genesis records merged, by key, with the accounts'.
    public struct ImportedWrites: Sequence, IteratorProtocol {
        let workload: Workload
        let order: [UInt32]
        let genesis: [StateWrite]
        var nextAccount = 0, nextGenesis = 0
        var pendingAccount: StateWrite?

        public mutating func next() -> StateWrite? {
            if pendingAccount == nil, nextAccount < order.count {
                let id = workload.account(Int(order[nextAccount]))
                let record = AccountRecord(
                    id: id, keys: KeySet(single: workload.accountKey.publicKey), flags: [],
                    balances: [Balance(currency: .khr, balance: Workload.openingBalance)])
                pendingAccount = StateWrite(key: StateKey.account(id), value: StateRecord.account(record).encoded)
                nextAccount += 1
            }
            if nextGenesis < genesis.count, pendingAccount.map({ genesis[nextGenesis].key < $0.key }) ?? true {
                defer { nextGenesis += 1 }
                return genesis[nextGenesis]
            }
            defer { pendingAccount = nil }
            return pendingAccount
        }
    }

    /// Builds, executes and commits the next block (with its certificate).
    @discardableResult
    public func applyNext(to store: any LedgerStore, transfers: Int, clock: () -> UInt64 = { 0 }) throws(ApplyError) -> BlockExecutor.Applied {
        let block = try nextBlock(on: store, transfers: transfers)
        return try BlockExecutor.apply(block, certificate: certificate(for: block), to: store, clock: clock)
    }
}
