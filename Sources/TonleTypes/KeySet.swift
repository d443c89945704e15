import TonleCrypto

/// The keys that control an account and how many of them must sign (its quorum): 1–8 distinct
/// keys, held sorted, and a quorum from 1 to the number of keys.
public struct KeySet: Hashable, Sendable, CanonicalCodable {
    public let keys: [Ed25519.PublicKey]
    public let quorum: UInt8

    /// Sorts `keys`; throws on repeats, an empty or oversized list, or a quorum out of range.
    public init(keys: [Ed25519.PublicKey], quorum: UInt8) throws(DecodeError) {
        let sorted = keys.sorted()
        try sorted.requireStrictlyAscending("keys", by: { $0 })
        try self.init(sorted: sorted, quorum: quorum)
    }

    /// One key, quorum one.
    public init(single key: Ed25519.PublicKey) { try! self.init(sorted: [key], quorum: 1) }

    private init(sorted keys: [Ed25519.PublicKey], quorum: UInt8) throws(DecodeError) {
        guard !keys.isEmpty else { throw .invalidValue(field: "keys", reason: "at least one key is needed") }
        guard keys.count <= Limits.accountKeysMax else {
            throw .tooLarge(field: "keys", count: keys.count, max: Limits.accountKeysMax)
        }
        guard quorum >= 1, Int(quorum) <= keys.count else {
            throw .invalidValue(field: "quorum", reason: "quorum \(quorum) must be between 1 and \(keys.count), the number of keys")
        }
        (self.keys, self.quorum) = (keys, quorum)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.list(keys) { w, key in w.bytes32(key.raw) }
        writer.u8(quorum)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let keys = try reader.list("keys", max: Limits.accountKeysMax, elementBytesMin: 32) {
            (r: inout CanonicalReader) throws(DecodeError) in Ed25519.PublicKey(try r.bytes32("key"))
        }
        try keys.requireStrictlyAscending("keys", by: { $0 })
        try self.init(sorted: keys, quorum: try reader.u8("quorum"))
    }
}

/// Account flags. Only defined bits may be set (others are not canonical).
public struct AccountFlags: OptionSet, Hashable, Sendable, CanonicalCodable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A central-bank issuance account: its balance may go negative (it carries the negative side
    /// of all money issued).
    public static let issuance = AccountFlags(rawValue: 1 << 0)
    public static let defined: AccountFlags = [.issuance]

    public func encode(to writer: inout CanonicalWriter) { writer.u32(rawValue) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let raw = try reader.u32("flags")
        guard raw & ~AccountFlags.defined.rawValue == 0 else {
            throw .notCanonical(field: "flags", reason: "undefined flag bits 0x\(String(raw & ~AccountFlags.defined.rawValue, radix: 16))")
        }
        rawValue = raw
    }
}
