import KHQR
import Testing
import TonleCrypto
import TonleLedger
import TonleTypes


/// A ledger with a UnionPay gateway (prefund and payable accounts, 1,000,000 KHR and 10,000.00
/// USD of prefund topped up by the central bank) and a merchant, built through real commands.
struct SettlementFixture {
    static let upiKey = H.key(20), shopKey = H.key(21)
    static let upi = try! InstitutionID("upi")
    var h: LedgerHarness

    init(_ kind: LedgerStoreKind = .memory) {
        h = H(kind)
        let keys = { (key: Ed25519.SigningKey) in KeySet(single: key.publicKey) }
        let setup: [Command] = [
            .createAccount(CreateAccount(id: H.id("prefund@upi"), keys: keys(Self.upiKey))),
            .createAccount(CreateAccount(id: H.id("payable@upi"), keys: keys(Self.upiKey))),
            .createAccount(CreateAccount(id: H.id("shop@wing"), keys: keys(Self.shopKey))),
        ]
        #expect(h.run("admin@nbc", setup, signers: [H.admin]) == .applied)
        #expect(topUp("wire-1", Amount(1_000_000, .khr)) == .applied)
        #expect(topUp("wire-2", Amount(1_000_000, .usd)) == .applied)
    }

    mutating func topUp(_ reference: String, _ amount: Amount, from account: String = "issuance@nbc") -> TransactionResult {
        h.run("admin@nbc", [.settlement(entry(.prefundTopUp, reference, amount, account, foreign: false))], signers: [H.admin])
    }

    /// The time the next block will have (`LedgerHarness.block` advances 1 s by default).
    var nextBlockTime: UInt64 { h.time + 1_000 }

    /// A foreign leg in CNY for `amount`: a quote of CNY per unit of the settlement currency,
    /// converted with the ledger's own arithmetic (the FX tests check that arithmetic by hand).
    func cnyLeg(_ amount: Amount, rate: String = "0.0017753", rounding: FXRounding = .halfEven) -> (ForeignAmount, FXQuote) {
        let quote = try! FXQuote(
            quoteID: "q-\(amount.minorUnits)", unitCurrency: amount.currency.code, quotedCurrency: "CNY", rate: rate, rounding: rounding,
            quotedAt: Timestamp(millisecondsSinceEpoch: h.time), expiresAt: Timestamp(millisecondsSinceEpoch: h.time + 600_000))
        let cny = quote.convert(amount.minorUnits, fromExponent: amount.currency.exponent, toExponent: 2)!
        return (try! ForeignAmount(currency: "CNY", minorUnits: cny), quote)
    }

    func entry(
        _ kind: SettlementKind, _ reference: String, _ amount: Amount, _ account: String, original: String? = nil, foreign: Bool = true,
        khqr: String? = nil, cycle: CycleStatement? = nil
    ) -> SettlementEntry {
        let leg = foreign ? cnyLeg(amount) : nil
        return try! SettlementEntry(
            kind: kind, gateway: Self.upi, externalReference: reference, amount: amount, account: H.id(account), original: original,
            foreignAmount: leg?.0, fx: leg?.1, counterparty: foreign ? "wallet-****1234" : nil, counterpartyCountry: foreign ? "CN" : nil,
            khqrPayload: khqr, purposeCode: kind.isInward || kind.isOutward ? "MP2B" : nil, cycle: cycle)
    }

    /// A KHQR for `account`: dynamic with `amount` (expiring in 10 minutes), or static.
    func khqr(_ account: String, _ amount: Amount?, currency: KHQR.Currency = .khr) -> String {
        try! KHQR(isDynamic: amount != nil, bakongAccountID: account, currency: currency, amountMinorUnits: amount?.minorUnits,
                  merchantName: "Kampot Pepper", createdAtMilliseconds: h.time, expiresAtMilliseconds: amount == nil ? nil : h.time + 600_000).encode()
    }

    /// Runs a gateway-submitted entry (signed by the gateway, plus `extra` signers).
    mutating func gateway(_ entry: SettlementEntry, extra: [Ed25519.SigningKey] = []) -> TransactionResult {
        h.run("prefund@upi", [.settlement(entry)], signers: [Self.upiKey] + extra)
    }

    mutating func inwardQR(_ reference: String, _ amount: Amount, to account: String = "shop@wing", code: String? = nil) -> TransactionResult {
        gateway(entry(.inwardQRPayment, reference, amount, account, khqr: code ?? khqr(account, amount)))
    }

    func position(_ currency: Currency = .khr, _ date: BusinessDate? = nil) -> PositionRecord? {
        let date = date ?? BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: h.time), cutoffMilliseconds: 0)
        guard let bytes = h.value(StateKey.position(Self.upi, currency, date)), case .position(let p) = try! StateRecord(encoded: bytes) else { return nil }
        return p
    }

    func record(_ referenceClass: SettlementReferenceClass, _ reference: String) -> SettlementRecord? {
        guard let bytes = h.value(StateKey.settlement(Self.upi, referenceClass, reference)), case .settlement(let r) = try! StateRecord(encoded: bytes) else { return nil }
        return r
    }
}

@Suite struct SettlementTests {
    @Test(arguments: LedgerStoreKind.allCases)
    func prefundTopUpIsTheCentralBanks(_ kind: LedgerStoreKind) {
        var f = SettlementFixture(kind)
        #expect(f.h.balance("prefund@upi", .khr).balance == 1_000_000)
        #expect(f.h.balance("issuance@nbc", .khr).balance == -3_000_000)
        #expect(f.position()?.topUps == 1_000_000)
        // Not from the central bank; not from an issuance account; with a foreign leg.
        let fromGateway = f.entry(.prefundTopUp, "wire-3", Amount(5, .khr), "issuance@nbc", foreign: false)
        #expect(f.gateway(fromGateway) == rejected(.notCentralBank))
        #expect(f.topUp("wire-3", Amount(5, .khr), from: "sokha@aclb") == rejected(.entryInvalid, detail: .entryAccount))
        #expect(f.h.run("admin@nbc", [.settlement(f.entry(.prefundTopUp, "wire-3", Amount(5, .khr), "issuance@nbc"))], signers: [H.admin]) == rejected(.entryInvalid, detail: .entryFundingForeignLeg))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func inwardQRPaymentMovesPrefundToTheMerchantAndPaysADynamicCodeOnce(_ kind: LedgerStoreKind) {
        var f = SettlementFixture(kind)
        let code = f.khqr("shop@wing", Amount(56_325, .khr))
        #expect(f.inwardQR("alipay-0001", Amount(56_325, .khr), code: code) == .applied)
        #expect(f.h.balance("prefund@upi", .khr).balance == 1_000_000 - 56_325)
        #expect(f.h.balance("shop@wing", .khr).balance == 56_325)
        let position = f.position()!
        #expect(position.grossInward == 56_325 && position.count == 2)  // the KHR top-up and the payment
        let record = f.record(.payment, "alipay-0001")!
        #expect(record.kind == .inwardQRPayment && record.amount == Amount(56_325, .khr) && record.foreignAmount?.currency == "CNY")
        // The same dynamic code under another reference: refused, nothing moves.
        #expect(f.inwardQR("alipay-0002", Amount(56_325, .khr), code: code) == rejected(.khqrAlreadyPaid))
        #expect(f.h.balance("shop@wing", .khr).balance == 56_325)
        // A static code (no amount) is paid any number of times.
        let staticCode = f.khqr("shop@wing", nil)
        #expect(f.inwardQR("alipay-0003", Amount(1_000, .khr), code: staticCode) == .applied)
        #expect(f.inwardQR("alipay-0004", Amount(2_000, .khr), code: staticCode) == .applied)
        #expect(f.h.balance("shop@wing", .khr).balance == 59_325)
    }

    @Test func inwardQRCrossChecksTheDecodedCode() {
        var f = SettlementFixture()
        let amount = Amount(15_000, .khr)
        #expect(f.inwardQR("r1", amount, code: f.khqr("sokha@aclb", amount)) == rejected(.khqrMismatch), "another merchant")
        #expect(f.inwardQR("r2", amount, code: f.khqr("shop@wing", Amount(15_001, .khr))) == rejected(.khqrMismatch), "another amount")
        #expect(f.inwardQR("r3", Amount(1_500, .usd), code: f.khqr("shop@wing", Amount(1_500, .usd), currency: .usd)) == .applied)
        #expect(f.inwardQR("r4", Amount(1_500, .usd), code: f.khqr("shop@wing", Amount(1_500, .khr))) == rejected(.khqrMismatch), "another currency")
        let good = f.khqr("shop@wing", amount)
        let broken = String(good.dropLast()) + (good.hasSuffix("0") ? "1" : "0")
        #expect(f.inwardQR("r5", amount, code: broken) == rejected(.khqrInvalid, detail: .khqrCRCMismatch))
        // Expired: the code's expiry is ten minutes after it was made; the block is later.
        let expiring = f.khqr("shop@wing", amount)
        f.h.block([], advance: 600_001)
        #expect(f.inwardQR("r6", amount, code: expiring) == rejected(.khqrExpired))
        // Only inward QR payments carry a KHQR, and they must.
        #expect(f.gateway(f.entry(.inwardRemittance, "r7", amount, "shop@wing", khqr: good)) == rejected(.entryInvalid, detail: .entryKHQR))
        #expect(f.gateway(f.entry(.inwardQRPayment, "r8", amount, "shop@wing")) == rejected(.entryInvalid, detail: .entryKHQR))
        var zero = f.entry(.inwardRemittance, "r9", amount, "shop@wing")
        zero.amount = Amount(0, .khr)
        #expect(f.gateway(zero) == rejected(.amountNotPositive))
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func aReferenceIsUniqueForeverAndAReplayPostsNothing(_ kind: LedgerStoreKind) {
        var f = SettlementFixture(kind)
        let entry = f.entry(.inwardRemittance, "wu-77", Amount(40_000, .khr), "sokha@aclb")
        #expect(f.gateway(entry) == .applied)
        let balance = f.h.balance("sokha@aclb", .khr).balance
        #expect(f.gateway(entry) == rejected(.duplicateReference), "the same body in a new transaction")
        var changed = entry
        changed.counterparty = "wallet-****9999"
        #expect(f.gateway(changed) == rejected(.duplicateReferenceMismatch))
        f.h.block([], advance: 3 * 86_400_000)
        #expect(f.gateway(entry) == rejected(.duplicateReference), "days later: still remembered")
        #expect(f.h.balance("sokha@aclb", .khr).balance == balance)
        // Another class (a refund) may use the same reference text.
        let refund = f.entry(.refund, "wu-77", Amount(1_000, .khr), "shop@wing", original: "shop-order-1", foreign: false)
        #expect(f.gateway(refund, extra: [SettlementFixture.shopKey]) == rejected(.originalNotFound))
    }

    @Test func prefundIsNeverOverdrawn() {
        var f = SettlementFixture()
        let all = Amount(1_000_000, .khr)
        #expect(f.gateway(f.entry(.inwardRemittance, "big-1", all, "sokha@aclb")) == .applied, "exactly empties the prefund")
        #expect(f.h.balance("prefund@upi", .khr).balance == 0)
        #expect(f.gateway(f.entry(.inwardRemittance, "big-2", Amount(1_000, .khr), "sokha@aclb")) == rejected(.insufficientPrefund))
    }

    @Test func onlyTheGatewaySubmitsPayments() {
        var f = SettlementFixture()
        let entry = f.entry(.inwardRemittance, "x-1", Amount(10, .khr), "sokha@aclb")
        #expect(f.h.run("sokha@aclb", [.settlement(entry)], signers: [H.sokhaKey]) == rejected(.notGateway))
        var notAGateway = entry
        notAGateway.gateway = try! InstitutionID("aclb")
        #expect(f.h.run("sokha@aclb", [.settlement(notAGateway)], signers: [H.sokhaKey]) == rejected(.notGateway))
        var unknown = entry
        unknown.gateway = try! InstitutionID("wechat")
        #expect(f.gateway(unknown) == rejected(.participantNotFound))
    }

    @Test func fxIsRecomputedExactly() {
        var f = SettlementFixture()
        // 100.00 CNY at 563.25 KHR per CNY is exactly 56325 KHR.
        func remit(_ ref: String, khr: Int64, cny: Int64, rate: String, rounding: FXRounding = .halfEven, unit: String = "CNY",
                   quoted: String = "KHR", foreignCurrency: String = "CNY", expiresIn: UInt64 = 600_000) -> SettlementEntry {
            let quote = try! FXQuote(
                quoteID: ref, unitCurrency: unit, quotedCurrency: quoted, rate: rate, rounding: rounding,
                quotedAt: Timestamp(millisecondsSinceEpoch: f.h.time), expiresAt: Timestamp(millisecondsSinceEpoch: f.h.time + expiresIn))
            return try! SettlementEntry(kind: .inwardRemittance, gateway: SettlementFixture.upi, externalReference: ref, amount: Amount(khr, .khr),
                                        account: H.id("sokha@aclb"), foreignAmount: ForeignAmount(currency: foreignCurrency, minorUnits: cny), fx: quote)
        }
        #expect(f.gateway(remit("fx-1", khr: 56_325, cny: 10_000, rate: "563.25")) == .applied)
        #expect(f.gateway(remit("fx-2", khr: 56_326, cny: 10_000, rate: "563.25")) == rejected(.fxMismatch), "one riel off")
        #expect(f.gateway(remit("fx-3", khr: 56_324, cny: 10_000, rate: "563.25")) == rejected(.fxMismatch), "one riel off")
        // 0.01 CNY × 562.5 = 5.625 → ... use a .5 boundary: 0.02 CNY × 412.5 = 8.25 riel? Riel has no
        // fraction: 1 fen (0.01 CNY) × 450 = 4.5 riel: HALF_EVEN 4, HALF_UP 5, DOWN 4.
        #expect(f.gateway(remit("fx-4", khr: 4, cny: 1, rate: "450", rounding: .halfEven)) == .applied)
        #expect(f.gateway(remit("fx-5", khr: 5, cny: 1, rate: "450", rounding: .halfUp)) == .applied)
        #expect(f.gateway(remit("fx-6", khr: 5, cny: 1, rate: "450", rounding: .halfEven)) == rejected(.fxMismatch))
        #expect(f.gateway(remit("fx-7", khr: 4, cny: 1, rate: "450", rounding: .down)) == .applied)
        // 3 fen × 450 = 13.5 riel: HALF_EVEN rounds to the even 14.
        #expect(f.gateway(remit("fx-8", khr: 14, cny: 3, rate: "450")) == .applied)
        // The other direction: KHR is the unit, CNY quoted (0.0017753 CNY per riel): 15000 riel → 26.6295 CNY → 26.63.
        #expect(f.gateway(remit("fx-9", khr: 15_000, cny: 2_663, rate: "0.0017753", unit: "KHR", quoted: "CNY")) == .applied)
        #expect(f.gateway(remit("fx-10", khr: 15_000, cny: 2_662, rate: "0.0017753", unit: "KHR", quoted: "CNY")) == rejected(.fxMismatch))
        // A quote between other currencies, a foreign leg in the settlement currency or an unknown one, an expired quote.
        #expect(f.gateway(remit("fx-11", khr: 56_325, cny: 10_000, rate: "563.25", unit: "THB")) == rejected(.fxInvalid, detail: .fxQuotePair))
        #expect(f.gateway(remit("fx-12", khr: 100, cny: 100, rate: "1", foreignCurrency: "KHR")) == rejected(.currencyNotAllowed))
        #expect(f.gateway(remit("fx-13", khr: 100, cny: 100, rate: "1", foreignCurrency: "ZZZ")) == rejected(.currencyNotAllowed))
        #expect(f.gateway(remit("fx-14", khr: 56_325, cny: 10_000, rate: "563.25", expiresIn: 500)) == rejected(.quoteExpired))
        var noQuote = remit("fx-15", khr: 56_325, cny: 10_000, rate: "563.25")
        noQuote.fx = nil
        #expect(f.gateway(noQuote) == rejected(.fxInvalid, detail: .fxQuoteMissing))
        var noForeign = noQuote
        noForeign.foreignAmount = nil
        #expect(f.gateway(noForeign) == rejected(.entryInvalid, detail: .entryForeignAmount), "a payment carries its foreign leg")
    }

    @Test(arguments: LedgerStoreKind.allCases)
    func outwardPaymentNeedsThePayerAndCreditsThePayable(_ kind: LedgerStoreKind) {
        var f = SettlementFixture(kind)
        let entry = f.entry(.outwardQRPayment, "upi-out-1", Amount(20_000, .khr), "sokha@aclb")
        #expect(f.gateway(entry) == rejected(.quorumNotMet), "the gateway alone may not debit the payer")
        #expect(f.gateway(entry, extra: [H.sokhaKey]) == .applied)
        #expect(f.h.balance("sokha@aclb", .khr).balance == 980_000)
        #expect(f.h.balance("payable@upi", .khr).balance == 20_000)
        #expect(f.position()?.grossOutward == 20_000)
        let tooMuch = f.entry(.outwardRemittance, "upi-out-2", Amount(5_000_000, .khr), "sokha@aclb")
        #expect(f.gateway(tooMuch, extra: [H.sokhaKey]) == rejected(.insufficientFunds))
        // A reversal (the gateway could not pay abroad) returns money from the payable to the payer.
        let reversal = f.entry(.reversal, "upi-rev-1", Amount(20_000, .khr), "sokha@aclb", original: "upi-out-1", foreign: false)
        #expect(f.gateway(reversal) == .applied)
        #expect(f.h.balance("sokha@aclb", .khr).balance == 1_000_000 && f.h.balance("payable@upi", .khr).balance == 0)
        let again = f.entry(.reversal, "upi-rev-2", Amount(1, .khr), "sokha@aclb", original: "upi-out-1", foreign: false)
        #expect(f.gateway(again) == rejected(.refundExceedsOriginal))
        #expect(f.position()?.reversals == 20_000)
    }

    @Test func refundsNeverExceedTheOriginal() {
        var f = SettlementFixture()
        #expect(f.inwardQR("pay-1", Amount(10_000, .khr)) == .applied)
        func refund(_ ref: String, _ units: Int64, original: String = "pay-1") -> SettlementEntry {
            f.entry(.refund, ref, Amount(units, .khr), "shop@wing", original: original, foreign: false)
        }
        #expect(f.gateway(refund("rf-1", 4_000)) == rejected(.quorumNotMet), "the merchant's keys must agree")
        #expect(f.gateway(refund("rf-1", 4_000), extra: [SettlementFixture.shopKey]) == .applied)
        #expect(f.gateway(refund("rf-2", 6_000), extra: [SettlementFixture.shopKey]) == .applied, "partial refunds add up to the whole")
        #expect(f.gateway(refund("rf-3", 1), extra: [SettlementFixture.shopKey]) == rejected(.refundExceedsOriginal))
        #expect(f.gateway(refund("rf-4", 1, original: "nope"), extra: [SettlementFixture.shopKey]) == rejected(.originalNotFound))
        #expect(f.record(.payment, "pay-1")?.returned == 10_000)
        #expect(f.h.balance("shop@wing", .khr).balance == 0)
        #expect(f.h.balance("prefund@upi", .khr).balance == 1_000_000)
        #expect(f.position()?.refunds == 10_000)
        // A refund of an outward payment is a reversal, not a refund.
        #expect(f.gateway(f.entry(.outwardQRPayment, "o-1", Amount(100, .khr), "sokha@aclb"), extra: [H.sokhaKey]) == .applied)
        let wrongKind = f.entry(.refund, "rf-5", Amount(100, .khr), "sokha@aclb", original: "o-1", foreign: false)
        #expect(f.gateway(wrongKind, extra: [H.sokhaKey]) == rejected(.entryInvalid, detail: .entryOriginalMismatch))
    }

    /// Refunds and reversals come within the gateway's windows, counted in its business dates from
    /// the original's; no window is no limit; a configuration replaces the windows too.
    @Test(arguments: LedgerStoreKind.allCases)
    func correctionsComeWithinTheGatewaysWindows(_ kind: LedgerStoreKind) {
        var f = SettlementFixture(kind)
        let day: UInt64 = 86_400_000
        #expect(f.inwardQR("w-pay-1", Amount(10_000, .khr)) == .applied)
        #expect(f.gateway(f.entry(.outwardQRPayment, "w-out-1", Amount(5_000, .khr), "sokha@aclb"), extra: [H.sokhaKey]) == .applied)
        let config = try! GatewayConfig(gateway: SettlementFixture.upi, refundWindowDays: 2, reversalWindowDays: 0)
        #expect(f.h.run("admin@nbc", [.configureGateway(config)], signers: [H.admin]) == .applied)
        func refund(_ ref: String, _ units: Int64) -> SettlementEntry {
            f.entry(.refund, ref, Amount(units, .khr), "shop@wing", original: "w-pay-1", foreign: false)
        }
        func reversal(_ ref: String) -> SettlementEntry { f.entry(.reversal, ref, Amount(1_000, .khr), "sokha@aclb", original: "w-out-1", foreign: false) }
        #expect(f.gateway(reversal("w-rev-1")) == .applied, "a reversal on the payment's own business date")
        f.h.block([], advance: day)
        #expect(f.gateway(reversal("w-rev-2")) == rejected(.reversalWindowClosed), "a window of 0 days closes at the next date")
        #expect(f.gateway(refund("w-rf-1", 1_000), extra: [SettlementFixture.shopKey]) == .applied, "one day after")
        f.h.block([], advance: day)
        #expect(f.gateway(refund("w-rf-2", 1_000), extra: [SettlementFixture.shopKey]) == .applied, "two days after: the last day of the window")
        f.h.block([], advance: day)
        #expect(f.gateway(refund("w-rf-3", 1_000), extra: [SettlementFixture.shopKey]) == rejected(.refundWindowClosed))
        #expect(f.record(.payment, "w-pay-1")?.returned == 2_000, "a late refund returns nothing")
        // Without windows the same refund goes through.
        #expect(f.h.run("admin@nbc", [.configureGateway(try! GatewayConfig(gateway: SettlementFixture.upi))], signers: [H.admin]) == .applied)
        #expect(f.gateway(refund("w-rf-3", 1_000), extra: [SettlementFixture.shopKey]) == .applied)
        #expect(throws: DecodeError.self) { try GatewayConfig(gateway: SettlementFixture.upi, refundWindowDays: GatewayConfig.windowDaysMax + 1) }
    }

    /// A UETR is unique across every gateway's entries; a replay of the same entry is still a
    /// duplicate reference; only version 4 UUIDs decode.
    @Test(arguments: LedgerStoreKind.allCases)
    func uetrIsUniqueWhenPresent(_ kind: LedgerStoreKind) throws {
        var f = SettlementFixture(kind)
        let uetr = try #require(UETR("eb6305c9-1f7f-49de-aed0-16487c27b42d"))
        #expect(uetr.description == "eb6305c9-1f7f-49de-aed0-16487c27b42d" && UETR("EB6305C9-1F7F-49DE-AED0-16487C27B42D") == uetr)
        var first = f.entry(.inwardRemittance, "u-1", Amount(1_000, .khr), "sokha@aclb")
        first.uetr = uetr
        #expect(f.gateway(first) == .applied)
        #expect(f.record(.payment, "u-1")?.uetr == uetr)
        #expect(f.gateway(first) == rejected(.duplicateReference), "the same entry again is a replay, whatever its UETR")
        var second = f.entry(.inwardRemittance, "u-2", Amount(1_000, .khr), "sokha@aclb")
        second.uetr = uetr
        #expect(f.gateway(second) == rejected(.duplicateUETR))
        second.uetr = UETR("eb6305c9-1f7f-49de-aed0-16487c27b42e")
        #expect(f.gateway(second) == .applied)
        #expect(f.gateway(f.entry(.inwardRemittance, "u-3", Amount(1_000, .khr), "sokha@aclb")) == .applied, "a UETR is optional")
        #expect(f.h.balance("sokha@aclb", .khr).balance == 1_003_000, "the refused entry moved nothing")
        // Not a version 4 UUID: the version nibble, the variant bits, the shape.
        for text in ["eb6305c9-1f7f-39de-aed0-16487c27b42d", "eb6305c9-1f7f-49de-ced0-16487c27b42d", "eb6305c91f7f49deaed016487c27b42d", "not-a-uuid"] {
            #expect(UETR(text) == nil, "\(text)")
        }
        #expect(throws: DecodeError.self) { try UETR(ID128(high: 0, low: 0)) }
    }

    /// The central bank's reference rate bounds the quotes of its pair and business date: within
    /// the band an entry records the rate and its deviation, and the position their average;
    /// outside it is refused. No rate, another date or the other orientation: no check.
    @Test(arguments: LedgerStoreKind.allCases)
    func referenceRatesBoundTheQuotes(_ kind: LedgerStoreKind) throws {
        var f = SettlementFixture(kind)
        let today = BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: f.h.time + 1_000), cutoffMilliseconds: 0)
        func remit(_ ref: String, khr: Int64, cny: Int64, rate: String) -> SettlementEntry {
            let quote = try! FXQuote(quoteID: ref, unitCurrency: "CNY", quotedCurrency: "KHR", rate: rate, rounding: .halfEven,
                                     quotedAt: Timestamp(millisecondsSinceEpoch: f.h.time), expiresAt: Timestamp(millisecondsSinceEpoch: f.h.time + 600_000))
            return try! SettlementEntry(kind: .inwardRemittance, gateway: SettlementFixture.upi, externalReference: ref, amount: Amount(khr, .khr),
                                        account: H.id("sokha@aclb"), foreignAmount: ForeignAmount(currency: "CNY", minorUnits: cny), fx: quote)
        }
        #expect(f.gateway(remit("rr-0", khr: 60_000, cny: 10_000, rate: "600")) == .applied, "no reference rate published: no check")
        let reference = try ReferenceRate(unitCurrency: "CNY", quotedCurrency: "KHR", businessDate: today, rate: "563.25", toleranceBasisPoints: 100)
        #expect(f.h.run("prefund@upi", [.setReferenceRate(reference)], signers: [SettlementFixture.upiKey]) == rejected(.notCentralBank))
        #expect(f.h.run("admin@nbc", [.setReferenceRate(reference)], signers: [H.admin]) == .applied)
        // 568.00 is 84 bp above 563.25 (4.75 / 563.25); 569.00 is 102 bp above: outside 100 bp.
        #expect(f.gateway(remit("rr-1", khr: 56_800, cny: 10_000, rate: "568")) == .applied)
        #expect(f.record(.payment, "rr-1")?.referenceRate == "563.25" && f.record(.payment, "rr-1")?.deviationBasisPoints == 84)
        #expect(f.gateway(remit("rr-2", khr: 56_900, cny: 10_000, rate: "569")) == rejected(.referenceRateDeviation))
        #expect(f.gateway(remit("rr-3", khr: 55_800, cny: 10_000, rate: "558")) == .applied, "93 bp below")
        #expect(f.gateway(remit("rr-4", khr: 56_325, cny: 10_000, rate: "563.25")) == .applied)
        let position = try #require(f.position())
        #expect(position.referenceChecked == 3 && position.averageDeviationBasisPoints == (84 + 93 + 0) / 3, "\(position)")
        #expect(f.h.balance("sokha@aclb", .khr).balance == 1_000_000 + 60_000 + 56_800 + 55_800 + 56_325, "the refused entry moved nothing")
        // A correction of the rate replaces it; the next business date has none.
        let wider = try ReferenceRate(unitCurrency: "CNY", quotedCurrency: "KHR", businessDate: today, rate: "563.25", toleranceBasisPoints: 200)
        #expect(f.h.run("admin@nbc", [.setReferenceRate(wider)], signers: [H.admin]) == .applied)
        #expect(f.gateway(remit("rr-2", khr: 56_900, cny: 10_000, rate: "569")) == .applied, "102 bp is inside 200 bp")
        f.h.block([], advance: 86_400_000)
        #expect(f.gateway(remit("rr-5", khr: 70_000, cny: 10_000, rate: "700")) == .applied, "tomorrow has no rate yet")
        // Shapes the command refuses: one pair side must be a ledger currency; the band is 1-10,000 bp.
        #expect(throws: DecodeError.self) { try ReferenceRate(unitCurrency: "CNY", quotedCurrency: "THB", businessDate: today, rate: "5", toleranceBasisPoints: 10) }
        #expect(throws: DecodeError.self) { try ReferenceRate(unitCurrency: "CNY", quotedCurrency: "KHR", businessDate: today, rate: "5", toleranceBasisPoints: 0) }
        #expect(throws: DecodeError.self) { try ReferenceRate(unitCurrency: "CNY", quotedCurrency: "KHR", businessDate: today, rate: "-5", toleranceBasisPoints: 10) }
        #expect(reference.deviationBasisPoints("563.25") == 0 && reference.deviationBasisPoints("0.0000000001") == 9_999)
    }

    @Test func gatewayLimitsPerTransactionAndDailyGross() {
        var f = SettlementFixture()
        let limit = GatewayLimit(currency: .khr, perTransactionMax: 50_000, dailyInwardMax: 80_000, dailyOutwardMax: 30_000)
        let config = try! GatewayConfig(gateway: SettlementFixture.upi, limits: [limit])
        #expect(f.h.run("prefund@upi", [.configureGateway(config)], signers: [SettlementFixture.upiKey]) == rejected(.notCentralBank))
        #expect(f.h.run("admin@nbc", [.configureGateway(config)], signers: [H.admin]) == .applied)
        let bad = try! GatewayConfig(gateway: SettlementFixture.upi, limits: [GatewayLimit(currency: .khr, perTransactionMax: 0, dailyInwardMax: nil, dailyOutwardMax: nil)])
        #expect(f.h.run("admin@nbc", [.configureGateway(bad)], signers: [H.admin]) == rejected(.limitInvalid))
        #expect(f.gateway(f.entry(.inwardRemittance, "l-1", Amount(50_001, .khr), "sokha@aclb")) == rejected(.limitExceeded))
        #expect(f.gateway(f.entry(.inwardRemittance, "l-2", Amount(50_000, .khr), "sokha@aclb")) == .applied)
        #expect(f.gateway(f.entry(.inwardRemittance, "l-3", Amount(30_000, .khr), "sokha@aclb")) == .applied, "80,000 in all")
        #expect(f.gateway(f.entry(.inwardRemittance, "l-4", Amount(1_000, .khr), "sokha@aclb")) == rejected(.limitExceeded))
        #expect(f.gateway(f.entry(.outwardRemittance, "l-5", Amount(30_000, .khr), "sokha@aclb"), extra: [H.sokhaKey]) == .applied, "outward counts apart")
        #expect(f.gateway(f.entry(.outwardRemittance, "l-6", Amount(1_000, .khr), "sokha@aclb"), extra: [H.sokhaKey]) == rejected(.limitExceeded))
        // USD has no limit; the next business day starts afresh.
        #expect(f.gateway(f.entry(.inwardRemittance, "l-7", Amount(900_000, .usd), "sokha@aclb")) == .applied)
        f.h.block([], advance: 86_400_000)
        #expect(f.gateway(f.entry(.inwardRemittance, "l-8", Amount(50_000, .khr), "sokha@aclb")) == .applied)
    }

    @Test func remittanceToAMissingOrFrozenAccountIsRejected() {
        var f = SettlementFixture()
        #expect(f.gateway(f.entry(.inwardRemittance, "m-1", Amount(10, .khr), "nobody@aclb")) == rejected(.accountNotFound))
        #expect(f.h.run("admin@nbc", [.freeze(H.id("dara@wing"))], signers: [H.admin]) == .applied)
        #expect(f.gateway(f.entry(.inwardRemittance, "m-2", Amount(10, .khr), "dara@wing")) == rejected(.accountFrozen))
    }
}

@Suite struct SettlementCycleTests {
    @Test(arguments: LedgerStoreKind.allCases)
    func cutOffDecidesTheBusinessDateAndNetSettlementClosesTheCycle(_ kind: LedgerStoreKind) {
        var f = SettlementFixture(kind)
        // Cut-off at 22:00 ICT.
        let cutoff: UInt32 = 22 * 3_600_000
        #expect(f.h.run("admin@nbc", [.configureGateway(try! GatewayConfig(gateway: SettlementFixture.upi, cutoffMilliseconds: cutoff))], signers: [H.admin]) == .applied)
        // The instant date D ends: D days + cut-off − 7 h (UTC). Far enough ahead for two blocks.
        let dayMs: UInt64 = 86_400_000
        let today0 = BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: f.h.time), cutoffMilliseconds: cutoff).day
        var cutoffInstant = UInt64(today0) * dayMs + UInt64(cutoff) - 7 * 3_600_000
        if cutoffInstant - 1 <= f.h.time + 1_000 { cutoffInstant += dayMs }
        let lateDay = BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: cutoffInstant - 1), cutoffMilliseconds: cutoff)
        f.h.block([], advance: cutoffInstant - 1 - 1_000 - f.h.time)
        // One millisecond before the cut-off: this business date. At the cut-off: the next one.
        let out1 = f.entry(.outwardQRPayment, "c-1", Amount(7_000, .khr), "sokha@aclb")
        #expect(f.gateway(out1, extra: [H.sokhaKey]) == .applied)
        #expect(f.h.time == cutoffInstant - 1)
        #expect(f.record(.payment, "c-1")?.businessDate == lateDay)
        let atCutoff = f.h.tx("prefund@upi", [.settlement(f.entry(.inwardQRPayment, "c-2", Amount(3_000, .khr), "shop@wing",
                                                                    khqr: f.khqr("shop@wing", Amount(3_000, .khr))))], signers: [SettlementFixture.upiKey])
        #expect(f.h.block([atCutoff], advance: 1) == [.applied])
        let nextDay = BusinessDate(day: lateDay.day + 1)
        #expect(f.record(.payment, "c-2")?.businessDate == nextDay)
        let closing = f.position(.khr, lateDay)!
        #expect(closing.grossOutward == 7_000 && closing.grossInward == 0 && closing.payableDue == 7_000 && closing.netPosition == 7_000)

        func net(_ ref: String, _ statement: CycleStatement, _ units: Int64, to account: String = "prefund@upi") -> SettlementEntry {
            f.entry(.netSettlement, ref, Amount(units, .khr), account, foreign: false, cycle: statement)
        }
        // The cycle of the current business date is still open.
        let today = f.position(.khr, nextDay)!
        #expect(f.h.run("admin@nbc", [.settlement(net("n-0", today.statement, today.payableDue))], signers: [H.admin, SettlementFixture.upiKey]) == rejected(.cycleOpen))
        // Totals or digest that differ from the ledger's, or the wrong amount.
        let statement = closing.statement
        let wrongDigest = CycleStatement(businessDate: lateDay, count: statement.count, grossInward: 0, grossOutward: 7_000, refunds: 0, reversals: 0,
                                         topUps: statement.topUps, netSettled: statement.netSettled, entriesDigest: SHA256.hash([1]))
        #expect(f.h.run("admin@nbc", [.settlement(net("n-1", wrongDigest, 7_000))], signers: [H.admin, SettlementFixture.upiKey]) == rejected(.cycleMismatch))
        #expect(f.h.run("admin@nbc", [.settlement(net("n-2", statement, 6_999))], signers: [H.admin, SettlementFixture.upiKey]) == rejected(.cycleMismatch))
        // One signature is not enough; both are.
        #expect(f.h.run("admin@nbc", [.settlement(net("n-3", statement, 7_000))], signers: [H.admin]) == rejected(.quorumNotMet))
        #expect(f.h.run("admin@nbc", [.settlement(net("n-4", statement, 7_000))], signers: [H.admin, SettlementFixture.upiKey]) == .applied)
        #expect(f.position(.khr, lateDay)?.closedBy == "n-4")
        #expect(f.h.balance("payable@upi", .khr).balance == 0)
        #expect(f.h.balance("prefund@upi", .khr).balance == 1_000_000 - 3_000 + 7_000, "netting by replenishment")
        #expect(f.h.run("admin@nbc", [.settlement(net("n-5", statement, 7_000))], signers: [H.admin, SettlementFixture.upiKey]) == rejected(.cycleClosed))
        // The closed date never changes: new entries land on the current date.
        #expect(f.inwardQR("c-3", Amount(1_000, .khr)) == .applied)
        let after = f.position(.khr, lateDay)!
        #expect(after.count == closing.count && after.grossInward == closing.grossInward && after.entriesDigest == closing.entriesDigest)
    }

    @Test func entriesDigestChainsTheDaysEntriesInOrder() {
        var f = SettlementFixture()
        #expect(f.inwardQR("d-1", Amount(100, .khr)) == .applied)
        #expect(f.inwardQR("d-2", Amount(200, .khr)) == .applied)
        let position = f.position()!
        // Walk the chain from the newest entry back, then recompute the digest oldest first.
        var keys: [Digest] = []
        var next = position.last
        var entries: [SettlementRecord] = []
        while let key = next {
            keys.append(key)
            guard let bytes = f.h.value(key), case .settlement(let record) = try! StateRecord(encoded: bytes) else { Issue.record("broken chain"); return }
            entries.append(record)
            next = record.previous
        }
        #expect(entries.map(\.externalReference) == ["d-2", "d-1", "wire-1"])
        let digest = entries.reversed().reduce(Digest.zero) { SHA256.hash($0.bytes + $1.entryDigest.bytes) }
        #expect(digest == position.entriesDigest)
        #expect(UInt64(entries.count) == position.count)
    }
}

@Suite struct FXArithmeticTests {
    static func quote(_ rate: String, _ rounding: FXRounding = .halfEven) -> FXQuote {
        try! FXQuote(quoteID: "q", unitCurrency: "CNY", quotedCurrency: "KHR", rate: rate, rounding: rounding,
                     quotedAt: Timestamp(millisecondsSinceEpoch: 0), expiresAt: Timestamp(millisecondsSinceEpoch: 1))
    }

    @Test func workedExampleAndRoundingModes() {
        #expect(Self.quote("563.25").convert(10_000, fromExponent: 2, toExponent: 0) == 56_325)
        // 2.5 → 2 (even), 3 (half up), 2 (down); 3.5 → 4, 4, 3.
        #expect(Self.quote("2.5").convert(1, fromExponent: 0, toExponent: 0) == 2)
        #expect(Self.quote("2.5", .halfUp).convert(1, fromExponent: 0, toExponent: 0) == 3)
        #expect(Self.quote("2.5", .down).convert(1, fromExponent: 0, toExponent: 0) == 2)
        #expect(Self.quote("3.5").convert(1, fromExponent: 0, toExponent: 0) == 4)
        #expect(Self.quote("3.5", .down).convert(1, fromExponent: 0, toExponent: 0) == 3)
        // A binary float would get 2.675 × 100 wrong; integers do not.
        #expect(Self.quote("2.675").convert(100, fromExponent: 0, toExponent: 0)  == 268, "267.5 rounds to the even 268")
        #expect(Self.quote("1").convert(Int64.max, fromExponent: 0, toExponent: 2) == nil, "overflow is reported, not wrapped")
    }

    @Test func rateText() {
        for good in ["1", "563.25", "0.0000000001", "999999999999.9999999999"] { #expect(FXQuote.parse(good) != nil, "\(good)") }
        for bad in ["", "0", "0.0", "-1", "1.", ".5", "1e3", "1,5", "1234567890123", "1.12345678901", " 1"] { #expect(FXQuote.parse(bad) == nil, "\(bad)") }
    }

    @Test func businessDates() {
        #expect(BusinessDate("2026-11-21")?.description == "2026-11-21")
        #expect(BusinessDate("2026-02-30") == nil && BusinessDate("2026-1-01") == nil && BusinessDate("1969-12-31") == nil)
        #expect(BusinessDate("1970-01-01")?.day == 0)
        // 2026-11-21 16:59:59.999 UTC is 23:59:59.999 ICT on the 21st; a millisecond later it is the 22nd.
        let midnightICT = UInt64(BusinessDate("2026-11-22")!.day) * 86_400_000 - 7 * 3_600_000
        #expect(BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: midnightICT - 1), cutoffMilliseconds: 0).description == "2026-11-21")
        #expect(BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: midnightICT), cutoffMilliseconds: 0).description == "2026-11-22")
        // With a 22:00 cut-off, 22:00 ICT on the 21st already belongs to the 22nd.
        let tenPM = midnightICT - 2 * 3_600_000
        #expect(BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: tenPM - 1), cutoffMilliseconds: 22 * 3_600_000).description == "2026-11-21")
        #expect(BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: tenPM), cutoffMilliseconds: 22 * 3_600_000).description == "2026-11-22")
    }
}
