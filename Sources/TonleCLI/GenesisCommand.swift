import ArgumentParser
import Foundation
import TonleCrypto
import TonleNode

/// `tonle genesis ...`: genesis documents and local networks (docs/operations.md).
struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis", abstract: "Create and check genesis documents.", subcommands: [Local.self, Validate.self])

    /// `tonle genesis validate FILE`.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a genesis file and print its network hash.")

        @Argument(help: "The genesis file (JSON).")
        var file: String

        func run() throws {
            let genesis = try GenesisFile.load(path: file)
            print("valid: chain \(genesis.chainID), \(genesis.validators.validators.count) validators, \(genesis.participants.count) participants, \(genesis.accounts.count) accounts")
            print("genesis hash \(genesis.hash.hex)")
        }
    }

    /// `tonle genesis local --template genesis/local.json --out DIR`: keys, genesis and node
    /// configurations for a network on one machine.
    struct Local: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a local network from a genesis template: keys, genesis.json and one configuration per validator.",
            discussion: """
                In the template, a key written as "@NAME" is replaced by the public key of a new key file keys/NAME.key.
                Validators whose key is "@validator-X" get a node configuration nodes/X.json listening on 127.0.0.1.
                """)

        @Option(help: "The genesis template.")
        var template = "genesis/local.json"

        @Option(help: "The directory to create.")
        var out: String

        @Option(help: "The first validator's peer port; the others follow.")
        var p2pPort = 26_600

        @Option(help: "The first validator's RPC port; the others follow.")
        var rpcPort = 26_700

        @Option(help: "The genesis time in ms since 1970 (default: the template's).")
        var genesisTimeMs: UInt64?

        @Flag(help: "Replace an existing network in the directory.")
        var force = false

        func run() throws {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: template)) } catch { throw CLIError("cannot read template \(template): \(error.localizedDescription)") }
            var file: GenesisFile
            do { file = try JSONDecoder().decode(GenesisFile.self, from: data) } catch { throw CLIError("\(template) is not a genesis template: \(error)") }
            if let genesisTimeMs { file.genesisTimeMilliseconds = genesisTimeMs }
            let root = URL(fileURLWithPath: out)
            let genesisPath = root.appendingPathComponent("genesis.json").path
            if FileManager.default.fileExists(atPath: genesisPath), !force { throw CLIError("\(genesisPath) exists; pass --force to replace the network") }
            for sub in ["keys", "nodes"] {
                try? FileManager.default.removeItem(at: root.appendingPathComponent(sub))
                try FileManager.default.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            try? FileManager.default.removeItem(at: root.appendingPathComponent("data"))

            var keys: [String: Ed25519.SigningKey] = [:]
            func resolve(_ reference: String) throws -> String {
                guard reference.hasPrefix("@") else { return reference }
                let name = String(reference.dropFirst())
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { throw CLIError("bad key reference \(reference)") }
                if let key = keys[name] { return key.publicKey.hex }
                let key = Ed25519.SigningKey.generate()
                try KeyFileIO.write(key, to: root.appendingPathComponent("keys/\(name).key").path, overwrite: true)
                keys[name] = key
                return key.publicKey.hex
            }
            var nodes: [(name: String, key: String)] = []
            for index in file.validators.indices {
                let reference = file.validators[index].publicKey
                file.validators[index].publicKey = try resolve(reference)
                if reference.hasPrefix("@validator-") { nodes.append((String(reference.dropFirst("@validator-".count)), String(reference.dropFirst()))) }
            }
            for index in file.accounts.indices { file.accounts[index].keys = try file.accounts[index].keys.map(resolve) }
            let genesis = try file.genesis()   // validates
            try file.json().write(to: URL(fileURLWithPath: genesisPath))

            let peers = nodes.enumerated().map { "\(keys[$1.key]!.publicKey.hex)@127.0.0.1:\(p2pPort + $0)" }
            for (index, node) in nodes.enumerated() {
                let config: [String: Any] = [
                    "node": ["name": node.name, "key_file": "../keys/\(node.key).key", "data_dir": "../data/\(node.name)", "genesis_file": "../genesis.json"],
                    "p2p": ["listen": "127.0.0.1:\(p2pPort + index)", "peers": peers.enumerated().filter { $0.offset != index }.map(\.element)],
                    "rpc": ["listen": "127.0.0.1:\(rpcPort + index)"],
                ]
                let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                try json.write(to: root.appendingPathComponent("nodes/\(node.name).json"))
            }
            print("network \(genesis.chainID) in \(out): genesis hash \(genesis.hash.hex)")
            for (index, node) in nodes.enumerated() {
                print("  \(node.name): config \(out)/nodes/\(node.name).json, peer port \(p2pPort + index), rpc http://127.0.0.1:\(rpcPort + index)")
            }
            print("  keys: \(keys.keys.sorted().map { "\(out)/keys/\($0).key" }.joined(separator: ", "))")
        }
    }
}
