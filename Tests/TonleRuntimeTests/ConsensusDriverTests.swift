import Testing
import TonleConsensus
import TonleCrypto
import TonleRuntime
import TonleStorage
import TonleTypes
import TonleWorkload

/// The driver's sign-state rule: never a message for a slot below the last signed, and at the same
/// slot only the message signed before.
@Suite struct ConsensusDriverTests {
    let workload = Workload(seed: 1, accounts: 2)

    func driver(_ key: Ed25519.SigningKey, signState: MemorySignState) throws -> ConsensusDriver {
        let store = MemoryStore()
        try workload.initialise(store)
        return try ConsensusDriver(chainID: workload.chainID, key: key, validators: workload.validators, store: store,
                                   log: MemoryConsensusLog(), signState: signState, now: { 1 })
    }

    /// A validator that is not round 0's proposer, so its first signature is a prevote at the propose timeout.
    func nonProposer() -> Ed25519.SigningKey {
        let core = Consensus(chainID: workload.chainID, me: nil, validators: workload.validators, height: 1)
        return workload.validatorKeys.first { $0.publicKey != core.proposer(round: 0) }!
    }

    func broadcasts(_ outgoing: [Outgoing]) -> [ConsensusMessage] {
        outgoing.compactMap { if case .broadcast(let m) = $0 { m } else { nil } }
    }

    @Test func nothingIsSignedBelowTheLastSignedSlot() throws {
        let key = nonProposer(), signState = MemorySignState()
        let later = Vote(signing: VoteBody(chainID: workload.chainID, type: .precommit, height: 1, round: 9, blockHash: nil, validator: key.publicKey), with: key)
        try signState.save(SignStateRecord(height: 1, round: 9, step: Step.precommit.rawValue, signed: Input.vote(later).encoded))
        let node = try driver(key, signState: signState)
        _ = node.drainOutbox()
        try node.deliver(.timeout(Timeout(height: 1, round: 0, kind: .propose)))
        #expect(broadcasts(node.drainOutbox()).isEmpty, "a prevote of round 0 would be below the precommit of round 9")
        #expect(signState.last?.round == 9)
    }

    @Test func theSameSlotGetsTheMessageSignedBefore() throws {
        let key = nonProposer(), signState = MemorySignState()
        let earlier = Vote(signing: VoteBody(chainID: workload.chainID, type: .prevote, height: 1, round: 0, blockHash: SHA256.hash([1]), validator: key.publicKey), with: key)
        try signState.save(SignStateRecord(height: 1, round: 0, step: Step.prevote.rawValue, signed: Input.vote(earlier).encoded))
        let node = try driver(key, signState: signState)
        _ = node.drainOutbox()
        // The core now wants to prevote nil; the node already prevoted a block in this slot.
        try node.deliver(.timeout(Timeout(height: 1, round: 0, kind: .propose)))
        #expect(broadcasts(node.drainOutbox()) == [.vote(earlier)])
    }
}
