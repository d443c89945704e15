import TonleConsensus
import TonleCrypto
import TonleLedger
import TonleRuntime
import TonleStorage
import TonleTypes

/// Which faults a run injects.
public enum Faults: String, Sendable, CaseIterable {
    /// A perfect network, no crashes.
    case none
    /// Loss (up to 30 %), duplication, reordering, changing partitions, crashes with torn WAL
    /// tails and crashes in the middle of a WAL write, then healing and a liveness check.
    case all
    /// The twin attack: one partition for the whole run, each twin on both sides, the correct
    /// validators split between them. With f+1 twins this must fork; with f it must not.
    case split
}

public struct SimulationOptions: Sendable {
    public var seed: UInt64
    public var validators = 4
    /// Validators that run twice, with one key (Byzantine). Safety holds for at most f of them.
    public var twins = 0
    public var faults = Faults.all
    /// Simulated time with faults, then without: the liveness bound after healing.
    public var faultMilliseconds: UInt64 = 10_000
    public var livenessMilliseconds: UInt64 = 30_000
    /// Keep the event log (for the determinism test and for replaying a failure).
    public var recordEvents = false
    /// Crash node 0 inside its k-th WAL write (0 = the first), then restart it: the
    /// crash-at-every-write test. Combine with `faults = .none`.
    public var crashNodeZeroAtWALWrite: Int?

    public init(seed: UInt64) { self.seed = seed }

    /// The one-line command that replays this run exactly.
    public var replayCommand: String {
        "tonle-sim --seeds 1 --first-seed \(seed) --validators \(validators) --twins \(twins) --faults \(faults.rawValue)"
    }
}

public struct SimulationResult: Sendable {
    public let options: SimulationOptions
    /// Heights decided by every correct validator.
    public let heightsDecided: UInt64
    public let violations: [String]
    public let events: Int
    /// SHA-256 over the event log: equal for equal seeds.
    public let eventLogDigest: Digest
    public let eventLog: [String]
    /// WAL records node 0 wrote (across restarts).
    public let nodeZeroWALWrites: Int
    /// Node 0's WAL syncs (one before each message it signs, covering every write before it).
    public let nodeZeroWALSyncs: Int
    /// Gateway requests a correct node acknowledged (each must be applied exactly once).
    public let requestsAcknowledged: Int
    /// The longest an acknowledged request waited after the heal to commit (ms).
    public let maxCommitWaitAfterHeal: UInt64
    /// Empty blocks in the idle window after everything committed.
    public let idleBlocks: Int
    /// Requests a running node held, uncommitted, through the heal (the re-gossip checker's cases).
    public let requestsHeldThroughHeal: Int
}

/// One seeded run of a cluster in one thread (docs/simulator.md): N validators, each a `Replica` —
/// the node's own consensus driver, mempool, admission, gossip and block sync — with its own
/// store, WAL and sign-state; a simulated network of links and disk; crashes; twins; gateway
/// clients submitting transfers and retrying them. The checkers run after every event.
public final class Simulation {
    let options: SimulationOptions
    var random: SplitMix64
    var now: UInt64 = 0
    /// Events by time, then by the order they were scheduled: deterministic for a seed.
    var queue = TimerQueue<EventKind>()
    var nodes: [SimNode] = []
    let genesis: Genesis
    let chainID = try! ChainID("tonle-sim")
    var checker: Checker
    var partition: [Int]? = nil   // side of each node, when split
    /// Percent of messages whose loss breaks their link (it reconnects 20–220 ms later).
    var lossPercent = 0
    var duplicatePercent = 0
    /// Links broken by a loss, not yet reconnected; which links are up; their epochs.
    var cut: Set<Pair> = []
    var linkUp: [[Bool]] = []
    var updatingLinks = false
    var linksDirty = false
    var epochs: [[UInt64]] = []
    var events = 0
    let hasher = SHA256Hasher()
    var log: [String] = []
    /// The gateways' requests (Simulation+Clients.swift).
    var clients = Clients()
    /// When the faults ended (the heal), and the height every correct node must then reach.
    var healedAt: UInt64?
    var livenessTarget: UInt64 = 0
    /// When, after the heal, everything acknowledged had committed and every correct node had
    /// reached the target: the idle window starts a little later.
    var quietAt: UInt64?
    /// Heights some correct node has decided, and when the empty ones first were.
    var decidedHeights: Set<UInt64> = []
    var emptyBlockTimes: [UInt64] = []
    /// When any node (twins too) first decided each height.
    var firstDecision: [UInt64: UInt64] = [:]
    var maxWaitAfterHeal: UInt64 = 0
    var idleBlocks = 0
    static let genesisTime: UInt64 = 1_790_000_000_000
    static let clientKey = Ed25519.SigningKey(seed: Bytes32(Array(repeating: 77, count: 32))!)
    /// The node's configuration with every timeout scaled down (so a run covers many heights).
    /// The idle wait varies by seed: none, short, or long against the time a height takes (so a
    /// proposer's next turn comes while a timer of its last wait may still be pending).
    let config: ReplicaConfig

    static func config(idleMilliseconds: UInt64) -> ReplicaConfig {
        var c = ReplicaConfig()
        (c.consensus.proposeMilliseconds, c.consensus.proposeDeltaMilliseconds) = (max(300, 2 * idleMilliseconds), 100)
        (c.consensus.prevoteMilliseconds, c.consensus.prevoteDeltaMilliseconds) = (200, 100)
        (c.consensus.precommitMilliseconds, c.consensus.precommitDeltaMilliseconds) = (200, 100)
        c.idleProposalMilliseconds = idleMilliseconds
        (c.statusIntervalMilliseconds, c.syncRequestTimeoutMilliseconds, c.syncBatchBlocks) = (250, 1_000, 16)
        (c.mempoolTransactionsMax, c.blockTransactionsMax) = (2_000, 50)
        return c
    }

    public init(_ options: SimulationOptions) {
        precondition(options.validators >= 1 && options.twins <= options.validators, "twins are validators run twice")
        self.options = options
        random = SplitMix64(seed: options.seed)
        config = Self.config(idleMilliseconds: [0, 150, 500][Int(random.next() % 3)])
        let keys = (0..<options.validators).map { i in Ed25519.SigningKey(seed: Bytes32((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i &* 13 &+ 1) })!) }
        genesis = Self.makeGenesis(chainID: chainID, keys: keys)
        checker = Checker(chainID: chainID, validators: genesis.validators, correct: Set(keys.dropFirst(options.twins).map(\.publicKey)))
        for (index, key) in keys.enumerated() { nodes.append(SimNode(index: index, key: key, skew: random.next() % 40)) }
        for twin in 0..<options.twins { nodes.append(SimNode(index: nodes.count, key: keys[twin], skew: random.next() % 40)) }
        for node in nodes { try! BlockExecutor.initialise(node.store, genesis: genesis) }
        linkUp = Array(repeating: Array(repeating: false, count: nodes.count), count: nodes.count)
        epochs = Array(repeating: Array(repeating: 0, count: nodes.count), count: nodes.count)
    }

    /// Runs the seed to the end and reports.
    public func run() -> SimulationResult {
        if let k = options.crashNodeZeroAtWALWrite { nodes[0].log.appendsBeforeCrash = k }
        for node in nodes { start(node) }
        scheduleFaults()
        while let event = queue.pop() {
            now = event.time
            handle(event.payload)
            events += 1
            if now > options.faultMilliseconds + options.livenessMilliseconds || events > Self.eventsMax { break }
            if healedAt != nil, options.faults != .split, checkSettled() { break }
        }
        finish()
        return SimulationResult(options: options, heightsDecided: checker.heightsDecidedByAllCorrect(nodes), violations: checker.violations,
                                events: events, eventLogDigest: hasher.finalize(), eventLog: log, nodeZeroWALWrites: nodes[0].log.appends,
                                nodeZeroWALSyncs: nodes[0].log.syncs, requestsAcknowledged: clients.requests.filter { $0.acknowledgedAt != nil }.count,
                                maxCommitWaitAfterHeal: maxWaitAfterHeal, idleBlocks: idleBlocks, requestsHeldThroughHeal: clients.heldAtHeal.count)
    }

    // MARK: Nodes

    /// A node's wall clock, in ms since 1970.
    func clock(_ node: SimNode) -> UInt64 { Self.genesisTime + now + node.skew }

    func start(_ node: SimNode) {
        do {
            let replica = try Replica(
                chainID: chainID, key: node.key, validators: genesis.validators, store: node.store, log: node.log, signState: node.signState,
                config: config, now: clock(node), verify: { $0.map(\.isValid) })
            node.replica = replica
            node.incarnation += 1
            node.linked = []
            record("n\(node.index) start at height \(replica.consensusHeight)")
            carryOut(replica.start(), at: node)
            updateLinks()
        } catch {
            checker.violations.append("seed \(options.seed): n\(node.index) cannot restart: \(error)")
        }
    }

    func crash(_ node: SimNode, tornTail: Bool) {
        guard node.up else { return }
        if node.index == 0, options.crashNodeZeroAtWALWrite != nil {
            // The test hook: restart soon, and count the writes made so far.
            queue.push(now + 100, .restart(0))
        }
        node.replica = nil
        node.linked = []
        node.log.appendsBeforeCrash = nil
        // Of the WAL written since its last sync, any prefix may have reached the disk (perhaps
        // ending inside a record: a torn tail); with nothing unsynced, garbage may follow.
        let unsynced = node.log.bytes.count - node.log.durable
        node.log.loseUnsynced(keep: unsynced == 0 ? 0 : Int(random.next() % UInt64(unsynced + 1)))
        if tornTail, unsynced == 0 { node.log.tearTail((0..<Int(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }) }
        record("n\(node.index) crash\(tornTail ? " (torn WAL tail)" : "")")
        updateLinks()
        if now < options.faultMilliseconds {
            queue.push(now + 200 + random.next() % 2_000, .restart(node.index))
        }
    }

    /// Steps a node's replica; a failure inside it (a crash mid-write) crashes the node, and a
    /// block that breaks a ledger rule is a violation.
    func step(_ node: SimNode, _ input: ReplicaInput) {
        guard let replica = node.replica else { return }
        do {
            carryOut(try replica.step(input, now: clock(node)), at: node)
        } catch {
            if case .apply(.invariant(let broken)) = error { checker.violations.append("seed \(options.seed): n\(node.index) supply invariant: \(broken)") }
            record("n\(node.index) stops: \(error)")
            crash(node, tornTail: false)
        }
    }

    /// Carries a replica's outputs into the simulated world, checking what correct nodes did.
    func carryOut(_ outputs: [ReplicaOutput], at node: SimNode) {
        for output in outputs {
            switch output {
            case .send(let message, let key):
                if case .consensus(let signed) = message { checker.signed(signed, by: node) }
                for peer in nodes where peer.key.publicKey == key { send(message, from: node, to: peer) }
            case .broadcast(let message):
                if case .consensus(let signed) = message { checker.signed(signed, by: node) }
                for peer in nodes where peer.index != node.index { send(message, from: node, to: peer) }
            case .timer(let timer, let milliseconds):
                queue.push(now + milliseconds, .timer(node.index, incarnation: node.incarnation, timer))
            case .committed(let block, let root, _):
                record("n\(node.index) decided h\(block.header.height) \(block.hash.hex.prefix(8)) txs \(block.transactions.count)")
                if let certificate = node.store.certificate(at: block.header.height) { checker.decided(block, certificate, root: root, by: node) }
                if checker.isCorrect(node) {
                    clients.committed(block, at: now)
                    if decidedHeights.insert(block.header.height).inserted, block.transactions.isEmpty { emptyBlockTimes.append(now) }
                }
                checkIdleWait(block)
            case .reply(let ticket, let admissions):
                replied(ticket, admissions, by: node)
            case .note(.equivocation(let first, _)):
                record("n\(node.index) evidence against \(first.body.validator.hex.prefix(8))")
            case .note(.syncedBlockRefused(_, let height, let reason)):
                record("n\(node.index) refused synced block h\(height): \(reason)")
            case .note:
                break
            }
        }
    }

    func finish() {
        if options.faults != .split {
            for node in nodes where checker.isCorrect(node) && (node.store.appliedHeight ?? 0) < livenessTarget {
                checker.violations.append("seed \(options.seed): liveness: n\(node.index) at height \(node.store.appliedHeight ?? 0), not \(livenessTarget), \(options.livenessMilliseconds) ms after healing")
            }
            checkRequests()
            checkIdleRate()
        }
        for node in nodes where checker.isCorrect(node) {
            let records = node.store.allStateValues().values.map { try! StateRecord(encoded: $0) }
            for violation in LedgerInvariants.violations(records) { checker.violations.append("seed \(options.seed): n\(node.index) ledger invariant: \(violation)") }
        }
    }

    func record(_ line: String) {
        let entry = "\(now) \(line)"
        hasher.update(Array(entry.utf8) + [10])
        if options.recordEvents { log.append(entry) }
    }
}

/// One simulated machine: what survives a crash (store, WAL, sign-state) and what does not
/// (the replica: its mempool, links and timers).
final class SimNode {
    let index: Int
    let key: Ed25519.SigningKey
    let store = MemoryStore()
    let log = MemoryConsensusLog()
    let signState = MemorySignState()
    var replica: Replica?
    var up: Bool { replica != nil }
    var incarnation = 0
    /// The peers its replica has been told are linked.
    var linked: Set<PeerID> = []
    /// Its clock runs this many ms ahead of the simulation's.
    let skew: UInt64

    init(index: Int, key: Ed25519.SigningKey, skew: UInt64) { (self.index, self.key, self.skew) = (index, key, skew) }
}
