/// A ledger currency. Only KHR and USD are balances; foreign currencies appear on settlement
/// entries as information. The raw value is the ISO 4217 numeric code, which is also the encoding.
public enum Currency: UInt16, Sendable, CaseIterable, Comparable, CustomStringConvertible, CanonicalCodable {
    case khr = 116
    case usd = 840

    /// Digits after the decimal point: KHR has none (whole riel, as KHQR requires), USD has cents.
    public var exponent: Int {
        switch self {
        case .khr: 0
        case .usd: 2
        }
    }

    /// The ISO 4217 letters.
    public var code: String {
        switch self {
        case .khr: "KHR"
        case .usd: "USD"
        }
    }

    public init?(code: String) {
        guard let match = Currency.allCases.first(where: { $0.code == code }) else { return nil }
        self = match
    }

    public var description: String { code }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public func encode(to writer: inout CanonicalWriter) { writer.u16(rawValue) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let code = try reader.u16("currency")
        guard let currency = Currency(rawValue: code) else { throw .unknownTag(field: "currency", tag: UInt64(code)) }
        self = currency
    }
}

/// Why an amount could not be parsed or computed.
public enum AmountError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(max: Int)
    case invalidCharacter(Character)
    case leadingZero
    case missingDigits
    case tooManyFractionDigits(currency: Currency, max: Int)
    /// The same, for a foreign currency (settlement entries' information-only leg).
    case tooManyForeignFractionDigits(code: String, max: Int)
    case overflow
    case currencyMismatch(Currency, Currency)

    public var description: String {
        switch self {
        case .empty: "amount is empty"
        case .tooLong(let max): "amount has more than \(max) characters"
        case .invalidCharacter(let c):
            "amount may contain only digits and one '.'; found '\(c)' (no signs, spaces, separators or exponents)"
        case .leadingZero: "amount has a leading zero (write 5, not 05)"
        case .missingDigits: "amount needs digits on both sides of '.' (write 0.50, not .50)"
        case .tooManyFractionDigits(let currency, let max):
            max == 0 ? "\(currency) amounts are whole numbers: no '.'" : "\(currency) amounts have at most \(max) digits after '.'"
        case .tooManyForeignFractionDigits(let code, let max):
            max == 0 ? "\(code) amounts are whole numbers: no '.'" : "\(code) amounts have at most \(max) digits after '.'"
        case .overflow: "amount is too large"
        case .currencyMismatch(let a, let b): "cannot combine \(a) and \(b)"
        }
    }
}

/// Money in one ledger currency, as an integer count of minor units (riel, cents). Never floating
/// point; arithmetic is checked and reports overflow instead of wrapping or trapping.
public struct Amount: Hashable, Sendable, CustomStringConvertible, CanonicalCodable {
    public let currency: Currency
    public let minorUnits: Int64

    public init(_ minorUnits: Int64, _ currency: Currency) {
        (self.minorUnits, self.currency) = (minorUnits, currency)
    }

    public static func zero(_ currency: Currency) -> Amount { Amount(0, currency) }

    /// Parses a decimal string in `currency`'s major units: "1250" riel, "12.5" or "12.50" dollars.
    /// Digits and at most one '.', with at most the currency's exponent of digits after it.
    public init(parsing text: String, currency: Currency) throws(AmountError) {
        let minor = try DecimalText.parse(text, exponent: currency.exponent,
                                          tooManyFractionDigits: .tooManyFractionDigits(currency: currency, max: currency.exponent))
        self.init(minor, currency)
    }

    /// The decimal string with exactly the currency's exponent of fraction digits ("12.50", "-3", "1250").
    public var decimalString: String { DecimalText.format(minorUnits, exponent: currency.exponent) }

    public var description: String { "\(decimalString) \(currency.code)" }

    /// `self + other`, or an error for mixed currencies or overflow.
    public func adding(_ other: Amount) throws(AmountError) -> Amount {
        guard currency == other.currency else { throw .currencyMismatch(currency, other.currency) }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow }
        return Amount(sum, currency)
    }

    /// `self - other`, or an error for mixed currencies or overflow.
    public func subtracting(_ other: Amount) throws(AmountError) -> Amount {
        guard currency == other.currency else { throw .currencyMismatch(currency, other.currency) }
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow }
        return Amount(difference, currency)
    }

    public func encode(to writer: inout CanonicalWriter) {
        currency.encode(to: &writer)
        writer.i64(minorUnits)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        currency = try Currency(from: &reader)
        minorUnits = try reader.i64("amount")
    }
}

/// Decimal text in major units and integer minor units, for any number of fraction digits: the
/// one reading and writing of amounts (ledger currencies through `Amount`, foreign ones through
/// `ForeignAmount`).
public enum DecimalText {
    /// `text` in major units of the currency `code` (with `exponent` fraction digits), in minor units.
    public static func parse(_ text: String, exponent: Int, code: String) throws(AmountError) -> Int64 {
        try parse(text, exponent: exponent, tooManyFractionDigits: .tooManyForeignFractionDigits(code: code, max: exponent))
    }

    /// Digits and at most one '.', with at most `exponent` digits after it; no sign, no leading
    /// zero; the value in minor units, with overflow reported.
    static func parse(_ text: String, exponent: Int, tooManyFractionDigits: AmountError) throws(AmountError) -> Int64 {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty else { throw .empty }
        guard utf8.count <= Limits.amountTextBytesMax else { throw .tooLong(max: Limits.amountTextBytesMax) }
        if let bad = text.first(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) { throw .invalidCharacter(bad) }
        let parts = utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw .invalidCharacter(".") }
        let whole = parts[0], fraction = parts.count == 2 ? parts[1] : []
        guard !whole.isEmpty, parts.count == 1 || !fraction.isEmpty else { throw .missingDigits }
        guard whole.count == 1 || whole.first != UInt8(ascii: "0") else { throw .leadingZero }
        guard fraction.count <= exponent else { throw tooManyFractionDigits }
        let padded = Array(whole) + Array(fraction) + Array(repeating: UInt8(ascii: "0"), count: exponent - fraction.count)
        var value: Int64 = 0
        for digit in padded {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw .overflow }
            value = sum
        }
        return value
    }

    /// `minor` with exactly `exponent` fraction digits ("12.50", "-3", "1250").
    public static func format(_ minor: Int64, exponent: Int) -> String {
        let magnitude = String(minor.magnitude)
        let sign = minor < 0 ? "-" : ""
        guard exponent > 0 else { return sign + magnitude }
        let digits = String(repeating: "0", count: max(0, exponent + 1 - magnitude.count)) + magnitude
        return sign + digits.dropLast(exponent) + "." + digits.suffix(exponent)
    }
}
