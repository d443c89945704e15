import TonleCrypto

/// An account that exists from the first block, with its opening balances (one per currency,
/// sorted by currency).
public struct GenesisAccount: Hashable, Sendable, CanonicalCodable {
    public let id: AccountID
    public let keys: KeySet
    public let flags: AccountFlags
    public let balances: [Amount]

    public init(id: AccountID, keys: KeySet, flags: AccountFlags = [], balances: [Amount] = []) throws(DecodeError) {
        let sorted = balances.sorted { $0.currency < $1.currency }
        try sorted.requireStrictlyAscending("balances", by: \.currency)
        (self.id, self.keys, self.flags, self.balances) = (id, keys, flags, sorted)
    }

    public func encode(to writer: inout CanonicalWriter) {
        id.encode(to: &writer)
        keys.encode(to: &writer)
        flags.encode(to: &writer)
        writer.list(balances)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        id = try AccountID(from: &reader)
        keys = try KeySet(from: &reader)
        flags = try AccountFlags(from: &reader)
        balances = try reader.list("balances", of: Amount.self, max: Currency.allCases.count, elementBytesMin: 10)
        try balances.requireStrictlyAscending("balances", by: \.currency)
    }
}

/// Why a genesis document cannot start a network.
public enum GenesisError: Error, Equatable, Sendable, CustomStringConvertible {
    case centralBankCount(Int)
    case unknownInstitution(AccountID)
    case issuanceOutsideCentralBank(AccountID)
    case negativeBalance(AccountID, Amount)
    case unbalanced(Currency, sum: Int64)
    case overflow(Currency)

    public var description: String {
        switch self {
        case .centralBankCount(let n): "genesis needs exactly one central bank participant; it has \(n)"
        case .unknownInstitution(let account): "account \(account) belongs to an institution that is not a participant"
        case .issuanceOutsideCentralBank(let account): "account \(account) has the issuance flag but is not the central bank's"
        case .negativeBalance(let account, let amount): "account \(account) opens at \(amount); only issuance accounts may be negative"
        case .unbalanced(let currency, let sum): "\(currency) opening balances sum to \(sum) minor units; they must sum to zero (issuance accounts carry the negative side)"
        case .overflow(let currency): "\(currency) opening balances overflow"
        }
    }
}

/// The document that starts a network: its name, start time, first validators, participants
/// and accounts. Its hash identifies the network's history.
public struct Genesis: Hashable, Sendable, CanonicalMessage {
    public static let kind = MessageKind.genesis
    public static let encodedBytesMax = Limits.genesisBytesMax

    public let chainID: ChainID
    public let genesisTime: Timestamp
    public let validators: ValidatorSet
    /// Sorted by id.
    public let participants: [Participant]
    /// Sorted by id.
    public let accounts: [GenesisAccount]

    /// Sorts participants and accounts by id; throws on repeats or sizes beyond the limits.
    public init(
        chainID: ChainID, genesisTime: Timestamp, validators: ValidatorSet, participants: [Participant],
        accounts: [GenesisAccount]
    ) throws(DecodeError) {
        try self.init(
            chainID: chainID, genesisTime: genesisTime, validators: validators,
            sortedParticipants: participants.sorted { $0.id < $1.id }, sortedAccounts: accounts.sorted { $0.id < $1.id })
    }

    private init(
        chainID: ChainID, genesisTime: Timestamp, validators: ValidatorSet, sortedParticipants participants: [Participant],
        sortedAccounts accounts: [GenesisAccount]
    ) throws(DecodeError) {
        guard participants.count <= Limits.genesisParticipantsMax else {
            throw .tooLarge(field: "participants", count: participants.count, max: Limits.genesisParticipantsMax)
        }
        guard accounts.count <= Limits.genesisAccountsMax else {
            throw .tooLarge(field: "accounts", count: accounts.count, max: Limits.genesisAccountsMax)
        }
        try participants.requireStrictlyAscending("participants", by: \.id)
        try accounts.requireStrictlyAscending("accounts", by: \.id)
        (self.chainID, self.genesisTime, self.validators) = (chainID, genesisTime, validators)
        (self.participants, self.accounts) = (participants, accounts)
    }

    /// SHA-256 of the canonical encoding.
    public var hash: Digest { SHA256.hash(encoded) }

    /// Throws unless the document can start a ledger: exactly one central bank; every account's
    /// institution is a participant; issuance accounts belong to the central bank; only they
    /// open negative; per currency the opening balances sum to zero.
    public func validate() throws(GenesisError) {
        let centralBanks = participants.filter { $0.role == .centralBank }
        guard centralBanks.count == 1 else { throw .centralBankCount(centralBanks.count) }
        let institutions = Set(participants.map(\.id))
        var sums: [Currency: Int64] = [:]
        for account in accounts {
            guard institutions.contains(account.id.institution) else { throw .unknownInstitution(account.id) }
            let isIssuance = account.flags.contains(.issuance)
            if isIssuance, account.id.institution != centralBanks[0].id { throw .issuanceOutsideCentralBank(account.id) }
            for balance in account.balances {
                if balance.minorUnits < 0, !isIssuance { throw .negativeBalance(account.id, balance) }
                let (sum, overflow) = sums[balance.currency, default: 0].addingReportingOverflow(balance.minorUnits)
                guard !overflow else { throw .overflow(balance.currency) }
                sums[balance.currency] = sum
            }
        }
        for currency in Currency.allCases where sums[currency, default: 0] != 0 {
            throw .unbalanced(currency, sum: sums[currency]!)
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.header(Self.self)
        chainID.encode(to: &writer)
        genesisTime.encode(to: &writer)
        validators.encode(to: &writer)
        writer.list(participants)
        writer.list(accounts)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try reader.header(Self.self)
        try self.init(
            chainID: ChainID(from: &reader), genesisTime: Timestamp(from: &reader), validators: ValidatorSet(from: &reader),
            sortedParticipants: reader.list("participants", of: Participant.self, max: Limits.genesisParticipantsMax, elementBytesMin: 11),
            sortedAccounts: reader.list("accounts", of: GenesisAccount.self, max: Limits.genesisAccountsMax, elementBytesMin: 49))
    }
}
