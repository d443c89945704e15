import Foundation
import Testing
import TonleStorage
import TonleStore
import TonleWorkload
@testable import TonleNode

@Suite("Snapshots, backups and restores of a store on disk")
struct SnapshotTests {
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-snap-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A data directory with a RocksDB store of `blocks` blocks, and its genesis marker.
    static func dataDirectory(blocks: Int) throws -> (path: String, store: RocksStore, workload: Workload) {
        let data = try directory()
        let store = try RocksStore(path: data + "/ledger.rocksdb"), workload = Workload(seed: 4, accounts: 200)
        try workload.initialise(store)
        for _ in 0..<blocks { try workload.applyNext(to: store, transfers: 40) }
        try Data("ab12\n".utf8).write(to: URL(fileURLWithPath: data + "/genesis.sha256"))
        return (data, store, workload)
    }

    @Test("the node's snapshots: named by height, the newest kept, each with a manifest that verifies")
    func snapshotsAreKeptAndVerify() throws {
        let (data, store, workload) = try Self.dataDirectory(blocks: 1)
        let root = Snapshots.directory(dataDirectory: data)
        // A partial snapshot left by a crash is cleared by the next one.
        try FileManager.default.createDirectory(atPath: root + "/.partial-00000000000000000001", withIntermediateDirectories: true)
        for _ in 0..<3 {
            try Snapshots.take(store, genesis: "ab12", into: root, keep: 2)
            try workload.applyNext(to: store, transfers: 40)
        }
        let listed = Snapshots.list(root)
        #expect(listed.map(\.height) == [3, 2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["00000000000000000002", "00000000000000000003"])
        let manifest = try Snapshots.verify(listed[0].path)
        #expect(manifest.height == 3 && manifest.genesis == "ab12" && manifest.stateRoot == store.stateRoot(at: 3)?.hex)
        #expect(manifest.blockHash == store.hashes(at: 3)?.block.hex)

        // A manifest that does not match what the snapshot holds is refused.
        let text = try String(contentsOfFile: listed[1].path + "/snapshot.json", encoding: .utf8)
        try Data(text.replacingOccurrences(of: "\"height\" : 2", with: "\"height\" : 7").utf8)
            .write(to: URL(fileURLWithPath: listed[1].path + "/snapshot.json"))
        #expect(throws: NodeError.self) { try Snapshots.verify(listed[1].path) }
        #expect(throws: NodeError.self) { try Snapshots.manifest(at: data) }   // not a snapshot at all
    }

    @Test("backup copies a snapshot, or a stopped store; restore refuses to overwrite and puts a verified copy in place")
    func backupAndRestore() throws {
        var (data, store, workload) = try Self.dataDirectory(blocks: 2)
        let root = Snapshots.directory(dataDirectory: data)
        try Snapshots.take(store, genesis: "ab12", into: root, keep: 2)
        let expected = (height: store.appliedHeight, root: store.stateRoot, values: store.allStateValues())
        try workload.applyNext(to: store, transfers: 40)   // the node goes on after the snapshot

        let backups = try Self.directory()
        let copied = try Snapshots.copy(Snapshots.list(root)[0].path, to: backups + "/one", full: true)
        #expect(copied.height == 2)
        #expect(throws: NodeError.self) { _ = try Snapshots.copy(Snapshots.list(root)[0].path, to: backups + "/one") }   // not empty

        // The running store holds RocksDB's lock: a backup from the store itself says to use a snapshot.
        #expect {
            _ = try Snapshots.takeFromStopped(dataDirectory: data, to: backups + "/two")
        } throws: { error in "\(error)".contains("snapshot") }

        // Restore refuses a data directory that holds a store, and one of another network.
        #expect { _ = try Snapshots.restore(backups + "/one", dataDirectory: data) } throws: { "\($0)".contains("move it aside") }
        let other = try Self.directory()
        try Data("ffff\n".utf8).write(to: URL(fileURLWithPath: other + "/genesis.sha256"))
        #expect { _ = try Snapshots.restore(backups + "/one", dataDirectory: other) } throws: { "\($0)".contains("genesis") }

        // Into a new directory: the store opens at the backup's height and state; the genesis is recorded.
        let fresh = try Self.directory() + "/node"
        let restored = try Snapshots.restore(backups + "/one", dataDirectory: fresh)
        #expect(restored.height == 2)
        #expect(try String(contentsOfFile: fresh + "/genesis.sha256", encoding: .utf8) == "ab12\n")
        #expect(!FileManager.default.fileExists(atPath: fresh + "/ledger.rocksdb/snapshot.json"))
        do {
            let reopened = try RocksStore(path: fresh + "/ledger.rocksdb")
            #expect(reopened.appliedHeight == expected.height && reopened.stateRoot == expected.root)
            #expect(reopened.allStateValues() == expected.values)
        }

        // The node stopped (the store closed): a backup of the store itself, at its latest height.
        let latest = store.stateRoot
        store = try RocksStore(path: FileManager.default.temporaryDirectory.path + "/tonle-unused-\(UUID().uuidString)")   // closes the original
        let direct = try Snapshots.takeFromStopped(dataDirectory: data, to: backups + "/two")
        #expect(direct.height == 3 && direct.stateRoot == latest.hex && direct.genesis == "ab12", "\(direct) \(latest.hex)")
    }
}
