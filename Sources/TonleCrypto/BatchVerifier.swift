/// One signature to check: `signature` by `publicKey` over `message`.
public struct SignatureCheck: Sendable {
    public var publicKey: Ed25519.PublicKey
    public var signature: Ed25519.Signature
    public var message: [UInt8]

    public init(publicKey: Ed25519.PublicKey, signature: Ed25519.Signature, message: [UInt8]) {
        (self.publicKey, self.signature, self.message) = (publicKey, signature, message)
    }

    /// True when the signature is valid.
    public var isValid: Bool { publicKey.isValidSignature(signature, for: message) }
}

/// Verifies many signatures on several cores.
///
/// The parallelism is an input, not a choice made here: the caller passes a fork-join function
/// (`DispatchQueue.concurrentPerform` in the node and CLI, a plain loop in the simulator), so this
/// layer stays free of threads and the result never depends on scheduling.
public enum BatchVerifier {
    /// Runs `body(0)`, …, `body(iterations - 1)`, possibly at the same time, and returns when all are done.
    public typealias ForkJoin = (_ iterations: Int, _ body: @Sendable (Int) -> Void) -> Void

    /// Runs every iteration in turn on the calling thread.
    public static func sequential(_ iterations: Int, _ body: @Sendable (Int) -> Void) {
        for index in 0..<iterations { body(index) }
    }

    /// Below this many checks a batch is verified on the calling thread (forking costs more).
    public static let parallelChecksMin = 64
    /// Chunks per worker: small enough chunks to even out the load, large enough to amortise a fork.
    static let chunksPerWorker = 4

    /// Whether each check holds, in the order given. `workers` is the number of cores to use.
    public static func verify(_ checks: [SignatureCheck], workers: Int, forkJoin: ForkJoin) -> [Bool] {
        precondition(workers >= 1, "workers must be at least 1")
        if checks.count < parallelChecksMin || workers == 1 { return checks.map(\.isValid) }
        let chunkCount = min(checks.count, workers * chunksPerWorker)
        let results = ResultSlots(count: checks.count)
        defer { results.release() }
        forkJoin(chunkCount) { chunk in
            let range = chunkRange(chunk, of: chunkCount, total: checks.count)
            for index in range { results.set(index, checks[index].isValid) }
        }
        return results.values()
    }

    /// The indices of chunk `chunk` when `total` items are cut into `chunkCount` near-equal chunks.
    static func chunkRange(_ chunk: Int, of chunkCount: Int, total: Int) -> Range<Int> {
        let lower = total * chunk / chunkCount
        let upper = total * (chunk + 1) / chunkCount
        return lower..<upper
    }
}

/// One result slot per check. Each slot is written by exactly one chunk and read only after the
/// fork-join has returned, so unsynchronised access is safe.
private struct ResultSlots: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Bool>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: false)
    }

    func set(_ index: Int, _ value: Bool) { slots[index] = value }
    func values() -> [Bool] { Array(slots) }
    func release() { slots.deallocate() }
}
