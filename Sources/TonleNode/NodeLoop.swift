import Foundation
import Logging
import Synchronization
import TonleConsensus
import TonleCrypto
import TonleLedger
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

/// What the loop publishes after every step, for the RPC and metrics (read from any thread).
struct LoopSnapshot: Sendable {
    var replica = ReplicaStatus()
    var stateRoot = Digest.zero
    var latestBlockHash = Digest.zero
    var latestBlockTime: UInt64 = 0
    var oldestBlockHeight: UInt64 = 1
    var fatal: String?
}

/// The node's shell around its replica (docs/architecture.md, "The node is a shell"): one thread
/// takes events from a bounded mailbox — peer messages, submissions, queries — and the replica's
/// due timers, steps the replica with each, and carries out what it returns: messages to peers,
/// timers, replies, logs and metrics. Network and RPC threads only post to the mailbox, and
/// signatures are checked before anything is posted, on the posting threads.
final class NodeLoop: @unchecked Sendable {
    let config: NodeConfig
    let key: Ed25519.SigningKey
    let store: any LedgerStore
    let views: StoreViews
    let logger: Logger
    let metrics: NodeMetrics
    let mailbox = Mailbox<LoopEvent>(capacity: 65_536)
    let snapshot = Mutex(LoopSnapshot())
    /// Keys that may hold a peer link: the current validators and the configured observers.
    let authorised = Mutex<Set<Ed25519.PublicKey>>([])
    var network: PeerNetwork?
    /// Published after each stored block, for long polls and event streams.
    let commits: CommitNotifier
    /// Snapshots of the store (rocksdb only), taken after the blocks that fall due.
    var snapshots: SnapshotSchedule?
    private let replica: Replica
    private var timers = TimerQueue<ReplicaTimer>()
    private var replies: [UInt64: (count: Int, reply: @Sendable ([SubmitOutcome]) -> Void)] = [:]
    private var tickets: UInt64 = 0
    private var running = true
    private var heightStartedAt = Monotonic.nanoseconds
    /// Gateways whose prefund balance the metrics show: genesis's, and those a block admits or
    /// names (a settlement entry) since the node started. Sorted, a few tens at most.
    private var gateways: [InstitutionID]
    /// `gateway/currency` pairs whose prefund is below its alert threshold now.
    private var lowPrefunds: Set<String> = []
    /// Low-prefund alerts by the height of the block that caused them (bounded; `recordPrefunds`).
    private(set) var prefundAlerts: [UInt64: [PrefundAlertView]] = [:]

    init(config: NodeConfig, chainID: ChainID, key: Ed25519.SigningKey, store: any LedgerStore, consensusLog: FileConsensusLog,
         signState: FileSignState, validators: ValidatorSet, gateways: [InstitutionID], logger: Logger, metrics: NodeMetrics) throws(NodeError) {
        (self.config, self.key, self.store, self.logger, self.metrics) = (config, key, store, logger, metrics)
        self.gateways = Array(Set(gateways)).sorted()
        views = StoreViews(store: store)
        commits = CommitNotifier(height: store.appliedHeight ?? 0)
        do {
            replica = try Replica(
                chainID: chainID, key: key, validators: validators, store: store, log: consensusLog, signState: signState,
                config: config.replica, now: WallClock.milliseconds,
                verify: { [workers = config.verifyWorkers] in BatchVerifier.verify($0, workers: workers, forkJoin: Parallel.forkJoin) })
        } catch { throw .fatal("cannot start consensus: \(error)") }
        updateAuthorised()
        metrics.mempoolCapacity.record(config.mempoolTransactionsMax)
        recordPrefunds(height: store.appliedHeight ?? 0)
        publish()
    }

    // MARK: The loop

    /// Runs until `stop`; returns the fatal error that ended it, if any.
    func run() -> String? {
        carryOut(replica.start())
        publish()
        while running {
            let event = mailbox.take(deadline: timers.nextTime)
            do {
                if let event { try handle(event) }
                while let timer = timers.popDue(now: Monotonic.nanoseconds) { try step(.timer(timer)) }
            } catch {
                let message = "\(error)"
                logger.critical("node loop stopped", metadata: ["error": "\(message)"])
                snapshot.withLock { $0.fatal = message }
                end()
                return message
            }
            publish()
        }
        mergeStore()
        end()
        return nil
    }

    /// On a graceful stop, the changes the store holds in memory are merged into its tables, so
    /// the next start replays no blocks (at 10 million accounts that replay took 20 s). A failure
    /// is logged and loses nothing: the log still holds the changes.
    private func mergeStore() {
        let start = Monotonic.nanoseconds
        do {
            switch store {
            case let rocks as RocksStore: try rocks.merge()
            case let sqlite as SQLiteStore: try sqlite.merge()
            default: return
            }
            logger.info("store merged for the next start", metadata: ["ms": "\((Monotonic.nanoseconds - start) / 1_000_000)"])
        } catch {
            logger.error("store merge at stop failed; the next start replays the log", metadata: ["error": "\(error)"])
        }
    }

    func stop() { mailbox.post(.stop, force: true) }

    /// Answers every submission still waiting, and closes the commit feed.
    private func end() {
        let stopping = SubmitOutcome.refused(code: "NODE_BUSY", message: "the node is stopping; retry on another node", retryable: true)
        for waiting in replies.values { waiting.reply(Array(repeating: stopping, count: waiting.count)) }
        replies = [:]
        commits.close()
    }

    private func handle(_ event: LoopEvent) throws(DriverError) {
        switch event {
        case .stop:
            running = false
        case .query(let body):
            body(self)
        case .submit(let transactions, let reply):
            tickets += 1
            replies[tickets] = (transactions.count, reply)
            try step(.submit(transactions, ticket: tickets))
        case .network(.connected(let peer)):
            metrics.peers.record(network?.connectedPeers.count ?? 0)
            try step(.linkUp(peer))
        case .network(.disconnected(let peer)):
            metrics.peers.record(network?.connectedPeers.count ?? 0)
            try step(.linkDown(peer))
        case .network(.message(let message, let peer)):
            try step(.message(message, from: peer))
        }
    }

    private func step(_ input: ReplicaInput) throws(DriverError) {
        carryOut(try replica.step(input, now: WallClock.milliseconds))
    }

    /// Carries out a step's outputs, in the order the replica gave them.
    private func carryOut(_ outputs: [ReplicaOutput]) {
        for output in outputs {
            switch output {
            case .send(let message, let peer):
                network?.send(message, to: peer)
            case .broadcast(let message):
                network?.broadcast(message)
            case .timer(let timer, let milliseconds):
                timers.push(Monotonic.nanoseconds + min(milliseconds, 1 << 32) * 1_000_000, timer)
            case .committed(let block, let root, let waits):
                committed(block, root: root, waits: waits)
            case .reply(let ticket, let admissions):
                replies.removeValue(forKey: ticket)?.reply(admissions.map(outcome))
            case .note(let note):
                record(note)
            }
        }
    }

    private func outcome(_ admission: Admission) -> SubmitOutcome {
        switch admission {
        case .pending(let id): .pending(id)
        case .committed(let id, let location): .committed(views.statusView(id, location))
        case .refused(let code, let message, let retryable): .refused(code: code, message: message, retryable: retryable)
        }
    }

    private func committed(_ block: Block, root: Digest, waits: [UInt64]) {
        let count = block.transactions.count
        let now = Monotonic.nanoseconds
        metrics.blockSeconds.recordNanoseconds(Int64(clamping: now - heightStartedAt))
        heightStartedAt = now
        for wait in waits { metrics.transactionSeconds.recordMilliseconds(min(wait, 1 << 40)) }
        metrics.transactionsCommitted.increment(by: Int64(count))
        countSettlementEntries(block)
        noteGateways(block)
        recordPrefunds(height: block.header.height)
        metrics.height.record(Int64(clamping: block.header.height))
        updateAuthorised()
        commits.publish(block.header.height)
        snapshots?.committed(logger: logger, metrics: metrics)
        pruneBlocks(after: block.header.height)
        if !replica.status.syncing || block.header.height % 100 == 0 {
            logger.info("committed", metadata: [
                "height": "\(block.header.height)", "txs": "\(count)", "hash": "\(block.hash.hex.prefix(16))",
                "root": "\(root.hex.prefix(16))", "mempool": "\(replica.mempool.count)",
            ])
        }
    }

    /// Every 10 heights with `storage.retain_blocks` set: blocks older than the retained ones
    /// are deleted, but never block H or H + 1 of a kept snapshot (a peer state-syncing from it
    /// fetches them). Peers further behind than what is kept sync from another node or state-sync.
    private func pruneBlocks(after height: UInt64) {
        guard config.retainBlocks > 0, height % 10 == 0, height > config.retainBlocks, let rocks = store as? RocksStore else { return }
        var below = height - config.retainBlocks
        if snapshots != nil, let oldest = Snapshots.list(Snapshots.directory(dataDirectory: config.dataDirectory)).last?.height { below = min(below, oldest) }
        guard below > rocks.oldestBlockHeight else { return }
        do {
            try rocks.pruneBlocks(below: below)
            logger.debug("pruned blocks", metadata: ["below": "\(below)"])
        } catch {
            logger.error("pruning blocks failed", metadata: ["below": "\(below)", "error": "\(error)"])
        }
    }

    /// Gateways a block admits, configures or names in a settlement entry join those the metrics show.
    private func noteGateways(_ block: Block) {
        for transaction in block.transactions {
            for command in transaction.body.commands {
                let named: InstitutionID
                switch command {
                case .settlement(let entry): named = entry.gateway
                case .configureGateway(let config): named = config.gateway
                case .createParticipant(let participant) where participant.role == .gateway: named = participant.id
                default: continue
                }
                if !gateways.contains(named) { gateways.append(named); gateways.sort() }
            }
        }
    }

    /// Each known gateway's prefund balances (`tonle_gateway_prefund_minor_units`), read from the
    /// committed state after every block, against the low-prefund threshold its configuration
    /// sets: a prefund that falls below it is logged, counted and kept for the event stream as an
    /// alert of block `height` (docs/settlement.md, "Low-prefund alerts").
    private func recordPrefunds(height: UInt64) {
        var alerts: [PrefundAlertView] = []
        for gateway in gateways {
            guard case .account(let prefund)? = store.stateRecord(StateKey.account(GatewayAccounts.prefund(gateway))) else { continue }
            var config: GatewayConfig?
            if case .gateway(let stored)? = store.stateRecord(StateKey.gateway(gateway)) { config = stored }
            for currency in Currency.allCases {
                let balance = prefund.balance(currency).balance
                metrics.prefund(gateway: gateway.text, currency: currency.code, minorUnits: balance)
                let threshold = config?.prefundAlert(currency)
                let key = "\(gateway.text)/\(currency.code)"
                let low = threshold.map { balance < $0 } ?? false
                let fell = low && !lowPrefunds.contains(key)
                if low { lowPrefunds.insert(key) } else { lowPrefunds.remove(key) }
                metrics.prefundAlert(gateway: gateway.text, currency: currency.code, thresholdMinorUnits: threshold ?? 0, low: low, fell: fell)
                guard fell, let threshold else { continue }
                let alert = PrefundAlertView(gateway: gateway, currency: currency, height: height, balanceMinor: balance, thresholdMinor: threshold)
                logger.warning("gateway prefund below its alert threshold", metadata: [
                    "gateway": "\(gateway)", "currency": "\(currency.code)", "balance": "\(alert.balance)", "threshold": "\(alert.threshold)", "height": "\(height)",
                ])
                alerts.append(alert)
            }
        }
        guard !alerts.isEmpty else { return }
        prefundAlerts[height] = alerts
        // Bounded: the alerts of the latest 1,024 blocks that had any (older ones stay in the log and the counter).
        if prefundAlerts.count > 1_024, let oldest = prefundAlerts.keys.min() { prefundAlerts[oldest] = nil }
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

    private func record(_ note: ReplicaNote) {
        switch note {
        case .equivocation(let first, let second):
            logger.warning("equivocation", metadata: [
                "validator": "\(first.body.validator.hex)", "height": "\(first.body.height)", "round": "\(first.body.round)",
                "first": "\(first.body.blockHash?.hex ?? "nil")", "second": "\(second.body.blockHash?.hex ?? "nil")",
            ])
        case .mempoolFull:
            metrics.mempoolFull.increment()
        case .syncStarted(let height, let target):
            logger.info("behind peers: syncing", metadata: ["height": "\(height)", "peers_height": "\(target)"])
        case .syncProgress(let height, let target, let rate):
            logger.info("sync progress", metadata: ["height": "\(height)", "target": "\(target)", "blocks_per_s": "\(String(format: "%.1f", rate))"])
        case .caughtUp(let height, let blocks, let milliseconds):
            logger.info("caught up", metadata: ["height": "\(height)", "blocks": "\(blocks)", "seconds": "\(String(format: "%.2f", Double(milliseconds) / 1_000))"])
        case .syncRequestTimedOut(let peer, let from):
            logger.info("sync request timed out", metadata: ["peer": "\(peer.hex.prefix(8))", "from": "\(from)"])
        case .blocksNotKept(let peer, let from):
            logger.warning("a peer does not keep the blocks this node needs; asking the others", metadata: [
                "peer": "\(peer.hex.prefix(8))", "from": "\(from)",
                "hint": "if no peer keeps them (storage.retain_blocks), move this node's store aside and restart it with state_sync.enabled (docs/operations.md)",
            ])
        case .syncedBlockRefused(let peer, let height, let reason):
            logger.warning("synced block refused", metadata: ["peer": "\(peer.hex.prefix(8))", "height": "\(height)", "error": "\(reason)"])
        }
    }

    // MARK: Queries (on the loop thread)

    func transactionStatus(_ id: TransactionID, withTransaction: Bool) -> TransactionStatusView {
        views.transactionStatus(id, pending: replica.mempool.transaction(id), withTransaction: withTransaction)
    }

    // MARK: Publishing

    private func updateAuthorised() {
        let keys = Set(replica.validators.validators.map(\.publicKey)).union(config.observers)
        authorised.withLock { $0 = keys }
    }

    private func publish() {
        let status = replica.status
        let current = snapshot.withLock { $0 }
        var next = current
        next.replica = status
        if status.height != current.replica.height || current.stateRoot == .zero {
            next.stateRoot = store.stateRoot
            if status.height > 0, let header = store.blockSummary(at: status.height)?.header {
                (next.latestBlockHash, next.latestBlockTime) = (header.hash, header.time.millisecondsSinceEpoch)
            }
        }
        next.oldestBlockHeight = store.oldestBlockHeight
        metrics.oldestBlock.record(Int64(clamping: next.oldestBlockHeight))
        metrics.round.record(Int64(status.round))
        metrics.mempoolSize.record(status.mempoolTransactions)
        metrics.syncing.record(status.syncing ? 1 : 0)
        metrics.linkedQuorum.record(status.linkedQuorum ? 1 : 0)
        metrics.peerHeightMax.record(Int64(clamping: status.peerHeightMax))
        snapshot.withLock { $0 = next }
    }
}

/// Fork-join over the machine's cores, for signature batches.
enum Parallel {
    static func forkJoin(_ iterations: Int, _ body: @Sendable (Int) -> Void) { DispatchQueue.concurrentPerform(iterations: iterations, execute: body) }
}
