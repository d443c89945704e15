import TonleCrypto
import TonleTypes

/// A settlement entry the ledger applied, under its idempotency key (gateway, reference class,
/// external reference) for ever: what a statement row shows, and what later entries check
/// against (a repeated reference, a refund's original).
public struct SettlementRecord: Hashable, Sendable, CanonicalCodable {
    public let kind: SettlementKind
    public let gateway: InstitutionID
    public let externalReference: String
    public let account: AccountID
    public let amount: Amount
    public let foreignAmount: ForeignAmount?
    public let fxRate: String?
    public let original: String?
    /// SHA-256 of the entry's encoding: a repeat with another digest is a mismatch.
    public let entryDigest: Digest
    public let transaction: TransactionID
    public let height: UInt64
    public let command: UInt16
    public let time: Timestamp
    public let businessDate: BusinessDate
    /// Payments: how much has been refunded or reversed against this entry so far.
    public var returned: Int64
    /// The state key of the gateway's previous entry in the same currency and business date.
    public let previous: Digest?
    public let uetr: UETR?
    /// The central bank's reference rate the entry's quote was checked against, and how far the
    /// quote lay from it (basis points); nil where none was published for the pair and date.
    public let referenceRate: String?
    public let deviationBasisPoints: UInt16?

    public init(
        kind: SettlementKind, gateway: InstitutionID, externalReference: String, account: AccountID, amount: Amount,
        foreignAmount: ForeignAmount?, fxRate: String?, original: String?, entryDigest: Digest, transaction: TransactionID, height: UInt64,
        command: UInt16, time: Timestamp, businessDate: BusinessDate, returned: Int64, previous: Digest?, uetr: UETR? = nil,
        referenceRate: String? = nil, deviationBasisPoints: UInt16? = nil
    ) {
        (self.kind, self.gateway, self.externalReference, self.account, self.amount) = (kind, gateway, externalReference, account, amount)
        (self.foreignAmount, self.fxRate, self.original, self.entryDigest) = (foreignAmount, fxRate, original, entryDigest)
        (self.transaction, self.height, self.command, self.time) = (transaction, height, command, time)
        (self.businessDate, self.returned, self.previous, self.uetr) = (businessDate, returned, previous, uetr)
        (self.referenceRate, self.deviationBasisPoints) = (referenceRate, deviationBasisPoints)
    }

    public func encode(to writer: inout CanonicalWriter) {
        kind.encode(to: &writer)
        gateway.encode(to: &writer)
        writer.string(externalReference)
        account.encode(to: &writer)
        amount.encode(to: &writer)
        writer.optional(foreignAmount) { w, v in v.encode(to: &w) }
        writer.optional(fxRate) { w, v in w.string(v) }
        writer.optional(original) { w, v in w.string(v) }
        writer.bytes32(entryDigest.raw)
        writer.bytes32(transaction.digest.raw)
        writer.u64(height)
        writer.u16(command)
        time.encode(to: &writer)
        businessDate.encode(to: &writer)
        writer.i64(returned)
        writer.optional(previous) { w, v in w.bytes32(v.raw) }
        writer.optional(uetr) { w, v in v.encode(to: &w) }
        writer.optional(referenceRate) { w, v in w.string(v) }
        writer.optional(deviationBasisPoints) { w, v in w.u16(v) }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (kind, gateway) = (try SettlementKind(from: &reader), try InstitutionID(from: &reader))
        externalReference = try reader.string("external reference", max: Limits.externalReferenceBytesMax)
        (account, amount) = (try AccountID(from: &reader), try Amount(from: &reader))
        foreignAmount = try reader.optional("foreign amount") { (r: inout CanonicalReader) throws(DecodeError) in try ForeignAmount(from: &r) }
        fxRate = try reader.optional("fx rate") { (r: inout CanonicalReader) throws(DecodeError) in try r.string("fx rate", max: 23) }
        original = try reader.optional("original") { (r: inout CanonicalReader) throws(DecodeError) in
            try r.string("original", max: Limits.externalReferenceBytesMax)
        }
        entryDigest = Digest(try reader.bytes32("entry digest"))
        transaction = TransactionID(Digest(try reader.bytes32("transaction")))
        (height, command, time) = (try reader.u64("height"), try reader.u16("command"), try Timestamp(from: &reader))
        (businessDate, returned) = (try BusinessDate(from: &reader), try reader.i64("returned"))
        previous = try reader.optional("previous") { (r: inout CanonicalReader) throws(DecodeError) in Digest(try r.bytes32("previous")) }
        uetr = try reader.optional("uetr") { (r: inout CanonicalReader) throws(DecodeError) in try UETR(from: &r) }
        referenceRate = try reader.optional("reference rate") { (r: inout CanonicalReader) throws(DecodeError) in try r.string("reference rate", max: 23) }
        deviationBasisPoints = try reader.optional("deviation") { (r: inout CanonicalReader) throws(DecodeError) in try r.u16("deviation") }
    }
}

/// A gateway's position in one currency on one business date: gross totals by kind, the entries
/// digest (SHA-256 chained over each entry's digest, in ledger order), the newest entry, and,
/// once a net settlement has closed it, that settlement's reference.
public struct PositionRecord: Hashable, Sendable, CanonicalCodable {
    public let gateway: InstitutionID
    public let currency: Currency
    public let businessDate: BusinessDate
    public var count: UInt64 = 0
    public var grossInward: Int64 = 0
    public var grossOutward: Int64 = 0
    public var refunds: Int64 = 0
    public var reversals: Int64 = 0
    public var topUps: Int64 = 0
    public var netSettled: Int64 = 0
    public var entriesDigest: Digest = .zero
    public var last: Digest?
    public var closedBy: String?
    /// Entries checked against a reference rate, and the sum of their deviations (basis points).
    public var referenceChecked: UInt64 = 0
    public var deviationBasisPointsSum: UInt64 = 0

    public init(gateway: InstitutionID, currency: Currency, businessDate: BusinessDate) {
        (self.gateway, self.currency, self.businessDate) = (gateway, currency, businessDate)
    }

    /// What the ledger owes the gateway for this date's outward payments, net of reversals: what
    /// the net settlement closing the date moves out of the payable account.
    public var payableDue: Int64 { grossOutward - reversals }
    /// The gateway's net position for the date, from its side: positive when the ledger owes it.
    /// Inward payments (net of refunds) were paid from its prefund, outward ones are owed to it.
    public var netPosition: Int64 { (grossOutward - reversals) - (grossInward - refunds) }

    /// The average deviation of the day's checked quotes from the reference rates, in basis points
    /// (rounded down); nil when none was checked.
    public var averageDeviationBasisPoints: UInt64? { referenceChecked == 0 ? nil : deviationBasisPointsSum / referenceChecked }

    /// The statement a net settlement must carry to close this position.
    public var statement: CycleStatement {
        CycleStatement(
            businessDate: businessDate, count: count, grossInward: grossInward, grossOutward: grossOutward, refunds: refunds,
            reversals: reversals, topUps: topUps, netSettled: netSettled, entriesDigest: entriesDigest)
    }

    public func encode(to writer: inout CanonicalWriter) {
        gateway.encode(to: &writer)
        currency.encode(to: &writer)
        businessDate.encode(to: &writer)
        writer.u64(count)
        for value in [grossInward, grossOutward, refunds, reversals, topUps, netSettled] { writer.i64(value) }
        writer.bytes32(entriesDigest.raw)
        writer.optional(last) { w, v in w.bytes32(v.raw) }
        writer.optional(closedBy) { w, v in w.string(v) }
        writer.u64(referenceChecked)
        writer.u64(deviationBasisPointsSum)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (gateway, currency, businessDate) = (try InstitutionID(from: &reader), try Currency(from: &reader), try BusinessDate(from: &reader))
        count = try reader.u64("count")
        (grossInward, grossOutward, refunds) = (try reader.i64("gross inward"), try reader.i64("gross outward"), try reader.i64("refunds"))
        (reversals, topUps, netSettled) = (try reader.i64("reversals"), try reader.i64("top-ups"), try reader.i64("net settled"))
        entriesDigest = Digest(try reader.bytes32("entries digest"))
        last = try reader.optional("last") { (r: inout CanonicalReader) throws(DecodeError) in Digest(try r.bytes32("last")) }
        closedBy = try reader.optional("closed by") { (r: inout CanonicalReader) throws(DecodeError) in
            try r.string("closed by", max: Limits.externalReferenceBytesMax)
        }
        (referenceChecked, deviationBasisPointsSum) = (try reader.u64("reference checked"), try reader.u64("deviation sum"))
    }
}

/// A dynamic KHQR that has been paid: by which gateway, under which reference.
/// A published reference rate (under `StateKey.referenceRate`), and the block that published it.
public struct ReferenceRateRecord: Hashable, Sendable, CanonicalCodable {
    public let rate: ReferenceRate
    public let height: UInt64

    public init(rate: ReferenceRate, height: UInt64) { (self.rate, self.height) = (rate, height) }

    public func encode(to writer: inout CanonicalWriter) {
        rate.encode(to: &writer)
        writer.u64(height)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) { (rate, height) = (try ReferenceRate(from: &reader), try reader.u64("height")) }
}

/// The entry that used a UETR (under `StateKey.uetr`): its gateway, class and reference.
public struct UETRRecord: Hashable, Sendable, CanonicalCodable {
    public let gateway: InstitutionID
    public let referenceClass: SettlementReferenceClass
    public let externalReference: String

    public init(gateway: InstitutionID, referenceClass: SettlementReferenceClass, externalReference: String) {
        (self.gateway, self.referenceClass, self.externalReference) = (gateway, referenceClass, externalReference)
    }

    public func encode(to writer: inout CanonicalWriter) {
        gateway.encode(to: &writer)
        referenceClass.encode(to: &writer)
        writer.string(externalReference)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        gateway = try InstitutionID(from: &reader)
        referenceClass = try SettlementReferenceClass(from: &reader)
        externalReference = try reader.string("external reference", max: Limits.externalReferenceBytesMax)
    }
}

public struct KHQRPaidRecord: Hashable, Sendable, CanonicalCodable {
    public let gateway: InstitutionID
    public let externalReference: String

    public init(gateway: InstitutionID, externalReference: String) { (self.gateway, self.externalReference) = (gateway, externalReference) }

    public func encode(to writer: inout CanonicalWriter) {
        gateway.encode(to: &writer)
        writer.string(externalReference)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        gateway = try InstitutionID(from: &reader)
        externalReference = try reader.string("external reference", max: Limits.externalReferenceBytesMax)
    }
}
