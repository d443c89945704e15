import TonleCrypto
import TonleLedger
import TonleStorage
import TonleTypes

/// One account's booked movements on one business date (a day in ICT, UTC+7), per currency, with
/// the opening and closing booked balances: what `GET /v1/accounts/{id}/statement` renders as an
/// ISO 20022 camt.053 statement (docs/api.md#statements).
///
/// The balances are the ledger's own: every account-history entry of a transaction that wrote the
/// account carries its balances after that transaction, so the opening balance is the balance
/// after the account's last entry before the date, and each movement is the change an entry made.
/// Opening plus the movements is the closing balance by construction, on every node alike.
public struct AccountStatement: Sendable, Equatable {
    public struct Movement: Sendable, Equatable {
        public var height: UInt64
        public var index: UInt32
        public var transaction: TransactionID
        public var time: Timestamp
        /// Minor units: positive credits the account, negative debits it.
        public var amount: Int64
        /// `TRANSFER`, `ISSUE`, `REDEEM`, `HOLD_POSTED`, a settlement entry's kind (`INWARD_QR_PAYMENT`, …) or `OTHER`.
        public var kind: String
        public var counterparty: AccountID?
        /// The transfer's reference, or the settlement entry's external reference (empty: none).
        public var reference: String
        /// Settlement entries: the foreign leg, its quote, the foreign party and the purpose.
        public var foreignAmount: ForeignAmount?
        public var fx: FXQuote?
        public var counterpartyName: String?
        public var purpose: String?
        public var uetr: UETR?

        public init(height: UInt64, index: UInt32, transaction: TransactionID, time: Timestamp, amount: Int64, kind: String,
                    counterparty: AccountID? = nil, reference: String, foreignAmount: ForeignAmount? = nil, fx: FXQuote? = nil,
                    counterpartyName: String? = nil, purpose: String? = nil) {
            (self.height, self.index, self.transaction, self.time, self.amount, self.kind) = (height, index, transaction, time, amount, kind)
            (self.counterparty, self.reference, self.foreignAmount, self.fx) = (counterparty, reference, foreignAmount, fx)
            (self.counterpartyName, self.purpose) = (counterpartyName, purpose)
        }
    }

    public struct InCurrency: Sendable, Equatable {
        public var currency: Currency
        public var opening: Int64
        public var closing: Int64
        public var movements: [Movement]

        public init(currency: Currency, opening: Int64, closing: Int64, movements: [Movement]) {
            (self.currency, self.opening, self.closing, self.movements) = (currency, opening, closing, movements)
        }
    }

    public var account: AccountID
    public var date: BusinessDate
    /// The day's start, and its end — or, for a day still under way, the latest block's time.
    public var from: Timestamp
    public var to: Timestamp
    /// The latest block when the statement was made; its time is the statement's creation time,
    /// so every node gives the same document.
    public var height: UInt64
    public var created: Timestamp
    /// One per currency the account held or moved, KHR first.
    public var currencies: [InCurrency]

    /// The heights of the blocks that hold the movements, ascending, each once.
    public var heights: [UInt64] { Array(Set(currencies.flatMap { $0.movements.map(\.height) })).sorted() }

    public init(account: AccountID, date: BusinessDate, from: Timestamp, to: Timestamp, height: UInt64, created: Timestamp, currencies: [InCurrency]) {
        (self.account, self.date, self.from, self.to, self.height, self.created, self.currencies) = (account, date, from, to, height, created, currencies)
    }
}

public enum AccountStatements {
    /// Movements in one statement at most (a longer day is refused: STATEMENT_TOO_LARGE).
    public static let movementsMax = 10_000
    /// Entries without balances (rejected transactions) passed over looking for the opening balance.
    static let lookBackMax = 10_000

    /// The statement of `account` on `date`, from `store`, in one go; `genesisBalances` gives an
    /// account's balances in the genesis document (used when the account has no earlier entry).
    public static func statement(
        _ store: any LedgerStore, account: AccountID, date: BusinessDate, genesisBalances: (AccountID) -> [Balance]?
    ) throws(APIError) -> AccountStatement {
        var statement = try plan(store, account: account, date: date, genesisBalances: genesisBalances)
        for height in statement.heights { describe(&statement, height: height, block: store.block(at: height)) }
        return statement
    }

    /// The statement with its balances and movements but without what the blocks tell of each
    /// movement (time, kind, counterparty, references): `describe` adds that a block at a time,
    /// so a node can read one block per turn of its loop rather than all of them in one.
    public static func plan(
        _ store: any LedgerStore, account: AccountID, date: BusinessDate, genesisBalances: (AccountID) -> [Balance]?
    ) throws(APIError) -> AccountStatement {
        guard let applied = store.appliedHeight, applied >= 1, let latest = store.blockSummary(at: applied)?.header.time else {
            throw .notFound("no block is stored yet")
        }
        let start = UInt64(date.day) * BusinessCalendar.dayMilliseconds, offset = BusinessCalendar.offsetMilliseconds
        let dayStart = start >= offset ? start - offset : 0, dayEnd = start + BusinessCalendar.dayMilliseconds - offset
        guard latest.millisecondsSinceEpoch >= dayStart else {
            throw .notFound("no block of \(date) yet: the latest block, \(applied), is of \(BusinessCalendar.date(of: latest, cutoffMilliseconds: 0))")
        }
        let oldest = store.oldestBlockHeight
        func time(_ height: UInt64) -> UInt64 { store.blockSummary(at: height)?.header.time.millisecondsSinceEpoch ?? 0 }
        /// The first kept height whose block time is at or after `instant` (applied + 1: none).
        func firstHeight(atOrAfter instant: UInt64) -> UInt64 {
            var (low, high) = (oldest, applied + 1)
            while low < high {
                let middle = low + (high - low) / 2
                if time(middle) >= instant { high = middle } else { low = middle + 1 }
            }
            return low
        }
        let startHeight = firstHeight(atOrAfter: dayStart), endHeight = firstHeight(atOrAfter: dayEnd)
        if oldest > 1 && startHeight == oldest {
            throw unavailable("blocks below \(oldest) are pruned here, and \(date) may begin among them: ask an archive node")
        }
        if startHeight < store.historyBalancesFrom {
            throw unavailable("this node keeps balances in the account history from height \(store.historyBalancesFrom) (its upgrade or state sync), after \(date) began")
        }

        // The day's entries, newest first, then the last earlier one that carries balances.
        var day: [AccountHistoryEntry] = [], opening: [Balance]?, passed = 0, exhausted = false
        var cursor: HistoryCursor? = HistoryCursor(height: endHeight, index: 0)
        search: while opening == nil {
            let page = store.accountHistory(account, before: cursor, limit: StoreLimits.historyPageMax)
            for entry in page {
                if entry.height >= startHeight {
                    day.append(entry)
                    guard day.count <= movementsMax else {
                        throw APIError("STATEMENT_TOO_LARGE", "\(account) has more than \(movementsMax) entries on \(date)", .conflict)
                    }
                    continue
                }
                guard entry.height >= store.historyBalancesFrom else {
                    throw unavailable("\(account)'s balance before \(date) lies in history this node kept without balances (before height \(store.historyBalancesFrom))")
                }
                if let balances = entry.balances { opening = balances; break search }
                passed += 1
                guard passed <= lookBackMax else { throw unavailable("\(account) has over \(lookBackMax) rejected transactions before its last movement ahead of \(date)") }
            }
            guard page.count == StoreLimits.historyPageMax, let last = page.last else { exhausted = true; break }
            cursor = last.cursor
        }
        if opening == nil, exhausted {
            guard store.historyBalancesFrom <= 1 else {
                throw unavailable("\(account)'s history here starts at height \(store.historyBalancesFrom) (state sync): its balance before \(date) is not known to this node")
            }
            opening = genesisBalances(account)
        }
        guard opening != nil || !day.isEmpty || store.stateRecord(StateKey.account(account)) != nil else {
            throw .notFound("no account \(account) exists, or existed on \(date)")
        }

        var running = Dictionary(uniqueKeysWithValues: Currency.allCases.map { currency in (currency, (opening ?? []).first { $0.currency == currency }?.balance ?? 0) })
        let openingBalances = running
        var movements: [Currency: [AccountStatement.Movement]] = [:]
        for entry in day.reversed() {
            guard let balances = entry.balances else { continue }
            for currency in Currency.allCases {
                let after = balances.first { $0.currency == currency }?.balance ?? 0
                let (delta, overflow) = after.subtractingReportingOverflow(running[currency]!)
                guard !overflow, delta != .min else { throw APIError("INTERNAL", "a balance change in \(account)'s history does not fit", .internalServerError) }
                running[currency] = after
                guard delta != 0 else { continue }
                movements[currency, default: []].append(AccountStatement.Movement(
                    height: entry.height, index: entry.index, transaction: entry.transaction, time: Timestamp(millisecondsSinceEpoch: 0),
                    amount: delta, kind: "OTHER", reference: ""))
            }
        }
        let currencies = Currency.allCases.compactMap { currency -> AccountStatement.InCurrency? in
            let moved = movements[currency] ?? []
            guard openingBalances[currency] != 0 || running[currency] != 0 || !moved.isEmpty else { return nil }
            return AccountStatement.InCurrency(currency: currency, opening: openingBalances[currency]!, closing: running[currency]!, movements: moved)
        }
        let until = endHeight <= applied ? dayEnd : latest.millisecondsSinceEpoch
        return AccountStatement(
            account: account, date: date, from: Timestamp(millisecondsSinceEpoch: dayStart), to: Timestamp(millisecondsSinceEpoch: until),
            height: applied, created: latest,
            currencies: currencies.isEmpty ? [AccountStatement.InCurrency(currency: .khr, opening: 0, closing: 0, movements: [])] : currencies)
    }

    static func unavailable(_ message: String) -> APIError { APIError("STATEMENT_UNAVAILABLE", message, .conflict) }

    /// Fills in the movements of block `height` from the block: its time, and what each
    /// transaction did (a movement whose block is missing keeps kind `OTHER` and time 0).
    public static func describe(_ statement: inout AccountStatement, height: UInt64, block: Block?) {
        guard let block else { return }
        for part in statement.currencies.indices {
            for index in statement.currencies[part].movements.indices where statement.currencies[part].movements[index].height == height {
                let position = Int(statement.currencies[part].movements[index].index)
                statement.currencies[part].movements[index].time = block.header.time
                guard position < block.transactions.count else { continue }
                describe(&statement.currencies[part].movements[index], block.transactions[position], account: statement.account, currency: statement.currencies[part].currency)
            }
        }
    }

    /// What moved the account in `currency`: the first command of the transaction that does.
    static func describe(_ movement: inout AccountStatement.Movement, _ transaction: Transaction, account: AccountID, currency: Currency) {
        func other(_ from: AccountID, _ to: AccountID) -> AccountID? { from == account ? to : to == account ? from : nil }
        for command in transaction.body.commands {
            switch command {
            case .transfer(let t) where t.amount.currency == currency:
                guard let counterparty = other(t.source, t.target) else { continue }
                (movement.kind, movement.counterparty, movement.reference) = ("TRANSFER", counterparty, t.reference)
            case .issue(let i) where i.amount.currency == currency:
                guard let counterparty = other(i.issuer, i.target) else { continue }
                (movement.kind, movement.counterparty) = ("ISSUE", counterparty)
            case .redeem(let r) where r.amount.currency == currency:
                guard let counterparty = other(r.source, r.issuer) else { continue }
                (movement.kind, movement.counterparty) = ("REDEEM", counterparty)
            case .settlement(let e) where e.amount.currency == currency:
                let (debit, credit) = e.postings
                guard let counterparty = other(debit, credit) else { continue }
                (movement.kind, movement.counterparty, movement.reference) = (e.kind.name, counterparty, e.externalReference)
                (movement.foreignAmount, movement.fx, movement.counterpartyName, movement.purpose) = (e.foreignAmount, e.fx, e.counterparty, e.purposeCode)
                movement.uetr = e.uetr
            case .postHold(let post):
                (movement.kind, movement.reference) = ("HOLD_POSTED", "hold \(post.id)")
            default:
                continue
            }
            return
        }
    }
}
