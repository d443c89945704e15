import Foundation
import Logging
import TonleCrypto
import TonleStore

/// What a snapshot or backup holds, in its `snapshot.json`.
public struct SnapshotManifest: Codable, Equatable, Sendable {
    public static let currentFormat = 1
    public var format = currentFormat
    /// The store's engine (`rocksdb`): the copy opens as that engine's store.
    public var engine: String
    /// The genesis hash of the network the store belongs to.
    public var genesis: String
    public var height: UInt64
    /// The state root after block `height`.
    public var stateRoot: String
    /// The hash of block `height` (none at height 0).
    public var blockHash: String?
    public var createdMilliseconds: UInt64

    enum CodingKeys: String, CodingKey {
        case format, engine, genesis, height, stateRoot = "state_root", blockHash = "block_hash", createdMilliseconds = "created_ms"
    }

    init(engine: String, genesis: String, height: UInt64, stateRoot: String, blockHash: String?, createdMilliseconds: UInt64) {
        (self.engine, self.genesis, self.height, self.stateRoot, self.blockHash) = (engine, genesis, height, stateRoot, blockHash)
        self.createdMilliseconds = createdMilliseconds
    }

    /// The manifest of `store` as it stands.
    init(of store: RocksStore, genesis: String) {
        let height = store.appliedHeight ?? 0
        (engine, self.genesis, self.height, stateRoot) = (StorageEngine.rocksdb.rawValue, genesis, height, store.stateRoot.hex)
        blockHash = height == 0 ? nil : store.hashes(at: height)?.block.hex
        createdMilliseconds = UInt64(Date().timeIntervalSince1970 * 1000)
    }
}

/// Snapshots, backups and restores of a node's store (docs/operations.md, "Snapshots, backups and
/// restores").
///
/// A snapshot is a directory: `snapshot.json`, then `log/` and `state/`, a RocksDB checkpoint of
/// each of the store's databases (`RocksStore.snapshot(to:)`). The node takes one every
/// `storage.snapshot_interval` heights into `DATA_DIR/snapshots/HEIGHT/` and keeps the newest
/// `storage.snapshots_keep`. Its files are hard links to the store's, which are never changed
/// once written, so a snapshot can be copied while the node runs; `tonle backup` does that, and
/// `tonle restore` puts a copy in place of a lost or damaged store.
public enum Snapshots {
    public static let manifestName = "snapshot.json"
    static let partialPrefix = ".partial-"

    public static func directory(dataDirectory: String) -> String { dataDirectory + "/snapshots" }

    /// Starts a snapshot of `store` into `root/HEIGHT` and returns at once. On the snapshot's own
    /// thread, once RocksDB's checkpoints are written under a temporary name: the manifest (read
    /// from the copy's log), every file synced, the rename to its height; then all but the newest
    /// `keep` snapshots and any partial one are removed, and `done` gets the height and path.
    static func start(_ store: RocksStore, genesis: String, into root: String, keep: Int,
                      done: @escaping @Sendable (Result<(height: UInt64, path: String), NodeError>) -> Void) throws(NodeError) {
        let partial = root + "/" + partialPrefix + String(format: "%020llu", store.appliedHeight ?? 0)
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: root, withIntermediateDirectories: true)
            if files.fileExists(atPath: partial) { try files.removeItem(atPath: partial) }
        } catch { throw .dataDirectory("snapshots in \(root): \(error.localizedDescription)") }
        do {
            try store.startSnapshot(to: partial) { error in
                if let error { return done(.failure(.dataDirectory("snapshot into \(partial): \(error)"))) }
                done(Result { () throws(NodeError) in try complete(partial, genesis: genesis, root: root, keep: keep) })
            }
        } catch { throw .dataDirectory("snapshot into \(partial): \(error)") }
    }

    /// `start`, waiting for the snapshot to be complete.
    @discardableResult
    public static func take(_ store: RocksStore, genesis: String, into root: String, keep: Int) throws(NodeError) -> (height: UInt64, path: String) {
        let ended = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<(height: UInt64, path: String), NodeError>?
        try start(store, genesis: genesis, into: root, keep: keep) { result in
            outcome = result
            ended.signal()
        }
        ended.wait()
        return try outcome!.get()
    }

    private static func complete(_ partial: String, genesis: String, root: String, keep: Int) throws(NodeError) -> (height: UInt64, path: String) {
        let summary: (height: UInt64, stateRoot: Digest, blockHash: Digest?)
        do { summary = try RocksStore.summary(of: partial) } catch { throw .dataDirectory("snapshot in \(partial): \(error)") }
        let manifest = SnapshotManifest(
            engine: StorageEngine.rocksdb.rawValue, genesis: genesis, height: summary.height, stateRoot: summary.stateRoot.hex,
            blockHash: summary.blockHash?.hex, createdMilliseconds: UInt64(Date().timeIntervalSince1970 * 1000))
        try write(manifest, to: partial)
        try syncTree(partial)
        let files = FileManager.default, final = root + "/" + String(format: "%020llu", summary.height)
        do {
            if files.fileExists(atPath: final) { try files.removeItem(atPath: final) }
            try files.moveItem(atPath: partial, toPath: final)
        } catch { throw .dataDirectory("snapshot at height \(summary.height): \(error.localizedDescription)") }
        syncDirectory(root)
        for (_, old) in list(root).dropFirst(keep) { try? files.removeItem(atPath: old) }
        for entry in (try? files.contentsOfDirectory(atPath: root)) ?? [] where entry.hasPrefix(partialPrefix) {
            try? files.removeItem(atPath: root + "/" + entry)
        }
        return (summary.height, final)
    }

    /// The complete snapshots in `root`, newest first.
    public static func list(_ root: String) -> [(height: UInt64, path: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.compactMap { name in
            guard name.count == 20, name.allSatisfy(\.isASCII), let height = UInt64(name),
                  FileManager.default.fileExists(atPath: root + "/" + name + "/" + manifestName) else { return nil }
            return (height, root + "/" + name)
        }.sorted { $0.height > $1.height }
    }

    public static func manifest(at path: String) throws(NodeError) -> SnapshotManifest {
        let file = path + "/" + manifestName
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .dataDirectory("\(path) is not a snapshot or backup: it has no \(manifestName)")
        }
        let manifest: SnapshotManifest
        do { manifest = try JSONDecoder().decode(SnapshotManifest.self, from: data) } catch {
            throw .dataDirectory("\(file) cannot be read: \(error)")
        }
        guard manifest.format == SnapshotManifest.currentFormat, manifest.engine == StorageEngine.rocksdb.rawValue else {
            throw .dataDirectory("\(file) is format \(manifest.format) of engine \(manifest.engine); this build reads format \(SnapshotManifest.currentFormat) of rocksdb")
        }
        return manifest
    }

    /// Opens the store in snapshot or backup `path` and checks that it is what its manifest says:
    /// the height, the state root (which opening checks against the stored tree) and the block hash.
    /// With `full`, also recomputes the state root from every state value (`recomputeStateRoot`):
    /// the values themselves, not only the stored tree, are the certified state.
    @discardableResult
    public static func verify(_ path: String, full: Bool = false) throws(NodeError) -> SnapshotManifest {
        let manifest = try manifest(at: path)
        let store: RocksStore
        do { store = try RocksStore(path: path) } catch { throw .dataDirectory("\(path) does not open as a store: \(error)") }
        let found = SnapshotManifest(of: store, genesis: manifest.genesis)
        guard found.height == manifest.height, found.stateRoot == manifest.stateRoot, found.blockHash == manifest.blockHash else {
            throw .dataDirectory("\(path) holds height \(found.height), root \(found.stateRoot) but its manifest says height \(manifest.height), root \(manifest.stateRoot)")
        }
        if full {
            let recomputed: (root: Digest, values: Int)
            do { recomputed = try store.recomputeStateRoot() } catch { throw .dataDirectory("reading the state of \(path): \(error)") }
            guard recomputed.root == store.stateRoot else {
                throw .dataDirectory("\(path): its \(recomputed.values) state values give root \(recomputed.root.hex), not the certified \(found.stateRoot)")
            }
        }
        return manifest
    }

    /// Copies snapshot `source` to `destination` (which must not exist, or be an empty directory),
    /// syncs every file, and verifies the copy.
    public static func copy(_ source: String, to destination: String, full: Bool = false) throws(NodeError) -> SnapshotManifest {
        _ = try manifest(at: source)
        let files = FileManager.default
        if files.fileExists(atPath: destination) {
            guard ((try? files.contentsOfDirectory(atPath: destination)) ?? ["?"]).isEmpty else {
                throw .dataDirectory("\(destination) exists and is not empty: choose a new directory")
            }
            try? files.removeItem(atPath: destination)
        }
        do { try files.copyItem(atPath: source, toPath: destination) } catch {
            try? files.removeItem(atPath: destination)
            throw .dataDirectory("copying \(source) to \(destination): \(error.localizedDescription)")
        }
        try syncTree(destination)
        return try verify(destination, full: full)
    }

    /// A backup of a stopped node's store: a snapshot of `DATA_DIR/ledger.rocksdb` taken directly
    /// into `destination`. Fails with the reason when the node is running (RocksDB's lock).
    public static func takeFromStopped(dataDirectory: String, to destination: String, full: Bool = false) throws(NodeError) -> SnapshotManifest {
        let path = dataDirectory + "/" + StorageEngine.rocksdb.fileName
        guard FileManager.default.fileExists(atPath: path) else { throw .dataDirectory("\(dataDirectory) holds no rocksdb store (\(path))") }
        let genesis = (try? String(contentsOfFile: dataDirectory + "/genesis.sha256", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let store: RocksStore
        do { store = try RocksStore(path: path) } catch {
            throw .dataDirectory("cannot open \(path) (\(error)); if the node is running, back up its newest snapshot instead (storage.snapshot_interval)")
        }
        guard !FileManager.default.fileExists(atPath: destination) else { throw .dataDirectory("\(destination) exists: choose a new directory") }
        do { try store.snapshot(to: destination) } catch { throw .dataDirectory("backup to \(destination): \(error)") }
        try write(SnapshotManifest(of: store, genesis: genesis), to: destination)
        try syncTree(destination)
        return try verify(destination, full: full)
    }

    /// Puts backup `backup` in place as the store of `dataDirectory`, which must not hold a store
    /// (a damaged one is moved aside by the operator, never overwritten here) and, if it records
    /// a genesis, the backup's. The consensus WAL and sign-state are left as they are.
    public static func restore(_ backup: String, dataDirectory: String, full: Bool = false) throws(NodeError) -> SnapshotManifest {
        let manifest = try manifest(at: backup)
        let files = FileManager.default
        for engine in StorageEngine.allCases where files.fileExists(atPath: dataDirectory + "/" + engine.fileName) {
            throw .dataDirectory("\(dataDirectory) already holds a store (\(engine.fileName)); move it aside first — restore never overwrites one")
        }
        let marker = dataDirectory + "/genesis.sha256"
        let recorded = (try? String(contentsOfFile: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let recorded, !manifest.genesis.isEmpty, recorded != manifest.genesis {
            throw .genesis("the backup belongs to the network with genesis hash \(manifest.genesis), but \(dataDirectory) to \(recorded)")
        }
        do { try files.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw .dataDirectory("cannot create \(dataDirectory): \(error.localizedDescription)")
        }
        let partial = dataDirectory + "/" + partialPrefix + "restore"
        try? files.removeItem(atPath: partial)
        let restored = try copy(backup, to: partial, full: full)
        do {
            try files.removeItem(atPath: partial + "/" + manifestName)
            try files.moveItem(atPath: partial, toPath: dataDirectory + "/" + StorageEngine.rocksdb.fileName)
            if recorded == nil, !manifest.genesis.isEmpty { try Data((manifest.genesis + "\n").utf8).write(to: URL(fileURLWithPath: marker)) }
        } catch { throw .dataDirectory("restoring into \(dataDirectory): \(error.localizedDescription)") }
        syncDirectory(dataDirectory)
        return restored
    }

    // MARK: Files

    private static func write(_ manifest: SnapshotManifest, to directory: String) throws(NodeError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(manifest).write(to: URL(fileURLWithPath: directory + "/" + manifestName)) } catch {
            throw .dataDirectory("writing \(directory)/\(manifestName): \(error.localizedDescription)")
        }
    }

    /// fsyncs every file and directory under `path` (a copy is durable before it is reported).
    private static func syncTree(_ path: String) throws(NodeError) {
        let files = FileManager.default
        let entries = (files.enumerator(atPath: path)?.allObjects as? [String]) ?? []
        for entry in entries + [""] {
            let full = entry.isEmpty ? path : path + "/" + entry
            let descriptor = open(full, O_RDONLY)
            guard descriptor >= 0 else { throw .dataDirectory("cannot open \(full) to sync it (errno \(errno))") }
            defer { close(descriptor) }
            guard fsync(descriptor) == 0 else { throw .dataDirectory("fsync of \(full) failed (errno \(errno))") }
        }
    }

    private static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }
}

/// When the node snapshots its store: after a commit that passes a multiple of
/// `storage.snapshot_interval` (during a sync the store may already be past that multiple). The
/// loop thread — the store's owner — only starts it; the checkpoints, the manifest and the syncs
/// run on the snapshot's own thread while blocks go on (`tonle_snapshot_seconds` is the whole of
/// it). A snapshot due while the previous one is still being written is skipped. A failed one is
/// logged and counted; the node goes on (its store is not affected).
final class SnapshotSchedule {
    let store: RocksStore
    let genesis: String
    let root: String
    let interval: UInt64
    let keep: Int
    /// The applied height when the schedule was last looked at.
    private var seen: UInt64

    init(store: RocksStore, genesis: String, root: String, interval: UInt64, keep: Int) {
        precondition(interval > 0)
        (self.store, self.genesis, self.root, self.interval, self.keep) = (store, genesis, root, interval, keep)
        seen = store.appliedHeight ?? 0
    }

    func committed(logger: Logger, metrics: NodeMetrics) {
        let height = store.appliedHeight ?? 0
        defer { seen = height }
        guard height / interval > seen / interval else { return }
        let started = Monotonic.nanoseconds
        let failed: @Sendable (NodeError) -> Void = { error in
            metrics.snapshotFailures.increment()
            logger.error("snapshot failed", metadata: ["height": "\(height)", "error": "\(error)"])
        }
        do {
            try Snapshots.start(store, genesis: genesis, into: root, keep: keep) { result in
                switch result {
                case .success(let taken):
                    let elapsed = Monotonic.nanoseconds - started
                    metrics.snapshotSeconds.recordNanoseconds(Int64(clamping: elapsed))
                    metrics.snapshotHeight.record(Int64(clamping: taken.height))
                    logger.info("snapshot", metadata: ["height": "\(taken.height)", "path": "\(taken.path)", "ms": "\(elapsed / 1_000_000)"])
                case .failure(let error): failed(error)
                }
            }
        } catch { failed(error) }
    }
}
