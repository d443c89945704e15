import TonleCrypto
import TonleTypes

/// What became of a transaction in a block: applied, or rejected with a stable code and, when a
/// command caused it, that command's index.
public enum TransactionResult: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    case applied
    case rejected(RejectionCode, command: UInt16?)

    public var isApplied: Bool { self == .applied }

    public var description: String {
        switch self {
        case .applied: "applied"
        case .rejected(let code, let command): command.map { "\(code) (command \($0 + 1))" } ?? code.name
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .applied:
            writer.u8(0)
        case .rejected(let code, let command):
            writer.u8(1)
            writer.u16(code.rawValue)
            writer.optional(command) { w, index in w.u16(index) }
        }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        switch try reader.u8("result") {
        case 0:
            self = .applied
        case 1:
            let raw = try reader.u16("rejection code")
            guard let code = RejectionCode(rawValue: raw) else { throw .unknownTag(field: "rejection code", tag: UInt64(raw)) }
            self = .rejected(code, command: try reader.optional("command index") { (r: inout CanonicalReader) throws(DecodeError) in try r.u16("command index") })
        case let tag:
            throw .unknownTag(field: "result", tag: UInt64(tag))
        }
    }
}

/// The results of one block's transactions, in block order. Its hash is the next block header's
/// `lastResultsHash`.
public struct BlockResults: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.blockResults
    public static let encodedBytesMax = 2 + 4 + Limits.blockTransactionsMax * 6

    public let results: [TransactionResult]

    public init(_ results: [TransactionResult]) throws(DecodeError) {
        guard results.count <= Limits.blockTransactionsMax else {
            throw .tooLarge(field: "results", count: results.count, max: Limits.blockTransactionsMax)
        }
        self.results = results
    }

    public var hash: Digest { SHA256.hash(encoded) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        writer.list(results)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        try self.init(reader.list("results", of: TransactionResult.self, max: Limits.blockTransactionsMax))
    }
}
