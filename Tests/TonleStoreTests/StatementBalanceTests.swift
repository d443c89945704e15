import Testing
@testable import TonleStore
import TonleLedger
import TonleRPC
import TonleStorage
import TonleTypes
import TonleWorkload

/// Account statements read their balances from the account history: every day's opening and
/// closing balance must be the account's balance at the day's boundaries, as the state held it,
/// through every engine (merged, unmerged and cached history alike).
@Suite struct StatementBalanceTests {
    /// Blocks three hours apart: eight a business day, days starting at 00:00 ICT.
    static let workload = Workload(seed: 17, accounts: 24, blockMilliseconds: 3 * 3_600_000)

    @Test(arguments: [StoreKind.memory, .sqlite, .sqliteMerging, .rocks, .rocksMerging])
    func openingAndClosingAreTheBalancesAtTheDaysBoundaries(_ kind: StoreKind) throws {
        let workload = Self.workload, store = try kind.make()
        try workload.initialise(store)
        let watched = [workload.account(0), workload.account(5), workload.account(23), try AccountID("issuance@nbc")]
        func balances() -> [AccountID: Int64] {
            Dictionary(uniqueKeysWithValues: watched.map { id in
                guard case .account(let record)? = store.stateRecord(StateKey.account(id)) else { return (id, Int64(0)) }
                return (id, record.balance(.khr).balance)
            })
        }
        // The balances after each height (0: genesis), and each block's time.
        var after = [balances()], times: [UInt64] = [workload.genesisTime.millisecondsSinceEpoch]
        for block in 1...30 {
            // Half the history merged into the engine's tables, half still in memory.
            if block == 16, let merging = store as? any MergingStore { try merging.merge() }
            let applied = try workload.applyNext(to: store, transfers: 12)
            #expect(applied.results.allSatisfy { $0 == .applied })
            after.append(balances())
            times.append(workload.time(ofHeight: store.appliedHeight!).millisecondsSinceEpoch)
        }
        let genesis = workload.genesis.accounts
        let lookup = { (id: AccountID) in genesis.first { $0.id == id }.map { $0.balances.map { Balance(currency: $0.currency, balance: $0.minorUnits) } } }
        /// The balance after the last block before `instant` (genesis if none).
        func balance(_ id: AccountID, before instant: UInt64) -> Int64 { after[times.lastIndex { $0 < instant } ?? 0][id]! }

        let first = BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: times[1]), cutoffMilliseconds: 0)
        let last = BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: times.last!), cutoffMilliseconds: 0)
        #expect(last.day - first.day >= 3, "the blocks span several days")
        var moved = 0
        for id in watched {
            for day in first.day...last.day {
                let statement = try AccountStatements.statement(store, account: id, date: BusinessDate(day: day), genesisBalances: lookup)
                let start = statement.from.millisecondsSinceEpoch, end = start + BusinessCalendar.dayMilliseconds
                let khr = try #require(statement.currencies.first { $0.currency == .khr })
                #expect(khr.opening == balance(id, before: start), "\(id) opening on \(BusinessDate(day: day)) (\(kind))")
                #expect(khr.closing == balance(id, before: end), "\(id) closing on \(BusinessDate(day: day)) (\(kind))")
                #expect(khr.movements.reduce(khr.opening) { $0 + $1.amount } == khr.closing)
                #expect(khr.movements.allSatisfy { (start..<end).contains($0.time.millisecondsSinceEpoch) && $0.amount != 0 })
                moved += khr.movements.count
            }
        }
        #expect(moved > 40, "the watched accounts moved money on most days")
        // A day after the latest block is not there yet; an account never made is not found.
        #expect(throws: APIError.self) { try AccountStatements.statement(store, account: watched[0], date: BusinessDate(day: last.day + 1), genesisBalances: lookup) }
        #expect(throws: APIError.notFound("no account nobody@bank0 exists, or existed on \(last)")) {
            try AccountStatements.statement(store, account: try AccountID("nobody@bank0"), date: last, genesisBalances: lookup)
        }
    }
}

/// Change-log rows written before history balances were kept (no trailing balances list) still
/// decode, their history without balances; rows written now keep them.
@Suite struct ChangeLogCompatibilityTests {
    @Test func rowsWithoutHistoryBalancesStillDecode() throws {
        let workload = Workload(seed: 3, accounts: 8), store = MemoryStore()
        try workload.initialise(store)
        let block = try workload.nextBlock(on: store, transfers: 0)
        let ids = block.transactions.map(\.id)
        let balances = [Balance(currency: .khr, balance: 1_250, held: 50), Balance(currency: .usd, balance: -7)]
        let batch = CommitBatch(
            height: 1, block: block, transactionIDs: ids, results: ids.map { _ in .applied }, certificate: nil, stateWrites: [], nodeWrites: [],
            stateRoot: .zero, accountIndex: [AccountIndexEntry(account: workload.account(0), index: 0, balances: balances),
                                             AccountIndexEntry(account: workload.account(1), index: 1)],
            validators: workload.validators)
        let changes = ChangeSet(batch)
        let decoded = try ChangeSet(encoded: changes.encoded)
        #expect(decoded.history.map(\.1) == changes.history.map(\.1) && decoded.history.first?.1.balances == balances)
        // The same row as an older version wrote it: without the list (a count, then one presence byte each).
        let old = try ChangeSet(encoded: Array(changes.encoded.dropLast(4 + 1 + 1 + 4 + 2 * 18)))
        #expect(old.history.map(\.1.transaction) == changes.history.map(\.1.transaction) && old.history.allSatisfy { $0.1.balances == nil })
        #expect(throws: (any Error).self) { try ChangeSet(encoded: Array(changes.encoded.dropLast(3))) }
    }
}
