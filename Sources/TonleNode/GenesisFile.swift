import Foundation
import TonleCrypto
import TonleTypes

/// The genesis document as operators write and read it: JSON (docs/operations.md). Loading turns
/// it into `Genesis` and validates it; the network is identified by the hash of the canonical
/// encoding, not of this text.
public struct GenesisFile: Codable, Sendable, Equatable {
    public struct ValidatorEntry: Codable, Sendable, Equatable {
        public var name: String
        public var publicKey: String
        public var power: UInt64
        enum CodingKeys: String, CodingKey { case name, publicKey = "public_key", power }
        public init(name: String, publicKey: String, power: UInt64) { (self.name, self.publicKey, self.power) = (name, publicKey, power) }
    }

    public struct ParticipantEntry: Codable, Sendable, Equatable {
        public var id: String
        /// central_bank, bank, payment_provider or gateway.
        public var role: String
        public var name: String
        public init(id: String, role: String, name: String) { (self.id, self.role, self.name) = (id, role, name) }
    }

    public struct AccountEntry: Codable, Sendable, Equatable {
        public var id: String
        /// Public keys (hex) allowed to sign for the account.
        public var keys: [String]
        /// How many of `keys` must sign; default 1.
        public var quorum: UInt8?
        /// Flags by name: "issuance".
        public var flags: [String]?
        /// Opening balances by currency code, as decimal strings ("1000000", "2500.00").
        public var balances: [String: String]?
        public init(id: String, keys: [String], quorum: UInt8? = nil, flags: [String]? = nil, balances: [String: String]? = nil) {
            (self.id, self.keys, self.quorum, self.flags, self.balances) = (id, keys, quorum, flags, balances)
        }
    }

    public var chainID: String
    /// Milliseconds since 1970-01-01 UTC.
    public var genesisTimeMilliseconds: UInt64
    public var validators: [ValidatorEntry]
    public var participants: [ParticipantEntry]
    public var accounts: [AccountEntry]

    enum CodingKeys: String, CodingKey {
        case chainID = "chain_id", genesisTimeMilliseconds = "genesis_time_ms", validators, participants, accounts
    }

    public init(chainID: String, genesisTimeMilliseconds: UInt64, validators: [ValidatorEntry], participants: [ParticipantEntry], accounts: [AccountEntry]) {
        (self.chainID, self.genesisTimeMilliseconds, self.validators) = (chainID, genesisTimeMilliseconds, validators)
        (self.participants, self.accounts) = (participants, accounts)
    }

    /// Participant roles by their names in files and on the command line.
    public static let roles: [String: ParticipantRole] = ["central_bank": .centralBank, "bank": .bank, "payment_provider": .paymentProvider, "gateway": .gateway]

    /// The validated genesis; errors name the entry at fault.
    public func genesis() throws(NodeError) -> Genesis {
        func check<T>(_ what: String, _ body: () throws -> T) throws(NodeError) -> T {
            do { return try body() } catch { throw .genesis("\(what): \(error)") }
        }
        func key(_ hex: String, _ what: String) throws(NodeError) -> Ed25519.PublicKey {
            guard let raw = Bytes32(hex: hex) else { throw .genesis("\(what): \"\(hex)\" is not a 64-digit hex public key") }
            return Ed25519.PublicKey(raw)
        }
        let chain = try check("chain_id") { try ChainID(chainID) }
        var validatorList: [Validator] = []
        for entry in validators {
            let publicKey = try key(entry.publicKey, "validator \(entry.name)")
            validatorList.append(try check("validator \(entry.name)") { try Validator(publicKey: publicKey, power: entry.power, name: entry.name) })
        }
        let set = try check("validators") { try ValidatorSet(validatorList) }
        var participantList: [Participant] = []
        for entry in participants {
            guard let role = Self.roles[entry.role] else {
                throw .genesis("participant \(entry.id): role \"\(entry.role)\" is not one of \(Self.roles.keys.sorted().joined(separator: ", "))")
            }
            participantList.append(try check("participant \(entry.id)") { try Participant(id: InstitutionID(entry.id), role: role, name: entry.name) })
        }
        var accountList: [GenesisAccount] = []
        for entry in accounts {
            var keys: [Ed25519.PublicKey] = []
            for hex in entry.keys { keys.append(try key(hex, "account \(entry.id)")) }
            var flags: AccountFlags = []
            for flag in entry.flags ?? [] {
                guard flag == "issuance" else { throw .genesis("account \(entry.id): unknown flag \"\(flag)\" (known: issuance)") }
                flags.insert(.issuance)
            }
            var balances: [Amount] = []
            for (code, text) in (entry.balances ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let currency = Currency(code: code) else { throw .genesis("account \(entry.id): unknown currency \"\(code)\" (KHR or USD)") }
                // Issuance accounts open negative: a leading '-' is allowed here (Amount parsing has no sign).
                let negative = text.hasPrefix("-")
                let magnitude = try check("account \(entry.id) \(code) balance") { try Amount(parsing: String(text.dropFirst(negative ? 1 : 0)), currency: currency) }
                balances.append(negative ? Amount(-magnitude.minorUnits, currency) : magnitude)
            }
            let keySet = try check("account \(entry.id) keys") { try KeySet(keys: keys, quorum: entry.quorum ?? 1) }
            accountList.append(try check("account \(entry.id)") { try GenesisAccount(id: AccountID(entry.id), keys: keySet, flags: flags, balances: balances) })
        }
        let genesis = try check("genesis") {
            try Genesis(chainID: chain, genesisTime: Timestamp(millisecondsSinceEpoch: genesisTimeMilliseconds), validators: set,
                        participants: participantList, accounts: accountList)
        }
        do { try genesis.validate() } catch { throw .genesis(error.description) }
        return genesis
    }

    /// Reads and validates the genesis file at `path`.
    public static func load(path: String) throws(NodeError) -> Genesis {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .genesis("cannot read \(path): \(error.localizedDescription)") }
        guard data.count <= Limits.genesisBytesMax * 4 else { throw .genesis("\(path) is larger than \(Limits.genesisBytesMax * 4) bytes") }
        let file: GenesisFile
        do { file = try JSONDecoder().decode(GenesisFile.self, from: data) } catch { throw .genesis("\(path) is not a valid genesis document: \(error)") }
        return try file.genesis()
    }

    /// Pretty, key-sorted JSON (stable bytes for the same document).
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(self)
    }
}

/// Why the node cannot start or had to stop.
public enum NodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case config(String)
    case genesis(String)
    case key(String)
    case dataDirectory(String)
    case fatal(String)

    public var description: String {
        switch self {
        case .config(let m): "configuration: \(m)"
        case .genesis(let m): "genesis: \(m)"
        case .key(let m): "node key: \(m)"
        case .dataDirectory(let m): "data directory: \(m)"
        case .fatal(let m): "stopped: \(m)"
        }
    }
}
