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

    func driver(_ key: Ed25519.SigningKey, signState: any SignStateStore, log: MemoryConsensusLog = MemoryConsensusLog(),
                now: UInt64 = 1) throws -> ConsensusDriver {
        let store = MemoryStore()
        try workload.initialise(store)
        return try ConsensusDriver(chainID: workload.chainID, key: key, validators: workload.validators, store: store,
                                   log: log, signState: signState, now: { now })
    }

    /// Round 0's proposer.
    func proposer() -> Ed25519.SigningKey {
        let core = Consensus(chainID: workload.chainID, me: nil, validators: workload.validators, height: 1)
        return workload.validatorKeys.first { $0.publicKey == core.proposer(round: 0) }!
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

    /// The proposer's block reaches the disk once, in one synced WAL record; the sign-state keeps
    /// only the signed proposal.
    @Test func theProposerWritesItsBlockOnce() throws {
        let key = proposer(), signState = RecordingSignState(), log = MemoryConsensusLog()
        let node = try driver(key, signState: signState, log: log)
        guard case .proposal(let proposal, let block)? = broadcasts(node.drainOutbox()).first else {
            Issue.record("round 0's proposer proposed nothing"); return
        }
        // The proposer then prevotes its own block: a second signature, and a second sync.
        let records = try log.records().map { try Input(encoded: $0) }
        let holdingBlocks = records.filter { if case .proposal = $0 { true } else if case .proposalValue = $0 { true } else { false } }
        #expect(holdingBlocks == [.proposal(proposal, block)], "one record holds the block: \(records)")
        #expect(records.first == .proposal(proposal, block), "logged before anything else of the round")
        #expect(log.syncs == 2)
        #expect(try signState.saved.map(\.signed).first.map { try Proposal(canonical: $0) } == proposal)
    }

    /// A proposer that crashed after signing, restarted with a different clock (so it would build
    /// another block), sends the proposal it signed before and never a second one.
    @Test func aRestartedProposerKeepsTheProposalItSigned() throws {
        let key = proposer(), signState = MemorySignState(), log = MemoryConsensusLog()
        guard case .proposal(let proposal, let block)? = broadcasts(try driver(key, signState: signState, log: log).drainOutbox()).first else {
            Issue.record("round 0's proposer proposed nothing"); return
        }
        let restarted = try driver(key, signState: signState, log: log, now: 5_000)
        #expect(broadcasts(restarted.drainOutbox()).allSatisfy { if case .proposal = $0 { false } else { true } })
        try restarted.deliver(.timeout(Timeout(height: 1, round: 0, kind: .retransmit)))
        let sent = broadcasts(restarted.drainOutbox())
        #expect(sent.contains(.proposal(proposal, block)))
        #expect(sent.filter { if case .proposal = $0 { true } else { false } }.count == 1)
    }

    /// A sign-state written before proposals were kept without their block still serves.
    @Test func anOlderSignStateWithTheBlockStillServes() throws {
        let key = proposer(), first = MemorySignState()
        guard case .proposal(let proposal, let block)? = broadcasts(try driver(key, signState: first).drainOutbox()).first else {
            Issue.record("round 0's proposer proposed nothing"); return
        }
        let older = MemorySignState()
        try older.save(SignStateRecord(height: 1, round: 0, step: Step.propose.rawValue, signed: Input.proposal(proposal, block).encoded))
        // An empty WAL (lost or from an older node) and a later clock: only the sign-state knows the proposal.
        let node = try driver(key, signState: older, now: 5_000)
        #expect(broadcasts(node.drainOutbox()).first == .proposal(proposal, block))
    }
}

/// A sign-state that keeps every record saved.
final class RecordingSignState: SignStateStore {
    private(set) var saved: [SignStateRecord] = []
    var last: SignStateRecord? { saved.last }
    func save(_ record: SignStateRecord) throws(StoreError) { saved.append(record) }
}
