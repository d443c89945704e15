import TonleTypes

/// Money moved by one command: `amount` (positive) from `debit` to `credit`. Execution changes
/// balances only by such moves, so a reader with the certified transactions and results can
/// rebuild every balance change without the state (`tonle index`, docs/reporting.md).
public struct Movement: Hashable, Sendable {
    public let debit: AccountID
    public let credit: AccountID
    public let amount: Amount

    public init(debit: AccountID, credit: AccountID, amount: Amount) { (self.debit, self.credit, self.amount) = (debit, credit, amount) }
}

/// The holds a reader of applied transactions needs to know: the live ones, by id. A post names
/// only its hold, so where its money goes is the hold's.
public struct HoldBook: Sendable, Equatable {
    public struct Hold: Hashable, Sendable {
        public let source: AccountID
        public let target: AccountID
        public let amount: Amount
        public init(source: AccountID, target: AccountID, amount: Amount) { (self.source, self.target, self.amount) = (source, target, amount) }
    }

    public private(set) var holds: [ID128: Hold]
    /// Ids whose hold was posted or voided (each once, in order), for a store to delete.
    public private(set) var closed: [ID128] = []

    public init(_ holds: [ID128: Hold] = [:]) { self.holds = holds }

    /// What `command` moves, given that its transaction applied (execution checked it, so every
    /// amount is positive); nil for a post of a hold the book does not have — the book is
    /// incomplete, and the caller must not guess. Keeps the book current as it goes.
    public mutating func movements(of command: Command) -> [Movement]? {
        switch command {
        case .transfer(let t):
            return [Movement(debit: t.source, credit: t.target, amount: t.amount)]
        case .hold(let h):
            holds[h.id] = Hold(source: h.source, target: h.target, amount: h.amount)
            return []
        case .postHold(let post):
            guard let hold = holds.removeValue(forKey: post.id) else { return nil }
            closed.append(post.id)
            return [Movement(debit: hold.source, credit: hold.target, amount: post.amount ?? hold.amount)]
        case .voidHold(let void):
            if holds.removeValue(forKey: void.id) != nil { closed.append(void.id) }
            return []
        case .settlement(let entry):
            // A net settlement of nothing closes the day and moves nothing.
            guard entry.amount.minorUnits > 0 else { return [] }
            let (debit, credit) = entry.postings
            return [Movement(debit: debit, credit: credit, amount: entry.amount)]
        case .issue(let i):
            return [Movement(debit: i.issuer, credit: i.target, amount: i.amount)]
        case .redeem(let r):
            return [Movement(debit: r.source, credit: r.issuer, amount: r.amount)]
        case .createParticipant, .createAccount, .setKeys, .freeze, .unfreeze, .setLimits, .addValidator, .removeValidator, .configureGateway,
             .setReferenceRate:
            return []
        }
    }

    /// Forgets the closed ids (after the caller has stored the book's changes).
    public mutating func clearClosed() { closed = [] }
}
