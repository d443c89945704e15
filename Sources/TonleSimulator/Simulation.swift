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
}

/// One seeded run of a cluster in one thread (docs/simulator.md): N validators, each with its own
/// driver, store, WAL and sign-state; a simulated network and disk; crashes; twins. The checkers
/// run after every event.
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
    var lossPercent = 0
    var duplicatePercent = 0
    var events = 0
    let hasher = SHA256Hasher()
    var log: [String] = []
    var clientCounter: UInt64 = 0
    static let genesisTime: UInt64 = 1_790_000_000_000
    static let clientKey = Ed25519.SigningKey(seed: Bytes32(Array(repeating: 77, count: 32))!)
    static let config: ConsensusConfig = {
        var c = ConsensusConfig()
        (c.proposeMilliseconds, c.proposeDeltaMilliseconds) = (300, 100)
        (c.prevoteMilliseconds, c.prevoteDeltaMilliseconds) = (200, 100)
        (c.precommitMilliseconds, c.precommitDeltaMilliseconds) = (200, 100)
        return c
    }()

    public init(_ options: SimulationOptions) {
        precondition(options.validators >= 1 && options.twins <= options.validators, "twins are validators run twice")
        self.options = options
        random = SplitMix64(seed: options.seed)
        let keys = (0..<options.validators).map { i in Ed25519.SigningKey(seed: Bytes32((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i &* 13 &+ 1) })!) }
        genesis = Self.makeGenesis(chainID: chainID, keys: keys)
        checker = Checker(chainID: chainID, validators: genesis.validators, correct: Set(keys.dropFirst(options.twins).map(\.publicKey)))
        for (index, key) in keys.enumerated() { nodes.append(SimNode(index: index, key: key, skew: random.next() % 40)) }
        for twin in 0..<options.twins { nodes.append(SimNode(index: nodes.count, key: keys[twin], skew: random.next() % 40)) }
        for node in nodes { try! BlockExecutor.initialise(node.store, genesis: genesis) }
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
            if now > options.faultMilliseconds + options.livenessMilliseconds { break }
            if now > options.faultMilliseconds, options.faults != .split, checker.allReached(livenessTarget, nodes: nodes) { break }
        }
        finish()
        return SimulationResult(options: options, heightsDecided: checker.heightsDecidedByAllCorrect(nodes), violations: checker.violations,
                                events: events, eventLogDigest: hasher.finalize(), eventLog: log, nodeZeroWALWrites: nodes[0].log.appends,
                                nodeZeroWALSyncs: nodes[0].log.syncs)
    }

    // MARK: Nodes

    func start(_ node: SimNode) {
        do {
            node.driver = try ConsensusDriver(
                chainID: chainID, key: node.key, validators: genesis.validators, store: node.store, log: node.log, signState: node.signState,
                config: Self.config, now: { [unowned self] in Self.genesisTime + self.now + node.skew },
                transactionsToPropose: { _ in Array(node.mempool.prefix(50)) })
            node.up = true
            node.incarnation += 1
            record("n\(node.index) start at height \(node.driver!.core.height)")
            flush(node)
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
        node.up = false
        node.driver = nil
        node.log.appendsBeforeCrash = nil
        // Of the WAL written since its last sync, any prefix may have reached the disk (perhaps
        // ending inside a record: a torn tail); with nothing unsynced, garbage may follow.
        let unsynced = node.log.bytes.count - node.log.durable
        node.log.loseUnsynced(keep: unsynced == 0 ? 0 : Int(random.next() % UInt64(unsynced + 1)))
        if tornTail, unsynced == 0 { node.log.tearTail((0..<Int(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }) }
        record("n\(node.index) crash\(tornTail ? " (torn WAL tail)" : "")")
        if now < options.faultMilliseconds {
            queue.push(now + 200 + random.next() % 2_000, .restart(node.index))
        }
    }

    /// Feeds one input; a failure inside the driver (a crash mid-write) crashes the node.
    func deliver(_ input: Input, to node: SimNode) {
        guard node.up, let driver = node.driver else { return }
        do {
            try driver.deliver(input)
        } catch {
            record("n\(node.index) stops: \(error)")
            flush(node)
            crash(node, tornTail: false)
            return
        }
        flush(node)
    }

    /// Carries the driver's outbox into the simulated world, checking what correct nodes did.
    func flush(_ node: SimNode) {
        guard let driver = node.driver else { return }
        for outgoing in driver.drainOutbox() {
            switch outgoing {
            case .broadcast(let message):
                checker.signed(message, by: node)
                for peer in nodes where peer.index != node.index { send(message, from: node, to: peer) }
            case .timer(let timeout, let ms):
                queue.push(now + ms, .timer(node.index, incarnation: node.incarnation, timeout))
            case .decided(let block, let certificate, let root):
                record("n\(node.index) decided h\(block.header.height) \(block.hash.hex.prefix(8))")
                checker.decided(block, certificate, root: root, by: node)
                let included = Set(block.transactions.map(\.id))
                node.mempool.removeAll { included.contains($0.id) || $0.body.expiry.millisecondsSinceEpoch < Self.genesisTime + now }
            case .evidence(let first, _):
                record("n\(node.index) evidence against \(first.body.validator.hex.prefix(8))")
            case .proposeLater:
                break   // simulated drivers propose at once (no idle wait)
            }
        }
    }

    var livenessTarget: UInt64 = 0

    func finish() {
        if options.faults != .split {
            for node in nodes where checker.isCorrect(node) && (node.store.appliedHeight ?? 0) < livenessTarget {
                checker.violations.append("seed \(options.seed): liveness: n\(node.index) at height \(node.store.appliedHeight ?? 0), not \(livenessTarget), \(options.livenessMilliseconds) ms after healing")
            }
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

/// One simulated machine: what survives a crash (store, WAL, sign-state) and what does not.
final class SimNode {
    let index: Int
    let key: Ed25519.SigningKey
    let store = MemoryStore()
    let log = MemoryConsensusLog()
    let signState = MemorySignState()
    var driver: ConsensusDriver?
    var up = false
    var incarnation = 0
    var mempool: [Transaction] = []
    /// Its clock runs this many ms ahead of the simulation's.
    let skew: UInt64

    init(index: Int, key: Ed25519.SigningKey, skew: UInt64) { (self.index, self.key, self.skew) = (index, key, skew) }
}
