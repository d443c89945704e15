import Foundation
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleStorage
import TonleTypes

/// A node's store in one SQLite database (WAL mode): state values, tree nodes, blocks with their
/// results and certificates, and the indexes (docs/storage.md).
///
/// A commit appends the block and one row of its changes (`changes`) in one SQLite transaction:
/// small, sequential writes, so after a crash the database is at the last committed height. The
/// changes since the last merge are also kept in memory, where reads find them first. When they
/// pass `mergeEntriesMax` they are merged, sorted, into the keyed tables (state, nodes,
/// transactions, account history) in one transaction, so each page of those tables is rewritten
/// once per merge rather than once per block. Opening replays the log since the last merge.
///
/// One owner at a time: the node's serial executor (or a test) holds it; it is not thread-safe.
public final class SQLiteStore: LedgerStore {
    public struct Options: Sendable {
        /// `FULL` syncs the WAL on every commit (durable against power loss); `NORMAL` syncs at
        /// checkpoints only (durable against process crashes, may lose the last commits on power loss).
        public var synchronousFull = true
        /// SQLite's page cache, in KiB.
        public var pageCacheKiB = 256 * 1024
        /// Merged tree nodes kept decoded in memory (about 200 bytes each); emptied when full.
        public var nodeCacheEntriesMax = 4_000_000
        /// Merged state values kept in memory (about 300 bytes each); emptied when full.
        public var valueCacheEntriesMax = 2_000_000
        /// Unmerged changes (state values, nodes, index rows) held in memory before a merge.
        public var mergeEntriesMax = 2_000_000

        public init() {}
    }

    /// 2: results Merkle roots instead of hashes, and the validator set of every height.
    /// 3: state records of the encodings with UETRs, correction windows and prefund alerts.
    public static let schemaVersion: Int64 = 3

    public let path: String
    private let connection: SQLiteConnection
    private let options: Options
    public private(set) var appliedHeight: UInt64?
    public private(set) var stateRoot: Digest = .zero
    private var caches: MergedCaches
    private var recent = RecentChanges()
    /// The latest validator set and the first height it signs (so a commit writes one only when it changes).
    private var latestValidators: (from: UInt64, set: ValidatorSet)?
    /// The last height whose changes are in the keyed tables (nil: none yet).
    public private(set) var mergedHeight: UInt64?
    public private(set) var historyBalancesFrom: UInt64 = 0
    private let statements: Statements

    /// Opens (creating if needed) the database at `path`, and checks that the stored state root is
    /// the root of the stored tree.
    public init(path: String, options: Options = Options()) throws(StoreError) {
        (self.path, self.options) = (path, options)
        caches = MergedCaches(nodesMax: options.nodeCacheEntriesMax, valuesMax: options.valueCacheEntriesMax)
        connection = try SQLiteConnection(path: path)
        try connection.execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = \(options.synchronousFull ? "FULL" : "NORMAL");
            PRAGMA cache_size = -\(options.pageCacheKiB);
            PRAGMA temp_store = MEMORY;
            """)
        try Self.createSchema(connection)
        statements = try Statements(connection)
        try loadMeta()
        // Recorded when first opened by a version that keeps balances in the account history.
        if let stored = try statements.meta.bind(.text("history_balances_from")).first({ $0.int(0) }) {
            guard let from = UInt64(exactly: stored) else { throw .corrupt("history_balances_from is \(stored)") }
            historyBalancesFrom = from
        } else {
            historyBalancesFrom = appliedHeight.map { $0 + 1 } ?? 0
            // At most heightMax + 1, which is one past Int64's range: stored clamped (no height reaches it).
            try statements.putMeta.bind(.text("history_balances_from"), .int(Int64(clamping: historyBalancesFrom))).run()
        }
    }

    private static func createSchema(_ connection: SQLiteConnection) throws(StoreError) {
        try connection.execute("""
            BEGIN;
            CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS nodes (position BLOB PRIMARY KEY, node BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash BLOB NOT NULL, block BLOB NOT NULL,
                results BLOB NOT NULL, results_root BLOB NOT NULL, certificate BLOB, state_root BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS validator_sets (from_height INTEGER PRIMARY KEY, validators BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS transactions (id BLOB PRIMARY KEY, height INTEGER NOT NULL, position INTEGER NOT NULL,
                result BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS account_history (account TEXT NOT NULL, height INTEGER NOT NULL, position INTEGER NOT NULL,
                id BLOB NOT NULL, PRIMARY KEY (account, height, position)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS changes (height INTEGER PRIMARY KEY, changes BLOB NOT NULL);
            INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', \(schemaVersion));
            COMMIT;
            """)
    }

    private func loadMeta() throws(StoreError) {
        guard let schema = try statements.meta.bind(.text("schema")).first({ $0.int(0) }), schema == Self.schemaVersion else {
            throw .corrupt("unknown schema version (this build reads version \(Self.schemaVersion))")
        }
        guard let height = try statements.meta.bind(.text("applied_height")).first({ $0.int(0) }) else { return }
        guard let root = try statements.meta.bind(.text("state_root")).first({ Digest($0.blob(0)) }) ?? nil else {
            throw .corrupt("applied height without a state root")
        }
        (appliedHeight, stateRoot) = (UInt64(height), root)
        mergedHeight = try statements.meta.bind(.text("merged_height")).first { UInt64($0.int(0)) }
        let replay = try statements.changesAfter.bind(.int(mergedHeight.map { Int64($0) } ?? -1)).rows { ($0.int(0), $0.blob(1)) }
        for (height, bytes) in replay { try replayChanges(height: UInt64(height), bytes) }
        guard replay.last.map({ UInt64($0.0) }) ?? mergedHeight == appliedHeight else {
            throw .corrupt("the change log ends at \(replay.last?.0 ?? -1) but the applied height is \(height)")
        }
        latestValidators = try statements.latestValidators.first { row in
            (UInt64(row.int(0)), decoded(row.blob(1), as: ValidatorSet.self, "the latest validator set"))
        }
        let treeRoot = SparseMerkleTree.root(self)
        guard treeRoot == root else { throw .corrupt("stored root \(root) but the tree's root is \(treeRoot)") }
    }

    /// Puts one logged commit back in memory, recomputing its tree nodes; the root must come out
    /// as the one stored for that height.
    private func replayChanges(height: UInt64, _ bytes: [UInt8]) throws(StoreError) {
        recent.apply(try ChangeSet.replayed(height: height, bytes, tree: self, root: stateRoot(at: height)))
    }

    // MARK: Commit

    public func commit(_ batch: CommitBatch) throws(StoreError) {
        let expected = appliedHeight.map { $0 + 1 } ?? 0
        guard batch.height == expected else { throw .heightGap(expected: expected, got: batch.height) }
        let changes = ChangeSet(batch)
        guard let height = Int64(exactly: batch.height) else { throw .corrupt("height \(batch.height) is above \(Limits.heightMax)") }
        try transaction { () throws(StoreError) in
            if let block = batch.block {
                let results = try! BlockResults(batch.results).encoded
                try statements.putBlock.bind(
                    .int(height), .blob(block.hash.bytes), .blob(block.encoded), .blob(results), .blob(batch.resultsRoot.bytes),
                    batch.certificate.map { .blob($0.encoded) } ?? .null, .blob(batch.stateRoot.bytes)).run()
            }
            try statements.putChanges.bind(.int(height), .blob(changes.encoded)).run()
            try statements.putMeta.bind(.text("applied_height"), .int(height)).run()
            try statements.putMeta.bind(.text("state_root"), .blob(batch.stateRoot.bytes)).run()
            if batch.height == 0 { try statements.putMeta.bind(.text("genesis_root"), .blob(batch.stateRoot.bytes)).run() }
            if latestValidators?.set != batch.validators {
                try statements.putValidators.bind(.int(height + 1), .blob(batch.validators.encoded)).run()
            }
        }
        if latestValidators?.set != batch.validators { latestValidators = (batch.height + 1, batch.validators) }
        (appliedHeight, stateRoot) = (batch.height, batch.stateRoot)
        if recent.entries == 0 { recent.reserve(options.mergeEntriesMax) }
        recent.apply(changes)
        if recent.entries > options.mergeEntriesMax { try merge() }
    }

    /// Moves the unmerged changes into the keyed tables, sorted, in one transaction, and drops
    /// them from the log. A crash before its commit leaves the log to be replayed; after it,
    /// nothing is left to replay.
    public func merge() throws(StoreError) {
        guard let height = appliedHeight, height != mergedHeight else { return }
        try transaction { () throws(StoreError) in
            for (key, value) in recent.state.sorted(by: { $0.key < $1.key }) {
                if let value { try statements.putState.bind(.blob(key.bytes), .blob(value)).run() } else { try statements.deleteState.bind(.blob(key.bytes)).run() }
            }
            // Sorted by path (then depth): the order the table keys (path bytes, then depth) cluster in.
            for (position, node) in recent.nodes.sorted(by: { $0.key < $1.key }) {
                if let node {
                    try statements.putNode.bind(.blob(position.storageKey), .blob(node.encoded)).run()
                } else {
                    try statements.deleteNode.bind(.blob(position.storageKey)).run()
                }
            }
            for (id, location) in recent.transactions.sorted(by: { $0.key < $1.key }) {
                var writer = CanonicalWriter(reservingCapacity: 8)
                location.result.encode(to: &writer)
                try statements.putTransaction.bind(.blob(id.digest.bytes), .int(Int64(location.height)), .int(Int64(location.index)), .blob(writer.bytes)).run()
            }
            for (account, entries) in recent.history.sorted(by: { $0.key < $1.key }) {
                for entry in entries {
                    try statements.putHistory.bind(.text(account.text), .int(Int64(entry.height)), .int(Int64(entry.index)), .blob(HistoryRow.value(entry))).run()
                }
            }
            try statements.putMeta.bind(.text("merged_height"), .int(Int64(height))).run()
            try statements.deleteChanges.bind(.int(Int64(height))).run()
        }
        mergedHeight = height
        caches.warm(from: recent)
        recent = RecentChanges()
    }

    private func transaction(_ body: () throws(StoreError) -> Void) throws(StoreError) {
        try connection.execute("BEGIN IMMEDIATE")
        do {
            try body()
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    // MARK: Reads
    //
    // The protocols' reads cannot throw: an I/O error while reading committed data means the
    // store can no longer be trusted, so it stops the process with the reason.

    public func stateValue(for key: Digest) -> [UInt8]? {
        if let value = recent.state[key] { return value }
        if let value = caches.value(key) { return value }
        let value = read { () throws(StoreError) in try statements.getState.bind(.blob(key.bytes)).first { $0.blob(0) } }
        caches.keep(value, for: key)
        return value
    }

    public func merkleNode(at position: NodePosition) -> MerkleNode? {
        if let node = recent.nodes[position] { return node }
        if let node = caches.node(position) { return node }
        let node: MerkleNode? = read { () throws(StoreError) in
            try statements.getNode.bind(.blob(position.storageKey)).first { row in
                guard let node = MerkleNode(encoded: row.blob(0)) else { preconditionFailure("corrupt tree node at \(position) in \(path)") }
                return node
            }
        }
        if let node { caches.keep(node, at: position) }
        return node
    }

    public func block(at height: UInt64) -> Block? {
        blockColumn(height, "block").map { decoded($0, as: Block.self, "block \(height)") }
    }

    /// Block `height`'s header and number of transactions, without decoding its transactions
    /// (listing blocks, the status snapshot).
    public func blockSummary(at height: UInt64) -> (header: BlockHeader, transactions: Int)? {
        blockColumn(height, "block").map { bytes in
            var reader = CanonicalReader(bytes)
            do {
                try reader.header(Block.self)
                return (try BlockHeader(from: &reader), Int(try reader.u32("transactions")))
            } catch { preconditionFailure("corrupt block \(height) in \(path): \(error)") }
        }
    }

    public func results(at height: UInt64) -> [TransactionResult]? {
        blockColumn(height, "results").map { decoded($0, as: BlockResults.self, "results \(height)").results }
    }

    public func certificate(at height: UInt64) -> CommitCertificate? {
        blockColumn(height, "certificate").map { decoded($0, as: CommitCertificate.self, "certificate \(height)") }
    }

    public func stateRoot(at height: UInt64) -> Digest? {
        if height == 0 { return read { () throws(StoreError) in try statements.meta.bind(.text("genesis_root")).first { Digest($0.blob(0))! } } }
        return blockColumn(height, "state_root").map { Digest($0)! }
    }

    public func allStateValues() -> [Digest: [UInt8]] {
        var values: [Digest: [UInt8]] = [:]
        for (key, value) in read({ () throws(StoreError) in try statements.allState.rows { (Digest($0.blob(0))!, $0.blob(1)) } }) { values[key] = value }
        for (key, value) in recent.state { values[key] = value }
        return values
    }

    public func hashes(at height: UInt64) -> (block: Digest, results: Digest)? {
        guard let height = Int64(exactly: height) else { return nil }
        return read { () throws(StoreError) in
            try statements.hashes.bind(.int(height)).first { (block: Digest($0.blob(0))!, results: Digest($0.blob(1))!) }
        }
    }

    public func validatorSet(signing height: UInt64) -> ValidatorSet? {
        guard height >= 1, height <= (appliedHeight ?? 0) + 1, let bound = Int64(exactly: height) else { return nil }
        if let latest = latestValidators, latest.from <= height { return latest.set }
        return read { () throws(StoreError) in
            try statements.validatorsAt.bind(.int(bound)).first { decoded($0.blob(0), as: ValidatorSet.self, "the validator set of block \(height)") }
        }
    }

    public func transactionLocation(_ id: TransactionID) -> TransactionLocation? {
        if let location = recent.transactions[id] { return location }
        return read { () throws(StoreError) in
            try statements.getTransaction.bind(.blob(id.digest.bytes)).first { row in
                var reader = CanonicalReader(row.blob(2))
                guard let result = try? TransactionResult(from: &reader) else { preconditionFailure("corrupt result of \(id) in \(path)") }
                return TransactionLocation(height: UInt64(row.int(0)), index: UInt32(row.int(1)), result: result)
            }
        }
    }

    public func accountHistory(_ account: AccountID, before cursor: HistoryCursor?, limit: Int) -> [AccountHistoryEntry] {
        let limit = max(0, min(limit, StoreLimits.historyPageMax))
        // Unmerged entries are newer than every merged one: take them first, then the table.
        let newer = (recent.history[account] ?? []).reversed().filter { entry in cursor.map { entry.cursor < $0 } ?? true }
        var page = Array(newer.prefix(limit))
        guard page.count < limit else { return page }
        // A cursor above every stored height (even one past Int64) starts from the newest entry.
        let (height, index) = (page.last?.cursor ?? cursor).map { (Int64(clamping: $0.height), Int64($0.index)) } ?? (Int64.max, Int64.max)
        page += read { () throws(StoreError) in
            try statements.getHistory.bind(.text(account.text), .int(height), .int(height), .int(index), .int(Int64(limit - page.count))).rows { row in
                guard let height = UInt64(exactly: row.int(0)), let index = UInt32(exactly: row.int(1)) else {
                    preconditionFailure("corrupt account history row of \(account) in \(path)")
                }
                return HistoryRow.entry(height: height, index: index, value: row.blob(2))
            }
        }
        return page
    }

    /// Bytes on disk: the database file, its WAL and its shared-memory index.
    public var diskBytes: Int64 {
        ["", "-wal", "-shm"].reduce(0) { total, suffix in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? NSNumber)?.int64Value ?? 0
            return total + size
        }
    }

    /// Merges the unmerged changes, then moves the WAL's contents into the database file and empties it.
    public func checkpoint() throws(StoreError) {
        try merge()
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// Block `height`'s `column`; nil for a height no block can have (above `Limits.heightMax`).
    private func blockColumn(_ height: UInt64, _ column: String) -> [UInt8]? {
        guard let height = Int64(exactly: height) else { return nil }
        let statement = statements.blockColumns[column]!
        return read { () throws(StoreError) in
            try statement.bind(.int(height)).first { $0.isNull(0) ? nil : $0.blob(0) } ?? nil
        }
    }

    private func decoded<M: CanonicalMessage>(_ bytes: [UInt8], as _: M.Type, _ what: String) -> M {
        do { return try M(canonical: bytes) } catch { preconditionFailure("corrupt \(what) in \(path): \(error)") }
    }

    private func read<T>(_ body: () throws(StoreError) -> T) -> T {
        do { return try body() } catch { preconditionFailure("reading \(path) failed: \(error)") }
    }
}

/// The prepared statements, made once per connection.
private struct Statements {
    let meta, putMeta, putChanges, changesAfter, deleteChanges: SQLiteStatement
    let getState, allState, putState, deleteState: SQLiteStatement
    let getNode, putNode, deleteNode: SQLiteStatement
    let putBlock, hashes, putTransaction, getTransaction, putHistory, getHistory: SQLiteStatement
    let putValidators, validatorsAt, latestValidators: SQLiteStatement
    let blockColumns: [String: SQLiteStatement]

    init(_ c: SQLiteConnection) throws(StoreError) {
        meta = try c.prepare("SELECT value FROM meta WHERE name = ?")
        putMeta = try c.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)")
        putChanges = try c.prepare("INSERT INTO changes (height, changes) VALUES (?, ?)")
        changesAfter = try c.prepare("SELECT height, changes FROM changes WHERE height > ? ORDER BY height")
        deleteChanges = try c.prepare("DELETE FROM changes WHERE height <= ?")
        getState = try c.prepare("SELECT value FROM state WHERE key = ?")
        allState = try c.prepare("SELECT key, value FROM state")
        putState = try c.prepare("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)")
        deleteState = try c.prepare("DELETE FROM state WHERE key = ?")
        getNode = try c.prepare("SELECT node FROM nodes WHERE position = ?")
        putNode = try c.prepare("INSERT OR REPLACE INTO nodes (position, node) VALUES (?, ?)")
        deleteNode = try c.prepare("DELETE FROM nodes WHERE position = ?")
        putBlock = try c.prepare("INSERT INTO blocks (height, hash, block, results, results_root, certificate, state_root) VALUES (?, ?, ?, ?, ?, ?, ?)")
        hashes = try c.prepare("SELECT hash, results_root FROM blocks WHERE height = ?")
        putValidators = try c.prepare("INSERT OR REPLACE INTO validator_sets (from_height, validators) VALUES (?, ?)")
        validatorsAt = try c.prepare("SELECT validators FROM validator_sets WHERE from_height <= ? ORDER BY from_height DESC LIMIT 1")
        latestValidators = try c.prepare("SELECT from_height, validators FROM validator_sets ORDER BY from_height DESC LIMIT 1")
        putTransaction = try c.prepare("INSERT OR REPLACE INTO transactions (id, height, position, result) VALUES (?, ?, ?, ?)")
        getTransaction = try c.prepare("SELECT height, position, result FROM transactions WHERE id = ?")
        putHistory = try c.prepare("INSERT OR REPLACE INTO account_history (account, height, position, id) VALUES (?, ?, ?, ?)")
        getHistory = try c.prepare("""
            SELECT height, position, id FROM account_history
            WHERE account = ? AND (height < ? OR (height = ? AND position < ?))
            ORDER BY height DESC, position DESC LIMIT ?
            """)
        var columns: [String: SQLiteStatement] = [:]
        for column in ["block", "results", "certificate", "state_root"] {
            columns[column] = try c.prepare("SELECT \(column) FROM blocks WHERE height = ?")
        }
        blockColumns = columns
    }
}
