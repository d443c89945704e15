import Foundation
import Testing
import TonleTypes

/// Real `tonle-node` processes on 127.0.0.1 (DESIGN §9): agreement, kill -9 and restart under
/// load, isolation and healing, loss of quorum. Each test is bounded in time.
@Suite("Process-level: a 4-validator network", .serialized)
struct ProcessTests {
    /// Runs `body` with a started network, always stopping it; its logs stay in the temporary directory.
    func withNetwork(proxied: Bool = false, delayMilliseconds: Int64 = 0, observer: Bool = false, environment: [String: String] = [:],
                     _ body: (LocalNetwork) async throws -> Void) async throws {
        let network = try LocalNetwork(proxied: proxied, delayMilliseconds: delayMilliseconds, observer: observer, environment: environment)
        defer { network.stop() }
        try network.startAll()
        #expect(await LocalNetwork.eventually(90) { await all(network, 0..<4) { ($0["peers"] as? [Any])?.count == 3 } },
                "all four nodes link to each other")
        do { try await body(network) } catch {
            Issue.record("\(error); logs in \(network.directory.path)")
            throw error
        }
        print("network files and logs: \(network.directory.path)")
    }

    func all(_ network: LocalNetwork, _ indices: some Sequence<Int>, _ check: ([String: Any]) -> Bool) async -> Bool {
        for index in indices {
            guard let status = await network.status(index), check(status) else { return false }
        }
        return true
    }

    /// Whether node `index` keeps blocks from its `oldest_block_height` on and none below it, with
    /// what it answered.
    func keptBlocks(_ network: LocalNetwork, _ index: Int) async -> (pruned: Bool, text: String) {
        let oldest = (await network.status(index)?["oldest_block_height"] as? NSNumber)?.uint64Value ?? 0
        guard oldest > 1 else { return (false, "oldest kept \(oldest)") }
        let below = await network.block(index, oldest - 1)
        let at = await network.block(index, oldest)
        return (below == nil && at != nil, "oldest kept \(oldest), the block below it \(below == nil ? "absent" : "present"), the block at it \(at == nil ? "absent" : "present")")
    }

    func heights(_ network: LocalNetwork, _ indices: [Int]) async -> [UInt64] {
        var result: [UInt64] = []
        for index in indices { result.append(await network.height(index) ?? 0) }
        return result
    }

    /// Submits transfers in batches to the given nodes until `stop` is set, keeping every
    /// transaction a node acknowledged (as a gateway would, to resubmit what never commits).
    final class Load: @unchecked Sendable {
        private let lock = NSLock()
        private var acknowledgedTransactions: [Transaction] = []
        private var acknowledgedAt: [UInt64] = []
        private var stopped = false
        var acknowledged: [Transaction] { lock.withLock { acknowledgedTransactions } }
        /// Each acknowledged transaction's id (hex) with the time its node answered (ms since 1970).
        var acknowledgedTimes: [(id: String, milliseconds: UInt64)] {
            lock.withLock { zip(acknowledgedTransactions, acknowledgedAt).map { ($0.id.digest.hex, $1) } }
        }
        func stop() { lock.withLock { stopped = true } }
        var isStopped: Bool { lock.withLock { stopped } }

        func run(_ network: LocalNetwork, targets: @escaping () -> [Int], tag: UInt64) async throws {
            var batch: UInt64 = 0
            while !isStopped {
                batch += 1
                let transactions = try network.transfers(20, tag: tag << 32 | batch)
                let choices = targets()
                guard !choices.isEmpty else { continue }
                let target = choices[Int(batch) % choices.count]
                if let results = await network.submit(target, transactions) {
                    let acknowledged = zip(transactions, results).filter { ["pending", "committed"].contains($0.1["status"] as? String) }.map(\.0)
                    let at = LocalNetwork.milliseconds()
                    lock.withLock {
                        acknowledgedTransactions += acknowledged
                        acknowledgedAt += Array(repeating: at, count: acknowledged.count)
                    }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Every id is committed and applied, as seen by node `index`.
    func allCommitted(_ ids: [String], on network: LocalNetwork, _ index: Int) async -> (committed: Int, notApplied: [String]) {
        var committed = 0, notApplied: [String] = []
        for id in ids {
            guard let status = await network.get(index, "v1/transactions/\(id)"), status["status"] as? String == "committed" else { continue }
            committed += 1
            if status["result"] as? String != "applied" { notApplied.append("\(id): \(status["result"] ?? "?")") }
        }
        return (committed, notApplied)
    }

    @Test("4 validators commit blocks with transfers; all report the same blocks and state roots")
    func commitAndAgree() async throws {
        try await withNetwork { network in
            let transactions = try network.transfers(60, tag: 1)
            for (index, slice) in stride(from: 0, to: 60, by: 15).enumerated() {
                let results = await network.submit(index, Array(transactions[slice..<slice + 15]))
                #expect(results?.allSatisfy { $0["status"] as? String == "pending" } == true, "\(String(describing: results))")
            }
            let ids = transactions.map(\.id.digest.hex)
            #expect(await LocalNetwork.eventually(90) { await allCommitted(ids, on: network, 3).committed == ids.count })
            let outcome = await allCommitted(ids, on: network, 0)
            #expect(outcome.committed == 60 && outcome.notApplied.isEmpty, "\(outcome.notApplied)")
            let common = await heights(network, [0, 1, 2, 3]).min()!
            #expect(common >= 2)
            for height in 1...common { #expect(await network.agree(at: height, among: [0, 1, 2, 3]), "height \(height)") }
            // Resubmitting is idempotent: the answer is the committed result.
            let again = await network.submit(2, [transactions[0]])
            #expect(again?.first?["status"] as? String == "committed")
        }
    }

    @Test("kill -9 one validator under load: the rest commit; restarted, it catches up; nothing committed is lost")
    func killAndRestart() async throws {
        try await withNetwork { network in
            let load = Load()
            let live = NSLockedBox([0, 1, 2, 3])
            let loadTask = Task { try await load.run(network, targets: { live.value }, tag: 2) }
            try await Task.sleep(for: .seconds(2))
            live.value = [0, 1, 2]
            network.kill(3)
            let atKill = await heights(network, [0, 1, 2]).max()!
            // What node 0 saw committed when node 3 died: it must all still be there, at the same place, afterwards.
            var committedAtKill: [String: UInt64] = [:]
            for transaction in load.acknowledged {
                let id = transaction.id.digest.hex
                if let status = await network.get(0, "v1/transactions/\(id)"), let height = (status["height"] as? NSNumber)?.uint64Value { committedAtKill[id] = height }
            }
            #expect(committedAtKill.count > 20)
            #expect(await LocalNetwork.eventually(90) { await heights(network, [0, 1, 2]).min()! >= atKill + 5 }, "the other three keep committing")
            try network.start(3)
            let target = await heights(network, [0, 1, 2]).max()!
            #expect(await LocalNetwork.eventually(120) { (await network.height(3) ?? 0) >= target }, "the restarted node catches up")
            live.value = [0, 1, 2, 3]
            try await Task.sleep(for: .seconds(2))
            load.stop()
            try await loadTask.value
            // A mempool is not durable: what only the killed node held is gone. A gateway resubmits
            // what it has not seen committed (idempotent); then everything commits, once.
            let acknowledged = load.acknowledged
            #expect(acknowledged.count > 50)
            _ = await LocalNetwork.eventually(60) { await allCommitted(acknowledged.map(\.id.digest.hex), on: network, 0).committed == acknowledged.count }
            var resubmitted = 0
            for transaction in acknowledged where await network.get(0, "v1/transactions/\(transaction.id.digest.hex)")?["status"] as? String != "committed" {
                resubmitted += 1
                #expect(await network.submit(0, [transaction])?.first?["status"] as? String == "pending")
            }
            print("acknowledged \(acknowledged.count) transfers; resubmitted \(resubmitted) lost with the killed node's mempool")
            let ids = acknowledged.map(\.id.digest.hex)
            #expect(await LocalNetwork.eventually(90) { await allCommitted(ids, on: network, 3).committed == ids.count }, "every acknowledged transfer committed")
            let outcome = await allCommitted(ids, on: network, 3)
            #expect(outcome.committed == ids.count && outcome.notApplied.isEmpty, "\(outcome.notApplied.prefix(5))")
            for (id, height) in committedAtKill {
                let status = await network.get(3, "v1/transactions/\(id)")
                #expect((status?["height"] as? NSNumber)?.uint64Value == height, "\(id) was committed at \(height) before the kill")
            }
            let common = await heights(network, [0, 1, 2, 3]).min()!
            #expect(await network.agree(at: common, among: [0, 1, 2, 3]))
            #expect(await network.agree(at: atKill, among: [0, 1, 2, 3]))
        }
    }

    @Test("an isolated validator falls behind while the rest commit; healed, it catches up")
    func isolateAndHeal() async throws {
        try await withNetwork(proxied: true) { network in
            try await Task.sleep(for: .seconds(1))
            network.isolate(2, true)
            #expect(await LocalNetwork.eventually(60) { (await network.status(2)?["peers"] as? [Any])?.isEmpty == true }, "its links are down")
            let isolatedAt = await network.height(2)!
            let before = await heights(network, [0, 1, 3]).min()!
            let transactions = try network.transfers(30, tag: 3)
            _ = await network.submit(0, transactions)
            #expect(await LocalNetwork.eventually(90) { await heights(network, [0, 1, 3]).min()! >= before + 5 }, "the other three commit")
            #expect((await network.height(2) ?? 0) <= isolatedAt + 1, "the isolated node cannot commit alone")
            network.isolate(2, false)
            let target = await heights(network, [0, 1, 3]).max()!
            #expect(await LocalNetwork.eventually(120) { (await network.height(2) ?? 0) >= target }, "healed, it catches up")
            let ids = transactions.map(\.id.digest.hex)
            #expect(await allCommitted(ids, on: network, 2).committed == ids.count)
            #expect(await network.agree(at: target, among: [0, 1, 2, 3]))
        }
    }

    @Test("kill -9 two of four: no quorum, commits stop and nothing forks; restarted, commits resume")
    func losingQuorum() async throws {
        try await withNetwork { network in
            try await Task.sleep(for: .seconds(1))
            network.kill(2)
            network.kill(3)
            try await Task.sleep(for: .seconds(2))
            let stalled = await heights(network, [0, 1])
            try await Task.sleep(for: .seconds(4))
            let later = await heights(network, [0, 1])
            #expect(later == stalled, "no commits without a quorum: \(stalled) then \(later)")
            // Linked to half the power, a node is not ready: it cannot know whether it is behind.
            #expect(await network.readiness(0) == "503 no_quorum")
            #expect(await network.status(0)?["sync"] as? String == "no_quorum")
            // Submissions are still accepted into the mempool while the network waits.
            let transactions = try network.transfers(10, tag: 4)
            #expect(await network.submit(0, transactions)?.allSatisfy { $0["status"] as? String == "pending" } == true)
            try network.start(2)
            try network.start(3)
            let resumedFrom = later.max()!
            // A figure, not an assertion (a shared machine): how long the first block takes once quorum is back.
            let restarted = ContinuousClock.now
            if await LocalNetwork.eventually(60, { await heights(network, [0, 1]).max()! > resumedFrom }) {
                print("quorum back: first block after \(restarted.duration(to: .now)) (restart of two validators included)")
            }
            #expect(await LocalNetwork.eventually(120) { await heights(network, [0, 1, 2, 3]).min()! >= resumedFrom + 3 }, "commits resume")
            #expect(await LocalNetwork.eventually(30) { await network.readiness(0) == "200 ready" })
            let ids = transactions.map(\.id.digest.hex)
            #expect(await LocalNetwork.eventually(90) { await allCommitted(ids, on: network, 1).committed == ids.count })
            let common = await heights(network, [0, 1, 2, 3]).min()!
            for height in 1...common { #expect(await network.agree(at: height, among: [0, 1, 2, 3]), "height \(height)") }
        }
    }

    @Test("a validator's store is lost: restored from a backup of its snapshot, it catches up, and votes in a quorum that needs it")
    func backupAndRestore() async throws {
        try await withNetwork(environment: ["TONLE_STORAGE_SNAPSHOT_INTERVAL": "5"]) { network in
            let load = Load()
            let loadTask = Task { try await load.run(network, targets: { [0, 1, 2] }, tag: 6) }
            defer { load.stop() }
            let data = network.directory.appendingPathComponent("data/wing").path, backup = network.directory.appendingPathComponent("backup-wing").path
            #expect(await LocalNetwork.eventually(60) { (await network.height(3) ?? 0) >= 12 }, "blocks past two snapshots")
            let tonle = LocalNetwork.binaries.appendingPathComponent("tonle")
            let backedUp = try LocalNetwork.run(tonle, ["backup", "--data-dir", data, "--to", backup, "--full", "--json"])
            #expect(backedUp.status == 0, "\(backedUp.output)")
            let manifest = try JSONSerialization.jsonObject(with: Data(backedUp.output.utf8)) as? [String: Any]
            let backupHeight = try #require((manifest?["height"] as? NSNumber)?.uint64Value)
            #expect(backupHeight >= 10 && backupHeight % 5 == 0)

            // The disk is lost: the store and the snapshots go; the consensus WAL and sign-state stay.
            network.kill(3)
            try FileManager.default.removeItem(atPath: data + "/ledger.rocksdb")
            try FileManager.default.removeItem(atPath: data + "/snapshots")
            let stopped = await heights(network, [0, 1, 2]).max()!
            #expect(await LocalNetwork.eventually(60) { await heights(network, [0, 1, 2]).min()! >= stopped + 5 }, "the other three go on")
            // The backup's block is certified by the network's own.
            let blockHash = try #require(manifest?["block_hash"] as? String)
            #expect(await network.block(0, backupHeight)?["hash"] as? String == blockHash)

            let restored = try LocalNetwork.run(tonle, ["restore", "--from", backup, "--data-dir", data])
            #expect(restored.status == 0 && restored.output.contains("height \(backupHeight)"), "\(restored.output)")
            let again = try LocalNetwork.run(tonle, ["restore", "--from", backup, "--data-dir", data])
            #expect(again.status != 0 && again.output.contains("move it aside"), "\(again.output)")
            try network.start(3)
            let target = await heights(network, [0, 1, 2]).max()!
            #expect(await LocalNetwork.eventually(120) { (await network.height(3) ?? 0) >= target }, "the restored node catches up")
            load.stop()
            try await loadTask.value

            // With node 0 gone, every block needs the votes of 1, 2 and the restored 3.
            network.kill(0)
            let without = await heights(network, [1, 2, 3]).max()!
            #expect(await LocalNetwork.eventually(60) { await heights(network, [1, 2, 3]).min()! >= without + 3 }, "1, 2 and the restored 3 commit together")
            let common = await heights(network, [1, 2, 3]).min()!
            #expect(await network.agree(at: common, among: [1, 2, 3]))
            #expect(await network.agree(at: backupHeight, among: [1, 2, 3]))
        }
    }

    @Test("a validator is wiped while the network is busy: it state-syncs from its peers' snapshots (which prune old blocks), catches up, and votes in a quorum that needs it")
    func stateSyncAfterWipe() async throws {
        try await withNetwork(environment: ["TONLE_STORAGE_SNAPSHOT_INTERVAL": "5", "TONLE_STORAGE_RETAIN_BLOCKS": "10"]) { network in
            let load = Load()
            let loadTask = Task { try await load.run(network, targets: { [0, 1, 2] }, tag: 9) }
            defer { load.stop() }
            #expect(await LocalNetwork.eventually(60) { (await network.height(3) ?? 0) >= 12 }, "blocks past two snapshots")

            // The whole data directory is lost: store, snapshots, consensus WAL and sign-state.
            network.kill(3)
            let data = network.directory.appendingPathComponent("data/wing").path
            try FileManager.default.removeItem(atPath: data)
            let stopped = await heights(network, [0, 1, 2]).max()!
            #expect(await LocalNetwork.eventually(60) { await heights(network, [0, 1, 2]).min()! >= stopped + 5 }, "the other three go on")

            try network.start(3, environment: ["TONLE_STATE_SYNC_ENABLED": "true"])
            #expect(await LocalNetwork.eventually(60) { network.log(3).contains("state sync: state imported") }, "the state is fetched from peers")
            let imported = try #require(network.log(3).components(separatedBy: "\n").first { $0.contains("state sync: state imported") })
            let height = try #require(imported.range(of: #"height=(\d+)"#, options: .regularExpression).flatMap { UInt64(imported[$0].dropFirst(7)) })
            #expect(height >= stopped && height % 5 == 0, "a snapshot taken after the wipe: \(imported)")
            let target = await heights(network, [0, 1, 2]).max()!
            #expect(await LocalNetwork.eventually(120) { (await network.height(3) ?? 0) >= target }, "the synced node catches up")
            #expect(await network.block(3, 1) == nil, "it never replayed from genesis: it holds no block before the snapshot")
            let syncedOldest = (await network.status(3)?["oldest_block_height"] as? NSNumber)?.uint64Value ?? 0
            #expect(syncedOldest >= height)
            #expect(await network.agree(at: height + 1, among: [0, 1, 2, 3]))
            // The others keep the last 10 blocks and those their snapshots need, no older.
            // (Read again if a prune falls between the status and the block reads, or has not come yet.)
            var kept = (pruned: false, text: "none read")
            for _ in 0..<30 {
                kept = await keptBlocks(network, 0)
                if kept.pruned { break }
                try await Task.sleep(for: .seconds(1))
            }
            #expect(kept.pruned, "\(kept.text)")
            load.stop()
            try await loadTask.value

            // With node 0 gone, every block needs the votes of 1, 2 and the synced 3.
            network.kill(0)
            let without = await heights(network, [1, 2, 3]).max()!
            #expect(await LocalNetwork.eventually(60) { await heights(network, [1, 2, 3]).min()! >= without + 3 }, "1, 2 and the synced 3 commit together")
            let common = await heights(network, [1, 2, 3]).min()!
            #expect(await network.agree(at: common, among: [1, 2, 3]))
        }
    }

    @Test("a validator down longer than its peers keep blocks is told so and cannot block-sync; its store moved aside, it state-syncs and votes again")
    func behindWhatPeersKeep() async throws {
        try await withNetwork(environment: ["TONLE_STORAGE_SNAPSHOT_INTERVAL": "5", "TONLE_STORAGE_RETAIN_BLOCKS": "10"]) { network in
            #expect(await LocalNetwork.eventually(60) { (await network.height(3) ?? 0) >= 3 })
            let stoppedAt = await network.height(3) ?? 0
            network.kill(3)
            #expect(await LocalNetwork.eventually(120) {
                ((await network.status(0)?["oldest_block_height"] as? NSNumber)?.uint64Value ?? 0) > stoppedAt + 1
            }, "the others prune past the height validator 3 stopped at")

            try network.start(3)
            #expect(await LocalNetwork.eventually(60) { network.log(3).contains("a peer does not keep the blocks this node needs") })
            try await Task.sleep(for: .seconds(2))
            #expect((await network.height(3) ?? 0) <= stoppedAt + 1, "no blocks to sync from")

            // The remedy of docs/operations.md: the store moved aside, state sync on; WAL and sign-state kept.
            #expect(network.terminate(3) == 0)
            let data = network.directory.appendingPathComponent("data/wing").path
            try FileManager.default.moveItem(atPath: data + "/ledger.rocksdb", toPath: data + "/ledger.rocksdb.old")
            try network.start(3, environment: ["TONLE_STATE_SYNC_ENABLED": "true"])
            let target = await heights(network, [0, 1, 2]).max()!
            #expect(await LocalNetwork.eventually(90) { (await network.height(3) ?? 0) >= target }, "caught up after state sync")
            network.kill(0)
            let without = await heights(network, [1, 2, 3]).max()!
            #expect(await LocalNetwork.eventually(60) { await heights(network, [1, 2, 3]).min()! >= without + 2 }, "1, 2 and 3 commit together")
            try? FileManager.default.removeItem(atPath: data + "/ledger.rocksdb.old")
        }
    }

    @Test("an observer links to the validators, syncs from genesis when no peer offers a snapshot, follows new blocks and never votes")
    func observerFollows() async throws {
        try await withNetwork(observer: true) { network in
            #expect(await LocalNetwork.eventually(60) { (await network.height(0) ?? 0) >= 3 })
            // State sync asked for, but the validators take no snapshots (every 1,000 blocks): from genesis.
            try network.start(4, environment: ["TONLE_STATE_SYNC_ENABLED": "true", "TONLE_STATE_SYNC_DISCOVERY_SECONDS": "2"])
            #expect(await LocalNetwork.eventually(90) { (await network.status(4)?["peers"] as? [Any])?.count == 4 }, "links to all four validators")
            #expect(network.log(4).contains("state sync found no snapshot: starting from genesis"))
            let transactions = try network.transfers(10, tag: 5)
            _ = await network.submit(4, transactions)   // an observer's RPC admits and gossips too
            let ids = transactions.map(\.id.digest.hex)
            #expect(await LocalNetwork.eventually(90) { await allCommitted(ids, on: network, 4).committed == ids.count })
            let target = await heights(network, [0, 1, 2, 3]).max()!
            #expect(await LocalNetwork.eventually(90) { (await network.height(4) ?? 0) >= target })
            #expect(await network.status(4)?["validator"] as? Bool == false)
            #expect(await network.agree(at: target, among: [0, 1, 2, 3, 4]))
            // The validators admit the observer; they still refuse keys that are neither.
            #expect(!network.log(0).contains("link refused"))

            // Transactions the observer admits while it has no link reach the validators when the
            // links come back (it never proposes: without that offer they would wait for ever).
            for index in 0..<4 { network.kill(index) }
            #expect(await LocalNetwork.eventually(60) { (await network.status(4)?["peers"] as? [Any])?.isEmpty == true }, "the observer is alone")
            let stranded = try network.transfers(5, tag: 6)
            #expect(await network.submit(4, stranded)?.allSatisfy { $0["status"] as? String == "pending" } == true)
            for index in 0..<4 { try network.start(index) }
            let strandedIDs = stranded.map(\.id.digest.hex)
            #expect(await LocalNetwork.eventually(90) { await allCommitted(strandedIDs, on: network, 0).committed == strandedIDs.count },
                    "the validators commit what the observer held")
        }
    }

    @Test("SIGTERM stops a node gracefully (exit 0) and it restarts from its data directory")
    func gracefulStop() async throws {
        try await withNetwork { network in
            #expect(await LocalNetwork.eventually(60) { (await network.height(1) ?? 0) >= 2 })
            #expect(network.terminate(1) == 0)
            #expect(network.log(1).contains("stopped"))
            #expect(network.log(1).contains("store merged for the next start"))
            try network.start(1)
            #expect(await LocalNetwork.eventually(90) { (await network.status(1)?["peers"] as? [Any])?.count == 3 })
            let target = await heights(network, [0, 2, 3]).max()!
            #expect(await LocalNetwork.eventually(90) { (await network.height(1) ?? 0) >= target })
        }
    }
}

/// A value shared with a background task.
final class NSLockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
