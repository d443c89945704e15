/// A value that is 32 bytes and nothing else (`Digest`, `Ed25519.PublicKey`): parsing, hex and
/// byte order come from here.
public protocol FixedBytes32: Hashable, Sendable, Comparable, CustomStringConvertible {
    var raw: Bytes32 { get }
    init(_ raw: Bytes32)
}

extension FixedBytes32 {
    /// The value held in exactly 32 bytes; nil otherwise.
    public init?(_ bytes: some Collection<UInt8>) {
        guard let raw = Bytes32(bytes) else { return nil }
        self.init(raw)
    }

    /// Parses exactly 64 hexadecimal digits.
    public init?(hex: some StringProtocol) {
        guard let raw = Bytes32(hex: hex) else { return nil }
        self.init(raw)
    }

    public var bytes: [UInt8] { raw.bytes }
    public var hex: String { raw.hex }
    public var description: String { raw.hex }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.raw < rhs.raw }
}
