import TonleTypes

/// Transfers and holds, and the account checks they share.
extension Execution {
    mutating func transfer(_ transfer: Transfer) throws(Rejection) {
        try requirePositive(transfer.amount)
        guard transfer.source != transfer.target else { throw reject(.sameAccount) }
        var source = try ownedAccount(transfer.source)
        var target = try creditableAccount(transfer.target)
        try debit(&source, transfer.amount, spending: true)
        try credit(&target, transfer.amount)
        overlay.save(source)
        overlay.save(target)
    }

    mutating func hold(_ hold: Hold) throws(Rejection) {
        try requirePositive(hold.amount)
        guard (1...Limits.holdTimeoutMaxMilliseconds).contains(hold.timeoutMilliseconds) else { throw reject(.holdTimeoutInvalid) }
        guard hold.source != hold.target else { throw reject(.sameAccount) }
        guard overlay.hold(hold.id) == nil else { throw reject(.holdExists) }
        var source = try ownedAccount(hold.source)
        _ = try creditableAccount(hold.target)
        try countDebit(&source, hold.amount)
        var balance = source.balance(hold.amount.currency)
        guard balance.available >= hold.amount.minorUnits else { throw reject(.insufficientFunds) }
        balance.held += hold.amount.minorUnits
        source.setBalance(balance)

        let expiresAt = context.time.millisecondsSinceEpoch + hold.timeoutMilliseconds
        let second = (expiresAt + 999) / 1000
        var bucket: HoldExpiryRecord
        if case .holdExpiry(let existing) = overlay.record(StateKey.holdExpiry(second: second)) { bucket = existing } else { bucket = HoldExpiryRecord(holds: []) }
        guard bucket.holds.count < Limits.holdsPerExpirySecondMax else { throw reject(.capacityExceeded) }
        bucket.holds.insert(hold.id, at: bucket.holds.firstIndex { $0 > hold.id } ?? bucket.holds.endIndex)

        overlay.save(source)
        overlay.set(StateKey.holdExpiry(second: second), .holdExpiry(bucket))
        let record = HoldRecord(id: hold.id, source: hold.source, target: hold.target, amount: hold.amount, expiresAt: Timestamp(millisecondsSinceEpoch: expiresAt))
        overlay.set(StateKey.hold(hold.id), .hold(record))
    }

    /// The payee captures a hold: all of it, or part (the rest is released).
    mutating func postHold(_ post: PostHold) throws(Rejection) {
        let hold = try liveHold(post.id)
        let amount = post.amount ?? hold.amount
        guard amount.currency == hold.amount.currency, amount.minorUnits > 0, amount.minorUnits <= hold.amount.minorUnits else {
            throw reject(.holdAmountInvalid)
        }
        var target = try ownedAccount(hold.target, debited: false)
        guard var source = overlay.account(hold.source) else { preconditionFailure("hold \(hold.id) on a missing account") }
        guard !source.frozen, !target.frozen else { throw reject(.accountFrozen) }
        var balance = source.balance(amount.currency)
        balance.held -= hold.amount.minorUnits
        balance.balance -= amount.minorUnits
        precondition(balance.held >= 0 && balance.balance >= balance.held, "a hold was not covered by its source's balance")
        source.setBalance(balance)
        try credit(&target, amount)
        overlay.save(source)
        overlay.save(target)
        overlay.set(StateKey.hold(hold.id), nil)
    }

    /// The payee releases a hold before it expires.
    mutating func voidHold(_ void: VoidHold) throws(Rejection) {
        let hold = try liveHold(void.id)
        _ = try ownedAccount(hold.target, debited: false)
        release(hold)
    }

    private mutating func liveHold(_ id: ID128) throws(Rejection) -> HoldRecord {
        guard let hold = overlay.hold(id) else { throw reject(.holdNotFound) }
        guard context.time < hold.expiresAt else { throw reject(.holdExpired) }
        return hold
    }

    // MARK: Shared checks

    func requirePositive(_ amount: Amount) throws(Rejection) {
        guard amount.minorUnits > 0 else { throw reject(.amountNotPositive) }
    }

    /// An account this transaction may act for: it exists, belongs to the creator's institution
    /// (unless `ownInstitution` is false), the signers meet its quorum, it is not frozen, and (when
    /// `debited`) it is no issuance account.
    mutating func ownedAccount(_ id: AccountID, debited: Bool = true, ownInstitution: Bool = true) throws(Rejection) -> AccountRecord {
        guard let account = overlay.account(id) else { throw reject(.accountNotFound) }
        guard !ownInstitution || id.institution == creator!.id.institution else { throw reject(.foreignAccount) }
        guard meetsQuorum(account.keys) else { throw reject(.quorumNotMet) }
        guard !account.frozen else { throw reject(.accountFrozen) }
        guard !debited || !account.isIssuance else { throw reject(.issuanceAccount) }
        return account
    }

    /// An account that may receive money: it exists, is not frozen, and is no issuance account
    /// (money reaches those only by redemption).
    mutating func creditableAccount(_ id: AccountID) throws(Rejection) -> AccountRecord {
        guard let account = overlay.account(id) else { throw reject(.accountNotFound) }
        guard !account.frozen else { throw reject(.accountFrozen) }
        guard !account.isIssuance else { throw reject(.issuanceAccount) }
        return account
    }

    /// Takes `amount` from `account`: within its limits and (unless `spending` is false for an
    /// issuance account) its available funds.
    mutating func debit(_ account: inout AccountRecord, _ amount: Amount, spending: Bool) throws(Rejection) {
        try countDebit(&account, amount)
        var balance = account.balance(amount.currency)
        if spending { guard balance.available >= amount.minorUnits else { throw reject(.insufficientFunds) } }
        let (remaining, overflow) = balance.balance.subtractingReportingOverflow(amount.minorUnits)
        guard !overflow else { throw reject(.amountOverflow) }
        balance.balance = remaining
        account.setBalance(balance)
    }

    mutating func credit(_ account: inout AccountRecord, _ amount: Amount) throws(Rejection) {
        var balance = account.balance(amount.currency)
        let (sum, overflow) = balance.balance.addingReportingOverflow(amount.minorUnits)
        guard !overflow else { throw reject(.amountOverflow) }
        balance.balance = sum
        account.setBalance(balance)
    }

    /// Checks a debit against the account's limits in its currency and counts it for the day.
    mutating func countDebit(_ account: inout AccountRecord, _ amount: Amount) throws(Rejection) {
        guard var limit = account.limit(amount.currency) else { return }
        if let max = limit.perTransactionMax, amount.minorUnits > max { throw reject(.limitExceeded) }
        let today = context.businessDay
        if limit.day != today { (limit.day, limit.debitedToday) = (today, 0) }
        let (total, overflow) = limit.debitedToday.addingReportingOverflow(amount.minorUnits)
        if let max = limit.dailyDebitMax, overflow || total > max { throw reject(.limitExceeded) }
        limit.debitedToday = overflow ? .max : total
        account.setLimit(amount.currency, limit)
    }
}
