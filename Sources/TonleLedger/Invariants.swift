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
}
