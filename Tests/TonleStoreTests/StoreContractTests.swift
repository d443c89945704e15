import Dispatch
import Foundation
import Testing
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleRuntime
import TonleStorage
import TonleStore
import TonleTypes
import TonleWorkload

func temporaryDatabase() -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-store-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("ledger.sqlite").path
}

/// A new directory for a RocksDB store.
func temporaryRocksDatabase() -> String {
    URL(fileURLWithPath: temporaryDatabase()).deletingLastPathComponent().appendingPathComponent("ledger.rocksdb").path
}

enum StoreKind: String, CaseIterable, Sendable {
    /// In memory; SQLite and RocksDB with every change still in the log; each merging every few
    /// blocks, with tiny caches, so reads come from the tables, the log and the caches in turn
    /// (RocksDB's top levels held in arrays only down to depth 4, so reads cross that boundary).
    /// `rocksWarming` merges as often with caches large enough never to be emptied, so a merge's
    /// changes reach them a slice per commit while older cached values of the same keys remain.
    case memory, sqlite, sqliteMerging, rocks, rocksMerging, rocksWarming

    func make() throws -> any LedgerStore {
        switch self {
        case .memory: return MemoryStore()
        case .sqlite: return try SQLiteStore(path: temporaryDatabase())
        case .sqliteMerging:
            var options = SQLiteStore.Options()
            (options.mergeEntriesMax, options.nodeCacheEntriesMax, options.valueCacheEntriesMax) = (3_000, 500, 200)
            return try SQLiteStore(path: temporaryDatabase(), options: options)
        case .rocks: return try RocksStore(path: temporaryRocksDatabase())
        case .rocksMerging:
            var options = RocksStore.Options()
            (options.mergeEntriesMax, options.nodeCacheEntriesMax, options.valueCacheEntriesMax) = (3_000, 500, 200)
            options.topNodeDepth = 4
            return try RocksStore(path: temporaryRocksDatabase(), options: options)
        case .rocksWarming:
            var options = RocksStore.Options()
            (options.mergeEntriesMax, options.topNodeDepth) = (3_000, 4)
            return try RocksStore(path: temporaryRocksDatabase(), options: options)
        }
    }
}

/// One suite, run against every store: the same workload through both must read back the same.
@Suite struct StoreContractTests {
    static let workload = Workload(seed: 11, accounts: 300)

    @Test(arguments: StoreKind.allCases)
    func emptyStore(_ kind: StoreKind) throws {
        let store = try kind.make()
        #expect(store.appliedHeight == nil && store.stateRoot == .zero)
        #expect(store.block(at: 1) == nil && store.results(at: 1) == nil && store.stateRoot(at: 0) == nil)
        #expect(throws: ApplyError.notInitialised) { try Self.workload.applyNext(to: store, transfers: 1) }
    }

    @Test(arguments: StoreKind.allCases)
    func blocksStateAndIndexesReadBack(_ kind: StoreKind) throws {
        let store = try kind.make(), reference = MemoryStore()
        try Self.workload.initialise(store)
        try Self.workload.initialise(reference)
        #expect(store.appliedHeight == 0 && store.stateRoot == reference.stateRoot && store.stateRoot(at: 0) == reference.stateRoot)
        var applied: [Block] = []
        for _ in 0..<8 {
            let block = try Self.workload.nextBlock(on: store, transfers: 120)
            let certificate = Self.workload.certificate(for: block)
            let result = try BlockExecutor.apply(block, certificate: certificate, to: store)
            _ = try BlockExecutor.apply(block, certificate: certificate, to: reference)
            applied.append(block)
            #expect(result.stateRoot == reference.stateRoot && store.stateRoot == reference.stateRoot)
            #expect(SparseMerkleTree.root(store) == store.stateRoot, "the stored tree's root is the stored root")
            #expect(LedgerInvariants.violations(reference.allStateValues().values.map { try! StateRecord(encoded: $0) }).isEmpty)
        }
        #expect(store.appliedHeight == 8)
        for (offset, block) in applied.enumerated() {
            let height = UInt64(offset + 1)
            #expect(store.block(at: height) == block)
            #expect(store.results(at: height) == reference.results(at: height))
            #expect(store.certificate(at: height) == Self.workload.certificate(for: block))
            #expect(store.stateRoot(at: height) == reference.stateRoot(at: height))
            for (index, transaction) in block.transactions.enumerated().prefix(5) {
                let location = try #require(store.transactionLocation(transaction.id))
                #expect(location.height == height && location.index == UInt32(index))
                #expect(location == reference.transactionLocation(transaction.id))
            }
        }
        #expect(store.transactionLocation(TransactionID(SHA256.hash([1]))) == nil)
        // State values and tree nodes agree for every key the reference holds.
        for (key, value) in reference.allStateValues() { #expect(store.stateValue(for: key) == value) }
        for (position, node) in reference.allNodes.prefix(2_000) { #expect(store.merkleNode(at: position) == node) }
        // Account history pages backwards, newest first, and agrees with the reference.
        let account = Self.workload.account(7)
        var pages: [AccountHistoryEntry] = [], cursor: HistoryCursor?
        while true {
            let page = store.accountHistory(account, before: cursor, limit: 3)
            #expect(page == reference.accountHistory(account, before: cursor, limit: 3))
            guard let last = page.last else { break }
            pages += page
            cursor = last.cursor
        }
        #expect(pages.count > 3 && pages == pages.sorted { $0.cursor > $1.cursor })
        #expect(Set(pages.map(\.transaction)).count == pages.count)
    }

    @Test(arguments: StoreKind.allCases)
    func commitsAreGaplessAndBlocksMustFollowTheChain(_ kind: StoreKind) throws {
        let store = try kind.make()
        try Self.workload.initialise(store)
        #expect(throws: ApplyError.alreadyInitialised) { try BlockExecutor.initialise(store, genesis: Self.workload.genesis) }
        let block = try Self.workload.nextBlock(on: store, transfers: 10)
        try BlockExecutor.apply(block, to: store)
        #expect(throws: ApplyError.wrongHeight(expected: 2, got: 1)) { try BlockExecutor.apply(block, to: store) }
        let batch = CommitBatch(height: 5, block: block, transactionIDs: block.transactions.map(\.id),
                                results: Array(repeating: .applied, count: block.transactions.count), certificate: nil,
                                stateWrites: [], nodeWrites: [], stateRoot: .zero, accountIndex: [], validators: Self.workload.validators)
        #expect(throws: StoreError.heightGap(expected: 2, got: 5)) { try store.commit(batch) }
        // A block whose header claims another state root is refused before anything is written.
        let next = try Self.workload.nextBlock(on: store, transfers: 10)
        var header = next.header
        header.stateRoot = SHA256.hash([9])
        let forged = try Block(header: header, transactions: next.transactions, lastCommit: next.lastCommit)
        #expect(throws: ApplyError.inconsistent("state root")) { try BlockExecutor.apply(forged, to: store) }
        // So is one naming other validator sets (a light client trusts these hashes).
        for (field, change) in [("validators hash", { (h: inout BlockHeader) in h.validatorsHash = SHA256.hash([1]) }),
                                ("next validators hash", { (h: inout BlockHeader) in h.nextValidatorsHash = SHA256.hash([2]) })] {
            var header = next.header
            change(&header)
            let forged = try Block(header: header, transactions: next.transactions, lastCommit: next.lastCommit)
            #expect(throws: ApplyError.inconsistent(field)) { try BlockExecutor.apply(forged, to: store) }
        }
        #expect(store.appliedHeight == 1)
        // The set that signs each height, up to the next block.
        #expect(store.validatorSet(signing: 1) == Self.workload.validators && store.validatorSet(signing: 2) == Self.workload.validators)
        #expect(store.validatorSet(signing: 3) == nil && store.validatorSet(signing: 0) == nil && store.validatorSet(signing: UInt64.max) == nil)
    }
}

@Suite struct SQLiteStoreTests {
    @Test func aBlockSummaryIsItsHeaderAndTransactionCount() throws {
        let store = try SQLiteStore(path: temporaryDatabase()), workload = Workload(seed: 5, accounts: 50)
        try workload.initialise(store)
        let block = try workload.nextBlock(on: store, transfers: 17)
        try BlockExecutor.apply(block, to: store)
        let summary = try #require(store.blockSummary(at: 1))
        #expect(summary.header == block.header && summary.transactions == block.transactions.count && block.transactions.count > 1)
        #expect(store.blockSummary(at: 2) == nil)
    }

    /// Both engines: a reopened store reads back what was committed, merged or still in the log.
    @Test(arguments: ["sqlite", "rocksdb"], [false, true])
    func reopeningGivesTheSameStore(engine: String, mergedBeforeClosing: Bool) throws {
        let path = engine == "sqlite" ? temporaryDatabase() : temporaryRocksDatabase()
        let open = { () throws -> any MergingStore in engine == "sqlite" ? try SQLiteStore(path: path) : try RocksStore(path: path) }
        let workload = Workload(seed: 3, accounts: 100), reference = MemoryStore()
        try workload.initialise(reference)
        do {
            let store = try open()
            try workload.initialise(store)
            for _ in 0..<3 {
                try workload.applyNext(to: store, transfers: 50)
                try workload.applyNext(to: reference, transfers: 50)
            }
            if mergedBeforeClosing { try store.merge() }
            #expect(store.mergedHeight == (mergedBeforeClosing ? 3 : nil))
        }
        let reopened = try open()
        #expect(reopened.appliedHeight == 3 && reopened.stateRoot == reference.stateRoot)
        #expect(reopened.mergedHeight == (mergedBeforeClosing ? 3 : nil))
        #expect(reopened.allStateValues() == reference.allStateValues())
        for (key, value) in reference.allStateValues() { #expect(reopened.stateValue(for: key) == value) }
        try workload.applyNext(to: reopened, transfers: 50)
        try workload.applyNext(to: reference, transfers: 50)
        #expect(reopened.appliedHeight == 4 && reopened.stateRoot == reference.stateRoot)
        #expect(reopened.diskBytes > 0)
    }

    @Test func aDamagedRootIsRefusedOnOpen() throws {
        let path = temporaryDatabase(), workload = Workload(seed: 3, accounts: 50)
        do {
            let store = try SQLiteStore(path: path)
            try workload.initialise(store)
            try workload.applyNext(to: store, transfers: 10)
            try store.checkpoint()
        }
        // Another root written behind the store's back: the tree no longer matches it.
        let damage = try SQLiteStoreTestAccess.execute(path, "UPDATE meta SET value = zeroblob(32) WHERE name = 'state_root'")
        #expect(damage)
        #expect {
            _ = try SQLiteStore(path: path)
        } throws: { error in
            guard case StoreError.corrupt(let message) = error else { return false }
            return message.contains("stored root")
        }
    }

    /// Both engines: commits without a sync per block (tiny node caches, so they are emptied too).
    @Test(arguments: ["sqlite", "rocksdb"])
    func unsyncedCommitsWork(engine: String) throws {
        let store: any LedgerStore, reference = MemoryStore()
        if engine == "sqlite" {
            var options = SQLiteStore.Options()
            (options.synchronousFull, options.nodeCacheEntriesMax) = (false, 10)
            store = try SQLiteStore(path: temporaryDatabase(), options: options)
        } else {
            var options = RocksStore.Options()
            (options.synchronousFull, options.nodeCacheEntriesMax) = (false, 10)
            store = try RocksStore(path: temporaryRocksDatabase(), options: options)
        }
        let workload = Workload(seed: 5, accounts: 200)
        try workload.initialise(store)
        try workload.initialise(reference)
        for _ in 0..<3 {
            try workload.applyNext(to: store, transfers: 100)
            try workload.applyNext(to: reference, transfers: 100)
        }
        #expect(store.stateRoot == reference.stateRoot)
    }
}

@Suite struct RocksStoreTests {
    @Test func aSQLiteFileIsNotARocksDatabase() throws {
        let path = temporaryDatabase()
        _ = try SQLiteStore(path: path)
        #expect(throws: StoreError.self) { _ = try RocksStore(path: path) }
    }

    /// A bulk genesis import streams the state and its tree into RocksDB: the same root, values
    /// and later blocks as the ordinary in-memory genesis commit of the same accounts.
    @Test func aGenesisImportIsTheSameStateAsAGenesisCommit() throws {
        let workload = Workload(seed: 14, accounts: 3_000, setup: .imported), reference = MemoryStore()
        try workload.initialise(reference)
        let path = temporaryRocksDatabase()
        let root = try RocksStore.importGenesis(path: path, validators: workload.validators, writes: workload.importedWrites())
        #expect(root == reference.stateRoot)
        do {
            let store = try RocksStore(path: path)
            #expect(store.appliedHeight == 0 && store.mergedHeight == 0 && store.stateRoot == reference.stateRoot)
            #expect(store.allStateValues() == reference.allStateValues() && reference.allStateValues().count == 3_000 + 9)   // and 5 participants, 2 accounts, validators, meta
            #expect(store.validatorSet(signing: 1) == workload.validators && store.stateRoot(at: 0) == root)
            for _ in 0..<3 {
                try workload.applyNext(to: store, transfers: 200)
                try workload.applyNext(to: reference, transfers: 200)
            }
            #expect(store.stateRoot == reference.stateRoot)
        }
        do {
            let reopened = try RocksStore(path: path)
            #expect(reopened.appliedHeight == 3 && reopened.stateRoot == reference.stateRoot)
        }
        #expect { _ = try RocksStore.importGenesis(path: path, validators: workload.validators, writes: workload.importedWrites()) } throws: {
            "\($0)".contains("already holds a store")
        }
        let unsorted = Array(workload.importedWrites()).reversed()
        #expect(throws: StoreError.self) { _ = try RocksStore.importGenesis(path: temporaryRocksDatabase(), validators: workload.validators, writes: unsorted) }
    }

    /// A store that starts after block H (state sync, a restore) from the state at H alone: the
    /// same root, no earlier blocks, and the next blocks apply to it as to the store that made them.
    @Test func aStoreStartingAtAHeight() throws {
        let workload = Workload(seed: 16, accounts: 500, setup: .imported)
        let source = try RocksStore(path: temporaryRocksDatabase())
        try workload.initialise(source)
        for _ in 0..<10 { try workload.applyNext(to: source, transfers: 60) }
        let start = RocksStore.StartingBlock(
            block: try #require(source.block(at: 10)), results: try #require(source.results(at: 10)),
            certificate: try #require(source.certificate(at: 10)))
        let values = source.allStateValues().sorted { $0.key < $1.key }.map { StateWrite(key: $0.key, value: $0.value) }
        let validators: [(from: UInt64, set: ValidatorSet)] = [(10, try #require(source.validatorSet(signing: 10))), (11, try #require(source.validatorSet(signing: 11)))]
        let path = temporaryRocksDatabase()
        let root = try RocksStore.importState(path: path, at: start, validators: validators, writes: values)
        #expect(root == source.stateRoot)
        let synced = try RocksStore(path: path)
        #expect(synced.appliedHeight == 10 && synced.stateRoot == source.stateRoot && synced.mergedHeight == 10)
        #expect(synced.block(at: 9) == nil && synced.block(at: 10) == source.block(at: 10) && synced.stateRoot(at: 10) == root)
        #expect(synced.hashes(at: 10)! == source.hashes(at: 10)! && synced.certificate(at: 10) == source.certificate(at: 10))
        for _ in 0..<3 {
            try workload.applyNext(to: source, transfers: 60)
            try workload.applyNext(to: synced, transfers: 60)
            #expect(synced.stateRoot == source.stateRoot && synced.hashes(at: synced.appliedHeight!)! == source.hashes(at: source.appliedHeight!)!)
        }
        let wrong = RocksStore.StartingBlock(block: start.block, results: try #require(start.results), certificate: try #require(source.certificate(at: 11)))
        #expect(throws: StoreError.self) { _ = try RocksStore.importState(path: temporaryRocksDatabase(), at: wrong, validators: validators, writes: values) }
    }

    /// Retention: blocks below a height go — their records, results, certificates and hashes —
    /// while the state, the transaction index and the later blocks stay, across a reopen that
    /// replays changes of pruned blocks not merged yet, and after a merge and another prune.
    @Test func prunedBlocksAreGoneAndTheRestStays() throws {
        let path = temporaryRocksDatabase(), workload = Workload(seed: 21, accounts: 200)
        let root: Digest
        do {
            let store = try RocksStore(path: path)
            try workload.initialise(store)
            for _ in 0..<8 { try workload.applyNext(to: store, transfers: 30) }
            let early = try #require(store.block(at: 2)?.transactions.first?.id)
            try store.pruneBlocks(below: 6)
            #expect(store.oldestBlockHeight == 6)
            for height in 1...5 as ClosedRange<UInt64> {
                #expect(store.block(at: height) == nil && store.certificate(at: height) == nil && store.results(at: height) == nil)
                #expect(store.hashes(at: height) == nil && store.blockSummary(at: height) == nil)
            }
            for height in 6...8 as ClosedRange<UInt64> { #expect(store.block(at: height) != nil && store.certificate(at: height) != nil) }
            #expect(store.transactionLocation(early)?.height == 2, "the index still knows where a pruned transaction was committed")
            #expect(throws: StoreError.self) { try store.pruneBlocks(below: 9) }   // the latest block is always kept
            try store.pruneBlocks(below: 3)
            #expect(store.oldestBlockHeight == 6, "pruning never goes back")
            try workload.applyNext(to: store, transfers: 30)
            root = store.stateRoot
        }
        do {
            let reopened = try RocksStore(path: path)
            #expect(reopened.mergedHeight == nil, "the pruned blocks' changes were replayed from the log")
            #expect(reopened.oldestBlockHeight == 6 && reopened.appliedHeight == 9 && reopened.stateRoot == root)
            #expect(reopened.block(at: 5) == nil && reopened.block(at: 6) != nil)
            try reopened.merge()
            try reopened.pruneBlocks(below: 8)
            #expect(reopened.stateRoot(at: 7) == nil && reopened.stateRoot(at: 8) != nil, "merged: the whole range goes")
        }
        let again = try RocksStore(path: path)
        #expect(again.oldestBlockHeight == 8 && again.stateRoot == root && again.block(at: 8) != nil)
    }

    /// State sync's data path without the network: a snapshot of a store with unmerged changes,
    /// its top checked against the root, every chunk read and checked on its own, and a store
    /// started from them at the snapshot's height that then follows the source block for block.
    @Test func statePassesThroughChunksIntoAStoreAtTheSameHeight() throws {
        let (path, source, _, workload) = try Self.mergingStore(mergeEntriesMax: 2_000, seed: 17, accounts: 700)
        for _ in 0..<6 { try workload.applyNext(to: source, transfers: 80) }
        // Everything merged, then one small block, far below mergeEntriesMax: its changes are
        // unmerged whatever the background merges' timing (which once merged them all first).
        try source.merge()
        try workload.applyNext(to: source, transfers: 10)
        try source.snapshot(to: path + "-snapshot")
        let snapshot = try RocksStore(path: path + "-snapshot")
        let height = try #require(snapshot.appliedHeight)
        #expect(snapshot.mergedHeight != height, "the snapshot has unmerged changes")
        let depth = 5
        let top = StateChunks.top(snapshot, depth: depth)
        #expect(StateChunks.root(of: top) == snapshot.stateRoot)
        var writes: [StateWrite] = []
        for index in 0..<(1 << depth) {
            let values = try snapshot.stateValues(inChunk: index, depth: depth)
            try StateChunks.verifyChunk(values.map { (key: $0.key.raw, valueHash: SHA256.hash($0.value)) }, index: index, depth: depth, expected: top[index])
            writes += values.map { StateWrite(key: $0.key, value: $0.value) }
        }
        #expect(writes.count == snapshot.allStateValues().count)
        let start = RocksStore.StartingBlock(
            block: try #require(snapshot.block(at: height)), results: try #require(snapshot.results(at: height)),
            certificate: try #require(snapshot.certificate(at: height)))
        let sets: [(from: UInt64, set: ValidatorSet)] = [(height, try #require(snapshot.validatorSet(signing: height))), (height + 1, try #require(snapshot.validatorSet(signing: height + 1)))]
        let restoredPath = temporaryRocksDatabase()
        #expect(try RocksStore.importState(path: restoredPath, at: start, validators: sets, writes: writes) == snapshot.stateRoot)
        let restored = try RocksStore(path: restoredPath)
        for _ in 0..<2 {
            try workload.applyNext(to: snapshot, transfers: 80)
            try workload.applyNext(to: restored, transfers: 80)
            #expect(restored.stateRoot == snapshot.stateRoot)
        }
    }

    /// The state root recomputed from every value, whether merged, unmerged or being merged, is
    /// the store's; a value changed behind the tree's back gives another, though the store opens.
    @Test func theRootRecomputedFromEveryValue() throws {
        let (path, store, reference, workload) = try Self.mergingStore(mergeEntriesMax: 1_500, seed: 15, accounts: 300)
        for _ in 0..<8 {
            try workload.applyNext(to: store, transfers: 50)
            try workload.applyNext(to: reference, transfers: 50)
            let recomputed = try store.recomputeStateRoot()
            #expect(recomputed.root == store.stateRoot && recomputed.values == reference.allStateValues().count)
        }
        #expect(store.mergedHeight != nil && store.mergedHeight != store.appliedHeight, "values both merged and unmerged")
        try store.merge()
        let (key, value) = try #require(reference.allStateValues().first { $0.value.count > 40 })
        var changed = value
        changed[changed.count - 1] ^= 0x01
        let root = store.stateRoot
        _ = consume store
        try RocksStoreTestAccess.putStateValue(path, key: key.bytes, value: changed)
        let damaged = try RocksStore(path: path)
        #expect(damaged.stateRoot == root)   // the stored tree still says the old root
        #expect(try damaged.recomputeStateRoot().root != root)
    }

    /// A RocksDB store that merges every few blocks, with tiny caches, and an in-memory reference,
    /// both initialised by the workload.
    static func mergingStore(mergeEntriesMax: Int, seed: UInt64, accounts: Int, options: RocksStore.Options = RocksStore.Options()) throws
        -> (String, RocksStore, MemoryStore, Workload)
    {
        var options = options
        (options.mergeEntriesMax, options.nodeCacheEntriesMax, options.valueCacheEntriesMax) = (mergeEntriesMax, 300, 100)
        let path = temporaryRocksDatabase(), store = try RocksStore(path: path, options: options), reference = MemoryStore()
        let workload = Workload(seed: seed, accounts: accounts)
        try workload.initialise(store)
        try workload.initialise(reference)
        return (path, store, reference, workload)
    }

    /// Snapshots taken between commits — with changes merged, in the log and being merged — open
    /// as stores at that height with that state, blocks and indexes, while the original goes on.
    @Test func snapshotsOpenAsTheStoreAtTheirHeight() throws {
        let (path, store, reference, workload) = try Self.mergingStore(mergeEntriesMax: 2_000, seed: 9, accounts: 400)
        var snapshots: [(height: UInt64, path: String, values: [Digest: [UInt8]], root: Digest)] = []
        var sawMerged = false, sawUnmerged = false
        for height in 1...12 as ClosedRange<UInt64> {
            try workload.applyNext(to: store, transfers: 60)
            try workload.applyNext(to: reference, transfers: 60)
            guard height % 3 == 0 else { continue }
            sawMerged = sawMerged || store.mergedHeight != nil
            sawUnmerged = sawUnmerged || store.mergedHeight != height
            let copy = path + "-snapshot-\(height)"
            try store.snapshot(to: copy)
            snapshots.append((height, copy, reference.allStateValues(), reference.stateRoot))
        }
        #expect(sawMerged && sawUnmerged, "snapshots were taken both after merges and with changes only in the log")
        #expect(throws: StoreError.self) { try store.snapshot(to: snapshots[0].path) }   // the directory exists
        for snapshot in snapshots {
            let opened = try RocksStore(path: snapshot.path)
            #expect(opened.appliedHeight == snapshot.height && opened.stateRoot == snapshot.root)
            #expect(opened.allStateValues() == snapshot.values)
            #expect(opened.block(at: snapshot.height) == store.block(at: snapshot.height))
            #expect(opened.block(at: snapshot.height + 1) == nil)
            #expect(opened.certificate(at: snapshot.height) == store.certificate(at: snapshot.height))
            let id = try #require(store.block(at: snapshot.height)?.transactions.first?.id)
            #expect(opened.transactionLocation(id) == store.transactionLocation(id))
        }
        #expect(store.appliedHeight == 12 && store.stateRoot == reference.stateRoot)
    }

    /// A snapshot written on its own thread while blocks are committed and merged: the copy is
    /// the store at some height in between, whole.
    @Test func aSnapshotBesideCommitsAndMergesIsOneHeight() throws {
        let (path, store, reference, workload) = try Self.mergingStore(mergeEntriesMax: 1_000, seed: 12, accounts: 300)
        var states: [UInt64: (values: [Digest: [UInt8]], root: Digest)] = [:]
        for round in 0..<5 {
            let copy = path + "-copy-\(round)", ended = DispatchSemaphore(value: 0)
            let first = store.appliedHeight!
            states[first] = (reference.allStateValues(), reference.stateRoot)
            try store.startSnapshot(to: copy) { error in
                #expect(error == nil)
                ended.signal()
            }
            #expect(throws: StoreError.self) { try store.startSnapshot(to: copy + "-second") { _ in } }
            for _ in 0..<4 {
                try workload.applyNext(to: store, transfers: 50)
                try workload.applyNext(to: reference, transfers: 50)
                states[store.appliedHeight!] = (reference.allStateValues(), reference.stateRoot)
            }
            ended.wait()
            let summary = try RocksStore.summary(of: copy)
            let opened = try RocksStore(path: copy)
            let height = try #require(opened.appliedHeight)
            #expect(height >= first && height <= first + 4)
            #expect(summary.height == height && summary.stateRoot == opened.stateRoot)
            #expect(opened.stateRoot == states[height]?.root && opened.allStateValues() == states[height]?.values)
        }
        #expect(store.mergedHeight != nil, "merges ran")
    }

    /// The window the order of the checkpoints leaves: `state/` copied, then merges end and the
    /// log would lose the rows they covered before `log/` is copied. The copy must still be whole.
    @Test func mergesBetweenTheTwoCheckpointsKeepTheCopyWhole() throws {
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        var options = RocksStore.Options()
        options.betweenSnapshotCheckpoints = {
            held.signal()
            release.wait()
        }
        let (path, store, reference, workload) = try Self.mergingStore(mergeEntriesMax: options.mergeEntriesMax, seed: 13, accounts: 200, options: options)
        for _ in 0..<2 {
            try workload.applyNext(to: store, transfers: 40)
            try workload.applyNext(to: reference, transfers: 40)
        }
        let expected = (values: reference.allStateValues(), root: reference.stateRoot)
        let ended = DispatchSemaphore(value: 0)
        try store.startSnapshot(to: path + "-copy") { error in
            #expect(error == nil)
            ended.signal()
        }
        held.wait()   // state/ is copied, at merged height nil (nothing merged yet)
        for _ in 0..<3 {
            try workload.applyNext(to: store, transfers: 40)
            try store.merge()   // merged and finished: the rows it covered would be deleted now
        }
        release.signal()
        ended.wait()
        let opened = try RocksStore(path: path + "-copy")
        #expect(opened.appliedHeight == 5)
        try workload.applyNext(to: reference, transfers: 40)
        try workload.applyNext(to: reference, transfers: 40)
        try workload.applyNext(to: reference, transfers: 40)
        #expect(opened.stateRoot == reference.stateRoot && opened.allStateValues() == reference.allStateValues())
        #expect(expected.root != reference.stateRoot)
        try store.merge()   // the next merge deletes the rows kept for the snapshot
        #expect(store.mergedHeight == 5)
    }
}

/// The two stores' merges, for tests that run on both.
protocol MergingStore: LedgerStore {
    var mergedHeight: UInt64? { get }
    func merge() throws(StoreError)
    var diskBytes: Int64 { get }
}

extension SQLiteStore: MergingStore {}
extension RocksStore: MergingStore {}
