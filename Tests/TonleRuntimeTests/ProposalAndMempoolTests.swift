import Testing
import TonleConsensus
import TonleCrypto
import TonleRuntime
import TonleStorage
import TonleTypes
import TonleWorkload

@Suite struct DeferredProposalTests {
    let workload = Workload(seed: 2, accounts: 4)

    /// Round 0's proposer of height 1, with a driver whose mempool is `waiting`.
    func proposer(waiting: @escaping () -> Bool, transactions: @escaping () -> [Transaction] = { [] }) throws -> ConsensusDriver {
        let store = MemoryStore()
        try workload.initialise(store)
        let core = Consensus(chainID: workload.chainID, me: nil, validators: workload.validators, height: 1)
        let key = workload.validatorKeys.first { $0.publicKey == core.proposer(round: 0) }!
        return try ConsensusDriver(
            chainID: workload.chainID, key: key, validators: workload.validators, store: store, log: MemoryConsensusLog(),
            signState: MemorySignState(), now: { 1 }, transactionsToPropose: { _ in transactions() }, transactionsWaiting: waiting,
            idleProposalMilliseconds: 700)
    }

    func proposals(_ outgoing: [Outgoing]) -> [Block] {
        outgoing.compactMap { if case .broadcast(.proposal(_, let block)) = $0 { block } else { nil } }
    }

    @Test("an idle proposer waits; transactions arriving make it propose at once, with them")
    func transactionsEndTheWait() throws {
        var waiting: [Transaction] = []
        let driver = try proposer(waiting: { !waiting.isEmpty }, transactions: { waiting })
        let first = driver.drainOutbox()
        #expect(first.contains(.proposeLater(height: 1, round: 0, milliseconds: 700)))
        #expect(proposals(first).isEmpty)
        try driver.transactionsArrived()
        #expect(proposals(driver.drainOutbox()).isEmpty, "nothing waiting yet: still deferred")
        waiting = workload.transfers(count: 3, time: 1)
        try driver.transactionsArrived()
        let blocks = proposals(driver.drainOutbox())
        #expect(blocks.count == 1 && blocks[0].transactions == waiting)
        try driver.idleWaitEnded(height: 1, round: 0)
        #expect(proposals(driver.drainOutbox()).isEmpty, "a proposal is made once")
    }

    @Test("when the idle wait ends, the proposer proposes an empty block")
    func idleWaitEndsWithEmptyBlock() throws {
        let driver = try proposer(waiting: { false })
        _ = driver.drainOutbox()
        try driver.idleWaitEnded(height: 1, round: 1)
        #expect(proposals(driver.drainOutbox()).isEmpty, "another wait's timer")
        try driver.idleWaitEnded(height: 1, round: 0)
        let blocks = proposals(driver.drainOutbox())
        #expect(blocks.count == 1 && blocks[0].transactions.isEmpty)
    }

    @Test("a proposer with transactions waiting proposes at once")
    func busyProposerDoesNotWait() throws {
        let transfers = workload.transfers(count: 2, time: 1)
        let driver = try proposer(waiting: { true }, transactions: { transfers })
        let outgoing = driver.drainOutbox()
        #expect(!outgoing.contains { if case .proposeLater = $0 { true } else { false } })
        #expect(proposals(outgoing).map(\.transactions) == [transfers])
    }
}

/// Four drivers wired to each other, every one with the idle wait on: the timer of a wait whose
/// proposal transactions already triggered must not end a later wait of the same proposer (it
/// did, and idle networks made bursts of empty blocks).
@Suite struct IdleWaitTimerTests {
    @Test("a stale idle-wait timer does not end a later wait")
    func staleTimerIsIgnored() throws {
        let workload = Workload(seed: 4, accounts: 4)
        var waiting: [Int: [Transaction]] = [:]
        var drivers: [ConsensusDriver] = []
        var owed: [Int: (height: UInt64, round: UInt32)] = [:]
        var blocks: [UInt64: Block] = [:]
        for (index, key) in workload.validatorKeys.enumerated() {
            let store = MemoryStore()
            try workload.initialise(store)
            drivers.append(try ConsensusDriver(
                chainID: workload.chainID, key: key, validators: workload.validators, store: store, log: MemoryConsensusLog(),
                signState: MemorySignState(), now: { 1 }, transactionsToPropose: { _ in waiting[index] ?? [] },
                transactionsWaiting: { !(waiting[index] ?? []).isEmpty }, idleProposalMilliseconds: 700))
        }
        /// Delivers every broadcast to the other drivers until none is left; timers are dropped
        /// (a round never times out here), idle waits recorded.
        func pump() throws {
            var moved = true
            while moved {
                moved = false
                for (index, driver) in drivers.enumerated() {
                    for outgoing in driver.drainOutbox() {
                        switch outgoing {
                        case .broadcast(let message):
                            moved = true
                            if case .proposal(_, let block) = message { blocks[block.header.height] = block }
                            for (other, peer) in drivers.enumerated() where other != index {
                                switch message {
                                case .proposal(let proposal, let block): try peer.deliver(.proposal(proposal, block))
                                case .vote(let vote): try peer.deliver(.vote(vote))
                                }
                            }
                        case .proposeLater(let height, let round, _): owed[index] = (height, round)
                        default: break
                        }
                    }
                }
            }
        }
        try pump()
        // Height 1: its proposer waits; transactions end the wait, and the block commits.
        let first = try #require(owed.first { $0.value.height == 1 }?.key)
        waiting[first] = workload.transfers(count: 2, time: 1)
        try drivers[first].transactionsArrived()
        waiting[first] = nil
        try pump()
        #expect(blocks[1]?.transactions.count == 2)
        // Heights 2 to 4: each proposer's wait ends empty.
        for height in UInt64(2)...4 {
            let proposer = try #require(owed.first { $0.value.height == height }?.key, "no wait at height \(height)")
            try drivers[proposer].idleWaitEnded(height: height, round: 0)
            try pump()
            #expect(blocks[height]?.transactions.isEmpty == true)
        }
        // Height 5 is the first proposer's again: its height-1 timer fires now and must not end the new wait.
        #expect(owed[first]?.height == 5, "the proposer of height 1 proposes height 5")
        try drivers[first].idleWaitEnded(height: 1, round: 0)
        try pump()
        #expect(blocks[5] == nil, "the stale timer proposed height 5 before its idle wait")
        try drivers[first].idleWaitEnded(height: 5, round: 0)
        try pump()
        #expect(blocks[5]?.transactions.isEmpty == true)
    }
}

@Suite struct MempoolTests {
    let workload = Workload(seed: 3, accounts: 10)
    var now: UInt64 { workload.genesisTime.millisecondsSinceEpoch }

    @Test("what a node offers a newly linked peer: the waiting transactions, oldest first, up to a limit")
    func waitingOldestFirst() throws {
        var pool = Mempool(transactionsMax: 100, bytesMax: 1 << 20)
        let transfers = workload.transfers(count: 6, time: 1_000)
        for tx in transfers { try pool.admit(tx, size: tx.encoded.count, chainID: workload.chainID, nowMilliseconds: now) }
        pool.remove([transfers[0].id, transfers[3].id])
        #expect(pool.waiting(limit: 10).map(\.id) == [1, 2, 4, 5].map { transfers[$0].id })
        #expect(pool.waiting(limit: 2).map(\.id) == [1, 2].map { transfers[$0].id })
        #expect(Mempool(transactionsMax: 1, bytesMax: 1).waiting(limit: 5).isEmpty)
    }

    @Test("admits in order, refuses duplicates, other chains, expired and too-distant expiry")
    func admission() throws {
        var pool = Mempool(transactionsMax: 100, bytesMax: 1 << 20)
        let txs = workload.transfers(count: 5, time: 1_000)
        for tx in txs { try pool.admit(tx, size: tx.encoded.count, chainID: workload.chainID, nowMilliseconds: now) }
        #expect(pool.count == 5)
        #expect(throws: MempoolRejection.duplicate) { try pool.admit(txs[0], size: 1, chainID: workload.chainID, nowMilliseconds: now) }
        let other = try ChainID("other-chain")
        #expect(throws: MempoolRejection.wrongChain) { try pool.admit(workload.transfers(count: 1, time: 2_000)[0], size: 1, chainID: other, nowMilliseconds: now) }
        let late = workload.transfers(count: 1, time: 5_000)[0]
        #expect(throws: MempoolRejection.expired) { try pool.admit(late, size: 1, chainID: workload.chainID, nowMilliseconds: late.body.expiry.millisecondsSinceEpoch) }
        #expect(throws: MempoolRejection.expiryTooFar) {
            try pool.admit(late, size: 1, chainID: workload.chainID, nowMilliseconds: late.body.expiry.millisecondsSinceEpoch - Limits.transactionLifetimeMaxMilliseconds - 1)
        }
        #expect(pool.proposal(transactionsMax: 3, bytesMax: 1 << 20, nowMilliseconds: now) == Array(txs.prefix(3)))
    }

    @Test("full by count or by bytes answers MEMPOOL_FULL; removing committed ids makes room")
    func bounds() throws {
        let txs = workload.transfers(count: 6, time: 1_000)
        var byCount = Mempool(transactionsMax: 4, bytesMax: 1 << 20)
        for tx in txs.prefix(4) { try byCount.admit(tx, size: 100, chainID: workload.chainID, nowMilliseconds: now) }
        #expect(throws: MempoolRejection.full(transactionsMax: 4, bytesMax: 1 << 20)) {
            try byCount.admit(txs[4], size: 100, chainID: workload.chainID, nowMilliseconds: now)
        }
        byCount.remove([txs[1].id, txs[0].id])
        #expect(byCount.count == 2 && byCount.bytes == 200)
        try byCount.admit(txs[4], size: 100, chainID: workload.chainID, nowMilliseconds: now)
        #expect(byCount.proposal(transactionsMax: 10, bytesMax: 1 << 20, nowMilliseconds: now) == [txs[2], txs[3], txs[4]])

        var byBytes = Mempool(transactionsMax: 100, bytesMax: 250)
        try byBytes.admit(txs[0], size: 200, chainID: workload.chainID, nowMilliseconds: now)
        #expect(throws: MempoolRejection.full(transactionsMax: 100, bytesMax: 250)) {
            try byBytes.admit(txs[1], size: 51, chainID: workload.chainID, nowMilliseconds: now)
        }
        try byBytes.admit(txs[1], size: 50, chainID: workload.chainID, nowMilliseconds: now)
        // A block's byte budget stops the proposal at the first transaction that does not fit.
        #expect(byBytes.proposal(transactionsMax: 10, bytesMax: 220, nowMilliseconds: now) == [txs[0]])
    }

    @Test("one waiting transaction per request: a rebuilt retry is answered with the original, another request under the id is refused; committed, the id is free here again")
    func oneTransactionPerRequest() throws {
        var pool = Mempool(transactionsMax: 10, bytesMax: 1 << 20)
        let original = workload.transfers(count: 1, time: 1_000)[0]
        try pool.admit(original, size: 10, chainID: workload.chainID, nowMilliseconds: now)
        func rebuilt(_ commands: [Command], expiryDelta: UInt64) throws -> Transaction {
            let body = try TransactionBody(chainID: original.body.chainID, creator: original.body.creator, clientID: original.body.clientID,
                                           expiry: Timestamp(millisecondsSinceEpoch: original.body.expiry.millisecondsSinceEpoch + expiryDelta), commands: commands)
            return try Transaction(body: body, signatures: original.signatures)
        }
        let retry = try rebuilt(original.body.commands, expiryDelta: 1)
        #expect(throws: MempoolRejection.requestWaiting(original: original.id, sameRequest: true)) {
            try pool.admit(retry, size: 10, chainID: workload.chainID, nowMilliseconds: now)
        }
        let other = try rebuilt(workload.transfers(count: 2, time: 2_000)[1].body.commands, expiryDelta: 0)
        #expect(throws: MempoolRejection.requestWaiting(original: original.id, sameRequest: false)) {
            try pool.admit(other, size: 10, chainID: workload.chainID, nowMilliseconds: now)
        }
        #expect(pool.count == 1)
        pool.remove([original.id])
        try pool.admit(retry, size: 10, chainID: workload.chainID, nowMilliseconds: now)   // the ledger, not the pool, answers it now
        #expect(pool.contains(retry.id))
    }

    @Test("expired transactions are dropped when a proposal passes them")
    func expiredDropped() throws {
        var pool = Mempool(transactionsMax: 10, bytesMax: 1 << 20)
        let txs = workload.transfers(count: 2, time: 1_000)
        for tx in txs { try pool.admit(tx, size: 10, chainID: workload.chainID, nowMilliseconds: now) }
        let after = txs.map(\.body.expiry.millisecondsSinceEpoch).max()!
        #expect(pool.proposal(transactionsMax: 10, bytesMax: 1 << 20, nowMilliseconds: after).isEmpty)
        #expect(pool.isEmpty && pool.bytes == 0)
    }

    @Test("many admissions and removals keep the bookkeeping exact")
    func churn() throws {
        var pool = Mempool(transactionsMax: 10_000, bytesMax: 1 << 30)
        var live: [Transaction] = []
        var random = SplitMix64(seed: 9)
        for round in 0..<20 {
            let batch = workload.transfers(count: 200, time: 1_000 + UInt64(round))
            for tx in batch where !pool.contains(tx.id) {
                try pool.admit(tx, size: 7, chainID: workload.chainID, nowMilliseconds: now)
                live.append(tx)
            }
            let gone = live.filter { _ in random.next() % 3 == 0 }
            pool.remove(gone.map(\.id))
            let goneIDs = Set(gone.map(\.id))
            live.removeAll { goneIDs.contains($0.id) }
            #expect(pool.count == live.count && pool.bytes == 7 * live.count)
        }
        #expect(pool.proposal(transactionsMax: 100_000, bytesMax: 1 << 30, nowMilliseconds: now) == live)
    }
}

extension Workload {
    /// `count` distinct transfers; a different `time` gives different ones (expiry one minute after genesis + `time` seconds).
    func transfers(count: Int, time: UInt64) -> [Transaction] { transactions(height: UInt64(setupBlocks) + 1 + time, transfers: count) }
}
