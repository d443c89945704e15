import TonleCrypto
import TonleMerkle
import TonleTypes

/// Named limits of state sync's messages (docs/network.md, "State sync").
public enum StateSyncLimits {
    /// Snapshots offered in one answer.
    public static let offersMax = 16
    /// Values in one chunk (a chunk is also bounded by the frame: a server picks a depth that
    /// keeps chunks near `chunkBytesTarget`).
    public static let chunkValuesMax = 1 << 20
    /// The largest state value sent.
    public static let valueBytesMax = 1 << 20
    /// What a server aims a chunk's size at when it picks the chunk depth of a snapshot.
    public static let chunkBytesTarget = 1 << 20
}

/// A snapshot a peer can serve: the state after block `height`, cut into 2^`depth` chunks.
public struct SnapshotOffer: Hashable, Sendable, CanonicalCodable {
    public let height: UInt64
    /// The root of the state after block `height`; block `height + 1`'s header certifies it.
    public let stateRoot: Digest
    public let depth: UInt8

    public init(height: UInt64, stateRoot: Digest, depth: UInt8) { (self.height, self.stateRoot, self.depth) = (height, stateRoot, depth) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.u64(height)
        writer.bytes32(stateRoot.raw)
        writer.u8(depth)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        height = try reader.u64("height")
        stateRoot = Digest(try reader.bytes32("state root"))
        depth = try reader.u8("depth")
        guard height >= 1, Int(depth) <= StateChunks.depthMax else { throw .invalidValue(field: "snapshot offer", reason: "height 0 or depth above \(StateChunks.depthMax)") }
    }
}

/// One state value of a chunk: its key and its bytes.
public struct StateEntry: Hashable, Sendable, CanonicalCodable {
    public let key: Digest
    public let value: [UInt8]

    public init(key: Digest, value: [UInt8]) { (self.key, self.value) = (key, value) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.bytes32(key.raw)
        writer.lengthPrefixed(value)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        key = Digest(try reader.bytes32("key"))
        value = Array(try reader.lengthPrefixed("value", max: StateSyncLimits.valueBytesMax))
    }
}

extension CanonicalWriter {
    /// A subtree summary: 0 (empty), 1 and a hash (a leaf), 2 and a hash (a branch).
    mutating func summary(_ summary: SubtreeSummary) {
        switch summary {
        case .empty: u8(0)
        case .leaf(let hash): u8(1); bytes32(hash.raw)
        case .branch(let hash): u8(2); bytes32(hash.raw)
        }
    }
}

extension CanonicalReader {
    mutating func summary() throws(DecodeError) -> SubtreeSummary {
        switch try u8("summary") {
        case 0: .empty
        case 1: .leaf(Digest(try bytes32("leaf hash")))
        case 2: .branch(Digest(try bytes32("branch hash")))
        case let tag: throw .unknownTag(field: "summary", tag: UInt64(tag))
        }
    }
}

extension PeerMessage {
    /// A request that a node's snapshot server answers (not the replica).
    public var isStateSyncRequest: Bool {
        switch self {
        case .snapshotsRequest, .snapshotTopRequest, .chunkRequest: true
        default: false
        }
    }
}
