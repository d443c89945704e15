/// Thirty-two bytes held inline (four words, no heap storage): the storage of `Digest`,
/// `Ed25519.PublicKey` and half of `Ed25519.Signature`.
///
/// The words hold the bytes in memory order; `Comparable` compares the bytes lexicographically,
/// so sorting by this type is sorting by the bytes on every machine.
public struct Bytes32: Hashable, Sendable, Comparable {
    public static let count = 32
    public static let zero = Bytes32(w0: 0, w1: 0, w2: 0, w3: 0)

    @usableFromInline var w0, w1, w2, w3: UInt64

    @inlinable init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// The bytes of `source`, which must hold exactly 32; nil otherwise.
    @inlinable public init?(_ source: some Collection<UInt8>) {
        guard source.count == Bytes32.count else { return nil }
        self = .zero
        let copied: Bool? = source.withContiguousStorageIfAvailable { bytes in
            withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
            return true
        }
        if copied == nil {
            withUnsafeMutableBytes { destination in
                for (index, byte) in source.enumerated() { destination[index] = byte }
            }
        }
    }

    /// Calls `body` with a 32-byte buffer to fill.
    @inlinable public init(filling body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self = .zero
        try withUnsafeMutableBytes(body)
    }

    @inlinable public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: self) { try body($0) }
    }

    /// Calls `body` with the 32 bytes to change in place.
    @inlinable public mutating func withUnsafeMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> R
    ) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &self) { try body($0) }
    }

    /// The 32 bytes as an array.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lower-case hexadecimal, 64 characters.
    public var hex: String { withUnsafeBytes { Hex.encode($0) } }

    /// Parses exactly 64 hexadecimal digits; nil otherwise.
    public init?(hex: some StringProtocol) {
        guard let bytes = Hex.decode(hex), let value = Bytes32(bytes) else { return nil }
        self = value
    }

    /// Hashes one word: Bytes32 values used as keys are digests or keys, whose bits are already
    /// uniform, so more words would cost time and add nothing. (Equality still compares all 32 bytes.)
    @inlinable public func hash(into hasher: inout Hasher) { hasher.combine(w0) }

    /// Byte order (the first byte most significant), compared a word at a time: the words hold
    /// the bytes in memory order, so each is read as big-endian.
    @inlinable public static func < (lhs: Bytes32, rhs: Bytes32) -> Bool {
        if lhs.w0 != rhs.w0 { return UInt64(bigEndian: lhs.w0) < UInt64(bigEndian: rhs.w0) }
        if lhs.w1 != rhs.w1 { return UInt64(bigEndian: lhs.w1) < UInt64(bigEndian: rhs.w1) }
        if lhs.w2 != rhs.w2 { return UInt64(bigEndian: lhs.w2) < UInt64(bigEndian: rhs.w2) }
        return UInt64(bigEndian: lhs.w3) < UInt64(bigEndian: rhs.w3)
    }
}
