import Foundation
import Logging
import NIOCore
import NIOPosix
import TonleConsensus
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleNetwork
import TonleRuntime
import TonleStore
import TonleTypes

/// Serves this node's snapshots to peers that state-sync (docs/network.md, "State sync"), on a
/// thread of its own so that reading chunks never delays the node loop. Offers come from the
/// snapshots' manifests; a snapshot is opened read-only when its top or a chunk is first asked
/// for, and closed once it is removed or a minute passes without a request for it (an open
/// snapshot holds its unmerged changes in memory); a request
/// the bounded queue cannot hold is dropped (the asker times out and asks another peer).
final class SnapshotServer: @unchecked Sendable {
    static let queueCapacity = 256
    static let idleNanoseconds: UInt64 = 60_000_000_000
    private let root: String
    private let logger: Logger
    private let queue = Mailbox<(PeerMessage, PeerID)?>(capacity: queueCapacity)
    /// How answers leave (the peer network's send); set once before the network starts.
    var send: (@Sendable (PeerMessage, PeerID) -> Void)?
    /// Only the server's thread touches these.
    private var open: [UInt64: Served] = [:]

    private struct Served {
        let store: RocksStore
        let offer: SnapshotOffer
        var top: [SubtreeSummary]?
        var lastUsed = Monotonic.nanoseconds
    }

    init(root: String, logger: Logger) {
        (self.root, self.logger) = (root, logger)
        let thread = Thread { [self] in
            while true {
                let request = queue.take(deadline: Monotonic.nanoseconds + Self.idleNanoseconds / 2)
                if case .some(.none) = request { break }   // stop
                if case .some(.some(let (message, peer))) = request, let answer = answer(message) { send?(answer, peer) }
                let now = Monotonic.nanoseconds
                open = open.filter { now - $0.value.lastUsed < Self.idleNanoseconds }
            }
            open = [:]
        }
        thread.name = "tonle-snapshot-server"
        thread.start()
    }

    /// Takes a state sync request from a peer (called on a network or verifier thread).
    func submit(_ message: PeerMessage, from peer: PeerID) {
        _ = queue.post((message, peer), lane: .bulk)
    }

    func stop() { queue.post(nil, lane: .bulk, force: true) }

    private func answer(_ message: PeerMessage) -> PeerMessage? {
        switch message {
        case .snapshotsRequest:
            return .snapshots(offers().map(\.offer).prefix(StateSyncLimits.offersMax).map { $0 })
        case .snapshotTopRequest(let height):
            guard var served = served(height) else { return .snapshotTop(height: height, summaries: []) }
            let top = served.top ?? StateChunks.top(served.store, depth: Int(served.offer.depth))
            served.top = top
            open[height] = served
            return .snapshotTop(height: height, summaries: top)
        case .chunkRequest(let height, let index):
            guard let served = served(height), Int(index) < 1 << Int(served.offer.depth),
                  let values = try? served.store.stateValues(inChunk: Int(index), depth: Int(served.offer.depth)) else {
                return .chunk(height: height, index: index, entries: nil)
            }
            return .chunk(height: height, index: index, entries: values.map { StateEntry(key: $0.key, value: $0.value) })
        default:
            return nil
        }
    }

    /// The complete snapshots on disk, newest first, from their manifests (nothing is opened).
    private func offers() -> [(offer: SnapshotOffer, path: String)] {
        Snapshots.list(root).compactMap { height, path in
            guard height >= 1, let manifest = try? Snapshots.manifest(at: path), manifest.height == height,
                  let stateRoot = Digest(hex: manifest.stateRoot) else { return nil }
            return (SnapshotOffer(height: height, stateRoot: stateRoot, depth: Self.depth(stateDirectory: path + "/state")), path)
        }
    }

    /// The snapshot at `height`, opened read-only on first use and checked against its manifest;
    /// snapshots no longer on disk are closed first.
    private func served(_ height: UInt64) -> Served? {
        if open[height] == nil {
            let present = offers()
            open = open.filter { served in present.contains { $0.offer.height == served.key } }
            guard let (offer, path) = present.first(where: { $0.offer.height == height }) else { return nil }
            do {
                var options = RocksStore.Options()
                (options.readOnly, options.blockCacheBytes) = (true, 32 << 20)
                let store = try RocksStore(path: path, options: options)
                guard store.appliedHeight == height, store.stateRoot == offer.stateRoot else {
                    logger.warning("snapshot does not match its manifest: not served", metadata: ["path": "\(path)"])
                    return nil
                }
                open[height] = Served(store: store, offer: offer)
            } catch {
                logger.warning("cannot serve snapshot", metadata: ["path": "\(path)", "error": "\(error)"])
                return nil
            }
        }
        open[height]?.lastUsed = Monotonic.nanoseconds
        return open[height]
    }

    /// The chunk depth of a snapshot: chunks of about `StateSyncLimits.chunkBytesTarget` of values,
    /// reckoning values at half the bytes of the state database's files (the rest is tree nodes
    /// and indexes).
    static func depth(stateDirectory: String) -> UInt8 {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory)) ?? []
        let bytes = files.filter { $0.hasSuffix(".sst") || $0.hasSuffix(".log") }.reduce(0) { total, name in
            total + ((try? FileManager.default.attributesOfItem(atPath: stateDirectory + "/" + name)[.size] as? Int) ?? 0)
        }
        let chunks = bytes / 2 / StateSyncLimits.chunkBytesTarget
        return UInt8(min(StateChunks.depthMax, max(2, Int.bitWidth - chunks.leadingZeroBitCount)))
    }
}

/// State sync's client (docs/network.md, "State sync"): a node whose data directory holds no
/// store asks its peers for their snapshots, picks the newest, and fetches it — block H and
/// block H + 1 with their certificates, the 2^depth subtree summaries, then every chunk, from
/// all peers that offered it, a few requests in flight to each. Everything is checked before it
/// is kept: block H + 1's certificate under the trusted validator set; block H by its hash in
/// H + 1's header and its own certificate; the summaries against the state root in H + 1's
/// header; each chunk against its summary. A peer that sends anything that fails is not asked
/// again. The state is then written into a new store at height H (`RocksStore.importState`),
/// and the node starts as usual, block-syncing from H + 1.
///
/// It runs on the calling thread, fed by the network's events.
final class StateSyncClient {
    struct Outcome: Sendable {
        let height: UInt64
        let stateRoot: Digest
        let values: Int
        let bytes: Int
        let seconds: Double
    }

    /// Chunk requests in flight to one peer.
    static let windowPerPeer = 2
    static let requestTimeoutNanoseconds: UInt64 = 20_000_000_000
    /// Whole fetches started over (the chosen snapshot went away, or every peer offering it failed).
    static let attemptsMax = 3

    private let chainID: ChainID
    private let trusted: ValidatorSet
    private let logger: Logger
    private let events: Mailbox<NetworkEvent>
    private let send: (PeerMessage, PeerID) -> Void
    private let discoveryNanoseconds: UInt64

    private var linked: Set<PeerID> = []
    private var refused: Set<PeerID> = []
    /// The peers left out for sending something that did not check, sorted.
    var refusedPeers: [PeerID] { refused.sorted() }

    /// `trusted`: the validator set whose certificate the anchor block must carry (genesis's).
    init(chainID: ChainID, trusted: ValidatorSet, discoverySeconds: Int, logger: Logger, events: Mailbox<NetworkEvent>,
         send: @escaping (PeerMessage, PeerID) -> Void) {
        (self.chainID, self.trusted, self.logger, self.events, self.send) = (chainID, trusted, logger, events, send)
        discoveryNanoseconds = UInt64(discoverySeconds) * 1_000_000_000
    }

    /// Fetches and imports a snapshot into the new store at `storePath`; nil when no peer offered
    /// one that could be fetched (the node then starts from genesis).
    func run(storePath: String) throws(NodeError) -> Outcome? {
        let started = Monotonic.nanoseconds
        for attempt in 1...Self.attemptsMax {
            guard let (offer, sources) = discover() else { return nil }
            logger.info("state sync: fetching a snapshot", metadata: [
                "height": "\(offer.height)", "root": "\(offer.stateRoot.hex.prefix(16))", "chunks": "\(1 << Int(offer.depth))",
                "peers": "\(sources.count)", "attempt": "\(attempt)",
            ])
            let spool = ChunkSpool(directory: storePath + ".chunks")
            defer { spool.remove() }
            guard let anchor = fetchAnchor(offer, sources: sources),
                  let top = fetchTop(offer, anchor: anchor, sources: sources),
                  try fetchChunks(offer, top: top, sources: sources, into: spool) else { continue }
            let outcome = try importState(storePath, offer: offer, anchor: anchor, spool: spool, chunks: top.count, started: started)
            logger.info("state sync: state imported", metadata: [
                "height": "\(outcome.height)", "values": "\(outcome.values)", "mib": "\(outcome.bytes >> 20)",
                "seconds": "\(String(format: "%.1f", outcome.seconds))",
            ])
            return outcome
        }
        logger.warning("state sync: gave up after \(Self.attemptsMax) attempts")
        return nil
    }

    // MARK: Steps

    private struct Anchor {
        let block: CertifiedBlock
        let next: CertifiedBlock
    }

    /// Asks every linked peer for its snapshots until offers come (then a second more, for the
    /// slower peers) or the discovery time runs out. Picks the newest snapshot; its sources are
    /// every peer that offered the same one.
    private func discover() -> (SnapshotOffer, [PeerID])? {
        let deadline = Monotonic.nanoseconds + discoveryNanoseconds, second: UInt64 = 1_000_000_000
        var offers: [PeerID: [SnapshotOffer]] = [:], askedAt: [PeerID: UInt64] = [:], firstOffer: UInt64?
        while true {
            let now = Monotonic.nanoseconds, asking = linked.subtracting(refused)
            if let firstOffer, now >= firstOffer + second || asking.isSubset(of: offers.keys) { break }
            if now >= deadline { break }
            // A peer is asked as soon as it links, and again each second until it answers.
            for peer in asking where offers[peer] == nil && askedAt[peer].map({ now >= $0 + second }) ?? true {
                send(.snapshotsRequest, peer)
                askedAt[peer] = now
            }
            guard let (message, peer) = take(until: min(deadline, now + second / 4, firstOffer.map { $0 + second } ?? .max)),
                  case .snapshots(let list) = message, askedAt[peer] != nil else { continue }
            offers[peer] = list
            if !list.isEmpty, firstOffer == nil { firstOffer = Monotonic.nanoseconds }
        }
        let all = offers.values.flatMap { $0 }
        guard let best = all.max(by: { ($0.height, $0.stateRoot) < ($1.height, $1.stateRoot) }) else {
            logger.info("state sync: no peer offered a snapshot", metadata: ["peers": "\(linked.count)", "left_out": "\(refused.count)"])
            return nil
        }
        return (best, offers.filter { $0.value.contains(best) }.keys.sorted())
    }

    /// Blocks H and H + 1 with their certificates, checked against the trusted validator set.
    /// Block H + 1 may not be decided yet when the snapshot was just taken: asked again shortly.
    private func fetchAnchor(_ offer: SnapshotOffer, sources: [PeerID]) -> Anchor? {
        let deadline = Monotonic.nanoseconds + Self.requestTimeoutNanoseconds * 3
        var turn = 0
        while Monotonic.nanoseconds < deadline {
            let candidates = sources.filter { !refused.contains($0) && linked.contains($0) }
            guard !candidates.isEmpty else { return nil }
            let peer = candidates[turn % candidates.count]
            turn += 1
            send(.blocksRequest(from: offer.height, count: 2), peer)
            let answerBy = min(deadline, Monotonic.nanoseconds + 2_000_000_000)
            while let (message, from) = take(until: answerBy) {
                guard from == peer, case .blocks(let blocks) = message else { continue }
                if blocks.count >= 2 {
                    do { return try checkAnchor(blocks[0], blocks[1], offer: offer) } catch { refuse(peer, "\(error)") }
                }
                break
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return nil
    }

    private struct AnchorError: Error, CustomStringConvertible { let description: String }

    private func checkAnchor(_ block: CertifiedBlock, _ next: CertifiedBlock, offer: SnapshotOffer) throws -> Anchor {
        let height = offer.height, header = block.block.header, nextHeader = next.block.header
        guard header.height == height, nextHeader.height == height + 1 else { throw AnchorError(description: "blocks \(header.height), \(nextHeader.height) instead of \(height), \(height + 1)") }
        guard [header.validatorsHash, nextHeader.validatorsHash, nextHeader.nextValidatorsHash].allSatisfy({ $0 == trusted.hash }) else {
            throw AnchorError(description: "blocks \(height) and \(height + 1) are not all signed by the trusted (genesis) validator set \(trusted.hash.hex.prefix(16)): state sync trusts that set only; if the validators changed since genesis, start from genesis (state_sync.enabled = false)")
        }
        try next.certificate.verify(chainID: chainID, validators: trusted, height: height + 1, blockHash: next.block.hash)
        try block.certificate.verify(chainID: chainID, validators: trusted, height: height, blockHash: block.block.hash)
        guard nextHeader.previousBlockHash == block.block.hash else { throw AnchorError(description: "block \(height + 1) does not follow block \(height)") }
        try block.block.checkConsistency()
        guard nextHeader.stateRoot == offer.stateRoot else {
            throw AnchorError(description: "the snapshot's root \(offer.stateRoot.hex) is not the certified root \(nextHeader.stateRoot.hex)")
        }
        return Anchor(block: block, next: next)
    }

    /// The subtree summaries, checked against the certified state root.
    private func fetchTop(_ offer: SnapshotOffer, anchor: Anchor, sources: [PeerID]) -> [SubtreeSummary]? {
        for peer in sources where !refused.contains(peer) && linked.contains(peer) {
            send(.snapshotTopRequest(height: offer.height), peer)
            let deadline = Monotonic.nanoseconds + Self.requestTimeoutNanoseconds
            while let (message, from) = take(until: deadline) {
                guard from == peer, case .snapshotTop(let height, let summaries) = message, height == offer.height else { continue }
                if summaries.count == 1 << Int(offer.depth), StateChunks.root(of: summaries) == anchor.next.block.header.stateRoot { return summaries }
                refuse(peer, summaries.isEmpty ? "no longer holds the snapshot" : "its summaries do not give the certified root")
                break
            }
        }
        return nil
    }

    /// Every chunk, each checked against its summary and written to the spool, asked of the
    /// sources in turn; false when no source is left.
    private func fetchChunks(_ offer: SnapshotOffer, top: [SubtreeSummary], sources: [PeerID], into spool: ChunkSpool) throws(NodeError) -> Bool {
        let count = 1 << Int(offer.depth), depth = Int(offer.depth)
        try spool.create()
        var waiting = Array((0..<count).reversed()), done = 0
        var inflight: [Int: (peer: PeerID, deadline: UInt64)] = [:]
        var lastNote = Monotonic.nanoseconds
        while done < count {
            let usable = sources.filter { !refused.contains($0) && linked.contains($0) }
            guard !usable.isEmpty else { return false }
            for peer in usable {
                var load = inflight.values.filter { $0.peer == peer }.count
                while load < Self.windowPerPeer, let index = waiting.popLast() {
                    send(.chunkRequest(height: offer.height, index: UInt32(index)), peer)
                    inflight[index] = (peer, Monotonic.nanoseconds + Self.requestTimeoutNanoseconds)
                    load += 1
                }
            }
            let soonest = inflight.values.map(\.deadline).min() ?? Monotonic.nanoseconds + 1_000_000_000
            if let (message, from) = take(until: soonest),
               case .chunk(let height, let index32, let entries) = message, height == offer.height {
                let index = Int(index32)
                guard let asked = inflight[index], asked.peer == from else { continue }
                inflight[index] = nil
                guard let entries else {
                    refuse(from, "no longer holds the snapshot")
                    waiting.append(index)
                    continue
                }
                do {
                    try StateChunks.verifyChunk(entries.map { (key: $0.key.raw, valueHash: SHA256.hash($0.value)) }, index: index, depth: depth, expected: top[index])
                } catch {
                    refuse(from, "\(error)")
                    waiting.append(index)
                    continue
                }
                try spool.write(entries, index: index)
                done += 1
            }
            let now = Monotonic.nanoseconds
            for (index, asked) in inflight where asked.deadline <= now || !linked.contains(asked.peer) {
                inflight[index] = nil
                waiting.append(index)
                logger.info("state sync: chunk request timed out", metadata: ["peer": "\(asked.peer.hex.prefix(8))", "chunk": "\(index)"])
            }
            if now - lastNote >= 5_000_000_000 {
                lastNote = now
                logger.info("state sync progress", metadata: ["chunks": "\(done)/\(count)"])
            }
        }
        return true
    }

    /// Writes the state into a new store beside `storePath` and renames it into place.
    private func importState(_ storePath: String, offer: SnapshotOffer, anchor: Anchor, spool: ChunkSpool, chunks: Int, started: UInt64) throws(NodeError) -> Outcome {
        let partial = storePath + ".partial"
        let files = FileManager.default
        try? files.removeItem(atPath: partial)
        let start = RocksStore.StartingBlock(block: anchor.block.block, resultsRoot: anchor.next.block.header.lastResultsRoot, certificate: anchor.block.certificate)
        // One chunk in memory at a time; a chunk that does not read back gives another root, refused below.
        let writes = (0..<chunks).lazy.flatMap { spool.read(index: $0) }.map { StateWrite(key: $0.key, value: $0.value) }
        let root: Digest
        do {
            root = try RocksStore.importState(path: partial, at: start, validators: [(offer.height, trusted)], writes: writes)
        } catch { throw .dataDirectory("state sync: import into \(partial): \(error)") }
        guard root == offer.stateRoot else { throw .fatal("state sync: the imported state's root \(root.hex) is not the certified \(offer.stateRoot.hex)") }
        do { try files.moveItem(atPath: partial, toPath: storePath) } catch {
            throw .dataDirectory("state sync: cannot move \(partial) to \(storePath): \(error.localizedDescription)")
        }
        return Outcome(height: offer.height, stateRoot: root, values: spool.values, bytes: spool.bytes, seconds: Double(Monotonic.nanoseconds - started) / 1e9)
    }

    // MARK: Events

    /// The next message before `deadline`, keeping track of links; nil once the deadline passes.
    private func take(until deadline: UInt64) -> (PeerMessage, PeerID)? {
        while let event = events.take(deadline: deadline) {
            switch event {
            case .connected(let peer): linked.insert(peer)
            case .disconnected(let peer): linked.remove(peer)
            case .message(let message, let peer): return (message, peer)
            }
        }
        return nil
    }

    private func refuse(_ peer: PeerID, _ reason: String) {
        guard refused.insert(peer).inserted else { return }
        logger.warning("state sync: not asking this peer again", metadata: ["peer": "\(peer.hex.prefix(8))", "reason": "\(reason)"])
    }
}

/// Checked chunks on disk until the import (`DATA_DIR/ledger.rocksdb.chunks/INDEX`, each the
/// canonical list of its entries), so the client holds one chunk in memory, not the whole state.
final class ChunkSpool {
    let directory: String
    private(set) var values = 0
    private(set) var bytes = 0

    init(directory: String) { self.directory = directory }

    func create() throws(NodeError) {
        remove()
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .dataDirectory("state sync: cannot create \(directory): \(error.localizedDescription)")
        }
    }

    func write(_ entries: [StateEntry], index: Int) throws(NodeError) {
        var writer = CanonicalWriter()
        writer.list(entries)
        guard FileManager.default.createFile(atPath: "\(directory)/\(index)", contents: Data(writer.bytes)) else {
            throw .dataDirectory("state sync: cannot write chunk \(index) into \(directory)")
        }
        values += entries.count
        bytes += entries.reduce(0) { $0 + 32 + $1.value.count }
    }

    /// The entries of chunk `index`; none if the file does not read back.
    func read(index: Int) -> [StateEntry] {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(index)") else { return [] }
        var reader = CanonicalReader(Array(data))
        return (try? reader.list("entries", of: StateEntry.self, max: StateSyncLimits.chunkValuesMax, elementBytesMin: 36)) ?? []
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

extension Node {
    /// State sync before the node starts (`state_sync.enabled` and no store in the data
    /// directory), with the genesis validators and the configured observers authorised.
    static func stateSync(config: NodeConfig, genesis: Genesis, key: Ed25519.SigningKey, group: any EventLoopGroup, logger: Logger) async throws -> StateSyncClient.Outcome? {
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try await StateSyncClient.fetch(
            into: config.dataDirectory + "/" + StorageEngine.rocksdb.fileName, key: key, networkID: genesis.hash, network: config.network,
            authorised: Set(genesis.validators.validators.map(\.publicKey) + config.observers), chainID: genesis.chainID,
            trusted: genesis.validators, discoverySeconds: config.stateSyncDiscoverySeconds, group: group, logger: logger)
    }
}

extension StateSyncClient {
    /// Runs the client with a peer network of its own that lives only while the state is fetched.
    static func fetch(into storePath: String, key: Ed25519.SigningKey, networkID: Digest, network config: NetworkConfig, authorised: Set<PeerID>,
                      chainID: ChainID, trusted: ValidatorSet, discoverySeconds: Int, group: any EventLoopGroup, logger: Logger) async throws -> Outcome? {
        let events = Mailbox<NetworkEvent>(capacity: 4_096)
        let identity = LinkIdentity(key: key, networkID: networkID, authorise: { authorised.contains($0) })
        let network = PeerNetwork(group: group, identity: identity, config: config, logger: logger) { event in
            if case .message(let message, _) = event {
                switch message {
                case .snapshots, .snapshotTop, .chunk, .blocks: break
                default: return   // consensus, gossip and status are for a running node
                }
            }
            _ = events.post(event, lane: .bulk)
        }
        try await network.start()
        logger.info("state sync: asking peers for snapshots", metadata: ["peers": "\(config.peers.count)"])
        let result: Result<Outcome?, NodeError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                let client = StateSyncClient(chainID: chainID, trusted: trusted, discoverySeconds: discoverySeconds, logger: logger, events: events,
                                             send: { network.send($0, to: $1) })
                continuation.resume(returning: Result { () throws(NodeError) in try client.run(storePath: storePath) })
            }
            thread.name = "tonle-state-sync"
            thread.stackSize = 8 << 20
            thread.start()
        }
        await network.shutdown()
        return try result.get()
    }
}

/// State sync's whole path on one machine, over real encrypted links on 127.0.0.1 (`tonle bench
/// exec --state-sync`): one peer network serves the newest snapshot in a data directory through
/// the node's snapshot server, and blocks from the store beside it; another fetches it into a new store.
public enum StateSyncLoopback {
    public struct Figures: Sendable {
        public let height: UInt64
        public let values: Int
        public let bytes: Int
        public let seconds: Double
    }

    /// `store` must hold the block after the newest snapshot in `dataDirectory`'s `snapshots/`.
    public static func run(store: RocksStore, dataDirectory: String, chainID: ChainID, validators: ValidatorSet, into storePath: String) async throws -> Figures {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "state-sync-bench")
        logger.logLevel = .warning
        let serverKey = Ed25519.SigningKey.generate(), clientKey = Ed25519.SigningKey.generate(), networkID = SHA256.hash(Array("bench".utf8))
        let server = SnapshotServer(root: Snapshots.directory(dataDirectory: dataDirectory), logger: logger)
        let blocks = BlockSource(store)
        var serving = NetworkConfig()
        serving.port = 0
        let served = PeerNetwork(group: group, identity: LinkIdentity(key: serverKey, networkID: networkID, authorise: { $0 == clientKey.publicKey }),
                                 config: serving, logger: logger) { event in
            guard case .message(let message, let peer) = event else { return }
            if message.isStateSyncRequest { server.submit(message, from: peer) }
            if case .blocksRequest(let from, let count) = message, let network = blocks.network { network.send(.blocks(blocks.read(from, count)), to: peer) }
        }
        blocks.network = served
        server.send = { served.send($0, to: $1) }
        let outcome: StateSyncClient.Outcome?, start = Monotonic.nanoseconds
        do {
            try await served.start()
            var fetching = NetworkConfig()
            fetching.port = 0
            fetching.peers = [PeerAddress(key: serverKey.publicKey, host: "127.0.0.1", port: served.boundPort)]
            outcome = try await StateSyncClient.fetch(
                into: storePath, key: clientKey, networkID: networkID, network: fetching, authorised: [serverKey.publicKey], chainID: chainID,
                trusted: validators, discoverySeconds: 30, group: group, logger: logger)
        } catch {
            await served.shutdown()
            blocks.release()
            server.stop()
            try? await group.shutdownGracefully()
            throw error
        }
        let elapsed = Double(Monotonic.nanoseconds - start) / 1e9
        await served.shutdown()
        blocks.release()
        server.stop()
        try? await group.shutdownGracefully()
        guard let outcome else { throw NodeError.fatal("state sync fetched nothing") }
        return Figures(height: outcome.height, values: outcome.values, bytes: outcome.bytes, seconds: elapsed)
    }

    /// Blocks with their certificates, read from a store that nothing else uses meanwhile.
    /// Lets go of the store once the fetch is over (the network's closures may outlive it).
    private final class BlockSource: @unchecked Sendable {
        private var store: RocksStore?
        private let lock = NSLock()
        var network: PeerNetwork?
        init(_ store: RocksStore) { self.store = store }

        func release() { lock.withLock { (store, network) = (nil, nil) } }

        func read(_ from: UInt64, _ count: UInt32) -> [CertifiedBlock] {
            lock.withLock {
                guard let store else { return [] }
                return (from..<from &+ UInt64(min(count, 16))).compactMap { height in
                    store.block(at: height).flatMap { block in store.certificate(at: height).map { CertifiedBlock(block: block, certificate: $0) } }
                }
            }
        }
    }
}
