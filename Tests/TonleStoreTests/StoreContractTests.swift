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
    /// blocks, with tiny caches, so reads come from the tables, the log and the caches in turn.
    case memory, sqlite, sqliteMerging, rocks, rocksMerging

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

}

/// The two stores' merges, for tests that run on both.
protocol MergingStore: LedgerStore {
    var mergedHeight: UInt64? { get }
    func merge() throws(StoreError)
    var diskBytes: Int64 { get }
}

extension SQLiteStore: MergingStore {}
extension RocksStore: MergingStore {}
