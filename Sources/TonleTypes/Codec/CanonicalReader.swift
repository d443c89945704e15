import TonleCrypto

/// Reads the canonical encoding one field at a time. Each read checks that the bytes are there;
/// each length and count is checked against its named limit and against the bytes that remain
/// before anything is allocated.
public struct CanonicalReader: Sendable {
    private let input: [UInt8]
    public private(set) var offset: Int

    public init(_ input: [UInt8]) {
        self.input = input
        offset = 0
    }

    public var remaining: Int { input.count - offset }

    /// Throws unless every byte has been read.
    public func finish() throws(DecodeError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }

    public mutating func u8(_ field: String) throws(DecodeError) -> UInt8 { try integer(field) }
    public mutating func u16(_ field: String) throws(DecodeError) -> UInt16 { try integer(field) }
    public mutating func u32(_ field: String) throws(DecodeError) -> UInt32 { try integer(field) }
    public mutating func u64(_ field: String) throws(DecodeError) -> UInt64 { try integer(field) }
    public mutating func i64(_ field: String) throws(DecodeError) -> Int64 { try integer(field) }

    /// 0 or 1; any other byte is not canonical.
    public mutating func bool(_ field: String) throws(DecodeError) -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .notCanonical(field: field, reason: "boolean byte \(other) is neither 0 nor 1")
        }
    }

    public mutating func bytes32(_ field: String) throws(DecodeError) -> Bytes32 {
        let slice = try take(Bytes32.count, field)
        return Bytes32(slice)!
    }

    /// Exactly `count` bytes.
    public mutating func take(_ count: Int, _ field: String) throws(DecodeError) -> ArraySlice<UInt8> {
        guard count <= remaining else { throw .truncated(field: field, needed: count - remaining) }
        defer { offset += count }
        return input[offset..<offset + count]
    }

    /// A u32 length (at most `max`), then that many bytes.
    public mutating func lengthPrefixed(_ field: String, max: Int) throws(DecodeError) -> ArraySlice<UInt8> {
        let length = Int(try u32(field))
        guard length <= max else { throw .tooLarge(field: field, count: length, max: max) }
        return try take(length, field)
    }

    /// A length-prefixed string of at most `max` bytes that must be valid UTF-8.
    public mutating func string(_ field: String, max: Int) throws(DecodeError) -> String {
        let bytes = try lengthPrefixed(field, max: max)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidValue(field: field, reason: "not valid UTF-8")
        }
        return text
    }

    /// A u32 count (at most `max`, and no more than the remaining bytes could hold at
    /// `elementBytesMin` each), then each element.
    public mutating func list<T>(
        _ field: String, max: Int, elementBytesMin: Int = 1,
        _ element: (inout CanonicalReader) throws(DecodeError) -> T
    ) throws(DecodeError) -> [T] {
        let count = Int(try u32(field))
        guard count <= max else { throw .tooLarge(field: field, count: count, max: max) }
        guard count * elementBytesMin <= remaining else {
            throw .truncated(field: field, needed: count * elementBytesMin - remaining)
        }
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try element(&self)) }
        return values
    }

    /// A list of `T`.
    public mutating func list<T: CanonicalCodable>(
        _ field: String, of _: T.Type, max: Int, elementBytesMin: Int = 1
    ) throws(DecodeError) -> [T] {
        try list(field, max: max, elementBytesMin: elementBytesMin) { (reader: inout CanonicalReader) throws(DecodeError) in
            try T(from: &reader)
        }
    }

    /// Presence byte 0 (absent) or 1 (then the value).
    public mutating func optional<T>(
        _ field: String, _ element: (inout CanonicalReader) throws(DecodeError) -> T
    ) throws(DecodeError) -> T? {
        try bool(field) ? try element(&self) : nil
    }

    /// Checks the header of message `M`: its kind byte, then its version byte.
    public mutating func header<M: CanonicalMessage>(_: M.Type) throws(DecodeError) {
        let kind = try u8("kind")
        guard kind == M.kind.rawValue else { throw .wrongKind(expected: M.kind.rawValue, found: kind) }
        let version = try u8("version")
        guard version == M.version else { throw .unsupportedVersion(kind: kind, version: version) }
    }

    private mutating func integer<T: FixedWidthInteger>(_ field: String) throws(DecodeError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw .truncated(field: field, needed: size - remaining) }
        var value: T = 0
        for index in 0..<size { value |= T(truncatingIfNeeded: input[offset + index]) << (8 * index) }
        offset += size
        return value
    }
}

extension Array {
    /// Throws unless the elements are in strictly ascending order of `key`: the canonical form of a
    /// set (sorted, no repeats), so one set has one encoding.
    func requireStrictlyAscending<K: Comparable>(
        _ field: String, by key: (Element) -> K
    ) throws(DecodeError) {
        for index in indices.dropFirst() where !(key(self[index - 1]) < key(self[index])) {
            throw .notCanonical(field: field, reason: "elements must be sorted ascending with no repeats")
        }
    }
}
