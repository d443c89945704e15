import TonleCrypto

/// A proof that a key has a given value under a root, or has none (docs/merkle.md).
///
/// `siblings[i]` is the hash beside the path at depth i + 1, from the root down; the path ends at
/// `terminal`: the key's own leaf (inclusion), an empty subtree, or another key's leaf whose path
/// shares the first `siblings.count` bits (exclusion: the key would have to be there).
public struct MerkleProof: Hashable, Sendable {
    public enum Terminal: Hashable, Sendable {
        case empty
        case leaf(key: Bytes32, valueHash: Digest)
    }

    public var siblings: [Digest]
    public var terminal: Terminal

    public init(siblings: [Digest], terminal: Terminal) { (self.siblings, self.terminal) = (siblings, terminal) }

    /// True when this proves that under `root`, `key` maps to a value whose SHA-256 is `valueHash`
    /// — or, with `valueHash` nil, that `key` is absent.
    public func verify(root: Digest, key: Bytes32, valueHash: Digest?) -> Bool {
        guard siblings.count <= NodePosition.depthMax else { return false }
        let hasher = SHA256Hasher()
        var hash: Digest
        switch (terminal, valueHash) {
        case (.leaf(let leafKey, let leafValue), .some(let expected)):
            guard leafKey == key, leafValue == expected else { return false }
            hash = MerkleNode.leaf(key: leafKey, valueHash: leafValue).hash(hasher)
        case (.leaf(let other, let otherValue), nil):
            guard other != key, other.sharesPrefix(with: key, bits: siblings.count) else { return false }
            hash = MerkleNode.leaf(key: other, valueHash: otherValue).hash(hasher)
        case (.empty, nil):
            hash = .zero
        case (.empty, .some):
            return false
        }
        for depth in stride(from: siblings.count - 1, through: 0, by: -1) {
            let sibling = siblings[depth]
            hash = key.bit(depth) == 0
                ? MerkleNode.branch(left: hash, right: sibling).hash(hasher)
                : MerkleNode.branch(left: sibling, right: hash).hash(hasher)
        }
        return hash == root
    }

    /// True when this proves `key` maps to `value` under `root`.
    public func verify(root: Digest, key: Bytes32, value: [UInt8]?) -> Bool {
        verify(root: root, key: key, valueHash: value.map { SHA256.hash($0) })
    }

    /// The proof for `key` in the tree stored in `reader`.
    public init(_ reader: any MerkleNodeReader, key: Bytes32) {
        var siblings: [Digest] = []
        var position = NodePosition.root
        var node = reader.merkleNode(at: .root)
        while case .branch(let left, let right) = node {
            let bit = key.bit(position.depth)
            siblings.append(bit == 0 ? right : left)
            let next = bit == 0 ? left : right
            position = position.child(bit)
            node = next == .zero ? nil : reader.merkleNode(at: position)
            precondition(next == .zero || node != nil, "merkle node store is missing \(position)")
        }
        switch node {
        case .leaf(let leafKey, let valueHash): self.init(siblings: siblings, terminal: .leaf(key: leafKey, valueHash: valueHash))
        default: self.init(siblings: siblings, terminal: .empty)
        }
    }

    // MARK: Encoding

    /// Why bytes are not a proof.
    public enum DecodeError: Error, Equatable, Sendable {
        case malformed(String)
    }

    /// `u16` sibling count (little-endian), the siblings (32 bytes each), then `00` (empty) or
    /// `01` key valueHash.
    public var encoded: [UInt8] {
        var bytes = [UInt8(siblings.count & 0xff), UInt8(siblings.count >> 8)]
        for sibling in siblings { bytes += sibling.bytes }
        switch terminal {
        case .empty: bytes.append(0)
        case .leaf(let key, let valueHash): bytes += [1] + key.bytes + valueHash.bytes
        }
        return bytes
    }

    public init(encoded bytes: [UInt8]) throws(DecodeError) {
        guard bytes.count >= 3 else { throw .malformed("shorter than a proof") }
        let count = Int(bytes[0]) | Int(bytes[1]) << 8
        guard count <= NodePosition.depthMax else { throw .malformed("\(count) siblings; at most 256") }
        let terminalAt = 2 + 32 * count
        guard bytes.count > terminalAt else { throw .malformed("truncated") }
        let siblings = (0..<count).map { Digest(bytes[2 + 32 * $0..<2 + 32 * ($0 + 1)])! }
        switch bytes[terminalAt] {
        case 0:
            guard bytes.count == terminalAt + 1 else { throw .malformed("trailing bytes") }
            self.init(siblings: siblings, terminal: .empty)
        case 1:
            guard bytes.count == terminalAt + 65 else { throw .malformed("leaf terminal is not 64 bytes") }
            self.init(siblings: siblings, terminal: .leaf(
                key: Bytes32(bytes[terminalAt + 1..<terminalAt + 33])!, valueHash: Digest(bytes[terminalAt + 33..<terminalAt + 65])!))
        default:
            throw .malformed("unknown terminal tag")
        }
    }
}
