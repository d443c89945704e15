import ArgumentParser
import Foundation
import TonleCrypto
import TonleNode

/// `tonle genesis ...`: genesis documents and local networks (docs/operations.md).
struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis", abstract: "Create and check genesis documents.", subcommands: [Init.self, Local.self, Validate.self])

    /// `tonle genesis init`: a new network's genesis: the central bank, its issuance and admin
    /// accounts, and the validators. Banks, gateways and their accounts then join on chain
    /// (`tonle admin create-participant`, `create-account`).
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new genesis file: the central bank, its issuance and admin accounts, and the validators.",
            discussion: """
                Example: tonle genesis init --chain bakong-test --central-bank nbc --central-bank-name "National Bank of Cambodia" \\
                  --admin-key nbc-admin.key --validator nbc=nbc-validator.key --validator aba=KEYHEX:2 --out genesis.json
                Other institutions and accounts join later through 'tonle admin'. Check the result with 'tonle genesis validate'.
                """)

        @Option(help: "The network's chain id.") var chain: String
        @Option(help: "The central bank's institution id.") var centralBank = "nbc"
        @Option(help: "The central bank's display name.") var centralBankName = "National Bank of Cambodia"
        @Option(help: "Public key (hex) or key file of the central bank's admin and issuance accounts; repeat for several.") var adminKey: [String]
        @Option(help: "How many admin keys must sign.") var adminQuorum: UInt8 = 1
        @Option(help: "NAME=KEY[:POWER], KEY a hex public key or key file; repeat for each validator (4 or more tolerate one fault).") var validator: [String]
        @Option(help: "Genesis time in ms since 1970 (default: now).") var genesisTimeMs: UInt64?
        @Option(help: "The file to write.") var out: String
        @Flag(help: "Replace an existing file.") var force = false

        func run() throws {
            if FileManager.default.fileExists(atPath: out), !force { throw CLIError("\(out) exists; pass --force to replace it") }
            guard !adminKey.isEmpty else { throw CLIError("--admin-key: at least one") }
            let admins = try adminKey.map { try Parse.publicKey($0, "--admin-key").hex }
            let validators = try validator.map { text -> GenesisFile.ValidatorEntry in
                guard let equals = text.firstIndex(of: "=") else { throw CLIError("--validator: '\(text)' is not NAME=KEY[:POWER]") }
                var key = String(text[text.index(after: equals)...]), power: UInt64 = 1
                if let colon = key.lastIndex(of: ":"), let parsed = UInt64(key[key.index(after: colon)...]) { (power, key) = (parsed, String(key[..<colon])) }
                return .init(name: String(text[..<equals]), publicKey: try Parse.publicKey(key, "--validator").hex, power: power)
            }
            guard !validators.isEmpty else { throw CLIError("--validator: at least one (four or more tolerate a faulty one)") }
            let quorum = adminQuorum == 1 ? nil : adminQuorum
            let file = GenesisFile(
                chainID: chain, genesisTimeMilliseconds: genesisTimeMs ?? UInt64(Date().timeIntervalSince1970 * 1000), validators: validators,
                participants: [.init(id: centralBank, role: "central_bank", name: centralBankName)],
                accounts: [.init(id: "issuance@\(centralBank)", keys: admins, quorum: quorum, flags: ["issuance"]), .init(id: "admin@\(centralBank)", keys: admins, quorum: quorum)])
            let genesis = try file.genesis()
            do { try file.json().write(to: URL(fileURLWithPath: out)) } catch { throw CLIError("cannot write \(out): \(error.localizedDescription)") }
            print("wrote \(out): chain \(genesis.chainID), \(validators.count) validators, central bank \(centralBank)")
            print("genesis hash \(genesis.hash.hex)")
            if validators.count < 4 { print("note: with \(validators.count) validators the network cannot tolerate a faulty one; 3f+1 tolerate f") }
        }
    }

    /// `tonle genesis validate FILE`.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a genesis file and print its network hash.")

        @Argument(help: "The genesis file (JSON).")
        var file: String

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let genesis = try GenesisFile.load(path: file)
            if json {
                return printJSON(["valid": true, "chain_id": genesis.chainID.text, "genesis_hash": genesis.hash.hex, "validators": genesis.validators.validators.count,
                                  "participants": genesis.participants.count, "accounts": genesis.accounts.count])
            }
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
