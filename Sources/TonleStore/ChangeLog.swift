import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleStorage
import TonleTypes

/// What one commit changed, as one row of the `changes` log: the state writes, the transactions
/// with their results, and the account-history entries. The tree's node writes are not logged:
/// they follow from the state writes, so reopening recomputes them (and checks the root).
struct ChangeSet {
    var stateWrites: [StateWrite]
    var nodeWrites: [(NodePosition, MerkleNode?)]
    var transactions: [(TransactionID, TransactionLocation)]
    var history: [(AccountID, AccountHistoryEntry)]

    init(_ batch: CommitBatch) {
        stateWrites = batch.stateWrites
        nodeWrites = batch.nodeWrites
        transactions = batch.transactionIDs.enumerated().map { index, id in
            (id, TransactionLocation(height: batch.height, index: UInt32(index), result: batch.results[index]))
        }
        history = batch.accountIndex.map { entry in
            (entry.account, AccountHistoryEntry(height: batch.height, index: entry.index, transaction: batch.transactionIDs[Int(entry.index)],
                                                balances: entry.balances))
        }
    }

    var encoded: [UInt8] {
        var w = CanonicalWriter(reservingCapacity: stateWrites.count * 200 + nodeWrites.count * 100)
        w.list(stateWrites) { w, write in
            w.bytes32(write.key.raw)
            w.optional(write.value) { w, value in w.lengthPrefixed(value) }
        }
        w.list(transactions) { w, entry in
            w.bytes32(entry.0.digest.raw)
            w.u64(entry.1.height)
            w.u32(entry.1.index)
            entry.1.result.encode(to: &w)
        }
        w.list(history) { w, entry in
            entry.0.encode(to: &w)
            w.u64(entry.1.height)
            w.u32(entry.1.index)
            w.bytes32(entry.1.transaction.digest.raw)
        }
        // The balances after each history entry, in the same order: appended, so rows written
        // before balances were kept still decode (without them).
        w.list(history) { w, entry in w.optional(entry.1.balances) { w, balances in w.list(balances) } }
        return w.bytes
    }

    init(encoded bytes: [UInt8]) throws(DecodeError) {
        var r = CanonicalReader(bytes)
        let many = Int(UInt32.max)
        stateWrites = try r.list("state writes", max: many, elementBytesMin: 33) { (r: inout CanonicalReader) throws(DecodeError) in
            StateWrite(key: Digest(try r.bytes32("key")), value: try r.optional("value") { (r: inout CanonicalReader) throws(DecodeError) in
                Array(try r.lengthPrefixed("value", max: Limits.transactionBytesMax * 4)) })
        }
        nodeWrites = []
        transactions = try r.list("transactions", max: many, elementBytesMin: 45) { (r: inout CanonicalReader) throws(DecodeError) in
            let id = TransactionID(Digest(try r.bytes32("id")))
            let (height, index) = (try r.u64("height"), try r.u32("index"))
            return (id, TransactionLocation(height: height, index: index, result: try TransactionResult(from: &r)))
        }
        history = try r.list("history", max: many, elementBytesMin: 52) { (r: inout CanonicalReader) throws(DecodeError) in
            let account = try AccountID(from: &r)
            let (height, index) = (try r.u64("height"), try r.u32("index"))
            return (account, AccountHistoryEntry(height: height, index: index, transaction: TransactionID(Digest(try r.bytes32("id")))))
        }
        if r.remaining > 0 {
            let balances = try r.list("history balances", max: many, elementBytesMin: 1) { (r: inout CanonicalReader) throws(DecodeError) in
                try r.optional("balances") { (r: inout CanonicalReader) throws(DecodeError) in
                    try r.list("balances", of: Balance.self, max: Currency.allCases.count, elementBytesMin: 18)
                }
            }
            guard balances.count == history.count else { throw .invalidValue(field: "history balances", reason: "\(balances.count) for \(history.count) entries") }
            history = zip(history, balances).map { entry, balances in
                (entry.0, AccountHistoryEntry(height: entry.1.height, index: entry.1.index, transaction: entry.1.transaction, balances: balances))
            }
        }
        try r.finish()
    }
}

/// The changes committed since the last merge, in memory, newest winning: reads look here first.
struct RecentChanges {
    var state: [Digest: [UInt8]?] = [:]
    var nodes: [NodePosition: MerkleNode?] = [:]
    var transactions: [TransactionID: TransactionLocation] = [:]
    /// Per account, oldest first.
    var history: [AccountID: [AccountHistoryEntry]] = [:]
    var historyCount = 0

    var entries: Int { state.count + nodes.count + transactions.count + historyCount }

    /// Room for `entries` changes, so the tables never rehash while a block commits.
    mutating func reserve(_ entries: Int) {
        state.reserveCapacity(entries / 8)
        nodes.reserveCapacity(entries * 3 / 4)
        transactions.reserveCapacity(entries / 16)
    }

    mutating func apply(_ changes: ChangeSet) {
        for write in changes.stateWrites { state[write.key] = .some(write.value) }
        for (position, node) in changes.nodeWrites { nodes[position] = .some(node) }
        for (id, location) in changes.transactions { transactions[id] = location }
        for (account, entry) in changes.history { history[account, default: []].append(entry) }
        historyCount += changes.history.count
    }
}

extension ChangeSet {
    /// A logged commit read back on opening, with its tree writes recomputed against `tree` (the
    /// store as replayed so far); the root must come out as `root`, the one stored for `height`.
    static func replayed(height: UInt64, _ bytes: [UInt8], tree: any MerkleNodeReader, root: Digest?) throws(StoreError) -> ChangeSet {
        var changes: ChangeSet
        do { changes = try ChangeSet(encoded: bytes) } catch { throw .corrupt("change log of height \(height): \(error)") }
        let update = SparseMerkleTree.update(tree, changes.stateWrites.map { MerkleUpdate(key: $0.key.raw, valueHash: $0.value.map { SHA256.hash($0) }) })
        changes.nodeWrites = update.writes
        guard update.root == root else { throw .corrupt("replaying height \(height) gives root \(update.root), not the stored root") }
        return changes
    }
}

/// Merged tree nodes and state values kept decoded in memory, each table bounded: when a table
/// would pass its bound it is emptied and refills from reads.
///
/// A table loaded with every merged entry (`RocksStore` at opening, when they fit) is *complete*:
/// a key it lacks is known to be absent, with no read of the engine. It stays complete while every
/// merged change reaches it; the first entry dropped for lack of room (or emptying it) ends that.
struct MergedCaches {
    let nodesMax: Int
    let valuesMax: Int
    /// Nodes above this depth are not kept (the store holds them elsewhere).
    let nodesFromDepth: Int
    /// Grow both tables to their bounds when the first merge warms them (`RocksStore`).
    let reserveAtFirstWarm: Bool
    private var nodes: [NodePosition: MerkleNode] = [:]
    private var values: [Digest: [UInt8]?] = [:]
    /// Every merged node (at or below `nodesFromDepth`; those above are held complete elsewhere) and
    /// every merged state value is in its table.
    private(set) var nodesComplete = false
    private(set) var valuesComplete = false

    init(nodesMax: Int, valuesMax: Int, nodesFromDepth: Int = 0, reserveAtFirstWarm: Bool = false) {
        (self.nodesMax, self.valuesMax, self.nodesFromDepth, self.reserveAtFirstWarm) = (nodesMax, valuesMax, nodesFromDepth, reserveAtFirstWarm)
    }

    /// `.some(nil)`: known absent (the table is complete).
    func node(_ position: NodePosition) -> MerkleNode?? {
        if let node = nodes[position] { return node }
        return nodesComplete ? .some(nil) : nil
    }
    /// `.some(nil)`: known absent.
    func value(_ key: Digest) -> [UInt8]?? {
        if let value = values[key] { return value }
        return valuesComplete ? .some(nil) : nil
    }

    mutating func keep(_ node: MerkleNode, at position: NodePosition) {
        if nodes.count < nodesMax, position.depth >= nodesFromDepth { nodes[position] = node }
    }
    mutating func keep(_ value: [UInt8]?, for key: Digest) { if values.count < valuesMax { values[key] = .some(value) } }

    /// A merged node read at opening (`RocksStore`): false when the table is full (then it is not
    /// complete, and the reading may stop).
    mutating func preload(_ node: MerkleNode, at position: NodePosition) -> Bool {
        guard position.depth >= nodesFromDepth else { return true }
        guard nodes.count < nodesMax else { return false }
        nodes[position] = node
        return true
    }

    mutating func preload(_ value: [UInt8], for key: Digest) -> Bool {
        guard values.count < valuesMax else { return false }
        values[key] = .some(value)
        return true
    }

    /// After a preload that read every merged node (or value) of the engine into the table.
    mutating func preloaded(allNodes: Bool, allValues: Bool) { (nodesComplete, valuesComplete) = (allNodes, allValues) }

    /// Keeps what was just merged readable without a query, within the bounds. A merged key never
    /// keeps an older cached value: it is updated, or dropped when the table is full.
    mutating func warm(from merged: RecentChanges) {
        var warming = Warming(merged)
        warm(&warming, budget: .max)
    }

    /// Merged changes on their way into the caches a slice at a time, so no single commit pays for
    /// a whole merge's worth (`RocksStore`). Until `isDone`, a cached value of one of its keys may
    /// be older than the merge: reads must look in `changes` before the caches.
    struct Warming {
        let changes: RecentChanges
        fileprivate var started = false
        fileprivate var node: Dictionary<NodePosition, MerkleNode?>.Index
        fileprivate var value: Dictionary<Digest, [UInt8]?>.Index

        init(_ changes: RecentChanges) {
            (self.changes, node, value) = (changes, changes.nodes.startIndex, changes.state.startIndex)
        }

        var isDone: Bool { node == changes.nodes.endIndex && value == changes.state.endIndex }
    }

    /// Moves up to `budget` more of `warming`'s entries into the caches (as `warm(from:)` does).
    mutating func warm(_ warming: inout Warming, budget: Int) {
        if !warming.started {
            warming.started = true
            // Grown to their bounds now, while small: doubling later rehashed millions of entries
            // in one commit (~0.7 s at 1.5M nodes, ~1.2 s at 3M).
            if reserveAtFirstWarm, nodes.capacity < nodesMax { nodes.reserveCapacity(nodesMax) }
            if reserveAtFirstWarm, values.capacity < valuesMax { values.reserveCapacity(valuesMax) }
            if nodes.count + warming.changes.nodes.count > nodesMax { nodes.removeAll(keepingCapacity: true); nodesComplete = false }
            if values.count + warming.changes.state.count > valuesMax { values.removeAll(keepingCapacity: true); valuesComplete = false }
        }
        var budget = budget
        let merged = warming.changes
        while budget > 0, warming.node != merged.nodes.endIndex {
            let (position, node) = merged.nodes[warming.node]
            merged.nodes.formIndex(after: &warming.node)
            budget -= 1
            guard position.depth >= nodesFromDepth else { continue }
            if let node {
                if nodes.count < nodesMax { nodes[position] = node } else { nodes[position] = nil; nodesComplete = false }
            } else {
                nodes[position] = nil
            }
        }
        while budget > 0, warming.value != merged.state.endIndex {
            let (key, value) = merged.state[warming.value]
            merged.state.formIndex(after: &warming.value)
            budget -= 1
            if valuesComplete, value == nil {
                values[key] = nil  // complete: absent is known without an entry
            } else if values.count < valuesMax {
                values[key] = .some(value)
            } else {
                values[key] = nil
                valuesComplete = false
            }
        }
    }
}

/// An account-history row's value in either engine (its key is the account, height and index).
enum HistoryRow {
    /// A history row's value: the transaction id, then the balances after it when it wrote them
    /// (rows written before balances were kept hold the id only).
    static func value(_ entry: AccountHistoryEntry) -> [UInt8] {
        guard let balances = entry.balances else { return entry.transaction.digest.bytes }
        var writer = CanonicalWriter(reservingCapacity: 32 + 4 + 18 * balances.count)
        writer.raw(entry.transaction.digest.bytes)
        writer.list(balances)
        return writer.bytes
    }

    static func entry(height: UInt64, index: UInt32, value: [UInt8]) -> AccountHistoryEntry {
        guard value.count >= 32, let id = Digest(value[..<32]) else { preconditionFailure("corrupt account history row at height \(height)") }
        var balances: [Balance]?
        if value.count > 32 {
            var reader = CanonicalReader(Array(value[32...]))
            do {
                balances = try reader.list("balances", of: Balance.self, max: Currency.allCases.count, elementBytesMin: 18)
                try reader.finish()
            } catch { preconditionFailure("corrupt balances in an account history row at height \(height): \(error)") }
        }
        return AccountHistoryEntry(height: height, index: index, transaction: TransactionID(id), balances: balances)
    }
}
