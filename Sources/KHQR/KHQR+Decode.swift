extension KHQR {
    /// Decodes `payload` strictly: CRC first, then the field structure, the mandatory tags, and
    /// each field's length and value. Field order is not enforced (the SDKs disagree), except that
    /// the CRC is last. Expiry is a separate check (`checkNotExpired`), or pass `now`.
    public static func decode(_ payload: String, nowMilliseconds now: UInt64? = nil) throws(KHQRError) -> KHQR {
        let scalars = Array(payload.unicodeScalars)
        guard !scalars.isEmpty else { throw .empty }
        guard scalars.count <= payloadCharactersMax else { throw .tooLong(characters: scalars.count, max: payloadCharactersMax) }
        try checkCRC(scalars)
        let fields = try TLV.split(payload)
        guard let last = fields.last, last.tag == "63", last.offset == scalars.count - 8 else {
            throw .malformed(offset: scalars.count - 8, reason: "the CRC field (63) must be the last field")
        }
        var byTag: [String: TLVField] = [:]
        for field in fields { byTag[field.tag] = field }
        var decoder = Decoder(fields: byTag)
        let code = try decoder.decode(unknown: fields.filter { !Decoder.known.contains($0.tag) })
        if let now { try code.checkNotExpired(nowMilliseconds: now) }
        return code
    }

    private static func checkCRC(_ scalars: [Unicode.Scalar]) throws(KHQRError) {
        let count = scalars.count
        guard count >= 8, String(String.UnicodeScalarView(scalars[count - 8..<count - 4])) == "6304" else { throw .crcMissing }
        let stated = String(String.UnicodeScalarView(scalars[(count - 4)...]))
        guard stated.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit }) else { throw .crcMissing }
        let computed = hex4(crc16CCITTFalse(String(String.UnicodeScalarView(scalars[..<(count - 4)]))))
        guard stated.uppercased() == computed else { throw .crcMismatch(stated: stated, computed: computed) }
    }
}

/// Reads the fields of one payload into a `KHQR`.
private struct Decoder {
    static let known: Set<String> = ["00", "01", "15", "29", "30", "52", "53", "54", "58", "59", "60", "62", "63", "64", "99"]
    let fields: [String: TLVField]

    func value(_ rule: Rule, required: Bool = false) throws(KHQRError) -> String? {
        guard let field = fields[rule.tag] else {
            if required { throw .missingTag(rule.tag, field: rule.field) }
            return nil
        }
        try rule.check(field.value)
        return field.value
    }

    mutating func decode(unknown: [TLVField]) throws(KHQRError) -> KHQR {
        guard try value(Rules.formatIndicator, required: true) == "01" else {
            throw .badValue("00", field: "payload format indicator", reason: "must be 01")
        }
        let initiation = try value(Rules.initiation)
        guard initiation == nil || initiation == "11" || initiation == "12" else {
            throw .badValue("01", field: "point of initiation", reason: "must be 11 (static) or 12 (dynamic), not \(initiation!)")
        }
        let (kind, account) = try merchantAccount()
        let category = try value(Rules.category, required: true)!
        guard category.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) else {
            throw .badValue("52", field: "merchant category code", reason: "must be 4 digits")
        }
        let currencyText = try value(Rules.currency, required: true)!
        guard let currency = KHQR.Currency(rawValue: currencyText) else { throw .unsupportedCurrency(currencyText) }
        let amount = try value(Rules.amount).map { (text: String) throws(KHQRError) in try AmountText.parse(text, currency) }
        let isDynamic = initiation == "12"
        if isDynamic, amount == nil { throw .amountRule("a dynamic code (01 = 12) must carry an amount (tag 54)") }
        if !isDynamic, amount != nil { throw .amountRule("a static code (01 = 11 or absent) may not carry an amount (tag 54)") }
        let country = try value(Rules.country, required: true)!
        guard country.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
            throw .badValue("58", field: "country code", reason: "must be two upper-case letters")
        }
        var code = KHQR(
            isDynamic: isDynamic, accountKind: kind, bakongAccountID: account.id, accountInformation: account.information,
            acquiringBank: account.bank, merchantCategoryCode: category, currency: currency, amountMinorUnits: amount,
            countryCode: country, merchantName: try value(Rules.name, required: true)!, merchantCity: try value(Rules.city, required: true)!,
            unionPayMerchantAccount: try value(Rules.unionPay),
            otherFields: unknown.map { KHQR.Field(tag: $0.tag, value: $0.value) }.sorted { $0.tag < $1.tag })
        try additionalData(&code)
        try language(&code)
        try timestamps(&code)
        return code
    }

    /// Tag 29 or 30, exactly one of them.
    private func merchantAccount() throws(KHQRError) -> (KHQR.AccountKind, (id: String, information: String?, bank: String?)) {
        let kind: KHQR.AccountKind
        switch (fields["29"], fields["30"]) {
        case (nil, nil): throw .missingTag("29", field: "merchant account (29 individual or 30 merchant)")
        case (.some, .some): throw .badValue("30", field: "merchant account", reason: "a code carries tag 29 or tag 30, not both")
        case (.some, nil): kind = .individual
        case (nil, .some): kind = .merchant
        }
        let rules = Rules.account(kind)
        let sub = try Template(fields[kind.tag]!, allowed: ["00", "01", "02"])
        guard let id = sub.fields["00"] else { throw .missingTag(rules.id.tag, field: rules.id.field) }
        try rules.id.check(id)
        let parts = id.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .badValue(rules.id.tag, field: rules.id.field, reason: "must be name@bank with exactly one @")
        }
        let information = try sub.value(rules.information, required: kind == .merchant)
        let bank = try sub.value(rules.bank, required: kind == .merchant)
        return (kind, (id, information, bank))
    }

    private func additionalData(_ code: inout KHQR) throws(KHQRError) {
        guard let field = fields["62"] else { return }
        let sub = try Template(field, allowed: nil)
        code.billNumber = try sub.value(Rules.bill)
        code.mobileNumber = try sub.value(Rules.mobile)
        code.storeLabel = try sub.value(Rules.store)
        code.terminalLabel = try sub.value(Rules.terminal)
        code.purpose = try sub.value(Rules.purpose)
        code.otherAdditionalData = sub.ordered.filter { !["01", "02", "03", "07", "08"].contains($0.tag) }.map { KHQR.Field(tag: $0.tag, value: $0.value) }
    }

    private func language(_ code: inout KHQR) throws(KHQRError) {
        guard let field = fields["64"] else { return }
        let sub = try Template(field, allowed: ["00", "01", "02"])
        code.languagePreference = try sub.value(Rules.language, required: true)
        code.alternateMerchantName = try sub.value(Rules.alternateName)
        code.alternateMerchantCity = try sub.value(Rules.alternateCity)
    }

    private func timestamps(_ code: inout KHQR) throws(KHQRError) {
        guard let field = fields["99"] else { return }
        let sub = try Template(field, allowed: ["00", "01"])
        code.createdAtMilliseconds = try sub.value(Rules.created).map { (text: String) throws(KHQRError) in try Self.milliseconds(text, Rules.created) }
        code.expiresAtMilliseconds = try sub.value(Rules.expires).map { (text: String) throws(KHQRError) in try Self.milliseconds(text, Rules.expires) }
        if let created = code.createdAtMilliseconds, let expires = code.expiresAtMilliseconds, expires < created {
            throw .badValue("99/01", field: "expiration timestamp", reason: "is before the creation timestamp")
        }
    }

    private static func milliseconds(_ text: String, _ rule: Rule) throws(KHQRError) -> UInt64 {
        guard text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }), let value = UInt64(text) else {
            throw .badValue(rule.tag, field: rule.field, reason: "must be Unix milliseconds (13 digits)")
        }
        return value
    }
}

/// The sub-fields of a template (29, 30, 62, 64, 99).
private struct Template {
    let tag: String
    let fields: [String: String]
    let ordered: [TLVField]

    /// `allowed`: the sub-tags the template may hold (nil: any).
    init(_ field: TLVField, allowed: Set<String>?) throws(KHQRError) {
        tag = field.tag
        ordered = try TLV.split(field.value, base: field.offset + 4)
        if let allowed, let extra = ordered.first(where: { !allowed.contains($0.tag) }) {
            throw .badValue("\(tag)/\(extra.tag)", field: "template \(tag)", reason: "unknown sub-tag \(extra.tag)")
        }
        var map: [String: String] = [:]
        for sub in ordered { map[sub.tag] = sub.value }
        fields = map
    }

    func value(_ rule: Rule, required: Bool = false) throws(KHQRError) -> String? {
        guard let value = fields[String(rule.tag.suffix(2))] else {
            if required { throw .missingTag(rule.tag, field: rule.field) }
            return nil
        }
        try rule.check(value)
        return value
    }
}

/// Tag 54: digits with at most two after a point, read with integer arithmetic (never `Double`).
enum AmountText {
    static func parse(_ text: String, _ currency: KHQR.Currency) throws(KHQRError) -> Int64 {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty,
              text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || $0 == "." }) else {
            throw .badAmount(text, reason: "must be digits with at most one '.'")
        }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || (1...2).contains(fraction.count) else { throw .badAmount(text, reason: "must have one or two digits after '.'") }
        guard whole == "0" || !whole.hasPrefix("0") else { throw .badAmount(text, reason: "has a leading zero") }
        let paddedFraction = fraction + String(repeating: "0", count: 2 - fraction.count)
        guard let units = Int64(whole), let cents = Int64(paddedFraction) else { throw .badAmount(text, reason: "is too large") }
        let minor: Int64
        if currency.exponent == 0 {
            guard cents == 0 else { throw .badAmount(text, reason: "KHR amounts are whole riel") }
            minor = units
        } else {
            let (scaled, overflow) = units.multipliedReportingOverflow(by: 100)
            guard !overflow else { throw .badAmount(text, reason: "is too large") }
            minor = scaled + cents
        }
        guard minor > 0 else { throw .badAmount(text, reason: "must be more than zero") }
        return minor
    }
}
