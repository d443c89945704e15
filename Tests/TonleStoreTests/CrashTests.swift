import Foundation
import Testing
import TonleCrypto
import TonleRuntime
import TonleStorage
import TonleStore
import TonleTypes
import TonleWorkload

/// Kills a process with SIGKILL while it applies blocks to a SQLite or RocksDB store — many times, at random
/// moments — and after each kill reopens the store and checks it against an in-memory replay:
/// it must be at a whole block, with exactly the state root the replay has at that height.
@Suite struct CrashTests {
    static let kills = ProcessInfo.processInfo.environment["TONLE_CRASH_KILLS"].flatMap(Int.init) ?? 15
    static let (seed, accounts, blocks, transfers) = (UInt64(21), 2_000, UInt64(60), 400)

    static let child: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tonle-crash-child")
        let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/tonle-crash-child")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : fallback
    }()

    @Test(arguments: ["sqlite", "rocksdb"])
    func killedMidBlockReopensAtTheLastCommittedBlock(_ engine: String) throws {
        let workload = Workload(seed: Self.seed, accounts: Self.accounts)
        // The reference: the same blocks in memory, and the root after each height.
        let reference = MemoryStore()
        try workload.initialise(reference)
        var roots = [reference.stateRoot]
        while reference.appliedHeight! < Self.blocks {
            try workload.applyNext(to: reference, transfers: Self.transfers)
            roots.append(reference.stateRoot)
        }

        let path = engine == "sqlite" ? temporaryDatabase() : temporaryRocksDatabase()
        let open = { () throws -> any LedgerStore in engine == "sqlite" ? try SQLiteStore(path: path) : try RocksStore(path: path) }
        // Kill timings vary run to run; a failure names its seed, and TONLE_CRASH_SEED=N replays it.
        let seed = ProcessInfo.processInfo.environment["TONLE_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970 * 1000)
        var random = SplitMix64(seed: seed)
        var heights: [UInt64?] = [], killed = 0
        for _ in 0..<Self.kills {
            let (process, output) = try launch(engine, path)
            // Time one block from two commits, then kill the child at a uniformly random moment
            // of the next: the kill lands in execution, tree hashing or the commit in proportion
            // to the time each takes.
            let lines = LineReader(output)
            try lines.wait(for: "ready", process: process)
            try lines.wait(for: "applied", process: process)
            let start = Date()
            try lines.wait(for: "applied", process: process)
            let blockMicroseconds = UInt64(Date().timeIntervalSince(start) * 1_000_000)
            usleep(UInt32(random.next() % max(1, blockMicroseconds)))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed += 1
            }
            process.waitUntilExit()
            let store = try open()
            heights.append(store.appliedHeight)
            let height = try #require(store.appliedHeight, "genesis was committed before 'ready' (TONLE_CRASH_SEED=\(seed))")
            #expect(store.stateRoot == roots[Int(height)], "root at height \(height) after a kill (TONLE_CRASH_SEED=\(seed))")
            #expect(store.block(at: height) == (height == 0 ? nil : reference.block(at: height)))
            if height == Self.blocks { break }
        }
        // Finish the run and compare the end state.
        let (process, output) = try launch(engine, path)
        try LineReader(output).wait(for: "done", process: process)
        process.waitUntilExit()
        let store = try open()
        #expect(store.appliedHeight == Self.blocks && store.stateRoot == roots.last)
        #expect(killed >= Self.kills / 2, "most runs must be killed mid-way (killed \(killed) of \(heights.count), heights \(heights), TONLE_CRASH_SEED=\(seed))")
        #expect(Set(heights.compactMap { $0 }).count > 2, "kills landed at different heights: \(heights)")
    }

    private func launch(_ engine: String, _ path: String) throws -> (Process, FileHandle) {
        let process = Process(), pipe = Pipe()
        process.executableURL = Self.child
        // Merges every few blocks, so kills also land inside merges.
        process.arguments = [engine, path, "\(Self.seed)", "\(Self.accounts)", "\(Self.blocks)", "\(Self.transfers)", "40000"]
        process.standardOutput = pipe
        try process.run()
        return (process, pipe.fileHandleForReading)
    }
}

/// The child's output, line by line (bounded: each wait gives up after 120 s).
final class LineReader {
    private let handle: FileHandle
    private var pending: [Substring] = [], partial = ""

    init(_ handle: FileHandle) { self.handle = handle }

    /// Reads until a line starting with `prefix`; lines before it are skipped.
    func wait(for prefix: String, process: Process) throws {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            while !pending.isEmpty {
                if pending.removeFirst().hasPrefix(prefix) { return }
            }
            let data = handle.availableData
            if data.isEmpty { throw CrashTestError.childExited(waitingFor: prefix) }
            partial += String(decoding: data, as: UTF8.self)
            var lines = partial.split(separator: "\n", omittingEmptySubsequences: false)
            partial = String(lines.removeLast())
            pending += lines
        }
        process.terminate()
        throw CrashTestError.timedOut(waitingFor: prefix)
    }
}

enum CrashTestError: Error {
    case childExited(waitingFor: String)
    case timedOut(waitingFor: String)
}
