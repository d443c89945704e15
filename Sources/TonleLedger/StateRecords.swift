import TonleCrypto
import TonleTypes

/// One currency's money in an account. `held` is reserved by holds and cannot be spent.
public struct Balance: Hashable, Sendable, CanonicalCodable {
    public let currency: Currency
    public var balance: Int64
    public var held: Int64

    public init(currency: Currency, balance: Int64 = 0, held: Int64 = 0) { (self.currency, self.balance, self.held) = (currency, balance, held) }

    /// What may still be spent.
    public var available: Int64 { balance - held }

    public func encode(to writer: inout CanonicalWriter) {
        currency.encode(to: &writer)
        writer.i64(balance)
        writer.i64(held)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (currency, balance, held) = (try Currency(from: &reader), try reader.i64("balance"), try reader.i64("held"))
    }
}

/// An account's debit limits in one currency, and what it has debited on the current business day.
public struct LimitRecord: Hashable, Sendable, CanonicalCodable {
    public let currency: Currency
    public var perTransactionMax: Int64?
    public var dailyDebitMax: Int64?
    /// Business day (ICT) that `debitedToday` counts.
    public var day: UInt32
    public var debitedToday: Int64

    public init(currency: Currency, perTransactionMax: Int64?, dailyDebitMax: Int64?, day: UInt32 = 0, debitedToday: Int64 = 0) {
        (self.currency, self.perTransactionMax, self.dailyDebitMax, self.day, self.debitedToday) = (currency, perTransactionMax, dailyDebitMax, day, debitedToday)
    }

    public func encode(to writer: inout CanonicalWriter) {
        currency.encode(to: &writer)
        writer.optional(perTransactionMax) { w, v in w.i64(v) }
        writer.optional(dailyDebitMax) { w, v in w.i64(v) }
        writer.u32(day)
        writer.i64(debitedToday)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        currency = try Currency(from: &reader)
        perTransactionMax = try reader.optional("per-transaction max") { (r: inout CanonicalReader) throws(DecodeError) in try r.i64("limit") }
        dailyDebitMax = try reader.optional("daily debit max") { (r: inout CanonicalReader) throws(DecodeError) in try r.i64("limit") }
        (day, debitedToday) = (try reader.u32("day"), try reader.i64("debited today"))
    }
}

/// An account's state: who controls it, its money per currency (sorted by currency), its limits.
public struct AccountRecord: Hashable, Sendable, CanonicalCodable {
    public let id: AccountID
    public var keys: KeySet
    public let flags: AccountFlags
    public var frozen: Bool
    public var balances: [Balance]
    public var limits: [LimitRecord]

    public init(id: AccountID, keys: KeySet, flags: AccountFlags, frozen: Bool = false, balances: [Balance] = [], limits: [LimitRecord] = []) {
        (self.id, self.keys, self.flags, self.frozen, self.balances, self.limits) = (id, keys, flags, frozen, balances, limits)
    }

    public var isIssuance: Bool { flags.contains(.issuance) }

    /// The balance in `currency` (zero if the account has never held it).
    public func balance(_ currency: Currency) -> Balance {
        balances.first { $0.currency == currency } ?? Balance(currency: currency)
    }

    /// Replaces the balance of its currency, keeping the list sorted.
    public mutating func setBalance(_ balance: Balance) {
        if let index = balances.firstIndex(where: { $0.currency == balance.currency }) {
            balances[index] = balance
        } else {
            balances.append(balance)
            balances.sort { $0.currency < $1.currency }
        }
    }

    public func limit(_ currency: Currency) -> LimitRecord? { limits.first { $0.currency == currency } }

    /// Replaces (or with nil removes) the limit of a currency, keeping the list sorted.
    public mutating func setLimit(_ currency: Currency, _ limit: LimitRecord?) {
        limits.removeAll { $0.currency == currency }
        if let limit { limits.append(limit) }
        limits.sort { $0.currency < $1.currency }
    }

    public func encode(to writer: inout CanonicalWriter) {
        id.encode(to: &writer)
        keys.encode(to: &writer)
        flags.encode(to: &writer)
        writer.bool(frozen)
        writer.list(balances)
        writer.list(limits)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        id = try AccountID(from: &reader)
        keys = try KeySet(from: &reader)
        flags = try AccountFlags(from: &reader)
        frozen = try reader.bool("frozen")
        balances = try reader.list("balances", of: Balance.self, max: Currency.allCases.count)
        limits = try reader.list("limits", of: LimitRecord.self, max: Currency.allCases.count)
    }
}

/// Funds of `source` reserved for `target` until posted, voided, or `expiresAt` in block time.
public struct HoldRecord: Hashable, Sendable, CanonicalCodable {
    public let id: ID128
    public let source: AccountID
    public let target: AccountID
    public let amount: Amount
    public let expiresAt: Timestamp

    public init(id: ID128, source: AccountID, target: AccountID, amount: Amount, expiresAt: Timestamp) {
        (self.id, self.source, self.target, self.amount, self.expiresAt) = (id, source, target, amount, expiresAt)
    }

    public func encode(to writer: inout CanonicalWriter) {
        id.encode(to: &writer)
        source.encode(to: &writer)
        target.encode(to: &writer)
        amount.encode(to: &writer)
        expiresAt.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (id, source, target) = (try ID128(from: &reader), try AccountID(from: &reader), try AccountID(from: &reader))
        (amount, expiresAt) = (try Amount(from: &reader), try Timestamp(from: &reader))
    }
}

/// Replay protection by request (docs/data-model.md, "Exactly once"): the first transaction a
/// creator sent under a client id, what a retry must repeat (`TransactionBody.requestDigest`), the
/// latest expiry seen under the id, and the block that lists the record for forgetting. It is
/// forgotten one transaction lifetime after that latest expiry, when no retry made while an
/// attempt was still unexpired can be included any more.
public struct RequestRecord: Hashable, Sendable, CanonicalCodable {
    /// The transaction that ran (applied or rejected); later ones under the id never run.
    public let transaction: TransactionID
    public let requestDigest: Digest
    public var latestExpiry: Timestamp
    public var listedHeight: UInt64

    public init(transaction: TransactionID, requestDigest: Digest, latestExpiry: Timestamp, listedHeight: UInt64) {
        (self.transaction, self.requestDigest, self.latestExpiry, self.listedHeight) = (transaction, requestDigest, latestExpiry, listedHeight)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.bytes32(transaction.digest.raw)
        writer.bytes32(requestDigest.raw)
        latestExpiry.encode(to: &writer)
        writer.u64(listedHeight)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        transaction = TransactionID(Digest(try reader.bytes32("transaction id")))
        requestDigest = Digest(try reader.bytes32("request digest"))
        latestExpiry = try Timestamp(from: &reader)
        listedHeight = try reader.u64("listed height")
    }
}

/// The request records one block listed (first seen, or seen again with a later expiry), and the
/// block's time: two transaction lifetimes later, those still listed by this block are forgotten.
public struct BlockRequestsRecord: Hashable, Sendable, CanonicalCodable {
    public let time: Timestamp
    /// State keys of the request records (`StateKey.request`).
    public let requests: [Digest]

    public init(time: Timestamp, requests: [Digest]) { (self.time, self.requests) = (time, requests) }

    public func encode(to writer: inout CanonicalWriter) {
        time.encode(to: &writer)
        writer.list(requests) { w, key in w.bytes32(key.raw) }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        time = try Timestamp(from: &reader)
        requests = try reader.list("requests", max: Limits.blockTransactionsMax, elementBytesMin: 32) {
            (r: inout CanonicalReader) throws(DecodeError) in Digest(try r.bytes32("request key"))
        }
    }
}

/// The holds that expire in one second of block time, sorted by id.
public struct HoldExpiryRecord: Hashable, Sendable, CanonicalCodable {
    public var holds: [ID128]

    public init(holds: [ID128]) { self.holds = holds }

    public func encode(to writer: inout CanonicalWriter) { writer.list(holds) }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        holds = try reader.list("holds", of: ID128.self, max: Limits.holdsPerExpirySecondMax, elementBytesMin: 16)
    }
}

/// The ledger's own cursors: the last second whose hold expiries were processed, and the next
/// height whose listed request records are still to be looked at for forgetting.
public struct LedgerMeta: Hashable, Sendable, CanonicalCodable {
    public var holdExpirySecondProcessed: UInt64
    public var oldestRememberedHeight: UInt64

    public init(holdExpirySecondProcessed: UInt64, oldestRememberedHeight: UInt64) {
        (self.holdExpirySecondProcessed, self.oldestRememberedHeight) = (holdExpirySecondProcessed, oldestRememberedHeight)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.u64(holdExpirySecondProcessed)
        writer.u64(oldestRememberedHeight)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (holdExpirySecondProcessed, oldestRememberedHeight) = (try reader.u64("expiry cursor"), try reader.u64("oldest remembered height"))
    }
}

/// The validator sets (docs/consensus.md, "Validator changes"): `current` signs the next block,
/// `next` the one after. Adding or removing a validator changes `next`; each block begins by
/// making `next` current. So a change made in block h takes effect at h + 2, and block h + 1's
/// header — still signed by the old set — names the new one in its `nextValidatorsHash`: a light
/// client that trusts one set learns the next from a header that set signed.
public struct ValidatorSchedule: Hashable, Sendable, CanonicalCodable {
    public var current: ValidatorSet
    public var next: ValidatorSet

    public init(current: ValidatorSet, next: ValidatorSet) { (self.current, self.next) = (current, next) }

    public func encode(to writer: inout CanonicalWriter) {
        current.encode(to: &writer)
        next.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (current, next) = (try ValidatorSet(from: &reader), try ValidatorSet(from: &reader))
    }
}

/// Any value in the state map. The encoding is a one-byte record tag, then the record.
///
/// The two large records are boxed (`indirect`): a record is copied in and out of the execution
/// overlay's tables for every read, and unboxed they made every record 265 bytes (an account is 56).
public enum StateRecord: Hashable, Sendable {
    case account(AccountRecord)
    case participant(Participant)
    case hold(HoldRecord)
    case request(RequestRecord)
    case blockRequests(BlockRequestsRecord)
    case holdExpiry(HoldExpiryRecord)
    case meta(LedgerMeta)
    case validators(ValidatorSchedule)
    case gateway(GatewayConfig)
    indirect case settlement(SettlementRecord)
    indirect case position(PositionRecord)
    case khqrPaid(KHQRPaidRecord)
    case uetr(UETRRecord)
    case referenceRate(ReferenceRateRecord)

    public var encoded: [UInt8] {
        var writer = CanonicalWriter()
        switch self {
        case .account(let r): writer.u8(1); r.encode(to: &writer)
        case .participant(let r): writer.u8(2); r.encode(to: &writer)
        case .hold(let r): writer.u8(3); r.encode(to: &writer)
        case .request(let r): writer.u8(4); r.encode(to: &writer)
        case .blockRequests(let r): writer.u8(5); r.encode(to: &writer)
        case .holdExpiry(let r): writer.u8(6); r.encode(to: &writer)
        case .meta(let r): writer.u8(7); r.encode(to: &writer)
        case .validators(let r): writer.u8(8); r.encode(to: &writer)
        case .gateway(let r): writer.u8(9); r.encode(to: &writer)
        case .settlement(let r): writer.u8(10); r.encode(to: &writer)
        case .position(let r): writer.u8(11); r.encode(to: &writer)
        case .khqrPaid(let r): writer.u8(12); r.encode(to: &writer)
        case .uetr(let r): writer.u8(13); r.encode(to: &writer)
        case .referenceRate(let r): writer.u8(14); r.encode(to: &writer)
        }
        return writer.bytes
    }

    public init(encoded bytes: [UInt8]) throws(DecodeError) {
        var reader = CanonicalReader(bytes)
        switch try reader.u8("record") {
        case 1: self = .account(try AccountRecord(from: &reader))
        case 2: self = .participant(try Participant(from: &reader))
        case 3: self = .hold(try HoldRecord(from: &reader))
        case 4: self = .request(try RequestRecord(from: &reader))
        case 5: self = .blockRequests(try BlockRequestsRecord(from: &reader))
        case 6: self = .holdExpiry(try HoldExpiryRecord(from: &reader))
        case 7: self = .meta(try LedgerMeta(from: &reader))
        case 8: self = .validators(try ValidatorSchedule(from: &reader))
        case 9: self = .gateway(try GatewayConfig(from: &reader))
        case 10: self = .settlement(try SettlementRecord(from: &reader))
        case 11: self = .position(try PositionRecord(from: &reader))
        case 12: self = .khqrPaid(try KHQRPaidRecord(from: &reader))
        case 13: self = .uetr(try UETRRecord(from: &reader))
        case 14: self = .referenceRate(try ReferenceRateRecord(from: &reader))
        case let tag: throw .unknownTag(field: "record", tag: UInt64(tag))
        }
        try reader.finish()
    }
}
