import TonleCrypto

/// Appends the canonical encoding (docs/encoding.md): little-endian fixed-width integers,
/// u32-length-prefixed byte strings and lists, one-byte presence flags. Writing cannot fail:
/// values that exist are valid, so limits are checked when values are made, not here.
public struct CanonicalWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { littleEndian(value) }
    public mutating func u32(_ value: UInt32) { littleEndian(value) }
    public mutating func u64(_ value: UInt64) { littleEndian(value) }
    public mutating func i64(_ value: Int64) { littleEndian(value) }
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func bytes32(_ value: Bytes32) { value.withUnsafeBytes { bytes.append(contentsOf: $0) } }
    public mutating func raw(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }

    /// A u32 length, then the bytes.
    public mutating func lengthPrefixed(_ value: some Collection<UInt8>) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// UTF-8 bytes with a u32 length prefix.
    public mutating func string(_ value: String) { lengthPrefixed(value.utf8) }

    /// A u32 count, then each element.
    public mutating func list<T>(_ values: [T], _ element: (inout CanonicalWriter, T) -> Void) {
        u32(UInt32(values.count))
        for value in values { element(&self, value) }
    }

    /// A u32 count, then each element's encoding.
    public mutating func list<T: CanonicalCodable>(_ values: [T]) {
        list(values) { writer, value in value.encode(to: &writer) }
    }

    /// 0 for absent; 1 then the value for present.
    public mutating func optional<T>(_ value: T?, _ element: (inout CanonicalWriter, T) -> Void) {
        guard let value else { return u8(0) }
        u8(1)
        element(&self, value)
    }

    /// The message header: kind, then version.
    public mutating func header<M: CanonicalMessage>(_: M.Type) {
        u8(M.kind.rawValue)
        u8(M.version)
    }

    private mutating func littleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
