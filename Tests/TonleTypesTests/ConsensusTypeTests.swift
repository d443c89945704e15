import Testing
import TonleCrypto
import TonleTypes

@Suite struct ValidatorSetTests {
    func equalSet(_ n: Int, power: UInt64 = 1) throws -> ValidatorSet {
        try ValidatorSet(Gen.keys.prefix(n).map { try Validator(publicKey: $0.publicKey, power: power, name: "v") })
    }

    @Test func faultToleranceForAnyN() throws {
        for n in 1...200 {
            let f = ValidatorSet.faultyCountMax(validators: n)
            #expect(3 * f + 1 <= n && n < 3 * (f + 1) + 1, "n = \(n): f = \(f) is the largest with 3f + 1 ≤ n")
        }
        #expect([1, 3, 4, 7, 10].map { ValidatorSet.faultyCountMax(validators: $0) } == [0, 0, 1, 2, 3])
        for n in 1...Gen.keys.count {
            let set = try equalSet(n)
            #expect(set.faultyPowerMax == UInt64(ValidatorSet.faultyCountMax(validators: n)))
        }
    }

    @Test func quorumIsMoreThanTwoThirdsExactly() throws {
        #expect(try equalSet(4).quorumPower == 3)
        #expect(try equalSet(7).quorumPower == 5)
        #expect(try equalSet(10).quorumPower == 7)
        #expect(try equalSet(3).quorumPower == 3)
        // Exhaustively over small weighted totals: quorum iff 3p > 2T, one-third iff 3p > T,
        // and two quorums always share more than the faulty power.
        var r = SeededRandom(seed: 3)
        for _ in 0..<300 {
            let set = try ValidatorSet(Gen.keys.prefix(r.int(1...8)).map { try Validator(publicKey: $0.publicKey, power: UInt64(r.int(1...40)), name: "") })
            let total = set.totalPower
            for p in 0...total {
                #expect(set.isQuorum(p) == (3 * p > 2 * total))
                #expect(set.exceedsOneThird(p) == (3 * p > total))
            }
            #expect(2 * set.quorumPower - total > set.faultyPowerMax)
        }
    }

    @Test func lookupAndLimits() throws {
        let set = try equalSet(10)
        for (index, validator) in set.validators.enumerated() { #expect(set.index(of: validator.publicKey) == index) }
        #expect(set.validator(Ed25519.SigningKey.generate().publicKey) == nil)
        #expect(throws: DecodeError.self) { try ValidatorSet([]) }
        let key = Gen.keys[0].publicKey
        #expect(throws: DecodeError.self) { try ValidatorSet([try Validator(publicKey: key, power: 1, name: ""), try Validator(publicKey: key, power: 2, name: "")]) }
        #expect(throws: DecodeError.self) { try Validator(publicKey: key, power: 0, name: "") }
        #expect(throws: DecodeError.self) { try Validator(publicKey: key, power: Limits.validatorPowerMax + 1, name: "") }
    }
}

@Suite struct SigningTests {
    let chain = try! ChainID("tonle-test")

    @Test func transactionSignaturesCoverTheBody() throws {
        var r = SeededRandom(seed: 11)
        let body = Gen.transactionBody(&r, chainID: chain)
        let tx = try Transaction.signing(body, with: [Gen.keys[2], Gen.keys[1]])
        #expect(tx.hasValidSignatures)
        #expect(tx.signatures.map(\.publicKey) == [Gen.keys[1].publicKey, Gen.keys[2].publicKey].sorted())
        #expect(tx.id == body.id && tx.id.digest == SHA256.hash(body.encoded))
        // Another body under the same signatures fails; so does a signature moved to another key.
        var other = body
        other.expiry = Timestamp(millisecondsSinceEpoch: body.expiry.millisecondsSinceEpoch &+ 1)
        #expect(!(try Transaction(body: other, signatures: tx.signatures)).hasValidSignatures)
        let moved = KeySignature(publicKey: Gen.keys[3].publicKey, signature: tx.signatures[0].signature)
        #expect(!(try Transaction(body: body, signatures: [moved])).hasValidSignatures)
        #expect(throws: DecodeError.self) { try Transaction(body: body, signatures: []) }
        #expect(throws: DecodeError.self) { try Transaction.signing(body, with: [Gen.keys[1], Gen.keys[1]]) }
    }

    @Test func votesAndProposalsVerify() throws {
        let key = Gen.keys[4]
        let body = VoteBody(chainID: chain, type: .prevote, height: 9, round: 1, blockHash: SHA256.hash([1]), validator: key.publicKey)
        let vote = Vote(signing: body, with: key)
        #expect(vote.signatureCheck.isValid)
        var precommit = body
        precommit.type = .precommit
        #expect(!Vote(body: precommit, signature: vote.signature).signatureCheck.isValid, "a prevote signature is not a precommit")
        let proposal = Proposal(signing: try ProposalBody(chainID: chain, height: 9, round: 2, proofOfLockRound: 1, blockHash: SHA256.hash([2]), time: Timestamp(millisecondsSinceEpoch: 5), proposer: key.publicKey), with: key)
        #expect(proposal.signatureCheck.isValid)
        #expect(throws: DecodeError.self) { try ProposalBody(chainID: chain, height: 9, round: 2, proofOfLockRound: 2, blockHash: .zero, time: Timestamp(millisecondsSinceEpoch: 5), proposer: key.publicKey) }
        // Domain separation: the first byte of every signed message names its kind.
        #expect(body.encoded[0] == MessageKind.voteBody.rawValue && proposal.body.encoded[0] == MessageKind.proposalBody.rawValue)
    }

    func certificate(_ signers: ArraySlice<Ed25519.SigningKey>, height: UInt64 = 5, hash: Digest, chain: ChainID? = nil) throws -> CommitCertificate {
        try CommitCertificate(height: height, round: 0, blockHash: hash, signatures: signers.map { key in
            let body = VoteBody(chainID: chain ?? self.chain, type: .precommit, height: height, round: 0, blockHash: hash, validator: key.publicKey)
            return KeySignature(publicKey: key.publicKey, signature: key.sign(body.encoded))
        })
    }

    @Test func commitCertificates() throws {
        let validators = try ValidatorSet(Gen.keys.prefix(4).map { try Validator(publicKey: $0.publicKey, power: 10, name: "") })
        let hash = SHA256.hash([7])
        try certificate(Gen.keys.prefix(3), hash: hash).verify(chainID: chain, validators: validators, height: 5, blockHash: hash)
        #expect(throws: CertificateError.insufficientPower(signed: 20, needed: 27)) {
            try certificate(Gen.keys.prefix(2), hash: hash).verify(chainID: chain, validators: validators, height: 5, blockHash: hash)
        }
        #expect(throws: CertificateError.unknownValidator(Gen.keys[4].publicKey)) {
            try certificate(Gen.keys[2...4], hash: hash).verify(chainID: chain, validators: validators, height: 5, blockHash: hash)
        }
        #expect(throws: CertificateError.wrongBlock(expectedHeight: 6, expectedHash: hash)) {
            try certificate(Gen.keys.prefix(3), hash: hash).verify(chainID: chain, validators: validators, height: 6, blockHash: hash)
        }
        let otherChain = try certificate(Gen.keys.prefix(3), hash: hash, chain: try ChainID("other"))
        #expect(throws: CertificateError.self) { try otherChain.verify(chainID: chain, validators: validators, height: 5, blockHash: hash) }
    }

    @Test func blockConsistency() throws {
        var r = SeededRandom(seed: 5)
        let txs = (0..<3).map { _ in Gen.transaction(&r, chainID: chain) }
        let root = MerkleList.root(txs.map(\.id.digest))
        func header(_ height: UInt64, root: Digest, last: Digest = .zero, previous: Digest = .zero) throws -> BlockHeader {
            try BlockHeader(chainID: chain, height: height, time: Timestamp(millisecondsSinceEpoch: 1), previousBlockHash: previous, transactionsRoot: root,
                            lastResultsRoot: .zero, stateRoot: .zero, validatorsHash: .zero, nextValidatorsHash: .zero, proposer: Gen.keys[0].publicKey, lastCommitHash: last)
        }
        try Block(header: header(1, root: root), transactions: txs, lastCommit: nil).checkConsistency()
        #expect(throws: BlockError.transactionsRootMismatch) { try Block(header: header(1, root: root), transactions: txs.reversed(), lastCommit: nil).checkConsistency() }
        let previous = SHA256.hash([9])
        let commit = try certificate(Gen.keys.prefix(3), height: 1, hash: previous)
        try Block(header: header(2, root: root, last: commit.hash, previous: previous), transactions: txs, lastCommit: commit).checkConsistency()
        #expect(throws: BlockError.lastCommitMissing) { try Block(header: header(2, root: root, previous: previous), transactions: txs, lastCommit: nil).checkConsistency() }
        #expect(throws: BlockError.lastCommitMismatch) { try Block(header: header(2, root: root, previous: previous), transactions: txs, lastCommit: commit).checkConsistency() }
        #expect(throws: BlockError.lastCommitUnexpected) { try Block(header: header(1, root: root), transactions: txs, lastCommit: commit).checkConsistency() }
        #expect(throws: DecodeError.self) { try header(0, root: root) }
    }

    @Test func merkleListMatchesRFC6962() {
        let leaves = (0..<5).map { SHA256.hash([UInt8($0)]) }
        func leaf(_ d: Digest) -> Digest { SHA256.hash([0] + d.bytes) }
        func node(_ l: Digest, _ r: Digest) -> Digest { SHA256.hash([1] + l.bytes + r.bytes) }
        #expect(MerkleList.root([]) == SHA256.hash([UInt8]()))
        #expect(MerkleList.root([leaves[0]]) == leaf(leaves[0]))
        #expect(MerkleList.root(Array(leaves.prefix(3))) == node(node(leaf(leaves[0]), leaf(leaves[1])), leaf(leaves[2])))
        #expect(MerkleList.root(leaves) == node(node(node(leaf(leaves[0]), leaf(leaves[1])), node(leaf(leaves[2]), leaf(leaves[3]))), leaf(leaves[4])))
    }

    /// Every leaf of every list up to 70 long proves against the root; any other leaf, index,
    /// count, sibling or root does not; the proof's bytes round-trip.
    @Test func merkleListProofs() throws {
        for count in 1...70 {
            let leaves = (0..<count).map { SHA256.hash([UInt8($0), UInt8(count)]) }
            let root = MerkleList.root(leaves)
            for index in 0..<count {
                let proof = MerkleList.proof(leaves, index: index)
                #expect(proof.verify(leaf: leaves[index], root: root), "count \(count) index \(index)")
                #expect(proof.path.count <= 7)
                #expect(!proof.verify(leaf: SHA256.hash([0xff]), root: root))
                #expect(!proof.verify(leaf: leaves[index], root: SHA256.hash([0xfe])))
                if count > 1 {
                    let other = (index + 1) % count
                    #expect(!MerkleListProof(index: UInt32(other), count: proof.count, path: proof.path).verify(leaf: leaves[index], root: root))
                    var path = proof.path
                    path[path.count - 1] = SHA256.hash(path[path.count - 1].bytes)
                    #expect(!MerkleListProof(index: proof.index, count: proof.count, path: path).verify(leaf: leaves[index], root: root))
                    #expect(!MerkleListProof(index: proof.index, count: proof.count, path: proof.path + [root]).verify(leaf: leaves[index], root: root))
                    #expect(!MerkleListProof(index: proof.index, count: proof.count, path: Array(proof.path.dropLast())).verify(leaf: leaves[index], root: root))
                }
                var writer = CanonicalWriter()
                proof.encode(to: &writer)
                #expect(writer.bytes.count == 12 + 32 * proof.path.count)
                var reader = CanonicalReader(writer.bytes)
                #expect(try MerkleListProof(from: &reader) == proof)
            }
        }
        #expect(!MerkleListProof(index: 3, count: 3, path: []).verify(leaf: .zero, root: .zero), "an index past the count")
        #expect(!MerkleListProof(index: 0, count: 0, path: []).verify(leaf: .zero, root: MerkleList.root([])))
        // The root does not fix the list's length, so a path does not fix the position: leaf 2 of
        // three also proves as leaf 1 of two. Hence the results leaf hashes its index (encoding.md).
        let three = (0..<3).map { SHA256.hash([UInt8($0)]) }
        let path = MerkleList.proof(three, index: 2).path
        #expect(MerkleListProof(index: 1, count: 2, path: path).verify(leaf: three[2], root: MerkleList.root(three)))
    }
}
