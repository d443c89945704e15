/// Why a KHQR payload could not be decoded (or a code could not be encoded). Each case has a
/// stable `code` (`KHQR_CRC_MISMATCH`) for scripts and the API, and a message for people.
public enum KHQRError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    /// The payload is longer than EMVCo's 512 characters.
    case tooLong(characters: Int, max: Int)
    /// No `6304XXXX` at the end.
    case crcMissing
    case crcMismatch(stated: String, computed: String)
    /// A field's tag or length is not two digits, or its value runs past the end.
    case malformed(offset: Int, reason: String)
    case duplicateTag(String)
    case missingTag(String, field: String)
    /// A value is empty, too long, or not the fixed length its field requires.
    case badLength(String, field: String, length: Int, rule: String)
    case badValue(String, field: String, reason: String)
    /// Tag 53 is a currency other than KHR (116) or USD (840).
    case unsupportedCurrency(String)
    case badAmount(String, reason: String)
    /// A dynamic code (tag 01 = 12) without an amount, or a static one (11) with one.
    case amountRule(String)
    case expired(expiresAtMilliseconds: UInt64, nowMilliseconds: UInt64)

    public var code: String {
        switch self {
        case .empty: "KHQR_EMPTY"
        case .tooLong: "KHQR_TOO_LONG"
        case .crcMissing: "KHQR_CRC_MISSING"
        case .crcMismatch: "KHQR_CRC_MISMATCH"
        case .malformed: "KHQR_MALFORMED"
        case .duplicateTag: "KHQR_DUPLICATE_TAG"
        case .missingTag: "KHQR_MISSING_TAG"
        case .badLength: "KHQR_BAD_LENGTH"
        case .badValue: "KHQR_BAD_VALUE"
        case .unsupportedCurrency: "KHQR_UNSUPPORTED_CURRENCY"
        case .badAmount: "KHQR_BAD_AMOUNT"
        case .amountRule: "KHQR_AMOUNT_RULE"
        case .expired: "KHQR_EXPIRED"
        }
    }

    public var description: String {
        switch self {
        case .empty: "the payload is empty"
        case .tooLong(let n, let max): "the payload has \(n) characters; at most \(max) are allowed"
        case .crcMissing: "the payload does not end with a CRC field (6304 and four hex digits)"
        case .crcMismatch(let stated, let computed): "the CRC is \(stated) but the payload's CRC-16/CCITT-FALSE is \(computed)"
        case .malformed(let offset, let reason): "malformed field at character \(offset): \(reason)"
        case .duplicateTag(let tag): "tag \(tag) appears more than once"
        case .missingTag(let tag, let field): "the mandatory tag \(tag) (\(field)) is missing"
        case .badLength(let tag, let field, let length, let rule): "tag \(tag) (\(field)) has \(length) characters; \(rule)"
        case .badValue(let tag, let field, let reason): "tag \(tag) (\(field)): \(reason)"
        case .unsupportedCurrency(let code): "currency \(code) is not supported (KHR is 116, USD is 840)"
        case .badAmount(let text, let reason): "amount '\(text)': \(reason)"
        case .amountRule(let reason): reason
        case .expired(let at, let now): "the code expired at \(at) ms; it is now \(now) ms"
        }
    }
}
