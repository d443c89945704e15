import Foundation
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleStorage
import TonleTypes

/// A node's store in one SQLite database (WAL mode): state values, tree nodes, blocks with their
/// results and certificates, and the indexes. Each commit is one SQLite transaction, so after a
/// crash the database is at the last committed height (docs/storage.md).
///
/// One owner at a time: the node's serial executor (or a test) holds it; it is not thread-safe.
public final class SQLiteStore: LedgerStore {
    public struct Options: Sendable {
        /// `FULL` syncs the WAL on every commit (durable against power loss); `NORMAL` syncs at
        /// checkpoints only (durable against process crashes, may lose the last commits on power loss).
        public var synchronousFull = true
        /// SQLite's page cache, in KiB.
        public var pageCacheKiB = 256 * 1024
        /// Tree nodes kept decoded in memory (about 200 bytes each); the cache is emptied when full.
        public var nodeCacheEntriesMax = 4_000_000

        public init() {}
    }

    public static let schemaVersion: Int64 = 1

    public let path: String
    private let connection: SQLiteConnection
    private let options: Options
    public private(set) var appliedHeight: UInt64?
    public private(set) var stateRoot: Digest = .zero
    private var nodeCache: [NodePosition: MerkleNode] = [:]
    private let statements: Statements

    /// Opens (creating if needed) the database at `path`, and checks that the stored state root is
    /// the root of the stored tree.
    public init(path: String, options: Options = Options()) throws(StoreError) {
        (self.path, self.options) = (path, options)
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
    }

    private static func createSchema(_ connection: SQLiteConnection) throws(StoreError) {
        try connection.execute("""
            BEGIN;
            CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS nodes (position BLOB PRIMARY KEY, node BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash BLOB NOT NULL, block BLOB NOT NULL,
                results BLOB NOT NULL, certificate BLOB, state_root BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS transactions (id BLOB PRIMARY KEY, height INTEGER NOT NULL, position INTEGER NOT NULL,
                result BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS account_history (account TEXT NOT NULL, height INTEGER NOT NULL, position INTEGER NOT NULL,
                id BLOB NOT NULL, PRIMARY KEY (account, height, position)) WITHOUT ROWID;
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
        let treeRoot = SparseMerkleTree.root(self)
        guard treeRoot == root else { throw .corrupt("stored root \(root) but the tree's root is \(treeRoot)") }
    }

    // MARK: Commit

    public func commit(_ batch: CommitBatch) throws(StoreError) {
        let expected = appliedHeight.map { $0 + 1 } ?? 0
        guard batch.height == expected else { throw .heightGap(expected: expected, got: batch.height) }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            try write(batch)
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
        (appliedHeight, stateRoot) = (batch.height, batch.stateRoot)
        if nodeCache.count + batch.nodeWrites.count > options.nodeCacheEntriesMax { nodeCache.removeAll(keepingCapacity: true) }
        for (position, node) in batch.nodeWrites { nodeCache[position] = node }
    }

    private func write(_ batch: CommitBatch) throws(StoreError) {
        for write in batch.stateWrites {
            if let value = write.value {
                try statements.putState.bind(.blob(write.key.bytes), .blob(value)).run()
            } else {
                try statements.deleteState.bind(.blob(write.key.bytes)).run()
            }
        }
        for (position, node) in batch.nodeWrites {
            if let node {
                try statements.putNode.bind(.blob(position.storageKey), .blob(node.encoded)).run()
            } else {
                try statements.deleteNode.bind(.blob(position.storageKey)).run()
            }
        }
        let height = Int64(batch.height)
        if let block = batch.block {
            let results = try! BlockResults(batch.results)
            try statements.putBlock.bind(
                .int(height), .blob(block.hash.bytes), .blob(block.encoded), .blob(results.encoded),
                batch.certificate.map { .blob($0.encoded) } ?? .null, .blob(batch.stateRoot.bytes)).run()
            for (index, id) in batch.transactionIDs.enumerated() {
                var writer = CanonicalWriter(reservingCapacity: 8)
                batch.results[index].encode(to: &writer)
                try statements.putTransaction.bind(.blob(id.digest.bytes), .int(height), .int(Int64(index)), .blob(writer.bytes)).run()
            }
            for (account, index) in batch.accountIndex {
                try statements.putHistory.bind(.text(account.text), .int(height), .int(Int64(index)), .blob(batch.transactionIDs[Int(index)].digest.bytes)).run()
            }
        }
        try statements.putMeta.bind(.text("applied_height"), .int(height)).run()
        try statements.putMeta.bind(.text("state_root"), .blob(batch.stateRoot.bytes)).run()
        if batch.height == 0 {
            try statements.putGenesisRoot.bind(.blob(batch.stateRoot.bytes)).run()
        }
    }

    // MARK: Reads
    //
    // The protocols' reads cannot throw: an I/O error while reading committed data means the
    // store can no longer be trusted, so it stops the process with the reason.

    public func stateValue(for key: Digest) -> [UInt8]? {
        read { () throws(StoreError) in try statements.getState.bind(.blob(key.bytes)).first { $0.blob(0) } }
    }

    public func merkleNode(at position: NodePosition) -> MerkleNode? {
        if let node = nodeCache[position] { return node }
        let node: MerkleNode? = read { () throws(StoreError) in
            try statements.getNode.bind(.blob(position.storageKey)).first { row in
                guard let node = MerkleNode(encoded: row.blob(0)) else { preconditionFailure("corrupt tree node at \(position) in \(path)") }
                return node
            }
        }
        if let node, nodeCache.count < options.nodeCacheEntriesMax { nodeCache[position] = node }
        return node
    }

    public func block(at height: UInt64) -> Block? {
        blockColumn(height, "block").map { decoded($0, as: Block.self, "block \(height)") }
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

    public func transactionLocation(_ id: TransactionID) -> TransactionLocation? {
        read { () throws(StoreError) in
            try statements.getTransaction.bind(.blob(id.digest.bytes)).first { row in
                var reader = CanonicalReader(row.blob(2))
                guard let result = try? TransactionResult(from: &reader) else { preconditionFailure("corrupt result of \(id) in \(path)") }
                return TransactionLocation(height: UInt64(row.int(0)), index: UInt32(row.int(1)), result: result)
            }
        }
    }

    public func accountHistory(_ account: AccountID, before cursor: HistoryCursor?, limit: Int) -> [AccountHistoryEntry] {
        let limit = Int64(max(0, min(limit, StoreLimits.historyPageMax)))
        let (height, index) = cursor.map { (Int64($0.height), Int64($0.index)) } ?? (Int64.max, Int64.max)
        return read { () throws(StoreError) in
            try statements.getHistory.bind(.text(account.text), .int(height), .int(height), .int(index), .int(limit)).rows { row in
                AccountHistoryEntry(height: UInt64(row.int(0)), index: UInt32(row.int(1)), transaction: TransactionID(Digest(row.blob(2))!))
            }
        }
    }

    /// Bytes on disk: the database file, its WAL and its shared-memory index.
    public var diskBytes: Int64 {
        ["", "-wal", "-shm"].reduce(0) { total, suffix in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? NSNumber)?.int64Value ?? 0
            return total + size
        }
    }

    /// Moves the WAL's contents into the database file and empties it.
    public func checkpoint() throws(StoreError) { try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") }

    private func blockColumn(_ height: UInt64, _ column: String) -> [UInt8]? {
        let statement = statements.blockColumns[column]!
        return read { () throws(StoreError) in
            try statement.bind(.int(Int64(height))).first { $0.isNull(0) ? nil : $0.blob(0) } ?? nil
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
    let meta, putMeta, putGenesisRoot: SQLiteStatement
    let getState, putState, deleteState: SQLiteStatement
    let getNode, putNode, deleteNode: SQLiteStatement
    let putBlock, putTransaction, getTransaction, putHistory, getHistory: SQLiteStatement
    let blockColumns: [String: SQLiteStatement]

    init(_ c: SQLiteConnection) throws(StoreError) {
        meta = try c.prepare("SELECT value FROM meta WHERE name = ?")
        putMeta = try c.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)")
        putGenesisRoot = try c.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('genesis_root', ?)")
        getState = try c.prepare("SELECT value FROM state WHERE key = ?")
        putState = try c.prepare("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)")
        deleteState = try c.prepare("DELETE FROM state WHERE key = ?")
        getNode = try c.prepare("SELECT node FROM nodes WHERE position = ?")
        putNode = try c.prepare("INSERT OR REPLACE INTO nodes (position, node) VALUES (?, ?)")
        deleteNode = try c.prepare("DELETE FROM nodes WHERE position = ?")
        putBlock = try c.prepare("INSERT INTO blocks (height, hash, block, results, certificate, state_root) VALUES (?, ?, ?, ?, ?, ?)")
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
