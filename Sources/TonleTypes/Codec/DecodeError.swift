/// Why bytes are not the canonical encoding of a value. Every decoder reports one of these and
/// never traps: the bytes come from the network, from files and from other people's code.
public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended `needed` bytes too early.
    case truncated(field: String, needed: Int)
    /// A complete value was followed by more bytes.
    case trailingBytes(count: Int)
    /// The input is larger than the message kind allows; rejected before decoding.
    case messageTooLarge(bytes: Int, max: Int)
    /// The first byte names another kind of message.
    case wrongKind(expected: UInt8, found: UInt8)
    case unsupportedVersion(kind: UInt8, version: UInt8)
    /// A length or element count above its named limit (or above what the remaining input can hold).
    case tooLarge(field: String, count: Int, max: Int)
    /// An enumeration tag this version does not define.
    case unknownTag(field: String, tag: UInt64)
    /// Well-formed bytes with a value the data model forbids.
    case invalidValue(field: String, reason: String)
    /// A value that has another, canonical encoding (unsorted or repeated set, bad flag byte, ...).
    case notCanonical(field: String, reason: String)

    public var description: String {
        switch self {
        case .truncated(let field, let needed): "input ends \(needed) byte(s) early in \(field)"
        case .trailingBytes(let count): "\(count) byte(s) after the end of the value"
        case .messageTooLarge(let bytes, let max): "message is \(bytes) bytes, more than the \(max) allowed"
        case .wrongKind(let expected, let found):
            "message kind 0x\(String(found, radix: 16)) where 0x\(String(expected, radix: 16)) was expected"
        case .unsupportedVersion(let kind, let version):
            "version \(version) of message kind 0x\(String(kind, radix: 16)) is not supported"
        case .tooLarge(let field, let count, let max): "\(field): \(count) is more than the \(max) allowed"
        case .unknownTag(let field, let tag): "\(field): unknown tag \(tag)"
        case .invalidValue(let field, let reason): "\(field): \(reason)"
        case .notCanonical(let field, let reason): "\(field): not canonical: \(reason)"
        }
    }
}
