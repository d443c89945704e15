import TonleCrypto
import TonleTypes

/// Timeouts and bounds of the protocol.
public struct ConsensusConfig: Hashable, Sendable {
    public var proposeMilliseconds: UInt64 = 1_000
    public var proposeDeltaMilliseconds: UInt64 = 500
    public var prevoteMilliseconds: UInt64 = 500
    public var prevoteDeltaMilliseconds: UInt64 = 250
    public var precommitMilliseconds: UInt64 = 500
    public var precommitDeltaMilliseconds: UInt64 = 250
    /// Timeouts stop growing after this many rounds.
    public var timeoutGrowthRoundsMax: UInt32 = 20
    /// How often a node sends its own messages of the current round again.
    public var retransmitMilliseconds: UInt64 = 1_000

    public init() {}

    /// The timeout of `kind` in `round`: base + delta × round (growth capped).
    public func milliseconds(_ kind: TimeoutKind, round: UInt32) -> UInt64 {
        let r = UInt64(min(round, timeoutGrowthRoundsMax))
        switch kind {
        case .propose: return proposeMilliseconds + proposeDeltaMilliseconds * r
        case .prevote: return prevoteMilliseconds + prevoteDeltaMilliseconds * r
        case .precommit: return precommitMilliseconds + precommitDeltaMilliseconds * r
        case .retransmit: return retransmitMilliseconds
        }
    }
}

/// Tendermint's consensus algorithm (Buchman, Kwon, Milosevic, arXiv:1807.04938, Algorithm 1) as a
/// value: `step(input)` returns the effects the shell must carry out, in order (docs/consensus.md).
/// No clock, no I/O, no randomness: the same inputs give the same effects.
public struct Consensus: Sendable {
    /// Messages further than this many rounds ahead are dropped (bounded memory).
    public static let roundsAheadMax: UInt32 = 64
    /// Messages for the next height kept until it starts.
    public static let nextHeightMessagesMax = 4_096

    public let chainID: ChainID
    /// This node's validator key; nil for an observer, which follows but never signs.
    public let me: Ed25519.PublicKey?
    public let config: ConsensusConfig
    public private(set) var height: UInt64
    public private(set) var round: UInt32 = 0
    public private(set) var step: Step = .propose
    public private(set) var validators: ValidatorSet
    public private(set) var decision: Block?
    private var schedule: ProposerSchedule
    private var lockedRound: Int64 = -1
    private var lockedBlock: Block?
    private var validRound: Int64 = -1
    private var validBlock: Block?
    private var proposals: [UInt32: (proposal: Proposal, block: Block)] = [:]
    private var validity: [Digest: Bool] = [:]
    private var prevotes: [UInt32: Tally] = [:]
    private var precommits: [UInt32: Tally] = [:]
    private var fired: Set<Fired> = []
    private var own: [ConsensusMessage] = []
    private var nextHeight: [Input] = []

    /// Rules that act once per round.
    private enum Fired: Hashable {
        case prevoteTimeout(UInt32), precommitTimeout(UInt32), lock(UInt32), requested(UInt32)
    }

    public init(chainID: ChainID, me: Ed25519.PublicKey?, validators: ValidatorSet, height: UInt64, config: ConsensusConfig = ConsensusConfig()) {
        (self.chainID, self.me, self.validators, self.height, self.config) = (chainID, me, validators, height, config)
        schedule = ProposerSchedule(validators)
    }

    /// The proposer of `round` at the current height.
    public func proposer(round: UInt32) -> Ed25519.PublicKey { schedule.proposer(height: height, round: round) }

    /// Starts round 0 of the current height. Call once, before any input.
    public mutating func start() -> [Effect] { startRound(0) + applyRules() }

    /// Advances the core by one input, and checks what must never happen (in release builds too:
    /// a node that breaks one stops rather than sign on).
    public mutating func step(_ input: Input) -> [Effect] {
        let (heightBefore, decidedBefore) = (height, decision?.hash)
        let effects = stepUnchecked(input)
        if height == heightBefore, let decidedBefore {
            precondition(decision?.hash == decidedBefore, "height \(height) decided twice")
        }
        precondition(lockedRound <= Int64(round) && validRound <= Int64(round), "locked round \(lockedRound) or valid round \(validRound) above round \(round)")
        precondition((lockedRound < 0) == (lockedBlock == nil), "a lock without a block, or a block without a lock")
        for case .decide(let block, let certificate) in effects {
            // (A blockExecuted input may decide the next height too, from messages it buffered.)
            precondition(block.header.height >= heightBefore && certificate.height == block.header.height && certificate.blockHash == block.hash,
                         "a decision whose block, height and certificate disagree")
        }
        return effects
    }

    private mutating func stepUnchecked(_ input: Input) -> [Effect] {
        if input.height == height + 1, case .proposal = input { return bufferNextHeight(input) }
        if input.height == height + 1, case .vote = input { return bufferNextHeight(input) }
        guard input.height == height else { return [] }
        var effects: [Effect]
        switch input {
        case .proposal(let proposal, let block): effects = receive(proposal, block)
        case .vote(let vote): effects = receive(vote)
        case .timeout(let timeout): effects = fire(timeout)
        case .proposalValue(_, let round, let block): effects = propose(block, round: round)
        case .proposalValidated(_, let hash, let valid):
            guard validity[hash] == nil else { return [] }
            validity[hash] = valid
            effects = [.persist(input)]
        case .blockExecuted(_, let next): return advance(to: next, input: input)
        case .syncedBlock(let block, let certificate): effects = sync(block, certificate)
        }
        guard !effects.isEmpty else { return [] }
        return effects + applyRules()
    }

    // MARK: Inputs

    private mutating func receive(_ proposal: Proposal, _ block: Block) -> [Effect] {
        let body = proposal.body, r = body.round
        guard decision == nil, UInt64(r) <= UInt64(round) + UInt64(Self.roundsAheadMax), proposals[r] == nil, body.chainID == chainID,
              body.proposer == proposer(round: r), block.hash == body.blockHash, block.header.height == height
        else { return [] }
        proposals[r] = (proposal, block)
        if body.proposer == me { own.append(.proposal(proposal, block)) }
        var effects: [Effect] = [.persist(.proposal(proposal, block))]
        if validity[block.hash] == nil, !proposals.values.contains(where: { $0.block.hash == block.hash && $0.proposal.body.round != r }) {
            effects.append(.validate(block))
        }
        return effects
    }

    private mutating func receive(_ vote: Vote) -> [Effect] {
        let body = vote.body, r = body.round
        guard body.chainID == chainID, UInt64(r) <= UInt64(round) + UInt64(Self.roundsAheadMax), let validator = validators.validator(body.validator) else { return [] }
        let added: Tally.Outcome
        switch body.type {
        case .prevote: added = prevotes[r, default: Tally()].add(vote, power: validator.power)
        case .precommit: added = precommits[r, default: Tally()].add(vote, power: validator.power)
        }
        switch added {
        case .duplicate: return []
        case .conflict(let first): return [.persist(.vote(vote)), .evidence(first, vote)]
        case .added:
            if body.validator == me { own.append(.vote(vote)) }
            return [.persist(.vote(vote))]
        }
    }

    private mutating func fire(_ timeout: Timeout) -> [Effect] {
        guard timeout.round == round, decision == nil else { return [] }
        var effects: [Effect]
        switch timeout.kind {
        case .retransmit:
            // Not persisted: it changes nothing but what is sent again, and schedules itself.
            return ownMessages(round: round).map(Effect.broadcast) + proofOfLock() + [schedule(.retransmit)]
        case .propose:
            guard step == .propose else { return [] }
            effects = [.persist(.timeout(timeout))] + enterPrevote(nil)
        case .prevote:
            guard step == .prevote else { return [] }
            effects = [.persist(.timeout(timeout))] + enterPrecommit(nil)
        case .precommit:
            effects = [.persist(.timeout(timeout))] + startRound(round + 1)
        }
        // Lagging peers need this round's own messages to catch up (the proof-of-lock fix).
        return effects + ownMessages(round: timeout.round).map(Effect.broadcast)
    }

    /// What to send a peer whose link just came up: this node's own messages of the current
    /// round, and with a re-proposal its proof-of-lock (what the retransmit timer would send).
    /// Sending them at once saves a new link up to a retransmit interval.
    public var messagesForNewLink: [ConsensusMessage] {
        guard decision == nil else { return [] }
        return ownMessages(round: round) + proofOfLock().compactMap { if case .broadcast(let m) = $0 { m } else { nil } }
    }

    private func ownMessages(round r: UInt32) -> [ConsensusMessage] {
        own.filter { message in
            switch message {
            case .proposal(let p, _): p.body.round == r
            case .vote(let v): v.body.round == r
            }
        }
    }

    /// The prevotes proving this node's valid value (its proof-of-lock), to send with a re-proposal.
    private func proofOfLock() -> [Effect] {
        guard let me, proposer(round: round) == me, let validBlock, validRound >= 0,
              let tally = prevotes[UInt32(validRound)] else { return [] }
        return tally.votes(for: validBlock.hash).map { .broadcast(.vote($0)) }
    }

    private func schedule(_ kind: TimeoutKind) -> Effect {
        .scheduleTimeout(Timeout(height: height, round: round, kind: kind), milliseconds: config.milliseconds(kind, round: round))
    }

    private mutating func propose(_ block: Block, round r: UInt32) -> [Effect] {
        guard r == round, step == .propose, decision == nil, let me, proposer(round: r) == me, proposals[r] == nil,
              block.header.height == height, fired.contains(.requested(r))
        else { return [] }
        fired.remove(.requested(r))
        // The value itself is not persisted: the signed proposal is, once, before it leaves the
        // node (the driver logs it before saving the sign-state). A crash before that leaves
        // nothing signed, and the restarted node builds a new block.
        return [signProposal(block, proofOfLockRound: nil)]
    }

    private mutating func sync(_ block: Block, _ certificate: CommitCertificate) -> [Effect] {
        guard decision == nil, certificate.height == height, certificate.blockHash == block.hash,
              validators.isQuorum(power(of: certificate.signatures.map(\.publicKey)))
        else { return [] }
        decision = block
        return [.persist(.syncedBlock(block, certificate)), .decide(block, certificate)]
    }

    /// After the decided block is executed: the next height, with the next validator set.
    private mutating func advance(to next: ValidatorSet, input: Input) -> [Effect] {
        guard let decided = decision else { return [] }
        precondition(decided.header.height == height, "heights advance one at a time")
        let buffered = nextHeight
        self = Consensus(chainID: chainID, me: me, validators: next, height: height + 1, config: config)
        var effects: [Effect] = [.persist(input)] + start()
        for message in buffered { effects += step(message) }
        return effects
    }

    private mutating func bufferNextHeight(_ input: Input) -> [Effect] {
        if nextHeight.count < Self.nextHeightMessagesMax, !nextHeight.contains(input) { nextHeight.append(input) }
        return []
    }

    // MARK: Rounds and steps

    private mutating func startRound(_ r: UInt32) -> [Effect] {
        (round, step) = (r, .propose)
        let retransmit = me == nil ? [] : [schedule(.retransmit)]
        guard let me, proposer(round: r) == me else { return [schedule(.propose)] + retransmit }
        if let validBlock {
            // A re-proposal with a proof-of-lock round is accepted only by nodes holding that
            // round's quorum of prevotes: send them along, for those that lost some.
            return [signProposal(validBlock, proofOfLockRound: UInt32(validRound))] + proofOfLock() + retransmit
        }
        fired.insert(.requested(r))
        return [.requestProposal(height: height, round: r)] + retransmit
    }

    private func signProposal(_ block: Block, proofOfLockRound: UInt32?) -> Effect {
        let body = try! ProposalBody(chainID: chainID, height: height, round: round, proofOfLockRound: proofOfLockRound,
                                     blockHash: block.hash, time: block.header.time, proposer: me!)
        return .sign(.proposal(body, block))
    }

    private mutating func enterPrevote(_ hash: Digest?) -> [Effect] {
        step = .prevote
        return vote(.prevote, hash)
    }

    private mutating func enterPrecommit(_ hash: Digest?) -> [Effect] {
        step = .precommit
        return vote(.precommit, hash)
    }

    private func vote(_ type: VoteType, _ hash: Digest?) -> [Effect] {
        guard let me, validators.validator(me) != nil else { return [] }
        return [.sign(.vote(VoteBody(chainID: chainID, type: type, height: height, round: round, blockHash: hash, validator: me)))]
    }

    // MARK: The rules of Algorithm 1, applied until none fires

    private mutating func applyRules() -> [Effect] {
        var effects: [Effect] = []
        while decision == nil, let more = nextRule() { effects += more }
        return effects
    }

    /// The effects of the first rule that fires, or nil when none does.
    private mutating func nextRule() -> [Effect]? {
        if let effects = decideRule() { return effects }
        if let effects = skipRoundRule() { return effects }
        if let effects = prevoteRule() { return effects }
        if let effects = lockRule() { return effects }
        if step == .prevote, prevotes[round]?.power(for: nil).map(validators.isQuorum) == true {   // line 44
            return enterPrecommit(nil)
        }
        if step == .prevote, validators.isQuorum(prevotes[round]?.total ?? 0), fired.insert(.prevoteTimeout(round)).inserted {   // line 34
            return [schedule(.prevote)]
        }
        // Not in the paper: a quorum of precommits for nothing means no value can be decided in
        // this round, so waiting out its precommit timeout (line 47) only delays the next
        // proposal. Changing rounds never affects safety (locks do), so start the next one now.
        // As at the precommit timeout, lagging peers get this round's own messages again.
        if precommits[round]?.power(for: nil).map(validators.isQuorum) == true {
            let ended = round
            return startRound(round + 1) + ownMessages(round: ended).map(Effect.broadcast)
        }
        if validators.isQuorum(precommits[round]?.total ?? 0), fired.insert(.precommitTimeout(round)).inserted {   // line 47
            return [schedule(.precommit)]
        }
        return nil
    }

    /// Lines 22 and 28: prevote for the round's proposal, or for nothing.
    private mutating func prevoteRule() -> [Effect]? {
        guard step == .propose, let (proposal, block) = proposals[round], let valid = validity[block.hash] else { return nil }
        guard let pol = proposal.body.proofOfLockRound else {
            let acceptable = valid && (lockedRound == -1 || lockedBlock?.hash == block.hash)
            return enterPrevote(acceptable ? block.hash : nil)
        }
        guard pol < round, prevotes[pol]?.power(for: block.hash).map(validators.isQuorum) == true else { return nil }
        let acceptable = valid && (lockedRound <= Int64(pol) || lockedBlock?.hash == block.hash)
        return enterPrevote(acceptable ? block.hash : nil)
    }

    /// Line 36: a valid proposal with a quorum of prevotes locks (at prevote) and becomes the valid value.
    private mutating func lockRule() -> [Effect]? {
        guard step >= .prevote, let (_, block) = proposals[round], validity[block.hash] == true,
              prevotes[round]?.power(for: block.hash).map(validators.isQuorum) == true,
              fired.insert(.lock(round)).inserted
        else { return nil }
        var effects: [Effect] = []
        if step == .prevote {
            (lockedBlock, lockedRound) = (block, Int64(round))
            effects = enterPrecommit(block.hash)
        }
        (validBlock, validRound) = (block, Int64(round))
        return effects
    }

    /// Line 49: a valid proposal with a quorum of precommits in any round decides the height.
    private mutating func decideRule() -> [Effect]? {
        for r in precommits.keys.sorted() {
            guard let (_, block) = proposals[r], validity[block.hash] == true,
                  let tally = precommits[r], tally.power(for: block.hash).map(validators.isQuorum) == true
            else { continue }
            decision = block
            let signatures = tally.votes(for: block.hash).map { KeySignature(publicKey: $0.body.validator, signature: $0.signature) }
            let certificate = try! CommitCertificate(height: height, round: r, blockHash: block.hash, signatures: signatures)
            return [.decide(block, certificate)]
        }
        return nil
    }

    /// Line 55: messages of a higher round from more than a third of the power: move to that round.
    private mutating func skipRoundRule() -> [Effect]? {
        let later = Set(prevotes.keys).union(precommits.keys).union(proposals.keys).filter { $0 > round }.sorted()
        for r in later {
            var senders = Set(prevotes[r]?.senders ?? []).union(precommits[r]?.senders ?? [])
            if let proposal = proposals[r] { senders.insert(proposal.proposal.body.proposer) }
            if validators.exceedsOneThird(power(of: Array(senders))) { return startRound(r) }
        }
        return nil
    }

    private func power(of keys: [Ed25519.PublicKey]) -> UInt64 {
        Set(keys).reduce(0) { $0 + (validators.validator($1)?.power ?? 0) }
    }
}

/// The votes of one type in one round, with the power behind each value.
///
/// Each value's quorum is counted on its own, so a validator that votes for two values (it
/// equivocates) counts towards both: a quorum for a value is still 2f+1 signatures for it, and two
/// quorums for different values would need more than f equivocators. Counting only an
/// equivocator's first vote would let nodes disagree about which quorums exist and stall rounds
/// (Tendermint keeps votes per block for the same reason). `total`, for the "2f+1 of anything"
/// rules, counts each validator once.
struct Tally: Sendable {
    enum Outcome { case added, duplicate, conflict(Vote) }
    /// Distinct values kept per validator: bounded memory against a flood of conflicting votes.
    static let valuesPerValidatorMax = 4

    private var byValidator: [Ed25519.PublicKey: [Vote]] = [:]
    private var powerByValue: [Digest?: UInt64] = [:]
    private(set) var total: UInt64 = 0

    mutating func add(_ vote: Vote, power: UInt64) -> Outcome {
        var votes = byValidator[vote.body.validator] ?? []
        if votes.contains(where: { $0.body.blockHash == vote.body.blockHash }) || votes.count >= Self.valuesPerValidatorMax {
            return .duplicate
        }
        votes.append(vote)
        byValidator[vote.body.validator] = votes
        powerByValue[vote.body.blockHash, default: 0] += power
        guard votes.count == 1 else { return .conflict(votes[0]) }
        total += power
        return .added
    }

    func power(for value: Digest?) -> UInt64? { powerByValue[value] }
    var senders: [Ed25519.PublicKey] { Array(byValidator.keys) }
    /// The votes for `value`, one per validator, sorted by validator key.
    func votes(for value: Digest?) -> [Vote] {
        byValidator.values.compactMap { $0.first { $0.body.blockHash == value } }.sorted { $0.body.validator < $1.body.validator }
    }
}

/// Weighted round robin: over a cycle of T slots (T = total power, scaled down when large) each
/// validator proposes in proportion to its power, spread evenly (smooth weighted round robin).
/// Height h, round r proposes in slot (h + r) mod T.
struct ProposerSchedule: Sendable {
    static let slotsMax: UInt64 = 10_000
    private let slots: [Ed25519.PublicKey]

    init(_ validators: ValidatorSet) {
        let total = validators.totalPower
        let weights = validators.validators.map { total <= Self.slotsMax ? Int64($0.power) : max(1, Int64($0.power * Self.slotsMax / total)) }
        let cycle = weights.reduce(0, +)
        var priority = [Int64](repeating: 0, count: weights.count)
        var slots: [Ed25519.PublicKey] = []
        slots.reserveCapacity(Int(cycle))
        for _ in 0..<cycle {
            for index in priority.indices { priority[index] += weights[index] }
            // The highest priority proposes; ties go to the lowest key (validators are sorted by key).
            let chosen = priority.indices.max { priority[$0] < priority[$1] || (priority[$0] == priority[$1] && $0 > $1) }!
            priority[chosen] -= cycle
            slots.append(validators.validators[chosen].publicKey)
        }
        self.slots = slots
    }

    func proposer(height: UInt64, round: UInt32) -> Ed25519.PublicKey {
        slots[Int((height &+ UInt64(round)) % UInt64(slots.count))]
    }
}
