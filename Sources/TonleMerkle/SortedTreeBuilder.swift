import TonleCrypto

/// Builds the tree of a whole key set given in ascending key order, in memory proportional to the
/// tree's depth rather than its size: for a bulk import (a genesis of millions of accounts) or a
/// state restored from chunks. Each node is handed to `emit` once, complete, with its position;
/// the nodes and the root are the ones `SparseMerkleTree.update` gives for the same keys on an
/// empty tree (tests compare the two).
///
/// Between neighbouring keys, the branch where they part is at the depth of their common prefix:
/// a key's leaf sits one below the deeper of its two partings, and the branches above it up to
/// the parting with the next key are complete once the next key is known. Completed left halves
/// wait on a stack, deepest on top, for the right half that comes with a later key.
public struct SortedTreeBuilder {
    private let hasher = SHA256Hasher()
    private let emit: (NodePosition, MerkleNode) -> Void
    /// Complete subtrees that are the left child of a branch on the newest key's path, each by the
    /// depth it starts at (strictly increasing upwards from the bottom).
    private var waiting: [(depth: Int, hash: Digest)] = []
    /// The newest key, whose leaf's depth waits on the key after it.
    private var last: (key: Bytes32, valueHash: Digest)?
    /// The depth where the newest key parts from the one before it (-1: it is the first).
    private var partedBefore = -1
    public private(set) var count = 0

    public init(emit: @escaping (NodePosition, MerkleNode) -> Void) { self.emit = emit }

    /// Adds a key above every key added before (a repeat or a lower key stops the process: the
    /// caller sorts).
    public mutating func add(key: Bytes32, valueHash: Digest) {
        if let last {
            precondition(last.key < key, "keys must be added in ascending order")
            let parting = Self.commonPrefixBits(last.key, key)
            close(last, partingAfter: parting)
            partedBefore = parting
        }
        last = (key, valueHash)
        count += 1
    }

    /// The root of everything added (zero for nothing); the builder is spent. With `depth`, every
    /// key added must share its first `depth` bits, and the result is the hash of the node at
    /// that depth on their path — a subtree's own root, its nodes emitted from that depth down.
    public mutating func finish(atDepth depth: Int = 0) -> Digest {
        guard let last else { return .zero }
        let root = close(last, partingAfter: depth - 1, final: true)
        self.last = nil
        return root
    }

    /// Emits `entry`'s leaf and the branches above it that are now complete — up to the child of
    /// the branch where it parts from the next key (`partingAfter`; -1: up to the root) — and
    /// leaves that child waiting. Returns the hash of the last node emitted.
    @discardableResult
    private mutating func close(_ entry: (key: Bytes32, valueHash: Digest), partingAfter: Int, final: Bool = false) -> Digest {
        let leaf = MerkleNode.leaf(key: entry.key, valueHash: entry.valueHash)
        var depth = max(partedBefore, partingAfter) + 1
        var hash = leaf.hash(hasher)
        emit(NodePosition(key: entry.key, depth: depth), leaf)
        while depth > partingAfter + 1 {
            let parent = depth - 1
            let node: MerkleNode
            if let left = waiting.last, left.depth == depth {
                waiting.removeLast()
                node = .branch(left: left.hash, right: hash)
            } else if entry.key.bit(parent) == 0 {
                node = .branch(left: hash, right: .zero)
            } else {
                node = .branch(left: .zero, right: hash)
            }
            emit(NodePosition(key: entry.key, depth: parent), node)
            (depth, hash) = (parent, node.hash(hasher))
        }
        if !final { waiting.append((depth, hash)) }
        return hash
    }

    /// The number of leading bits two different keys share.
    static func commonPrefixBits(_ a: Bytes32, _ b: Bytes32) -> Int {
        a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                for index in 0..<32 where x[index] != y[index] {
                    return index * 8 + (x[index] ^ y[index]).leadingZeroBitCount
                }
                return 256
            }
        }
    }
}
