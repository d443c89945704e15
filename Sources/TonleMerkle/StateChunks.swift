import TonleCrypto

/// A subtree seen from above: what the tree's hashing above it needs to know. A subtree with a
/// single key is that key's leaf, which moves up to where it is alone; any larger one is a branch.
public enum SubtreeSummary: Hashable, Sendable {
    case empty
    case leaf(Digest)
    case branch(Digest)

    public var hash: Digest {
        switch self {
        case .empty: .zero
        case .leaf(let hash), .branch(let hash): hash
        }
    }
}

/// Why a chunk does not belong where it is claimed to.
public enum StateChunkError: Error, Equatable, Sendable, CustomStringConvertible {
    case keyOutsideChunk(index: Int)
    case keysNotAscending(index: Int)
    case summaryMismatch(index: Int)

    public var description: String {
        switch self {
        case .keyOutsideChunk(let index): "chunk \(index) holds a key outside its subtree"
        case .keysNotAscending(let index): "chunk \(index)'s keys do not ascend"
        case .summaryMismatch(let index): "chunk \(index)'s values do not give the subtree the state root certifies"
        }
    }
}

/// The state cut into chunks for state sync (docs/merkle.md, "Chunks of the state"): chunk `i`
/// of depth `d` is every key whose first `d` bits are `i`, i.e. the subtree at that position.
/// The 2^d subtree summaries (the "top") are checked against a certified state root; each chunk
/// is then checked against its summary alone, whatever order chunks arrive in and whoever sent them.
public enum StateChunks {
    public static let depthMax = 16

    /// The summaries of the 2^`depth` subtrees at `depth`, in path order, read from a stored tree.
    public static func top(_ reader: any MerkleNodeReader, depth: Int) -> [SubtreeSummary] {
        precondition((0...depthMax).contains(depth))
        let hasher = SHA256Hasher()
        var summaries = [SubtreeSummary](repeating: .empty, count: 1 << depth)
        func walk(_ position: NodePosition, _ node: MerkleNode?, index: Int) {
            guard let node else { return }
            if position.depth == depth {
                switch node {
                case .leaf: summaries[index] = .leaf(node.hash(hasher))
                case .branch: summaries[index] = .branch(node.hash(hasher))
                }
                return
            }
            switch node {
            case .leaf(let key, _):
                // Alone above the chunk depth: it is the single key of the subtree its path leads to.
                summaries[chunkIndex(of: key, depth: depth)] = .leaf(node.hash(hasher))
            case .branch(let left, let right):
                for (bit, hash) in [(0, left), (1, right)] where hash != .zero {
                    let child = position.child(bit)
                    walk(child, reader.merkleNode(at: child), index: index << 1 | bit)
                }
            }
        }
        walk(.root, reader.merkleNode(at: .root), index: 0)
        return summaries
    }

    /// The root the summaries give, hashed as the tree hashes: a single leaf beside an empty side moves up.
    public static func root(of top: [SubtreeSummary]) -> Digest {
        precondition(top.count.nonzeroBitCount == 1, "a top has 2^depth summaries")
        let hasher = SHA256Hasher()
        var level = top
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: 2).map { index in
                switch (level[index], level[index + 1]) {
                case (.empty, .empty): .empty
                case (.empty, .leaf(let hash)), (.leaf(let hash), .empty): .leaf(hash)
                case (let left, let right): .branch(MerkleNode.branch(left: left.hash, right: right.hash).hash(hasher))
                }
            }
        }
        return level[0].hash
    }

    /// The index of the chunk that holds `key`: its first `depth` bits.
    public static func chunkIndex(of key: Bytes32, depth: Int) -> Int {
        key.withUnsafeBytes { bytes in
            let first = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
            return depth == 0 ? 0 : first >> (24 - depth)
        }
    }

    /// Checks that `leaves` (ascending keys with their value hashes) are exactly the subtree
    /// `index` summarised by `expected`. `emit` gets the subtree's nodes from `depth` down as they
    /// are built — keep them only if this returns — except a single leaf, which sits above (the top places it).
    public static func verifyChunk(
        _ leaves: [(key: Bytes32, valueHash: Digest)], index: Int, depth: Int, expected: SubtreeSummary,
        emit: @escaping (NodePosition, MerkleNode) -> Void = { _, _ in }
    ) throws(StateChunkError) {
        for (position, leaf) in leaves.enumerated() {
            guard chunkIndex(of: leaf.key, depth: depth) == index else { throw .keyOutsideChunk(index: index) }
            guard position == 0 || leaves[position - 1].key < leaf.key else { throw .keysNotAscending(index: index) }
        }
        let found: SubtreeSummary
        switch leaves.count {
        case 0: found = .empty
        case 1: found = .leaf(MerkleNode.leaf(key: leaves[0].key, valueHash: leaves[0].valueHash).hash(SHA256Hasher()))
        default:
            var builder = SortedTreeBuilder(emit: emit)
            for leaf in leaves { builder.add(key: leaf.key, valueHash: leaf.valueHash) }
            found = .branch(builder.finish(atDepth: depth))
        }
        guard found == expected else { throw .summaryMismatch(index: index) }
    }
}
