import Foundation
import Testing
import TonleCrypto
import TonleMerkle
import TonleTypes

/// The seeded generator: failures replay.
typealias Random = SplitMix64

extension SplitMix64 {
    init(state: UInt64) { self.init(seed: state) }
    mutating func key() -> Bytes32 { Bytes32((0..<32).map { _ in UInt8.random(in: 0...255, using: &self) })! }
    mutating func digest() -> Digest { Digest(key()) }
}

let merkleCases = ProcessInfo.processInfo.environment["TONLE_PROPERTY_CASES"].flatMap(Int.init).map { max(50, $0 / 10) } ?? 100

/// The root computed the slow, obvious way from the whole map: the independent reference.
func referenceRoot(_ map: [Bytes32: Digest]) -> Digest {
    let hasher = SHA256Hasher()
    func root(_ entries: ArraySlice<(Bytes32, Digest)>, depth: Int) -> Digest {
        switch entries.count {
        case 0: return .zero
        case 1: return MerkleNode.leaf(key: entries.first!.0, valueHash: entries.first!.1).hash(hasher)
        default:
            let left = entries.filter { $0.0.bit(depth) == 0 }, right = entries.filter { $0.0.bit(depth) == 1 }
            return MerkleNode.branch(left: root(left[...], depth: depth + 1), right: root(right[...], depth: depth + 1)).hash(hasher)
        }
    }
    return root(map.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }[...], depth: 0)
}

/// Keys that share long prefixes, to exercise deep paths: a random key with its last bits varied.
func clusteredKey(_ r: inout Random, base: Bytes32) -> Bytes32 {
    var bytes = base.bytes
    let from = Int.random(in: 20...31, using: &r)
    for index in from..<32 { bytes[index] = UInt8.random(in: 0...255, using: &r) }
    return Bytes32(bytes)!
}

@Suite struct SparseMerkleTreeTests {
    @Test func emptyTreeAndSingleLeaf() {
        var store = MemoryNodeStore()
        #expect(SparseMerkleTree.root(store) == .zero)
        let key = Bytes32(Array(repeating: 0xab, count: 32))!, value = SHA256.hash([1])
        let result = SparseMerkleTree.update(store, [MerkleUpdate(key: key, valueHash: value)])
        store.apply(result.writes)
        #expect(result.root == MerkleNode.leaf(key: key, valueHash: value).hash(SHA256Hasher()))
        #expect(store.count == 1 && store.merkleNode(at: .root) == .leaf(key: key, valueHash: value))
        store.apply(SparseMerkleTree.update(store, [MerkleUpdate(key: key, valueHash: nil)]).writes)
        #expect(SparseMerkleTree.root(store) == .zero && store.count == 0)
    }

    /// Random batches of inserts, changes and deletes: after each, the root matches the reference,
    /// and the store holds exactly the nodes a fresh build of the same map would (nothing stale).
    @Test func batchesMatchTheReferenceAndLeaveNoStaleNodes() {
        var r = Random(state: 42)
        for _ in 0..<merkleCases / 10 {
            var store = MemoryNodeStore(), map: [Bytes32: Digest] = [:]
            let base = r.key()
            for _ in 0..<20 {
                var updates: [MerkleUpdate] = []
                for _ in 0..<Int.random(in: 1...30, using: &r) {
                    let existing = map.keys.sorted().randomElement(using: &r)
                    switch Int.random(in: 0...3, using: &r) {
                    case 0 where existing != nil: updates.append(.init(key: existing!, valueHash: nil))
                    case 1 where existing != nil: updates.append(.init(key: existing!, valueHash: r.digest()))
                    case 2: updates.append(.init(key: clusteredKey(&r, base: base), valueHash: r.digest()))
                    default: updates.append(.init(key: r.key(), valueHash: r.digest()))
                    }
                }
                for update in updates { map[update.key] = update.valueHash }
                let result = SparseMerkleTree.update(store, updates)
                store.apply(result.writes)
                #expect(result.root == referenceRoot(map))
                #expect(SparseMerkleTree.root(store) == result.root)
                var fresh = MemoryNodeStore()
                fresh.apply(SparseMerkleTree.update(fresh, map.map { .init(key: $0.key, valueHash: $0.value) }).writes)
                #expect(fresh.nodes == store.nodes, "stale or missing nodes after a batch")
            }
        }
    }

    @Test func rootDoesNotDependOnUpdateOrder() {
        var r = Random(state: 7)
        for _ in 0..<merkleCases {
            let entries = (0..<Int.random(in: 1...60, using: &r)).map { _ in MerkleUpdate(key: r.key(), valueHash: r.digest()) }
            var a = MemoryNodeStore(), b = MemoryNodeStore()
            a.apply(SparseMerkleTree.update(a, entries).writes)
            var shuffled = entries.shuffled(using: &r)[...]
            while !shuffled.isEmpty {   // b: the same entries, reordered, in random-sized batches
                let take = Int.random(in: 1...shuffled.count, using: &r)
                b.apply(SparseMerkleTree.update(b, Array(shuffled.prefix(take))).writes)
                shuffled = shuffled.dropFirst(take)
            }
            #expect(SparseMerkleTree.root(a) == SparseMerkleTree.root(b))
            #expect(a.nodes == b.nodes)
        }
    }

    @Test func deletesRestoreEarlierRoots() {
        var r = Random(state: 9)
        for _ in 0..<merkleCases {
            var store = MemoryNodeStore()
            store.apply(SparseMerkleTree.update(store, (0..<Int.random(in: 0...40, using: &r)).map { _ in .init(key: r.key(), valueHash: r.digest()) }).writes)
            let before = store
            let added = (0..<Int.random(in: 1...20, using: &r)).map { _ in r.key() }
            store.apply(SparseMerkleTree.update(store, added.map { .init(key: $0, valueHash: r.digest()) }).writes)
            #expect(added.isEmpty || SparseMerkleTree.root(store) != SparseMerkleTree.root(before))
            for key in added.shuffled(using: &r) {   // one at a time
                store.apply(SparseMerkleTree.update(store, [.init(key: key, valueHash: nil)]).writes)
            }
            #expect(SparseMerkleTree.root(store) == SparseMerkleTree.root(before))
            #expect(store.nodes == before.nodes)
        }
    }

    @Test func everyProofVerifiesAndEveryChangeFails() throws {
        var r = Random(state: 11)
        for _ in 0..<merkleCases {
            var store = MemoryNodeStore(), map: [Bytes32: Digest] = [:]
            let base = r.key()
            for _ in 0..<Int.random(in: 0...50, using: &r) { map[Bool.random(using: &r) ? r.key() : clusteredKey(&r, base: base)] = r.digest() }
            store.apply(SparseMerkleTree.update(store, map.map { .init(key: $0.key, valueHash: $0.value) }).writes)
            let root = SparseMerkleTree.root(store)
            for (key, value) in map.sorted(by: { $0.key < $1.key }).prefix(10) {
                let proof = MerkleProof(store, key: key)
                #expect(proof.verify(root: root, key: key, valueHash: value))
                #expect(try MerkleProof(encoded: proof.encoded) == proof)
                expectTamperingFails(proof, root: root, key: key, valueHash: value, &r)
            }
            for key in [r.key(), clusteredKey(&r, base: base)] where map[key] == nil {
                let proof = MerkleProof(store, key: key)
                #expect(proof.verify(root: root, key: key, valueHash: nil), "exclusion")
                #expect(!proof.verify(root: root, key: key, valueHash: r.digest()), "an exclusion proof proves no value")
                expectTamperingFails(proof, root: root, key: key, valueHash: nil, &r)
            }
        }
    }

    func expectTamperingFails(_ proof: MerkleProof, root: Digest, key: Bytes32, valueHash: Digest?, _ r: inout Random) {
        #expect(!proof.verify(root: r.digest(), key: key, valueHash: valueHash), "another root")
        var otherKey = key.bytes
        otherKey[Int.random(in: 0...31, using: &r)] ^= 1 << UInt8.random(in: 0...7, using: &r)
        if valueHash != nil { #expect(!proof.verify(root: root, key: Bytes32(otherKey)!, valueHash: valueHash), "another key") }
        if let valueHash {
            var changed = valueHash.bytes
            changed[0] ^= 1
            #expect(!proof.verify(root: root, key: key, valueHash: Digest(changed)!), "another value")
            #expect(!proof.verify(root: root, key: key, valueHash: nil), "an inclusion proof is no exclusion proof")
        }
        if !proof.siblings.isEmpty {
            var changed = proof
            let index = Int.random(in: 0..<proof.siblings.count, using: &r)
            var bytes = changed.siblings[index].bytes
            bytes[Int.random(in: 0...31, using: &r)] ^= 0x40
            changed.siblings[index] = Digest(bytes)!
            #expect(!changed.verify(root: root, key: key, valueHash: valueHash), "a changed sibling")
            var shorter = proof
            shorter.siblings.removeLast()
            #expect(!shorter.verify(root: root, key: key, valueHash: valueHash), "a missing sibling")
        }
        var longer = proof
        longer.siblings.append(.zero)
        #expect(!longer.verify(root: root, key: key, valueHash: valueHash), "an extra sibling")
        var otherTerminal = proof
        otherTerminal.terminal = proof.terminal == .empty ? .leaf(key: r.key(), valueHash: r.digest()) : .empty
        #expect(!otherTerminal.verify(root: root, key: key, valueHash: valueHash), "another terminal")
    }

    @Test func positionsAndNodesEncode() throws {
        var r = Random(state: 3)
        for _ in 0..<200 {
            let position = NodePosition(key: r.key(), depth: Int.random(in: 0...256, using: &r))
            #expect(NodePosition(storageKey: position.storageKey) == position)
            let node: MerkleNode = Bool.random(using: &r) ? .leaf(key: r.key(), valueHash: r.digest()) : .branch(left: r.digest(), right: r.digest())
            #expect(MerkleNode(encoded: node.encoded) == node)
        }
        #expect(NodePosition(storageKey: [0xff, 0, 1]) == nil, "bits beyond the depth must be zero")
        #expect(NodePosition(storageKey: [1, 2]) == nil)
        #expect(MerkleNode(encoded: [2] + Array(repeating: 0, count: 64)) == nil)
        #expect(throws: MerkleProof.DecodeError.self) { try MerkleProof(encoded: [1, 0, 0]) }
        #expect(throws: MerkleProof.DecodeError.self) { try MerkleProof(encoded: [0, 0, 0, 9]) }
        #expect(throws: MerkleProof.DecodeError.self) { try MerkleProof(encoded: [0xff, 0xff, 0]) }
    }
}

/// The streaming builder of a bulk import gives the very tree the update algorithm gives: the
/// same nodes at the same positions, and the same root as the reference.
@Suite struct SortedTreeBuilderTests {
    func compare(_ map: [Bytes32: Digest]) {
        var emitted: [NodePosition: MerkleNode] = [:], repeats = 0
        var builder = SortedTreeBuilder { position, node in
            if emitted.updateValue(node, forKey: position) != nil { repeats += 1 }
        }
        for (key, valueHash) in map.sorted(by: { $0.key < $1.key }) { builder.add(key: key, valueHash: valueHash) }
        let root = builder.finish()
        var tree = MemoryNodeStore()
        let updated = SparseMerkleTree.update(tree, map.map { MerkleUpdate(key: $0.key, valueHash: $0.value) })
        tree.apply(updated.writes)
        #expect(root == updated.root && root == referenceRoot(map))
        #expect(repeats == 0, "each position emitted once")
        #expect(emitted.count == tree.count)
        #expect(emitted.allSatisfy { tree.merkleNode(at: $0.key) == $0.value })
    }

    @Test func smallSets() {
        var r = Random(state: 21)
        compare([:])
        for size in 1...6 {
            for _ in 0..<30 { compare(Dictionary(uniqueKeysWithValues: (0..<size).map { _ in (r.key(), r.digest()) })) }
        }
    }

    @Test func randomAndClusteredSets() {
        var r = Random(state: 22)
        for round in 0..<merkleCases / 10 {
            let base = r.key()
            var map: [Bytes32: Digest] = [:]
            for _ in 0..<Int.random(in: 1...3_000, using: &r) { map[round % 2 == 0 ? r.key() : clusteredKey(&r, base: base)] = r.digest() }
            compare(map)
        }
    }

    /// Keys that differ only in their last bit, or only in their first: the deepest and the shallowest partings.
    @Test func extremeKeys() {
        var r = Random(state: 23)
        let base = r.key().bytes
        var low = base, high = base
        low[31] &= 0xFE
        high[31] |= 0x01
        compare([Bytes32(low)!: r.digest(), Bytes32(high)!: r.digest()])
        var first = base, second = base
        first[0] &= 0x7F
        second[0] |= 0x80
        var third = second
        third[31] ^= 0x01
        compare([Bytes32(first)!: r.digest(), Bytes32(second)!: r.digest(), Bytes32(third)!: r.digest()])
    }
}

/// State sync's chunks: the top read from a tree gives its root; each chunk of sorted leaves
/// verifies against its summary alone and yields the tree's own nodes; a changed, missing or
/// misplaced leaf is refused.
@Suite struct StateChunksTests {
    @Test func chunksVerifyAndRebuildTheTree() throws {
        var r = Random(state: 31)
        for round in 0..<merkleCases / 5 {
            let base = r.key()
            var map: [Bytes32: Digest] = [:]
            for _ in 0..<Int.random(in: 0...2_000, using: &r) { map[round % 3 == 0 ? clusteredKey(&r, base: base) : r.key()] = r.digest() }
            var tree = MemoryNodeStore()
            let updated = SparseMerkleTree.update(tree, map.map { MerkleUpdate(key: $0.key, valueHash: $0.value) })
            tree.apply(updated.writes)
            let depth = Int.random(in: 0...10, using: &r)
            let top = StateChunks.top(tree, depth: depth)
            #expect(top.count == 1 << depth && StateChunks.root(of: top) == updated.root)
            let sorted = map.sorted { $0.key < $1.key }.map { (key: $0.key, valueHash: $0.value) }
            let chunks = Dictionary(grouping: sorted) { StateChunks.chunkIndex(of: $0.key, depth: depth) }
            var emitted: [NodePosition: MerkleNode] = [:]
            for index in 0..<(1 << depth) {
                try StateChunks.verifyChunk(chunks[index] ?? [], index: index, depth: depth, expected: top[index]) { emitted[$0] = $1 }
            }
            #expect(emitted.allSatisfy { tree.merkleNode(at: $0.key) == $0.value })
            // Every stored node from the chunk depth down, but the leaves alone in their chunk (the top places those).
            let below = tree.nodes.filter { position, node in
                guard position.depth >= depth else { return false }
                if case .leaf(let key, _) = node, chunks[StateChunks.chunkIndex(of: key, depth: depth)]?.count == 1 { return false }
                return true
            }
            #expect(Set(below.keys) == Set(emitted.keys))
            guard let (index, leaves) = chunks.first(where: { $0.value.count >= 2 }) else { continue }
            var changed = leaves
            changed[0].valueHash = r.digest()
            #expect(throws: StateChunkError.summaryMismatch(index: index)) { try StateChunks.verifyChunk(changed, index: index, depth: depth, expected: top[index]) }
            #expect(throws: StateChunkError.summaryMismatch(index: index)) {
                try StateChunks.verifyChunk(Array(leaves.dropLast()), index: index, depth: depth, expected: top[index])
            }
            #expect(throws: StateChunkError.keysNotAscending(index: index)) {
                try StateChunks.verifyChunk(leaves.reversed(), index: index, depth: depth, expected: top[index])
            }
            if depth > 0, let other = chunks.first(where: { $0.key != index })?.value.first {
                #expect(throws: StateChunkError.keyOutsideChunk(index: index)) {
                    try StateChunks.verifyChunk(leaves + [other], index: index, depth: depth, expected: top[index])
                }
            }
        }
    }
}
