import KHQR
import TonleCrypto
import TonleTypes

/// Cross-border settlement entries (DESIGN §6, docs/settlement.md). Checks run in a fixed order
/// and the first failure rejects the whole transaction; nothing is posted.
extension Execution {
    /// The central bank sets a gateway's business-date cut-off and limits.
    mutating func configureGateway(_ config: GatewayConfig) throws(Rejection) {
        try requireCentralBank()
        guard let gateway = overlay.participant(config.gateway) else { throw reject(.participantNotFound) }
        guard gateway.role == .gateway else { throw reject(.notGateway) }
        guard config.limits.allSatisfy({ limit in
            [limit.perTransactionMax, limit.dailyInwardMax, limit.dailyOutwardMax].allSatisfy { ($0 ?? 1) > 0 }
        }) else { throw reject(.limitInvalid) }
        overlay.set(StateKey.gateway(config.gateway), .gateway(config))
    }

    /// The central bank publishes (or corrects) a pair's reference rate for a business date.
    mutating func setReferenceRate(_ rate: ReferenceRate) throws(Rejection) {
        try requireCentralBank()
        overlay.set(StateKey.referenceRate(rate.unitCurrency, rate.quotedCurrency, rate.businessDate), .referenceRate(ReferenceRateRecord(rate: rate, height: context.height)))
    }

    mutating func settle(_ entry: SettlementEntry) throws(Rejection) {
        try authoriseSettlement(entry)
        try checkShape(entry)
        let key = StateKey.settlement(entry.gateway, entry.kind.referenceClass, entry.externalReference)
        let digest = entry.digest
        if let existing = overlay.settlementRecord(key) {
            throw reject(existing.entryDigest == digest ? .duplicateReference : .duplicateReferenceMismatch)
        }
        if let uetr = entry.uetr, overlay.record(StateKey.uetr(uetr)) != nil { throw reject(.duplicateUETR) }
        try checkForeignLeg(entry)
        let config = overlay.gatewayConfig(entry.gateway)
        let date = BusinessCalendar.date(of: context.time, cutoffMilliseconds: config?.cutoffMilliseconds ?? 0)
        var position = overlay.position(entry.gateway, entry.amount.currency, date)
        let reference = try checkReferenceRate(entry, date: date)
        var khqrPaidKey: Digest?
        var original: (key: Digest, record: SettlementRecord)?

        switch entry.kind {
        case .inwardQRPayment:
            khqrPaidKey = try checkKHQR(entry)
        case .refund, .reversal:
            original = try checkOriginal(entry, config: config, today: date)
        case .netSettlement:
            try closeCycle(entry, today: date)
        case .outwardQRPayment, .inwardRemittance, .outwardRemittance, .prefundTopUp:
            break
        }
        try checkGatewayLimits(entry, config: config, position: position)
        try post(entry)

        // Records: the entry under its key, the position it joins, the original's returned total,
        // the paid dynamic KHQR.
        let transactionID = self.transactionID!
        let record = SettlementRecord(
            kind: entry.kind, gateway: entry.gateway, externalReference: entry.externalReference, account: entry.account,
            amount: entry.amount, foreignAmount: entry.foreignAmount, fxRate: entry.fx?.rate, original: entry.original, entryDigest: digest,
            transaction: transactionID, height: context.height, command: command ?? 0, time: context.time, businessDate: date,
            returned: 0, previous: position.last, uetr: entry.uetr, referenceRate: reference?.rate, deviationBasisPoints: reference?.deviation)
        overlay.set(key, .settlement(record))
        if let uetr = entry.uetr {
            overlay.set(StateKey.uetr(uetr), .uetr(UETRRecord(gateway: entry.gateway, referenceClass: entry.kind.referenceClass, externalReference: entry.externalReference)))
        }
        try add(entry, digest: digest, key: key, to: &position)
        if let reference {
            position.referenceChecked += 1
            let (sum, overflow) = position.deviationBasisPointsSum.addingReportingOverflow(UInt64(reference.deviation))
            position.deviationBasisPointsSum = overflow ? .max : sum
        }
        overlay.set(StateKey.position(entry.gateway, entry.amount.currency, date), .position(position))
        if let original {
            var updated = original.record
            updated.returned += entry.amount.minorUnits  // checked against the original's amount
            overlay.set(original.key, .settlement(updated))
        }
        if let khqrPaidKey {
            overlay.set(khqrPaidKey, .khqrPaid(KHQRPaidRecord(gateway: entry.gateway, externalReference: entry.externalReference)))
        }
    }

    // MARK: Checks

    /// Payment kinds and corrections come from the gateway itself (the creator is one of its
    /// accounts); top-ups from the central bank; a net settlement from the central bank with the
    /// gateway's signatures as well (its payable account's quorum).
    private mutating func authoriseSettlement(_ entry: SettlementEntry) throws(Rejection) {
        guard let gateway = overlay.participant(entry.gateway) else { throw reject(.participantNotFound) }
        guard gateway.role == .gateway else { throw reject(.notGateway) }
        let creatorInstitution = creator!.id.institution
        switch entry.kind {
        case .prefundTopUp:
            try requireCentralBank()
        case .netSettlement:
            try requireCentralBank()
            guard let payable = overlay.account(GatewayAccounts.payable(entry.gateway)) else { throw reject(.accountNotFound) }
            guard meetsQuorum(payable.keys) else { throw reject(.quorumNotMet) }
        default:
            guard creatorInstitution == entry.gateway else { throw reject(.notGateway) }
        }
    }

    /// Which optional fields each kind needs or may not carry, and the amount's sign.
    private func checkShape(_ entry: SettlementEntry) throws(Rejection) {
        let kind = entry.kind
        let isPayment = kind.referenceClass == .payment
        guard kind == .netSettlement ? entry.amount.minorUnits >= 0 : entry.amount.minorUnits > 0 else { throw reject(.amountNotPositive) }
        guard (kind == .refund || kind == .reversal) == (entry.original != nil) else { throw reject(.entryInvalid, .entryOriginal) }
        guard (kind == .netSettlement) == (entry.cycle != nil) else { throw reject(.entryInvalid, .entryCycle) }
        guard (kind == .inwardQRPayment) == (entry.khqrPayload != nil) else { throw reject(.entryInvalid, .entryKHQR) }
        guard !isPayment || entry.foreignAmount != nil else { throw reject(.entryInvalid, .entryForeignAmount) }
        guard kind.referenceClass != .funding || (entry.foreignAmount == nil && entry.fx == nil) else { throw reject(.entryInvalid, .entryFundingForeignLeg) }
    }

    /// The foreign amount and the FX quote: a known ISO currency other than the settlement
    /// currency, a quote between exactly those two, valid at block time, whose exact integer
    /// conversion of the unit-currency amount gives the quoted-currency amount.
    private func checkForeignLeg(_ entry: SettlementEntry) throws(Rejection) {
        guard let foreign = entry.foreignAmount else {
            guard entry.fx == nil else { throw reject(.entryInvalid, .entryQuoteWithoutForeignAmount) }
            return
        }
        let settlementCode = entry.amount.currency.code
        guard foreign.currency != settlementCode, let foreignExponent = ISOCurrency.exponent(foreign.currency) else {
            throw reject(.currencyNotAllowed)
        }
        guard foreign.minorUnits > 0 else { throw reject(.amountNotPositive) }
        guard let fx = entry.fx else { throw reject(.fxInvalid, .fxQuoteMissing) }
        let pair = [fx.unitCurrency, fx.quotedCurrency]
        guard pair == [foreign.currency, settlementCode] || pair == [settlementCode, foreign.currency] else { throw reject(.fxInvalid, .fxQuotePair) }
        guard fx.quotedAt <= context.time, context.time <= fx.expiresAt else { throw reject(.quoteExpired) }
        let settlement = (minor: entry.amount.minorUnits, exponent: entry.amount.currency.exponent)
        let other = (minor: foreign.minorUnits, exponent: foreignExponent)
        let (unit, quoted) = fx.unitCurrency == settlementCode ? (settlement, other) : (other, settlement)
        guard let converted = fx.convert(unit.minor, fromExponent: unit.exponent, toExponent: quoted.exponent) else { throw reject(.amountOverflow) }
        guard converted == quoted.minor else { throw reject(.fxMismatch) }
    }

    /// The entry's quote against the central bank's reference rate for its pair (in the quote's
    /// orientation) on the entry's business date: within the rate's band, or refused. Returns the
    /// reference rate and the deviation, or nil where none is published.
    private mutating func checkReferenceRate(_ entry: SettlementEntry, date: BusinessDate) throws(Rejection) -> (rate: String, deviation: UInt16)? {
        guard let fx = entry.fx, case .referenceRate(let record)? = overlay.record(StateKey.referenceRate(fx.unitCurrency, fx.quotedCurrency, date)) else {
            return nil
        }
        // checkForeignLeg parsed the quote's rate.
        guard let deviation = record.rate.deviationBasisPoints(fx.rate), deviation <= UInt64(record.rate.toleranceBasisPoints) else {
            throw reject(.referenceRateDeviation)
        }
        return (record.rate.rate, UInt16(deviation))
    }

    /// An inward QR payment pays the code the tourist scanned: it decodes strictly and has not
    /// expired at block time, and its account, currency and (dynamic) amount are the entry's. A
    /// dynamic code is paid at most once. Returns the paid-code key to record, for dynamic codes.
    private mutating func checkKHQR(_ entry: SettlementEntry) throws(Rejection) -> Digest? {
        let code: KHQR
        do { code = try KHQR.decode(entry.khqrPayload!) } catch { throw reject(.khqrInvalid, RejectionDetail(error)) }
        do { try code.checkNotExpired(nowMilliseconds: context.time.millisecondsSinceEpoch) } catch { throw reject(.khqrExpired) }
        guard code.bakongAccountID == entry.account.text, code.currency.rawValue == String(entry.amount.currency.rawValue),
              !code.isDynamic || code.amountMinorUnits == entry.amount.minorUnits
        else { throw reject(.khqrMismatch) }
        guard code.isDynamic else { return nil }
        let key = StateKey.khqrPaid(SHA256.hash(Array(entry.khqrPayload!.utf8)))
        guard overlay.record(key) == nil else { throw reject(.khqrAlreadyPaid) }
        return key
    }

    /// A refund returns an inward payment, a reversal an outward one: the original is this
    /// gateway's, of the matching direction, in the same currency and account; it comes within the
    /// gateway's window for its kind (in business dates from the original's); and the refunds or
    /// reversals against it never exceed it.
    private mutating func checkOriginal(_ entry: SettlementEntry, config: GatewayConfig?, today: BusinessDate) throws(Rejection) -> (Digest, SettlementRecord) {
        let key = StateKey.settlement(entry.gateway, .payment, entry.original!)
        guard let original = overlay.settlementRecord(key) else { throw reject(.originalNotFound) }
        let direction = entry.kind == .refund ? original.kind.isInward : original.kind.isOutward
        guard direction, original.account == entry.account, original.amount.currency == entry.amount.currency else {
            throw reject(.entryInvalid, .entryOriginalMismatch)
        }
        let window = entry.kind == .refund ? config?.refundWindowDays : config?.reversalWindowDays
        if let window, UInt64(today.day) > UInt64(original.businessDate.day) + UInt64(window) {
            throw reject(entry.kind == .refund ? .refundWindowClosed : .reversalWindowClosed)
        }
        let (total, overflow) = original.returned.addingReportingOverflow(entry.amount.minorUnits)
        guard !overflow, total <= original.amount.minorUnits else { throw reject(.refundExceedsOriginal) }
        return (key, original)
    }

    /// A net settlement closes one past business date of this gateway in this currency: the
    /// statement it carries must equal the ledger's position, and its amount the payable due.
    private mutating func closeCycle(_ entry: SettlementEntry, today: BusinessDate) throws(Rejection) {
        let statement = entry.cycle!
        guard statement.businessDate < today else { throw reject(.cycleOpen) }
        var closed = overlay.position(entry.gateway, entry.amount.currency, statement.businessDate)
        guard closed.closedBy == nil else { throw reject(.cycleClosed) }
        guard closed.statement == statement, closed.payableDue == entry.amount.minorUnits else { throw reject(.cycleMismatch) }
        let prefund = GatewayAccounts.prefund(entry.gateway)
        guard entry.account == prefund || isCentralBankIssuance(entry.account) else { throw reject(.entryInvalid, .entryAccount) }
        closed.closedBy = entry.externalReference
        overlay.set(StateKey.position(entry.gateway, entry.amount.currency, statement.businessDate), .position(closed))
    }

    private mutating func isCentralBankIssuance(_ id: AccountID) -> Bool {
        guard let account = overlay.account(id), account.isIssuance else { return false }
        return overlay.participant(id.institution)?.role == .centralBank
    }

    /// Per-transaction and daily gross caps (inward and outward separately) on payment kinds.
    private func checkGatewayLimits(_ entry: SettlementEntry, config: GatewayConfig?, position: PositionRecord) throws(Rejection) {
        guard entry.kind.referenceClass == .payment, let limit = config?.limit(entry.amount.currency) else { return }
        let amount = entry.amount.minorUnits
        if let max = limit.perTransactionMax, amount > max { throw reject(.limitExceeded) }
        let (today, cap) = entry.kind.isInward ? (position.grossInward, limit.dailyInwardMax) : (position.grossOutward, limit.dailyOutwardMax)
        let (total, overflow) = today.addingReportingOverflow(amount)
        if let cap, overflow || total > cap { throw reject(.limitExceeded) }
    }

    // MARK: Postings

    /// Debits and credits by kind; each currency's sum is unchanged.
    private mutating func post(_ entry: SettlementEntry) throws(Rejection) {
        let amount = entry.amount
        let (from, to) = entry.postings
        switch entry.kind {
        case .inwardQRPayment, .inwardRemittance:
            try move(amount, from: from, to: to, prefund: true)
        case .outwardQRPayment, .outwardRemittance, .refund:
            // The Bakong account pays: its own keys must have signed, as for a transfer.
            var source = try ownedAccount(from, ownInstitution: false)
            var target = try gatewayAccount(to)
            try debit(&source, amount, spending: true)
            try credit(&target, amount)
            overlay.save(source)
            overlay.save(target)
        case .reversal:
            try move(amount, from: from, to: to, prefund: false)
        case .prefundTopUp:
            guard isCentralBankIssuance(from) else { throw reject(.entryInvalid, .entryAccount) }
            var issuer = overlay.account(from)!
            var target = try gatewayAccount(to)
            try debit(&issuer, amount, spending: false)
            try credit(&target, amount)
            overlay.save(issuer)
            overlay.save(target)
        case .netSettlement:
            guard amount.minorUnits > 0 else { return }
            var source = try gatewayAccount(from)
            guard source.balance(amount.currency).available >= amount.minorUnits else { throw reject(.insufficientFunds) }
            try debit(&source, amount, spending: true)
            var target = overlay.account(to)!
            try credit(&target, amount)
            overlay.save(source)
            overlay.save(target)
        }
    }

    /// From a gateway account (prefund or payable) to a Bakong account that may receive money.
    private mutating func move(_ amount: Amount, from gatewayID: AccountID, to targetID: AccountID, prefund: Bool) throws(Rejection) {
        var source = try gatewayAccount(gatewayID)
        var target = try creditableAccount(targetID)
        guard source.balance(amount.currency).available >= amount.minorUnits else { throw reject(prefund ? .insufficientPrefund : .insufficientFunds) }
        try debit(&source, amount, spending: true)
        try credit(&target, amount)
        overlay.save(source)
        overlay.save(target)
    }

    private mutating func gatewayAccount(_ id: AccountID) throws(Rejection) -> AccountRecord {
        guard let account = overlay.account(id) else { throw reject(.accountNotFound) }
        guard !account.frozen else { throw reject(.accountFrozen) }
        return account
    }

    /// The entry joins its position: totals by kind, the digest chain, the newest entry.
    private func add(_ entry: SettlementEntry, digest: Digest, key: Digest, to position: inout PositionRecord) throws(Rejection) {
        let amount = entry.amount.minorUnits
        func sum(_ a: Int64) throws(Rejection) -> Int64 {
            let (total, overflow) = a.addingReportingOverflow(amount)
            guard !overflow else { throw reject(.amountOverflow) }
            return total
        }
        switch entry.kind {
        case .inwardQRPayment, .inwardRemittance: position.grossInward = try sum(position.grossInward)
        case .outwardQRPayment, .outwardRemittance: position.grossOutward = try sum(position.grossOutward)
        case .refund: position.refunds = try sum(position.refunds)
        case .reversal: position.reversals = try sum(position.reversals)
        case .prefundTopUp: position.topUps = try sum(position.topUps)
        case .netSettlement: position.netSettled = try sum(position.netSettled)
        }
        position.count += 1
        position.entriesDigest = SHA256.hash(position.entriesDigest.bytes + digest.bytes)
        position.last = key
    }
}

/// A gateway's accounts: `prefund@<gateway>` (inward payments consume it; never negative) and
/// `payable@<gateway>` (what the ledger owes the gateway for outward payments).
public enum GatewayAccounts {
    public static func prefund(_ gateway: InstitutionID) -> AccountID { try! AccountID("prefund@\(gateway.text)") }
    public static func payable(_ gateway: InstitutionID) -> AccountID { try! AccountID("payable@\(gateway.text)") }
}

extension SettlementEntry {
    /// The accounts an entry can post to: its Bakong account and the gateway's two.
    public var accountsNamed: [AccountID] { [account, GatewayAccounts.prefund(gateway), GatewayAccounts.payable(gateway)] }

    /// The account debited and the account credited by `amount` (docs/settlement.md, "Entry kinds").
    public var postings: (debit: AccountID, credit: AccountID) {
        let prefund = GatewayAccounts.prefund(gateway), payable = GatewayAccounts.payable(gateway)
        switch kind {
        case .inwardQRPayment, .inwardRemittance: return (prefund, account)
        case .outwardQRPayment, .outwardRemittance: return (account, payable)
        case .refund: return (account, prefund)
        case .reversal: return (payable, account)
        case .prefundTopUp: return (account, prefund)
        case .netSettlement: return (payable, account)
        }
    }
}

extension StateOverlay {
    mutating func settlementRecord(_ key: Digest) -> SettlementRecord? {
        guard let record = record(key) else { return nil }
        guard case .settlement(let settlement) = record else { preconditionFailure("not a settlement record at \(key)") }
        return settlement
    }

    mutating func gatewayConfig(_ id: InstitutionID) -> GatewayConfig? {
        guard let record = record(StateKey.gateway(id)) else { return nil }
        guard case .gateway(let config) = record else { preconditionFailure("not a gateway record for \(id)") }
        return config
    }

    /// The position, or an empty one for a date with no entries yet.
    mutating func position(_ gateway: InstitutionID, _ currency: Currency, _ date: BusinessDate) -> PositionRecord {
        guard let record = record(StateKey.position(gateway, currency, date)) else {
            return PositionRecord(gateway: gateway, currency: currency, businessDate: date)
        }
        guard case .position(let position) = record else { preconditionFailure("not a position record for \(gateway) \(date)") }
        return position
    }
}
