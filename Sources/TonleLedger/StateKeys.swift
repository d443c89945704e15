import TonleCrypto
import TonleTypes

/// Where each record lives in the state map: SHA-256 of a one-byte namespace and an identifier,
/// so keys are evenly spread over the tree and namespaces never collide (docs/errors.md, "State").
public enum StateKey {
    public static let accountNamespace: UInt8 = 0x01
    public static let participantNamespace: UInt8 = 0x02
    public static let holdNamespace: UInt8 = 0x03
    public static let dedupeNamespace: UInt8 = 0x04
    public static let blockTransactionsNamespace: UInt8 = 0x05
    public static let holdExpiryNamespace: UInt8 = 0x06
    public static let metaNamespace: UInt8 = 0x07
    public static let validatorsNamespace: UInt8 = 0x08

    public static func account(_ id: AccountID) -> Digest { hash(accountNamespace, Array(id.text.utf8)) }
    public static func participant(_ id: InstitutionID) -> Digest { hash(participantNamespace, Array(id.text.utf8)) }
    public static func hold(_ id: ID128) -> Digest { hash(holdNamespace, id.bytes) }
    public static func dedupe(_ id: TransactionID) -> Digest { hash(dedupeNamespace, id.digest.bytes) }
    /// The ids of the transactions a block included, kept until replay protection lets them go.
    public static func blockTransactions(height: UInt64) -> Digest { hash(blockTransactionsNamespace, bigEndian(height)) }
    /// The holds that expire in one second of block time.
    public static func holdExpiry(second: UInt64) -> Digest { hash(holdExpiryNamespace, bigEndian(second)) }
    public static let meta = hash(metaNamespace, [])
    public static let validators = hash(validatorsNamespace, [])

    static func hash(_ namespace: UInt8, _ bytes: [UInt8]) -> Digest { SHA256.hash([namespace] + bytes) }
    static func bigEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
}
