import TonleCrypto

/// A validator: its consensus key, its voting power and a name for people.
public struct Validator: Hashable, Sendable, CanonicalCodable {
    public let publicKey: Ed25519.PublicKey
    public let power: UInt64
    public let name: String

    public init(publicKey: Ed25519.PublicKey, power: UInt64, name: String) throws(DecodeError) {
        guard power >= 1, power <= Limits.validatorPowerMax else {
            throw .invalidValue(field: "power", reason: "voting power \(power) must be 1...\(Limits.validatorPowerMax)")
        }
        try TextRules.check(name, field: "validator name", max: Limits.displayNameBytesMax)
        (self.publicKey, self.power, self.name) = (publicKey, power, name)
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.bytes32(publicKey.raw)
        writer.u64(power)
        writer.string(name)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try self.init(
            publicKey: Ed25519.PublicKey(reader.bytes32("validator key")), power: reader.u64("power"),
            name: reader.string("validator name", max: Limits.displayNameBytesMax))
    }
}

/// The validators of a height, sorted by key, with the quorum arithmetic of BFT consensus.
///
/// With total power T, a quorum is power strictly more than 2T/3; the power that may be faulty
/// while quorums still intersect in an honest validator is at most ⌊(T−1)/3⌋. For n validators
/// of equal power that is f = ⌊(n−1)/3⌋: 4 → 1, 7 → 2, 10 → 3, and 3 → 0.
public struct ValidatorSet: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.validatorSet
    public static let encodedBytesMax = Limits.validatorsMax * (32 + 8 + 4 + Limits.displayNameBytesMax) + 6

    public let validators: [Validator]
    public let totalPower: UInt64

    /// Sorts by key; throws on an empty set, repeated keys, more than `Limits.validatorsMax`
    /// validators, or total power above `Limits.votingPowerTotalMax`.
    public init(_ validators: [Validator]) throws(DecodeError) {
        try self.init(sorted: validators.sorted { $0.publicKey < $1.publicKey })
    }

    private init(sorted validators: [Validator]) throws(DecodeError) {
        guard !validators.isEmpty else { throw .invalidValue(field: "validators", reason: "a validator set needs at least one validator") }
        guard validators.count <= Limits.validatorsMax else {
            throw .tooLarge(field: "validators", count: validators.count, max: Limits.validatorsMax)
        }
        try validators.requireStrictlyAscending("validators", by: \.publicKey)
        // Each power is at most 2^40 and there are at most 128, so the sum cannot overflow.
        let total = validators.reduce(UInt64(0)) { $0 + $1.power }
        guard total <= Limits.votingPowerTotalMax else {
            throw .invalidValue(field: "validators", reason: "total power \(total) exceeds \(Limits.votingPowerTotalMax)")
        }
        (self.validators, self.totalPower) = (validators, total)
    }

    public var count: Int { validators.count }

    /// The least power that is more than two thirds of the total.
    public var quorumPower: UInt64 { totalPower * 2 / 3 + 1 }

    /// The most power that may be faulty: ⌊(T−1)/3⌋.
    public var faultyPowerMax: UInt64 { (totalPower - 1) / 3 }

    /// The most validators that may be faulty when all have equal power: ⌊(n−1)/3⌋.
    public static func faultyCountMax(validators n: Int) -> Int {
        precondition(n >= 1, "a validator set is never empty")
        return (n - 1) / 3
    }

    /// True when `power` is more than two thirds of the total (a commit or a lock).
    public func isQuorum(_ power: UInt64) -> Bool { power >= quorumPower }

    /// True when `power` is more than one third: at least one honest validator is among them.
    public func exceedsOneThird(_ power: UInt64) -> Bool { power > totalPower / 3 }

    /// The validator with `key`, found by binary search.
    public func validator(_ key: Ed25519.PublicKey) -> Validator? {
        index(of: key).map { validators[$0] }
    }

    /// The position of `key` in the set, if present.
    public func index(of key: Ed25519.PublicKey) -> Int? {
        var (low, high) = (0, validators.count)
        while low < high {
            let middle = (low + high) / 2
            if validators[middle].publicKey < key { low = middle + 1 } else { high = middle }
        }
        return low < validators.count && validators[low].publicKey == key ? low : nil
    }

    /// SHA-256 of the canonical encoding; block headers name validator sets by this hash.
    public var hash: Digest { SHA256.hash(encoded) }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        writer.list(validators)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        try self.init(sorted: reader.list("validators", of: Validator.self, max: Limits.validatorsMax, elementBytesMin: 44))
    }
}
