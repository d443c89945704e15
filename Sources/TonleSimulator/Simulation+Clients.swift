import TonleCrypto
import TonleLedger
import TonleRuntime
import TonleTypes

/// A gateway's transfer request: one creator and client id, sent as one or more attempts (a
/// rebuilt retry has a new expiry, so a new id, and the same request).
struct SimRequest {
    let creator: AccountID
    let clientID: ID128
    let commands: [Command]
    /// The node the gateway talks to (it moves to another when that one is down).
    var node: Int
    var attempts: [TransactionID] = []
    /// When a correct node first answered pending or committed: from then on it must not be lost.
    var acknowledgedAt: UInt64?
    /// When a correct node first committed one of its attempts.
    var committedAt: UInt64?
    /// The correct node (and its incarnation) that last answered pending: its mempool holds the
    /// request until it commits or that node crashes.
    var heldBy: (node: Int, incarnation: Int)?
}

/// The gateways of a run: their requests and what the nodes answered.
struct Clients {
    var requests: [SimRequest] = []
    /// Which request each attempt and each submission's ticket belongs to.
    var owner: [TransactionID: Int] = [:]
    var tickets: [UInt64: Int] = [:]
    var nextTicket: UInt64 = 0
    /// Requests some running node held, uncommitted, at the heal; and the highest height then.
    var heldAtHeal: [Int] = []
    var healHeight: UInt64 = 0

    var allAcknowledgedCommitted: Bool { requests.allSatisfy { $0.acknowledgedAt == nil || $0.committedAt != nil } }

    mutating func committed(_ block: Block, at now: UInt64) {
        for transaction in block.transactions {
            guard let index = owner[transaction.id], requests[index].committedAt == nil else { continue }
            requests[index].committedAt = now
        }
    }
}

extension Simulation {
    /// How often a gateway checks on its requests that are not committed yet.
    static let pollMilliseconds: UInt64 = 1_000
    /// After the heal, every acknowledged request commits within this long.
    static let commitAfterHealMilliseconds: UInt64 = 10_000
    /// …and what a running node held through the heal, before this many blocks by correct
    /// proposers pass (the first may be locked before the heal, the next proposed just before
    /// the gossip arrived).
    static let heightsAfterHealMax: UInt64 = 3
    /// Once all is committed and quiet: wait this long, then count empty blocks over the window.
    static let idleSettleMilliseconds: UInt64 = 500
    static let idleWindowMilliseconds: UInt64 = 3_000

    /// A gateway sends a new transfer between two genesis accounts to a correct running node.
    func newRequest() {
        let running = nodes.filter { $0.up && checker.isCorrect($0) }
        guard !running.isEmpty else { return }
        let node = running[Int(random.next() % UInt64(running.count))]
        let source = Int(random.next() % 8), target = (source + 1 + Int(random.next() % 7)) % 8
        let creator = try! AccountID("c\(source)@bank")
        let transfer = try! Transfer(source: creator, target: try! AccountID("c\(target)@bank"), amount: Amount(Int64(1 + random.next() % 500), .khr))
        clients.requests.append(SimRequest(creator: creator, clientID: ID128(high: options.seed, low: UInt64(clients.requests.count + 1)),
                                           commands: [.transfer(transfer)], node: node.index))
        submit(clients.requests.count - 1, to: node)
    }

    /// Sends an attempt of request `index` to `node`: a newly built transaction (expiry a minute
    /// from now), signed by the request's creator.
    func submit(_ index: Int, to node: SimNode) {
        let request = clients.requests[index]
        let body = try! TransactionBody(chainID: chainID, creator: request.creator, clientID: request.clientID,
                                        expiry: Timestamp(millisecondsSinceEpoch: clock(node) + 60_000), commands: request.commands)
        let transaction = try! Transaction.signing(body, with: [Self.clientKey])
        if clients.owner[transaction.id] == nil {
            clients.owner[transaction.id] = index
            clients.requests[index].attempts.append(transaction.id)
        }
        clients.nextTicket += 1
        clients.tickets[clients.nextTicket] = index
        record("n\(node.index) <- client request \(index) attempt \(clients.requests[index].attempts.count)")
        step(node, .submit([transaction], ticket: clients.nextTicket))
    }

    func replied(_ ticket: UInt64, _ admissions: [Admission], by node: SimNode) {
        guard let index = clients.tickets.removeValue(forKey: ticket), let admission = admissions.first else { return }
        switch admission {
        case .pending, .committed:
            guard checker.isCorrect(node) else { return }
            if clients.requests[index].acknowledgedAt == nil { clients.requests[index].acknowledgedAt = now }
            if case .pending = admission { clients.requests[index].heldBy = (node.index, node.incarnation) }
        case .refused(let code, let message, let retryable):
            record("n\(node.index) refused request \(index): \(code)")
            if !retryable, checker.isCorrect(node) {
                checker.violations.append("seed \(options.seed): n\(node.index) refused a valid request (\(index)): \(code): \(message)")
            }
        }
    }

    /// Each gateway checks its requests not yet committed, as a real one polls its node: still
    /// pending there, it waits; unknown there (the node restarted and lost its mempool), it sends
    /// a rebuilt retry, sometimes to a second node too; its node down, it moves to another.
    func poll() {
        let running = nodes.filter { $0.up && checker.isCorrect($0) }
        guard !running.isEmpty else { return }
        for index in clients.requests.indices where clients.requests[index].committedAt == nil {
            let request = clients.requests[index]
            let node = nodes[request.node]
            guard let replica = node.replica else {
                let other = running[Int(random.next() % UInt64(running.count))]
                clients.requests[index].node = other.index
                submit(index, to: other)
                continue
            }
            if request.attempts.contains(where: { node.store.transactionLocation($0) != nil || replica.mempool.contains($0) }) { continue }
            submit(index, to: node)
            if random.next() % 3 == 0 { submit(index, to: running[Int(random.next() % UInt64(running.count))]) }
        }
    }

    /// At the heal: which requests wait in the mempool of a node that has run since it took them.
    func noteHeldRequests() {
        clients.healHeight = nodes.filter { checker.isCorrect($0) }.map { $0.store.appliedHeight ?? 0 }.max() ?? 0
        clients.heldAtHeal = clients.requests.indices.filter { index in
            guard clients.requests[index].committedAt == nil, let held = clients.requests[index].heldBy else { return false }
            return nodes[held.node].up && nodes[held.node].incarnation == held.incarnation
        }
    }

    /// After the heal: everything is committed, every node caught up, and the idle window seen.
    func checkSettled() -> Bool {
        guard healedAt != nil else { return false }
        if quietAt == nil, checker.allReached(livenessTarget, nodes: nodes), clients.allAcknowledgedCommitted { quietAt = now }
        guard let quietAt else { return false }
        return now >= quietAt + Self.idleSettleMilliseconds + Self.idleWindowMilliseconds
    }

    /// No acknowledged request lost, none applied twice, and each committed soon after the heal.
    func checkRequests() {
        guard let reference = nodes.filter({ checker.isCorrect($0) }).max(by: { ($0.store.appliedHeight ?? 0, $1.index) < ($1.store.appliedHeight ?? 0, $0.index) })
        else { return }
        var applied = [Int](repeating: 0, count: clients.requests.count)
        for height in UInt64(1)...max(1, reference.store.appliedHeight ?? 0) {
            guard let block = reference.store.block(at: height), let results = reference.store.results(at: height) else { continue }
            for (transaction, result) in zip(block.transactions, results) where result == .applied {
                if let index = clients.owner[transaction.id] { applied[index] += 1 }
            }
        }
        for (index, request) in clients.requests.enumerated() {
            if applied[index] > 1 { checker.violations.append("seed \(options.seed): request \(index) applied \(applied[index]) times") }
            guard let acknowledged = request.acknowledgedAt else { continue }
            if applied[index] == 0 {
                checker.violations.append("seed \(options.seed): request \(index), acknowledged at \(acknowledged) ms, never applied (\(request.attempts.count) attempts)")
            }
            if let healedAt, let committed = request.committedAt, committed > healedAt + Self.commitAfterHealMilliseconds {
                checker.violations.append("seed \(options.seed): request \(index) committed \(committed - healedAt) ms after the heal")
            }
        }
        // What a running node held through the heal is offered to every peer as its links come
        // up, so any correct proposer includes it: it commits within a few heights, not only
        // when its own node's turn to propose comes. (A twin may leave it out: its heights
        // do not count.)
        for index in clients.heldAtHeal {
            let heights = clients.requests[index].attempts.compactMap { reference.store.transactionLocation($0)?.height }
            let committed = heights.min() ?? (reference.store.appliedHeight ?? 0) + 1
            let correctBefore = (clients.healHeight + 1..<max(clients.healHeight + 1, committed)).filter { height in
                reference.store.blockSummary(at: height).map { checker.correct.contains($0.header.proposer) } ?? false
            }.count
            if correctBefore >= Self.heightsAfterHealMax {
                let held = clients.requests[index].heldBy.map { "n\($0.node)" } ?? "?"
                checker.violations.append("seed \(options.seed): request \(index), held by \(held) through the heal at height \(clients.healHeight), committed at \(heights.min().map { "height \($0)" } ?? "no height"), after \(correctBefore) blocks by correct proposers")
            }
        }
        maxWaitAfterHeal = clients.requests.compactMap { request in
            request.committedAt.flatMap { committed in healedAt.map { committed > $0 ? committed - $0 : 0 } }
        }.max() ?? 0
    }

    /// An empty block's proposer had nothing to propose, so it waited the idle interval after
    /// it entered the height, which was after the first node decided the height before: no
    /// timer of an earlier wait may cut a later one short.
    func checkIdleWait(_ block: Block) {
        let height = block.header.height
        guard firstDecision[height] == nil else { return }
        firstDecision[height] = now
        guard block.transactions.isEmpty, height >= 2, let previous = firstDecision[height - 1] else { return }
        if now - previous < config.idleProposalMilliseconds {
            checker.violations.append("seed \(options.seed): idle wait: empty block \(height) decided \(now - previous) ms after block \(height - 1), less than the \(config.idleProposalMilliseconds) ms idle wait")
        }
    }

    /// With nothing to propose, a correct network makes at most one block per idle interval.
    func checkIdleRate() {
        guard let quietAt, now >= quietAt + Self.idleSettleMilliseconds + Self.idleWindowMilliseconds else { return }
        let start = quietAt + Self.idleSettleMilliseconds, end = start + Self.idleWindowMilliseconds
        let blocks = emptyBlockTimes.filter { $0 >= start && $0 < end }.count
        guard config.idleProposalMilliseconds > 0 else { return }
        let allowed = Int(Self.idleWindowMilliseconds / config.idleProposalMilliseconds) + 2
        if blocks > allowed {
            checker.violations.append("seed \(options.seed): idle rate: \(blocks) empty blocks in \(Self.idleWindowMilliseconds) ms, at most \(allowed) allowed")
        }
        idleBlocks = blocks
    }
}
