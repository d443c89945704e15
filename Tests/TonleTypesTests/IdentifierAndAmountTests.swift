import Testing
import TonleTypes

@Suite struct IdentifierTests {
    @Test(arguments: ["sokha@aclb", "merchant.kampot@wing", "prefund@upi", "a@bc", "0@x9", "x_y-z.1@alipay-plus",
                      String(repeating: "n", count: 32) + "@" + String(repeating: "i", count: 16)])
    func validAccounts(_ text: String) throws {
        let id = try AccountID(text)
        #expect(id.text == text)
        #expect(id.institution.text == String(text.split(separator: "@")[1]))
        #expect(id.name == text.split(separator: "@")[0])
    }

    @Test(arguments: [
        ("sokha", IdentifierError.missingAt),
        ("a@b@c", .extraAt),
        ("@aclb", .empty(kind: "account name")),
        ("sokha@", .empty(kind: "institution id")),
        ("Sokha@aclb", .upperCase(kind: "account id", suggestion: "sokha@aclb")),
        ("sokha@ACLB", .upperCase(kind: "account id", suggestion: "sokha@aclb")),
        ("so kha@aclb", .invalidCharacter(kind: "account name", character: " ")),
        ("សុខា@aclb", .invalidCharacter(kind: "account name", character: "ស")),
        (".sokha@aclb", .badEdge(kind: "account name")),
        ("sokha.@aclb", .badEdge(kind: "account name")),
        ("so..kha@aclb", .repeatedPunctuation(kind: "account name")),
        ("sokha@1bank", .badEdge(kind: "institution id")),
        ("sokha@a", .tooShort(kind: "institution id", bytes: 1, min: 2)),
        (String(repeating: "n", count: 33) + "@aclb", .tooLong(kind: "account name", bytes: 33, max: 32)),
        ("sokha@" + String(repeating: "i", count: 17), .tooLong(kind: "institution id", bytes: 17, max: 16)),
        ("sokha@a_b", .invalidCharacter(kind: "institution id", character: "_")),
    ])
    func invalidAccounts(_ text: String, _ expected: IdentifierError) {
        #expect(throws: expected) { try AccountID(text) }
    }

    @Test func errorMessagesSayWhatToDo() {
        #expect(IdentifierError.upperCase(kind: "account name", suggestion: "sokha").description.contains("use 'sokha'"))
        #expect(IdentifierError.invalidCharacter(kind: "account name", character: " ").description.contains("U+20"))
    }

    @Test func chainIDsAndOrdering() throws {
        #expect(try ChainID("tonle-local-1").text == "tonle-local-1")
        #expect(throws: IdentifierError.badEdge(kind: "chain id")) { try ChainID("1tonle") }
        let sorted = try ["b@aa", "a@zz", "a.b@aa", "a@ab"].map(AccountID.init).sorted()
        #expect(sorted.map(\.text) == ["a.b@aa", "a@ab", "a@zz", "b@aa"], "byte order, not locale order")
    }

    @Test func id128HexIsBigEndian() throws {
        let id = try #require(ID128(hex: "000102030405060708090a0b0c0d0e0f"))
        #expect(id.high == 0x0001_0203_0405_0607 && id.low == 0x0809_0a0b_0c0d_0e0f)
        #expect(id.bytes == Array(0...15))
        #expect(id.description == "000102030405060708090a0b0c0d0e0f")
        #expect(ID128(hex: "0001") == nil)
    }
}

@Suite struct AmountTests {
    @Test(arguments: [
        ("0", Currency.usd, Int64(0)), ("12", .usd, 1200), ("12.5", .usd, 1250), ("12.50", .usd, 1250), ("0.01", .usd, 1),
        ("1250", .khr, 1250), ("0", .khr, 0), ("92233720368547758.07", .usd, Int64.max), ("9223372036854775807", .khr, Int64.max),
    ])
    func parses(_ text: String, _ currency: Currency, _ minorUnits: Int64) throws {
        #expect(try Amount(parsing: text, currency: currency) == Amount(minorUnits, currency))
    }

    @Test(arguments: [
        ("", Currency.usd, AmountError.empty),
        ("-1", .usd, .invalidCharacter("-")), ("+1", .usd, .invalidCharacter("+")),
        (" 1", .usd, .invalidCharacter(" ")), ("1 ", .usd, .invalidCharacter(" ")), ("1\n", .usd, .invalidCharacter("\n")),
        ("1e3", .usd, .invalidCharacter("e")), ("1,000", .usd, .invalidCharacter(",")), ("១០", .khr, .invalidCharacter("១")),
        ("1.2.3", .usd, .invalidCharacter(".")), (".5", .usd, .missingDigits), ("5.", .usd, .missingDigits),
        ("05", .usd, .leadingZero), ("00.5", .usd, .leadingZero),
        ("1.234", .usd, .tooManyFractionDigits(currency: .usd, max: 2)), ("1.0", .khr, .tooManyFractionDigits(currency: .khr, max: 0)),
        ("92233720368547758.08", .usd, .overflow), ("9223372036854775808", .khr, .overflow),
        (String(repeating: "1", count: 33), .khr, .tooLong(max: 32)),
    ])
    func rejects(_ text: String, _ currency: Currency, _ expected: AmountError) {
        #expect(throws: expected) { try Amount(parsing: text, currency: currency) }
    }

    @Test func formatsWithTheCurrencyExponent() throws {
        #expect(Amount(1250, .usd).decimalString == "12.50")
        #expect(Amount(5, .usd).decimalString == "0.05")
        #expect(Amount(-5, .usd).decimalString == "-0.05")
        #expect(Amount(0, .usd).decimalString == "0.00")
        #expect(Amount(1250, .khr).decimalString == "1250")
        #expect(Amount(.min, .usd).decimalString == "-92233720368547758.08")
        #expect(Amount(1250, .khr).description == "1250 KHR")
        var r = SeededRandom(seed: 1)
        for _ in 0..<1_000 {   // formatting then parsing gives the amount back
            let amount = Amount(Int64.random(in: 0...Int64.max, using: &r), r.pick(Currency.allCases))
            #expect(try Amount(parsing: amount.decimalString, currency: amount.currency) == amount)
        }
    }

    @Test func checkedArithmetic() throws {
        #expect(try Amount(100, .khr).adding(Amount(50, .khr)) == Amount(150, .khr))
        #expect(try Amount(100, .khr).subtracting(Amount(150, .khr)) == Amount(-50, .khr))
        #expect(throws: AmountError.overflow) { try Amount(.max, .usd).adding(Amount(1, .usd)) }
        #expect(throws: AmountError.overflow) { try Amount(.min, .usd).subtracting(Amount(1, .usd)) }
        #expect(throws: AmountError.currencyMismatch(.khr, .usd)) { try Amount(1, .khr).adding(Amount(1, .usd)) }
        #expect(Currency(code: "KHR") == .khr && Currency(code: "CNY") == nil)
        #expect(Currency.khr.rawValue == 116 && Currency.usd.rawValue == 840)
    }
}
