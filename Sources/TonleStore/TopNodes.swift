import TonleMerkle

/// The tree's nodes from the root down to `depthMax`, each level an array indexed by the position's
/// path bits (level d has 2^d slots). Every block's update passes through these positions; here
/// each is one array index away instead of a dictionary lookup in every layer of the store (the
/// unmerged changes, the merge under way, the node cache) and a RocksDB read (docs/storage.md,
/// "The top of the tree in arrays").
///
/// A slot is filled when its node is first read and kept current by every commit, so it is never
/// stale and never evicted: the memory is fixed by `depthMax`, 72 B a slot once a level is reached
/// (a level is allocated when first used) — 151 MB for the default depth 20, reached at about a
/// million keys; a small tree uses a few levels only.
///
/// One owner at a time, like the store that holds it.
final class TopNodes {
    private enum Slot {
        case unknown
        case absent
        case node(MerkleNode)
    }

    /// The deepest level held; -1 holds none.
    let depthMax: Int
    /// Level d at index d, nil until used. Fixed at creation (no exclusivity checks on access).
    private let levels: UnsafeMutablePointer<UnsafeMutablePointer<Slot>?>

    static let depthLimit = 26

    init(depthMax: Int) {
        precondition((-1...Self.depthLimit).contains(depthMax), "top node depth \(depthMax) out of range")
        self.depthMax = depthMax
        levels = .allocate(capacity: depthMax + 1)
        levels.initialize(repeating: nil, count: depthMax + 1)
    }

    deinit {
        for depth in 0..<(depthMax + 1) {
            guard let level = levels[depth] else { continue }
            level.deinitialize(count: 1 << depth)
            level.deallocate()
        }
        levels.deallocate()
    }

    /// The node at `position` when known here: `.some(nil)` when known to be empty, nil when the
    /// position is below `depthMax` or not read yet.
    func node(at position: NodePosition) -> MerkleNode?? {
        guard position.depth <= depthMax, let level = levels[position.depth] else { return nil }
        switch level[Self.index(position)] {
        case .unknown: return nil
        case .absent: return .some(nil)
        case .node(let node): return node
        }
    }

    /// Records what a read found at `position` (ignored below `depthMax`).
    func fill(_ position: NodePosition, _ node: MerkleNode?) {
        guard position.depth <= depthMax else { return }
        level(position.depth)[Self.index(position)] = node.map { .node($0) } ?? .absent
    }

    /// A commit's node writes, in order (nil: the position is emptied).
    func apply(_ writes: [(NodePosition, MerkleNode?)]) {
        for (position, node) in writes { fill(position, node) }
    }

    private func level(_ depth: Int) -> UnsafeMutablePointer<Slot> {
        if let level = levels[depth] { return level }
        let level = UnsafeMutablePointer<Slot>.allocate(capacity: 1 << depth)
        level.initialize(repeating: .unknown, count: 1 << depth)
        levels[depth] = level
        return level
    }

    /// The first `depth` bits of the path as an integer (depth ≤ 26 < 64).
    private static func index(_ position: NodePosition) -> Int {
        guard position.depth > 0 else { return 0 }
        let word = UInt64(bigEndian: position.path.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        return Int(truncatingIfNeeded: word >> UInt64(64 - position.depth))
    }
}
