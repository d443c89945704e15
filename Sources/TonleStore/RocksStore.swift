import Foundation
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleStorage
import TonleTypes

/// A node's store in two RocksDB databases (docs/storage.md, "Choosing the engine"): the same
/// change log and in-memory overlay as `SQLiteStore`, but merges run beside the commits, on
/// another thread, into an engine whose random-key writes cost what they change.
///
/// `log/` holds what a commit appends: the block with its results and certificate, one row of its
/// changes, the applied height and root, in one synced batch. `state/` holds the keyed tables
/// (state values, tree nodes, transaction locations, account history) as of `mergedHeight`.
/// The changes since then are in memory, where reads find them first. Past `mergeEntriesMax` they
/// are frozen and a merger thread writes them to `state/` in one synced batch, with the new merged
/// height, while commits go on into a fresh overlay (reads look at the fresh overlay, then the
/// frozen one). Being two databases, a merge never holds up a commit's write. Opening replays the
/// log rows above `state/`'s merged height; log rows at or below it are deleted after each merge.
///
/// One owner at a time (the merger thread is the store's own): it is not thread-safe.
public final class RocksStore: LedgerStore {
    public struct Options: Sendable {
        /// A synced write per commit (durable against power loss); false: durable against process
        /// crashes only (the write-ahead log is synced by RocksDB in the background).
        public var synchronousFull = true
        /// RocksDB's block cache, in bytes.
        public var blockCacheBytes = 256 << 20
        /// Merged tree nodes kept decoded in memory; emptied when full. Nodes at or above
        /// `topNodeDepth` are held apart (`TopNodes`) and do not count. The table is grown to this
        /// bound at the first merge (3,000,000 fits a 4M-bucket table, ~470 MB).
        public var nodeCacheEntriesMax = 3_000_000
        /// The tree's levels held in arrays, root to this depth (-1: none): 72 B per slot of every
        /// level reached, 151 MB at depth 20 (reached at about a million keys).
        public var topNodeDepth = 20
        /// Merged state values kept in memory; emptied when full.
        public var valueCacheEntriesMax = 2_000_000
        /// Read the merged tree and state into memory at opening (the top levels into `TopNodes`,
        /// the rest into the caches, up to their bounds). When all of them fit, a key missing from
        /// memory is known to be absent and reads never touch RocksDB while the caches stay whole
        /// (docs/storage.md, "Reads from memory"); when they do not, the caches keep what fit.
        public var preload = true
        /// Unmerged changes (state values, nodes, index rows) held in memory before a merge.
        public var mergeEntriesMax = 2_000_000
        /// Called by a snapshot's thread between its two checkpoints (tests hold a snapshot there).
        public var betweenSnapshotCheckpoints: (@Sendable () -> Void)?
        /// Opens an existing store for reading only, writing nothing into its directory (a
        /// snapshot that a node serves to peers); commits then fail.
        public var readOnly = false

        public init() {}
    }

    /// 4: state records of the encodings with UETRs, correction windows and prefund alerts (docs/storage.md).
    public static let schemaVersion: UInt64 = 4

    /// Column families of `log/`, by index.
    private enum Log: Int {
        case meta, changes, blocks, validatorSets
        static let names = ["meta", "changes", "blocks", "validator_sets"]
    }

    /// Column families of `state/`, by index.
    enum Keyed: Int {
        case meta, state, nodes, transactions, history
        static let names = ["meta", "state", "nodes", "transactions", "account_history"]
    }

    /// The parts of a block's record, the last byte of its keys.
    private enum BlockPart: UInt8 { case hashes = 0, block, results, certificate, stateRoot }

    public let path: String
    private let log: RocksDatabase
    private let keyed: RocksDatabase
    private let options: Options
    public private(set) var appliedHeight: UInt64?
    public private(set) var stateRoot: Digest = .zero
    private var caches: MergedCaches
    private let top: TopNodes
    private var recent = RecentChanges()
    /// The merge under way, if any: its changes are older than `recent` and newer than `keyed`.
    private var merging: Merge?
    /// The last merge's changes still moving into the caches (`MergedCaches.Warming`).
    private var warming: MergedCaches.Warming?
    private var latestValidators: (from: UInt64, set: ValidatorSet)?
    /// The last height whose changes are in the keyed families (nil: none yet).
    public private(set) var mergedHeight: UInt64?
    public private(set) var oldestBlockHeight: UInt64 = 1
    public private(set) var historyBalancesFrom: UInt64 = 0
    /// Reads that went to RocksDB's `state/` tables (state values and tree nodes) since opening.
    public private(set) var engineReads = 0
    /// Set while a snapshot is being written (by its thread): change rows are then kept.
    private let snapshotUnderWay = Flag()

    /// Opens (creating if needed) the database in directory `path`, replays the unmerged log and
    /// checks that the stored state root is the root of the stored tree.
    public init(path: String, options: Options = Options()) throws(StoreError) {
        (self.path, self.options) = (path, options)
        caches = MergedCaches(nodesMax: options.nodeCacheEntriesMax, valuesMax: options.valueCacheEntriesMax, nodesFromDepth: options.topNodeDepth + 1,
                              reserveAtFirstWarm: true)
        top = TopNodes(depthMax: options.topNodeDepth)
        if !options.readOnly {
            do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw .io("cannot create \(path): \(error)")
            }
        }
        log = try RocksDatabase(path: path + "/log", families: Log.names, cacheBytes: options.blockCacheBytes / 4, readOnly: options.readOnly)
        keyed = try RocksDatabase(path: path + "/state", families: Keyed.names, cacheBytes: options.blockCacheBytes, readOnly: options.readOnly)
        if options.preload && !options.readOnly { try preload() }
        try loadMeta()
        try loadHistoryBalancesFrom()
    }

    deinit {
        _ = merging?.wait()
        snapshotUnderWay.wait(until: false)
        // Their threads are done with the databases, but may still hold them for a moment.
        log.close()
        keyed.close()
    }

    private func loadMeta() throws(StoreError) {
        for database in [log, keyed] {
            guard let schema = try database.get(0, Array("schema".utf8)) else {
                if options.readOnly { throw .corrupt("\(database.path) has no schema version: not a store") }
                let batch = database.batch()
                batch.put(0, Array("schema".utf8), Self.bigEndian(Self.schemaVersion))
                try database.write(batch, sync: true)
                continue
            }
            guard schema.count == 8, Self.u64(schema) == Self.schemaVersion else {
                throw .corrupt("unknown schema version in \(database.path) (this build reads version \(Self.schemaVersion))")
            }
        }
        guard let height = try log.get(Log.meta.rawValue, Array("applied_height".utf8)).flatMap({ $0.count == 8 ? Self.u64($0) : nil }) else { return }
        guard let root = try log.get(Log.meta.rawValue, Array("state_root".utf8)).flatMap({ Digest($0) }) else {
            throw .corrupt("applied height without a state root")
        }
        (appliedHeight, stateRoot) = (height, root)
        oldestBlockHeight = try log.get(Log.meta.rawValue, Array("oldest_block".utf8)).flatMap { $0.count == 8 ? Self.u64($0) : nil } ?? 1
        mergedHeight = try keyed.get(Keyed.meta.rawValue, Array("merged_height".utf8)).flatMap { $0.count == 8 ? Self.u64($0) : nil }
        var replay: [(UInt64, [UInt8])] = []
        let first = mergedHeight.map { $0 &+ 1 } ?? 0
        try log.scanForwards(Log.changes.rawValue, from: Self.bigEndian(first)) { key, value in
            replay.append((Self.u64(key), Array(value)))
            return true
        }
        for (height, bytes) in replay { try replayChanges(height: height, bytes) }
        guard replay.last?.0 ?? mergedHeight == appliedHeight else {
            throw .corrupt("the change log ends at \(replay.last.map { "\($0.0)" } ?? "none") but the applied height is \(height)")
        }
        try log.scanBackwards(Log.validatorSets.rawValue, from: nil) { key, value in
            latestValidators = (Self.u64(key), decoded(Array(value), as: ValidatorSet.self, "the latest validator set"))
            return false
        }
        let treeRoot = SparseMerkleTree.root(self)
        guard treeRoot == root else { throw .corrupt("stored root \(root) but the tree's root is \(treeRoot)") }
    }

    /// Reads `state/`'s tree nodes and values into `TopNodes` and the caches, in key order, until a
    /// cache is full; a cache that took all of its kind is complete.
    private func preload() throws(StoreError) {
        var corrupt: String?
        var allNodes = true, allValues = true
        try keyed.scanForwards(Keyed.nodes.rawValue, from: nil) { key, value in
            guard let position = NodePosition(storageKey: Array(key)), let node = MerkleNode(encoded: Array(value)) else {
                corrupt = "a tree node row in \(path)"
                return false
            }
            if position.depth <= options.topNodeDepth { top.fill(position, node); return true }
            allNodes = caches.preload(node, at: position)
            return allNodes
        }
        try keyed.scanForwards(Keyed.state.rawValue, from: nil) { key, value in
            guard let digest = Digest(Array(key)) else { corrupt = "a state key in \(path)"; return false }
            allValues = caches.preload(Array(value), for: digest)
            return allValues
        }
        if let corrupt { throw .corrupt(corrupt) }
        caches.preloaded(allNodes: allNodes, allValues: allValues)
    }

    /// Recorded when the store is first opened by a version that keeps balances in the account
    /// history: from the next height on (0 for a new store) the history is whole and carries them.
    private func loadHistoryBalancesFrom() throws(StoreError) {
        let key = Array("history_balances_from".utf8)
        if let stored = try log.get(Log.meta.rawValue, key), stored.count == 8 {
            historyBalancesFrom = Self.u64(stored)
            return
        }
        historyBalancesFrom = appliedHeight.map { $0 + 1 } ?? 0
        guard !options.readOnly else { return }
        let batch = log.batch()
        batch.put(Log.meta.rawValue, key, Self.bigEndian(historyBalancesFrom))
        try log.write(batch, sync: true)
    }

    private func replayChanges(height: UInt64, _ bytes: [UInt8]) throws(StoreError) {
        let changes = try ChangeSet.replayed(height: height, bytes, tree: self, root: stateRoot(at: height))
        recent.apply(changes)
        top.apply(changes.nodeWrites)
    }

    // MARK: Commit

    public func commit(_ batch: CommitBatch) throws(StoreError) {
        let expected = appliedHeight.map { $0 + 1 } ?? 0
        guard batch.height == expected else { throw .heightGap(expected: expected, got: batch.height) }
        guard batch.height <= Limits.heightMax else { throw .corrupt("height \(batch.height) is above \(Limits.heightMax)") }
        let changes = ChangeSet(batch)
        let writes = log.batch(), height = Self.bigEndian(batch.height)
        if let block = batch.block {
            writes.put(Log.blocks.rawValue, height + [BlockPart.hashes.rawValue], block.hash.bytes + batch.resultsRoot.bytes)
            writes.put(Log.blocks.rawValue, height + [BlockPart.block.rawValue], block.encoded)
            writes.put(Log.blocks.rawValue, height + [BlockPart.results.rawValue], try! BlockResults(batch.results).encoded)
            if let certificate = batch.certificate { writes.put(Log.blocks.rawValue, height + [BlockPart.certificate.rawValue], certificate.encoded) }
        }
        writes.put(Log.blocks.rawValue, height + [BlockPart.stateRoot.rawValue], batch.stateRoot.bytes)
        writes.put(Log.changes.rawValue, height, changes.encoded)
        writes.put(Log.meta.rawValue, Array("applied_height".utf8), height)
        writes.put(Log.meta.rawValue, Array("state_root".utf8), batch.stateRoot.bytes)
        let validatorsChange = latestValidators?.set != batch.validators
        if validatorsChange { writes.put(Log.validatorSets.rawValue, Self.bigEndian(batch.height + 1), batch.validators.encoded) }
        try log.write(writes, sync: options.synchronousFull)
        if validatorsChange { latestValidators = (batch.height + 1, batch.validators) }
        (appliedHeight, stateRoot) = (batch.height, batch.stateRoot)
        if recent.entries == 0 { recent.reserve(options.mergeEntriesMax) }
        recent.apply(changes)
        top.apply(changes.nodeWrites)
        if let merge = merging, merge.isDone { try finish(merge) }
        // Also before the next block's tree writes could outgrow the node table reserved for them
        // (a rehash of ~1.5M entries in one commit).
        if recent.entries > options.mergeEntriesMax || recent.nodes.capacity - recent.nodes.count < changes.nodeWrites.count { try startMerge() }
        if warming != nil {
            caches.warm(&warming!, budget: max(1, options.mergeEntriesMax / 16))
            if warming!.isDone { warming = nil }
        }
    }

    /// Merges every unmerged change and waits until the merge is durable.
    public func merge() throws(StoreError) {
        if let merge = merging { try finish(merge) }
        try startMerge()
        if let merge = merging { try finish(merge) }
    }

    /// Freezes the overlay and hands it to the merger thread (first waiting for a merge under way:
    /// at most two overlays are ever held, which bounds the memory).
    private func startMerge() throws(StoreError) {
        guard let height = appliedHeight, height != mergedHeight, recent.entries > 0 || merging == nil else { return }
        if let merge = merging { try finish(merge) }
        guard height != mergedHeight else { return }
        let merge = Merge(height: height, changes: recent)
        merging = merge
        recent = RecentChanges()
        let keyed = self.keyed
        Thread.detachNewThread { merge.run(keyed) }
    }

    /// Waits for `merge`, then lets its changes go: the keyed tables have them (the caches keep
    /// what fits), and the log rows they came from are deleted. A merge that failed stays in
    /// memory, so reads stay right, and every later commit reports its error.
    private func finish(_ merge: Merge) throws(StoreError) {
        if let error = merge.wait() { throw error }
        merging = nil
        mergedHeight = merge.height
        // The caches take the merged changes a slice per commit (at 1M accounts all at once took
        // ~0.45 s of one commit); a warming still under way finishes first.
        if warming != nil { caches.warm(&warming!, budget: .max) }
        warming = MergedCaches.Warming(merge.changes)
        // A snapshot under way may need these rows (`startSnapshot`): the next merge deletes them.
        guard !snapshotUnderWay.isSet else { return }
        let deletes = log.batch()
        deletes.deleteRange(Log.changes.rawValue, Self.bigEndian(0), Self.bigEndian(merge.height + 1))
        try log.write(deletes, sync: false)
    }

    // MARK: Reads
    //
    // As in SQLiteStore, an I/O error while reading committed data stops the process with the reason.

    public func stateValue(for key: Digest) -> [UInt8]? {
        if let value = recent.state[key] { return value }
        if let value = merging?.changes.state[key] { return value }
        if let value = warming?.changes.state[key] { return value }
        if let value = caches.value(key) { return value }
        engineReads += 1
        let value = read { () throws(StoreError) in try keyed.get(Keyed.state.rawValue, key.bytes) }
        caches.keep(value, for: key)
        return value
    }

    public func merkleNode(at position: NodePosition) -> MerkleNode? {
        if let known = top.node(at: position) { return known }
        let node = layeredNode(at: position)
        top.fill(position, node)
        return node
    }

    /// The node at `position` from the unmerged changes, the merge under way, the cache or `state/`.
    private func layeredNode(at position: NodePosition) -> MerkleNode? {
        if let node = recent.nodes[position] { return node }
        if let node = merging?.changes.nodes[position] { return node }
        if let node = warming?.changes.nodes[position] { return node }
        if let node = caches.node(position) { return node }
        engineReads += 1
        let node = read { () throws(StoreError) in try keyed.get(Keyed.nodes.rawValue, position.storageKey) }.map { bytes in
            guard let node = MerkleNode(encoded: bytes) else { preconditionFailure("corrupt tree node at \(position) in \(path)") }
            return node
        }
        if let node { caches.keep(node, at: position) }
        return node
    }

    public func block(at height: UInt64) -> Block? {
        blockPart(height, .block).map { decoded($0, as: Block.self, "block \(height)") }
    }

    public func blockSummary(at height: UInt64) -> (header: BlockHeader, transactions: Int)? {
        blockPart(height, .block).map { bytes in
            var reader = CanonicalReader(bytes)
            do {
                try reader.header(Block.self)
                return (try BlockHeader(from: &reader), Int(try reader.u32("transactions")))
            } catch { preconditionFailure("corrupt block \(height) in \(path): \(error)") }
        }
    }

    public func results(at height: UInt64) -> [TransactionResult]? {
        blockPart(height, .results).map { decoded($0, as: BlockResults.self, "results \(height)").results }
    }

    public func certificate(at height: UInt64) -> CommitCertificate? {
        blockPart(height, .certificate).map { decoded($0, as: CommitCertificate.self, "certificate \(height)") }
    }

    public func stateRoot(at height: UInt64) -> Digest? {
        blockPart(height, .stateRoot).map { Digest($0)! }
    }

    public func hashes(at height: UInt64) -> (block: Digest, results: Digest)? {
        blockPart(height, .hashes).map { (block: Digest(Array($0[0..<32]))!, results: Digest(Array($0[32..<64]))!) }
    }

    public func allStateValues() -> [Digest: [UInt8]] {
        var values: [Digest: [UInt8]] = [:]
        read { () throws(StoreError) in
            try keyed.scanForwards(Keyed.state.rawValue, from: nil) { key, value in
                values[Digest(Array(key))!] = Array(value)
                return true
            }
        }
        for (key, value) in merging?.changes.state ?? [:] { values[key] = value }
        for (key, value) in recent.state { values[key] = value }
        return values
    }

    public func validatorSet(signing height: UInt64) -> ValidatorSet? {
        guard height >= 1, height <= (appliedHeight ?? 0) + 1 else { return nil }
        if let latest = latestValidators, latest.from <= height { return latest.set }
        var found: [UInt8]?
        read { () throws(StoreError) in
            try log.scanBackwards(Log.validatorSets.rawValue, from: Self.bigEndian(height)) { _, value in
                found = Array(value)
                return false
            }
        }
        return found.map { decoded($0, as: ValidatorSet.self, "the validator set of block \(height)") }
    }

    public func transactionLocation(_ id: TransactionID) -> TransactionLocation? {
        if let location = recent.transactions[id] ?? merging?.changes.transactions[id] { return location }
        return read { () throws(StoreError) in try keyed.get(Keyed.transactions.rawValue, id.digest.bytes) }.map { bytes in
            var reader = CanonicalReader(Array(bytes.dropFirst(8)))
            guard bytes.count > 12, let index = try? reader.u32("index"), let result = try? TransactionResult(from: &reader) else {
                preconditionFailure("corrupt location of \(id) in \(path)")
            }
            return TransactionLocation(height: Self.u64(bytes[0..<8]), index: index, result: result)
        }
    }

    public func accountHistory(_ account: AccountID, before cursor: HistoryCursor?, limit: Int) -> [AccountHistoryEntry] {
        let limit = max(0, min(limit, StoreLimits.historyPageMax))
        // Unmerged entries are newer than every merged one, and the overlay's newer than the
        // frozen one's: take them first, then the family.
        let unmerged = (merging?.changes.history[account] ?? []) + (recent.history[account] ?? [])
        let newer = unmerged.reversed().filter { entry in cursor.map { entry.cursor < $0 } ?? true }
        var page = Array(newer.prefix(limit))
        guard page.count < limit else { return page }
        let prefix = Self.historyPrefix(account)
        let start = (page.last?.cursor ?? cursor).map { Self.historyKey(account, $0) } ?? prefix + Array(repeating: 0xff, count: 12)
        read { () throws(StoreError) in
            try keyed.scanBackwards(Keyed.history.rawValue, from: start) { key, value in
                guard key.count == prefix.count + 12, key.starts(with: prefix) else { return false }
                let entry = HistoryRow.entry(
                    height: Self.u64(key[prefix.count..<prefix.count + 8]), index: Self.u32(key[(prefix.count + 8)...]), value: Array(value))
                if let bound = page.last?.cursor ?? cursor, entry.cursor >= bound { return true }
                page.append(entry)
                return page.count < limit
            }
        }
        return page
    }

    /// Bytes on disk: every file of both databases.
    public var diskBytes: Int64 {
        [path + "/log", path + "/state"].reduce(0) { total, directory in
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return files.reduce(total) { total, name in
                total + ((try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? NSNumber)?.int64Value ?? 0)
            }
        }
    }

    /// Table-file bytes of each column family, named `log/…` or `state/…` (benchmarks: where the
    /// disk goes; after `compact()` they add up to nearly `diskBytes`).
    public var tableBytes: [(table: String, bytes: UInt64)] {
        Log.names.indices.map { ("log/" + Log.names[$0], log.fileBytes($0)) } + Keyed.names.indices.map { ("state/" + Keyed.names[$0], keyed.fileBytes($0)) }
    }

    /// Merges the unmerged changes, then writes RocksDB's memory tables to files.
    public func checkpoint() throws(StoreError) {
        try merge()
        try log.flush()
        try keyed.flush()
    }

    // MARK: Verifying the whole state

    /// Recomputes the state root from every state value — each hashed, the tree rebuilt in one
    /// streaming pass (`SortedTreeBuilder`) — and returns it with the number of values: equal to
    /// `stateRoot` when the values are the ones the tree certifies. What an auditor runs on a
    /// backup; it reads the whole state (seconds at a million accounts) and holds only the
    /// unmerged changes in memory besides.
    public func recomputeStateRoot() throws(StoreError) -> (root: Digest, values: Int) {
        var unmerged = merging?.changes.state ?? [:]
        for (key, value) in recent.state { unmerged[key] = value }
        let overlay = unmerged.sorted { $0.key < $1.key }
        var next = overlay.startIndex, values = 0
        var tree = SortedTreeBuilder { _, _ in }
        func add(_ key: Digest, _ value: [UInt8]?) {
            guard let value else { return }
            tree.add(key: key.raw, valueHash: SHA256.hash(value))
            values += 1
        }
        try keyed.scanForwards(Keyed.state.rawValue, from: nil) { keyBytes, value in
            let key = Digest(Array(keyBytes))!
            while next < overlay.endIndex, overlay[next].key < key {
                add(overlay[next].key, overlay[next].value)
                next += 1
            }
            if next < overlay.endIndex, overlay[next].key == key {
                add(key, overlay[next].value)   // the unmerged change wins
                next += 1
            } else {
                add(key, Array(value))
            }
            return true
        }
        for (key, value) in overlay[next...] { add(key, value) }
        return (tree.finish(), values)
    }

    // MARK: State chunks

    /// The state values of chunk `index` at `depth` (`StateChunks`: every key whose first `depth`
    /// bits are `index`), ascending by key, unmerged changes included: what a node serving state
    /// sync sends, read from a snapshot it opened.
    public func stateValues(inChunk index: Int, depth: Int) throws(StoreError) -> [(key: Digest, value: [UInt8])] {
        precondition((0...StateChunks.depthMax).contains(depth) && (0..<(1 << depth)).contains(index))
        var unmerged: [Digest: [UInt8]?] = [:]
        for (key, value) in merging?.changes.state ?? [:] where StateChunks.chunkIndex(of: key.raw, depth: depth) == index { unmerged[key] = value }
        for (key, value) in recent.state where StateChunks.chunkIndex(of: key.raw, depth: depth) == index { unmerged[key] = value }
        var start = [UInt8](repeating: 0, count: 32)
        let shifted = depth == 0 ? 0 : index << (24 - depth)
        (start[0], start[1], start[2]) = (UInt8(truncatingIfNeeded: shifted >> 16), UInt8(truncatingIfNeeded: shifted >> 8), UInt8(truncatingIfNeeded: shifted))
        var values: [(key: Digest, value: [UInt8])] = []
        try keyed.scanForwards(Keyed.state.rawValue, from: start) { keyBytes, value in
            let key = Digest(Array(keyBytes))!
            guard StateChunks.chunkIndex(of: key.raw, depth: depth) == index else { return false }
            if unmerged[key] == nil { values.append((key, Array(value))) }
            return true
        }
        for case let (key, value?) in unmerged { values.append((key, value)) }
        values.sort { $0.key < $1.key }
        return values
    }

    // MARK: Bulk import

    /// Block `height`'s records that a store starting there keeps: the next block is checked
    /// against its hash and results root, its certificate is the next block's last commit.
    public struct StartingBlock: Sendable {
        public let block: Block
        /// Nil after state sync, which fetches only the root of block H's results (certified in
        /// block H + 1's header): the store then has no results for H, as for any block before it.
        public let results: [TransactionResult]?
        public let resultsRoot: Digest
        public let certificate: CommitCertificate

        public init(block: Block, results: [TransactionResult], certificate: CommitCertificate) {
            (self.block, self.results, self.certificate) = (block, results, certificate)
            resultsRoot = results.count == block.transactions.count ? ResultsTree.root(block.transactions.map(\.id), results) : .zero
        }

        public init(block: Block, resultsRoot: Digest, certificate: CommitCertificate) {
            (self.block, self.results, self.resultsRoot, self.certificate) = (block, nil, resultsRoot, certificate)
        }
    }

    /// Writes a genesis state of any size into the empty store in directory `path`: `writes`,
    /// in ascending key order, become the state at height 0, with `validators` signing block 1.
    /// Returns the state root; the store then opens as usual (`importState`).
    public static func importGenesis(path: String, validators: ValidatorSet, writes: some Sequence<StateWrite>) throws(StoreError) -> Digest {
        try importState(path: path, at: nil, validators: [(1, validators)], writes: writes)
    }

    /// Writes a state of any size into the empty store in directory `path`, which then starts at
    /// that state: at height 0 (genesis, `block` nil) or after `block` (state sync, a restore),
    /// holding no block before it. `writes` come in ascending key order; `validators` are the sets
    /// that sign from a height on (a store starting after block H needs those of H and H + 1).
    ///
    /// Streams: values and tree nodes (`SortedTreeBuilder`) go to `state/` in large unlogged
    /// batches, which are flushed to files before `state/`'s merged height and then `log/`'s
    /// records, applied height and root are written, each synced. Until that last write the store
    /// is empty to anyone opening it; an import that stopped part-way is redone in a new directory.
    /// Returns the state root, for the caller to check against the certified one (the state after
    /// block H is certified by block H + 1's header).
    public static func importState(
        path: String, at start: StartingBlock?, validators: [(from: UInt64, set: ValidatorSet)], writes: some Sequence<StateWrite>
    ) throws(StoreError) -> Digest {
        let store = try RocksStore(path: path)
        guard store.appliedHeight == nil, store.mergedHeight == nil else { throw .io("\(path) already holds a store: import into a new directory") }
        var empty = true
        try store.keyed.scanForwards(Keyed.state.rawValue, from: nil) { _, _ in
            empty = false
            return false
        }
        guard empty else { throw .io("\(path) holds state from an import that did not finish: import into a new directory") }
        let keyed = store.keyed
        var batch = keyed.batch(), entries = 0, failure: StoreError?
        func put(_ family: Keyed, _ key: [UInt8], _ value: [UInt8]) {
            batch.put(family.rawValue, key, value)
            entries += 1
            guard entries >= 200_000, failure == nil else { return }
            do { try keyed.write(batch, sync: false, logged: false) } catch { failure = error }
            (batch, entries) = (keyed.batch(), 0)
        }
        var tree = SortedTreeBuilder { position, node in put(.nodes, position.storageKey, node.encoded) }
        var previous: Digest?
        for write in writes {
            guard let value = write.value else { throw .corrupt("an import writes values; \(write.key) has none") }
            guard previous.map({ $0 < write.key }) ?? true else { throw .corrupt("import keys must ascend: \(write.key) after \(previous!)") }
            previous = write.key
            put(.state, write.key.bytes, value)
            tree.add(key: write.key.raw, valueHash: SHA256.hash(value))
            if let failure { throw failure }
        }
        let root = tree.finish()
        if let failure { throw failure }
        let heightNumber = start?.block.header.height ?? 0
        if let start {
            guard start.block.header.height >= 1, start.results.map({ $0.count == start.block.transactions.count }) ?? true,
                  start.certificate.height == heightNumber, start.certificate.blockHash == start.block.hash else {
                throw .corrupt("the starting block, its results and its certificate do not belong together")
            }
        }
        try keyed.write(batch, sync: false, logged: false)
        try keyed.flush()
        let merged = keyed.batch(), height = bigEndian(heightNumber)
        merged.put(Keyed.meta.rawValue, Array("merged_height".utf8), height)
        try keyed.write(merged, sync: true)
        let applied = store.log.batch()
        if let start {
            applied.put(Log.blocks.rawValue, height + [BlockPart.hashes.rawValue], start.block.hash.bytes + start.resultsRoot.bytes)
            applied.put(Log.blocks.rawValue, height + [BlockPart.block.rawValue], start.block.encoded)
            if let results = start.results {
                applied.put(Log.blocks.rawValue, height + [BlockPart.results.rawValue], try! BlockResults(results).encoded)
            }
            applied.put(Log.blocks.rawValue, height + [BlockPart.certificate.rawValue], start.certificate.encoded)
        }
        applied.put(Log.blocks.rawValue, height + [BlockPart.stateRoot.rawValue], root.bytes)
        for (from, set) in validators { applied.put(Log.validatorSets.rawValue, bigEndian(from), set.encoded) }
        applied.put(Log.meta.rawValue, Array("state_root".utf8), root.bytes)
        applied.put(Log.meta.rawValue, Array("applied_height".utf8), height)
        if start != nil { applied.put(Log.meta.rawValue, Array("oldest_block".utf8), height) }
        try store.log.write(applied, sync: true)
        return root
    }

    // MARK: Retention

    /// Deletes every block below `height` — its transactions, results, certificate and hashes —
    /// and records `height` as the oldest block kept. The state, the transaction index and account
    /// histories stay (a pruned transaction is still known as committed at its height, and a retry
    /// of it is still answered). The latest block is always kept: it anchors the next. The state
    /// root after a block whose changes are not merged yet stays too: a restart checks the replay
    /// of those changes against it (a later prune removes it once merged). A range delete below
    /// the merged height, cheap at any size; the space returns as RocksDB compacts.
    public func pruneBlocks(below height: UInt64) throws(StoreError) {
        guard let applied = appliedHeight, height <= applied else { throw .io("cannot prune block \(height): the latest block (\(appliedHeight ?? 0)) is always kept") }
        guard height > oldestBlockHeight else { return }
        let batch = log.batch()
        let whole = min(height, mergedHeight.map { $0 + 1 } ?? 0)
        batch.deleteRange(Log.blocks.rawValue, Self.bigEndian(0), Self.bigEndian(whole))
        for unmerged in max(whole, oldestBlockHeight)..<height {
            for part in [BlockPart.hashes, .block, .results, .certificate] { batch.delete(Log.blocks.rawValue, Self.bigEndian(unmerged) + [part.rawValue]) }
        }
        batch.put(Log.meta.rawValue, Array("oldest_block".utf8), Self.bigEndian(height))
        try log.write(batch, sync: true)
        oldestBlockHeight = height
    }

    /// Starts writing a consistent copy of the store into the new directory `directory` (its
    /// parent must exist) on a thread of its own, and returns at once; `done` is called on that
    /// thread with the outcome. The copy opens as a store of its own, at whatever height was
    /// applied when its `log/` was copied (`RocksStore.summary(of:)` reads it without opening).
    ///
    /// RocksDB checkpoints of `state/`, then of `log/`: files hard-linked where the file system
    /// allows, and up to 64 MiB of RocksDB's write-ahead log copied rather than flushed. Consistent
    /// although the two are taken at different instants, because change rows are kept until the
    /// snapshot ends: a merge that lands in the copy of `state/` or not, the copy of `log/` holds
    /// every change above the copied merged height (`finish` leaves the rows for the next merge to
    /// delete while a snapshot is under way). One snapshot at a time: another is refused.
    public func startSnapshot(to directory: String, done: @escaping @Sendable (StoreError?) -> Void) throws(StoreError) {
        guard appliedHeight != nil else { throw .io("the store has no genesis yet: nothing to copy") }
        guard !snapshotUnderWay.isSet else { throw .io("a snapshot is still being written") }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false) } catch {
            throw .io("cannot create \(directory): \(error.localizedDescription)")
        }
        snapshotUnderWay.set(true)
        let (keyed, log, flag, pause) = (self.keyed, self.log, snapshotUnderWay, options.betweenSnapshotCheckpoints)
        Thread.detachNewThread {
            var failure: StoreError?
            do throws(StoreError) {
                try keyed.checkpoint(to: directory + "/state", flushAbove: 64 << 20)
                pause?()
                try log.checkpoint(to: directory + "/log", flushAbove: 64 << 20)
            } catch { failure = error }
            flag.set(false)
            done(failure)
        }
    }

    /// `startSnapshot`, waiting for it to end.
    public func snapshot(to directory: String) throws(StoreError) {
        let ended = Flag()
        let outcome = Outcome()
        try startSnapshot(to: directory) { error in
            outcome.error = error
            ended.set(true)
        }
        ended.wait(until: true)
        if let error = outcome.error { throw error }
    }

    /// The height, state root and (above genesis) block hash of the store in `path`, read from its
    /// `log/` alone, without replaying or checking anything (opening the store does both).
    public static func summary(of path: String) throws(StoreError) -> (height: UInt64, stateRoot: Digest, blockHash: Digest?) {
        let log = try RocksDatabase(path: path + "/log", families: Log.names, cacheBytes: 1 << 20, createIfMissing: false)
        guard let height = try log.get(Log.meta.rawValue, Array("applied_height".utf8)).flatMap({ $0.count == 8 ? u64($0) : nil }),
              let root = try log.get(Log.meta.rawValue, Array("state_root".utf8)).flatMap({ Digest($0) }) else {
            throw .corrupt("\(path) has no applied height")
        }
        let hashes = try log.get(Log.blocks.rawValue, bigEndian(height) + [BlockPart.hashes.rawValue])
        return (height, root, hashes.flatMap { $0.count == 64 ? Digest(Array($0[0..<32])) : nil })
    }

    /// A checkpoint, then a full compaction, so that `diskBytes` is what the data takes rather than
    /// what compaction has not yet reclaimed (benchmarks; it rewrites every file).
    public func compact() throws(StoreError) {
        try checkpoint()
        log.compact()
        keyed.compact()
    }

    // MARK: Keys and records

    private func blockPart(_ height: UInt64, _ part: BlockPart) -> [UInt8]? {
        read { () throws(StoreError) in try log.get(Log.blocks.rawValue, Self.bigEndian(height) + [part.rawValue]) }
    }

    /// An account's history keys: the account's length and text (so no account's keys fall among
    /// another's), then height and index big-endian, so keys sort by account, then by position.
    private static func historyPrefix(_ account: AccountID) -> [UInt8] {
        let text = Array(account.text.utf8)
        return [UInt8(truncatingIfNeeded: text.count)] + text
    }

    static func historyKey(_ account: AccountID, _ cursor: HistoryCursor) -> [UInt8] {
        historyPrefix(account) + bigEndian(cursor.height) + bigEndian32(cursor.index)
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    static func bigEndian32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    static func u64(_ bytes: some Collection<UInt8>) -> UInt64 { bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    static func u32(_ bytes: some Collection<UInt8>) -> UInt32 { bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } }

    private func decoded<M: CanonicalMessage>(_ bytes: [UInt8], as _: M.Type, _ what: String) -> M {
        do { return try M(canonical: bytes) } catch { preconditionFailure("corrupt \(what) in \(path): \(error)") }
    }

    private func read<T>(_ body: () throws(StoreError) -> T) -> T {
        do { return try body() } catch { preconditionFailure("reading \(path) failed: \(error)") }
    }
}

/// A flag set and read across threads, which can be waited for.
final class Flag: @unchecked Sendable {
    private let condition = NSCondition()
    private var value = false

    var isSet: Bool {
        condition.lock()
        defer { condition.unlock() }
        return value
    }

    func set(_ new: Bool) {
        condition.lock()
        value = new
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until the flag is `wanted`.
    func wait(until wanted: Bool) {
        condition.lock()
        while value != wanted { condition.wait() }
        condition.unlock()
    }
}

/// An error handed from a snapshot's thread to the one waiting for it (`Flag` orders the two).
private final class Outcome: @unchecked Sendable {
    var error: StoreError?
}

/// One merge: a frozen overlay written to the keyed tables by its own thread.
private final class Merge: @unchecked Sendable {
    let height: UInt64
    /// Read by the owner while the merger writes them; never changed.
    let changes: RecentChanges
    private let condition = NSCondition()
    private var done = false
    private var error: StoreError?

    init(height: UInt64, changes: RecentChanges) { (self.height, self.changes) = (height, changes) }

    var isDone: Bool {
        condition.lock()
        defer { condition.unlock() }
        return done
    }

    /// Blocks until the merge has ended; its error, if it failed.
    func wait() -> StoreError? {
        condition.lock()
        defer { condition.unlock() }
        while !done { condition.wait() }
        return error
    }

    /// Writes every change, the transaction locations and history, and the merged height in one
    /// synced batch: after a crash `state/` has all of this merge or none of it. Each table's rows
    /// go in key order (tree positions in nearly their key order): RocksDB inserts a row next to the
    /// one before cheaply, and random order made the merge several times dearer.
    func run(_ keyed: RocksDatabase) {
        let writes = keyed.batch()
        for key in changes.state.keys.sorted() {
            if let value = changes.state[key]! { writes.put(1, key.bytes, value) } else { writes.delete(1, key.bytes) }
        }
        for position in changes.nodes.keys.sorted() {
            if let node = changes.nodes[position]! { writes.put(2, position.storageKey, node.encoded) } else { writes.delete(2, position.storageKey) }
        }
        for id in changes.transactions.keys.sorted(by: { $0.digest < $1.digest }) {
            let location = changes.transactions[id]!
            var writer = CanonicalWriter(reservingCapacity: 24)
            writer.raw(RocksStore.bigEndian(location.height))
            writer.u32(location.index)
            location.result.encode(to: &writer)
            writes.put(3, id.digest.bytes, writer.bytes)
        }
        let history = changes.history.flatMap { account, entries in
            entries.map { (key: RocksStore.historyKey(account, $0.cursor), value: HistoryRow.value($0)) }
        }
        for entry in history.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            writes.put(4, entry.key, entry.value)
        }
        writes.put(0, Array("merged_height".utf8), RocksStore.bigEndian(height))
        var failure: StoreError?
        do { try keyed.write(writes, sync: true) } catch { failure = error }
        condition.lock()
        (done, error) = (true, failure)
        condition.broadcast()
        condition.unlock()
    }
}
