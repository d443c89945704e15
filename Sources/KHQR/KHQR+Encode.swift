extension KHQR {
    /// The payload: fields in ascending tag order, the CRC last. Refuses (never truncates) a value
    /// that `decode` would refuse, so every encoded code decodes back to itself.
    public func encode() throws(KHQRError) -> String {
        var fields: [(tag: String, value: String)] = [("00", "01"), ("01", isDynamic ? "12" : "11")]
        if let unionPayMerchantAccount { fields.append(("15", unionPayMerchantAccount)) }
        let rules = Rules.account(accountKind)
        fields.append((accountKind.tag, try template([
            ("00", bakongAccountID, rules.id), ("01", accountInformation, rules.information), ("02", acquiringBank, rules.bank),
        ], tag: accountKind.tag, field: "merchant account")))
        fields.append(("52", merchantCategoryCode))
        fields.append(("53", currency.rawValue))
        if let amountMinorUnits {
            guard amountMinorUnits > 0 else { throw .badAmount(String(amountMinorUnits), reason: "must be more than zero") }
            fields.append(("54", Self.formatAmount(amountMinorUnits, currency)))
        }
        fields += [("58", countryCode), ("59", merchantName), ("60", merchantCity)]
        let additional = try template([
            ("01", billNumber, Rules.bill), ("02", mobileNumber, Rules.mobile), ("03", storeLabel, Rules.store),
            ("07", terminalLabel, Rules.terminal), ("08", purpose, Rules.purpose),
        ] + otherAdditionalData.map { ($0.tag, $0.value, Rule("62/\($0.tag)", "additional data", 1, 99)) }, tag: "62", field: "additional data")
        if !additional.isEmpty { fields.append(("62", additional)) }
        if languagePreference != nil || alternateMerchantName != nil || alternateMerchantCity != nil {
            fields.append(("64", try template([
                ("00", languagePreference, Rules.language), ("01", alternateMerchantName, Rules.alternateName),
                ("02", alternateMerchantCity, Rules.alternateCity),
            ], tag: "64", field: "language template")))
        }
        if createdAtMilliseconds != nil || expiresAtMilliseconds != nil {
            fields.append(("99", try template([
                ("00", createdAtMilliseconds.map { String($0) }, Rules.created), ("01", expiresAtMilliseconds.map { String($0) }, Rules.expires),
            ], tag: "99", field: "timestamp template")))
        }
        fields += otherFields.map { ($0.tag, $0.value) }
        fields.sort { $0.tag < $1.tag }
        for field in fields where field.value.unicodeScalars.count > Rules.template {
            throw .badLength(field.tag, field: "field", length: field.value.unicodeScalars.count, rule: "at most 99 are allowed")
        }
        let body = fields.map { TLV.field($0.tag, $0.value) }.joined() + "6304"
        let payload = body + hex4(crc16CCITTFalse(body))
        let decoded = try Self.decode(payload)
        guard decoded == self else { throw .badValue("--", field: "code", reason: "does not decode back to itself (check tags of other fields and templates)") }
        return payload
    }

    /// A template's value from its sub-fields (those present), each checked against its rule.
    private func template(_ subs: [(tag: String, value: String?, rule: Rule)], tag: String, field: String) throws(KHQRError) -> String {
        var text = ""
        for sub in subs {
            guard let value = sub.value else { continue }
            try sub.rule.check(value)
            text += TLV.field(sub.tag, value)
        }
        guard text.unicodeScalars.count <= Rules.template else {
            throw .badLength(tag, field: field, length: text.unicodeScalars.count, rule: "at most 99 are allowed")
        }
        return text
    }
}
