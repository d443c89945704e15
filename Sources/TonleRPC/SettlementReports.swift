import Foundation
import TonleCrypto
import TonleLedger
import TonleTypes

/// The committed state as of one block, for a read on the node's own executor.
public struct CommittedState {
    public let reader: any LedgerStateReader
    public let height: UInt64
    /// The block's time: "today" for a gateway is the business date of this time.
    public let time: Timestamp

    public init(reader: any LedgerStateReader, height: UInt64, time: Timestamp) { (self.reader, self.height, self.time) = (reader, height, time) }

    func record(_ key: Digest) -> StateRecord? { reader.stateRecord(key) }
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
        public var closedBy: String?

        enum CodingKeys: String, CodingKey {
            case currency, count, grossInward = "gross_inward", grossOutward = "gross_outward", refunds, reversals, topUps = "top_ups"
            case netSettled = "net_settled", payableDue = "payable_due", netPosition = "net_position", entriesDigest = "entries_digest"
            case closedBy = "closed_by"
        }
    }

    public struct AccountBalance: Codable, Sendable, Equatable {
        public var account: String
        public var currency: String
        public var balance: String
    }

    public var gateway: String
    public var businessDate: String
    public var cutoffMilliseconds: UInt32
    public var height: UInt64
    public var positions: [Position]
    public var balances: [AccountBalance]

    enum CodingKeys: String, CodingKey {
        case gateway, businessDate = "business_date", cutoffMilliseconds = "cutoff_ms", height, positions, balances
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

    enum CodingKeys: String, CodingKey {
        case gateway, reference, referenceClass = "class", kind, amount, currency, account, foreignAmount = "foreign_amount"
        case foreignCurrency = "foreign_currency", fxRate = "fx_rate", original, returned, businessDate = "business_date", height
        case timeMilliseconds = "time_ms", transaction, command, entryDigest = "entry_digest"
    }

    public init(_ record: SettlementRecord) {
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

/// Reads settlement reports out of the committed state (docs/settlement.md#reports).
public enum SettlementReports {
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

    public static func positions(_ state: CommittedState, gateway id: InstitutionID, date: BusinessDate?) throws(APIError) -> GatewayPositionsView {
        let config = try gateway(state, id)
        let date = resolve(state, config, date)
        let positions = Currency.allCases.map { currency in
            let p = position(state, id, currency, date)
            let text = { (minor: Int64) in Amount(minor, currency).decimalString }
            return GatewayPositionsView.Position(
                currency: currency.code, count: p.count, grossInward: text(p.grossInward), grossOutward: text(p.grossOutward),
                refunds: text(p.refunds), reversals: text(p.reversals), topUps: text(p.topUps), netSettled: text(p.netSettled),
                payableDue: text(p.payableDue), netPosition: text(p.netPosition), entriesDigest: p.entriesDigest.hex, closedBy: p.closedBy)
        }
        var balances: [GatewayPositionsView.AccountBalance] = []
        for account in [GatewayAccounts.prefund(id), GatewayAccounts.payable(id)] {
            guard case .account(let record) = state.record(StateKey.account(account)) else { continue }
            for currency in Currency.allCases {
                balances.append(.init(account: account.text, currency: currency.code, balance: Amount(record.balance(currency).balance, currency).decimalString))
            }
        }
        return GatewayPositionsView(
            gateway: id.text, businessDate: date.description, cutoffMilliseconds: config.cutoffMilliseconds, height: state.height,
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

    public static func lookup(_ state: CommittedState, gateway id: InstitutionID, reference: String) throws(APIError) -> SettlementLookupView {
        _ = try gateway(state, id)
        let found = SettlementReferenceClass.allCases.compactMap { referenceClass -> SettlementEntryView? in
            guard case .settlement(let record) = state.record(StateKey.settlement(id, referenceClass, reference)) else { return nil }
            return SettlementEntryView(record)
        }
        guard !found.isEmpty else { throw .notFound("\(id) has recorded no entry with reference \(reference)") }
        return SettlementLookupView(gateway: id.text, reference: reference, entries: found)
    }
}
