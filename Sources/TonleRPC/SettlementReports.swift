import Foundation
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleTypes

/// The committed state as of one block, for a read on the node's own executor.
public struct CommittedState {
    public let reader: any LedgerStateReader
    public let height: UInt64
    /// The block's time: "today" for a gateway is the business date of this time.
    public let time: Timestamp

    /// The state root after block `height`, and the Merkle proof of a key in that state (nil
    /// where proofs cannot be taken).
    public let stateRoot: Digest
    public let prove: ((Bytes32) -> MerkleProof)?

    public init(reader: any LedgerStateReader, height: UInt64, time: Timestamp, stateRoot: Digest = .zero, prove: ((Bytes32) -> MerkleProof)? = nil) {
        (self.reader, self.height, self.time, self.stateRoot, self.prove) = (reader, height, time, stateRoot, prove)
    }

    func record(_ key: Digest) -> StateRecord? { reader.stateRecord(key) }

    /// The proof of `key`'s value (or absence), unanchored; nil when proofs cannot be taken here.
    func proof(_ key: Digest) -> StateProofView? {
        guard let prove else { return nil }
        return StateProofView(height: height, key: key, value: reader.stateValue(for: key), proof: prove(key.raw), stateRoot: stateRoot)
    }
}

/// `GET /v1/gateways/{id}/positions`: a gateway's positions on one business date, and its
/// prefund and payable balances now.
public struct GatewayPositionsView: Codable, Sendable, Equatable {
    public struct Position: Codable, Sendable, Equatable {
        public var currency: String
        public var count: UInt64
        /// Major units as decimal text ("12.50"), like account balances.
        public var grossInward: String
        public var grossOutward: String
        public var refunds: String
        public var reversals: String
        public var topUps: String
        public var netSettled: String
        public var payableDue: String
        public var netPosition: String
        public var entriesDigest: String
        /// The net settlement that closed the date; null while the cycle is open.
        public var closedBy: String?
        /// The same amounts as integers in minor units (riel, cents): parse these.
        public var grossInwardMinor: Int64
        public var grossOutwardMinor: Int64
        public var refundsMinor: Int64
        public var reversalsMinor: Int64
        public var topUpsMinor: Int64
        public var netSettledMinor: Int64
        public var payableDueMinor: Int64
        public var netPositionMinor: Int64
        /// Entries checked against a reference rate that day, and their average deviation from it
        /// in basis points (absent when none was checked).
        public var referenceChecked: UInt64
        public var averageDeviationBasisPoints: UInt64?
        /// With `?proof=true`: the position record's proof (absence: no entry yet on the date).
        public var proof: StateProofView?

        init(_ p: PositionRecord, proof: StateProofView?) {
            let text = { (minor: Int64) in Amount(minor, p.currency).decimalString }
            (currency, count, entriesDigest, closedBy, self.proof) = (p.currency.code, p.count, p.entriesDigest.hex, p.closedBy, proof)
            (grossInward, grossOutward, refunds, reversals) = (text(p.grossInward), text(p.grossOutward), text(p.refunds), text(p.reversals))
            (topUps, netSettled, payableDue, netPosition) = (text(p.topUps), text(p.netSettled), text(p.payableDue), text(p.netPosition))
            (grossInwardMinor, grossOutwardMinor, refundsMinor, reversalsMinor) = (p.grossInward, p.grossOutward, p.refunds, p.reversals)
            (topUpsMinor, netSettledMinor, payableDueMinor, netPositionMinor) = (p.topUps, p.netSettled, p.payableDue, p.netPosition)
            (referenceChecked, averageDeviationBasisPoints) = (p.referenceChecked, p.averageDeviationBasisPoints)
        }

        enum CodingKeys: String, CodingKey {
            case currency, count, grossInward = "gross_inward", grossOutward = "gross_outward", refunds, reversals, topUps = "top_ups"
            case netSettled = "net_settled", payableDue = "payable_due", netPosition = "net_position", entriesDigest = "entries_digest"
            case closedBy = "closed_by", grossInwardMinor = "gross_inward_minor", grossOutwardMinor = "gross_outward_minor"
            case refundsMinor = "refunds_minor", reversalsMinor = "reversals_minor", topUpsMinor = "top_ups_minor"
            case netSettledMinor = "net_settled_minor", payableDueMinor = "payable_due_minor", netPositionMinor = "net_position_minor", proof
            case referenceChecked = "reference_checked", averageDeviationBasisPoints = "average_deviation_bps"
        }

        /// `closed_by` is always present: null while the cycle is open.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(currency, forKey: .currency)
            try c.encode(count, forKey: .count)
            for (value, key) in [(grossInward, CodingKeys.grossInward), (grossOutward, .grossOutward), (refunds, .refunds), (reversals, .reversals),
                                 (topUps, .topUps), (netSettled, .netSettled), (payableDue, .payableDue), (netPosition, .netPosition), (entriesDigest, .entriesDigest)] {
                try c.encode(value, forKey: key)
            }
            try c.encode(closedBy, forKey: .closedBy)
            for (value, key) in [(grossInwardMinor, CodingKeys.grossInwardMinor), (grossOutwardMinor, .grossOutwardMinor), (refundsMinor, .refundsMinor),
                                 (reversalsMinor, .reversalsMinor), (topUpsMinor, .topUpsMinor), (netSettledMinor, .netSettledMinor),
                                 (payableDueMinor, .payableDueMinor), (netPositionMinor, .netPositionMinor)] {
                try c.encode(value, forKey: key)
            }
            try c.encode(referenceChecked, forKey: .referenceChecked)
            try c.encodeIfPresent(averageDeviationBasisPoints, forKey: .averageDeviationBasisPoints)
            try c.encodeIfPresent(proof, forKey: .proof)
        }
    }

    public struct AccountBalance: Codable, Sendable, Equatable {
        public var account: String
        public var currency: String
        public var balance: String
        public var balanceMinor: Int64

        enum CodingKeys: String, CodingKey { case account, currency, balance, balanceMinor = "balance_minor" }
    }

    /// A low-prefund alert threshold of the gateway's configuration.
    public struct PrefundAlert: Codable, Sendable, Equatable {
        public var currency: String
        public var threshold: String
        public var thresholdMinor: Int64

        enum CodingKeys: String, CodingKey { case currency, threshold, thresholdMinor = "threshold_minor" }
    }

    public var gateway: String
    public var businessDate: String
    public var cutoffMilliseconds: UInt32
    /// The gateway's correction windows in business days (absent: none) and alert thresholds.
    public var refundWindowDays: UInt16?
    public var reversalWindowDays: UInt16?
    public var prefundAlerts: [PrefundAlert]
    public var height: UInt64
    public var positions: [Position]
    public var balances: [AccountBalance]

    enum CodingKeys: String, CodingKey {
        case gateway, businessDate = "business_date", cutoffMilliseconds = "cutoff_ms", refundWindowDays = "refund_window_days"
        case reversalWindowDays = "reversal_window_days", prefundAlerts = "prefund_alerts", height, positions, balances
    }
}

/// One settlement entry as the ledger recorded it: a statement row.
public struct SettlementEntryView: Codable, Sendable, Equatable {
    public var gateway: String
    public var reference: String
    public var referenceClass: String
    public var kind: String
    public var amount: String
    public var currency: String
    public var account: String
    public var foreignAmount: String?
    public var foreignCurrency: String?
    public var fxRate: String?
    public var original: String?
    /// Payments: refunded or reversed so far.
    public var returned: String
    public var businessDate: String
    public var height: UInt64
    public var timeMilliseconds: UInt64
    public var transaction: String
    public var command: UInt16
    public var entryDigest: String
    /// The amounts as integers in minor units (the foreign one in its currency's minor units).
    public var amountMinor: Int64
    public var foreignAmountMinor: Int64?
    public var returnedMinor: Int64
    /// ISO 20022 end-to-end reference (a UUID), when the entry carries one.
    public var uetr: String?
    /// The central bank's reference rate the quote was checked against, and the deviation from it.
    public var referenceRate: String?
    public var deviationBasisPoints: UInt16?
    /// With `?proof=true` (`GET /v1/settlements/{gateway}/{reference}`): the entry record's proof.
    public var proof: StateProofView?

    enum CodingKeys: String, CodingKey {
        case gateway, reference, referenceClass = "class", kind, amount, currency, account, foreignAmount = "foreign_amount"
        case foreignCurrency = "foreign_currency", fxRate = "fx_rate", original, returned, businessDate = "business_date", height
        case timeMilliseconds = "time_ms", transaction, command, entryDigest = "entry_digest", amountMinor = "amount_minor"
        case foreignAmountMinor = "foreign_amount_minor", returnedMinor = "returned_minor", uetr, proof
        case referenceRate = "reference_rate", deviationBasisPoints = "deviation_bps"
    }

    public init(_ record: SettlementRecord, proof: StateProofView? = nil) {
        gateway = record.gateway.text
        reference = record.externalReference
        referenceClass = record.kind.referenceClass.name
        kind = record.kind.name
        amount = record.amount.decimalString
        currency = record.amount.currency.code
        account = record.account.text
        foreignAmount = record.foreignAmount?.decimalString
        foreignCurrency = record.foreignAmount?.currency
        fxRate = record.fxRate
        original = record.original
        returned = Amount(record.returned, record.amount.currency).decimalString
        businessDate = record.businessDate.description
        height = record.height
        timeMilliseconds = record.time.millisecondsSinceEpoch
        transaction = record.transaction.digest.hex
        command = record.command
        entryDigest = record.entryDigest.hex
        amountMinor = record.amount.minorUnits
        foreignAmountMinor = record.foreignAmount?.minorUnits
        returnedMinor = record.returned
        uetr = record.uetr?.description
        (referenceRate, deviationBasisPoints) = (record.referenceRate, record.deviationBasisPoints)
        self.proof = proof
    }
}

/// `GET /v1/gateways/{id}/entries`: one page of a business date's entries, newest first.
public struct GatewayEntriesView: Codable, Sendable, Equatable {
    public var gateway: String
    public var currency: String
    public var businessDate: String
    public var entries: [SettlementEntryView]
    /// Pass as `before` for the next (older) page; absent on the last page.
    public var next: String?

    enum CodingKeys: String, CodingKey { case gateway, currency, businessDate = "business_date", entries, next }
}

/// `GET /v1/settlements/{gateway}/{reference}`: the entries recorded under a reference, in each
/// reference class that has one.
public struct SettlementLookupView: Codable, Sendable, Equatable {
    public var gateway: String
    public var reference: String
    public var entries: [SettlementEntryView]
}

/// `GET /v1/reference-rates/{unit}/{quoted}`: the central bank's reference rate of a pair on a
/// business date.
public struct ReferenceRateView: Codable, Sendable, Equatable {
    public var unitCurrency: String
    public var quotedCurrency: String
    public var businessDate: String
    public var rate: String
    public var toleranceBasisPoints: UInt16
    /// The block that published it.
    public var height: UInt64

    public init(_ record: ReferenceRateRecord) {
        (unitCurrency, quotedCurrency, businessDate) = (record.rate.unitCurrency, record.rate.quotedCurrency, record.rate.businessDate.description)
        (rate, toleranceBasisPoints, height) = (record.rate.rate, record.rate.toleranceBasisPoints, record.height)
    }

    enum CodingKeys: String, CodingKey {
        case unitCurrency = "unit_currency", quotedCurrency = "quoted_currency", businessDate = "business_date", rate
        case toleranceBasisPoints = "tolerance_bps", height
    }
}

/// Reads settlement reports out of the committed state (docs/settlement.md#reports).
public enum SettlementReports {
    /// The reference rate of `unit`/`quoted` on `date` (default: today's business date, midnight
    /// cut-off), or 404.
    public static func referenceRate(_ state: CommittedState, unit: String, quoted: String, date: BusinessDate?) throws(APIError) -> ReferenceRateView {
        let day = date ?? BusinessCalendar.date(of: state.time, cutoffMilliseconds: 0)
        guard case .referenceRate(let record) = state.record(StateKey.referenceRate(unit, quoted, day)) else {
            throw .notFound("no reference rate for \(unit)/\(quoted) on \(day) (published ones: tonle admin set-reference-rate)")
        }
        return ReferenceRateView(record)
    }

    static func gateway(_ state: CommittedState, _ id: InstitutionID) throws(APIError) -> GatewayConfig {
        guard case .participant(let participant) = state.record(StateKey.participant(id)), participant.role == .gateway else {
            throw .notFound("\(id) is not a gateway participant")
        }
        if case .gateway(let config) = state.record(StateKey.gateway(id)) { return config }
        return try! GatewayConfig(gateway: id)
    }

    /// The business date asked for, or the gateway's current one.
    static func resolve(_ state: CommittedState, _ config: GatewayConfig, _ date: BusinessDate?) -> BusinessDate {
        date ?? BusinessCalendar.date(of: state.time, cutoffMilliseconds: config.cutoffMilliseconds)
    }

    static func position(_ state: CommittedState, _ gateway: InstitutionID, _ currency: Currency, _ date: BusinessDate) -> PositionRecord {
        guard case .position(let position) = state.record(StateKey.position(gateway, currency, date)) else {
            return PositionRecord(gateway: gateway, currency: currency, businessDate: date)
        }
        return position
    }

    /// With `proof`, each position carries the proof of its record (unanchored: see `anchored`).
    public static func positions(_ state: CommittedState, gateway id: InstitutionID, date: BusinessDate?, proof: Bool = false) throws(APIError) -> GatewayPositionsView {
        let config = try gateway(state, id)
        let date = resolve(state, config, date)
        let positions = Currency.allCases.map { currency in
            let key = StateKey.position(id, currency, date)
            return GatewayPositionsView.Position(position(state, id, currency, date), proof: proof ? state.proof(key) : nil)
        }
        var balances: [GatewayPositionsView.AccountBalance] = []
        for account in [GatewayAccounts.prefund(id), GatewayAccounts.payable(id)] {
            guard case .account(let record) = state.record(StateKey.account(account)) else { continue }
            for currency in Currency.allCases {
                let minor = record.balance(currency).balance
                balances.append(.init(account: account.text, currency: currency.code, balance: Amount(minor, currency).decimalString, balanceMinor: minor))
            }
        }
        return GatewayPositionsView(
            gateway: id.text, businessDate: date.description, cutoffMilliseconds: config.cutoffMilliseconds, refundWindowDays: config.refundWindowDays,
            reversalWindowDays: config.reversalWindowDays,
            prefundAlerts: config.prefundAlerts.map { .init(currency: $0.currency.code, threshold: $0.decimalString, thresholdMinor: $0.minorUnits) },
            height: state.height,
            positions: positions, balances: balances)
    }

    /// Walks the date's chain from the newest entry (or from before `before`, an entry key).
    public static func entries(
        _ state: CommittedState, gateway id: InstitutionID, currency: Currency, date: BusinessDate?, before: Digest?, limit: Int
    ) throws(APIError) -> GatewayEntriesView {
        let config = try gateway(state, id)
        let date = resolve(state, config, date)
        var next: Digest?
        if let before {
            guard case .settlement(let record) = state.record(before), record.gateway == id, record.amount.currency == currency,
                  record.businessDate == date
            else { throw .notFound("no entry \(before.hex) in \(id)'s \(currency.code) statement of \(date): before must be the 'next' of a previous page of it") }
            next = record.previous
        } else {
            next = position(state, id, currency, date).last
        }
        var page: [SettlementEntryView] = []
        var lastKey: Digest?
        while let key = next, page.count < limit {
            guard case .settlement(let record) = state.record(key) else { preconditionFailure("broken entry chain at \(key)") }
            page.append(SettlementEntryView(record))
            (lastKey, next) = (key, record.previous)
        }
        return GatewayEntriesView(gateway: id.text, currency: currency.code, businessDate: date.description, entries: page,
                                  next: next != nil ? lastKey?.hex : nil)
    }

    /// With `proof`, each entry carries the proof of its record (unanchored: see `anchored`).
    public static func lookup(_ state: CommittedState, gateway id: InstitutionID, reference: String, proof: Bool = false) throws(APIError) -> SettlementLookupView {
        _ = try gateway(state, id)
        let found = SettlementReferenceClass.allCases.compactMap { referenceClass -> SettlementEntryView? in
            let key = StateKey.settlement(id, referenceClass, reference)
            guard case .settlement(let record) = state.record(key) else { return nil }
            return SettlementEntryView(record, proof: proof ? state.proof(key) : nil)
        }
        guard !found.isEmpty else { throw .notFound("\(id) has recorded no entry with reference \(reference)") }
        return SettlementLookupView(gateway: id.text, reference: reference, entries: found)
    }
}

extension GatewayPositionsView {
    /// Every position's proof anchored to `anchor` (block `height + 1`).
    func anchored(_ anchor: StateAnchor) -> Self {
        var view = self
        for index in view.positions.indices { view.positions[index].proof?.anchor(anchor) }
        return view
    }
}

extension SettlementLookupView {
    func anchored(_ anchor: StateAnchor) -> Self {
        var view = self
        for index in view.entries.indices { view.entries[index].proof?.anchor(anchor) }
        return view
    }

    /// The state height the entries were read at (all the same), if any carries a proof.
    var proofHeight: UInt64? { entries.first?.proof?.height }
}
