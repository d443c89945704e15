import TonleTypes

/// Why the ledger refused a transaction. The numbers and names are stable: they are stored in
/// block results, returned by the API and documented in docs/errors.md.
public enum RejectionCode: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    // Before any command runs.
    case wrongChain = 1
    case expired = 2
    case expiryTooFar = 3
    /// The creator already sent this request (same client id, same commands): it ran once.
    case duplicateTransaction = 4
    case creatorNotFound = 5
    /// The creator already used this client id for a different request.
    case clientIDReused = 6
    // Authorisation.
    case quorumNotMet = 10
    case foreignAccount = 11
    case notCentralBank = 12
    case accountFrozen = 13
    // Accounts and money.
    case accountNotFound = 20
    case accountExists = 21
    case amountNotPositive = 22
    case amountOverflow = 23
    case insufficientFunds = 24
    case sameAccount = 25
    case limitExceeded = 26
    case limitInvalid = 27
    case issuanceAccount = 28
    case notIssuanceAccount = 29
    case issuanceOutsideCentralBank = 30
    // Holds.
    case holdExists = 40
    case holdNotFound = 41
    case holdExpired = 42
    case holdAmountInvalid = 43
    case holdTimeoutInvalid = 44
    // Participants and validators.
    case participantExists = 50
    case participantNotFound = 51
    case centralBankExists = 52
    case validatorExists = 53
    case validatorNotFound = 54
    case validatorSetInvalid = 55
    // Other.
    case capacityExceeded = 61
    // Cross-border settlement (docs/settlement.md).
    case notGateway = 70
    case entryInvalid = 71
    case duplicateReference = 72
    case duplicateReferenceMismatch = 73
    case fxMismatch = 74
    case fxInvalid = 75
    case quoteExpired = 76
    case insufficientPrefund = 77
    case khqrInvalid = 78
    case khqrMismatch = 79
    case khqrExpired = 80
    case khqrAlreadyPaid = 81
    case originalNotFound = 82
    case refundExceedsOriginal = 83
    case cycleMismatch = 84
    case cycleClosed = 85
    case cycleOpen = 86
    case currencyNotAllowed = 87
    /// A refund or reversal after its gateway's window (`GatewayConfig`) from the original's business date.
    case refundWindowClosed = 88
    case reversalWindowClosed = 89
    /// The entry's UETR is already another entry's.
    case duplicateUETR = 90
    /// The entry's FX quote lies outside the band of the central bank's reference rate for its pair and business date.
    case referenceRateDeviation = 91

    /// The stable name: `INSUFFICIENT_FUNDS`.
    public var name: String {
        var out = ""
        for character in caseName {
            if character.isUppercase { out += "_" }
            out += character.uppercased()
        }
        return out
    }

    private var caseName: String {
        switch self {
        case .wrongChain: "wrongChain"
        case .expired: "expired"
        case .expiryTooFar: "expiryTooFar"
        case .duplicateTransaction: "duplicateTransaction"
        case .creatorNotFound: "creatorNotFound"
        case .clientIDReused: "clientIdReused"
        case .quorumNotMet: "quorumNotMet"
        case .foreignAccount: "foreignAccount"
        case .notCentralBank: "notCentralBank"
        case .accountFrozen: "accountFrozen"
        case .accountNotFound: "accountNotFound"
        case .accountExists: "accountExists"
        case .amountNotPositive: "amountNotPositive"
        case .amountOverflow: "amountOverflow"
        case .insufficientFunds: "insufficientFunds"
        case .sameAccount: "sameAccount"
        case .limitExceeded: "limitExceeded"
        case .limitInvalid: "limitInvalid"
        case .issuanceAccount: "issuanceAccount"
        case .notIssuanceAccount: "notIssuanceAccount"
        case .issuanceOutsideCentralBank: "issuanceOutsideCentralBank"
        case .holdExists: "holdExists"
        case .holdNotFound: "holdNotFound"
        case .holdExpired: "holdExpired"
        case .holdAmountInvalid: "holdAmountInvalid"
        case .holdTimeoutInvalid: "holdTimeoutInvalid"
        case .participantExists: "participantExists"
        case .participantNotFound: "participantNotFound"
        case .centralBankExists: "centralBankExists"
        case .validatorExists: "validatorExists"
        case .validatorNotFound: "validatorNotFound"
        case .validatorSetInvalid: "validatorSetInvalid"
        case .capacityExceeded: "capacityExceeded"
        case .notGateway: "notGateway"
        case .entryInvalid: "entryInvalid"
        case .duplicateReference: "duplicateReference"
        case .duplicateReferenceMismatch: "duplicateReferenceMismatch"
        case .fxMismatch: "fxMismatch"
        case .fxInvalid: "fxInvalid"
        case .quoteExpired: "quoteExpired"
        case .insufficientPrefund: "insufficientPrefund"
        case .khqrInvalid: "khqrInvalid"
        case .khqrMismatch: "khqrMismatch"
        case .khqrExpired: "khqrExpired"
        case .khqrAlreadyPaid: "khqrAlreadyPaid"
        case .originalNotFound: "originalNotFound"
        case .refundExceedsOriginal: "refundExceedsOriginal"
        case .cycleMismatch: "cycleMismatch"
        case .cycleClosed: "cycleClosed"
        case .cycleOpen: "cycleOpen"
        case .currencyNotAllowed: "currencyNotAllowed"
        case .refundWindowClosed: "refundWindowClosed"
        case .reversalWindowClosed: "reversalWindowClosed"
        case .duplicateUETR: "duplicateUetr"
        case .referenceRateDeviation: "referenceRateDeviation"
        }
    }

    public var description: String { name }
}
