import Foundation
import Logging
import Synchronization
import TonleConsensus
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleNetwork
import TonleRPC
import TonleRuntime
import TonleStorage
import TonleStore
import TonleTypes

/// What the node loop is told.
enum LoopEvent: @unchecked Sendable {
    /// From a peer; consensus messages and transactions arrive with their signatures checked.
    case network(NetworkEvent)
    /// Transactions from the RPC, signatures checked; `reply` gets one outcome each.
    case submit([Transaction], reply: @Sendable ([SubmitOutcome]) -> Void)
    /// Runs on the loop thread, with the store.
    case query((NodeLoop) -> Void)
    case stop
}

/// The loop's timers.
enum LoopTimer {
    case consensus(Timeout)
    /// The idle wait of the proposal this node owes at a height and round.
    case proposeDeferred(height: UInt64, round: UInt32)
    case status
}

/// What the loop publishes after every step, for the RPC and metrics (read from any thread).
struct LoopSnapshot: Sendable {
    var height: UInt64 = 0
    var round: UInt32 = 0
    var stateRoot = Digest.zero
    var latestBlockHash = Digest.zero
    var latestBlockTime: UInt64 = 0
    var syncing = false
    /// Linked to validators that, with this node, hold a quorum of the power.
    var linkedQuorum = false
    var validator = false
    var mempoolTransactions = 0
    var fatal: String?
}

/// The node's one thread of control (docs/architecture.md, "One thread owns the node's state"): it owns the consensus driver, the store and
/// the mempool, and handles one event at a time — peer messages, submissions, queries, timers.
/// Network and RPC threads only post to its bounded mailbox, and signatures are checked before
/// anything is posted, on the posting threads.
final class NodeLoop: @unchecked Sendable {
    let config: NodeConfig
    let chainID: ChainID
    let key: Ed25519.SigningKey
    let store: SQLiteStore
    let logger: Logger
    let metrics: NodeMetrics
    let mailbox = Mailbox<LoopEvent>(capacity: 65_536)
    let snapshot = Mutex(LoopSnapshot())
    /// Keys that may hold a peer link: the current validators and the configured observers.
    let authorised = Mutex<Set<Ed25519.PublicKey>>([])
    var network: PeerNetwork?
    /// Published after each stored block, for long polls and event streams.
    let commits: CommitNotifier
    private(set) var driver: ConsensusDriver!
    private(set) var mempool: Mempool
    private var timers = TimerQueue<LoopTimer>()
    private var gossip: [Transaction] = []
    private var running = true

    // Block sync (docs/network.md).
    private var peerHeights: [Ed25519.PublicKey: UInt64] = [:]
    private var aheadLastTick: Set<Ed25519.PublicKey> = []
    private var inflight: [Ed25519.PublicKey: (from: UInt64, count: UInt64, deadline: UInt64)] = [:]
    private var syncBuffer: [UInt64: CertifiedBlock] = [:]
    private var syncing = false
    private var syncStartedAt: (height: UInt64, nanoseconds: UInt64)?
    private var lastSyncLog: UInt64 = 0
    private var heightStartedAt = Monotonic.nanoseconds
    private var admittedAt: [TransactionID: UInt64] = [:]
    private var latestHeader: BlockHeader?

    init(config: NodeConfig, chainID: ChainID, key: Ed25519.SigningKey, store: SQLiteStore, consensusLog: FileConsensusLog,
         signState: FileSignState, validators: ValidatorSet, logger: Logger, metrics: NodeMetrics) throws(NodeError) {
        (self.config, self.chainID, self.key, self.store, self.logger, self.metrics) = (config, chainID, key, store, logger, metrics)
        mempool = Mempool(transactionsMax: config.mempoolTransactionsMax, bytesMax: config.mempoolBytesMax)
        commits = CommitNotifier(height: store.appliedHeight ?? 0)
        do {
            driver = try ConsensusDriver(
                chainID: chainID, key: key, validators: validators, store: store, log: consensusLog, signState: signState,
                config: config.consensus, now: { WallClock.milliseconds },
                transactionsToPropose: { [unowned self] _ in
                    self.mempool.proposal(transactionsMax: config.blockTransactionsMax, bytesMax: config.blockBytesMax, nowMilliseconds: WallClock.milliseconds)
                },
                transactionsWaiting: { [unowned self] in !self.mempool.isEmpty },
                idleProposalMilliseconds: config.emptyBlockIntervalMilliseconds,
                checkBlock: { [unowned self] block in self.signaturesValid(block) },
                onCommitted: { [unowned self] block in self.forget(block.transactions.map(\.id)) })
        } catch { throw .fatal("cannot start consensus: \(error)") }
        updateAuthorised()
        publish()
    }

    // MARK: The loop

    /// Runs until `stop`; returns the fatal error that ended it, if any.
    func run() -> String? {
        timers.push(Monotonic.nanoseconds, .status)
        flushOutbox()
        while running {
            let event = mailbox.take(deadline: timers.nextTime)
            do {
                if let event { try handle(event) }
                while let timer = timers.popDue(now: Monotonic.nanoseconds) { try fire(timer) }
                flushOutbox()
                flushGossip()
            } catch {
                let message = "\(error)"
                logger.critical("node loop stopped", metadata: ["error": "\(message)"])
                snapshot.withLock { $0.fatal = message }
                commits.close()
                return message
            }
            publish()
        }
        commits.close()
        return nil
    }

    func stop() { mailbox.post(.stop, force: true) }

    private func handle(_ event: LoopEvent) throws {
        switch event {
        case .stop:
            running = false
        case .query(let body):
            body(self)
        case .submit(let transactions, let reply):
            reply(transactions.map { admit($0, gossip: true) })
            try driver.transactionsArrived()
        case .network(.connected(let peer)):
            metrics.peers.record(network?.connectedPeers.count ?? 0)
            network?.send(.status(height: store.appliedHeight ?? 0), to: peer)
            offerWaiting(to: peer)
        case .network(.disconnected(let peer)):
            metrics.peers.record(network?.connectedPeers.count ?? 0)
            (peerHeights[peer], inflight[peer]) = (nil, nil)
        case .network(.message(let message, let peer)):
            try receive(message, from: peer)
        }
    }

    private func receive(_ message: PeerMessage, from peer: Ed25519.PublicKey) throws {
        switch message {
        case .consensus(.proposal(let proposal, let block)):
            try driver.deliver(.proposal(proposal, block))
        case .consensus(.vote(let vote)):
            try driver.deliver(.vote(vote))
        case .transactions(let transactions):
            for transaction in transactions { _ = admit(transaction, gossip: false) }
            try driver.transactionsArrived()
        case .status(let height):
            peerHeights[peer] = height
        case .blocksRequest(let from, let count):
            serveBlocks(from: from, count: count, to: peer)
        case .blocks(let blocks):
            inflight[peer] = nil
            let applied = store.appliedHeight ?? 0
            for certified in blocks where certified.block.header.height > applied && certified.block.header.height <= applied + bufferBlocksMax {
                syncBuffer[certified.block.header.height] = certified
            }
            try applySynced(from: peer)
            requestBlocks()
        }
    }

    private func fire(_ timer: LoopTimer) throws {
        switch timer {
        case .consensus(let timeout):
            try driver.deliver(.timeout(timeout))
        case .proposeDeferred(let height, let round):
            try driver.idleWaitEnded(height: height, round: round)
        case .status:
            timers.push(Monotonic.nanoseconds + config.statusIntervalMilliseconds * 1_000_000, .status)
            network?.broadcast(.status(height: store.appliedHeight ?? 0))
            checkSync()
        }
    }

    /// Carries the driver's outbox: messages to peers, timers, decided blocks.
    private func flushOutbox() {
        for outgoing in driver.drainOutbox() {
            switch outgoing {
            case .broadcast(let message):
                network?.broadcast(.consensus(message))
            case .timer(let timeout, let milliseconds):
                timers.push(Monotonic.nanoseconds + milliseconds * 1_000_000, .consensus(timeout))
            case .proposeLater(let height, let round, let milliseconds):
                timers.push(Monotonic.nanoseconds + milliseconds * 1_000_000, .proposeDeferred(height: height, round: round))
            case .decided(let block, _, let root):
                committed(block, root: root)
            case .evidence(let first, let second):
                logger.warning("equivocation", metadata: [
                    "validator": "\(first.body.validator.hex)", "height": "\(first.body.height)", "round": "\(first.body.round)",
                    "first": "\(first.body.blockHash?.hex ?? "nil")", "second": "\(second.body.blockHash?.hex ?? "nil")",
                ])
            }
        }
    }

    /// A block's transactions are stored: out of the mempool (before the next proposal), and
    /// their admission-to-commit times recorded.
    private func forget(_ ids: [TransactionID]) {
        mempool.remove(ids)
        let now = Monotonic.nanoseconds
        for id in ids {
            if let admitted = admittedAt.removeValue(forKey: id) { metrics.transactionSeconds.recordNanoseconds(Int64(now - admitted)) }
        }
        if admittedAt.count > config.mempoolTransactionsMax { admittedAt.removeAll() }   // bound: forget timings of dropped ones
    }

    private func committed(_ block: Block, root: Digest) {
        let count = block.transactions.count
        let now = Monotonic.nanoseconds
        metrics.blockSeconds.recordNanoseconds(Int64(now - heightStartedAt))
        heightStartedAt = now
        metrics.transactionsCommitted.increment(by: Int64(count))
        countSettlementEntries(block)
        metrics.height.record(Int64(block.header.height))
        updateAuthorised()
        latestHeader = block.header
        commits.publish(block.header.height)
        if !syncing || block.header.height % 100 == 0 {
            logger.info("committed", metadata: [
                "height": "\(block.header.height)", "txs": "\(count)", "hash": "\(block.hash.hex.prefix(16))",
                "root": "\(root.hex.prefix(16))", "mempool": "\(mempool.count)",
            ])
        }
    }

    private func countSettlementEntries(_ block: Block) {
        guard block.transactions.contains(where: { $0.body.commands.contains { if case .settlement = $0 { true } else { false } } }),
              let results = store.results(at: block.header.height) else { return }
        for (transaction, result) in zip(block.transactions, results) {
            for case .settlement(let entry) in transaction.body.commands {
                metrics.settlementEntry(kind: entry.kind.name, result: result.code)
            }
        }
    }

    // MARK: Transactions

    /// Admits one transaction whose signatures were checked; gossips it when it came from a client.
    private func admit(_ transaction: Transaction, gossip shouldGossip: Bool) -> SubmitOutcome {
        let id = transaction.id
        if let location = store.transactionLocation(id) { return .committed(statusView(id, location)) }
        if let replay = settlementReplay(transaction) { return replay }
        if let replay = requestReplay(transaction) { return replay }
        guard store.stateValue(for: StateKey.account(transaction.body.creator)) != nil else {
            return .refused(code: "CREATOR_NOT_FOUND", message: "the creator account \(transaction.body.creator) does not exist (yet): create it first, or retry once its creation is committed", retryable: false)
        }
        do {
            try mempool.admit(transaction, size: transaction.encoded.count, chainID: chainID, nowMilliseconds: WallClock.milliseconds)
        } catch .duplicate {
            return .pending(id)
        } catch .requestWaiting(let original, sameRequest: true) {
            return .pending(original)
        } catch {
            if case .full = error { metrics.mempoolFull.increment() }
            return .refused(code: error.code, message: error.description, retryable: error == .full(transactionsMax: mempool.transactionsMax, bytesMax: mempool.bytesMax))
        }
        admittedAt[id] = Monotonic.nanoseconds
        metrics.mempoolSize.record(mempool.count)
        if shouldGossip { gossip.append(transaction) }
        return .pending(id)
    }

    /// A transaction whose creator already sent a request under its client id (docs/data-model.md,
    /// "Exactly once"): the same request (a rebuilt retry) is answered with the original
    /// transaction's status; another request under the id is refused, naming the original.
    private func requestReplay(_ transaction: Transaction) -> SubmitOutcome? {
        let body = transaction.body
        guard case .request(let record)? = store.stateRecord(StateKey.request(body.creator, body.clientID)) else { return nil }
        guard record.requestDigest == body.requestDigest else {
            return .refused(code: "CLIENT_ID_REUSED", message: "\(body.creator) already used client id \(body.clientID) for transaction \(record.transaction.digest.hex), a different request; use a new client id", retryable: false)
        }
        guard let location = store.transactionLocation(record.transaction) else { return nil }
        return .committed(statusView(record.transaction, location))
    }

    /// A transaction whose only command is a settlement entry the ledger already recorded under
    /// its reference: with the same body, the original transaction's status (nothing is
    /// submitted); with another body, DUPLICATE_REFERENCE_MISMATCH (docs/settlement.md).
    private func settlementReplay(_ transaction: Transaction) -> SubmitOutcome? {
        guard transaction.body.commands.count == 1, case .settlement(let entry) = transaction.body.commands[0] else { return nil }
        let key = StateKey.settlement(entry.gateway, entry.kind.referenceClass, entry.externalReference)
        guard case .settlement(let record)? = store.stateRecord(key) else { return nil }
        guard record.entryDigest == entry.digest else {
            return .refused(code: "DUPLICATE_REFERENCE_MISMATCH", message: "\(entry.gateway) already recorded reference \(entry.externalReference) with a different body (transaction \(record.transaction.digest.hex))", retryable: false)
        }
        guard let location = store.transactionLocation(record.transaction) else { return nil }
        return .committed(statusView(record.transaction, location))
    }

    /// Sends a peer that has just linked every transaction waiting here: one admitted while this
    /// node had no link to it was gossiped to the peers linked then, and to no one else, and would
    /// otherwise wait for this node's own proposal (for an observer: for ever).
    private func offerWaiting(to peer: Ed25519.PublicKey) {
        let waiting = mempool.waiting(limit: mempool.transactionsMax)
        var start = 0
        while start < waiting.count {
            let end = min(start + NetworkLimits.gossipTransactionsMax, waiting.count)
            network?.send(.transactions(Array(waiting[start..<end])), to: peer)
            start = end
        }
    }

    private func flushGossip() {
        guard !gossip.isEmpty else { return }
        var start = 0
        while start < gossip.count {
            let end = min(start + NetworkLimits.gossipTransactionsMax, gossip.count)
            network?.broadcast(.transactions(Array(gossip[start..<end])))
            start = end
        }
        gossip = []
    }

    /// A committed transaction's status; with `bytes`, its canonical bytes too (reads its block).
    func statusView(_ id: TransactionID, _ location: TransactionLocation, bytes: Bool = false) -> TransactionStatusView {
        let transaction = bytes ? store.block(at: location.height).flatMap { Int(location.index) < $0.transactions.count ? $0.transactions[Int(location.index)] : nil } : nil
        return TransactionStatusView(id: id.digest.hex, height: location.height, index: location.index, outcome: location.result,
                                     transaction: transaction.map { Data($0.encoded).base64EncodedString() })
    }

    func transactionStatus(_ id: TransactionID, withTransaction: Bool) -> TransactionStatusView {
        if let location = store.transactionLocation(id) { return statusView(id, location, bytes: withTransaction) }
        if let pending = mempool.transaction(id) {
            return TransactionStatusView(id: id.digest.hex, status: "pending", transaction: Data(pending.encoded).base64EncodedString())
        }
        return TransactionStatusView(id: id.digest.hex, status: "unknown")
    }

    func blockView(_ height: UInt64) -> BlockView? {
        guard height >= 1, let block = store.block(at: height), let root = store.stateRoot(at: height), let certificate = store.certificate(at: height) else { return nil }
        let next = anchor(height + 1)
        return BlockView(
            height: height, hash: block.hash.hex, previousHash: block.header.previousBlockHash.hex, timeMilliseconds: block.header.time.millisecondsSinceEpoch,
            proposer: block.header.proposer.hex, stateRoot: root.hex, transactions: block.transactions.map(\.id.digest.hex), results: store.results(at: height) ?? [],
            header: Hex.encode(block.header.encoded), certificate: Hex.encode(certificate.encoded),
            nextHeader: next.map { Hex.encode($0.header.encoded) }, nextCertificate: next.map { Hex.encode($0.certificate.encoded) })
    }

    func blockSummaries(from: UInt64, limit: Int) -> [BlockSummaryView] {
        let applied = store.appliedHeight ?? 0
        guard from >= 1, from <= applied else { return [] }
        return (from...min(applied, from + UInt64(limit) - 1)).compactMap { height in
            store.blockSummary(at: height).map {
                BlockSummaryView(height: height, hash: $0.header.hash.hex, timeMilliseconds: $0.header.time.millisecondsSinceEpoch,
                                 proposer: $0.header.proposer.hex, transactions: $0.transactions)
            }
        }
    }

    /// An account's record at the applied height, with its state value and, if asked, its Merkle proof.
    struct AccountSnapshot: Sendable {
        let height: UInt64
        let record: AccountRecord
        let value: [UInt8]
        let proof: MerkleProof?
        let root: Digest
    }

    func accountSnapshot(_ id: AccountID, proof: Bool) -> AccountSnapshot? {
        let key = StateKey.account(id)
        guard let value = store.stateValue(for: key), case .account(let record)? = try? StateRecord(encoded: value) else { return nil }
        return AccountSnapshot(height: store.appliedHeight ?? 0, record: record, value: value, proof: proof ? MerkleProof(store, key: key.raw) : nil, root: store.stateRoot)
    }

    /// Block `height`'s header and commit certificate.
    struct Anchor: Sendable {
        let header: BlockHeader
        let certificate: CommitCertificate
    }

    func anchor(_ height: UInt64) -> Anchor? {
        guard let summary = store.blockSummary(at: height), let certificate = store.certificate(at: height) else { return nil }
        return Anchor(header: summary.header, certificate: certificate)
    }

    func accountHistory(_ id: AccountID, before: HistoryPosition?, limit: Int) -> AccountHistoryView {
        let entries = store.accountHistory(id, before: before.map { HistoryCursor(height: $0.height, index: $0.index) }, limit: limit)
        let next = entries.count == limit ? entries.last.map { HistoryPosition(height: $0.height, index: $0.index).text } : nil
        return AccountHistoryView(account: id.text, transactions: entries.map { .init(id: $0.transaction.digest.hex, height: $0.height, index: $0.index) }, next: next)
    }

    /// The applied state and its block's time, for settlement reports.
    func committedState() -> CommittedState {
        let height = store.appliedHeight ?? 0
        let header = latestHeader?.height == height ? latestHeader : store.blockSummary(at: height)?.header
        return CommittedState(reader: store, height: height, time: header?.time ?? Timestamp(millisecondsSinceEpoch: WallClock.milliseconds),
                              stateRoot: store.stateRoot, prove: { [store] key in MerkleProof(store, key: key) })
    }

    /// The set that signs block `height` (nil: the next block), or nil if no block that high can be signed yet.
    func validatorsView(signing height: UInt64?) -> ValidatorsView? {
        let next = (store.appliedHeight ?? 0) + 1
        let height = height ?? next
        return store.validatorSet(signing: height).map { ValidatorsView(signing: height, set: $0) }
    }

    /// What a receipt needs from the store: the transaction, its result, and the Merkle proofs of
    /// both in its block (the anchor, block height + 1, comes separately).
    struct ReceiptParts: Sendable {
        let height: UInt64
        let index: UInt32
        let transaction: Transaction
        let result: TransactionResult
        let header: BlockHeader
        let transactionsProof: MerkleListProof
        let resultsProof: MerkleListProof
    }

    func receiptParts(_ id: TransactionID) -> ReceiptParts? {
        guard let location = store.transactionLocation(id), let block = store.block(at: location.height), let results = store.results(at: location.height),
              Int(location.index) < block.transactions.count, results.count == block.transactions.count
        else { return nil }
        let index = Int(location.index), ids = block.transactions.map(\.id)
        return ReceiptParts(
            height: location.height, index: location.index, transaction: block.transactions[index], result: results[index], header: block.header,
            transactionsProof: MerkleList.proof(ids.map(\.digest), index: index), resultsProof: MerkleList.proof(ResultsTree.leaves(ids, results), index: index))
    }

    /// A proposed block's transactions have valid signatures: those equal to a mempool entry were
    /// checked on admission; the rest are checked now, in parallel.
    private func signaturesValid(_ block: Block) -> Bool {
        let unknown = block.transactions.filter { mempool.transaction($0.id) != $0 }
        guard !unknown.isEmpty else { return true }
        let checks = unknown.flatMap(\.signatureChecks)
        return BatchVerifier.verify(checks, workers: config.verifyWorkers, forkJoin: Parallel.forkJoin).allSatisfy { $0 }
    }

    // MARK: Block sync

    private var bufferBlocksMax: UInt64 { UInt64(config.syncBatchBlocks) * 4 }

    /// Every status tick: are peers ahead? Then ask them for blocks.
    private func checkSync() {
        let applied = store.appliedHeight ?? 0
        let now = Monotonic.nanoseconds
        for (peer, request) in inflight where request.deadline <= now {
            logger.info("sync request timed out", metadata: ["peer": "\(peer.hex.prefix(8))", "from": "\(request.from)"])
            inflight[peer] = nil
        }
        let ahead = Set(peerHeights.filter { $0.value > applied }.keys)
        let best = peerHeights.values.max() ?? 0
        let wasSyncing = syncing
        syncing = best >= applied + 2
        if syncing, !wasSyncing {
            syncStartedAt = (applied, now)
            logger.info("behind peers: syncing", metadata: ["height": "\(applied)", "peers_height": "\(best)"])
        } else if !syncing, wasSyncing, let start = syncStartedAt {
            let seconds = Double(now - start.nanoseconds) / 1e9
            logger.info("caught up", metadata: [
                "height": "\(applied)", "blocks": "\(applied - start.height)", "seconds": "\(String(format: "%.2f", seconds))",
            ])
            syncStartedAt = nil
        }
        metrics.syncing.record(syncing ? 1 : 0)
        // A peer one block ahead may just be a little faster: ask only if it still is a tick later.
        let eligible = ahead.filter { syncing || aheadLastTick.contains($0) }
        aheadLastTick = ahead
        if !eligible.isEmpty { requestBlocks(only: eligible) }
        if syncing, now - lastSyncLog > 2_000_000_000, let start = syncStartedAt {
            lastSyncLog = now
            let rate = Double(applied - start.height) / max(Double(now - start.nanoseconds) / 1e9, 0.001)
            logger.info("sync progress", metadata: ["height": "\(applied)", "target": "\(best)", "blocks_per_s": "\(String(format: "%.1f", rate))"])
        }
    }

    /// Asks peers that are ahead (and have nothing outstanding) for the next missing ranges.
    private func requestBlocks(only eligible: Set<Ed25519.PublicKey>? = nil) {
        let applied = store.appliedHeight ?? 0
        var next = max(applied + 1, (inflight.values.map { $0.from + $0.count }.max() ?? 0))
        while syncBuffer[next] != nil { next += 1 }
        let candidates = peerHeights.filter { $0.value >= next && inflight[$0.key] == nil && (eligible?.contains($0.key) ?? true) }
            .sorted { $0.key < $1.key }
        let deadline = Monotonic.nanoseconds + config.syncRequestTimeoutMilliseconds * 1_000_000
        for (peer, height) in candidates where next <= applied + bufferBlocksMax && height >= next {
            let count = min(UInt64(config.syncBatchBlocks), height - next + 1, applied + bufferBlocksMax - next + 1)
            guard count > 0 else { continue }
            inflight[peer] = (next, count, deadline)
            network?.send(.blocksRequest(from: next, count: UInt32(count)), to: peer)
            next += count
        }
    }

    /// Applies buffered blocks in order, each only after its certificate verifies against the
    /// validator set the chain has at that height.
    private func applySynced(from peer: Ed25519.PublicKey) throws {
        while let certified = syncBuffer[driver.core.height] {
            syncBuffer[driver.core.height] = nil
            let block = certified.block, certificate = certified.certificate
            let checks = certificate.signatureChecks(chainID: chainID)
            let allValid = BatchVerifier.verify(checks, workers: config.verifyWorkers, forkJoin: Parallel.forkJoin).allSatisfy { $0 }
            do {
                guard allValid else { throw CertificateError.invalidSignature(checks.first!.publicKey) }
                try certificate.verify(chainID: chainID, validators: driver.core.validators, height: block.header.height, blockHash: block.hash)
            } catch {
                logger.warning("synced block refused", metadata: ["peer": "\(peer.hex.prefix(8))", "height": "\(block.header.height)", "error": "\(error)"])
                syncBuffer.removeAll()
                return
            }
            try driver.deliver(.syncedBlock(block, certificate))
            flushOutbox()
        }
        // Drop what can no longer be applied.
        let applied = store.appliedHeight ?? 0
        syncBuffer = syncBuffer.filter { $0.key > applied }
    }

    private func serveBlocks(from: UInt64, count: UInt32, to peer: Ed25519.PublicKey) {
        let applied = store.appliedHeight ?? 0
        guard from >= 1, from <= applied else {
            network?.send(.blocks([]), to: peer)
            return
        }
        var blocks: [CertifiedBlock] = [], bytes = 0
        var height = from
        while height <= applied, blocks.count < min(Int(count), NetworkLimits.syncBlocksMax), bytes < NetworkLimits.syncResponseBytesTarget {
            guard let block = store.block(at: height), let certificate = store.certificate(at: height) else { break }
            let size = block.encoded.count
            if !blocks.isEmpty, bytes + size > NetworkLimits.frameBytesMax - (1 << 20) { break }
            blocks.append(CertifiedBlock(block: block, certificate: certificate))
            bytes += size
            height += 1
        }
        network?.send(.blocks(blocks), to: peer)
    }

    // MARK: Publishing

    private func updateAuthorised() {
        let keys = Set(driver.core.validators.validators.map(\.publicKey)).union(config.observers)
        authorised.withLock { $0 = keys }
    }

    private func publish() {
        let applied = store.appliedHeight ?? 0
        let current = snapshot.withLock { $0 }
        var next = current
        if applied != current.height || current.stateRoot == .zero {
            next.height = applied
            next.stateRoot = store.stateRoot
            // The header of the block just committed; read from the store only at start.
            if applied > 0, let header = latestHeader?.height == applied ? latestHeader : store.blockSummary(at: applied)?.header {
                (next.latestBlockHash, next.latestBlockTime) = (header.hash, header.time.millisecondsSinceEpoch)
            }
        }
        (next.round, next.syncing, next.mempoolTransactions) = (driver.core.round, syncing, mempool.count)
        next.validator = driver.core.validators.validator(key.publicKey) != nil
        // Linked to a quorum: the validators it has links to, with itself, hold more than 2/3 of
        // the power. Without that it cannot tell whether it is behind, so it is not ready.
        let linked = Set(network?.connectedPeers ?? [])
        let set = driver.core.validators
        let power = set.validators.reduce(UInt64(0)) { $0 + (linked.contains($1.publicKey) || $1.publicKey == key.publicKey ? $1.power : 0) }
        next.linkedQuorum = set.isQuorum(power)
        metrics.round.record(Int64(next.round))
        metrics.mempoolSize.record(next.mempoolTransactions)
        snapshot.withLock { $0 = next }
    }
}

/// Fork-join over the machine's cores, for signature batches.
enum Parallel {
    static func forkJoin(_ iterations: Int, _ body: @Sendable (Int) -> Void) { DispatchQueue.concurrentPerform(iterations: iterations, execute: body) }
}
