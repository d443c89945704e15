import TonleConsensus
import TonleCrypto
import TonleStorage
import TonleTypes

/// The safety checks, after every event: agreement, valid certificates, no double signing by a
/// correct validator, equal state roots. Only correct validators count; twins are Byzantine.
struct Checker {
    let chainID: ChainID
    let validators: ValidatorSet
    let correct: Set<Ed25519.PublicKey>
    var violations: [String] = []
    private var decisions: [UInt64: Digest] = [:]
    private var roots: [UInt64: Digest] = [:]
    private var signed: [Ed25519.PublicKey: [[UInt64]: Digest]] = [:]

    init(chainID: ChainID, validators: ValidatorSet, correct: Set<Ed25519.PublicKey>) {
        (self.chainID, self.validators, self.correct) = (chainID, validators, correct)
    }

    func isCorrect(_ node: SimNode) -> Bool { correct.contains(node.key.publicKey) }

    mutating func decided(_ block: Block, _ certificate: CommitCertificate, root: Digest, by node: SimNode) {
        let height = block.header.height
        do {
            try certificate.verify(chainID: chainID, validators: validators, height: height, blockHash: block.hash)
        } catch {
            if isCorrect(node) { violations.append("invalid commit certificate for height \(height) at n\(node.index): \(error)") }
        }
        guard isCorrect(node) else { return }
        if let earlier = decisions[height], earlier != block.hash {
            violations.append("agreement: height \(height) decided as \(earlier.hex.prefix(8)) and as \(block.hash.hex.prefix(8)) (n\(node.index))")
        }
        decisions[height] = decisions[height] ?? block.hash
        if let earlier = roots[height], earlier != root {
            violations.append("state roots differ after height \(height) (n\(node.index))")
        }
        roots[height] = roots[height] ?? root
    }

    /// A correct validator never signs two different messages for one height, round and step.
    mutating func signed(_ message: ConsensusMessage, by node: SimNode) {
        guard isCorrect(node) else { return }
        let slot: [UInt64], bytes: [UInt8], signer: Ed25519.PublicKey
        switch message {
        case .proposal(let p, _): (slot, bytes, signer) = ([p.body.height, UInt64(p.body.round), 1], p.body.encoded, p.body.proposer)
        case .vote(let v): (slot, bytes, signer) = ([v.body.height, UInt64(v.body.round), v.body.type == .prevote ? 2 : 3], v.body.encoded, v.body.validator)
        }
        guard signer == node.key.publicKey else { return }
        let hash = SHA256.hash(bytes)
        if let earlier = signed[signer]?[slot], earlier != hash {
            violations.append("double signing by n\(node.index) at height \(slot[0]) round \(slot[1]) step \(slot[2])")
        }
        signed[signer, default: [:]][slot] = hash
    }

    func allReached(_ height: UInt64, nodes: [SimNode]) -> Bool {
        height > 0 && nodes.filter(isCorrect).allSatisfy { ($0.store.appliedHeight ?? 0) >= height }
    }

    func heightsDecidedByAllCorrect(_ nodes: [SimNode]) -> UInt64 {
        nodes.filter(isCorrect).map { $0.store.appliedHeight ?? 0 }.min() ?? 0
    }
}
