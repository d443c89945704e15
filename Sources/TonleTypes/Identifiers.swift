import TonleCrypto

/// Why a piece of text is not a valid identifier. The description says what to change.
public enum IdentifierError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty(kind: String)
    case tooLong(kind: String, bytes: Int, max: Int)
    case tooShort(kind: String, bytes: Int, min: Int)
    case upperCase(kind: String, suggestion: String)
    case invalidCharacter(kind: String, character: Unicode.Scalar)
    case badEdge(kind: String)
    case repeatedPunctuation(kind: String)
    case missingAt
    case extraAt

    public var description: String {
        switch self {
        case .empty(let kind): "\(kind) is empty"
        case .tooLong(let kind, let bytes, let max): "\(kind) is \(bytes) bytes; at most \(max) allowed"
        case .tooShort(let kind, let bytes, let min): "\(kind) is \(bytes) bytes; at least \(min) needed"
        case .upperCase(let kind, let suggestion): "\(kind) must be lower case: use '\(suggestion)'"
        case .invalidCharacter(let kind, let character):
            "\(kind) may not contain U+\(String(character.value, radix: 16, uppercase: true)) ('\(character)'): use a–z, 0–9 and the allowed punctuation"
        case .badEdge(let kind): "\(kind) must start with a letter or digit and end with one (institutions start with a letter)"
        case .repeatedPunctuation(let kind): "\(kind) may not have two punctuation characters in a row"
        case .missingAt: "an account id is name@institution, and has no '@'"
        case .extraAt: "an account id has exactly one '@'"
        }
    }
}

/// Shared validation of lower-case ASCII identifiers (docs/data-model.md, "Identifiers").
enum IdentifierRules {
    static func isLowerAlnum(_ c: UInt8) -> Bool { (97...122).contains(c) || (48...57).contains(c) }
    static func isLetter(_ c: UInt8) -> Bool { (97...122).contains(c) }

    /// `text` is `min...max` bytes of lower-case letters, digits and `punctuation`; starts with a
    /// letter (or, unless `letterFirst`, a digit); ends with a letter or digit; no two
    /// punctuation characters in a row. One pass over the UTF-8 bytes; the slow Unicode work is
    /// done only to word an error.
    static func check(
        _ text: some StringProtocol, kind: String, min: Int, max: Int, punctuation: Set<UInt8>, letterFirst: Bool
    ) throws(IdentifierError) {
        let utf8 = text.utf8
        guard !utf8.isEmpty else { throw .empty(kind: kind) }
        guard utf8.count <= max else { throw .tooLong(kind: kind, bytes: utf8.count, max: max) }
        guard utf8.count >= min else { throw .tooShort(kind: kind, bytes: utf8.count, min: min) }
        // A bit mask of the punctuation bytes (all ASCII): no hashing per byte.
        var mask: UInt128 = 0
        for byte in punctuation where byte < 128 { mask |= 1 << byte }
        var previousPunctuation = false, first = true, last: UInt8 = 0
        for byte in utf8 {
            let isPunctuation = byte < 128 && mask & (1 << byte) != 0
            guard isLowerAlnum(byte) || isPunctuation else { throw invalid(text, kind: kind, punctuation: punctuation) }
            if first, !(letterFirst ? isLetter(byte) : isLowerAlnum(byte)) { throw .badEdge(kind: kind) }
            if isPunctuation, previousPunctuation { throw .repeatedPunctuation(kind: kind) }
            (previousPunctuation, first, last) = (isPunctuation, false, byte)
        }
        guard isLowerAlnum(last) else { throw .badEdge(kind: kind) }
    }

    /// The error for a text with a character outside the allowed set.
    private static func invalid(_ text: some StringProtocol, kind: String, punctuation: Set<UInt8>) -> IdentifierError {
        if text.utf8.contains(where: { (65...90).contains($0) }) { return .upperCase(kind: kind, suggestion: text.lowercased()) }
        let bad = text.unicodeScalars.first { !($0.isASCII && (isLowerAlnum(UInt8($0.value)) || punctuation.contains(UInt8($0.value)))) }!
        return .invalidCharacter(kind: kind, character: bad)
    }
}

/// A participant (institution): `aclb`, `wing`, `upi`, `nbc`. 2–16 bytes of `a–z`, `0–9` and
/// `-`; starts with a letter, ends with a letter or digit.
public struct InstitutionID: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    static let punctuation: Set<UInt8> = [UInt8(ascii: "-")]
    public let text: String

    public init(_ text: String) throws(IdentifierError) {
        try IdentifierRules.check(
            text, kind: "institution id", min: Limits.institutionIDBytesMin, max: Limits.institutionIDBytesMax,
            punctuation: InstitutionID.punctuation, letterFirst: true)
        self.text = text
    }

    public var description: String { text }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.text.utf8.lexicographicallyPrecedes(rhs.text.utf8) }

    public func encode(to writer: inout CanonicalWriter) { writer.string(text) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let text = try reader.string("institution id", max: Limits.institutionIDBytesMax)
        do { try self.init(text) } catch { throw .invalidValue(field: "institution id", reason: error.description) }
    }
}

/// An account: `name@institution`, e.g. `sokha@aclb`, `merchant.kampot@wing`, `prefund@upi`.
/// The name is 1–32 bytes of `a–z`, `0–9`, `.`, `_`, `-`, starting and ending with a letter or
/// digit, no two punctuation characters in a row; the institution is an `InstitutionID`.
/// Lower case only, so one account has one spelling (and one encoding).
public struct AccountID: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    static let namePunctuation: Set<UInt8> = [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-")]
    public let text: String

    public init(_ text: String) throws(IdentifierError) {
        let at = text.utf8.split(separator: UInt8(ascii: "@"), maxSplits: 2, omittingEmptySubsequences: false)
        guard at.count >= 2 else { throw .missingAt }
        guard at.count == 2 else { throw .extraAt }
        if text.utf8.contains(where: { (65...90).contains($0) }) {
            throw .upperCase(kind: "account id", suggestion: text.lowercased())
        }
        let separator = text.utf8.firstIndex(of: UInt8(ascii: "@"))!
        try IdentifierRules.check(
            text[..<separator], kind: "account name", min: 1, max: Limits.accountNameBytesMax,
            punctuation: AccountID.namePunctuation, letterFirst: false)
        try IdentifierRules.check(
            text[text.utf8.index(after: separator)...], kind: "institution id", min: Limits.institutionIDBytesMin,
            max: Limits.institutionIDBytesMax, punctuation: InstitutionID.punctuation, letterFirst: true)
        self.text = text
    }

    /// The part before `@`.
    public var name: Substring { text[..<text.firstIndex(of: "@")!] }
    /// The institution that owns the account.
    public var institution: InstitutionID { try! InstitutionID(String(text[text.index(after: text.firstIndex(of: "@")!)...])) }

    public var description: String { text }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.text.utf8.lexicographicallyPrecedes(rhs.text.utf8) }

    public func encode(to writer: inout CanonicalWriter) { writer.string(text) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let text = try reader.string("account id", max: Limits.accountIDBytesMax)
        do { try self.init(text) } catch { throw .invalidValue(field: "account id", reason: error.description) }
    }
}

/// The network's name, signed into every transaction, vote and block so that nothing signed for
/// one network is valid on another: 1–32 bytes of `a–z`, `0–9`, `-`, starting with a letter.
public struct ChainID: Hashable, Sendable, CustomStringConvertible, CanonicalCodable {
    public let text: String

    public init(_ text: String) throws(IdentifierError) {
        try IdentifierRules.check(
            text, kind: "chain id", min: 1, max: Limits.chainIDBytesMax, punctuation: [UInt8(ascii: "-")],
            letterFirst: true)
        self.text = text
    }

    public var description: String { text }

    public func encode(to writer: inout CanonicalWriter) { writer.string(text) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let text = try reader.string("chain id", max: Limits.chainIDBytesMax)
        do { try self.init(text) } catch { throw .invalidValue(field: "chain id", reason: error.description) }
    }
}

/// What a participant is. The raw values are the encoding.
public enum ParticipantRole: UInt8, Sendable, CaseIterable, CanonicalByteEnum {
    case centralBank = 1
    case bank = 2
    case paymentProvider = 3
    case gateway = 4

    public static let fieldName = "role"
}

/// 128 bits chosen by a client: a transaction's client id, a hold's id. Sixteen bytes inline.
public struct ID128: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) { (self.high, self.low) = (high, low) }

    /// 32 hexadecimal digits, most significant first.
    public init?(hex: String) {
        guard hex.utf8.count == 32, let bytes = Hex.decode(hex) else { return nil }
        let fold = { (bytes: ArraySlice<UInt8>) in bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        (high, low) = (fold(bytes[0..<8]), fold(bytes[8..<16]))
    }

    /// Big-endian bytes: the encoding, and the order of `hex`.
    public var bytes: [UInt8] { (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (56 - 8 * (i % 8))) } }
    public var description: String { Hex.encode(bytes) }
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    public func encode(to writer: inout CanonicalWriter) { writer.raw(bytes) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let bytes = try reader.take(16, "id128")
        let fold = { (bytes: ArraySlice<UInt8>) in bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        let start = bytes.startIndex
        (high, low) = (fold(bytes[start..<start + 8]), fold(bytes[start + 8..<start + 16]))
    }
}

/// Block time: milliseconds since 1970-01-01T00:00:00Z. The ledger never reads a clock; block time
/// comes from the proposer and is bounded by consensus.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible, CanonicalCodable {
    public let millisecondsSinceEpoch: UInt64

    public init(millisecondsSinceEpoch: UInt64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    public var description: String { "\(millisecondsSinceEpoch)ms" }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }

    public func encode(to writer: inout CanonicalWriter) { writer.u64(millisecondsSinceEpoch) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        millisecondsSinceEpoch = try reader.u64("timestamp")
    }
}
