import Foundation
import Testing
import TonleTypes

/// Real `tonle-node` processes on 127.0.0.1 (DESIGN §9): agreement, kill -9 and restart under
/// load, isolation and healing, loss of quorum. Each test is bounded in time.
@Suite("Process-level: a 4-validator network", .serialized)
struct ProcessTests {
    /// Runs `body` with a started network, always stopping it; its logs stay in the temporary directory.
    func withNetwork(proxied: Bool = false, _ body: (LocalNetwork) async throws -> Void) async throws {
        let network = try LocalNetwork(proxied: proxied)
        defer { network.stop() }
        try network.startAll()
        #expect(await LocalNetwork.eventually(30) { await all(network, network.names.indices) { ($0["peers"] as? [Any])?.count == 3 } },
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

    func heights(_ network: LocalNetwork, _ indices: [Int]) async -> [UInt64] {
        var result: [UInt64] = []
        for index in indices { result.append(await network.height(index) ?? 0) }
        return result
    }

    /// Submits transfers in batches to the given nodes until `stop` is set; returns the ids admitted.
    final class Load: @unchecked Sendable {
        private let lock = NSLock()
        private var admittedIDs: [String] = []
        private var stopped = false
        var admitted: [String] { lock.withLock { admittedIDs } }
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
                    let ids = results.compactMap { $0["status"] as? String == "pending" || $0["status"] as? String == "committed" ? $0["id"] as? String : nil }
                    lock.withLock { admittedIDs += ids }
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
            #expect(await LocalNetwork.eventually(30) { await allCommitted(ids, on: network, 3).committed == ids.count })
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

    @Test("kill -9 one validator under load: the rest commit; restarted, it catches up; nothing admitted is lost")
    func killAndRestart() async throws {
        try await withNetwork { network in
            let load = Load()
            let live = NSLockedBox([0, 1, 2, 3])
            let loadTask = Task { try await load.run(network, targets: { live.value }, tag: 2) }
            try await Task.sleep(for: .seconds(2))
            live.value = [0, 1, 2]
            network.kill(3)
            let atKill = await heights(network, [0, 1, 2]).max()!
            #expect(await LocalNetwork.eventually(30) { await heights(network, [0, 1, 2]).min()! >= atKill + 5 }, "the other three keep committing")
            try network.start(3)
            let target = await heights(network, [0, 1, 2]).max()!
            #expect(await LocalNetwork.eventually(60) { (await network.height(3) ?? 0) >= target }, "the restarted node catches up")
            live.value = [0, 1, 2, 3]
            try await Task.sleep(for: .seconds(2))
            load.stop()
            try await loadTask.value
            let ids = load.admitted
            #expect(ids.count > 50)
            #expect(await LocalNetwork.eventually(30) { await allCommitted(ids, on: network, 3).committed == ids.count }, "every admitted transfer committed")
            let outcome = await allCommitted(ids, on: network, 3)
            #expect(outcome.committed == ids.count && outcome.notApplied.isEmpty, "\(outcome.notApplied.prefix(5))")
            let common = await heights(network, [0, 1, 2, 3]).min()!
            #expect(await network.agree(at: common, among: [0, 1, 2, 3]))
            #expect(await network.agree(at: atKill, among: [0, 1, 2, 3]))
            #expect(network.log(3).contains("caught up") || network.log(3).contains("committed"))
        }
    }

    @Test("an isolated validator falls behind while the rest commit; healed, it catches up")
    func isolateAndHeal() async throws {
        try await withNetwork(proxied: true) { network in
            try await Task.sleep(for: .seconds(1))
            network.isolate(2, true)
            #expect(await LocalNetwork.eventually(20) { (await network.status(2)?["peers"] as? [Any])?.isEmpty == true }, "its links are down")
            let isolatedAt = await network.height(2)!
            let before = await heights(network, [0, 1, 3]).min()!
            let transactions = try network.transfers(30, tag: 3)
            _ = await network.submit(0, transactions)
            #expect(await LocalNetwork.eventually(30) { await heights(network, [0, 1, 3]).min()! >= before + 5 }, "the other three commit")
            #expect((await network.height(2) ?? 0) <= isolatedAt + 1, "the isolated node cannot commit alone")
            network.isolate(2, false)
            let target = await heights(network, [0, 1, 3]).max()!
            #expect(await LocalNetwork.eventually(40) { (await network.height(2) ?? 0) >= target }, "healed, it catches up")
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
            // Submissions are still accepted into the mempool while the network waits.
            let transactions = try network.transfers(10, tag: 4)
            #expect(await network.submit(0, transactions)?.allSatisfy { $0["status"] as? String == "pending" } == true)
            try network.start(2)
            try network.start(3)
            let resumedFrom = later.max()!
            #expect(await LocalNetwork.eventually(60) { await heights(network, [0, 1, 2, 3]).min()! >= resumedFrom + 3 }, "commits resume")
            let ids = transactions.map(\.id.digest.hex)
            #expect(await LocalNetwork.eventually(30) { await allCommitted(ids, on: network, 1).committed == ids.count })
            let common = await heights(network, [0, 1, 2, 3]).min()!
            for height in 1...common { #expect(await network.agree(at: height, among: [0, 1, 2, 3]), "height \(height)") }
        }
    }

    @Test("SIGTERM stops a node gracefully (exit 0) and it restarts from its data directory")
    func gracefulStop() async throws {
        try await withNetwork { network in
            #expect(await LocalNetwork.eventually(20) { (await network.height(1) ?? 0) >= 2 })
            #expect(network.terminate(1) == 0)
            #expect(network.log(1).contains("stopped"))
            try network.start(1)
            #expect(await LocalNetwork.eventually(30) { (await network.status(1)?["peers"] as? [Any])?.count == 3 })
            let target = await heights(network, [0, 2, 3]).max()!
            #expect(await LocalNetwork.eventually(30) { (await network.height(1) ?? 0) >= target })
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
