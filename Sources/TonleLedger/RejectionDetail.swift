import KHQR
import TonleTypes

/// The specific rule behind a rejection, where the code alone leaves it open: which KHQR rule
/// (`KHQR_INVALID`), which part of a settlement entry's shape (`ENTRY_INVALID`), what is wrong
/// with an FX quote (`FX_INVALID`). Numbers and names are stable, like the codes: they are stored
/// in block results and documented in docs/errors.md.
public enum RejectionDetail: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    // KHQR_INVALID: the payload's decoding error (docs/khqr.md).
    case khqrEmpty = 1
    case khqrTooLong = 2
    case khqrCRCMissing = 3
    case khqrCRCMismatch = 4
    case khqrMalformed = 5
    case khqrDuplicateTag = 6
    case khqrMissingTag = 7
    case khqrBadLength = 8
    case khqrBadValue = 9
    case khqrUnsupportedCurrency = 10
    case khqrBadAmount = 11
    case khqrAmountRule = 12
    case khqrExpired = 13
    // ENTRY_INVALID: the entry's shape for its kind (docs/settlement.md).
    /// A refund or reversal names the entry it returns; no other kind does.
    case entryOriginal = 20
    /// A net settlement carries a cycle statement; no other kind does.
    case entryCycle = 21
    /// An inward QR payment carries the KHQR it pays; no other kind does.
    case entryKHQR = 22
    /// A payment or remittance has a foreign amount.
    case entryForeignAmount = 23
    /// A prefund top-up or net settlement has no foreign leg.
    case entryFundingForeignLeg = 24
    /// An FX quote without a foreign amount.
    case entryQuoteWithoutForeignAmount = 25
    /// The returned entry is of the other direction, another account or currency.
    case entryOriginalMismatch = 26
    /// The entry's account is not one its kind may move money from or to.
    case entryAccount = 27
    // FX_INVALID.
    /// A foreign amount without an FX quote.
    case fxQuoteMissing = 30
    /// The quote is not between the foreign currency and the settlement currency.
    case fxQuotePair = 31

    /// The KHQR rule a decoding error broke.
    public init(_ error: KHQRError) {
        switch error {
        case .empty: self = .khqrEmpty
        case .tooLong: self = .khqrTooLong
        case .crcMissing: self = .khqrCRCMissing
        case .crcMismatch: self = .khqrCRCMismatch
        case .malformed: self = .khqrMalformed
        case .duplicateTag: self = .khqrDuplicateTag
        case .missingTag: self = .khqrMissingTag
        case .badLength: self = .khqrBadLength
        case .badValue: self = .khqrBadValue
        case .unsupportedCurrency: self = .khqrUnsupportedCurrency
        case .badAmount: self = .khqrBadAmount
        case .amountRule: self = .khqrAmountRule
        case .expired: self = .khqrExpired
        }
    }

    /// The stable name: `KHQR_CRC_MISMATCH`, `ENTRY_ORIGINAL`, `FX_QUOTE_PAIR`.
    public var name: String {
        switch self {
        case .khqrEmpty: "KHQR_EMPTY"
        case .khqrTooLong: "KHQR_TOO_LONG"
        case .khqrCRCMissing: "KHQR_CRC_MISSING"
        case .khqrCRCMismatch: "KHQR_CRC_MISMATCH"
        case .khqrMalformed: "KHQR_MALFORMED"
        case .khqrDuplicateTag: "KHQR_DUPLICATE_TAG"
        case .khqrMissingTag: "KHQR_MISSING_TAG"
        case .khqrBadLength: "KHQR_BAD_LENGTH"
        case .khqrBadValue: "KHQR_BAD_VALUE"
        case .khqrUnsupportedCurrency: "KHQR_UNSUPPORTED_CURRENCY"
        case .khqrBadAmount: "KHQR_BAD_AMOUNT"
        case .khqrAmountRule: "KHQR_AMOUNT_RULE"
        case .khqrExpired: "KHQR_EXPIRED"
        case .entryOriginal: "ENTRY_ORIGINAL"
        case .entryCycle: "ENTRY_CYCLE"
        case .entryKHQR: "ENTRY_KHQR"
        case .entryForeignAmount: "ENTRY_FOREIGN_AMOUNT"
        case .entryFundingForeignLeg: "ENTRY_FUNDING_FOREIGN_LEG"
        case .entryQuoteWithoutForeignAmount: "ENTRY_QUOTE_WITHOUT_FOREIGN_AMOUNT"
        case .entryOriginalMismatch: "ENTRY_ORIGINAL_MISMATCH"
        case .entryAccount: "ENTRY_ACCOUNT"
        case .fxQuoteMissing: "FX_QUOTE_MISSING"
        case .fxQuotePair: "FX_QUOTE_PAIR"
        }
    }

    public var description: String { name }
}
