import Foundation
import Testing
import TonleCrypto
import TonleLedger
import TonleTypes


@Suite struct RandomWorkloadTests {
    static let blocks = ProcessInfo.processInfo.environment["TONLE_PROPERTY_CASES"].flatMap(Int.init).map { $0 / 10 } ?? 150

    /// A random mix of valid and invalid commands from every account: after every block the
    /// invariants hold (the harness checks), and a second ledger fed the same blocks — on the
    /// SQLite store — gives the same results, state and root.
    @Test func invariantsHoldAndExecutionIsDeterministic() {
        var r = SplitMix64(seed: 2026)
        var a = H(.memory), b = H(.sqlite)
        let owners: [(String, [Ed25519.SigningKey])] = [
            ("sokha@aclb", [H.sokhaKey]), ("dara@wing", [H.daraKey]), ("multi@aclb", Array(H.multiKeys.prefix(2))),
            ("teller@aclb", [H.tellerKey]), ("admin@nbc", [H.admin]),
        ]
        let accounts = owners.map(\.0) + ["issuance@nbc", "ghost@wing"]
        var applied = 0, rejectedCount = 0, holdIDs: [UInt64] = [], holdTargets: [UInt64: String] = [:]
        var payees = SplitMix64(seed: 7)  // its own stream, so the rest of the workload stays as it was
        // Balances rebuilt from the applied commands alone (what `tonle index` does): they must
        // track execution's exactly.
        var rebuilt: [String: Int64] = [:], book = HoldBook(), moved = 0, posted = 0
        func key(_ account: AccountID, _ currency: Currency) -> String { "\(account) \(currency)" }
        for account in accounts { for currency in Currency.allCases { rebuilt[key(H.id(account), currency)] = a.account(account)?.balance(currency).balance ?? 0 } }
        for _ in 0..<Self.blocks {
            var transactions: [Transaction] = []
            for _ in 0..<Int.random(in: 0...12, using: &r) {
                var (creator, keys) = owners.randomElement(using: &r)!
                let target = accounts.randomElement(using: &r)!
                let units = Int64.random(in: -10...300_000, using: &r)
                let command: Command
                switch Int.random(in: 0...9, using: &r) {
                case 0...4: command = transfer(creator, target, units, Bool.random(using: &r) ? .khr : .usd)
                case 5:
                    let id = UInt64.random(in: 0...40, using: &r)
                    holdIDs.append(id)
                    holdTargets[id] = target
                    command = hold(id, creator, target, units, timeout: UInt64.random(in: 1...20_000, using: &r))
                case 6:
                    // Most posts come from the hold's payee, who alone may post it.
                    let id = holdIDs.randomElement(using: &r) ?? 0
                    if Int.random(in: 0...3, using: &payees) > 0, let payee = holdTargets[id], let owner = owners.first(where: { $0.0 == payee }) { (creator, keys) = owner }
                    command = .postHold(PostHold(id: ID128(high: 7, low: id), amount: Bool.random(using: &r) ? nil : Amount(units / 4, .khr)))
                case 7: command = .voidHold(VoidHold(id: ID128(high: 7, low: holdIDs.randomElement(using: &r) ?? 0)))
                case 8: command = .issue(Issue(issuer: H.id("issuance@nbc"), target: H.id(target), amount: Amount(units, .usd)))
                default: command = Bool.random(using: &r) ? .freeze(H.id(target)) : .unfreeze(H.id(target))
                }
                var tx = a.tx(creator, [command], signers: keys)
                if Int.random(in: 0...20, using: &r) == 0, let previous = transactions.last { tx = previous }   // a replay
                transactions.append(tx)
            }
            let advance = UInt64.random(in: 1...3_000, using: &r)
            let resultsA = a.block(transactions, advance: advance)
            let resultsB = b.block(transactions, advance: advance)
            #expect(resultsA == resultsB)
            #expect(a.store.stateRoot == b.store.stateRoot)
            applied += resultsA.filter(\.isApplied).count
            for (transaction, result) in zip(transactions, resultsA) where result.isApplied {
                for command in transaction.body.commands {
                    let movements = book.movements(of: command)
                    #expect(movements != nil, "an applied command's hold is in the book")
                    if case .postHold = command { posted += 1 }
                    for movement in movements ?? [] {
                        rebuilt[key(movement.debit, movement.amount.currency), default: 0] -= movement.amount.minorUnits
                        rebuilt[key(movement.credit, movement.amount.currency), default: 0] += movement.amount.minorUnits
                        moved += 1
                    }
                }
            }
            rejectedCount += resultsA.filter { !$0.isApplied }.count
        }
        #expect(a.store.allStateValues() == b.store.allStateValues())
        for account in accounts {
            for currency in Currency.allCases {
                #expect(rebuilt[key(H.id(account), currency)] == a.account(account)?.balance(currency).balance ?? 0, "\(account) \(currency)")
            }
        }
        #expect(moved > Self.blocks / 2 && posted > 0, "the workload moves money: \(moved) movements, \(posted) posted holds")
        // The workload must exercise both paths substantially, or it proves little.
        #expect(applied > Self.blocks / 2 && rejectedCount > Self.blocks / 2, "applied \(applied), rejected \(rejectedCount)")
    }

    @Test func resultsEncodeAndCodesAreStable() throws {
        let results: [TransactionResult] = [.applied, .rejected(.insufficientFunds, command: 2), .rejected(.duplicateTransaction, command: nil)]
        let block = try BlockResults(results)
        #expect(try BlockResults(canonical: block.encoded) == block)
        #expect(block.encoded.first == MessageKind.blockResults.rawValue)
        #expect(Set(RejectionCode.allCases.map(\.rawValue)).count == RejectionCode.allCases.count)
        #expect(Set(RejectionCode.allCases.map(\.name)).count == RejectionCode.allCases.count)
        #expect(RejectionCode.insufficientFunds.name == "INSUFFICIENT_FUNDS" && RejectionCode.issuanceOutsideCentralBank.name == "ISSUANCE_OUTSIDE_CENTRAL_BANK")
        var reader = CanonicalReader([1, 0xff, 0xff, 0])
        #expect(throws: DecodeError.unknownTag(field: "rejection code", tag: 0xffff)) { try TransactionResult(from: &reader) }
    }

    @Test func stateRecordsRoundTrip() throws {
        var h = H()
        h.block([h.tx("sokha@aclb", [hold(1, "sokha@aclb", "dara@wing", 5)], signers: [H.sokhaKey])])
        let values = h.store.allStateValues()
        #expect(values.count > 10)
        for bytes in values.values {
            #expect(try StateRecord(encoded: bytes).encoded == bytes)
        }
        #expect(throws: DecodeError.self) { try StateRecord(encoded: [9]) }
    }
}
