import Testing
import TonleCrypto
import TonleLedger
import TonleTypes

typealias H = LedgerHarness

@Suite struct TransferTests {
    @Test(arguments: LedgerStoreKind.allCases)
    func transferMovesMoney(_ kind: LedgerStoreKind) {
        var h = H(kind)
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 250_000)], signers: [H.sokhaKey]) == .applied)
        #expect(h.balance("sokha@aclb", .khr).balance == 750_000)
        #expect(h.balance("dara@wing", .khr).balance == 250_000)
        #expect(h.run("dara@wing", [transfer("dara@wing", "sokha@aclb", 1_050, .usd)], signers: [H.daraKey]) == .applied)
        #expect(h.balance("dara@wing", .usd).balance == 8_950 && h.balance("sokha@aclb", .usd).balance == 11_050)
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func commandsApplyAllOrNothing(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let result = h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100), transfer("sokha@aclb", "dara@wing", 5_000_000)], signers: [H.sokhaKey])
        #expect(result == rejected(.insufficientFunds, 1))
        #expect(h.balance("sokha@aclb", .khr).balance == 1_000_000, "the first transfer was undone")
        #expect(h.balance("dara@wing", .khr).balance == 0)
    }

    @Test(arguments: [
        (Int64(0), RejectionCode.amountNotPositive), (-5, .amountNotPositive), (1_000_001, .insufficientFunds),
    ])
    func badAmounts(_ units: Int64, _ code: RejectionCode) {
        var h = H()
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", units)], signers: [H.sokhaKey]) == rejected(code))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func refusals(_ kind: LedgerStoreKind) {
        var h = H(kind)
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "sokha@aclb", 1)], signers: [H.sokhaKey]) == rejected(.sameAccount))
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "nobody@wing", 1)], signers: [H.sokhaKey]) == rejected(.accountNotFound))
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "issuance@nbc", 1)], signers: [H.sokhaKey]) == rejected(.issuanceAccount))
        #expect(h.run("admin@nbc", [transfer("issuance@nbc", "sokha@aclb", 1)], signers: [H.admin]) == rejected(.issuanceAccount))
        // Supply is bounded by Int64: issuance can take the issuer exactly to Int64.min, no further,
        // and an account credited past Int64.max overflows.
        let issue = { (units: Int64) in Command.issue(Issue(issuer: H.id("issuance@nbc"), target: H.id("dara@wing"), amount: Amount(units, .khr))) }
        #expect(h.run("admin@nbc", [issue(.max - 1_999_999)], signers: [H.admin]) == .applied)
        #expect(h.balance("issuance@nbc", .khr).balance == .min)
        #expect(h.run("admin@nbc", [issue(1)], signers: [H.admin]) == rejected(.amountOverflow))
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1_000_000)], signers: [H.sokhaKey]) == .applied)
        #expect(h.run("multi@aclb", [transfer("multi@aclb", "dara@wing", 1_000_000)], signers: Array(H.multiKeys.prefix(2))) == rejected(.amountOverflow))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func frozenAccountsNeitherPayNorReceive(_ kind: LedgerStoreKind) {
        var h = H(kind)
        #expect(h.run("admin@nbc", [.freeze(H.id("dara@wing"))], signers: [H.admin]) == .applied)
        #expect(h.account("dara@wing")!.frozen)
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.sokhaKey]) == rejected(.accountFrozen))
        #expect(h.run("dara@wing", [transfer("dara@wing", "sokha@aclb", 1, .usd)], signers: [H.daraKey]) == rejected(.accountFrozen, nil))
        #expect(h.run("admin@nbc", [.unfreeze(H.id("dara@wing"))], signers: [H.admin]) == .applied)
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.sokhaKey]) == .applied)
    }
}

@Suite struct AuthorisationTests {
    @Test(arguments: LedgerStoreKind.allCases)
    func creatorMustExistAndSign(_ kind: LedgerStoreKind) {
        var h = H(kind)
        #expect(h.run("ghost@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.sokhaKey]) == rejected(.creatorNotFound, nil))
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.daraKey]) == rejected(.quorumNotMet, nil))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func debitedAccountsQuorumMustSign(_ kind: LedgerStoreKind) {
        var h = H(kind)
        // teller@aclb creates a transaction debiting sokha@aclb (same bank) without sokha's key.
        #expect(h.run("teller@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.tellerKey]) == rejected(.quorumNotMet))
        #expect(h.run("teller@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.tellerKey, H.sokhaKey]) == .applied)
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func multiSignatureNeedsItsQuorum(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let one = [H.multiKeys[0]], two = [H.multiKeys[0], H.multiKeys[2]]
        #expect(h.run("multi@aclb", [transfer("multi@aclb", "dara@wing", 10)], signers: one) == rejected(.quorumNotMet, nil))
        #expect(h.run("multi@aclb", [transfer("multi@aclb", "dara@wing", 10)], signers: two) == .applied)
        // An outside key does not count towards the quorum.
        #expect(h.run("multi@aclb", [transfer("multi@aclb", "dara@wing", 10)], signers: one + [H.daraKey]) == rejected(.quorumNotMet, nil))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func aParticipantActsOnlyForItsOwnAccounts(_ kind: LedgerStoreKind) {
        var h = H(kind)
        // sokha@aclb holds dara's key too, but wing's account is not aclb's to debit.
        #expect(h.run("sokha@aclb", [transfer("dara@wing", "sokha@aclb", 1, .usd)], signers: [H.sokhaKey, H.daraKey]) == rejected(.foreignAccount))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func onlyTheCentralBankAdministers(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let commands: [Command] = [
            .createAccount(CreateAccount(id: H.id("new@aclb"), keys: KeySet(single: H.tellerKey.publicKey))),
            .freeze(H.id("dara@wing")),
            .issue(Issue(issuer: H.id("issuance@nbc"), target: H.id("sokha@aclb"), amount: Amount(1, .khr))),
            .setLimits(SetLimits(account: H.id("dara@wing"), currency: .khr, perTransactionMax: 1, dailyDebitMax: nil)),
            .addValidator(try! Validator(publicKey: H.key(99).publicKey, power: 1, name: "x")),
            .createParticipant(try! Participant(id: InstitutionID("abc"), role: .bank, name: "ABC")),
        ]
        for command in commands {
            #expect(h.run("sokha@aclb", [command], signers: [H.sokhaKey]) == rejected(.notCentralBank), "\(command)")
        }
    }
}

@Suite struct ReplayProtectionTests {
    @Test(arguments: LedgerStoreKind.allCases)
    func chainAndExpiry(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let other = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.sokhaKey], chain: try! ChainID("elsewhere"))
        let stale = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.sokhaKey], expiresIn: 0)
        let far = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1)], signers: [H.sokhaKey], expiresIn: Limits.transactionLifetimeMaxMilliseconds + 1)
        #expect(h.block([other, far]) == [rejected(.wrongChain, nil), rejected(.expiryTooFar, nil)])
        #expect(h.block([stale], advance: 2_000) == [rejected(.expired, nil)])
        #expect(h.balance("sokha@aclb", .khr).balance == 1_000_000)
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func theSameTransactionAppliesOnce(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let pay = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100)], signers: [H.sokhaKey])
        #expect(h.block([pay, pay]) == [.applied, rejected(.duplicateTransaction, nil)])
        #expect(h.block([pay]) == [rejected(.duplicateTransaction, nil)])
        #expect(h.balance("dara@wing", .khr).balance == 100)
        // A rejected transaction is remembered too: it cannot apply later when funds arrive.
        let tooMuch = h.tx("dara@wing", [transfer("dara@wing", "sokha@aclb", 500)], signers: [H.daraKey])
        #expect(h.block([tooMuch]) == [rejected(.insufficientFunds)])
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1_000)], signers: [H.sokhaKey]) == .applied)
        #expect(h.block([tooMuch]) == [rejected(.duplicateTransaction, nil)])
    }

    @Test("a rebuilt retry (same creator, client id and commands; a later expiry, so a new id) is answered, never applied", arguments: LedgerStoreKind.allCases)
    func aRebuiltRetryAppliesOnce(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let id = ID128(high: 7, low: 7)
        let pay = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100)], signers: [H.sokhaKey], clientID: id)
        let retry = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100)], signers: [H.sokhaKey], expiresIn: 60_001, clientID: id)
        #expect(pay.id != retry.id && pay.body.requestDigest == retry.body.requestDigest)
        #expect(h.block([pay]) == [.applied])
        #expect(h.block([retry]) == [rejected(.duplicateTransaction, nil)])
        #expect(h.balance("dara@wing", .khr).balance == 100, "the money moved once")
        // Another request under the same client id is refused as a reused id, whatever it asks.
        let other = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 999)], signers: [H.sokhaKey], clientID: id)
        #expect(h.block([other]) == [rejected(.clientIDReused, nil)])
        // The same client id under another creator is another request.
        #expect(h.run("dara@wing", [transfer("dara@wing", "sokha@aclb", 1, .usd)], signers: [H.daraKey]) == .applied)
        let dara = h.tx("dara@wing", [transfer("dara@wing", "sokha@aclb", 1, .usd)], signers: [H.daraKey], clientID: id)
        #expect(h.block([dara]) == [.applied])
    }

    @Test("two attempts of one request in one block: the first runs, the second is a duplicate", arguments: LedgerStoreKind.allCases)
    func twoAttemptsInOneBlock(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let id = ID128(high: 8, low: 8)
        let first = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100)], signers: [H.sokhaKey], expiresIn: 30_000, clientID: id)
        let second = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100)], signers: [H.sokhaKey], expiresIn: 50_000, clientID: id)
        #expect(h.block([second, first]) == [.applied, rejected(.duplicateTransaction, nil)])
        #expect(h.balance("dara@wing", .khr).balance == 100)
        guard case .request(let record)? = h.record(StateKey.request(try! AccountID("sokha@aclb"), id)) else { Issue.record("no request record"); return }
        #expect(record.transaction == second.id && record.latestExpiry == second.body.expiry)
    }

    @Test("a request is remembered for one lifetime past the latest expiry seen under it; a retry with a later expiry extends that", arguments: LedgerStoreKind.allCases)
    func requestsAreForgottenOneLifetimeAfterTheirLatestExpiry(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let lifetime = Limits.transactionLifetimeMaxMilliseconds
        let id = ID128(high: 9, low: 9)
        let key = StateKey.request(try! AccountID("sokha@aclb"), id)
        let pay = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100)], signers: [H.sokhaKey], expiresIn: lifetime - 1_000, clientID: id)
        #expect(h.block([pay]) == [.applied])                                   // block 1, time T
        #expect(h.value(key) != nil && h.value(StateKey.blockRequests(height: 1)) != nil)
        // Half a lifetime later a retry with a later expiry: refused, and the record is listed again.
        let retry = h.tx("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100)], signers: [H.sokhaKey], expiresIn: lifetime - 1_000, clientID: id)
        #expect(h.block([retry], advance: lifetime / 2) == [rejected(.duplicateTransaction, nil)])   // block 2, T + L/2
        // Two lifetimes after block 1: block 1's listing is done with, but block 2 lists the record now.
        h.block([], advance: 2 * lifetime - lifetime / 2 + 1)
        #expect(h.value(StateKey.blockRequests(height: 1)) == nil)
        #expect(h.value(key) != nil, "kept: a retry listed it again at block 2")
        // Two lifetimes after block 2: forgotten.
        h.block([], advance: lifetime / 2)
        #expect(h.value(key) == nil && h.value(StateKey.blockRequests(height: 2)) == nil)
        // Every attempt made while one was unexpired has expired by now: they are refused as expired.
        #expect(h.block([pay, retry]) == [rejected(.expired, nil), rejected(.expired, nil)])
    }
}

@Suite struct LimitTests {
    @Test(arguments: LedgerStoreKind.allCases)
    func perTransactionAndDailyLimits(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let setLimits = Command.setLimits(SetLimits(account: H.id("sokha@aclb"), currency: .khr, perTransactionMax: 40_000, dailyDebitMax: 100_000))
        #expect(h.run("admin@nbc", [setLimits], signers: [H.admin]) == .applied)
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 40_001)], signers: [H.sokhaKey]) == rejected(.limitExceeded))
        for _ in 0..<2 { #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 40_000)], signers: [H.sokhaKey]) == .applied) }
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 20_001)], signers: [H.sokhaKey]) == rejected(.limitExceeded))
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 20_000)], signers: [H.sokhaKey]) == .applied)
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 1, .usd)], signers: [H.sokhaKey]) == .applied, "USD has no limit")
        // The next business day (ICT) starts afresh.
        h.block([], advance: 86_400_000)
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 40_000)], signers: [H.sokhaKey]) == .applied)
        let negative = Command.setLimits(SetLimits(account: H.id("sokha@aclb"), currency: .khr, perTransactionMax: -1, dailyDebitMax: nil))
        #expect(h.run("admin@nbc", [negative], signers: [H.admin]) == rejected(.limitInvalid))
        let removed = Command.setLimits(SetLimits(account: H.id("sokha@aclb"), currency: .khr, perTransactionMax: nil, dailyDebitMax: nil))
        #expect(h.run("admin@nbc", [removed], signers: [H.admin]) == .applied)
        #expect(h.account("sokha@aclb")!.limits.isEmpty)
    }

    @Test func businessDayIsCambodianTime() {
        // 16:59:59.999 UTC is 23:59:59.999 ICT; a millisecond later a new business day starts.
        let chain = H.chain
        let before = BlockContext(chainID: chain, height: 1, time: Timestamp(millisecondsSinceEpoch: 17 * 3_600_000 - 1))
        let after = BlockContext(chainID: chain, height: 1, time: Timestamp(millisecondsSinceEpoch: 17 * 3_600_000))
        #expect(before.businessDay == 0 && after.businessDay == 1)
    }
}
