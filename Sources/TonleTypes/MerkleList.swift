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
}
