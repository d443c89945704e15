/// A KHQR code: Cambodia's (Bakong's) profile of the EMVCo merchant-presented QR payload
/// (docs/khqr.md). `decode` is strict and reports the first problem with a specific error;
/// `encode` refuses what `decode` would refuse (it never truncates).
///
/// Lengths count Unicode scalars, as the Python SDKs do, and the CRC covers the UTF-8 bytes.
public struct KHQR: Hashable, Sendable {
    /// Tag 29 (an individual's account) or tag 30 (a merchant's, which needs a merchant id and an
    /// acquiring bank).
    public enum AccountKind: String, Hashable, Sendable {
        case individual
        case merchant

        var tag: String { self == .individual ? "29" : "30" }
    }

    /// The currencies a KHQR may carry (tag 53, ISO 4217 numeric).
    public enum Currency: String, Hashable, Sendable, CaseIterable {
        case khr = "116"
        case usd = "840"

        public var code: String { self == .khr ? "KHR" : "USD" }
        /// Digits after the point: KHR is whole riel, USD has cents.
        public var exponent: Int { self == .khr ? 0 : 2 }
    }

    /// A field this decoder does not interpret (another scheme's account template, a tip field,
    /// an unreserved template), kept as it was.
    public struct Field: Hashable, Sendable {
        public let tag: String
        public let value: String

        public init(tag: String, value: String) { (self.tag, self.value) = (tag, value) }
    }

    /// Tag 01 is 12 (dynamic: one payment, with an amount) rather than 11 (static, reusable).
    public var isDynamic: Bool
    public var accountKind: AccountKind
    /// The Bakong account paid, `name@bank` (29/30 sub-tag 00).
    public var bakongAccountID: String
    /// Sub-tag 01: account information (individual) or merchant id (merchant, required).
    public var accountInformation: String?
    /// Sub-tag 02: the acquiring bank (required for a merchant).
    public var acquiringBank: String?
    public var merchantCategoryCode: String
    public var currency: Currency
    /// In minor units of `currency` (riel, cents); present exactly when the code is dynamic.
    public var amountMinorUnits: Int64?
    public var countryCode: String
    public var merchantName: String
    public var merchantCity: String
    // Tag 62, additional data.
    public var billNumber: String?
    public var mobileNumber: String?
    public var storeLabel: String?
    public var terminalLabel: String?
    public var purpose: String?
    public var otherAdditionalData: [Field]
    // Tag 64, the merchant's name and city in another language.
    public var languagePreference: String?
    public var alternateMerchantName: String?
    public var alternateMerchantCity: String?
    // Tag 99, Unix milliseconds.
    public var createdAtMilliseconds: UInt64?
    public var expiresAtMilliseconds: UInt64?
    /// Tag 15, a UnionPay merchant account.
    public var unionPayMerchantAccount: String?
    public var otherFields: [Field]

    public init(
        isDynamic: Bool, accountKind: AccountKind = .individual, bakongAccountID: String, accountInformation: String? = nil,
        acquiringBank: String? = nil, merchantCategoryCode: String = "5999", currency: Currency, amountMinorUnits: Int64? = nil,
        countryCode: String = "KH", merchantName: String, merchantCity: String = "Phnom Penh", billNumber: String? = nil,
        mobileNumber: String? = nil, storeLabel: String? = nil, terminalLabel: String? = nil, purpose: String? = nil,
        otherAdditionalData: [Field] = [], languagePreference: String? = nil, alternateMerchantName: String? = nil,
        alternateMerchantCity: String? = nil, createdAtMilliseconds: UInt64? = nil, expiresAtMilliseconds: UInt64? = nil,
        unionPayMerchantAccount: String? = nil, otherFields: [Field] = []
    ) {
        (self.isDynamic, self.accountKind, self.bakongAccountID) = (isDynamic, accountKind, bakongAccountID)
        (self.accountInformation, self.acquiringBank, self.merchantCategoryCode) = (accountInformation, acquiringBank, merchantCategoryCode)
        (self.currency, self.amountMinorUnits, self.countryCode) = (currency, amountMinorUnits, countryCode)
        (self.merchantName, self.merchantCity) = (merchantName, merchantCity)
        (self.billNumber, self.mobileNumber, self.storeLabel, self.terminalLabel) = (billNumber, mobileNumber, storeLabel, terminalLabel)
        (self.purpose, self.otherAdditionalData) = (purpose, otherAdditionalData)
        (self.languagePreference, self.alternateMerchantName, self.alternateMerchantCity) = (languagePreference, alternateMerchantName, alternateMerchantCity)
        (self.createdAtMilliseconds, self.expiresAtMilliseconds) = (createdAtMilliseconds, expiresAtMilliseconds)
        (self.unionPayMerchantAccount, self.otherFields) = (unionPayMerchantAccount, otherFields)
    }

    /// EMVCo's limit on a whole payload, in characters.
    public static let payloadCharactersMax = 512

    /// The amount as KHQR writes it: whole riel for KHR, two decimals for USD.
    public static func formatAmount(_ minorUnits: Int64, _ currency: Currency) -> String {
        guard currency.exponent > 0 else { return String(minorUnits) }
        let cents = minorUnits % 100
        return "\(minorUnits / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// Checks a decoded code against the clock: expired only when `now` is after its expiry.
    public func checkNotExpired(nowMilliseconds now: UInt64) throws(KHQRError) {
        if let expiry = expiresAtMilliseconds, now > expiry { throw .expired(expiresAtMilliseconds: expiry, nowMilliseconds: now) }
    }
}

// MARK: - Field rules shared by decoding and encoding

/// A value's length rule: `min...max` characters.
struct Rule {
    let tag: String
    let field: String
    let min: Int
    let max: Int

    init(_ tag: String, _ field: String, _ min: Int, _ max: Int) { (self.tag, self.field, self.min, self.max) = (tag, field, min, max) }

    func check(_ value: String) throws(KHQRError) {
        let length = value.unicodeScalars.count
        guard length < min || length > max else { return }
        let rule = min == max ? "it must have exactly \(min)" : length == 0 ? "it may not be empty" : "at most \(max) are allowed"
        throw .badLength(tag, field: field, length: length, rule: rule)
    }
}

enum Rules {
    static let formatIndicator = Rule("00", "payload format indicator", 2, 2)
    static let initiation = Rule("01", "point of initiation", 2, 2)
    static let unionPay = Rule("15", "UnionPay merchant account", 1, 99)
    static let category = Rule("52", "merchant category code", 4, 4)
    static let currency = Rule("53", "transaction currency", 3, 3)
    static let amount = Rule("54", "transaction amount", 1, 13)
    static let country = Rule("58", "country code", 2, 2)
    static let name = Rule("59", "merchant name", 1, 25)
    static let city = Rule("60", "merchant city", 1, 15)
    static let template = 99

    static func account(_ kind: KHQR.AccountKind) -> (id: Rule, information: Rule, bank: Rule) {
        let t = kind.tag
        return (Rule("\(t)/00", "Bakong account id", 1, 32),
                Rule("\(t)/01", kind == .individual ? "account information" : "merchant id", 1, 32),
                Rule("\(t)/02", "acquiring bank", 1, 32))
    }

    static let bill = Rule("62/01", "bill number", 1, 25)
    static let mobile = Rule("62/02", "mobile number", 1, 25)
    static let store = Rule("62/03", "store label", 1, 25)
    static let terminal = Rule("62/07", "terminal label", 1, 25)
    static let purpose = Rule("62/08", "purpose of transaction", 1, 25)
    static let language = Rule("64/00", "language preference", 2, 2)
    static let alternateName = Rule("64/01", "merchant name (alternate language)", 1, 25)
    static let alternateCity = Rule("64/02", "merchant city (alternate language)", 1, 15)
    static let created = Rule("99/00", "creation timestamp", 13, 13)
    static let expires = Rule("99/01", "expiration timestamp", 13, 13)
}
