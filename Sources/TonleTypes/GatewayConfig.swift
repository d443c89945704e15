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
