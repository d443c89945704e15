import TonleCrypto
import TonleTypes

/// What became of a transaction in a block: applied, or rejected with a stable code, the index
/// of the command that caused it (when one did) and, where the code leaves it open, the specific
/// rule (`RejectionDetail`).
public enum TransactionResult: Hashable, Sendable, CanonicalCodable, CustomStringConvertible {
    case applied
    case rejected(RejectionCode, command: UInt16?, detail: RejectionDetail? = nil)

    public var isApplied: Bool { self == .applied }

    public var description: String {
        switch self {
        case .applied: "applied"
        case .rejected(let code, let command, let detail):
            code.name + (detail.map { " (\($0.name))" } ?? "") + (command.map { " in command \($0 + 1)" } ?? "")
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .applied:
            writer.u8(0)
        case .rejected(let code, let command, let detail):
            writer.u8(1)
            writer.u16(code.rawValue)
            writer.optional(command) { w, index in w.u16(index) }
            writer.optional(detail) { w, detail in w.u16(detail.rawValue) }
        }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        switch try reader.u8("result") {
        case 0:
            self = .applied
        case 1:
            let raw = try reader.u16("rejection code")
            guard let code = RejectionCode(rawValue: raw) else { throw .unknownTag(field: "rejection code", tag: UInt64(raw)) }
            let command = try reader.optional("command index") { (r: inout CanonicalReader) throws(DecodeError) in try r.u16("command index") }
            let detail = try reader.optional("rejection detail") { (r: inout CanonicalReader) throws(DecodeError) -> RejectionDetail in
                let raw = try r.u16("rejection detail")
                guard let detail = RejectionDetail(rawValue: raw) else { throw .unknownTag(field: "rejection detail", tag: UInt64(raw)) }
                return detail
            }
            self = .rejected(code, command: command, detail: detail)
        case let tag:
            throw .unknownTag(field: "result", tag: UInt64(tag))
        }
    }
}

/// The results of a block as a Merkle list (docs/encoding.md, "Results root"): one leaf per
/// transaction, SHA-256 of its index in the block (`u32`), its id and its result's canonical
/// bytes. The root is the next block header's `lastResultsRoot`; a receipt proves one leaf
/// against it. The index is in the leaf because a Merkle list's root does not fix its length, so
/// an audit path alone does not fix a leaf's position.
public enum ResultsTree {
    public static func leaf(_ index: UInt32, _ id: TransactionID, _ result: TransactionResult) -> Digest {
        var writer = CanonicalWriter(reservingCapacity: 44)
        writer.u32(index)
        writer.bytes32(id.digest.raw)
        result.encode(to: &writer)
        return SHA256.hash(writer.bytes)
    }

    public static func leaves(_ ids: [TransactionID], _ results: [TransactionResult]) -> [Digest] {
        precondition(ids.count == results.count, "one result per transaction")
        return zip(ids, results).enumerated().map { leaf(UInt32($0.offset), $0.element.0, $0.element.1) }
    }

    public static func root(_ ids: [TransactionID], _ results: [TransactionResult]) -> Digest { MerkleList.root(leaves(ids, results)) }
}

/// The results of one block's transactions, in block order (stored with the block; their Merkle
/// root, with the transactions' ids, is `ResultsTree.root`).
public struct BlockResults: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.blockResults
    public static let encodedBytesMax = 2 + 4 + Limits.blockTransactionsMax * 9

    public let results: [TransactionResult]

    public init(_ results: [TransactionResult]) throws(DecodeError) {
        guard results.count <= Limits.blockTransactionsMax else {
            throw .tooLarge(field: "results", count: results.count, max: Limits.blockTransactionsMax)
        }
        self.results = results
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        writer.list(results)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        try self.init(reader.list("results", of: TransactionResult.self, max: Limits.blockTransactionsMax))
    }
}
