/// The kinds of cross-border settlement entry (DESIGN §6). The raw values are the encoding.
public enum SettlementKind: UInt8, Sendable, CaseIterable, CanonicalByteEnum {
    case inwardQRPayment = 1
    case outwardQRPayment = 2
    case inwardRemittance = 3
    case outwardRemittance = 4
    case refund = 5
    case reversal = 6
    case prefundTopUp = 7
    case netSettlement = 8

    public static let fieldName = "settlement kind"
}

/// A cross-border settlement entry submitted by a gateway. This version carries the fields every
/// kind needs; the cross-border work adds the FX quote and foreign amount (a new transaction
/// version, since the network has not launched).
public struct SettlementEntry: Hashable, Sendable, CanonicalCodable {
    public var kind: SettlementKind
    public var gateway: InstitutionID
    /// The gateway's own reference; with the gateway and kind it is unique forever.
    public var externalReference: String
    /// The only amount that moves, in KHR or USD.
    public var amount: Amount
    public var debtor: AccountID
    public var creditor: AccountID
    /// The KHQR payload scanned, for QR payments.
    public var khqrPayload: String?
    public var purposeCode: String?

    public init(
        kind: SettlementKind, gateway: InstitutionID, externalReference: String, amount: Amount,
        debtor: AccountID, creditor: AccountID, khqrPayload: String? = nil, purposeCode: String? = nil
    ) throws(DecodeError) {
        try Self.checkText(externalReference, khqrPayload, purposeCode)
        (self.kind, self.gateway, self.externalReference, self.amount) = (kind, gateway, externalReference, amount)
        (self.debtor, self.creditor, self.khqrPayload, self.purposeCode) = (debtor, creditor, khqrPayload, purposeCode)
    }

    private static func checkText(_ reference: String, _ khqr: String?, _ purpose: String?) throws(DecodeError) {
        guard !reference.isEmpty else { throw .invalidValue(field: "external reference", reason: "empty") }
        try TextRules.check(reference, field: "external reference", max: Limits.externalReferenceBytesMax)
        if let khqr { try TextRules.check(khqr, field: "khqr payload", max: Limits.khqrPayloadBytesMax) }
        if let purpose { try TextRules.check(purpose, field: "purpose code", max: Limits.purposeCodeBytesMax) }
    }

    public func encode(to writer: inout CanonicalWriter) {
        kind.encode(to: &writer)
        gateway.encode(to: &writer)
        writer.string(externalReference)
        amount.encode(to: &writer)
        debtor.encode(to: &writer)
        creditor.encode(to: &writer)
        writer.optional(khqrPayload) { w, text in w.string(text) }
        writer.optional(purposeCode) { w, text in w.string(text) }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try self.init(
            kind: SettlementKind(from: &reader), gateway: InstitutionID(from: &reader),
            externalReference: reader.string("external reference", max: Limits.externalReferenceBytesMax),
            amount: Amount(from: &reader), debtor: AccountID(from: &reader), creditor: AccountID(from: &reader),
            khqrPayload: reader.optional("khqr payload") { (r: inout CanonicalReader) throws(DecodeError) in
                try r.string("khqr payload", max: Limits.khqrPayloadBytesMax)
            },
            purposeCode: reader.optional("purpose code") { (r: inout CanonicalReader) throws(DecodeError) in
                try r.string("purpose code", max: Limits.purposeCodeBytesMax)
            })
    }
}
