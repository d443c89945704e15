import Configuration
import Foundation
import Logging
import TonleConsensus
import TonleCrypto
import TonleNetwork
import TonleRuntime
import TonleRPC
import TonleTypes

/// Everything `tonle-node start` reads: a JSON file, each key overridable by an environment
/// variable (`p2p.listen` ← `TONLE_P2P_LISTEN`). Every key, its default and its meaning is in
/// docs/operations.md; a test checks the two agree. Relative paths are relative to the file.
public struct NodeConfig: Sendable {
    public var name = "tonle-node"
    public var keyFile = ""
    public var dataDirectory = ""
    public var genesisFile = ""
    public var network = NetworkConfig()
    /// Public keys (hex) of observers allowed to link besides the validators.
    public var observers: [Ed25519.PublicKey] = []
    public var rpc = RPCConfig()
    public var mempoolTransactionsMax = 100_000
    public var mempoolBytesMax = 256 << 20
    public var consensus = ConsensusConfig.nodeDefaults
    public var emptyBlockIntervalMilliseconds: UInt64 = 1_000
    public var blockTransactionsMax = Limits.blockTransactionsMax
    public var blockBytesMax = 8 << 20
    public var syncBatchBlocks = 64
    public var statusIntervalMilliseconds: UInt64 = 500
    public var syncRequestTimeoutMilliseconds: UInt64 = 5_000
    public var storageSynchronousFull = true
    /// The store's engine: `rocksdb` (merges beside the commits) or `sqlite` (docs/storage.md).
    public var storageEngine = StorageEngine.rocksdb
    /// A snapshot of the store every this many heights (0: none); rocksdb only (docs/operations.md).
    public var snapshotInterval: UInt64 = 1_000
    /// Snapshots kept in `DATA_DIR/snapshots/`, newest first.
    public var snapshotsKeep = 2
    /// Blocks kept below the latest (0: every block, an archive); older ones are pruned, never
    /// those the kept snapshots need (docs/operations.md, "Retention").
    public var retainBlocks: UInt64 = 0
    /// A node whose data directory holds no store fetches the state of a peer's snapshot instead
    /// of replaying every block from genesis (docs/network.md, "State sync").
    public var stateSyncEnabled = false
    /// How long state sync waits for peers' offers before starting from genesis instead.
    public var stateSyncDiscoverySeconds = 15
    public var verifyWorkers = ProcessInfo.processInfo.activeProcessorCount

    /// What the replica (the node's deterministic core) is configured with.
    public var replica: ReplicaConfig {
        var r = ReplicaConfig()
        (r.consensus, r.mempoolTransactionsMax, r.mempoolBytesMax) = (consensus, mempoolTransactionsMax, mempoolBytesMax)
        (r.blockTransactionsMax, r.blockBytesMax, r.idleProposalMilliseconds) = (blockTransactionsMax, blockBytesMax, emptyBlockIntervalMilliseconds)
        (r.statusIntervalMilliseconds, r.syncBatchBlocks, r.syncRequestTimeoutMilliseconds) = (statusIntervalMilliseconds, syncBatchBlocks, syncRequestTimeoutMilliseconds)
        return r
    }
    public var logLevel = Logger.Level.info

    public init() {}

    /// What a key's value is: the file must hold that JSON type, the environment a text that reads as it.
    public enum Kind: Sendable { case text, number, flag, list }

    /// Every key the file may hold, and its kind (docs/operations.md lists the same set).
    public static let schema: [(key: String, kind: Kind)] = [
        ("node.name", .text), ("node.key_file", .text), ("node.data_dir", .text), ("node.genesis_file", .text),
        ("p2p.listen", .text), ("p2p.peers", .list), ("p2p.observers", .list), ("p2p.reconnect_min_ms", .number), ("p2p.reconnect_max_ms", .number),
        ("p2p.peer_queue_bytes_max", .number), ("p2p.handshake_timeout_ms", .number), ("p2p.idle_timeout_ms", .number),
        ("p2p.unauthenticated_per_address_max", .number), ("p2p.unauthenticated_max", .number),
        ("rpc.listen", .text), ("rpc.body_bytes_max", .number), ("rpc.batch_transactions_max", .number), ("rpc.rate_limit_per_s", .number),
        ("rpc.rate_limit_burst", .number), ("rpc.event_streams_max", .number), ("rpc.wait_seconds_max", .number), ("rpc.proof_wait_seconds", .number),
        ("rpc.request_deadline_ms", .number), ("rpc.idle_timeout_ms", .number), ("rpc.connections_per_client_max", .number),
        ("rpc.connections_max", .number), ("rpc.tls_cert_file", .text), ("rpc.tls_key_file", .text), ("rpc.tls_client_ca_file", .text),
        ("mempool.transactions_max", .number), ("mempool.bytes_max", .number),
        ("consensus.propose_timeout_ms", .number), ("consensus.prevote_timeout_ms", .number), ("consensus.precommit_timeout_ms", .number),
        ("consensus.timeout_delta_ms", .number), ("consensus.retransmit_ms", .number), ("consensus.empty_block_interval_ms", .number),
        ("consensus.block_transactions_max", .number), ("consensus.block_bytes_max", .number),
        ("sync.batch_blocks", .number), ("sync.status_interval_ms", .number), ("sync.request_timeout_ms", .number),
        ("storage.synchronous_full", .flag), ("storage.engine", .text), ("storage.snapshot_interval", .number),
        ("storage.snapshots_keep", .number), ("storage.retain_blocks", .number), ("state_sync.enabled", .flag), ("state_sync.discovery_seconds", .number),
        ("verify.workers", .number), ("log.level", .text),
    ]

    /// Every key the file may hold.
    public static var keys: [String] { schema.map(\.key) }

    /// Reads `path`, then the environment over it, and checks every value.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(NodeError) -> NodeConfig {
        guard FileManager.default.fileExists(atPath: path) else { throw .config("no configuration file at \(path)") }
        // The reader falls back to a default for a value of the wrong type: check the types first.
        try checkKinds(path: path, environment: environment)
        let reader: ConfigReader
        do {
            let file = try await FileProvider<JSONSnapshot>(filePath: .init(path))
            let env = EnvironmentVariablesProvider(environmentVariables: environment.filter { $0.key.hasPrefix("TONLE_") }).prefixKeys(with: "tonle")
            reader = ConfigReader(providers: [env, file])
        } catch { throw .config("\(path): \(error)") }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ value: String) -> String {
            value.isEmpty || value.hasPrefix("/") ? value : base.appendingPathComponent(value).standardizedFileURL.path
        }
        var c = NodeConfig()
        func required(_ key: String) throws(NodeError) -> String {
            guard let value = reader.string(forKey: ConfigKey(key)), !value.isEmpty else {
                throw .config("\(key) is required (or TONLE_\(key.uppercased().replacingOccurrences(of: ".", with: "_")))")
            }
            return value
        }
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(NodeError) -> Int {
            let value = reader.int(forKey: ConfigKey(key), default: fallback)
            guard range.contains(value) else { throw .config("\(key) is \(value); it must be in \(range.lowerBound)...\(range.upperBound)") }
            return value
        }
        func address(_ key: String, _ fallback: String) throws(NodeError) -> (String, Int) {
            let text = reader.string(forKey: ConfigKey(key), default: fallback)
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
                  colon > text.startIndex
            else { throw .config("\(key) is \"\(text)\"; expected HOST:PORT") }
            return (String(text[..<colon]), port)
        }
        c.name = reader.string(forKey: "node.name", default: c.name)
        c.keyFile = resolve(try required("node.key_file"))
        c.dataDirectory = resolve(try required("node.data_dir"))
        c.genesisFile = resolve(try required("node.genesis_file"))
        (c.network.host, c.network.port) = try address("p2p.listen", "127.0.0.1:26600")
        for text in reader.stringArray(forKey: "p2p.peers", default: []) {
            guard let peer = PeerAddress(text) else { throw .config("p2p.peers: \"\(text)\" is not KEYHEX@HOST:PORT") }
            c.network.peers.append(peer)
        }
        for text in reader.stringArray(forKey: "p2p.observers", default: []) {
            guard let raw = Bytes32(hex: text) else { throw .config("p2p.observers: \"\(text)\" is not a 64-digit hex public key") }
            c.observers.append(Ed25519.PublicKey(raw))
        }
        c.network.reconnectMinimumMilliseconds = Int64(try int("p2p.reconnect_min_ms", 100, 1...60_000))
        c.network.reconnectMaximumMilliseconds = Int64(try int("p2p.reconnect_max_ms", 500, Int(c.network.reconnectMinimumMilliseconds)...600_000))
        c.network.peerQueueBytesMax = try int("p2p.peer_queue_bytes_max", c.network.peerQueueBytesMax, (1 << 20)...(1 << 32))
        c.network.handshakeTimeoutMilliseconds = Int64(try int("p2p.handshake_timeout_ms", 5_000, 100...60_000))
        c.network.idleTimeoutMilliseconds = Int64(try int("p2p.idle_timeout_ms", 10_000, 1_000...600_000))
        c.network.unauthenticatedPerAddressMax = try int("p2p.unauthenticated_per_address_max", c.network.unauthenticatedPerAddressMax, 1...1_024)
        c.network.unauthenticatedMax = try int("p2p.unauthenticated_max", c.network.unauthenticatedMax, c.network.unauthenticatedPerAddressMax...100_000)
        (c.rpc.host, c.rpc.port) = try address("rpc.listen", "127.0.0.1:26700")
        c.rpc.bodyBytesMax = try int("rpc.body_bytes_max", c.rpc.bodyBytesMax, (64 << 10)...(256 << 20))
        c.rpc.batchTransactionsMax = try int("rpc.batch_transactions_max", c.rpc.batchTransactionsMax, 1...100_000)
        c.rpc.ratePerSecond = Double(try int("rpc.rate_limit_per_s", Int(c.rpc.ratePerSecond), 1...10_000_000))
        c.rpc.rateBurst = Double(try int("rpc.rate_limit_burst", Int(c.rpc.rateBurst), 1...10_000_000))
        c.rpc.eventStreamsMax = try int("rpc.event_streams_max", c.rpc.eventStreamsMax, 1...100_000)
        c.rpc.waitSecondsMax = try int("rpc.wait_seconds_max", c.rpc.waitSecondsMax, 0...3_600)
        c.rpc.proofWaitSeconds = try int("rpc.proof_wait_seconds", c.rpc.proofWaitSeconds, 1...3_600)
        c.rpc.requestDeadlineMilliseconds = Int64(try int("rpc.request_deadline_ms", Int(c.rpc.requestDeadlineMilliseconds), 100...600_000))
        c.rpc.idleTimeoutMilliseconds = Int64(try int("rpc.idle_timeout_ms", Int(c.rpc.idleTimeoutMilliseconds), 1_000...3_600_000))
        c.rpc.connectionsPerClientMax = try int("rpc.connections_per_client_max", c.rpc.connectionsPerClientMax, 1...1_000_000)
        c.rpc.connectionsMax = try int("rpc.connections_max", c.rpc.connectionsMax, c.rpc.connectionsPerClientMax...1_000_000)
        func file(_ key: String) -> String? { reader.string(forKey: ConfigKey(key)).flatMap { $0.isEmpty ? nil : resolve($0) } }
        (c.rpc.tlsCertificateFile, c.rpc.tlsKeyFile, c.rpc.tlsClientCAFile) = (file("rpc.tls_cert_file"), file("rpc.tls_key_file"), file("rpc.tls_client_ca_file"))
        guard (c.rpc.tlsCertificateFile == nil) == (c.rpc.tlsKeyFile == nil) else {
            throw .config("rpc.tls_cert_file and rpc.tls_key_file go together: set both for TLS, or neither")
        }
        guard c.rpc.tlsClientCAFile == nil || c.rpc.tlsCertificateFile != nil else {
            throw .config("rpc.tls_client_ca_file needs TLS: set rpc.tls_cert_file and rpc.tls_key_file too")
        }
        for path in [c.rpc.tlsCertificateFile, c.rpc.tlsKeyFile, c.rpc.tlsClientCAFile].compactMap(\.self) where !FileManager.default.isReadableFile(atPath: path) {
            throw .config("cannot read the TLS file \(path)")
        }
        c.mempoolTransactionsMax = try int("mempool.transactions_max", c.mempoolTransactionsMax, 1...10_000_000)
        c.mempoolBytesMax = try int("mempool.bytes_max", c.mempoolBytesMax, (1 << 20)...(1 << 34))
        c.consensus.proposeMilliseconds = UInt64(try int("consensus.propose_timeout_ms", Int(c.consensus.proposeMilliseconds), 10...600_000))
        c.consensus.prevoteMilliseconds = UInt64(try int("consensus.prevote_timeout_ms", Int(c.consensus.prevoteMilliseconds), 10...600_000))
        c.consensus.precommitMilliseconds = UInt64(try int("consensus.precommit_timeout_ms", Int(c.consensus.precommitMilliseconds), 10...600_000))
        let delta = UInt64(try int("consensus.timeout_delta_ms", Int(c.consensus.proposeDeltaMilliseconds), 0...600_000))
        (c.consensus.proposeDeltaMilliseconds, c.consensus.prevoteDeltaMilliseconds, c.consensus.precommitDeltaMilliseconds) = (delta, delta / 2, delta / 2)
        c.consensus.retransmitMilliseconds = UInt64(try int("consensus.retransmit_ms", Int(c.consensus.retransmitMilliseconds), 50...600_000))
        c.emptyBlockIntervalMilliseconds = UInt64(try int("consensus.empty_block_interval_ms", 1_000, 0...600_000))
        guard c.emptyBlockIntervalMilliseconds * 2 <= c.consensus.proposeMilliseconds else {
            throw .config("consensus.empty_block_interval_ms (\(c.emptyBlockIntervalMilliseconds)) must be at most half of consensus.propose_timeout_ms (\(c.consensus.proposeMilliseconds)), or idle proposers would be timed out")
        }
        c.blockTransactionsMax = try int("consensus.block_transactions_max", c.blockTransactionsMax, 1...Limits.blockTransactionsMax)
        c.blockBytesMax = try int("consensus.block_bytes_max", c.blockBytesMax, (64 << 10)...(Limits.blockBytesMax - (64 << 10)))
        c.syncBatchBlocks = try int("sync.batch_blocks", c.syncBatchBlocks, 1...NetworkLimits.syncBlocksMax)
        c.statusIntervalMilliseconds = UInt64(try int("sync.status_interval_ms", 500, 50...60_000))
        guard c.statusIntervalMilliseconds * 2 < UInt64(c.network.idleTimeoutMilliseconds) else {
            throw .config("sync.status_interval_ms must be under half of p2p.idle_timeout_ms, or idle links would be closed")
        }
        c.syncRequestTimeoutMilliseconds = UInt64(try int("sync.request_timeout_ms", 5_000, 100...600_000))
        c.storageSynchronousFull = reader.bool(forKey: "storage.synchronous_full", default: true)
        let engine = reader.string(forKey: "storage.engine", default: StorageEngine.rocksdb.rawValue)
        guard let storageEngine = StorageEngine(rawValue: engine) else {
            throw .config("storage.engine is \"\(engine)\"; one of \(StorageEngine.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        c.storageEngine = storageEngine
        c.snapshotInterval = UInt64(try int("storage.snapshot_interval", Int(c.snapshotInterval), 0...Int(Limits.heightMax)))
        c.snapshotsKeep = try int("storage.snapshots_keep", c.snapshotsKeep, 1...100)
        c.retainBlocks = UInt64(try int("storage.retain_blocks", 0, 0...Int(Limits.heightMax)))
        guard c.retainBlocks == 0 || c.retainBlocks >= 10 else { throw .config("storage.retain_blocks is 0 (keep every block) or at least 10") }
        guard c.retainBlocks == 0 || c.storageEngine == .rocksdb else { throw .config("storage.retain_blocks needs storage.engine = \"rocksdb\"") }
        c.stateSyncEnabled = reader.bool(forKey: "state_sync.enabled", default: false)
        c.stateSyncDiscoverySeconds = try int("state_sync.discovery_seconds", c.stateSyncDiscoverySeconds, 1...3_600)
        guard !c.stateSyncEnabled || c.storageEngine == .rocksdb else { throw .config("state_sync.enabled needs storage.engine = \"rocksdb\"") }
        c.verifyWorkers = try int("verify.workers", c.verifyWorkers, 1...256)
        let level = reader.string(forKey: "log.level", default: "info")
        guard let parsed = Logger.Level(rawValue: level) else {
            throw .config("log.level is \"\(level)\"; one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        c.logLevel = parsed
        return c
    }
}

extension ConsensusConfig {
    /// Timeouts for real networks (the simulator's defaults are shorter).
    public static var nodeDefaults: ConsensusConfig {
        var config = ConsensusConfig()
        (config.proposeMilliseconds, config.proposeDeltaMilliseconds) = (3_000, 500)
        (config.prevoteMilliseconds, config.prevoteDeltaMilliseconds) = (1_000, 250)
        (config.precommitMilliseconds, config.precommitDeltaMilliseconds) = (1_000, 250)
        config.retransmitMilliseconds = 1_000
        return config
    }
}

extension NodeConfig {
    /// Refuses a file key this node does not know (a misspelt key would otherwise be ignored), a
    /// value whose JSON type is not its key's, and a `TONLE_*` variable for a key that does not
    /// read as its kind: the reader would silently use the default instead.
    static func checkKinds(path: String, environment: [String: String]) throws(NodeError) {
        let kinds = Dictionary(uniqueKeysWithValues: schema.map { ($0.key, $0.kind) })
        let root: JSONValue
        do { root = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw .config("\(path) is not a JSON document: \(error)")
        }
        guard case .object(let sections) = root else { throw .config("\(path) must hold a JSON object of sections (node, p2p, rpc, ...)") }
        for (section, content) in sections.sorted(by: { $0.key < $1.key }) {
            guard case .object(let values) = content else { throw .config("\(section) must be an object of keys, as in docs/operations.md") }
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                let key = section + "." + name
                guard let kind = kinds[key] else { throw .config("\(key) is not a configuration key (docs/operations.md lists them)") }
                guard value.matches(kind) else { throw .config("\(key) must be \(kind.described), not \(value.described)") }
            }
        }
        for (key, kind) in schema {
            let variable = "TONLE_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
            guard let text = environment[variable] else { continue }
            let readable = switch kind {
            case .number: Int(text) != nil
            case .flag: text == "true" || text == "false"
            case .text, .list: true
            }
            guard readable else { throw .config("\(variable) must be \(kind.described), not \"\(text.prefix(64))\"") }
        }
    }
}

extension NodeConfig.Kind {
    var described: String {
        switch self {
        case .text: "a string"
        case .number: "a whole number"
        case .flag: "true or false"
        case .list: "a list of strings"
        }
    }
}

/// A JSON value, as the configuration file holds it (whole numbers kept apart from others).
enum JSONValue: Decodable {
    case flag(Bool), number(Int), fraction(Double), text(String), list([JSONValue]), object([String: JSONValue]), null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .flag(value) }
        else if let value = try? container.decode(Int.self) { self = .number(value) }
        else if let value = try? container.decode(Double.self) { self = .fraction(value) }
        else if let value = try? container.decode(String.self) { self = .text(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .list(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    func matches(_ kind: NodeConfig.Kind) -> Bool {
        switch (kind, self) {
        case (.text, .text), (.number, .number), (.flag, .flag): true
        case (.list, .list(let items)): items.allSatisfy { if case .text = $0 { true } else { false } }
        default: false
        }
    }

    var described: String {
        switch self {
        case .flag(let value): "\(value)"
        case .number(let value): "\(value)"
        case .fraction(let value): "\(value) (not a whole number, or too large)"
        case .text(let value): "\"\(value.prefix(64))\""
        case .list: "a list"
        case .object: "an object"
        case .null: "null"
        }
    }
}

/// Which embedded engine holds a node's store (docs/storage.md).
public enum StorageEngine: String, CaseIterable, Sendable {
    /// `RocksStore` in `DATA_DIR/ledger.rocksdb/`.
    case rocksdb
    /// `SQLiteStore` in `DATA_DIR/ledger.sqlite`.
    case sqlite

    public var fileName: String { self == .rocksdb ? "ledger.rocksdb" : "ledger.sqlite" }
}
