import Testing
import TonleCrypto
import TonleRuntime
import TonleStorage
import TonleStore
import TonleWorkload

/// A RocksStore reads its merged tree and state into memory when it opens. When all of it fits the
/// caches, every later read is answered from memory — absent keys included — across merges; when it
/// does not, reads go to RocksDB as before. Both must read exactly what a MemoryStore holds.
@Suite struct RocksPreloadTests {
    /// Caches that hold everything; that hold everything at opening but are outgrown by later
    /// blocks (the first entry dropped ends their completeness); that hold a fraction.
    enum Bounds: CaseIterable, Sendable { case ample, outgrown, tiny }

    @Test(arguments: Bounds.allCases)
    func reopenedStoresReadFromMemoryWhenEverythingFits(_ bounds: Bounds) throws {
        let path = temporaryRocksDatabase(), workload = Workload(seed: 21, accounts: 400), reference = MemoryStore()
        do {
            let store = try RocksStore(path: path)
            try workload.initialise(store)
            try workload.initialise(reference)
            for block in 1...8 {
                if block == 7 { try store.merge() }  // the last two blocks stay in the log, replayed on opening
                _ = try workload.applyNext(to: store, transfers: 60)
                _ = try workload.applyNext(to: reference, transfers: 60)
            }
        }
        var options = RocksStore.Options()
        (options.topNodeDepth, options.mergeEntriesMax) = (4, 3_000)
        switch bounds {
        case .ample: break
        case .outgrown:
            let nodes = reference.allNodes.filter { $0.key.depth > options.topNodeDepth }.count
            (options.nodeCacheEntriesMax, options.valueCacheEntriesMax) = (nodes + 20, reference.allStateValues().count + 20)
        case .tiny: (options.nodeCacheEntriesMax, options.valueCacheEntriesMax) = (300, 100)
        }
        let store = try RocksStore(path: path, options: options)
        #expect(store.stateRoot == reference.stateRoot)
        for _ in 0..<12 {  // several merges, their changes warming the caches a slice per commit
            let applied = try workload.applyNext(to: store, transfers: 60)
            _ = try workload.applyNext(to: reference, transfers: 60)
            #expect(applied.stateRoot == reference.stateRoot)
        }
        #expect(store.mergedHeight ?? 0 > 10, "merges happened")
        for (key, value) in reference.allStateValues() { #expect(store.stateValue(for: key) == value) }
        #expect(store.stateValue(for: SHA256.hash(Array("no such key".utf8))) == nil)
        for (position, node) in reference.allNodes.prefix(3_000) { #expect(store.merkleNode(at: position) == node) }
        if bounds == .ample {
            #expect(store.engineReads == 0, "everything fit: no read went to RocksDB")
        } else {
            #expect(store.engineReads > 0, "outgrown or tiny caches: reads go to RocksDB")
        }
    }
}
