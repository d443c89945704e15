import ArgumentParser
import Foundation
import TonleNode

/// `tonle backup`: a consistent copy of a node's store in a new directory (docs/operations.md,
/// "Snapshots, backups and restores").
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a node's store (its newest snapshot, or the store itself if the node is stopped) to a new directory, and verify the copy.",
        discussion: """
            With the node running, copies the newest snapshot in DATA_DIR/snapshots/ (or the one at --height); \
            the node takes them every storage.snapshot_interval heights. With the node stopped and --from-store, \
            takes a snapshot of DATA_DIR/ledger.rocksdb directly. The copy is synced to disk, then opened and checked \
            against its manifest (height, state root, block hash); with --full, the state root is also recomputed \
            from every state value. Prints the manifest.
            """)

    @Option(name: .customLong("data-dir"), help: "The node's data directory (node.data_dir).") var dataDirectory: String
    @Option(help: "The directory to create (it must not exist, or be empty).") var to: String
    @Option(help: "The snapshot to copy (default: the newest).") var height: UInt64?
    @Flag(name: .customLong("from-store"), help: "The node is stopped: back up its store itself rather than a snapshot.") var fromStore = false
    @Flag(help: "Also recompute the state root from every state value (seconds per million accounts).") var full = false
    @Flag(help: "Print the manifest as JSON.") var json = false

    func validate() throws {
        if fromStore, height != nil { throw ValidationError("--height chooses a snapshot; --from-store backs up the store as it is") }
    }

    func run() throws {
        let manifest: SnapshotManifest
        if fromStore {
            manifest = try Snapshots.takeFromStopped(dataDirectory: dataDirectory, to: to, full: full)
        } else {
            let snapshots = Snapshots.list(Snapshots.directory(dataDirectory: dataDirectory))
            guard let chosen = height.map({ wanted in snapshots.first { $0.height == wanted } }) ?? snapshots.first else {
                let available = snapshots.map { "\($0.height)" }.joined(separator: ", ")
                throw CLIError(height.map { "no snapshot at height \($0) in \(dataDirectory)/snapshots (there are: \(available.isEmpty ? "none" : available))" }
                    ?? "no snapshot in \(dataDirectory)/snapshots: the node takes one every storage.snapshot_interval heights; with the node stopped, use --from-store")
            }
            manifest = try Snapshots.copy(chosen.path, to: to, full: full)
        }
        printManifest(manifest, json: json, verb: "backed up to \(to)")
    }
}

/// `tonle restore`: a backup put in place as a node's store.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a backup in place as the store of a stopped node; the node then syncs the blocks after it from its peers.",
        discussion: """
            DATA_DIR must not hold a store: move a damaged one aside first (restore never overwrites). The backup \
            is copied, synced and verified before it is put in place. The consensus WAL and sign-state in DATA_DIR are \
            left as they are: keep the node's newest sign-state, or a validator could sign twice (docs/operations.md).
            """)

    @Option(help: "The backup directory (made by tonle backup).") var from: String
    @Option(name: .customLong("data-dir"), help: "The node's data directory (node.data_dir).") var dataDirectory: String
    @Flag(help: "Also recompute the state root from every state value before putting the copy in place.") var full = false
    @Flag(help: "Print the manifest as JSON.") var json = false

    func run() throws {
        let manifest = try Snapshots.restore(from, dataDirectory: dataDirectory, full: full)
        printManifest(manifest, json: json, verb: "restored into \(dataDirectory)")
    }
}

private func printManifest(_ manifest: SnapshotManifest, json: Bool, verb: String) {
    guard !json else {
        var object: [String: Any] = [
            "height": manifest.height, "state_root": manifest.stateRoot, "genesis": manifest.genesis, "engine": manifest.engine,
            "created_ms": manifest.createdMilliseconds,
        ]
        if let hash = manifest.blockHash { object["block_hash"] = hash }
        return printJSON(object)
    }
    print("\(verb): height \(manifest.height), state root \(manifest.stateRoot)" + (manifest.blockHash.map { ", block \($0)" } ?? ""))
}
