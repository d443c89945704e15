import TonleCrypto
import TonleTypes

/// Where each record lives in the state map: SHA-256 of a one-byte namespace and an identifier,
/// so keys are evenly spread over the tree and namespaces never collide (docs/errors.md, "State").
public enum StateKey {
    public static let accountNamespace: UInt8 = 0x01
    public static let participantNamespace: UInt8 = 0x02
    public static let holdNamespace: UInt8 = 0x03
    public static let requestNamespace: UInt8 = 0x04
    public static let blockRequestsNamespace: UInt8 = 0x05
    public static let holdExpiryNamespace: UInt8 = 0x06
    public static let metaNamespace: UInt8 = 0x07
    public static let validatorsNamespace: UInt8 = 0x08
    public static let gatewayNamespace: UInt8 = 0x09
    public static let settlementNamespace: UInt8 = 0x0A
    public static let positionNamespace: UInt8 = 0x0B
    public static let khqrPaidNamespace: UInt8 = 0x0C
    public static let uetrNamespace: UInt8 = 0x0D
    public static let referenceRateNamespace: UInt8 = 0x0E

    public static func account(_ id: AccountID) -> Digest { hash(accountNamespace, Array(id.text.utf8)) }
    public static func participant(_ id: InstitutionID) -> Digest { hash(participantNamespace, Array(id.text.utf8)) }
    public static func hold(_ id: ID128) -> Digest { hash(holdNamespace, id.bytes) }
    /// A creator's request: the creator's id (UTF-8), then the 16 bytes of the client id.
    public static func request(_ creator: AccountID, _ clientID: ID128) -> Digest { hash(requestNamespace, Array(creator.text.utf8) + clientID.bytes) }
    /// The ids of the transactions a block included, kept until replay protection lets them go.
    public static func blockRequests(height: UInt64) -> Digest { hash(blockRequestsNamespace, bigEndian(height)) }
    /// The holds that expire in one second of block time.
    public static func holdExpiry(second: UInt64) -> Digest { hash(holdExpiryNamespace, bigEndian(second)) }
    public static let meta = hash(metaNamespace, [])
    public static let validators = hash(validatorsNamespace, [])

    /// A gateway's configuration (cut-off and limits).
    public static func gateway(_ id: InstitutionID) -> Digest { hash(gatewayNamespace, Array(id.text.utf8)) }
    /// A settlement entry by its idempotency key: gateway, reference class, external reference.
    public static func settlement(_ gateway: InstitutionID, _ referenceClass: SettlementReferenceClass, _ reference: String) -> Digest {
        hash(settlementNamespace, [UInt8(gateway.text.utf8.count)] + Array(gateway.text.utf8) + [referenceClass.rawValue] + Array(reference.utf8))
    }
    /// A gateway's position in one currency on one business date.
    public static func position(_ gateway: InstitutionID, _ currency: Currency, _ date: BusinessDate) -> Digest {
        let code = currency.rawValue, day = date.day
        return hash(positionNamespace, [UInt8(gateway.text.utf8.count)] + Array(gateway.text.utf8) + [UInt8(code >> 8), UInt8(code & 0xFF)] + bigEndian(UInt64(day)))
    }
    /// A dynamic KHQR that has been paid, by the SHA-256 of its payload's UTF-8 bytes.
    public static func khqrPaid(_ payloadDigest: Digest) -> Digest { hash(khqrPaidNamespace, payloadDigest.bytes) }
    public static func uetr(_ uetr: UETR) -> Digest { hash(uetrNamespace, uetr.id.bytes) }
    /// The reference rate of a pair (unit, quoted: three letters each) on a business date.
    public static func referenceRate(_ unit: String, _ quoted: String, _ date: BusinessDate) -> Digest {
        hash(referenceRateNamespace, Array(unit.utf8) + Array(quoted.utf8) + bigEndian(UInt64(date.day)))
    }

    static func hash(_ namespace: UInt8, _ bytes: [UInt8]) -> Digest { SHA256.hash([namespace] + bytes) }
    static func bigEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
}
