import ArgumentParser
import Dispatch
import Foundation
import TonleRuntime
import TonleStorage
import TonleStore
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleNode
import TonleWorkload

/// `tonle bench exec`: execution and commit throughput of one node on its real store.
///
/// Makes the accounts — imported into the genesis state (`--setup import`, streamed into
/// `RocksStore.importGenesis`) or created through ordinary blocks (create + fund, 5,000 a block) —
/// and reports that rate, then times blocks of transfers through `BlockExecutor.apply` — block
/// checks, transaction ids, ledger execution, the state-tree update and the store's commit. Building
/// the workload's transactions and verifying signatures are not timed (signatures are measured by
/// `tonle bench crypto`). The last line is JSON.
struct ExecBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Execute and commit blocks of transfers on a node's store; print throughput, latency, disk, start-up time and memory.")

    @Option(help: "Accounts to create before measuring.") var accounts = 1_000_000
    @Option(help: "Blocks of transfers to measure.") var blocks = 100
    @Option(help: "Transfers per block.") var transfers = 5_000
    @Option(help: "Database path (default: a new temporary file, deleted afterwards).") var database: String?
    @Option(help: "Sync mode: full (every commit is durable) or normal (durable at checkpoints).") var sync = "full"
    @Option(help: "Storage engine: rocksdb (the node's default) or sqlite (docs/storage.md, \"Choosing the engine\").") var engine = "rocksdb"
    @Flag(name: .customLong("state-sync"), help: "After the blocks, time state sync over an encrypted link on 127.0.0.1: a snapshot served by the node's snapshot server, fetched, checked and imported into a new store.")
    var stateSync = false
    @Option(help: "Seed of the workload.") var seed: UInt64 = 1
    @Option(help: "How the accounts are made: import (written into the genesis state, streamed, as a bulk genesis import) or blocks (created by blocks of 5,000 through the ledger).")
    var setup = "import"
    @Option(help: "Unmerged changes held in memory before a merge (SQLiteStore.Options.mergeEntriesMax).") var mergeEntriesMax = SQLiteStore.Options().mergeEntriesMax
    @Option(help: "Take a snapshot (a node's storage.snapshot_interval) after every this many measured blocks, timed with the block; rocksdb only (0: none).")
    var snapshotInterval = 0
    @Option(help: "BFT time between blocks, in seconds: at 7200 a transfer's request record is forgotten two blocks later (two transaction lifetimes), so the disk figure is what stays, not what expires.")
    var blockSeconds = 1
    @Option(help: "Keep this many blocks below the latest and prune older ones every 10 blocks, timed with the block (a node's storage.retain_blocks); rocksdb only (0: keep all).")
    var retainBlocks = 0

    func validate() throws {
        guard (2...1_000_000_000).contains(accounts), (1...1_000_000).contains(blocks), (1...8_192).contains(transfers) else {
            throw ValidationError("need 2 ≤ --accounts ≤ 1000000000, 1 ≤ --blocks ≤ 1000000 and 1 ≤ --transfers ≤ 8192")
        }
        guard ["full", "normal"].contains(sync) else { throw ValidationError("--sync is full or normal") }
        guard ["sqlite", "rocksdb"].contains(engine) else { throw ValidationError("--engine is sqlite or rocksdb") }
        guard ["import", "blocks"].contains(setup) else { throw ValidationError("--setup is import or blocks") }
        guard snapshotInterval >= 0, snapshotInterval == 0 || engine == "rocksdb" else { throw ValidationError("--snapshot-interval ≥ 0, with --engine rocksdb") }
        guard !stateSync || engine == "rocksdb" else { throw ValidationError("--state-sync needs --engine rocksdb") }
        guard (1...86_400).contains(blockSeconds) else { throw ValidationError("1 ≤ --block-seconds ≤ 86400") }
        guard retainBlocks >= 0, retainBlocks <= 1_000_000, retainBlocks == 0 || engine == "rocksdb" else { throw ValidationError("0 ≤ --retain-blocks ≤ 1000000, with --engine rocksdb") }
    }

    func run() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-bench-\(UUID().uuidString)")
        let path = database ?? directory.appendingPathComponent(engine == "sqlite" ? "ledger.sqlite" : "ledger.rocksdb").path
        if database == nil { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        defer { if database == nil { try? FileManager.default.removeItem(at: directory) } }

        let workload = Workload(seed: seed, accounts: accounts, setup: setup == "import" ? .imported : .blocks, blockMilliseconds: UInt64(blockSeconds) * 1_000)
        var setupSeconds: Double?   // nil: the database already had the accounts
        if engine == "rocksdb", workload.setup == .imported, !FileManager.default.fileExists(atPath: path + "/log") {
            let start = now()
            progress("import: sorting \(accounts) account keys, then streaming the state and its tree into \(path)")
            _ = try RocksStore.importGenesis(path: path, validators: workload.validators, writes: workload.importedWrites())
            setupSeconds = seconds(now() - start)
        }
        var store: (any BenchStore)? = try open(path)
        if store!.appliedHeight == nil || (store!.appliedHeight ?? 0) < UInt64(workload.setupBlocks) {
            let start = now()
            try workload.initialise(store!)
            try setUp(workload, store!)
            setupSeconds = seconds(now() - start)
        }
        try store!.settle()
        let diskBefore = store!.diskBytes, tablesBefore = (store as? RocksStore)?.tableBytes ?? []
        let measured = try measure(workload, store!)
        measured.snapshotEnded.wait()   // the last snapshot written (and the semaphore back at its start value)
        measured.snapshotEnded.signal()
        if snapshotInterval > 0 { try? FileManager.default.removeItem(atPath: path + "-snapshot-\(blocks / snapshotInterval)") }
        if stateSync, let rocks = store as? RocksStore { try timeStateSync(rocks, workload) }
        // Start-up: what a node restarting on this data directory waits for before it can serve
        // (the unmerged log replayed, its tree updates recomputed and checked).
        store = nil
        let reopening = now()
        store = try open(path)
        let startupSeconds = seconds(now() - reopening)
        try store!.settle()
        let diskAfter = store!.diskBytes
        if let rocks = store as? RocksStore {
            let grown = zip(tablesBefore, rocks.tableBytes).map { ($0.table, Int64(clamping: $1.bytes) - Int64(clamping: $0.bytes)) }.filter { $0.1 != 0 }
            let perTransfer = grown.map { "\($0.0) \(Int(Double($0.1) / Double(blocks * transfers)))" }.joined(separator: ", ")
            print("disk by table       bytes per transfer: \(perTransfer)")
        }
        report(measured, setupSeconds: setupSeconds, setupDiskBytes: diskBefore, diskBytes: diskAfter - diskBefore, startupSeconds: startupSeconds)
    }

    /// State sync on this machine over real links (docs/benchmarks.md): a snapshot of the store,
    /// one more block, then `StateSyncLoopback` — offers, anchor blocks, top, every chunk over an
    /// encrypted link on 127.0.0.1, each checked, and the import into a new store.
    private func timeStateSync(_ store: RocksStore, _ workload: Workload) throws {
        let data = store.path + "-sync-data", target = store.path + "-synced"
        defer { [data, target].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let snapshotStart = now()
        let snapshot = try Snapshots.take(store, genesis: "bench", into: Snapshots.directory(dataDirectory: data), keep: 1)
        let snapshotSeconds = seconds(now() - snapshotStart)
        let expected = store.stateRoot
        try workload.applyNext(to: store, transfers: transfers)   // block H + 1 certifies the snapshot's state
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let source = store
        nonisolated(unsafe) var result: Result<StateSyncLoopback.Figures, any Error>?
        Task {
            do {
                result = .success(try await StateSyncLoopback.run(store: source, dataDirectory: data, chainID: workload.chainID, validators: workload.validators, into: target))
            } catch { result = .failure(error) }
            done.signal()
        }
        done.wait()
        let figures = try result!.get()
        guard figures.height == snapshot.height, try RocksStore(path: target).stateRoot == expected else { throw CLIError("the synced store has another state") }
        print("state sync          \(figures.values) values (\(figures.bytes >> 20) MiB) at height \(figures.height) over an encrypted link on 127.0.0.1: \(f(figures.seconds)) s (offers, anchor, top, chunks checked, import); the snapshot took \(f(snapshotSeconds)) s; peak RSS \(Self.peakResidentBytes() >> 20) MiB")
    }

    private func open(_ path: String) throws -> any BenchStore {
        if engine == "sqlite" {
            var options = SQLiteStore.Options()
            options.synchronousFull = sync == "full"
            options.mergeEntriesMax = mergeEntriesMax
            return try SQLiteStore(path: path, options: options)
        }
        var options = RocksStore.Options()
        options.synchronousFull = sync == "full"
        options.mergeEntriesMax = mergeEntriesMax
        return try RocksStore(path: path, options: options)
    }

    /// Creates the accounts through setup blocks (`--setup blocks`), reporting progress.
    private func setUp(_ workload: Workload, _ store: any BenchStore) throws {
        let start = now()
        while (store.appliedHeight ?? 0) < UInt64(workload.setupBlocks) {
            try workload.applyNext(to: store, transfers: 0)
            let height = store.appliedHeight!
            if height % 20 == 0 || height == UInt64(workload.setupBlocks) {
                let created = min(workload.accounts, Int(height) * workload.setupBlockAccounts)
                progress("setup: \(created) of \(workload.accounts) accounts (\(rate(Double(created), now() - start)) accounts/s)")
            }
        }
    }

    struct Measured {
        var blockNanoseconds: [UInt64] = []
        var mergedBlocks = 0
        /// The slowest block: its number, phases (execute, state root, commit) and whether a merge ended in it.
        var slowest: (index: Int, phases: (UInt64, UInt64, UInt64), merged: Bool)?
        var executeNanoseconds: UInt64 = 0
        var stateRootNanoseconds: UInt64 = 0
        var commitNanoseconds: UInt64 = 0
        var applied = 0
        var rejected = 0
        /// Reads that went to RocksDB's tables during the measured blocks (RocksStore only).
        var engineReads = 0
        /// Time on the committing thread per snapshot; from start to written, on its own thread.
        var snapshotNanoseconds: [UInt64] = []
        let snapshotWritten = Durations()
        let snapshotEnded = DispatchSemaphore(value: 1)
    }

    private func measure(_ workload: Workload, _ store: any BenchStore) throws -> Measured {
        var measured = Measured()
        let readsBefore = (store as? RocksStore)?.engineReads ?? 0
        for index in 1...blocks {
            let block = try workload.nextBlock(on: store, transfers: transfers)
            let certificate = workload.certificate(for: block)
            let start = now()
            let merged = store.mergedHeight
            let applied = try BlockExecutor.apply(block, certificate: certificate, to: store, clock: now)
            let mergeEnded = store.mergedHeight != merged
            if mergeEnded { measured.mergedBlocks += 1 }
            if snapshotInterval > 0, index % snapshotInterval == 0, let rocks = store as? RocksStore {
                measured.snapshotNanoseconds.append(try snapshot(rocks, number: index / snapshotInterval, &measured))
            }
            if retainBlocks > 0, index % 10 == 0, let rocks = store as? RocksStore, let height = rocks.appliedHeight, height > UInt64(retainBlocks) {
                try rocks.pruneBlocks(below: height - UInt64(retainBlocks))
            }
            let elapsed = now() - start
            if elapsed > measured.blockNanoseconds.max() ?? 0 {
                measured.slowest = (index, (applied.executeNanoseconds, applied.stateRootNanoseconds, applied.commitNanoseconds), mergeEnded)
            }
            measured.blockNanoseconds.append(elapsed)
            measured.executeNanoseconds += applied.executeNanoseconds
            measured.stateRootNanoseconds += applied.stateRootNanoseconds
            measured.commitNanoseconds += applied.commitNanoseconds
            measured.applied += applied.results.filter(\.isApplied).count
            measured.rejected += applied.results.count - applied.results.filter(\.isApplied).count
            if index % 10 == 0 || index == blocks {
                let total = measured.blockNanoseconds.reduce(0, +)
                progress("block \(index)/\(blocks): \(String(format: "%.1f", Double(elapsed) / 1e6)) ms; \(rate(Double(index * transfers), total)) transfers/s so far")
            }
        }
        measured.engineReads = ((store as? RocksStore)?.engineReads ?? 0) - readsBefore
        return measured
    }

    /// Starts a snapshot beside the database, as a node does, after the previous one has ended
    /// (and removes that one, as a node keeps a few). Returns the time the committing thread spent.
    private func snapshot(_ store: RocksStore, number: Int, _ measured: inout Measured) throws -> UInt64 {
        let start = now()
        measured.snapshotEnded.wait()
        try? FileManager.default.removeItem(atPath: store.path + "-snapshot-\(number - 1)")
        let ended = measured.snapshotEnded, written = measured.snapshotWritten
        try store.startSnapshot(to: store.path + "-snapshot-\(number)") { error in
            written.append(DispatchTime.now().uptimeNanoseconds - start)
            if let error { FileHandle.standardError.write(Data("snapshot failed: \(error)\n".utf8)) }
            ended.signal()
        }
        return now() - start
    }

    private func report(_ m: Measured, setupSeconds: Double?, setupDiskBytes: Int64, diskBytes: Int64, startupSeconds: Double) {
        let peak = Self.peakResidentBytes()
        let total = m.blockNanoseconds.reduce(0, +)
        let count = Double(m.blockNanoseconds.count), transfersTotal = Double(blocks * transfers)
        let sorted = m.blockNanoseconds.sorted()
        let percentile = { (p: Double) in Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6 }
        let perSecond = transfersTotal / seconds(total)
        let ms = { (ns: UInt64) in Double(ns) / 1e6 / count }
        print("accounts            \(accounts) " + (setupSeconds.map { "(\(setup == "import" ? "imported" : "created by blocks") in \(f($0)) s: \(Int(Double(accounts) / max($0, 1e-9)))/s)" } ?? "(already in the database)")
              + "; \(Int(Double(setupDiskBytes) / Double(accounts))) bytes of disk per account")
        print("blocks              \(blocks) × \(transfers) transfers (\(m.applied) applied, \(m.rejected) rejected); sync \(sync); \(engine)")
        print("throughput          \(Int(perSecond)) transfers/s executed and committed")
        print("per block (mean)    execute \(f(ms(m.executeNanoseconds))) ms, state root \(f(ms(m.stateRootNanoseconds))) ms, commit \(f(ms(m.commitNanoseconds))) ms")
        if engine == "rocksdb" { print("reads from RocksDB  \(m.engineReads / blocks) a block (state values and tree nodes not in memory)") }
        print("block latency       p50 \(f(percentile(0.50))) ms, p99 \(f(percentile(0.99))) ms, max \(f(Double(sorted.last!) / 1e6)) ms (\(m.mergedBlocks) block(s) merged)")
        if let slowest = m.slowest {
            let (execute, root, commit) = slowest.phases
            let afterFirst = m.blockNanoseconds.dropFirst().max().map { "; the slowest after the first (caches cold after opening): \(f(Double($0) / 1e6)) ms" } ?? ""
            print("slowest block       #\(slowest.index): execute \(f(Double(execute) / 1e6)) ms, state root \(f(Double(root) / 1e6)) ms, commit \(f(Double(commit) / 1e6)) ms\(slowest.merged ? ", a merge ended in it" : "")\(afterFirst)")
        }
        print("disk                \(Int(Double(diskBytes) / transfersTotal)) bytes per transfer\(retainBlocks > 0 ? " (the last \(retainBlocks) blocks kept)" : "")")
        print("start-up            \(f(startupSeconds)) s to reopen the store (its unmerged blocks replayed); peak RSS \(peak / (1 << 20)) MiB")
        if let slowest = m.snapshotNanoseconds.max() {
            let written = m.snapshotWritten.values
            print("snapshots           \(m.snapshotNanoseconds.count): on the committing thread mean \(f(Double(m.snapshotNanoseconds.reduce(0, +)) / 1e6 / Double(m.snapshotNanoseconds.count))) ms, max \(f(Double(slowest) / 1e6)) ms (in the block times above); written beside the blocks in max \(f(Double(written.max() ?? 0) / 1e6)) ms")
        }
        var json: [String: Any] = [
            "bench": "exec", "engine": engine, "accounts": accounts, "blocks": blocks, "transfers_per_block": transfers, "sync": sync,
            "transfers_per_s": Int(perSecond), "block_commit_p50_ms": round3(percentile(0.50)), "block_commit_p99_ms": round3(percentile(0.99)),
            "block_max_ms": round3(Double(sorted.last!) / 1e6),
            "block_max_after_first_ms": round3(Double(m.blockNanoseconds.dropFirst().max() ?? sorted.last!) / 1e6),
            "execute_ms": round3(ms(m.executeNanoseconds)), "state_root_ms": round3(ms(m.stateRootNanoseconds)),
            "commit_ms": round3(ms(m.commitNanoseconds)), "disk_bytes_per_transfer": Int(Double(diskBytes) / transfersTotal),
            "rejected": m.rejected, "merges": m.mergedBlocks,
        ]
        if let setupSeconds {
            json["setup_accounts_per_s"] = Int(Double(accounts) / max(setupSeconds, 1e-9))
            json["setup_s"] = round3(setupSeconds)
        }
        json["setup"] = setup
        json["retain_blocks"] = retainBlocks
        json["block_seconds"] = blockSeconds
        json["disk_bytes_per_account"] = Int(Double(setupDiskBytes) / Double(accounts))
        json["startup_s"] = round3(startupSeconds)
        if engine == "rocksdb" { json["engine_reads_per_block"] = m.engineReads / blocks }
        json["peak_rss_mib"] = peak / (1 << 20)
        if let slowest = m.snapshotNanoseconds.max() { json["snapshots"] = m.snapshotNanoseconds.count; json["snapshot_max_ms"] = round3(Double(slowest) / 1e6) }
        printJSON(json)
    }

    /// The process's peak resident set (VmHWM), in bytes; 0 where /proc does not say.
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }

    private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    private func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }
    private func rate(_ count: Double, _ nanoseconds: UInt64) -> Int { Int(count / max(seconds(nanoseconds), 1e-9)) }
    private func f(_ value: Double) -> String { String(format: "%.2f", value) }
    private func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    private func progress(_ line: String) { FileHandle.standardError.write(Data("  \(line)\n".utf8)) }
}

/// What the bench reads from either store besides the ledger: merges and size on disk.
protocol BenchStore: LedgerStore {
    var mergedHeight: UInt64? { get }
    /// Everything merged and on disk, space that can be reclaimed reclaimed, before a size is read.
    func settle() throws(StoreError)
    var diskBytes: Int64 { get }
}

extension SQLiteStore: BenchStore {
    func settle() throws(StoreError) { try checkpoint() }
}

extension RocksStore: BenchStore {
    func settle() throws(StoreError) { try compact() }
}

/// Durations appended from other threads.
final class Durations: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [UInt64] = []
    func append(_ value: UInt64) { lock.withLock { list.append(value) } }
    var values: [UInt64] { lock.withLock { list } }
}
