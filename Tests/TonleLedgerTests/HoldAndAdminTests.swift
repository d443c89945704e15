import Testing
import TonleCrypto
import TonleLedger
import TonleTypes

@Suite struct HoldTests {
    @Test(arguments: LedgerStoreKind.allCases)
    func heldFundsAreNotSpendableAndPostMovesThem(_ kind: LedgerStoreKind) {
        var h = H(kind)
        #expect(h.run("sokha@aclb", [hold(1, "sokha@aclb", "dara@wing", 900_000)], signers: [H.sokhaKey]) == .applied)
        #expect(h.balance("sokha@aclb", .khr) == Balance(currency: .khr, balance: 1_000_000, held: 900_000))
        #expect(h.run("sokha@aclb", [transfer("sokha@aclb", "dara@wing", 100_001)], signers: [H.sokhaKey]) == rejected(.insufficientFunds))
        // The payee captures part; the rest is released.
        let post = Command.postHold(PostHold(id: ID128(high: 7, low: 1), amount: Amount(600_000, .khr)))
        #expect(h.run("dara@wing", [post], signers: [H.daraKey]) == .applied)
        #expect(h.balance("sokha@aclb", .khr) == Balance(currency: .khr, balance: 400_000, held: 0))
        #expect(h.balance("dara@wing", .khr).balance == 600_000)
        #expect(h.run("dara@wing", [post], signers: [H.daraKey]) == rejected(.holdNotFound))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func voidAndExpiryRelease(_ kind: LedgerStoreKind) {
        var h = H(kind)
        #expect(h.run("sokha@aclb", [hold(1, "sokha@aclb", "dara@wing", 100), hold(2, "sokha@aclb", "dara@wing", 200, timeout: 5_500)], signers: [H.sokhaKey]) == .applied)
        #expect(h.balance("sokha@aclb", .khr).held == 300)
        #expect(h.run("dara@wing", [.voidHold(VoidHold(id: ID128(high: 7, low: 1)))], signers: [H.daraKey]) == .applied)
        #expect(h.balance("sokha@aclb", .khr).held == 200)
        // Hold 2 was made at t0 (block 1) with a 5.5 s timeout: it expires at t0 + 5.5 s and is
        // released by the first block whose time reaches the next whole second, t0 + 6 s.
        h.block([], advance: 3_000)
        #expect(h.balance("sokha@aclb", .khr).held == 200)
        let post = Command.postHold(PostHold(id: ID128(high: 7, low: 2)))
        #expect(h.block([h.tx("dara@wing", [post], signers: [H.daraKey])], advance: 1_600) == [rejected(.holdExpired)], "t0 + 5.6 s: expired")
        #expect(h.balance("sokha@aclb", .khr).held == 200, "not yet released")
        h.block([], advance: 1_000)
        #expect(h.balance("sokha@aclb", .khr).held == 0, "released by block time")
        #expect(h.balance("sokha@aclb", .khr).balance == 1_000_000)
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func holdRefusals(_ kind: LedgerStoreKind) {
        var h = H(kind)
        #expect(h.run("sokha@aclb", [hold(1, "sokha@aclb", "dara@wing", 10)], signers: [H.sokhaKey]) == .applied)
        #expect(h.run("sokha@aclb", [hold(1, "sokha@aclb", "dara@wing", 10)], signers: [H.sokhaKey]) == rejected(.holdExists))
        #expect(h.run("sokha@aclb", [hold(2, "sokha@aclb", "dara@wing", 10, timeout: 0)], signers: [H.sokhaKey]) == rejected(.holdTimeoutInvalid))
        #expect(h.run("sokha@aclb", [hold(2, "sokha@aclb", "dara@wing", 10, timeout: Limits.holdTimeoutMaxMilliseconds + 1)], signers: [H.sokhaKey]) == rejected(.holdTimeoutInvalid))
        #expect(h.run("sokha@aclb", [hold(2, "sokha@aclb", "dara@wing", 2_000_000)], signers: [H.sokhaKey]) == rejected(.insufficientFunds))
        let tooMuch = Command.postHold(PostHold(id: ID128(high: 7, low: 1), amount: Amount(11, .khr)))
        let wrongCurrency = Command.postHold(PostHold(id: ID128(high: 7, low: 1), amount: Amount(5, .usd)))
        #expect(h.run("dara@wing", [tooMuch], signers: [H.daraKey]) == rejected(.holdAmountInvalid))
        #expect(h.run("dara@wing", [wrongCurrency], signers: [H.daraKey]) == rejected(.holdAmountInvalid))
        // Only the payee's keys capture or release a hold.
        #expect(h.run("sokha@aclb", [.voidHold(VoidHold(id: ID128(high: 7, low: 1)))], signers: [H.sokhaKey]) == rejected(.foreignAccount))
        #expect(h.run("dara@wing", [.voidHold(VoidHold(id: ID128(high: 7, low: 9)))], signers: [H.daraKey]) == rejected(.holdNotFound))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func holdsPerExpirySecondAreBounded(_ kind: LedgerStoreKind) {
        var h = H(kind)
        // Holds that expire in the same second, from two blocks 1 ms apart: one more than the limit is refused.
        let count = Limits.holdsPerExpirySecondMax, half = count / 2
        let first = (0..<half).map { h.tx("sokha@aclb", [hold(UInt64($0), "sokha@aclb", "dara@wing", 1, timeout: 10_000)], signers: [H.sokhaKey]) }
        #expect(h.block(first).allSatisfy { $0 == .applied })
        let second = (half...count).map { h.tx("sokha@aclb", [hold(UInt64($0), "sokha@aclb", "dara@wing", 1, timeout: 9_999)], signers: [H.sokhaKey]) }
        let results = h.block(second, advance: 1)
        #expect(results.dropLast().allSatisfy { $0 == .applied })
        #expect(results.last == rejected(.capacityExceeded))
    }
}

@Suite struct AdministrationTests {
    @Test(arguments: LedgerStoreKind.allCases)
    func participantsAndAccounts(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let abc = try! Participant(id: InstitutionID("abc"), role: .bank, name: "Advanced Bank of Asia")
        #expect(h.run("admin@nbc", [.createParticipant(abc)], signers: [H.admin]) == .applied)
        #expect(h.run("admin@nbc", [.createParticipant(abc)], signers: [H.admin]) == rejected(.participantExists))
        let rival = try! Participant(id: InstitutionID("rival"), role: .centralBank, name: "Rival")
        #expect(h.run("admin@nbc", [.createParticipant(rival)], signers: [H.admin]) == rejected(.centralBankExists))
        let keys = KeySet(single: H.tellerKey.publicKey)
        #expect(h.run("admin@nbc", [.createAccount(CreateAccount(id: H.id("vanna@abc"), keys: keys))], signers: [H.admin]) == .applied)
        #expect(h.run("admin@nbc", [.createAccount(CreateAccount(id: H.id("vanna@abc"), keys: keys))], signers: [H.admin]) == rejected(.accountExists))
        #expect(h.run("admin@nbc", [.createAccount(CreateAccount(id: H.id("x@nowhere"), keys: keys))], signers: [H.admin]) == rejected(.participantNotFound))
        #expect(h.run("admin@nbc", [.createAccount(CreateAccount(id: H.id("mint@abc"), keys: keys, flags: .issuance))], signers: [H.admin]) == rejected(.issuanceOutsideCentralBank))
        #expect(h.run("admin@nbc", [.setKeys(SetKeys(account: H.id("vanna@abc"), keys: KeySet(single: H.daraKey.publicKey)))], signers: [H.admin]) == .applied)
        #expect(h.account("vanna@abc")!.keys.keys == [H.daraKey.publicKey])
        #expect(h.run("admin@nbc", [.freeze(H.id("ghost@abc"))], signers: [H.admin]) == rejected(.accountNotFound))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func issueAndRedeem(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let issue = Command.issue(Issue(issuer: H.id("issuance@nbc"), target: H.id("dara@wing"), amount: Amount(5_000, .khr)))
        #expect(h.run("admin@nbc", [issue], signers: [H.admin]) == .applied)
        #expect(h.balance("issuance@nbc", .khr).balance == -2_005_000 && h.balance("dara@wing", .khr).balance == 5_000)
        let fromPlain = Command.issue(Issue(issuer: H.id("admin@nbc"), target: H.id("dara@wing"), amount: Amount(1, .khr)))
        #expect(h.run("admin@nbc", [fromPlain], signers: [H.admin]) == rejected(.notIssuanceAccount))
        let redeem = Command.redeem(Redeem(source: H.id("dara@wing"), issuer: H.id("issuance@nbc"), amount: Amount(2_000, .khr)))
        #expect(h.run("admin@nbc", [redeem], signers: [H.admin]) == rejected(.quorumNotMet), "the holder must agree")
        #expect(h.run("admin@nbc", [redeem], signers: [H.admin, H.daraKey]) == .applied)
        #expect(h.balance("dara@wing", .khr).balance == 3_000 && h.balance("issuance@nbc", .khr).balance == -2_003_000)
        let tooMuch = Command.redeem(Redeem(source: H.id("dara@wing"), issuer: H.id("issuance@nbc"), amount: Amount(3_001, .khr)))
        #expect(h.run("admin@nbc", [tooMuch], signers: [H.admin, H.daraKey]) == rejected(.insufficientFunds))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func validatorChanges(_ kind: LedgerStoreKind) {
        var h = H(kind)
        let newcomer = try! Validator(publicKey: H.key(50).publicKey, power: 2, name: "new")
        let original = h.validators
        #expect(h.run("admin@nbc", [.addValidator(newcomer)], signers: [H.admin]) == .applied)
        // Added in block 1: block 2 is still signed by the old set and announces the new one as
        // next; block 3 is the first the new set signs.
        #expect(h.validators == original, "the block after the change is signed by the old set")
        #expect(h.store.validatorSet(signing: 2) == original)
        h.block([])
        let header2 = h.store.block(at: 2)!.header
        #expect(header2.validatorsHash == original.hash && header2.nextValidatorsHash != original.hash)
        #expect(h.validators.count == 5 && h.validators.totalPower == 6)
        #expect(header2.nextValidatorsHash == h.validators.hash)
        #expect(h.store.validatorSet(signing: 3) == h.validators && h.store.validatorSet(signing: 2) == original)
        h.block([])
        #expect(h.store.block(at: 3)!.header.validatorsHash == h.validators.hash)
        #expect(h.run("admin@nbc", [.addValidator(newcomer)], signers: [H.admin]) == rejected(.validatorExists))
        #expect(h.run("admin@nbc", [.removeValidator(H.key(51).publicKey)], signers: [H.admin]) == rejected(.validatorNotFound))
        let removeAll = (H.validatorKeys.map(\.publicKey) + [newcomer.publicKey]).map { Command.removeValidator($0) }
        #expect(h.run("admin@nbc", removeAll, signers: [H.admin]) == rejected(.validatorSetInvalid, 4), "the set may not become empty")
        h.block([])
        #expect(h.validators.count == 5)
    }
}
