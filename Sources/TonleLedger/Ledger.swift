import TonleCrypto
import TonleTypes

/// The block a ledger executes: its chain, height and BFT time.
public struct BlockContext: Hashable, Sendable {
    public let chainID: ChainID
    public let height: UInt64
    public let time: Timestamp

    public init(chainID: ChainID, height: UInt64, time: Timestamp) { (self.chainID, self.height, self.time) = (chainID, height, time) }

    /// The business day in Cambodia (ICT, UTC+7) that the block's time falls in, counted from 1970-01-01.
    public var businessDay: UInt32 { UInt32((time.millisecondsSinceEpoch / 1000 + 7 * 3600) / 86_400) }
}

/// What executing a block did: each transaction's result, the state changes (sorted by key), and
/// the validator schedule after the block (its `current` signs the next block).
public struct BlockOutcome: Sendable {
    public let results: [TransactionResult]
    public let writes: [StateWrite]
    public let validators: ValidatorSchedule
    /// Per transaction, the accounts it wrote with their balances after it, sorted by account
    /// (none for a rejected one): each account's running balance, for statements.
    public let accountsWritten: [[AccountBalances]]
    /// What the block would break of the supply invariant (`LedgerInvariants.blockViolations`):
    /// empty unless the ledger has a bug.
    public let invariantViolations: [String]
}

/// Deterministic execution of transactions against state (docs/errors.md lists every rejection).
///
/// Pure: the same state, context and transactions give the same outcome on every machine. The
/// ledger trusts that every signature listed on a transaction is valid — the shell verifies them
/// (in parallel) before execution — and checks only that the signers meet the quorums required.
public enum Ledger {
    /// Executes `transactions`, in order, as block `context` on top of `state`. `ids`, when given,
    /// are the transactions' ids (the caller has usually computed them already).
    public static func execute(
        _ transactions: [Transaction], ids: [TransactionID]? = nil, context: BlockContext, state: any LedgerStateReader
    ) -> BlockOutcome {
        precondition(transactions.count <= Limits.blockTransactionsMax, "a block holds at most \(Limits.blockTransactionsMax) transactions")
        precondition(ids == nil || ids!.count == transactions.count, "one id per transaction")
        var execution = Execution(context: context, overlay: StateOverlay(state))
        execution.advanceValidators()
        execution.expireHolds()
        execution.forgetOldRequests()
        let ids = ids ?? transactions.map(\.id)
        var written: [[AccountBalances]] = []
        written.reserveCapacity(transactions.count)
        let results = zip(transactions, ids).map { transaction, id in
            let result = execution.apply(transaction, id: id)
            written.append(execution.accountsWritten)
            return result
        }
        execution.listBlockRequests()
        let violations = LedgerInvariants.blockViolations(execution.overlay.accountChanges())
        return BlockOutcome(results: results, writes: execution.overlay.writes(), validators: execution.overlay.validators(),
                            accountsWritten: written, invariantViolations: violations)
    }

    /// The state a genesis document starts: participants, accounts with opening balances,
    /// validators and the ledger's cursors. The document must have passed `Genesis.validate()`.
    public static func genesisWrites(_ genesis: Genesis) -> [StateWrite] {
        var records: [(Digest, StateRecord)] = []
        for participant in genesis.participants { records.append((StateKey.participant(participant.id), .participant(participant))) }
        for account in genesis.accounts {
            let balances = account.balances.map { Balance(currency: $0.currency, balance: $0.minorUnits) }
            records.append((StateKey.account(account.id), .account(AccountRecord(id: account.id, keys: account.keys, flags: account.flags, balances: balances))))
        }
        records.append((StateKey.validators, .validators(ValidatorSchedule(current: genesis.validators, next: genesis.validators))))
        let meta = LedgerMeta(holdExpirySecondProcessed: genesis.genesisTime.millisecondsSinceEpoch / 1000, oldestRememberedHeight: 1)
        records.append((StateKey.meta, .meta(meta)))
        return records.map { StateWrite(key: $0.0, value: $0.1.encoded) }.sorted { $0.key < $1.key }
    }
}

/// An account's balances after a transaction that wrote it.
public struct AccountBalances: Hashable, Sendable {
    public let account: AccountID
    public let balances: [Balance]

    public init(account: AccountID, balances: [Balance]) { (self.account, self.balances) = (account, balances) }
}

/// A refusal: the code, the index of the command that caused it (nil: the transaction as a
/// whole), and the specific rule where the code leaves it open.
struct Rejection: Error {
    let code: RejectionCode
    let command: UInt16?
    var detail: RejectionDetail? = nil
}

/// The state of one block's execution.
struct Execution {
    let context: BlockContext
    var overlay: StateOverlay
    /// The request records this block lists for forgetting (new, or seen again with a later
    /// expiry), in order; the set only answers "listed already?" and never reaches the state.
    var listed: [Digest] = []
    var listedKeys: Set<Digest> = []
    /// The transaction being applied: its signers and creator, and the command running.
    var signers: Set<Ed25519.PublicKey> = []
    var creator: AccountRecord?
    var command: UInt16?
    var transactionID: TransactionID?
    /// The accounts the last applied transaction wrote, with their balances after it.
    var accountsWritten: [AccountBalances] = []

    init(context: BlockContext, overlay: StateOverlay) { (self.context, self.overlay) = (context, overlay) }

    /// A rejection for the running command, with the specific rule when there is one.
    func reject(_ code: RejectionCode, _ detail: RejectionDetail? = nil) -> Rejection { Rejection(code: code, command: command, detail: detail) }

    /// Applies one transaction: all of its commands, or nothing but its replay-protection record.
    mutating func apply(_ transaction: Transaction, id: TransactionID) -> TransactionResult {
        accountsWritten = []
        let body = transaction.body
        guard body.chainID == context.chainID else { return .rejected(.wrongChain, command: nil) }
        guard body.expiry >= context.time else { return .rejected(.expired, command: nil) }
        guard body.expiry.millisecondsSinceEpoch - context.time.millisecondsSinceEpoch <= Limits.transactionLifetimeMaxMilliseconds else {
            return .rejected(.expiryTooFar, command: nil)
        }
        let requestKey = StateKey.request(body.creator, body.clientID)
        if case .request(let request) = overlay.record(requestKey) { return repeated(body, request, key: requestKey) }

        let result: TransactionResult
        transactionID = id
        do {
            try authorise(transaction)
            for (index, command) in body.commands.enumerated() {
                self.command = UInt16(index)
                try run(command)
            }
            accountsWritten = overlay.transactionAccounts().map { AccountBalances(account: $0.id, balances: $0.balances) }
            overlay.commitTransaction()
            result = .applied
        } catch {
            overlay.discardTransaction()
            result = .rejected(error.code, command: error.command, detail: error.detail)
        }
        (signers, creator, command, transactionID) = ([], nil, nil, nil)
        let request = RequestRecord(transaction: id, requestDigest: body.requestDigest, latestExpiry: body.expiry, listedHeight: context.height)
        overlay.set(requestKey, .request(request))
        overlay.commitTransaction()
        list(requestKey)
        return result
    }

    /// A transaction whose creator already sent a request under its client id: it never runs.
    /// The same request again is a duplicate; another one under the same id is a reused id. A later
    /// expiry keeps the record for longer, so retries made while an attempt is unexpired stay refused.
    private mutating func repeated(_ body: TransactionBody, _ request: RequestRecord, key: Digest) -> TransactionResult {
        if body.expiry > request.latestExpiry {
            var extended = request
            (extended.latestExpiry, extended.listedHeight) = (body.expiry, context.height)
            overlay.set(key, .request(extended))
            overlay.commitTransaction()
            list(key)
        }
        return .rejected(request.requestDigest == body.requestDigest ? .duplicateTransaction : .clientIDReused, command: nil)
    }

    /// The creator must exist, be unfrozen, and its keys must meet its quorum.
    private mutating func authorise(_ transaction: Transaction) throws(Rejection) {
        signers = Set(transaction.signatures.map(\.publicKey))
        guard let creator = overlay.account(transaction.body.creator) else { throw reject(.creatorNotFound) }
        guard meetsQuorum(creator.keys) else { throw reject(.quorumNotMet) }
        guard !creator.frozen else { throw reject(.accountFrozen) }
        self.creator = creator
    }

    func meetsQuorum(_ keys: KeySet) -> Bool {
        keys.keys.reduce(0) { $0 + (signers.contains($1) ? 1 : 0) } >= Int(keys.quorum)
    }

    private mutating func run(_ command: Command) throws(Rejection) {
        switch command {
        case .transfer(let transfer): try self.transfer(transfer)
        case .hold(let hold): try self.hold(hold)
        case .postHold(let post): try self.postHold(post)
        case .voidHold(let void): try self.voidHold(void)
        case .settlement(let entry): try settle(entry)
        case .createParticipant(let participant): try createParticipant(participant)
        case .createAccount(let create): try createAccount(create)
        case .setKeys(let set): try setKeys(set)
        case .freeze(let account): try setFrozen(account, true)
        case .unfreeze(let account): try setFrozen(account, false)
        case .issue(let issue): try self.issue(issue)
        case .redeem(let redeem): try self.redeem(redeem)
        case .setLimits(let limits): try setLimits(limits)
        case .addValidator(let validator): try addValidator(validator)
        case .removeValidator(let key): try removeValidator(key)
        case .configureGateway(let config): try configureGateway(config)
        case .setReferenceRate(let rate): try setReferenceRate(rate)
        }
    }

    // MARK: Upkeep at the start of each block: validators, expiries, replay protection

    /// The set named as next by the previous block's header signs the block after this one.
    mutating func advanceValidators() {
        var schedule = overlay.validators()
        guard schedule.current != schedule.next else { return }
        schedule.current = schedule.next
        overlay.set(StateKey.validators, .validators(schedule))
        overlay.commitTransaction()
    }

    /// Voids every hold whose expiry second has passed, second by second since the last block.
    mutating func expireHolds() {
        var meta = overlay.meta()
        let now = context.time.millisecondsSinceEpoch / 1000
        guard now > meta.holdExpirySecondProcessed else { return }
        for second in (meta.holdExpirySecondProcessed + 1)...now {
            guard case .holdExpiry(let bucket) = overlay.record(StateKey.holdExpiry(second: second)) else { continue }
            for id in bucket.holds { if let hold = overlay.hold(id) { release(hold) } }
            overlay.set(StateKey.holdExpiry(second: second), nil)
        }
        meta.holdExpirySecondProcessed = now
        overlay.set(StateKey.meta, .meta(meta))
        overlay.commitTransaction()
    }

    private mutating func list(_ key: Digest) {
        if listedKeys.insert(key).inserted { listed.append(key) }
    }

    /// Forgets the request records listed by blocks more than two transaction lifetimes old, unless
    /// a later block lists them again: a record listed at block time T holds an expiry of at most
    /// T + lifetime, and is kept one lifetime past it.
    mutating func forgetOldRequests() {
        var meta = overlay.meta()
        while meta.oldestRememberedHeight < context.height {
            let key = StateKey.blockRequests(height: meta.oldestRememberedHeight)
            if case .blockRequests(let record) = overlay.record(key) {
                guard record.time.millisecondsSinceEpoch + 2 * Limits.transactionLifetimeMaxMilliseconds < context.time.millisecondsSinceEpoch else { break }
                for requestKey in record.requests {
                    guard case .request(let request) = overlay.record(requestKey), request.listedHeight == meta.oldestRememberedHeight else { continue }
                    overlay.set(requestKey, nil)
                }
                overlay.set(key, nil)
            }
            meta.oldestRememberedHeight += 1
        }
        overlay.set(StateKey.meta, .meta(meta))
        overlay.commitTransaction()
    }

    /// Lists the request records this block created or extended, so they can be forgotten later.
    mutating func listBlockRequests() {
        guard !listed.isEmpty else { return }
        overlay.set(StateKey.blockRequests(height: context.height), .blockRequests(BlockRequestsRecord(time: context.time, requests: listed)))
        overlay.commitTransaction()
    }

    /// Releases a hold's reserved funds and deletes it.
    mutating func release(_ hold: HoldRecord) {
        guard var source = overlay.account(hold.source) else { preconditionFailure("hold \(hold.id) on a missing account") }
        var balance = source.balance(hold.amount.currency)
        balance.held -= hold.amount.minorUnits
        precondition(balance.held >= 0, "held funds went negative on \(hold.source)")
        source.setBalance(balance)
        overlay.save(source)
        overlay.set(StateKey.hold(hold.id), nil)
    }
}
