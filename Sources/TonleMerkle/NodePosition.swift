import TonleCrypto

extension Bytes32 {
    /// Bit `index` (0 = the most significant bit of the first byte), as 0 or 1.
    @inlinable public func bit(_ index: Int) -> Int {
        withUnsafeBytes { Int($0[index >> 3] >> (7 - UInt8(index & 7)) & 1) }
    }

    /// These bytes with every bit from `bits` on set to zero.
    public func prefix(bits: Int) -> Bytes32 {
        var copy = self
        copy.withUnsafeMutableBytes { bytes in
            for index in 0..<32 {
                let keep = bits - index * 8
                if keep >= 8 { continue }
                bytes[index] &= keep <= 0 ? 0 : ~UInt8(0) << (8 - keep)
            }
        }
        return copy
    }

    /// True when the first `bits` bits of `self` and `other` are equal.
    public func sharesPrefix(with other: Bytes32, bits: Int) -> Bool {
        prefix(bits: bits) == other.prefix(bits: bits)
    }

}

/// Where a node sits in the tree: its depth (0 at the root, at most 256) and the path to it —
/// the first `depth` bits of every key below it, the remaining bits zero. Nodes are stored by
/// position, so an update rewrites only the positions on the changed paths.
public struct NodePosition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let root = NodePosition(depth: 0, path: .zero)
    public static let depthMax = 256

    public let depth: Int
    public let path: Bytes32

    public init(depth: Int, path: Bytes32) {
        precondition((0...NodePosition.depthMax).contains(depth), "depth \(depth) out of range")
        (self.depth, self.path) = (depth, path)
    }

    /// The position of the node for `key` at `depth`.
    public init(key: Bytes32, depth: Int) { self.init(depth: depth, path: key.prefix(bits: depth)) }

    /// The child on side `bit` (0 left, 1 right).
    public func child(_ bit: Int) -> NodePosition {
        precondition(depth < NodePosition.depthMax, "a node at depth 256 has no children")
        var path = self.path
        if bit == 1 {
            path.withUnsafeMutableBytes { $0[depth >> 3] |= 0x80 >> UInt8(depth & 7) }
        }
        return NodePosition(depth: depth + 1, path: path)
    }

    /// Storage key: the path's significant bytes, then the depth (big-endian `u16`), so the
    /// nodes of one subtree sort together.
    public var storageKey: [UInt8] {
        Array(path.bytes.prefix((depth + 7) / 8)) + [UInt8(depth >> 8), UInt8(depth & 0xff)]
    }

    /// The position a storage key names; nil for bytes that are not one.
    public init?(storageKey bytes: [UInt8]) {
        guard bytes.count >= 2 else { return nil }
        let depth = Int(bytes[bytes.count - 2]) << 8 | Int(bytes[bytes.count - 1])
        guard depth <= NodePosition.depthMax, bytes.count - 2 == (depth + 7) / 8 else { return nil }
        let path = Bytes32(bytes.dropLast(2) + Array(repeating: 0, count: 32 - (bytes.count - 2)))!
        guard path.prefix(bits: depth) == path else { return nil }
        self.init(depth: depth, path: path)
    }

    public var description: String { "\(depth):\(path.hex.prefix((depth + 3) / 4))" }

    /// The path's first word and the depth: positions near the root share path words, so the depth
    /// tells them apart; below them the path bits are uniform.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(path.withUnsafeBytes { $0.load(as: UInt64.self) } &+ UInt64(depth) &* 0x9E37_79B9_7F4A_7C15)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.path == rhs.path ? lhs.depth < rhs.depth : lhs.path < rhs.path
    }
}
