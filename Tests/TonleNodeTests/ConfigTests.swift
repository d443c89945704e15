import Foundation
import Testing
import TonleCrypto
import Logging
import TonleNetwork
import TonleStore
@testable import TonleNode

@Suite("Node configuration and genesis files")
struct ConfigTests {
    func write(_ text: String, name: String = "node.json") throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test("defaults apply, relative paths resolve against the file, and TONLE_* variables override the file")
    func defaultsPathsAndEnvironment() async throws {
        let peer = Ed25519.SigningKey.generate().publicKey.hex
        let url = try write("""
            { "node": { "key_file": "k.key", "data_dir": "data", "genesis_file": "/etc/g.json" },
              "p2p": { "listen": "127.0.0.1:4000", "peers": ["\(peer)@10.0.0.2:4001"] },
              "mempool": { "transactions_max": 500 } }
            """)
        let config = try await NodeConfig.load(path: url.path, environment: ["TONLE_MEMPOOL_TRANSACTIONS_MAX": "700", "TONLE_LOG_LEVEL": "debug", "OTHER": "x"])
        let base = url.deletingLastPathComponent().standardizedFileURL.path
        #expect(config.keyFile == base + "/k.key" && config.dataDirectory == base + "/data" && config.genesisFile == "/etc/g.json")
        #expect(config.network.host == "127.0.0.1" && config.network.port == 4000)
        #expect(config.network.peers == [PeerAddress("\(peer)@10.0.0.2:4001")!])
        #expect(config.mempoolTransactionsMax == 700, "the environment wins over the file")
        #expect(config.logLevel == .debug)
        #expect(config.rpc.port == 26_700 && config.consensus.proposeMilliseconds == 3_000 && config.emptyBlockIntervalMilliseconds == 1_000)
    }

    @Test("bad values stop start-up with the key's name and what is allowed")
    func badValues() async throws {
        let base = #""node": { "key_file": "k", "data_dir": "d", "genesis_file": "g" }"#
        let cases: [(String, String)] = [
            (#"{ "node": { "data_dir": "d", "genesis_file": "g" } }"#, "node.key_file is required"),
            ("{ \(base), \"p2p\": { \"listen\": \"nohost\" } }", "p2p.listen is \"nohost\"; expected HOST:PORT"),
            ("{ \(base), \"p2p\": { \"peers\": [\"abc@h:1\"] } }", "p2p.peers: \"abc@h:1\" is not KEYHEX@HOST:PORT"),
            ("{ \(base), \"mempool\": { \"transactions_max\": 0 } }", "mempool.transactions_max is 0; it must be in 1...10000000"),
            ("{ \(base), \"consensus\": { \"empty_block_interval_ms\": 2000 } }", "must be at most half of consensus.propose_timeout_ms"),
            ("{ \(base), \"log\": { \"level\": \"loud\" } }", "log.level is \"loud\""),
            ("{ \(base), \"storage\": { \"engine\": \"lmdb\" } }", "storage.engine is \"lmdb\"; one of rocksdb, sqlite"),
            // Wrong types and unknown keys are refused, not replaced by a default.
            ("{ \(base), \"rpc\": { \"body_bytes_max\": \"16777216\" } }", "rpc.body_bytes_max must be a whole number, not \"16777216\""),
            ("{ \(base), \"rpc\": { \"body_bytes_max\": 1e30 } }", "rpc.body_bytes_max must be a whole number, not 1e+30"),
            ("{ \(base), \"rpc\": { \"body_bytes_max\": 18446744073709551616 } }", "rpc.body_bytes_max must be a whole number"),
            ("{ \(base), \"rpc\": { \"body_bytes_max\": null } }", "rpc.body_bytes_max must be a whole number, not null"),
            ("{ \(base), \"storage\": { \"synchronous_full\": 1 } }", "storage.synchronous_full must be true or false, not 1"),
            ("{ \(base), \"p2p\": { \"peers\": \"a@b:1\" } }", "p2p.peers must be a list of strings"),
            ("{ \(base), \"rpc\": { \"body_byte_max\": 5 } }", "rpc.body_byte_max is not a configuration key"),
            ("{ \(base), \"rpc\": 5 }", "rpc must be an object"),
            ("[1]", "must hold a JSON object"),
            ("{ \(base), ", "is not a JSON document"),
        ]
        for (text, expected) in cases {
            let url = try write(text)
            do {
                _ = try await NodeConfig.load(path: url.path, environment: [:])
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
        let url = try write("{ \(base) }")
        for (variable, value, expected) in [("TONLE_RPC_BODY_BYTES_MAX", "16MB", "TONLE_RPC_BODY_BYTES_MAX must be a whole number, not \"16MB\""),
                                            ("TONLE_STORAGE_SYNCHRONOUS_FULL", "yes", "TONLE_STORAGE_SYNCHRONOUS_FULL must be true or false")] {
            do {
                _ = try await NodeConfig.load(path: url.path, environment: [variable: value])
                Issue.record("accepted \(variable)=\(value)")
            } catch { #expect(error.description.contains(expected), "\(error.description)") }
        }
        await #expect(throws: NodeError.config("no configuration file at /nonexistent/node.json")) {
            try await NodeConfig.load(path: "/nonexistent/node.json", environment: [:])
        }
    }

    @Test("docs/operations.md documents every configuration key")
    func everyKeyDocumented() throws {
        let doc = try String(contentsOf: LocalNetwork.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        // The first column of the table in the "Configuration" section.
        let section = doc.components(separatedBy: "## Configuration")[1].components(separatedBy: "\n## ")[0]
        let documented = Set(section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `"), let end = line.dropFirst(3).firstIndex(of: "`") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 3)..<end])
        }.filter { $0.contains(".") && !$0.hasPrefix("tonle_") })
        #expect(documented == Set(NodeConfig.keys), "only in the code: \(Set(NodeConfig.keys).subtracting(documented)); only in the doc: \(documented.subtracting(NodeConfig.keys))")
    }

    @Test("the committed genesis documents load; a malformed one gets an error naming the entry")
    func genesisFiles() throws {
        let production = try GenesisFile.load(path: LocalNetwork.repository.appendingPathComponent("genesis/example-production.json").path)
        #expect(production.validators.validators.count == 7 && production.participants.count == 9)
        var file = try JSONDecoder().decode(GenesisFile.self, from: Data(contentsOf: LocalNetwork.repository.appendingPathComponent("genesis/example-production.json")))
        file.participants[1].role = "bankk"
        #expect(throws: NodeError.self) { try file.genesis() }
        do { _ = try file.genesis() } catch { #expect(error.description.contains("participant aba: role \"bankk\"")) }
        file = try JSONDecoder().decode(GenesisFile.self, from: Data(contentsOf: LocalNetwork.repository.appendingPathComponent("genesis/example-production.json")))
        file.accounts[2].balances = ["KHR": "100"]
        do { _ = try file.genesis() } catch { #expect(error.description.contains("KHR opening balances sum to 100")) }
        let garbage = try write("{ not json", name: "genesis.json")
        do { _ = try GenesisFile.load(path: garbage.path) } catch { #expect(error.description.contains("is not a valid genesis document")) }
    }

    @Test("a data directory refuses a genesis other than the one that created it")
    func dataDirectoryRefusesAnotherGenesis() throws {
        var file = try JSONDecoder().decode(GenesisFile.self, from: Data(contentsOf: LocalNetwork.repository.appendingPathComponent("genesis/example-production.json")))
        let first = try file.genesis()
        file.chainID = "bakong-kh-2"
        let second = try file.genesis()
        var config = NodeConfig()
        config.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-data-\(UUID().uuidString.prefix(8))").path
        config.genesisFile = "other.json"
        do { _ = try Node.openDataDirectory(config, genesis: first, logger: .init(label: "test")) }
        #expect(try String(contentsOfFile: config.dataDirectory + "/genesis.sha256", encoding: .utf8) == first.hash.hex + "\n")
        do {
            _ = try Node.openDataDirectory(config, genesis: second, logger: .init(label: "test"))
            Issue.record("opened with another genesis")
        } catch {
            #expect(error.description.contains("belongs to the network with genesis hash \(first.hash.hex), but other.json has hash \(second.hash.hex)"))
        }
        // The same genesis opens it again.
        _ = try Node.openDataDirectory(config, genesis: first, logger: .init(label: "test"))
    }

    @Test("a data directory holding the other engine's store is refused, not opened empty beside it")
    func dataDirectoryRefusesTheOtherEngine() throws {
        let genesis = try GenesisFile.load(path: LocalNetwork.repository.appendingPathComponent("genesis/example-production.json").path)
        var config = NodeConfig()
        config.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-data-\(UUID().uuidString.prefix(8))").path
        config.storageEngine = .sqlite
        let sqlite = try Node.openDataDirectory(config, genesis: genesis, logger: .init(label: "test"))
        #expect(sqlite.appliedHeight == 0 && sqlite is SQLiteStore)
        config.storageEngine = .rocksdb
        #expect {
            _ = try Node.openDataDirectory(config, genesis: genesis, logger: .init(label: "test"))
        } throws: { error in
            (error as? NodeError)?.description.contains("holds a sqlite store (ledger.sqlite) but storage.engine is rocksdb") == true
        }
        // The default engine on a new directory: RocksDB.
        config = NodeConfig()
        config.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-data-\(UUID().uuidString.prefix(8))").path
        let rocks = try Node.openDataDirectory(config, genesis: genesis, logger: .init(label: "test"))
        #expect(rocks.appliedHeight == 0 && rocks is RocksStore && rocks.stateRoot == sqlite.stateRoot)
    }
}
