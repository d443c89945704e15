import TonleCrypto
import TonleTypes

/// The ledger's invariants over a whole state (tests and the simulator check them after every
/// block): per currency all balances sum to zero; only issuance accounts go negative; held funds
/// are never negative, never exceed the balance, and equal the live holds on the account.
public enum LedgerInvariants {
    /// Every violation found among `records` (all the values in the state).
    public static func violations(_ records: [StateRecord]) -> [String] {
        var found: [String] = []
        var sums: [Currency: Int64] = [:]
        var heldByHolds: [String: Int64] = [:]
        var accounts: [AccountRecord] = []
        for record in records {
            switch record {
            case .account(let account): accounts.append(account)
            case .hold(let hold): heldByHolds["\(hold.source) \(hold.amount.currency)", default: 0] += hold.amount.minorUnits
            default: break
            }
        }
        for account in accounts.sorted(by: { $0.id < $1.id }) {
            for balance in account.balances {
                let (sum, overflow) = sums[balance.currency, default: 0].addingReportingOverflow(balance.balance)
                if overflow { found.append("\(balance.currency) balances overflow") }
                sums[balance.currency] = sum
                if !account.isIssuance, balance.balance < 0 { found.append("\(account.id) has \(balance.balance) \(balance.currency)") }
                if balance.held < 0 { found.append("\(account.id) holds \(balance.held) \(balance.currency)") }
                if !account.isIssuance, balance.held > balance.balance { found.append("\(account.id) holds more than its \(balance.currency) balance") }
                let live = heldByHolds.removeValue(forKey: "\(account.id) \(balance.currency)") ?? 0
                if live != balance.held { found.append("\(account.id) holds \(balance.held) \(balance.currency) but its live holds total \(live)") }
            }
        }
        for (key, amount) in heldByHolds.sorted(by: { $0.key < $1.key }) where amount != 0 {
            found.append("holds of \(amount) on \(key) have no balance record")
        }
        for currency in Currency.allCases where sums[currency, default: 0] != 0 {
            found.append("\(currency) balances sum to \(sums[currency]!), not zero")
        }
        return found
    }

    /// The supply invariant checked per block, in time proportional to the accounts it writes:
    /// they change each currency's total by exactly zero (so, with a genesis that sums to zero,
    /// every balance still does), and none of them breaks an account rule (a negative balance
    /// outside issuance, negative held funds, more held than the balance). `changes` pairs each
    /// written account's record before the block with its record after (nil: none). Ledger.execute
    /// reports these for every block (`BlockOutcome.invariantViolations`), and a running node
    /// stops rather than store a block that has any (`BlockExecutor.apply`).
    public static func blockViolations(_ changes: [(before: AccountRecord?, after: AccountRecord?)]) -> [String] {
        var found: [String] = []
        // One running total per currency, indexed like Currency.allCases (no hashing per balance),
        // 128 bits wide: partial sums of 64-bit balances, in any order, cannot overflow it.
        let currencies = Currency.allCases
        var change = [Int128](repeating: 0, count: currencies.count)
        func add(_ balance: Int128, _ currency: Currency) {
            change[currency == currencies[0] ? 0 : currencies.firstIndex(of: currency)!] += balance
        }
        for (before, after) in changes {
            for balance in before?.balances ?? [] { add(-Int128(balance.balance), balance.currency) }
            guard let account = after else { continue }
            for balance in account.balances {
                add(Int128(balance.balance), balance.currency)
                if !account.isIssuance, balance.balance < 0 { found.append("\(account.id) would have \(balance.balance) \(balance.currency)") }
                if balance.held < 0 { found.append("\(account.id) would hold \(balance.held) \(balance.currency)") }
                if !account.isIssuance, balance.held > balance.balance { found.append("\(account.id) would hold more than its \(balance.currency) balance") }
            }
        }
        found.sort()   // the changes come in no particular order
        for (index, currency) in currencies.enumerated() where change[index] != 0 {
            found.append("the block changes the \(currency) supply by \(change[index])")
        }
        return found
    }

    /// The same over encoded writes, with `before` reading a key's value before the block.
    public static func blockViolations(_ writes: [StateWrite], before: (Digest) -> [UInt8]?) -> [String] {
        func account(_ bytes: [UInt8]?) -> AccountRecord? {
            guard let bytes, case .account(let record)? = try? StateRecord(encoded: bytes) else { return nil }
            return record
        }
        return blockViolations(writes.compactMap { write in
            let (old, new) = (account(before(write.key)), account(write.value))
            return old == nil && new == nil ? nil : (old, new)
        })
    }
}
