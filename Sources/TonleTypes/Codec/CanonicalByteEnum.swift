/// An enumeration encoded as its one-byte raw value; any other byte is an unknown tag.
public protocol CanonicalByteEnum: RawRepresentable, CanonicalCodable where RawValue == UInt8 {
    /// How decode errors name the field.
    static var fieldName: String { get }
}

extension CanonicalByteEnum {
    public func encode(to writer: inout CanonicalWriter) { writer.u8(rawValue) }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let tag = try reader.u8(Self.fieldName)
        guard let value = Self(rawValue: tag) else { throw .unknownTag(field: Self.fieldName, tag: UInt64(tag)) }
        self = value
    }
}
