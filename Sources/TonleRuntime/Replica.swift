import TonleConsensus
import TonleCrypto
import TonleLedger
import TonleStorage
import TonleTypes

/// A peer link, named by the peer's key.
public typealias PeerID = Ed25519.PublicKey

/// What a replica is configured with (the node reads it from its configuration file; the
/// simulator sets it per run).
public struct ReplicaConfig: Sendable {
    public var consensus = ConsensusConfig()
    public var mempoolTransactionsMax = 100_000
    public var mempoolBytesMax = 256 << 20
    public var blockTransactionsMax = Limits.blockTransactionsMax
    public var blockBytesMax = 8 << 20
    /// How long a proposer with nothing to propose waits for transactions (0: propose at once).
    public var idleProposalMilliseconds: UInt64 = 1_000
    /// How often the replica tells its peers its height and checks whether it is behind.
    public var statusIntervalMilliseconds: UInt64 = 500
    /// Blocks asked of one peer at a time while syncing.
    public var syncBatchBlocks = 64
    /// A sync request not answered within this long is given up (counted in status ticks).
    public var syncRequestTimeoutMilliseconds: UInt64 = 5_000

    public init() {}
}

/// What a replica is stepped with. Signatures of consensus messages and of transactions are
/// checked by the shell before an input is made (they are the expensive part, and parallel).
public enum ReplicaInput: Sendable {
    /// A message from a linked peer.
    case message(PeerMessage, from: PeerID)
    /// Transactions from a client; the replica answers with one `.reply(ticket, …)`.
    case submit([Transaction], ticket: UInt64)
    /// A timer the replica asked for is due.
    case timer(ReplicaTimer)
    /// A link to `peer` is up (authenticated) or down.
    case linkUp(PeerID)
    case linkDown(PeerID)
}

/// The timers a replica asks for; each comes back as `.timer(…)` once due. Tags make stale
/// ones harmless: a consensus timeout names its height, round and step; an idle wait names the
/// height and round whose proposal it delays.
public enum ReplicaTimer: Hashable, Sendable {
    case consensus(Timeout)
    case idleWaitEnded(height: UInt64, round: UInt32)
    /// The status tick: tell peers this replica's height, time out sync requests, ask for blocks.
    case status
}

/// A client's answer for one submitted transaction.
public enum Admission: Hashable, Sendable {
    /// Waiting in the mempool (newly admitted, or already there; for a rebuilt retry, the
    /// original's id).
    case pending(TransactionID)
    /// Already in a block (for a rebuilt retry, the original).
    case committed(TransactionID, TransactionLocation)
    /// Refused: a stable code, a message, and whether retrying later may succeed.
    case refused(code: String, message: String, retryable: Bool)
}

/// What the shell should know and may log or count; none of it changes what it must do.
public enum ReplicaNote: Sendable {
    case equivocation(Vote, Vote)
    case mempoolFull
    case syncStarted(height: UInt64, target: UInt64)
    case syncProgress(height: UInt64, target: UInt64, blocksPerSecond: Double)
    case caughtUp(height: UInt64, blocks: UInt64, milliseconds: UInt64)
    case syncRequestTimedOut(peer: PeerID, from: UInt64)
    case syncedBlockRefused(peer: PeerID, height: UInt64, reason: String)
    /// A peer ahead answered a block request with no blocks: it does not keep block `from` (it
    /// pruned it, or state-synced past it). It is not asked for blocks up to there again.
    case blocksNotKept(peer: PeerID, from: UInt64)
}

/// What a step asks of the shell, in this order (docs/architecture.md, "The Replica"):
/// everything the step persisted is already durable where it must be (the consensus WAL is
/// synced before any message this node signs is returned), so sends may leave at once; then
/// timers; then committed blocks (for followers and metrics); then client replies; then notes.
public enum ReplicaOutput: Sendable {
    case send(PeerMessage, to: PeerID)
    case broadcast(PeerMessage)
    case timer(ReplicaTimer, milliseconds: UInt64)
    /// Block stored and applied; `waits` are the ms each of its transactions admitted here
    /// waited since admission.
    case committed(Block, stateRoot: Digest, waits: [UInt64])
    case reply(ticket: UInt64, [Admission])
    case note(ReplicaNote)
}

/// What the replica reports of itself after every step (for `/status`, `/ready` and metrics).
public struct ReplicaStatus: Hashable, Sendable {
    public var height: UInt64 = 0
    public var round: UInt32 = 0
    /// A peer is at least two blocks ahead: fetching blocks.
    public var syncing = false
    /// Linked to validators that, with this node, hold a quorum of the voting power. Without
    /// that it cannot know whether it is behind.
    public var linkedQuorum = false
    public var validator = false
    public var mempoolTransactions = 0
    /// The highest height a linked peer has reported having (0: none reported).
    public var peerHeightMax: UInt64 = 0

    public init() {}
}

/// The whole node as one deterministic value (docs/architecture.md): the consensus driver,
/// the mempool and admission, transaction gossip (re-offered to every peer whose link comes
/// up), block sync, the idle wait of proposals and readiness. It has no threads, sockets,
/// clocks or randomness: the shell (the node loop, or the simulator) steps it with inputs and
/// the time, and carries out the outputs. Storage is synchronous through the store, WAL and
/// sign-state it was given. The node and the simulator run this same code.
public final class Replica {
    public let config: ReplicaConfig
    public let chainID: ChainID
    public let key: Ed25519.SigningKey?
    public let store: any LedgerStore
    public private(set) var mempool: Mempool
    private var driver: ConsensusDriver!
    /// Checks signatures (the shell's batch verifier, parallel over its cores).
    private let verify: ([SignatureCheck]) -> [Bool]
    /// Wall-clock ms of the step being handled: block times and expiry are read from it.
    private var now: UInt64

    private var links: Set<PeerID> = []
    private var gossip: [Transaction] = []
    /// The last block this replica reported committed: commits are gapless (checked in release).
    private var committedHeight: UInt64
    /// When each transaction still waiting was admitted here (ms), for the waits metric.
    private var admittedAt: [TransactionID: UInt64] = [:]

    // Block sync (docs/network.md).
    private var peerHeights: [PeerID: UInt64] = [:]
    private var aheadLastTick: Set<PeerID> = []
    /// Outstanding requests, by peer: the range and the status ticks left before giving up.
    private var inflight: [PeerID: (from: UInt64, count: UInt64, ticksLeft: UInt64)] = [:]
    private var syncBuffer: [UInt64: CertifiedBlock] = [:]
    /// Peers that answered a request with no blocks, and the height they did not have: they keep
    /// nothing at or below it (blocks are pruned from the bottom; state sync starts above).
    private var lacking: [PeerID: UInt64] = [:]
    private var syncing = false
    private var syncStartedAt: (height: UInt64, milliseconds: UInt64)?
    private var lastProgressNote: UInt64 = 0

    // What a step returns, by kind, concatenated in the documented order.
    private var sends: [ReplicaOutput] = []
    private var timers: [ReplicaOutput] = []
    private var commits: [ReplicaOutput] = []
    private var replies: [ReplicaOutput] = []
    private var notes: [ReplicaOutput] = []

    /// Opens the replica over a store that holds at least genesis, replaying the consensus WAL.
    /// `start()` returns what the shell must do first.
    public init(chainID: ChainID, key: Ed25519.SigningKey?, validators: ValidatorSet, store: any LedgerStore, log: any ConsensusLog,
                signState: any SignStateStore, config: ReplicaConfig, now: UInt64,
                verify: @escaping ([SignatureCheck]) -> [Bool]) throws(DriverError) {
        (self.chainID, self.key, self.store, self.config, self.now, self.verify) = (chainID, key, store, config, now, verify)
        mempool = Mempool(transactionsMax: config.mempoolTransactionsMax, bytesMax: config.mempoolBytesMax)
        committedHeight = store.appliedHeight ?? 0
        driver = try ConsensusDriver(
            chainID: chainID, key: key, validators: validators, store: store, log: log, signState: signState, config: config.consensus,
            now: { [unowned self] in self.now },
            transactionsToPropose: { [unowned self] _ in
                self.mempool.proposal(transactionsMax: config.blockTransactionsMax, bytesMax: config.blockBytesMax, nowMilliseconds: self.now)
            },
            transactionsWaiting: { [unowned self] in !self.mempool.isEmpty },
            idleProposalMilliseconds: config.idleProposalMilliseconds,
            checkBlock: { [unowned self] block in self.signaturesValid(block) },
            onCommitted: { [unowned self] block in self.mempool.remove(block.transactions.map(\.id)) })
    }

    /// The first outputs: what the WAL replay left to do, and the first status tick.
    public func start() -> [ReplicaOutput] {
        absorbDriver()
        timers.append(.timer(.status, milliseconds: 0))
        return drain()
    }

    /// Handles one input at wall-clock time `now` (ms since 1970). A thrown error means the
    /// node's files are inconsistent or a block broke a ledger rule: stop, and restart from files.
    public func step(_ input: ReplicaInput, now: UInt64) throws(DriverError) -> [ReplicaOutput] {
        self.now = now
        switch input {
        case .submit(let transactions, let ticket):
            let answers = transactions.map { admit($0, fromClient: true) }
            replies.append(.reply(ticket: ticket, answers))
            try driver.transactionsArrived()
        case .message(let message, let peer):
            try receive(message, from: peer)
        case .timer(.consensus(let timeout)):
            try driver.deliver(.timeout(timeout))
        case .timer(.idleWaitEnded(let height, let round)):
            try driver.idleWaitEnded(height: height, round: round)
        case .timer(.status):
            timers.append(.timer(.status, milliseconds: config.statusIntervalMilliseconds))
            sends.append(.broadcast(.status(height: appliedHeight)))
            checkSync()
        case .linkUp(let peer):
            links.insert(peer)
            sends.append(.send(.status(height: appliedHeight), to: peer))
            sends += driver.core.messagesForNewLink.map { .send(.consensus($0), to: peer) }
            offerWaiting(to: peer)
        case .linkDown(let peer):
            links.remove(peer)
            (peerHeights[peer], inflight[peer], lacking[peer]) = (nil, nil, nil)
        }
        absorbDriver()
        flushGossip()
        return drain()
    }

    /// What `/status`, `/ready` and the metrics show.
    public var status: ReplicaStatus {
        var status = ReplicaStatus()
        (status.height, status.round, status.syncing, status.mempoolTransactions) = (appliedHeight, driver.core.round, syncing, mempool.count)
        let set = driver.core.validators, me = key?.publicKey
        status.validator = me.map { set.validator($0) != nil } ?? false
        let power = set.validators.reduce(UInt64(0)) { $0 + (links.contains($1.publicKey) || $1.publicKey == me ? $1.power : 0) }
        status.linkedQuorum = set.isQuorum(power)
        status.peerHeightMax = peerHeights.values.max() ?? 0
        return status
    }

    /// The validator set of the height being decided.
    public var validators: ValidatorSet { driver.core.validators }
    public var consensusHeight: UInt64 { driver.core.height }
    public var linkedPeers: Set<PeerID> { links }

    private var appliedHeight: UInt64 { store.appliedHeight ?? 0 }

    private func drain() -> [ReplicaOutput] {
        defer { (sends, timers, commits, replies, notes) = ([], [], [], [], []) }
        return sends + timers + commits + replies + notes
    }

    /// Moves the driver's outbox into this step's outputs.
    private func absorbDriver() {
        for outgoing in driver.drainOutbox() {
            switch outgoing {
            case .broadcast(let message):
                sends.append(.broadcast(.consensus(message)))
            case .timer(let timeout, let milliseconds):
                timers.append(.timer(.consensus(timeout), milliseconds: milliseconds))
            case .proposeLater(let height, let round, let milliseconds):
                timers.append(.timer(.idleWaitEnded(height: height, round: round), milliseconds: milliseconds))
            case .decided(let block, _, let root):
                let height = block.header.height
                precondition(height == committedHeight + 1 && store.appliedHeight ?? 0 >= height,
                             "commits are gapless: block \(height) after \(committedHeight), store at \(store.appliedHeight ?? 0)")
                committedHeight = height
                let waits = block.transactions.compactMap { admittedAt.removeValue(forKey: $0.id).map { now >= $0 ? now - $0 : 0 } }
                if admittedAt.count > config.mempoolTransactionsMax { admittedAt.removeAll() }   // bound: forget dropped ones
                commits.append(.committed(block, stateRoot: root, waits: waits))
            case .evidence(let first, let second):
                notes.append(.note(.equivocation(first, second)))
            }
        }
    }

    private func receive(_ message: PeerMessage, from peer: PeerID) throws(DriverError) {
        switch message {
        case .consensus(.proposal(let proposal, let block)):
            try driver.deliver(.proposal(proposal, block))
        case .consensus(.vote(let vote)):
            try driver.deliver(.vote(vote))
        case .transactions(let transactions):
            for transaction in transactions { _ = admit(transaction, fromClient: false) }
            try driver.transactionsArrived()
        case .status(let height):
            peerHeights[peer] = height
        case .blocksRequest(let from, let count):
            serveBlocks(from: from, count: count, to: peer)
        case .blocks(let blocks):
            if let asked = inflight.removeValue(forKey: peer), blocks.isEmpty {
                if lacking[peer] == nil { notes.append(.note(.blocksNotKept(peer: peer, from: asked.from))) }
                lacking[peer] = max(lacking[peer] ?? 0, asked.from)
            }
            let applied = appliedHeight
            for certified in blocks where certified.block.header.height > applied && certified.block.header.height <= applied + bufferBlocksMax {
                syncBuffer[certified.block.header.height] = certified
            }
            try applySynced(from: peer)
            requestBlocks()
        case .snapshotsRequest, .snapshots, .snapshotTopRequest, .snapshotTop, .chunkRequest, .chunk:
            break   // state sync is the shell's: it reads snapshots on disk and runs before a replica exists
        }
    }

    // MARK: Admission and gossip

    /// Admits one transaction whose signatures were checked; gossips it when it came from a client
    /// (what came from a peer, that peer has gossiped already).
    private func admit(_ transaction: Transaction, fromClient: Bool) -> Admission {
        let id = transaction.id
        if let location = store.transactionLocation(id) { return .committed(id, location) }
        if let replay = settlementReplay(transaction) { return replay }
        if let replay = requestReplay(transaction) { return replay }
        guard store.stateValue(for: StateKey.account(transaction.body.creator)) != nil else {
            return .refused(code: "CREATOR_NOT_FOUND", message: "the creator account \(transaction.body.creator) does not exist (yet): create it first, or retry once its creation is committed", retryable: false)
        }
        do {
            try mempool.admit(transaction, size: transaction.encoded.count, chainID: chainID, nowMilliseconds: now)
        } catch .duplicate {
            return .pending(id)
        } catch .requestWaiting(let original, sameRequest: true) {
            return .pending(original)
        } catch {
            if case .full = error { notes.append(.note(.mempoolFull)) }
            return .refused(code: error.code, message: error.description, retryable: error == .full(transactionsMax: mempool.transactionsMax, bytesMax: mempool.bytesMax))
        }
        admittedAt[id] = now
        if fromClient { gossip.append(transaction) }
        return .pending(id)
    }

    /// A transaction whose creator already sent a request under its client id (docs/data-model.md,
    /// "Exactly once"): the same request (a rebuilt retry) is answered with the original
    /// transaction's status; another request under the id is refused, naming the original.
    private func requestReplay(_ transaction: Transaction) -> Admission? {
        let body = transaction.body
        guard case .request(let record)? = store.stateRecord(StateKey.request(body.creator, body.clientID)) else { return nil }
        guard record.requestDigest == body.requestDigest else {
            return .refused(code: "CLIENT_ID_REUSED", message: "\(body.creator) already used client id \(body.clientID) for transaction \(record.transaction.digest.hex), a different request; use a new client id", retryable: false)
        }
        return store.transactionLocation(record.transaction).map { .committed(record.transaction, $0) }
    }

    /// A transaction whose only command is a settlement entry the ledger already recorded under
    /// its reference: with the same body, the original transaction's status (nothing is
    /// submitted); with another body, DUPLICATE_REFERENCE_MISMATCH (docs/settlement.md).
    private func settlementReplay(_ transaction: Transaction) -> Admission? {
        guard transaction.body.commands.count == 1, case .settlement(let entry) = transaction.body.commands[0] else { return nil }
        let key = StateKey.settlement(entry.gateway, entry.kind.referenceClass, entry.externalReference)
        guard case .settlement(let record)? = store.stateRecord(key) else { return nil }
        guard record.entryDigest == entry.digest else {
            return .refused(code: "DUPLICATE_REFERENCE_MISMATCH", message: "\(entry.gateway) already recorded reference \(entry.externalReference) with a different body (transaction \(record.transaction.digest.hex))", retryable: false)
        }
        return store.transactionLocation(record.transaction).map { .committed(record.transaction, $0) }
    }

    /// A peer whose link has just come up may never have seen what waits here (this node may
    /// have admitted it while cut off): offer it all, oldest first.
    private func offerWaiting(to peer: PeerID) {
        for chunk in chunks(mempool.waiting(limit: mempool.transactionsMax)) { sends.append(.send(.transactions(chunk), to: peer)) }
    }

    private func flushGossip() {
        for chunk in chunks(gossip) { sends.append(.broadcast(.transactions(chunk))) }
        gossip = []
    }

    private func chunks(_ transactions: [Transaction]) -> [[Transaction]] {
        stride(from: 0, to: transactions.count, by: NetworkLimits.gossipTransactionsMax).map {
            Array(transactions[$0..<min($0 + NetworkLimits.gossipTransactionsMax, transactions.count)])
        }
    }

    /// A proposed block's transactions have valid signatures: those equal to a mempool entry were
    /// checked on admission; the rest are checked now.
    private func signaturesValid(_ block: Block) -> Bool {
        let unknown = block.transactions.filter { mempool.transaction($0.id) != $0 }
        guard !unknown.isEmpty else { return true }
        return verify(unknown.flatMap(\.signatureChecks)).allSatisfy { $0 }
    }

    // MARK: Block sync

    private var bufferBlocksMax: UInt64 { UInt64(config.syncBatchBlocks) * 4 }

    /// Every status tick: time out old requests; are peers ahead? Then ask them for blocks.
    private func checkSync() {
        let applied = appliedHeight
        for peer in inflight.keys.sorted() {
            guard let request = inflight[peer] else { continue }
            if request.ticksLeft <= 1 {
                notes.append(.note(.syncRequestTimedOut(peer: peer, from: request.from)))
                inflight[peer] = nil
            } else {
                inflight[peer]?.ticksLeft = request.ticksLeft - 1
            }
        }
        let ahead = Set(peerHeights.filter { $0.value > applied }.keys)
        let best = peerHeights.values.max() ?? 0
        let wasSyncing = syncing
        syncing = best >= applied + 2
        if syncing, !wasSyncing {
            syncStartedAt = (applied, now)
            lastProgressNote = now
            notes.append(.note(.syncStarted(height: applied, target: best)))
        } else if !syncing, wasSyncing, let start = syncStartedAt {
            notes.append(.note(.caughtUp(height: applied, blocks: applied - min(applied, start.height), milliseconds: elapsed(since: start.milliseconds))))
            syncStartedAt = nil
        }
        // A peer one block ahead may just be a little faster: ask only if it still is a tick later.
        let eligible = ahead.filter { syncing || aheadLastTick.contains($0) }
        aheadLastTick = ahead
        if !eligible.isEmpty { requestBlocks(only: eligible) }
        if syncing, elapsed(since: lastProgressNote) >= 2_000, let start = syncStartedAt {
            lastProgressNote = now
            let rate = Double(applied - min(applied, start.height)) * 1_000 / Double(max(elapsed(since: start.milliseconds), 1))
            notes.append(.note(.syncProgress(height: applied, target: best, blocksPerSecond: rate)))
        }
    }

    private func elapsed(since milliseconds: UInt64) -> UInt64 { now >= milliseconds ? now - milliseconds : 0 }

    /// Asks peers that are ahead (and have nothing outstanding) for the next missing ranges.
    private func requestBlocks(only eligible: Set<PeerID>? = nil) {
        let applied = appliedHeight
        var next = max(applied + 1, inflight.values.map { $0.from + $0.count }.max() ?? 0)
        while syncBuffer[next] != nil { next += 1 }
        let candidates = peerHeights.filter { $0.value >= next && inflight[$0.key] == nil && (eligible?.contains($0.key) ?? true) && (lacking[$0.key] ?? 0) < next }
            .sorted { $0.key < $1.key }
        let interval = max(config.statusIntervalMilliseconds, 1)
        let ticks = max(1, (config.syncRequestTimeoutMilliseconds + interval - 1) / interval)
        for (peer, height) in candidates where next <= applied + bufferBlocksMax && height >= next {
            let count = min(UInt64(config.syncBatchBlocks), height - next + 1, applied + bufferBlocksMax - next + 1)
            guard count > 0 else { continue }
            inflight[peer] = (next, count, ticks)
            sends.append(.send(.blocksRequest(from: next, count: UInt32(count)), to: peer))
            next += count
        }
    }

    /// Applies buffered blocks in order, each only after its certificate verifies against the
    /// validator set the chain has at that height.
    private func applySynced(from peer: PeerID) throws(DriverError) {
        while let certified = syncBuffer[driver.core.height] {
            syncBuffer[driver.core.height] = nil
            let block = certified.block, certificate = certified.certificate
            let checks = certificate.signatureChecks(chainID: chainID)
            do {
                if let bad = zip(checks, verify(checks)).first(where: { !$0.1 }) { throw CertificateError.invalidSignature(bad.0.publicKey) }
                try certificate.verify(chainID: chainID, validators: driver.core.validators, height: block.header.height, blockHash: block.hash)
            } catch {
                notes.append(.note(.syncedBlockRefused(peer: peer, height: block.header.height, reason: "\(error)")))
                syncBuffer.removeAll()
                return
            }
            try driver.deliver(.syncedBlock(block, certificate))
            absorbDriver()
        }
        // Drop what can no longer be applied.
        let applied = appliedHeight
        syncBuffer = syncBuffer.filter { $0.key > applied }
    }

    private func serveBlocks(from: UInt64, count: UInt32, to peer: PeerID) {
        let applied = appliedHeight
        var blocks: [CertifiedBlock] = [], bytes = 0
        var height = from
        while height >= 1, height <= applied, blocks.count < min(Int(count), NetworkLimits.syncBlocksMax), bytes < NetworkLimits.syncResponseBytesTarget {
            guard let block = store.block(at: height), let certificate = store.certificate(at: height) else { break }
            let size = block.encoded.count
            if !blocks.isEmpty, bytes + size > NetworkLimits.frameBytesMax - (1 << 20) { break }
            blocks.append(CertifiedBlock(block: block, certificate: certificate))
            bytes += size
            height += 1
        }
        sends.append(.send(.blocks(blocks), to: peer))
    }
}
