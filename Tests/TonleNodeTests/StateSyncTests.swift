import Foundation
import Logging
import Testing
import TonleConsensus
import TonleCrypto
import TonleNetwork
import TonleRuntime
import TonleStore
import TonleTypes
import TonleWorkload
@testable import TonleNode

/// State sync's client against scripted peers that answer from a real snapshot on disk through
/// the node's own snapshot server (the process test runs it over real links).
@Suite("State sync: the client checks everything a peer sends")
struct StateSyncTests {
    /// A store of `blocks` blocks with a snapshot at `snapshotAt` (blocks after it go on).
    static func source(blocks: Int, snapshotAt: Int) throws -> (data: String, store: RocksStore, workload: Workload) {
        let (data, store, workload) = try SnapshotTests.dataDirectory(blocks: snapshotAt)
        try Snapshots.take(store, genesis: "ab12", into: Snapshots.directory(dataDirectory: data), keep: 2)
        for _ in snapshotAt..<blocks { try workload.applyNext(to: store, transfers: 40) }
        return (data, store, workload)
    }

    /// Peers by key: each answers state sync through the snapshot server, and block requests from
    /// `store`; `tamper` may change what a peer sends.
    final class Peers: @unchecked Sendable {
        let events = Mailbox<NetworkEvent>(capacity: 4_096)
        let server: SnapshotServer
        let store: RocksStore
        let lock = NSLock()
        let tamper: @Sendable (PeerID, PeerMessage) -> PeerMessage
        let keys: [PeerID]

        init(count: Int, data: String, store: RocksStore, tamper: @escaping @Sendable (PeerID, PeerMessage) -> PeerMessage = { $1 }) {
            keys = (0..<count).map { _ in Ed25519.SigningKey.generate().publicKey }.sorted()
            (self.store, self.tamper) = (store, tamper)
            server = SnapshotServer(root: Snapshots.directory(dataDirectory: data), logger: Logger(label: "test"))
            server.send = { [events, tamper] message, peer in _ = events.post(.message(tamper(peer, message), from: peer), lane: .bulk) }
            for key in keys { _ = events.post(.connected(key), lane: .bulk) }
        }

        /// What the client sends to `peer`.
        func send(_ message: PeerMessage, to peer: PeerID) {
            if case .blocksRequest(let from, let count) = message {
                let blocks = lock.withLock {
                    (from..<from + UInt64(count)).compactMap { height in
                        store.block(at: height).flatMap { block in store.certificate(at: height).map { CertifiedBlock(block: block, certificate: $0) } }
                    }
                }
                _ = events.post(.message(tamper(peer, .blocks(blocks)), from: peer), lane: .bulk)
            } else {
                server.submit(message, from: peer)
            }
        }

        func client(trusted: ValidatorSet, chainID: ChainID) -> StateSyncClient {
            StateSyncClient(chainID: chainID, trusted: trusted, discoverySeconds: 1, logger: Logger(label: "test"), events: events,
                            send: { [self] in send($0, to: $1) })
        }
    }

    @Test("a peer whose chunks do not match the certified root is not asked again; the state comes from the honest one, at the snapshot's height")
    func aLyingPeerIsLeftOut() throws {
        let (data, store, workload) = try Self.source(blocks: 4, snapshotAt: 3)
        let snapshot = try RocksStore(path: Snapshots.list(Snapshots.directory(dataDirectory: data))[0].path)
        let liar = NSLockedBox<PeerID?>(nil)
        let peers = Peers(count: 2, data: data, store: store) { peer, message in
            guard peer == liar.value, case .chunk(let height, let index, var entries?) = message, !entries.isEmpty else { return message }
            entries[0] = StateEntry(key: entries[0].key, value: entries[0].value + [1])
            return .chunk(height: height, index: index, entries: entries)
        }
        defer { peers.server.stop() }
        liar.value = peers.keys[0]
        let client = peers.client(trusted: workload.validators, chainID: workload.chainID)
        let target = try SnapshotTests.directory() + "/ledger.rocksdb"
        let outcome = try #require(try client.run(storePath: target))
        #expect(outcome.height == 3 && outcome.stateRoot == snapshot.stateRoot && outcome.values == snapshot.allStateValues().count)
        #expect(client.refusedPeers == [peers.keys[0]])
        #expect(!FileManager.default.fileExists(atPath: target + ".partial") && !FileManager.default.fileExists(atPath: target + ".chunks"))

        let synced = try RocksStore(path: target)
        #expect(synced.appliedHeight == 3 && synced.stateRoot == snapshot.stateRoot && synced.allStateValues() == snapshot.allStateValues())
        #expect(synced.block(at: 3) == store.block(at: 3) && synced.block(at: 2) == nil && synced.oldestBlockHeight == 3)
        #expect(synced.hashes(at: 3)?.results == store.hashes(at: 3)?.results, "block 3's results root, from block 4's header")
        // It follows the network from there: the next block applies with the same root.
        let next = try #require(store.block(at: 4))
        _ = try BlockExecutor.apply(next, certificate: workload.certificate(for: next), to: synced)
        #expect(synced.stateRoot == store.stateRoot)
    }

    @Test("a peer whose anchor block carries a certificate that does not verify is not asked again", arguments: ["another block's", "signatures over other bytes"])
    func aForgedAnchorIsRefused(forgery: String) throws {
        let (data, store, workload) = try Self.source(blocks: 4, snapshotAt: 3)
        let forger = NSLockedBox<PeerID?>(nil)
        let peers = Peers(count: 2, data: data, store: store) { peer, message in
            guard peer == forger.value, case .blocks(let blocks) = message, blocks.count == 2 else { return message }
            let real = blocks[1].certificate
            let forged: CommitCertificate
            if forgery == "another block's" {
                forged = blocks[0].certificate   // block 3's: the header is as certified, the signatures are not for it
            } else {   // block 4's height and hash, each validator's key, signatures over other bytes
                forged = try! CommitCertificate(height: real.height, round: real.round, blockHash: real.blockHash, signatures: real.signatures.map { signature in
                    KeySignature(publicKey: signature.publicKey, signature: workload.validatorKeys.first { $0.publicKey == signature.publicKey }!.sign([0]))
                })
            }
            return .blocks([blocks[0], CertifiedBlock(block: blocks[1].block, certificate: forged)])
        }
        defer { peers.server.stop() }
        forger.value = peers.keys[0]   // sorted first: asked for the anchor first
        let client = peers.client(trusted: workload.validators, chainID: workload.chainID)
        let outcome = try #require(try client.run(storePath: try SnapshotTests.directory() + "/ledger.rocksdb"))
        #expect(outcome.height == 3 && client.refusedPeers == [peers.keys[0]])
    }

    @Test("a snapshot whose anchor block is not certified by the trusted validator set is refused: no state, start from genesis")
    func anUntrustedAnchorIsRefused() throws {
        let (data, store, workload) = try Self.source(blocks: 4, snapshotAt: 3)
        let peers = Peers(count: 1, data: data, store: store)
        defer { peers.server.stop() }
        let other = try ValidatorSet([Validator(publicKey: Ed25519.SigningKey.generate().publicKey, power: 1, name: "other")])
        let client = peers.client(trusted: other, chainID: workload.chainID)
        let target = try SnapshotTests.directory() + "/ledger.rocksdb"
        #expect(try client.run(storePath: target) == nil)
        #expect(client.refusedPeers == peers.keys)
        #expect(!FileManager.default.fileExists(atPath: target))
    }
}
