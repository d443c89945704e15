/// A gateway's limits in one ledger currency, in minor units (nil: no limit). The daily caps
/// count gross inward and gross outward payments separately, per business date.
public struct GatewayLimit: Hashable, Sendable, CanonicalCodable {
    public let currency: Currency
    public let perTransactionMax: Int64?
    public let dailyInwardMax: Int64?
    public let dailyOutwardMax: Int64?

    public init(currency: Currency, perTransactionMax: Int64?, dailyInwardMax: Int64?, dailyOutwardMax: Int64?) {
        (self.currency, self.perTransactionMax, self.dailyInwardMax, self.dailyOutwardMax) = (currency, perTransactionMax, dailyInwardMax, dailyOutwardMax)
    }

    public func encode(to writer: inout CanonicalWriter) {
        currency.encode(to: &writer)
        for value in [perTransactionMax, dailyInwardMax, dailyOutwardMax] { writer.optional(value) { w, v in w.i64(v) } }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        currency = try Currency(from: &reader)
        func limit(_ field: String, _ reader: inout CanonicalReader) throws(DecodeError) -> Int64? {
            try reader.optional(field) { (r: inout CanonicalReader) throws(DecodeError) in try r.i64(field) }
        }
        perTransactionMax = try limit("per-transaction max", &reader)
        dailyInwardMax = try limit("daily inward max", &reader)
        dailyOutwardMax = try limit("daily outward max", &reader)
    }
}

/// The central bank's settings for one gateway: when its business date rolls over (milliseconds
/// after midnight ICT; 0 is midnight), its limits per currency (sorted by currency), and how many
/// business days after a payment's own a refund (of an inward one) or a reversal (of an outward
/// one) may still come (nil: no window; 0: the same business date only), and the prefund balance
/// per currency below which nodes raise a low-prefund alert (positive, sorted by currency).
public struct GatewayConfig: Hashable, Sendable, CanonicalCodable {
    public let gateway: InstitutionID
    public let cutoffMilliseconds: UInt32
    public let limits: [GatewayLimit]
    public let refundWindowDays: UInt16?
    public let reversalWindowDays: UInt16?
    public let prefundAlerts: [Amount]

    /// The longest window: ten years of business dates.
    public static let windowDaysMax: UInt16 = 3_660

    public init(gateway: InstitutionID, cutoffMilliseconds: UInt32 = 0, limits: [GatewayLimit] = [], refundWindowDays: UInt16? = nil,
                reversalWindowDays: UInt16? = nil, prefundAlerts: [Amount] = []) throws(DecodeError) {
        guard UInt64(cutoffMilliseconds) < BusinessCalendar.dayMilliseconds else {
            throw .invalidValue(field: "cut-off", reason: "must be less than one day (86400000 ms)")
        }
        guard zip(limits, limits.dropFirst()).allSatisfy({ $0.currency < $1.currency }) else {
            throw .invalidValue(field: "gateway limits", reason: "one per currency, sorted by currency")
        }
        for (field, days) in [("refund window", refundWindowDays), ("reversal window", reversalWindowDays)] where (days ?? 0) > Self.windowDaysMax {
            throw .invalidValue(field: field, reason: "must be at most \(Self.windowDaysMax) days")
        }
        (self.gateway, self.cutoffMilliseconds, self.limits) = (gateway, cutoffMilliseconds, limits)
        guard zip(prefundAlerts, prefundAlerts.dropFirst()).allSatisfy({ $0.currency < $1.currency }) else {
            throw .invalidValue(field: "prefund alerts", reason: "one per currency, sorted by currency")
        }
        guard prefundAlerts.allSatisfy({ $0.minorUnits > 0 }) else { throw .invalidValue(field: "prefund alerts", reason: "must be positive") }
        (self.refundWindowDays, self.reversalWindowDays, self.prefundAlerts) = (refundWindowDays, reversalWindowDays, prefundAlerts)
    }

    /// The low-prefund threshold in `currency`, in minor units, if one is set.
    public func prefundAlert(_ currency: Currency) -> Int64? { prefundAlerts.first { $0.currency == currency }?.minorUnits }

    public func limit(_ currency: Currency) -> GatewayLimit? { limits.first { $0.currency == currency } }

    public func encode(to writer: inout CanonicalWriter) {
        gateway.encode(to: &writer)
        writer.u32(cutoffMilliseconds)
        writer.list(limits)
        writer.optional(refundWindowDays) { w, days in w.u16(days) }
        writer.optional(reversalWindowDays) { w, days in w.u16(days) }
        writer.list(prefundAlerts)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let gateway = try InstitutionID(from: &reader), cutoff = try reader.u32("cut-off")
        let limits = try reader.list("gateway limits", of: GatewayLimit.self, max: Currency.allCases.count)
        let refund = try reader.optional("refund window") { (r: inout CanonicalReader) throws(DecodeError) in try r.u16("refund window") }
        let reversal = try reader.optional("reversal window") { (r: inout CanonicalReader) throws(DecodeError) in try r.u16("reversal window") }
        let alerts = try reader.list("prefund alerts", of: Amount.self, max: Currency.allCases.count)
        try self.init(gateway: gateway, cutoffMilliseconds: cutoff, limits: limits, refundWindowDays: refund, reversalWindowDays: reversal,
                      prefundAlerts: alerts)
    }
}

/// The central bank's reference rate for one currency pair on one business date: `rate` units of
/// `quotedCurrency` per unit of `unitCurrency` (decimal text, as in an FX quote), and the band
/// around it, in basis points, within which a settlement entry's quote for that pair and date
/// must lie (docs/settlement.md, "Reference rates"). One of the two currencies is KHR or USD.
public struct ReferenceRate: Hashable, Sendable, CanonicalCodable {
    public let unitCurrency: String
    public let quotedCurrency: String
    public let businessDate: BusinessDate
    public let rate: String
    public let toleranceBasisPoints: UInt16

    public static let toleranceBasisPointsMax: UInt16 = 10_000

    public init(unitCurrency: String, quotedCurrency: String, businessDate: BusinessDate, rate: String, toleranceBasisPoints: UInt16) throws(DecodeError) {
        try ISOCurrency.checkCode(unitCurrency, field: "unit currency")
        try ISOCurrency.checkCode(quotedCurrency, field: "quoted currency")
        guard unitCurrency != quotedCurrency, [unitCurrency, quotedCurrency].contains(where: { Currency(code: $0) != nil }) else {
            throw .invalidValue(field: "reference rate pair", reason: "two different currencies, one of them KHR or USD")
        }
        guard FXQuote.parse(rate) != nil else {
            throw .invalidValue(field: "reference rate", reason: "must be 1-12 digits, optionally '.' and 1-10 digits, more than zero")
        }
        guard (1...Self.toleranceBasisPointsMax).contains(toleranceBasisPoints) else {
            throw .invalidValue(field: "reference rate tolerance", reason: "must be 1-\(Self.toleranceBasisPointsMax) basis points")
        }
        (self.unitCurrency, self.quotedCurrency, self.businessDate, self.rate) = (unitCurrency, quotedCurrency, businessDate, rate)
        self.toleranceBasisPoints = toleranceBasisPoints
    }

    /// How far `quoted` (an FX quote's rate text for the same pair) lies from this rate, in basis
    /// points of it, rounded down; nil if `quoted` is not a rate.
    public func deviationBasisPoints(_ quoted: String) -> UInt64? {
        guard let (mantissa, scale) = FXQuote.parse(quoted), let reference = FXQuote.parse(rate) else { return nil }
        // Both as integers at 10 decimal places: below 10^22, so the products stay far inside Int128.
        func scaled(_ value: (mantissa: Int128, scale: Int)) -> Int128 {
            var result = value.mantissa
            for _ in value.scale..<10 { result *= 10 }
            return result
        }
        let (a, b) = (scaled((mantissa, scale)), scaled(reference))
        let deviation = (a > b ? a - b : b - a) * 10_000 / b
        return UInt64(clamping: deviation)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.string(unitCurrency)
        writer.string(quotedCurrency)
        businessDate.encode(to: &writer)
        writer.string(rate)
        writer.u16(toleranceBasisPoints)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let unit = try reader.string("unit currency", max: 3), quoted = try reader.string("quoted currency", max: 3)
        let date = try BusinessDate(from: &reader)
        let rate = try reader.string("reference rate", max: 23)
        try self.init(unitCurrency: unit, quotedCurrency: quoted, businessDate: date, rate: rate, toleranceBasisPoints: try reader.u16("tolerance"))
    }
}
