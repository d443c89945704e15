import TonleTypes

extension Command {
    /// The accounts the command names (for a settlement entry, its account and the gateway's
    /// prefund and payable accounts). A hold's post or void names only the hold.
    public var accountsNamed: [AccountID] {
        switch self {
        case .transfer(let t): [t.source, t.target]
        case .hold(let h): [h.source, h.target]
        case .postHold, .voidHold, .createParticipant, .addValidator, .removeValidator, .configureGateway, .setReferenceRate: []
        case .settlement(let s): s.accountsNamed
        case .createAccount(let c): [c.id]
        case .setKeys(let s): [s.account]
        case .freeze(let a), .unfreeze(let a): [a]
        case .issue(let i): [i.issuer, i.target]
        case .redeem(let r): [r.source, r.issuer]
        case .setLimits(let l): [l.account]
        }
    }
}

extension Transaction {
    /// Every account the transaction names — its creator and those its commands name — sorted,
    /// each once: what an account's history and `/v1/events?account=` select by.
    public var accountsNamed: [AccountID] {
        Set([body.creator] + body.commands.flatMap(\.accountsNamed)).sorted()
    }

    /// Whether the transaction is `gateway`'s business: created by one of its accounts, or
    /// carrying a settlement entry of it (`/v1/events?gateway=`).
    public func concerns(gateway: InstitutionID) -> Bool {
        body.creator.institution == gateway || body.commands.contains { command in
            if case .settlement(let entry) = command { return entry.gateway == gateway }
            return false
        }
    }
}
