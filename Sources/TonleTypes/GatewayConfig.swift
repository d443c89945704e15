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
/// after midnight ICT; 0 is midnight) and its limits per currency (sorted by currency).
public struct GatewayConfig: Hashable, Sendable, CanonicalCodable {
    public let gateway: InstitutionID
    public let cutoffMilliseconds: UInt32
    public let limits: [GatewayLimit]

    public init(gateway: InstitutionID, cutoffMilliseconds: UInt32 = 0, limits: [GatewayLimit] = []) throws(DecodeError) {
        guard UInt64(cutoffMilliseconds) < BusinessCalendar.dayMilliseconds else {
            throw .invalidValue(field: "cut-off", reason: "must be less than one day (86400000 ms)")
        }
        guard zip(limits, limits.dropFirst()).allSatisfy({ $0.currency < $1.currency }) else {
            throw .invalidValue(field: "gateway limits", reason: "one per currency, sorted by currency")
        }
        (self.gateway, self.cutoffMilliseconds, self.limits) = (gateway, cutoffMilliseconds, limits)
    }

    public func limit(_ currency: Currency) -> GatewayLimit? { limits.first { $0.currency == currency } }

    public func encode(to writer: inout CanonicalWriter) {
        gateway.encode(to: &writer)
        writer.u32(cutoffMilliseconds)
        writer.list(limits)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try self.init(
            gateway: InstitutionID(from: &reader), cutoffMilliseconds: reader.u32("cut-off"),
            limits: reader.list("gateway limits", of: GatewayLimit.self, max: Currency.allCases.count))
    }
}
