import Foundation
import KHQR
import Testing

/// Payloads made by the `bakong-khqr` Python SDK (Vectors/generate_sdk_vectors.py), with what a
/// strict decoder must read back from each.
struct SDKVectors: Decodable {
    struct Expect: Decodable {
        let dynamic: Bool
        let account: String
        let currency: String
        let amount_minor: Int64?
        let merchant_name: String
        let merchant_city: String
        let store_label: String?
        let mobile: String?
        let bill_number: String?
        let terminal_label: String?
        let created_ms: UInt64?
        let expires_ms: UInt64?
    }

    struct Case: Decodable, CustomTestStringConvertible {
        let name: String
        let payload: String
        let expect: Expect
        var testDescription: String { name }
    }

    let now_ms: UInt64
    let cases: [Case]

    static func load() throws -> SDKVectors {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/sdk-vectors.json")
        return try JSONDecoder().decode(SDKVectors.self, from: Data(contentsOf: url))
    }
}

/// `body` (ending before the CRC field) with a correct CRC appended.
func withCRC(_ body: String) -> String {
    let text = body + "6304"
    let crc = String(crc16CCITTFalse(text), radix: 16, uppercase: true)
    return text + String(repeating: "0", count: 4 - crc.count) + crc
}

/// A field `TT LL V`, the length in Unicode scalars.
func tlv(_ tag: String, _ value: String) -> String {
    let n = value.unicodeScalars.count
    return tag + (n < 10 ? "0\(n)" : "\(n)") + value
}

/// A valid dynamic KHR code's fields, by tag, to build variants from.
func baseFields() -> [(String, String)] {
    [("00", "01"), ("01", "12"), ("29", tlv("00", "sokha@aba")), ("52", "5999"), ("53", "116"), ("54", "15000"),
     ("58", "KH"), ("59", "Sokha Coffee"), ("60", "Phnom Penh"), ("99", tlv("00", "1795258600000") + tlv("01", "1795345000000"))]
}

func payload(_ fields: [(String, String)]) -> String { withCRC(fields.map { tlv($0.0, $0.1) }.joined()) }

func replacing(_ tag: String, with value: String?) -> [(String, String)] {
    var fields = baseFields().filter { $0.0 != tag }
    if let value { fields.append((tag, value)) }
    return fields.sorted { $0.0 < $1.0 }
}

@Suite struct KHQRSDKTests {
    @Test(arguments: try SDKVectors.load().cases)
    func decodesWhatTheSDKMade(_ vector: SDKVectors.Case) throws {
        let code = try KHQR.decode(vector.payload, nowMilliseconds: try SDKVectors.load().now_ms)
        let e = vector.expect
        #expect(code.isDynamic == e.dynamic)
        #expect(code.accountKind == .individual)
        #expect(code.bakongAccountID == e.account)
        #expect(code.currency.code == e.currency)
        #expect(code.amountMinorUnits == e.amount_minor)
        #expect(code.merchantName == e.merchant_name)
        #expect(code.merchantCity == e.merchant_city)
        #expect(code.storeLabel == e.store_label)
        #expect(code.mobileNumber == e.mobile)
        #expect(code.billNumber == e.bill_number)
        #expect(code.terminalLabel == e.terminal_label)
        #expect(code.createdAtMilliseconds == e.created_ms)
        #expect(code.expiresAtMilliseconds == e.expires_ms)
        #expect(code.countryCode == "KH")
        #expect(code.merchantCategoryCode == "5999")
        // Our encoder writes the same fields (in ascending order, amounts with official formatting),
        // and that decodes back to the same code.
        #expect(try KHQR.decode(code.encode()) == code)
    }

    @Test func sdkDynamicCodesExpireAfterTheirExpiry() throws {
        let vectors = try SDKVectors.load()
        let vector = try #require(vectors.cases.first { $0.expect.expires_ms != nil })
        let expiry = try #require(vector.expect.expires_ms)
        _ = try KHQR.decode(vector.payload, nowMilliseconds: expiry)  // at the expiry: still valid
        #expect(throws: KHQRError.expired(expiresAtMilliseconds: expiry, nowMilliseconds: expiry + 1)) {
            try KHQR.decode(vector.payload, nowMilliseconds: expiry + 1)
        }
    }
}

@Suite struct KHQRCodecTests {
    @Test func crcCheckValue() {
        #expect(crc16CCITTFalse("123456789") == 0x29B1)
    }

    @Test func crcCoversUTF8Bytes() throws {
        // The TS README example's language template (Chinese): 18 characters, 24 UTF-8 bytes.
        let language = "0002ZH0102文山0202金边"
        #expect(language.unicodeScalars.count == 18)
        let code = try KHQR.decode(payload(baseFields() + [("64", language)]))
        #expect(code.languagePreference == "ZH")
        #expect(code.alternateMerchantName == "文山")
        #expect(code.alternateMerchantCity == "金边")
        // A CRC computed over each character's low byte (a known SDK bug) is refused.
        let body = (baseFields() + [("64", language)]).sorted { $0.0 < $1.0 }.map { tlv($0.0, $0.1) }.joined() + "6304"
        var crc: UInt16 = 0xFFFF
        for scalar in body.unicodeScalars {
            crc ^= UInt16(scalar.value & 0xFF) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        let wrong = body + String(format: "%04X", crc)
        #expect(throws: KHQRError.self) { try KHQR.decode(wrong) }
        do { _ = try KHQR.decode(wrong) } catch { #expect(error.code == "KHQR_CRC_MISMATCH") }
    }

    @Test func lowerCaseCRCIsAccepted() throws {
        let good = payload(baseFields())
        let lower = String(good.dropLast(4)) + good.suffix(4).lowercased()
        #expect(try KHQR.decode(lower) == KHQR.decode(good))
    }

    @Test func lengthsCountUnicodeScalars() throws {
        // 16 scalars, 8 grapheme clusters, 48 UTF-8 bytes.
        let name = "ហាងកាហ្វេស្រីមុំ"
        #expect(name.count == 8 && name.unicodeScalars.count == 16 && name.utf8.count == 48)
        let code = try KHQR.decode(payload(replacing("59", with: name)))
        #expect(code.merchantName == name)
        // 26 scalars is too long for a merchant name although it is only 13 graphemes.
        let long = name + "ហាងកាហ្វេស"
        #expect(long.unicodeScalars.count > 25 && long.count <= 25)
        #expect(throws: KHQRError.badLength("59", field: "merchant name", length: long.unicodeScalars.count, rule: "at most 25 are allowed")) {
            try KHQR.decode(payload(replacing("59", with: long)))
        }
    }

    @Test func encodesOfficialAmountFormatAndRoundTrips() throws {
        var code = KHQR(isDynamic: true, bakongAccountID: "market@wing", currency: .usd, amountMinorUnits: 1050,
                        merchantName: "Market", createdAtMilliseconds: 1_795_258_600_000, expiresAtMilliseconds: 1_795_345_000_000)
        code.billNumber = "INV-9"
        code.languagePreference = "km"
        code.alternateMerchantName = "ផ្សារ"
        let text = try code.encode()
        #expect(text.contains("540510.50"))
        #expect(text.hasPrefix("000201010212"))
        #expect(try KHQR.decode(text) == code)
        #expect(KHQR.formatAmount(15000, .khr) == "15000")
        #expect(KHQR.formatAmount(7, .usd) == "0.07")
    }

    @Test func merchantAccountTemplate() throws {
        let merchant = KHQR(isDynamic: false, accountKind: .merchant, bakongAccountID: "shop@acleda", accountInformation: "M-1001",
                            acquiringBank: "ACLEDA Bank", currency: .khr, merchantName: "Shop")
        let decoded = try KHQR.decode(merchant.encode())
        #expect(decoded.accountKind == .merchant && decoded.accountInformation == "M-1001" && decoded.acquiringBank == "ACLEDA Bank")
        // Tag 30 without a merchant id, or with both 29 and 30, is refused.
        #expect(throws: KHQRError.missingTag("30/01", field: "merchant id")) {
            try KHQR.decode(payload(replacing("29", with: nil) + [("30", tlv("00", "shop@acleda") + tlv("02", "ACLEDA"))]))
        }
        #expect(throws: KHQRError.badValue("30", field: "merchant account", reason: "a code carries tag 29 or tag 30, not both")) {
            try KHQR.decode(payload(baseFields() + [("30", tlv("00", "shop@acleda") + tlv("01", "M") + tlv("02", "A"))]))
        }
    }

    @Test func unknownTemplatesAreKept() throws {
        // ACLEDA mode's extra template 39 and an unreserved template 80.
        let fields = baseFields() + [("39", tlv("00", "855012345678") + tlv("01", "4")), ("80", tlv("00", "x"))]
        let code = try KHQR.decode(payload(fields))
        #expect(code.otherFields == [KHQR.Field(tag: "39", value: "0012855012345678" + "01014"), KHQR.Field(tag: "80", value: "0001x")])
        #expect(try code.encode() == payload(fields.sorted { $0.0 < $1.0 }))
    }

    @Test func encoderRefusesInsteadOfTruncating() {
        let code = KHQR(isDynamic: false, bakongAccountID: "sokha@aba", currency: .khr, merchantName: String(repeating: "N", count: 26))
        #expect(throws: KHQRError.badLength("59", field: "merchant name", length: 26, rule: "at most 25 are allowed")) { try code.encode() }
        let dynamicWithoutAmount = KHQR(isDynamic: true, bakongAccountID: "sokha@aba", currency: .khr, merchantName: "N")
        #expect(throws: KHQRError.amountRule("a dynamic code (01 = 12) must carry an amount (tag 54)")) { try dynamicWithoutAmount.encode() }
    }
}

@Suite struct KHQRDecodeErrorTests {
    static let cases: [(String, String, String)] = [
        ("empty", "", "KHQR_EMPTY"),
        ("too long", withCRC(String(repeating: "x", count: 600)), "KHQR_TOO_LONG"),
        ("no CRC", baseFields().map { tlv($0.0, $0.1) }.joined(), "KHQR_CRC_MISSING"),
        ("CRC not hex", baseFields().map { tlv($0.0, $0.1) }.joined() + "6304ZZZZ", "KHQR_CRC_MISSING"),
        ("CRC mismatch", String(payload(baseFields()).dropLast(1)) + (payload(baseFields()).hasSuffix("0") ? "1" : "0"), "KHQR_CRC_MISMATCH"),
        ("length past the end", withCRC("000201" + "5999"), "KHQR_MALFORMED"),
        ("tag not digits", withCRC("0002010A0212"), "KHQR_MALFORMED"),
        ("duplicate tag", withCRC(baseFields().map { tlv($0.0, $0.1) }.joined() + tlv("59", "Again")), "KHQR_DUPLICATE_TAG"),
        ("no format indicator", payload(replacing("00", with: nil)), "KHQR_MISSING_TAG"),
        ("no merchant account", payload(replacing("29", with: nil)), "KHQR_MISSING_TAG"),
        ("no category", payload(replacing("52", with: nil)), "KHQR_MISSING_TAG"),
        ("no currency", payload(replacing("53", with: nil)), "KHQR_MISSING_TAG"),
        ("no country", payload(replacing("58", with: nil)), "KHQR_MISSING_TAG"),
        ("no merchant name", payload(replacing("59", with: nil)), "KHQR_MISSING_TAG"),
        ("no merchant city", payload(replacing("60", with: nil)), "KHQR_MISSING_TAG"),
        ("format indicator 02", payload(replacing("00", with: "02")), "KHQR_BAD_VALUE"),
        ("initiation 13", payload(replacing("01", with: "13")), "KHQR_BAD_VALUE"),
        ("initiation length", payload(replacing("01", with: "012")), "KHQR_BAD_LENGTH"),
        ("category length", payload(replacing("52", with: "599")), "KHQR_BAD_LENGTH"),
        ("category letters", payload(replacing("52", with: "59A9")), "KHQR_BAD_VALUE"),
        ("CNY", payload(replacing("53", with: "156")), "KHQR_UNSUPPORTED_CURRENCY"),
        ("currency length", payload(replacing("53", with: "1160")), "KHQR_BAD_LENGTH"),
        ("KHR fraction", payload(replacing("54", with: "150.50")), "KHQR_BAD_AMOUNT"),
        ("three decimals", payload(replacing("54", with: "15.555")), "KHQR_BAD_AMOUNT"),
        ("zero amount", payload(replacing("54", with: "0")), "KHQR_BAD_AMOUNT"),
        ("negative amount", payload(replacing("54", with: "-5")), "KHQR_BAD_AMOUNT"),
        ("exponent amount", payload(replacing("54", with: "1e3")), "KHQR_BAD_AMOUNT"),
        ("leading zero", payload(replacing("54", with: "0150")), "KHQR_BAD_AMOUNT"),
        ("amount too long", payload(replacing("54", with: "12345678901234")), "KHQR_BAD_LENGTH"),
        ("dynamic without amount", payload(replacing("54", with: nil)), "KHQR_AMOUNT_RULE"),
        ("static with amount", payload(replacing("01", with: "11")), "KHQR_AMOUNT_RULE"),
        ("country length", payload(replacing("58", with: "KHM")), "KHQR_BAD_LENGTH"),
        ("country lower case", payload(replacing("58", with: "kh")), "KHQR_BAD_VALUE"),
        ("empty merchant name", payload(replacing("59", with: "")), "KHQR_BAD_LENGTH"),
        ("city too long", payload(replacing("60", with: String(repeating: "c", count: 16))), "KHQR_BAD_LENGTH"),
        ("account without @", payload(replacing("29", with: tlv("00", "sokha"))), "KHQR_BAD_VALUE"),
        ("account too long", payload(replacing("29", with: tlv("00", String(repeating: "a", count: 30) + "@aba"))), "KHQR_BAD_LENGTH"),
        ("unknown sub-tag in 29", payload(replacing("29", with: tlv("00", "sokha@aba") + tlv("05", "x"))), "KHQR_BAD_VALUE"),
        ("bill number too long", payload(baseFields() + [("62", tlv("01", String(repeating: "b", count: 26)))]), "KHQR_BAD_LENGTH"),
        ("bad timestamp", payload(replacing("99", with: tlv("00", "17952586000x0"))), "KHQR_BAD_VALUE"),
        ("short timestamp", payload(replacing("99", with: tlv("00", "179525860000"))), "KHQR_BAD_LENGTH"),
        ("expiry before creation", payload(replacing("99", with: tlv("00", "1795258600000") + tlv("01", "1795258500000"))), "KHQR_BAD_VALUE"),
    ]

    @Test(arguments: cases)
    func refusesWithASpecificError(_ c: (String, String, String)) {
        do {
            _ = try KHQR.decode(c.1)
            Issue.record("\(c.0): decoded, expected \(c.2)")
        } catch {
            #expect(error.code == c.2, "\(c.0): \(error)")
        }
    }

    @Test func crcFieldInsideAValueIsNotTheEnd() {
        // The last 8 characters read 6304 and the right CRC, but they belong to the city's value.
        let body = baseFields().filter { $0.0 != "60" }.map { tlv($0.0, $0.1) }.joined() + "6012City6304"
        let text = body + String(format: "%04X", crc16CCITTFalse(body))
        #expect(throws: KHQRError.malformed(offset: text.unicodeScalars.count - 8, reason: "the CRC field (63) must be the last field")) {
            try KHQR.decode(text)
        }
    }
}
