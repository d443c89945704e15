import TonleCrypto

/// The Merkle root of an ordered list of digests, as in RFC 6962 §2.1: leaves hashed as
/// SHA-256(0x00 ‖ leaf), inner nodes as SHA-256(0x01 ‖ left ‖ right), the list split at the
/// largest power of two below its length; the empty list's root is SHA-256 of no bytes.
/// A block's `transactionsRoot` is this root over its transaction ids.
public enum MerkleList {
    public static func root(_ leaves: [Digest]) -> Digest {
        guard !leaves.isEmpty else { return SHA256.hash([UInt8]()) }
        let hasher = SHA256Hasher()
        return root(leaves[...], hasher)
    }

    private static func root(_ leaves: ArraySlice<Digest>, _ hasher: SHA256Hasher) -> Digest {
        if leaves.count == 1 {
            hasher.update([0x00])
            hasher.update(leaves.first!.bytes)
            return hasher.finalize()
        }
        var split = 1
        while split * 2 < leaves.count { split *= 2 }
        let left = root(leaves.prefix(split), hasher)
        let right = root(leaves.dropFirst(split), hasher)
        hasher.update([0x01])
        hasher.update(left.bytes)
        hasher.update(right.bytes)
        return hasher.finalize()
    }

    /// The audit path of leaf `index` (RFC 6962 §2.1.1): the sibling roots from the leaf up.
    public static func proof(_ leaves: [Digest], index: Int) -> MerkleListProof {
        precondition(leaves.indices.contains(index), "no leaf \(index) among \(leaves.count)")
        var path: [Digest] = []
        auditPath(leaves[...], index: index, into: &path, SHA256Hasher())
        return MerkleListProof(index: UInt32(index), count: UInt32(leaves.count), path: path)
    }

    private static func auditPath(_ leaves: ArraySlice<Digest>, index: Int, into path: inout [Digest], _ hasher: SHA256Hasher) {
        guard leaves.count > 1 else { return }
        var split = 1
        while split * 2 < leaves.count { split *= 2 }
        let start = leaves.startIndex
        if index < split {
            auditPath(leaves.prefix(split), index: index, into: &path, hasher)
            path.append(root(leaves.dropFirst(split), hasher))
        } else {
            auditPath(leaves.dropFirst(split), index: index - split, into: &path, hasher)
            path.append(root(leaves[start..<start + split], hasher))
        }
    }

    /// The leaf hash of `leaf`, as the root computes it: SHA-256(00 ‖ leaf).
    static func leafHash(_ leaf: Digest, _ hasher: SHA256Hasher) -> Digest {
        hasher.update([0x00])
        hasher.update(leaf.bytes)
        return hasher.finalize()
    }

    static func nodeHash(_ left: Digest, _ right: Digest, _ hasher: SHA256Hasher) -> Digest {
        hasher.update([0x01])
        hasher.update(left.bytes)
        hasher.update(right.bytes)
        return hasher.finalize()
    }
}

/// Where one leaf sits in a `MerkleList` and the sibling roots that lead from it to the root.
public struct MerkleListProof: Hashable, Sendable, CanonicalCodable {
    public let index: UInt32
    public let count: UInt32
    /// Sibling roots from the leaf's level up (at most 14 for 8,192 leaves).
    public let path: [Digest]

    public static let pathMax = 64

    public init(index: UInt32, count: UInt32, path: [Digest]) { (self.index, self.count, self.path) = (index, count, path) }

    /// Whether `leaf` at this index of a list of this count has `root`: the path is consumed
    /// exactly as RFC 6962 §2.1.1 verifies an audit path.
    public func verify(leaf: Digest, root: Digest) -> Bool {
        guard index < count else { return false }
        let hasher = SHA256Hasher()
        var (node, last) = (UInt64(index), UInt64(count) - 1)
        var hash = MerkleList.leafHash(leaf, hasher)
        for sibling in path {
            guard last > 0 else { return false }
            if node % 2 == 1 || node == last {
                hash = MerkleList.nodeHash(sibling, hash, hasher)
                if node % 2 == 0 {
                    while node % 2 == 0, node != 0 { (node, last) = (node / 2, last / 2) }
                }
            } else {
                hash = MerkleList.nodeHash(hash, sibling, hasher)
            }
            (node, last) = (node / 2, last / 2)
        }
        return last == 0 && hash == root
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.u32(index)
        writer.u32(count)
        writer.list(path) { w, digest in w.bytes32(digest.raw) }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        index = try reader.u32("leaf index")
        count = try reader.u32("leaf count")
        path = try reader.list("audit path", max: Self.pathMax, elementBytesMin: 32) { (r: inout CanonicalReader) throws(DecodeError) in
            Digest(try r.bytes32("sibling"))
        }
    }
}
