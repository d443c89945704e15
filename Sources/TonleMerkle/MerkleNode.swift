import TonleCrypto

/// A stored node: a leaf holding one key and its value's hash, or a branch holding its two
/// children's hashes (the zero digest for an empty side).
public enum MerkleNode: Hashable, Sendable {
    case leaf(key: Bytes32, valueHash: Digest)
    case branch(left: Digest, right: Digest)

    /// Domain tags: a leaf's hash can never equal a branch's.
    public static let leafTag: UInt8 = 0x00
    public static let branchTag: UInt8 = 0x01

    /// SHA-256(0x00 ‖ key ‖ valueHash) for a leaf; SHA-256(0x01 ‖ left ‖ right) for a branch.
    public func hash(_ hasher: SHA256Hasher) -> Digest {
        switch self {
        case .leaf(let key, let valueHash): MerkleNode.hash(hasher, MerkleNode.leafTag, key, valueHash.raw)
        case .branch(let left, let right): MerkleNode.hash(hasher, MerkleNode.branchTag, left.raw, right.raw)
        }
    }

    static func hash(_ hasher: SHA256Hasher, _ tag: UInt8, _ a: Bytes32, _ b: Bytes32) -> Digest {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 1) { buffer in
            buffer[0] = tag
            a.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[1..<33]).copyMemory(from: $0) }
            b.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            return hasher.hash(UnsafeRawBufferPointer(buffer))
        }
    }

    /// Canonical bytes for storage: tag, then the two 32-byte fields.
    public var encoded: [UInt8] {
        switch self {
        case .leaf(let key, let valueHash): [MerkleNode.leafTag] + key.bytes + valueHash.bytes
        case .branch(let left, let right): [MerkleNode.branchTag] + left.bytes + right.bytes
        }
    }

    /// The node stored as `bytes`; nil for anything else.
    public init?(encoded bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count == 65, let a = Bytes32(bytes[1..<33]), let b = Bytes32(bytes[33..<65]) else { return nil }
        switch bytes[0] {
        case MerkleNode.leafTag: self = .leaf(key: a, valueHash: Digest(b))
        case MerkleNode.branchTag: self = .branch(left: Digest(a), right: Digest(b))
        default: return nil
        }
    }
}

/// Reads stored nodes. The tree algorithm needs nothing else from storage.
public protocol MerkleNodeReader {
    func merkleNode(at position: NodePosition) -> MerkleNode?
}

/// Nodes in a dictionary: for tests, the simulator and the in-memory store.
public struct MemoryNodeStore: MerkleNodeReader, Sendable {
    public private(set) var nodes: [NodePosition: MerkleNode] = [:]

    public init() {}

    public func merkleNode(at position: NodePosition) -> MerkleNode? { nodes[position] }

    /// Applies an update's writes (a nil node deletes the position).
    public mutating func apply(_ writes: [(NodePosition, MerkleNode?)]) {
        for (position, node) in writes { nodes[position] = node }
    }

    public var count: Int { nodes.count }
}
