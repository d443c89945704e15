import TonleCrypto

/// Every bound the data model enforces, in one place (docs/encoding.md lists them). Decoders check
/// these before allocating; constructors check them before a value exists.
public enum Limits {
    public static let chainIDBytesMax = 32
    public static let accountNameBytesMax = 32
    public static let institutionIDBytesMin = 2
    public static let institutionIDBytesMax = 16
    /// name (32) + "@" + institution (16).
    public static let accountIDBytesMax = accountNameBytesMax + 1 + institutionIDBytesMax
    /// Free-text payment reference (ISO 20022's unstructured remittance information is 140).
    public static let referenceBytesMax = 140
    public static let displayNameBytesMax = 100
    public static let externalReferenceBytesMax = 64
    public static let khqrPayloadBytesMax = 512
    public static let purposeCodeBytesMax = 32
    public static let amountTextBytesMax = 32

    public static let accountKeysMax = 8
    public static let transactionCommandsMax = 64
    public static let transactionSignaturesMax = 16
    public static let transactionBytesMax = 64 << 10

    /// The highest block height anything names: the store keeps heights as signed 64-bit
    /// integers, so 2^63 and above can never exist. Heights from outside (a request, a peer, a
    /// file) above it are refused at the edge.
    public static let heightMax = UInt64(Int64.max)

    public static let blockTransactionsMax = 8_192
    public static let blockBytesMax = 16 << 20
    public static let validatorsMax = 128
    public static let validatorPowerMax: UInt64 = 1 << 40
    /// Keeps `3 * totalPower` far from overflow in quorum arithmetic.
    public static let votingPowerTotalMax: UInt64 = 1 << 50

    /// The latest expiry a transaction may carry, from the block that includes it. The ledger
    /// remembers every transaction id for this long, so it bounds the replay-protection index.
    public static let transactionLifetimeMaxMilliseconds: UInt64 = 3_600_000
    /// The longest hold, in block time.
    public static let holdTimeoutMaxMilliseconds: UInt64 = 30 * 86_400_000
    /// Holds that may expire in the same second; more is refused (`CAPACITY_EXCEEDED`).
    public static let holdsPerExpirySecondMax = 10_000

    public static let genesisParticipantsMax = 1_024
    public static let genesisAccountsMax = 100_000
    public static let genesisBytesMax = 64 << 20
}
