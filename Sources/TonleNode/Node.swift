import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TonleConsensus
import TonleCrypto
import TonleLedger
import TonleMerkle
import TonleNetwork
import TonleRPC
import TonleRuntime
import TonleStorage
import TonleStore
import TonleTypes

/// A validator (or observer) node: configuration, genesis, data directory, the node loop, the
/// peer network and the RPC, run as one ServiceGroup that stops gracefully on SIGTERM/SIGINT
/// (docs/operations.md).
public enum Node {
    public static let version = "0.6.0"

    /// Starts the node described by the configuration file at `configPath` and runs it until a
    /// signal or a fatal error.
    public static func run(configPath: String, logger baseLogger: Logger) async throws {
        let config = try await NodeConfig.load(path: configPath)
        var logger = baseLogger
        logger.logLevel = config.logLevel
        logger[metadataKey: "node"] = "\(config.name)"
        let genesis = try GenesisFile.load(path: config.genesisFile)
        let key = try KeyFileIO.read(config.keyFile)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(2, System.coreCount)))
        if config.stateSyncEnabled {
            if FileManager.default.fileExists(atPath: config.dataDirectory + "/" + config.storageEngine.fileName) {
                logger.info("state sync skipped: the data directory holds a store")
            } else {
                do {
                    if try await stateSync(config: config, genesis: genesis, key: key, group: group, logger: logger) == nil {
                        logger.info("state sync found no snapshot: starting from genesis")
                    }
                } catch {
                    try? await group.shutdownGracefully()
                    throw error
                }
            }
        }
        let store = try openDataDirectory(config, genesis: genesis, logger: logger)
        let consensusLog: FileConsensusLog, signState: FileSignState
        do {
            consensusLog = try FileConsensusLog(path: config.dataDirectory + "/consensus.wal")
            signState = try FileSignState(path: config.dataDirectory + "/sign-state")
        } catch { throw NodeError.dataDirectory("\(error)") }
        let isValidator = genesis.validators.validator(key.publicKey) != nil
        logger.info("starting", metadata: [
            "version": "\(version)", "chain": "\(genesis.chainID)", "genesis": "\(genesis.hash.hex)", "key": "\(key.publicKey.hex)",
            "height": "\(store.appliedHeight ?? 0)", "validator": "\(isValidator)", "data": "\(config.dataDirectory)",
        ])
        let metrics = NodeMetrics()
        let loop = try NodeLoop(config: config, chainID: genesis.chainID, key: key, store: store, consensusLog: consensusLog,
                                signState: signState, validators: genesis.validators,
                                gateways: genesis.participants.filter { $0.role == .gateway }.map(\.id), logger: logger, metrics: metrics)
        if let rocks = store as? RocksStore, config.snapshotInterval > 0 {
            loop.snapshots = SnapshotSchedule(
                store: rocks, genesis: genesis.hash.hex, root: Snapshots.directory(dataDirectory: config.dataDirectory),
                interval: config.snapshotInterval, keep: config.snapshotsKeep)
        } else if config.snapshotInterval > 0 {
            logger.warning("no snapshots: storage.snapshot_interval needs storage.engine = \"rocksdb\"")
        }
        let identity = LinkIdentity(key: key, networkID: genesis.hash, authorise: { loop.authorised.withLock { $0 }.contains($0) })
        let verifier = PeerVerifier(workers: config.verifyWorkers, capacity: PeerVerifier.queueCapacity, deliver: { event in
            // Gossiped transactions are bulk work; everything else from peers goes first.
            if case .message(.transactions(let transactions), _) = event {
                if !loop.mailbox.post(.network(event), lane: .bulk) { metrics.peerMessagesUnverifiedDropped.increment(by: transactions.count) }
            } else if !loop.mailbox.post(.network(event)) {
                metrics.peerMessagesUnverifiedDropped.increment()
            }
        }, dropped: { metrics.peerMessagesUnverifiedDropped.increment(by: $0) })
        defer { verifier.stop() }
        let snapshotServer = config.storageEngine == .rocksdb ? SnapshotServer(root: Snapshots.directory(dataDirectory: config.dataDirectory), logger: logger) : nil
        defer { snapshotServer?.stop() }
        let network = PeerNetwork(group: group, identity: identity, config: config.network, logger: logger) { event in
            // State sync's requests read snapshots on disk: the snapshot server's thread answers them.
            if case .message(let message, let peer) = event, message.isStateSyncRequest {
                snapshotServer?.submit(message, from: peer)
            } else {
                verifier.submit(event)
            }
        }
        loop.network = network
        snapshotServer?.send = { network.send($0, to: $1) }
        let connections = RPCConnections()
        let api = NodeAPIImplementation(loop: loop, config: config, chainID: genesis.chainID, genesisAccounts: genesis.accounts, metrics: metrics,
                                        network: network, connections: connections)
        let rpc: any Service
        do { rpc = try RPCServer.application(api: api, config: config.rpc, logger: logger, connections: connections) } catch {
            throw NodeError.config("rpc: \(error.message)")
        }
        let services = ServiceGroup(configuration: .init(
            services: [
                .init(service: LoopService(loop: loop), successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: NetworkService(network: network)),
                .init(service: rpc),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await services.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
        if let fatal = loop.snapshot.withLock({ $0.fatal }) { throw NodeError.fatal(fatal) }
        logger.info("stopped", metadata: ["height": "\(store.appliedHeight ?? 0)"])
    }

    /// Creates the data directory on first start (mode 0700, genesis written into a new store);
    /// afterwards checks it belongs to the configured genesis.
    static func openDataDirectory(_ config: NodeConfig, genesis: Genesis, logger: Logger) throws(NodeError) -> any LedgerStore {
        let directory = config.dataDirectory, marker = directory + "/genesis.sha256"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch { throw .dataDirectory("cannot create \(directory): \(error.localizedDescription)") }
        let expected = genesis.hash.hex
        if let recorded = try? String(contentsOfFile: marker, encoding: .utf8) {
            let recordedHash = recorded.trimmingCharacters(in: .whitespacesAndNewlines)
            guard recordedHash == expected else {
                throw .genesis("the data directory \(directory) belongs to the network with genesis hash \(recordedHash), but \(config.genesisFile) has hash \(expected). Point node.genesis_file at that network's genesis, or node.data_dir at a new directory")
            }
        }
        let other = StorageEngine.allCases.first { $0 != config.storageEngine }!
        guard !FileManager.default.fileExists(atPath: directory + "/" + other.fileName) else {
            throw .dataDirectory("\(directory) holds a \(other.rawValue) store (\(other.fileName)) but storage.engine is \(config.storageEngine.rawValue): set storage.engine = \"\(other.rawValue)\", or start on a new data directory and let the node sync from its peers")
        }
        let store: any LedgerStore, path = directory + "/" + config.storageEngine.fileName
        do {
            switch config.storageEngine {
            case .rocksdb:
                var options = RocksStore.Options()
                options.synchronousFull = config.storageSynchronousFull
                store = try RocksStore(path: path, options: options)
            case .sqlite:
                var options = SQLiteStore.Options()
                options.synchronousFull = config.storageSynchronousFull
                store = try SQLiteStore(path: path, options: options)
            }
        } catch { throw .dataDirectory("\(error)") }
        if store.appliedHeight == nil {
            do { try BlockExecutor.initialise(store, genesis: genesis) } catch { throw .genesis("\(error)") }
            logger.info("initialised the data directory from genesis", metadata: ["root": "\(store.stateRoot.hex)"])
        }
        if !FileManager.default.fileExists(atPath: marker) {
            guard FileManager.default.createFile(atPath: marker, contents: Data((expected + "\n").utf8)) else {
                throw .dataDirectory("cannot write \(marker)")
            }
        }
        return store
    }
}

/// Runs the node loop on a thread of its own; a graceful shutdown stops it.
struct LoopService: Service {
    let loop: NodeLoop

    func run() async throws {
        let fatal: String? = await withGracefulShutdownHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: loop.run()) }
                thread.name = "tonle-node-loop"
                thread.stackSize = 8 << 20
                thread.start()
            }
        } onGracefulShutdown: {
            loop.stop()
        }
        if let fatal { throw NodeError.fatal(fatal) }
    }
}

/// Starts the peer network and closes it on shutdown.
struct NetworkService: Service {
    let network: PeerNetwork

    func run() async throws {
        try await network.start()
        try? await gracefulShutdown()
        await network.shutdown()
    }
}

/// The RPC's view of the node.
struct NodeAPIImplementation: NodeAPI {
    let loop: NodeLoop
    let config: NodeConfig
    let chainID: ChainID
    /// Sorted by id (the genesis document's order): opening balances of accounts untouched since.
    let genesisAccounts: [GenesisAccount]
    let metrics: NodeMetrics
    let network: PeerNetwork
    let connections: RPCConnections

    func submit(_ transactions: [Transaction]) async -> [SubmitOutcome] {
        // Signatures first, in parallel on all cores; only valid transactions reach the loop.
        let checks = transactions.map(\.signatureChecks)
        let flat = checks.flatMap { $0 }
        let results = BatchVerifier.verify(flat, workers: config.verifyWorkers, forkJoin: Parallel.forkJoin)
        var outcomes = [SubmitOutcome?](repeating: nil, count: transactions.count)
        var valid: [Transaction] = [], positions: [Int] = [], offset = 0
        for (index, list) in checks.enumerated() {
            if results[offset..<offset + list.count].allSatisfy({ $0 }) {
                valid.append(transactions[index])
                positions.append(index)
            } else {
                outcomes[index] = .refused(code: "BAD_SIGNATURE", message: "a signature on the transaction does not verify", retryable: false)
            }
            offset += list.count
        }
        if !valid.isEmpty {
            let admitted: [SubmitOutcome] = await withCheckedContinuation { continuation in
                let posted = loop.mailbox.post(.submit(valid, reply: { continuation.resume(returning: $0) }), lane: .bulk)
                if !posted {
                    continuation.resume(returning: valid.map { _ in .refused(code: "NODE_BUSY", message: "the node is busy; retry later", retryable: true) })
                }
            }
            for (position, outcome) in zip(positions, admitted) { outcomes[position] = outcome }
        }
        return outcomes.map { $0! }
    }

    var commits: CommitNotifier { loop.commits }

    /// Runs `body` on the loop thread; `fallback` if the loop is stopping or its mailbox is full.
    private func query<T: Sendable>(_ fallback: T, _ body: @escaping @Sendable (NodeLoop) -> T) async -> T {
        await withCheckedContinuation { continuation in
            let posted = loop.mailbox.post(.query { loop in continuation.resume(returning: body(loop)) })
            if !posted { continuation.resume(returning: fallback) }
        }
    }

    func transactionStatus(_ id: TransactionID, withTransaction: Bool) async -> TransactionStatusView {
        await query(TransactionStatusView(id: id.digest.hex, status: "unknown")) { $0.transactionStatus(id, withTransaction: withTransaction) }
    }

    func block(_ height: UInt64) async -> BlockView? { await query(nil) { $0.views.blockView(height) } }

    func prefundAlerts(at height: UInt64) async -> [PrefundAlertView] { await query([]) { $0.prefundAlerts[height] ?? [] } }

    func blockTransactions(_ height: UInt64) async -> [Transaction]? { await query(nil) { $0.views.store.block(at: height)?.transactions } }

    func blocks(from: UInt64, limit: Int) async -> [BlockSummaryView] { await query([]) { $0.views.blockSummaries(from: from, limit: limit) } }

    func validators(signing height: UInt64?) async throws(APIError) -> ValidatorsView {
        guard let found = await query(ValidatorsView??.none, { .some($0.views.validatorsView(signing: height)) }) else { throw Self.busy }
        guard let view = found else {
            throw .notFound("no validator set for block \(height ?? 0) yet: sets are known up to the block after the latest (\(loop.commits.height + 1))")
        }
        return view
    }

    func receipt(_ id: TransactionID) async throws(APIError) -> ReceiptView {
        guard let found = await query(StoreViews.ReceiptParts??.none, { .some($0.views.receiptParts(id)) }) else { throw Self.busy }
        guard let parts = found else { throw .notFound("transaction \(id.digest.hex) is not committed here (see GET /v1/transactions/\(id.digest.hex))") }
        let anchor = try await anchor(parts.height + 1, "the receipt's results")
        return ReceiptView(id: id, height: parts.height, index: parts.index, transaction: parts.transaction, result: parts.result,
                           transactionsProof: parts.transactionsProof, resultsProof: parts.resultsProof, header: parts.header,
                           nextHeader: anchor.header, nextCertificate: anchor.certificate)
    }

    /// Block `height`'s header and certificate, waiting up to `rpc.proof_wait_seconds` for it to be
    /// committed (a proof of block h's results or of the state after it is anchored in block h + 1).
    private func anchor(_ height: UInt64, _ what: String) async throws(APIError) -> StoreViews.Anchor {
        let deadline = ContinuousClock.now + .seconds(config.rpc.proofWaitSeconds)
        while commits.height < height, ContinuousClock.now < deadline, !commits.isClosed {
            _ = await commits.wait(beyond: height - 1, timeout: deadline - .now)
        }
        guard let anchor = await query(nil, { $0.views.anchor(height) }) else {
            throw APIError("PROOF_NOT_READY", "block \(height), which certifies \(what), was not committed within \(config.rpc.proofWaitSeconds) s; retry", .serviceUnavailable, headers: [.retryAfter: "1"])
        }
        return anchor
    }

    func stateAnchor(after height: UInt64) async throws(APIError) -> StateAnchor {
        let anchor = try await anchor(height + 1, "the state the proof is of")
        return StateAnchor(header: anchor.header, certificate: anchor.certificate)
    }

    func withCommittedState<T: Sendable>(_ body: @escaping @Sendable (CommittedState) -> Result<T, APIError>) async throws(APIError) -> T {
        guard let result = await query(Result<T, APIError>?.none, { .some(body($0.views.committedState(fallbackTime: WallClock.milliseconds))) }) else { throw Self.busy }
        return try result.get()
    }

    /// Balances and movements in one turn of the loop, then each block's details in a turn of its
    /// own: a statement of thousands of movements never holds up consensus for long.
    func accountStatement(_ id: AccountID, date: BusinessDate) async throws(APIError) -> AccountStatement {
        let genesis = genesisAccounts
        let planned = await query(Result<AccountStatement, APIError>?.none) { loop in
            .some(Result { () throws(APIError) in
                try AccountStatements.plan(loop.store, account: id, date: date) { account in
                    var (low, high) = (0, genesis.count)
                    while low < high {
                        let middle = (low + high) / 2
                        if genesis[middle].id < account { low = middle + 1 } else { high = middle }
                    }
                    guard low < genesis.count, genesis[low].id == account else { return nil }
                    return genesis[low].balances.map { Balance(currency: $0.currency, balance: $0.minorUnits) }
                }
            })
        }
        guard let planned else { throw Self.busy }
        var statement = try planned.get()
        for height in statement.heights {
            guard let block = await query(Block??.none, { .some($0.store.block(at: height)) }) else { throw Self.busy }
            guard block != nil else { throw APIError("STATEMENT_UNAVAILABLE", "block \(height) was pruned while the statement was made; ask again", .conflict) }
            AccountStatements.describe(&statement, height: height, block: block)
        }
        return statement
    }

    func accountTransactions(_ id: AccountID, before: HistoryPosition?, limit: Int) async throws(APIError) -> AccountHistoryView {
        guard let view = await query(nil, { $0.views.accountHistory(id, before: before, limit: limit) }) else { throw Self.busy }
        return view
    }

    /// The account now; with `proof`, the proof is of the state after the applied block H, and is
    /// anchored in block H + 1, whose header carries that state root: so it waits for that block.
    func account(_ id: AccountID, proof: Bool) async throws(APIError) -> AccountView {
        // nil: the loop did not answer (busy); .some(nil): no such account.
        guard let found = await query(StoreViews.AccountSnapshot??.none, { .some($0.views.accountSnapshot(id, proof: proof)) }) else { throw Self.busy }
        guard let snapshot = found else { throw .notFound("no account \(id) exists at height \(loop.commits.height)") }
        guard proof, let merkle = snapshot.proof else { return AccountView(record: snapshot.record, height: snapshot.height) }
        let anchorHeight = snapshot.height + 1
        let anchor = try await anchor(anchorHeight, "the state the proof is of")
        guard anchor.header.stateRoot == snapshot.root else {   // cannot happen: block H + 1 carries the root after H
            throw APIError("PROOF_NOT_READY", "block \(anchorHeight) carries state root \(anchor.header.stateRoot.hex), not the proof's \(snapshot.root.hex); retry", .serviceUnavailable, headers: [.retryAfter: "1"])
        }
        let view = StateProofView(
            height: snapshot.height, key: StateKey.account(id).hex, value: Hex.encode(snapshot.value), proof: Hex.encode(merkle.encoded),
            stateRoot: snapshot.root.hex, header: Hex.encode(anchor.header.encoded), certificate: Hex.encode(anchor.certificate.encoded))
        return AccountView(record: snapshot.record, height: snapshot.height, proof: view)
    }

    static let busy = APIError("NODE_BUSY", "the node is busy or stopping; retry", .serviceUnavailable, headers: [.retryAfter: "1"])

    func status() -> StatusView {
        let snapshot = loop.snapshot.withLock { $0 }
        return StatusView(
            name: config.name, chainID: chainID.description, version: Node.version, height: snapshot.replica.height, round: snapshot.replica.round,
            stateRoot: snapshot.stateRoot.hex, latestBlockHash: snapshot.latestBlockHash.hex, latestBlockTimeMilliseconds: snapshot.latestBlockTime,
            validator: snapshot.replica.validator, peers: network.connectedPeers.map(\.hex),
            sync: !snapshot.replica.linkedQuorum ? "no_quorum" : snapshot.replica.syncing ? "syncing" : "caught_up",
            mempoolTransactions: snapshot.replica.mempoolTransactions, oldestBlockHeight: snapshot.oldestBlockHeight)
    }

    func metricsText() -> String {
        metrics.droppedPeerMessages.record(network.droppedMessages)
        metrics.refusedPeerConnections.record(network.refusedConnections)
        metrics.rpcConnectionsOpen.record(connections.openCount)
        metrics.rpcConnectionsRefused.record(connections.refusedCount)
        metrics.rpcRequestsLate.record(connections.lateCount)
        return metrics.text()
    }
}
