import TonleCrypto

/// One change to the map: set `key` to a value with hash `valueHash`, or delete it (nil).
public struct MerkleUpdate: Hashable, Sendable {
    public let key: Bytes32
    public let valueHash: Digest?

    public init(key: Bytes32, valueHash: Digest?) { (self.key, self.valueHash) = (key, valueHash) }
}

/// The result of a batch: the new root and the node writes that produce it (nil deletes a
/// position), in the order made: apply them in order (a later write of a position replaces an
/// earlier one). Sort them by position where order must not depend on the algorithm (storage does).
public struct MerkleBatchResult: Sendable {
    public let root: Digest
    public let writes: [(NodePosition, MerkleNode?)]
}

/// A sparse Merkle tree over 256-bit keys, stored by position (docs/merkle.md).
///
/// The tree is binary and sparse: a key's path is its bits, most significant first. A subtree
/// that holds a single key is stored as that key's leaf, placed where the subtree starts, so a
/// tree of n random keys is about log2(n) deep rather than 256. Empty subtrees hash to zero.
/// The shape depends only on the set of keys, so the root does not depend on the order of updates,
/// and deleting keys restores earlier roots.
public struct SparseMerkleTree {
    private let reader: any MerkleNodeReader
    private let hasher = SHA256Hasher()
    /// Writes in the order made; a later write of a position replaces an earlier one.
    private var writes: [(NodePosition, MerkleNode?)] = []

    private init(reader: any MerkleNodeReader) { self.reader = reader }

    /// The root of the tree stored in `reader` (zero for the empty tree).
    public static func root(_ reader: any MerkleNodeReader) -> Digest {
        reader.merkleNode(at: .root)?.hash(SHA256Hasher()) ?? .zero
    }

    /// Applies `updates` (one per key; later duplicates win) to the tree in `reader`.
    public static func update(_ reader: any MerkleNodeReader, _ updates: [MerkleUpdate]) -> MerkleBatchResult {
        var tree = SparseMerkleTree(reader: reader)
        tree.writes.reserveCapacity(updates.count * 16)
        let oldRoot = reader.merkleNode(at: .root)
        let root = tree.update(.root, current: oldRoot, sortedUnique(updates)[...])
        tree.record(.root, root?.node, was: oldRoot)
        return MerkleBatchResult(root: root?.hash ?? .zero, writes: tree.writes)
    }

    /// The updates sorted by key, the last one of each key kept. Usually already sorted (state
    /// writes are), so checked in one pass before sorting.
    private static func sortedUnique(_ updates: [MerkleUpdate]) -> [MerkleUpdate] {
        if zip(updates, updates.dropFirst()).allSatisfy({ $0.key < $1.key }) { return updates }
        var latest: [Bytes32: Digest?] = [:]
        for update in updates { latest[update.key] = update.valueHash }
        return latest.map { MerkleUpdate(key: $0.key, valueHash: $0.value) }.sorted { $0.key < $1.key }
    }



    private typealias Hashed = (node: MerkleNode, hash: Digest)

    /// The new node at `position`, given the node there now and the updates below it (sorted,
    /// all sharing the position's path). Writes the changed positions below `position`; the caller
    /// records `position` itself.
    private mutating func update(_ position: NodePosition, current: MerkleNode?, _ updates: ArraySlice<MerkleUpdate>) -> Hashed? {
        guard !updates.isEmpty else { return current.map { ($0, $0.hash(hasher)) } }
        switch current {
        case .branch(let left, let right):
            return updateBranch(position, left: left, right: right, updates)
        case .leaf(let key, let valueHash):
            // The existing leaf moves down (or stays) unless an update replaces or deletes it.
            var merged = Array(updates)
            if !merged.contains(where: { $0.key == key }) {
                merged.insert(MerkleUpdate(key: key, valueHash: valueHash), at: merged.partitioningIndex { key < $0.key })
            }
            return build(position, merged.filter { $0.valueHash != nil }[...])
        case nil:
            return build(position, updates.filter { $0.valueHash != nil }[...])
        }
    }

    /// One side of a branch after an update.
    private enum Side {
        case empty
        /// No update below: only its hash is known (the node is read only if it must move up).
        case unchanged(Digest)
        case changed(Hashed)

        var hash: Digest {
            switch self {
            case .empty: .zero
            case .unchanged(let hash): hash
            case .changed(let hashed): hashed.hash
            }
        }
    }

    private mutating func updateBranch(_ position: NodePosition, left: Digest, right: Digest, _ updates: ArraySlice<MerkleUpdate>) -> Hashed? {
        let split = updates.partitioningIndex { $0.key.bit(position.depth) == 1 }
        let leftSide = updateSide(position.child(0), hash: left, updates[..<split])
        let rightSide = updateSide(position.child(1), hash: right, updates[split...])
        switch (leftSide, rightSide) {
        case (.empty, .empty): return nil
        case (.empty, let only): return liftIfLeaf(only, from: position.child(1)) ?? branch(.zero, only.hash)
        case (let only, .empty): return liftIfLeaf(only, from: position.child(0)) ?? branch(only.hash, .zero)
        default: return branch(leftSide.hash, rightSide.hash)
        }
    }

    private mutating func updateSide(_ position: NodePosition, hash: Digest, _ updates: ArraySlice<MerkleUpdate>) -> Side {
        if updates.isEmpty { return hash == .zero ? .empty : .unchanged(hash) }
        let old = hash == .zero ? nil : reader.merkleNode(at: position)
        let new = update(position, current: old, updates)
        record(position, new?.node, was: old)
        return new.map { .changed($0) } ?? .empty
    }

    /// When a branch is left with one side and that side is a single leaf, the leaf moves up to
    /// the branch's position (a subtree with one key is stored as its leaf): clear it below.
    private mutating func liftIfLeaf(_ side: Side, from position: NodePosition) -> Hashed? {
        let node: MerkleNode
        switch side {
        case .empty: return nil
        case .unchanged: node = reader.merkleNode(at: position)!
        case .changed(let hashed): node = hashed.node
        }
        guard case .leaf = node else { return nil }
        record(position, nil, was: node)
        return (node, side.hash)
    }

    /// The subtree at `position` holding exactly `puts` (sorted, all with values), written fresh.
    private mutating func build(_ position: NodePosition, _ puts: ArraySlice<MerkleUpdate>) -> Hashed? {
        switch puts.count {
        case 0: return nil
        case 1:
            let node = MerkleNode.leaf(key: puts.first!.key, valueHash: puts.first!.valueHash!)
            return (node, node.hash(hasher))
        default:
            let split = puts.partitioningIndex { $0.key.bit(position.depth) == 1 }
            let left = build(position.child(0), puts[..<split])
            let right = build(position.child(1), puts[split...])
            record(position.child(0), left?.node, was: nil)
            record(position.child(1), right?.node, was: nil)
            return branch(left?.hash ?? .zero, right?.hash ?? .zero)
        }
    }

    private func branch(_ left: Digest, _ right: Digest) -> Hashed {
        let node = MerkleNode.branch(left: left, right: right)
        return (node, node.hash(hasher))
    }

    /// Notes that `position` now holds `node` (nil: nothing), when that differs from what it held.
    /// A later record of the same position wins: a leaf that moves up is first written below,
    /// then cleared there by its parent.
    private mutating func record(_ position: NodePosition, _ node: MerkleNode?, was old: MerkleNode?) {
        if node != old { writes.append((position, node)) }
    }
}

extension Collection {
    /// The first index whose element satisfies `predicate`, for a collection in which every such
    /// element follows every other one.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Index {
        var low = startIndex, count = self.count
        while count > 0 {
            let half = count / 2, middle = index(low, offsetBy: half)
            if predicate(self[middle]) { count = half } else { low = index(after: middle); count -= half + 1 }
        }
        return low
    }
}
