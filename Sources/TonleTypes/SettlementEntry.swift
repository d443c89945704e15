import TonleCrypto

/// The kinds of cross-border settlement entry (DESIGN §6, docs/settlement.md). The raw values are
/// the encoding.
public enum SettlementKind: UInt8, Sendable, CaseIterable, CanonicalByteEnum {
    case inwardQRPayment = 1
    case outwardQRPayment = 2
    case inwardRemittance = 3
    case outwardRemittance = 4
    case refund = 5
    case reversal = 6
    case prefundTopUp = 7
    case netSettlement = 8

    public static let fieldName = "settlement kind"

    /// The namespace an external reference is unique in, with the gateway.
    public var referenceClass: SettlementReferenceClass {
        switch self {
        case .inwardQRPayment, .outwardQRPayment, .inwardRemittance, .outwardRemittance: .payment
        case .refund, .reversal: .correction
        case .prefundTopUp, .netSettlement: .funding
        }
    }

    /// Money comes into Cambodia: the gateway's prefund pays a Bakong account.
    public var isInward: Bool { self == .inwardQRPayment || self == .inwardRemittance }
    /// Money leaves Cambodia: a Bakong account pays the gateway's payable.
    public var isOutward: Bool { self == .outwardQRPayment || self == .outwardRemittance }

    /// The stable name: `INWARD_QR_PAYMENT`.
    public var name: String {
        switch self {
        case .inwardQRPayment: "INWARD_QR_PAYMENT"
        case .outwardQRPayment: "OUTWARD_QR_PAYMENT"
        case .inwardRemittance: "INWARD_REMITTANCE"
        case .outwardRemittance: "OUTWARD_REMITTANCE"
        case .refund: "REFUND"
        case .reversal: "REVERSAL"
        case .prefundTopUp: "PREFUND_TOPUP"
        case .netSettlement: "NET_SETTLEMENT"
        }
    }

    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }
}

/// Payments, corrections (refunds and reversals) and funding (top-ups and net settlements) each
/// have their own external-reference namespace per gateway.
public enum SettlementReferenceClass: UInt8, Sendable, CaseIterable, CanonicalByteEnum {
    case payment = 1
    case correction = 2
    case funding = 3

    public static let fieldName = "reference class"

    public var name: String {
        switch self {
        case .payment: "payment"
        case .correction: "correction"
        case .funding: "funding"
        }
    }
}

/// How an FX conversion rounds the exact quotient to a minor unit.
public enum FXRounding: UInt8, Sendable, CaseIterable, CanonicalByteEnum {
    case halfEven = 1
    case halfUp = 2
    case down = 3

    public static let fieldName = "fx rounding"

    public var name: String {
        switch self {
        case .halfEven: "HALF_EVEN"
        case .halfUp: "HALF_UP"
        case .down: "DOWN"
        }
    }

    public init?(name: String) {
        guard let mode = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = mode
    }
}

/// An amount in any ISO 4217 currency: the foreign leg of a settlement entry, information only.
public struct ForeignAmount: Hashable, Sendable, CanonicalCodable {
    /// ISO 4217 letters, e.g. `CNY`.
    public let currency: String
    public let minorUnits: Int64

    public init(currency: String, minorUnits: Int64) throws(DecodeError) {
        try ISOCurrency.checkCode(currency, field: "foreign currency")
        (self.currency, self.minorUnits) = (currency, minorUnits)
    }

    /// Major units as decimal text, with the currency's ISO 4217 exponent (0 if unknown).
    public var decimalString: String { DecimalText.format(minorUnits, exponent: ISOCurrency.exponent(currency) ?? 0) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.string(currency)
        writer.i64(minorUnits)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try self.init(currency: reader.string("foreign currency", max: 3), minorUnits: reader.i64("foreign amount"))
    }
}

/// ISO 4217 minor-unit exponents for the currencies settlement entries may name.
public enum ISOCurrency {
    /// Letters → digits after the point. Ledger currencies use `Currency.exponent` (KHR is 0 here,
    /// as KHQR requires, although ISO 4217 lists 2).
    public static let exponents: [String: Int] = [
        "KHR": 0, "USD": 2, "CNY": 2, "HKD": 2, "THB": 2, "VND": 0, "LAK": 2, "MYR": 2, "SGD": 2, "KRW": 0, "JPY": 0,
        "PHP": 2, "IDR": 2, "TWD": 2, "MOP": 2, "EUR": 2, "GBP": 2, "AUD": 2, "INR": 2, "MMK": 2,
    ]

    public static func exponent(_ code: String) -> Int? { exponents[code] }

    static func checkCode(_ code: String, field: String) throws(DecodeError) {
        guard code.utf8.count == 3, code.utf8.allSatisfy({ (65...90).contains($0) }) else {
            throw .invalidValue(field: field, reason: "must be three upper-case ISO 4217 letters")
        }
    }
}

/// An FX rate: `rate` units of `quotedCurrency` per one unit of `unitCurrency` (ISO 20022
/// `XchgRate` with `UnitCcy`/`QtdCcy`), as a decimal string, with the rounding the quote promises
/// and its validity in time. The ledger recomputes the quoted-currency amount from the
/// unit-currency amount with integer arithmetic (`convert`) and requires an exact match.
public struct FXQuote: Hashable, Sendable, CanonicalCodable {
    public let quoteID: String
    public let unitCurrency: String
    public let quotedCurrency: String
    /// Decimal text: 1–12 digits, optionally a point and 1–10 digits; more than zero.
    public let rate: String
    public let rounding: FXRounding
    public let quotedAt: Timestamp
    public let expiresAt: Timestamp

    public static let quoteIDBytesMax = 64

    public init(
        quoteID: String, unitCurrency: String, quotedCurrency: String, rate: String, rounding: FXRounding, quotedAt: Timestamp,
        expiresAt: Timestamp
    ) throws(DecodeError) {
        try TextRules.check(quoteID, field: "quote id", max: Self.quoteIDBytesMax)
        try ISOCurrency.checkCode(unitCurrency, field: "unit currency")
        try ISOCurrency.checkCode(quotedCurrency, field: "quoted currency")
        guard Self.parse(rate) != nil else {
            throw .invalidValue(field: "fx rate", reason: "must be 1-12 digits, optionally '.' and 1-10 digits, more than zero")
        }
        (self.quoteID, self.unitCurrency, self.quotedCurrency, self.rate) = (quoteID, unitCurrency, quotedCurrency, rate)
        (self.rounding, self.quotedAt, self.expiresAt) = (rounding, quotedAt, expiresAt)
    }

    /// The rate as `mantissa / 10^scale`, or nil if the text is not a rate.
    public static func parse(_ text: String) -> (mantissa: Int128, scale: Int)? {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), (1...12).contains(parts[0].count) else { return nil }
        let fraction = parts.count == 2 ? Array(parts[1]) : []
        guard parts.count == 1 || (1...10).contains(fraction.count) else { return nil }
        var mantissa: Int128 = 0
        for digit in Array(parts[0]) + fraction {
            guard (48...57).contains(digit) else { return nil }
            mantissa = mantissa * 10 + Int128(digit - 48)
        }
        return mantissa > 0 ? (mantissa, fraction.count) : nil
    }

    /// round(`amount` × rate), from minor units with exponent `from` to minor units with exponent
    /// `to`, exactly, in 128-bit integers; nil on overflow.
    public func convert(_ amount: Int64, fromExponent from: Int, toExponent to: Int) -> Int64? {
        guard let (mantissa, scale) = Self.parse(rate), amount >= 0 else { return nil }
        // amount × mantissa × 10^(to − from) / 10^scale
        var numerator = Int128(amount).multipliedReportingOverflow(by: mantissa)
        guard !numerator.overflow else { return nil }
        var denominator = Int128(1)
        for _ in 0..<scale { denominator *= 10 }
        if to >= from {
            for _ in 0..<(to - from) {
                numerator = numerator.partialValue.multipliedReportingOverflow(by: 10)
                guard !numerator.overflow else { return nil }
            }
        } else {
            for _ in 0..<(from - to) { denominator *= 10 }
        }
        let (quotient, remainder) = numerator.partialValue.quotientAndRemainder(dividingBy: denominator)
        var result = quotient
        switch rounding {
        case .down: break
        case .halfUp: if remainder * 2 >= denominator { result += 1 }
        case .halfEven: if remainder * 2 > denominator || (remainder * 2 == denominator && quotient % 2 == 1) { result += 1 }
        }
        return result <= Int128(Int64.max) ? Int64(result) : nil
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.string(quoteID)
        writer.string(unitCurrency)
        writer.string(quotedCurrency)
        writer.string(rate)
        rounding.encode(to: &writer)
        quotedAt.encode(to: &writer)
        expiresAt.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try self.init(
            quoteID: reader.string("quote id", max: Self.quoteIDBytesMax), unitCurrency: reader.string("unit currency", max: 3),
            quotedCurrency: reader.string("quoted currency", max: 3), rate: reader.string("fx rate", max: 23),
            rounding: FXRounding(from: &reader), quotedAt: Timestamp(from: &reader), expiresAt: Timestamp(from: &reader))
    }
}

/// What a net settlement states about the cycle it closes: the business date, and the totals
/// and entries digest of the gateway's position in that currency on that date. The ledger closes
/// the cycle only if they equal its own.
public struct CycleStatement: Hashable, Sendable, CanonicalCodable {
    public let businessDate: BusinessDate
    public let count: UInt64
    public let grossInward: Int64
    public let grossOutward: Int64
    public let refunds: Int64
    public let reversals: Int64
    public let topUps: Int64
    public let netSettled: Int64
    public let entriesDigest: Digest

    public init(
        businessDate: BusinessDate, count: UInt64, grossInward: Int64, grossOutward: Int64, refunds: Int64, reversals: Int64,
        topUps: Int64, netSettled: Int64, entriesDigest: Digest
    ) {
        (self.businessDate, self.count, self.grossInward, self.grossOutward) = (businessDate, count, grossInward, grossOutward)
        (self.refunds, self.reversals, self.topUps, self.netSettled, self.entriesDigest) = (refunds, reversals, topUps, netSettled, entriesDigest)
    }

    public func encode(to writer: inout CanonicalWriter) {
        businessDate.encode(to: &writer)
        writer.u64(count)
        for value in [grossInward, grossOutward, refunds, reversals, topUps, netSettled] { writer.i64(value) }
        writer.bytes32(entriesDigest.raw)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (businessDate, count) = (try BusinessDate(from: &reader), try reader.u64("count"))
        (grossInward, grossOutward, refunds) = (try reader.i64("gross inward"), try reader.i64("gross outward"), try reader.i64("refunds"))
        (reversals, topUps, netSettled) = (try reader.i64("reversals"), try reader.i64("top-ups"), try reader.i64("net settled"))
        entriesDigest = Digest(try reader.bytes32("entries digest"))
    }
}

/// A cross-border settlement entry (DESIGN §6, docs/settlement.md): immutable, signed as part of
/// its transaction. Its postings follow from the kind; `account` is the Bakong side of them.
public struct SettlementEntry: Hashable, Sendable, CanonicalCodable {
    public var kind: SettlementKind
    public var gateway: InstitutionID
    /// The gateway's own reference: with the gateway and the kind's class, unique forever.
    /// 1–64 of `A-Z a-z 0-9 . _ : -`.
    public var externalReference: String
    /// The only amount that moves, in KHR or USD.
    public var amount: Amount
    /// The Bakong account: credited by inward payments and reversals; debited by outward
    /// payments and refunds; the central bank's issuance account a top-up is issued from; for a
    /// net settlement, the account paid (the gateway's prefund, or an issuance account when paid
    /// out by wire).
    public var account: AccountID
    /// Refunds and reversals: the original payment's external reference.
    public var original: String?
    /// The foreign leg (information only), and the quote that converts between the two.
    public var foreignAmount: ForeignAmount?
    public var fx: FXQuote?
    /// The foreign party: a masked wallet id or name, and its ISO 3166 country (information only).
    public var counterparty: String?
    public var counterpartyCountry: String?
    /// Inward QR payments: the KHQR payload the tourist scanned.
    public var khqrPayload: String?
    /// ISO 20022 category purpose: MP2B for QR purchases, GP2P for remittances, ...
    public var purposeCode: String?
    /// ISO 20022's end-to-end reference across every system the payment crosses; unique on the
    /// ledger when present.
    public var uetr: UETR?
    /// Net settlements: the cycle closed, as the central bank and the gateway agreed it.
    public var cycle: CycleStatement?

    public static let counterpartyBytesMax = 64

    public init(
        kind: SettlementKind, gateway: InstitutionID, externalReference: String, amount: Amount, account: AccountID,
        original: String? = nil, foreignAmount: ForeignAmount? = nil, fx: FXQuote? = nil, counterparty: String? = nil,
        counterpartyCountry: String? = nil, khqrPayload: String? = nil, purposeCode: String? = nil, cycle: CycleStatement? = nil,
        uetr: UETR? = nil
    ) throws(DecodeError) {
        try Self.checkReference(externalReference, field: "external reference")
        if let original { try Self.checkReference(original, field: "original reference") }
        if let counterparty { try TextRules.check(counterparty, field: "counterparty", max: Self.counterpartyBytesMax) }
        if let counterpartyCountry, counterpartyCountry.utf8.count != 2 || !counterpartyCountry.utf8.allSatisfy({ (65...90).contains($0) }) {
            throw .invalidValue(field: "counterparty country", reason: "must be two upper-case ISO 3166 letters")
        }
        if let khqrPayload { try TextRules.check(khqrPayload, field: "khqr payload", max: Limits.khqrPayloadBytesMax) }
        if let purposeCode { try TextRules.check(purposeCode, field: "purpose code", max: Limits.purposeCodeBytesMax) }
        (self.kind, self.gateway, self.externalReference, self.amount, self.account) = (kind, gateway, externalReference, amount, account)
        (self.original, self.foreignAmount, self.fx, self.counterparty) = (original, foreignAmount, fx, counterparty)
        (self.counterpartyCountry, self.khqrPayload, self.purposeCode, self.cycle) = (counterpartyCountry, khqrPayload, purposeCode, cycle)
        self.uetr = uetr
    }

    /// 1–64 of `A-Z a-z 0-9 . _ : -`.
    public static func isValidReference(_ text: String) -> Bool { (try? checkReference(text, field: "reference")) != nil }

    static func checkReference(_ text: String, field: String) throws(DecodeError) {
        guard (1...Limits.externalReferenceBytesMax).contains(text.utf8.count) else {
            throw .invalidValue(field: field, reason: "must be 1-\(Limits.externalReferenceBytesMax) characters")
        }
        let allowed: Set<UInt8> = [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-")]
        guard text.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || allowed.contains($0) }) else {
            throw .invalidValue(field: field, reason: "may contain only A-Z a-z 0-9 . _ : -")
        }
    }

    /// SHA-256 of the entry's encoding: what "the same body" means for a repeated reference.
    public var digest: Digest {
        var writer = CanonicalWriter()
        encode(to: &writer)
        return SHA256.hash(writer.bytes)
    }

    public func encode(to writer: inout CanonicalWriter) {
        kind.encode(to: &writer)
        gateway.encode(to: &writer)
        writer.string(externalReference)
        amount.encode(to: &writer)
        account.encode(to: &writer)
        writer.optional(original) { w, text in w.string(text) }
        writer.optional(foreignAmount) { w, value in value.encode(to: &w) }
        writer.optional(fx) { w, value in value.encode(to: &w) }
        writer.optional(counterparty) { w, text in w.string(text) }
        writer.optional(counterpartyCountry) { w, text in w.string(text) }
        writer.optional(khqrPayload) { w, text in w.string(text) }
        writer.optional(purposeCode) { w, text in w.string(text) }
        writer.optional(cycle) { w, value in value.encode(to: &w) }
        writer.optional(uetr) { w, value in value.encode(to: &w) }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let (kind, gateway) = (try SettlementKind(from: &reader), try InstitutionID(from: &reader))
        let reference = try reader.string("external reference", max: Limits.externalReferenceBytesMax)
        let (amount, account) = (try Amount(from: &reader), try AccountID(from: &reader))
        func text(_ field: String, _ max: Int, _ reader: inout CanonicalReader) throws(DecodeError) -> String? {
            try reader.optional(field) { (r: inout CanonicalReader) throws(DecodeError) in try r.string(field, max: max) }
        }
        let original = try text("original reference", Limits.externalReferenceBytesMax, &reader)
        let foreign = try reader.optional("foreign amount") { (r: inout CanonicalReader) throws(DecodeError) in try ForeignAmount(from: &r) }
        let fx = try reader.optional("fx quote") { (r: inout CanonicalReader) throws(DecodeError) in try FXQuote(from: &r) }
        let counterparty = try text("counterparty", Self.counterpartyBytesMax, &reader)
        let country = try text("counterparty country", 2, &reader)
        let khqr = try text("khqr payload", Limits.khqrPayloadBytesMax, &reader)
        let purpose = try text("purpose code", Limits.purposeCodeBytesMax, &reader)
        let cycle = try reader.optional("cycle") { (r: inout CanonicalReader) throws(DecodeError) in try CycleStatement(from: &r) }
        let uetr = try reader.optional("uetr") { (r: inout CanonicalReader) throws(DecodeError) in try UETR(from: &r) }
        try self.init(
            kind: kind, gateway: gateway, externalReference: reference, amount: amount, account: account, original: original,
            foreignAmount: foreign, fx: fx, counterparty: counterparty, counterpartyCountry: country, khqrPayload: khqr,
            purposeCode: purpose, cycle: cycle, uetr: uetr)
    }
}

/// ISO 20022's Unique End-to-end Transaction Reference: a version 4 UUID (RFC 4122 variant),
/// written as 8-4-4-4-12 lower-case hexadecimal digits. Sixteen bytes in the encoding.
public struct UETR: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public let id: ID128

    /// The version and variant bits of a version 4 UUID, or a decode error.
    public init(_ id: ID128) throws(DecodeError) {
        let bytes = id.bytes
        guard bytes[6] >> 4 == 4, bytes[8] & 0xC0 == 0x80 else {
            throw .invalidValue(field: "uetr", reason: "must be a version 4 UUID (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)")
        }
        self.id = id
    }

    /// `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`, upper or lower case.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36, [8, 13, 18, 23].allSatisfy({ utf8[$0] == UInt8(ascii: "-") }),
              let id = ID128(hex: String(decoding: utf8.filter { $0 != UInt8(ascii: "-") }, as: UTF8.self).lowercased()), let uetr = try? UETR(id)
        else { return nil }
        self = uetr
    }

    public var description: String {
        let hex = Array(id.description)
        return [hex[0..<8], hex[8..<12], hex[12..<16], hex[16..<20], hex[20..<32]].map { String($0) }.joined(separator: "-")
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.id < rhs.id }
    public func encode(to writer: inout CanonicalWriter) { id.encode(to: &writer) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) { try self.init(try ID128(from: &reader)) }
}

/// A business date: days since 1970-01-01, written `YYYY-MM-DD`. Which date an instant belongs to
/// depends on the time zone (ICT, UTC+7) and the cut-off (`BusinessCalendar`).
public struct BusinessDate: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public let day: UInt32

    public init(day: UInt32) { self.day = day }

    /// Parses `YYYY-MM-DD` (years 1970–9999).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { (48...57).contains($0) } }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), y >= 1970, (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        let days = Self.daysFromCivil(y, m, d)
        self.init(day: UInt32(days))
        guard description == text else { return nil }  // 2026-02-30 and the like
    }

    public var description: String {
        let (y, m, d) = Self.civil(fromDays: Int(day))
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.day < rhs.day }

    public func encode(to writer: inout CanonicalWriter) { writer.u32(day) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) { day = try reader.u32("business date") }

    // Howard Hinnant's civil-calendar algorithms (proleptic Gregorian), for days since 1970-01-01.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// Business dates in Cambodia: ICT (UTC+7), rolling over at `cutoffMilliseconds` after local
/// midnight (0: at midnight). An instant at or after the cut-off belongs to the next date.
public enum BusinessCalendar {
    public static let offsetMilliseconds: UInt64 = 7 * 3_600_000
    public static let dayMilliseconds: UInt64 = 86_400_000

    public static func date(of time: Timestamp, cutoffMilliseconds cutoff: UInt32) -> BusinessDate {
        let local = time.millisecondsSinceEpoch + offsetMilliseconds
        guard cutoff > 0 else { return BusinessDate(day: UInt32(local / dayMilliseconds)) }
        let shifted = local + dayMilliseconds - UInt64(cutoff)
        return BusinessDate(day: UInt32(shifted / dayMilliseconds))
    }
}
