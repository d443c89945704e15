import TonleConsensus
import TonleCrypto
import TonleLedger
import TonleStorage
import TonleTypes

/// What the driver hands to the outside world, in order.
public enum Outgoing: Hashable, Sendable {
    /// Send to every peer.
    case broadcast(ConsensusMessage)
    /// Deliver `timeout` back after `milliseconds`.
    case timer(Timeout, milliseconds: UInt64)
    /// Block `height` is decided, executed and stored.
    case decided(Block, CommitCertificate, stateRoot: Digest)
    /// Two conflicting votes by one validator.
    case evidence(Vote, Vote)
    /// This node must propose at `height`/`round` but has nothing to propose: call
    /// `idleWaitEnded(height:round:)` with this tag after `milliseconds` (or `transactionsArrived()`
    /// as soon as transactions arrive). The tag keeps a timer of an earlier wait from ending a
    /// later one.
    case proposeLater(height: UInt64, round: UInt32, milliseconds: UInt64)
}

/// Why the driver stopped. After any of these the node must stop and restart from its files.
public enum DriverError: Error, Sendable, CustomStringConvertible {
    case store(StoreError)
    case apply(ApplyError)
    case corruptLog(String)

    public var description: String {
        switch self {
        case .store(let e): e.description
        case .apply(let e): e.description
        case .corruptLog(let message): "consensus WAL: \(message)"
        }
    }
}

/// The synchronous shell around the consensus core (docs/consensus.md): it carries out the core's
/// effects in order against the WAL, the sign-state and the store, executes decided blocks with
/// the ledger, and collects what must leave the node in `outbox`. The same driver runs in the
/// simulator and in the node; time and the mempool are inputs.
public final class ConsensusDriver {
    public private(set) var core: Consensus
    public private(set) var outbox: [Outgoing] = []
    private let key: Ed25519.SigningKey?
    private let store: any LedgerStore
    private let log: any ConsensusLog
    private let signState: any SignStateStore
    /// Transactions to propose (the mempool's choice), given the height.
    private let transactionsToPropose: (UInt64) -> [Transaction]
    /// The node's clock, in ms since 1970: a proposed block's time (BFT time) comes from it.
    private let now: () -> UInt64
    /// Whether the mempool has something to propose.
    private let transactionsWaiting: () -> Bool
    /// How long a proposer with nothing to propose waits for transactions before proposing an
    /// empty block (0: propose at once). Must stay below the propose timeout.
    private let idleProposalMilliseconds: UInt64
    /// Extra validity check of a proposed block, by the shell (signatures of unknown transactions).
    private let checkBlock: (Block) -> Bool
    /// Called as soon as a block is stored, before the next height starts (and so before this
    /// node can propose again): the mempool drops the block's transactions here.
    private let onCommitted: (Block) -> Void
    /// The proposal this node owes but has put off, waiting for transactions.
    private var deferred: (height: UInt64, round: UInt32)?
    /// This node's proposal, appended to the WAL by `sign`: the core's request to persist it is
    /// already met.
    private var loggedOwnProposal: Proposal?
    private var replaying = false
    private var pending: [Effect] = []

    /// Starts the core at the height after the store's, with the stored validator set, and replays
    /// the WAL of that height.
    public init(
        chainID: ChainID, key: Ed25519.SigningKey?, validators: ValidatorSet, store: any LedgerStore, log: any ConsensusLog,
        signState: any SignStateStore, config: ConsensusConfig = ConsensusConfig(), now: @escaping () -> UInt64,
        transactionsToPropose: @escaping (UInt64) -> [Transaction] = { _ in [] }, transactionsWaiting: @escaping () -> Bool = { true },
        idleProposalMilliseconds: UInt64 = 0, checkBlock: @escaping (Block) -> Bool = { _ in true },
        onCommitted: @escaping (Block) -> Void = { _ in }
    ) throws(DriverError) {
        guard let applied = store.appliedHeight else { throw .apply(.notInitialised) }
        // The stored state's validator set is authoritative; `validators` serves only a store
        // that has none (tests of the core alone).
        var current = validators
        if let bytes = store.stateValue(for: StateKey.validators), case .validators(let stored)? = try? StateRecord(encoded: bytes) { current = stored.current }
        core = Consensus(chainID: chainID, me: key?.publicKey, validators: current, height: applied + 1, config: config)
        (self.key, self.store, self.log, self.signState, self.transactionsToPropose, self.now) = (key, store, log, signState, transactionsToPropose, now)
        (self.transactionsWaiting, self.idleProposalMilliseconds, self.checkBlock) = (transactionsWaiting, idleProposalMilliseconds, checkBlock)
        self.onCommitted = onCommitted
        let records = log.records()
        replaying = true
        try carryOut(core.start())
        var highest: UInt64?
        for bytes in records {
            let input: Input
            do { input = try Input(encoded: bytes) } catch { throw .corruptLog("\(error)") }
            highest = max(highest ?? 0, input.height)
            guard input.height >= core.height else { continue }   // a height already stored
            try deliver(input)
        }
        replaying = false
        // Every record belongs to a height now stored (perhaps by the replay itself): start afresh.
        if let highest, highest < core.height {
            do { try log.reset() } catch { throw .store(error) }
        }
        // Requests the replay raised but whose answers the WAL does not hold: answer them now.
        let unanswered = pending
        pending = []
        try carryOut(unanswered)
    }

    /// Steps the core with `input` and carries out everything that follows, including the
    /// driver's own answers (its signed messages, validations, proposals, executed blocks).
    public func deliver(_ input: Input) throws(DriverError) {
        try carryOut(core.step(input))
    }

    /// Makes the proposal put off by `proposeLater` now, if it is still due and transactions are
    /// waiting.
    public func transactionsArrived() throws(DriverError) {
        guard transactionsWaiting() else { return }
        try proposeDeferred()
    }

    /// The idle wait of the proposal put off at `height`/`round` is over: propose (an empty
    /// block if nothing came). A timer of another wait — an earlier height or round, whose
    /// proposal was made already — does nothing.
    public func idleWaitEnded(height: UInt64, round: UInt32) throws(DriverError) {
        guard let owed = deferred, owed.height == height, owed.round == round else { return }
        try proposeDeferred()
    }

    private func proposeDeferred() throws(DriverError) {
        guard let (height, round) = deferred else { return }
        deferred = nil
        guard height == core.height, round == core.round, core.decision == nil else { return }
        try deliver(.proposalValue(height: height, round: round, try buildBlock(height: height)))
    }

    /// Takes what must leave the node.
    public func drainOutbox() -> [Outgoing] {
        defer { outbox = [] }
        return outbox
    }

    private func carryOut(_ effects: [Effect]) throws(DriverError) {
        for effect in effects {
            switch effect {
            case .persist(.blockExecuted):
                // The block is stored: the WAL of its height is no longer needed.
                if !replaying { do { try log.reset() } catch { throw .store(error) } }
            case .persist(.proposal(let proposal, _)) where proposal == loggedOwnProposal:
                loggedOwnProposal = nil   // logged by `sign` already, before its sign-state was saved
            case .persist(let input):
                if !replaying { do { try log.append(input.encoded) } catch { throw .store(error) } }
            case .requestProposal(let height, let round):
                if replaying { pending.append(effect); continue }
                if idleProposalMilliseconds > 0, !transactionsWaiting() {
                    deferred = (height, round)
                    outbox.append(.proposeLater(height: height, round: round, milliseconds: idleProposalMilliseconds))
                    continue
                }
                try deliver(.proposalValue(height: height, round: round, try buildBlock(height: height)))
            case .validate(let block):
                if replaying { pending.append(effect); continue }
                try deliver(.proposalValidated(height: block.header.height, blockHash: block.hash, valid: isValid(block)))
            case .sign(let request):
                guard let message = try sign(request) else { continue }
                if !replaying { outbox.append(.broadcast(message)) }
                switch message {
                case .proposal(let proposal, let block): try deliver(.proposal(proposal, block))
                case .vote(let vote): try deliver(.vote(vote))
                }
            case .broadcast(let message):
                if !replaying { outbox.append(.broadcast(message)) }
            case .scheduleTimeout(let timeout, let milliseconds):
                outbox.append(.timer(timeout, milliseconds: milliseconds))
            case .decide(let block, let certificate):
                let applied: BlockExecutor.Applied
                do { applied = try BlockExecutor.apply(block, certificate: certificate, to: store) } catch { throw .apply(error) }
                outbox.append(.decided(block, certificate, stateRoot: applied.stateRoot))
                onCommitted(block)
                try deliver(.blockExecuted(height: block.header.height, validators: applied.validators))
            case .evidence(let first, let second):
                outbox.append(.evidence(first, second))
            }
        }
        // Timers scheduled during a replay are still wanted: only the last round's matter, and
        // stale ones are ignored by the core.
    }

    /// Signs through the sign-state: never two different messages for one height/round/step, and
    /// nothing below the last signed one. A repeated request gets the message signed before.
    private func sign(_ request: SignRequest) throws(DriverError) -> ConsensusMessage? {
        guard let key else { return nil }
        let slot: [UInt64] = [request.height, UInt64(request.round), UInt64(request.step.rawValue)]
        if let last = signState.last {
            if slot.lexicographicallyPrecedes(last.slot) { return nil }
            if slot == last.slot { return try signedBefore(last, request) }
        }
        let message: ConsensusMessage, signed: [UInt8]
        switch request {
        case .proposal(let body, let block):
            let proposal = Proposal(signing: body, with: key)
            message = .proposal(proposal, block)
            signed = proposal.encoded
            // The block is written once: in this WAL record, synced below before the sign-state
            // (which keeps only the signed proposal) says it exists.
            if !replaying {
                do { try log.append(Input.proposal(proposal, block).encoded) } catch { throw .store(error) }
                loggedOwnProposal = proposal
            }
        case .vote(let body):
            let vote = Vote(signing: body, with: key)
            (message, signed) = (.vote(vote), Input.vote(vote).encoded)
        }
        // Everything that led to this signature is made durable before the signature exists: a
        // restart then replays to the same state (the same lock), never to one that signs otherwise.
        do {
            try log.sync()
            try signState.save(SignStateRecord(height: request.height, round: request.round, step: request.step.rawValue, signed: signed))
        } catch { throw .store(error) }
        return message
    }

    /// The message signed before for the slot `request` asks for again (after a restart). A vote is
    /// kept whole. A proposal is kept without its block, which lies in the WAL, logged before the
    /// sign-state was saved: when `request` carries another block (a new one built after a crash),
    /// nothing is signed, and the WAL's record gives the core the signed proposal.
    private func signedBefore(_ last: SignStateRecord, _ request: SignRequest) throws(DriverError) -> ConsensusMessage? {
        if case .proposal(_, let block) = request, let proposal = try? Proposal(canonical: last.signed) {
            return proposal.body.blockHash == block.hash ? .proposal(proposal, block) : nil
        }
        switch try? Input(encoded: last.signed) {
        case .proposal(let p, let b)?: return .proposal(p, b)   // written before proposals were kept alone
        case .vote(let v)?: return .vote(v)
        default: throw .corruptLog("sign-state holds no signed message")
        }
    }

    private func buildBlock(height: UInt64) throws(DriverError) -> Block {
        let transactions = Array(transactionsToPropose(height).prefix(Limits.blockTransactionsMax))
        let lastCommit = height > 1 ? store.certificate(at: height - 1) : nil
        let previousTime = height > 1 ? store.block(at: height - 1)?.header.time.millisecondsSinceEpoch ?? 0 : 0
        let time = Timestamp(millisecondsSinceEpoch: max(previousTime + 1, now()))
        do {
            let header = try BlockExecutor.nextHeader(
                store, chainID: core.chainID, time: time, transactions: transactions, proposer: key!.publicKey, lastCommit: lastCommit)
            return try Block(header: header, transactions: transactions, lastCommit: lastCommit)
        } catch let error as ApplyError { throw .apply(error) } catch { throw .apply(.inconsistent("\(error)")) }
    }

    /// A proposed block is valid when it follows the stored chain: height, links, roots, both
    /// validator sets, time after the previous block's, transactions root, and a last commit that matches.
    private func isValid(_ block: Block) -> Bool {
        guard let tip = try? BlockExecutor.tip(store), BlockExecutor.follows(block.header, tip) == nil, block.header.chainID == core.chainID,
              (try? block.checkConsistency()) != nil, checkBlock(block)
        else { return false }
        if block.header.height > 1, let previous = store.block(at: block.header.height - 1), block.header.time <= previous.header.time { return false }
        return true
    }
}
