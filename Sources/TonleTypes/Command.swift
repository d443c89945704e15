import TonleCrypto

/// One step of a transaction. A transaction's commands apply atomically, in order.
/// The tag byte of each case is its encoding (docs/encoding.md, "Commands").
public enum Command: Hashable, Sendable, CanonicalCodable {
    case transfer(Transfer)
    case hold(Hold)
    case postHold(PostHold)
    case voidHold(VoidHold)
    case settlement(SettlementEntry)
    // Administration: signed by the central bank's keys.
    case createParticipant(Participant)
    case createAccount(CreateAccount)
    case setKeys(SetKeys)
    case freeze(AccountID)
    case unfreeze(AccountID)
    case issue(Issue)
    case redeem(Redeem)
    case setLimits(SetLimits)
    case addValidator(Validator)
    case removeValidator(Ed25519.PublicKey)
    case configureGateway(GatewayConfig)
    case setReferenceRate(ReferenceRate)

    public var tag: UInt8 {
        switch self {
        case .transfer: 1
        case .hold: 2
        case .postHold: 3
        case .voidHold: 4
        case .settlement: 5
        case .createParticipant: 16
        case .createAccount: 17
        case .setKeys: 18
        case .freeze: 19
        case .unfreeze: 20
        case .issue: 21
        case .redeem: 22
        case .setLimits: 23
        case .addValidator: 24
        case .removeValidator: 25
        case .configureGateway: 26
        case .setReferenceRate: 27
        }
    }

    public func encode(to writer: inout CanonicalWriter) {
        writer.u8(tag)
        switch self {
        case .transfer(let c): c.encode(to: &writer)
        case .hold(let c): c.encode(to: &writer)
        case .postHold(let c): c.encode(to: &writer)
        case .voidHold(let c): c.encode(to: &writer)
        case .settlement(let c): c.encode(to: &writer)
        case .createParticipant(let c): c.encode(to: &writer)
        case .createAccount(let c): c.encode(to: &writer)
        case .setKeys(let c): c.encode(to: &writer)
        case .freeze(let account), .unfreeze(let account): account.encode(to: &writer)
        case .issue(let c): c.encode(to: &writer)
        case .redeem(let c): c.encode(to: &writer)
        case .setLimits(let c): c.encode(to: &writer)
        case .addValidator(let c): c.encode(to: &writer)
        case .removeValidator(let key): writer.bytes32(key.raw)
        case .configureGateway(let c): c.encode(to: &writer)
        case .setReferenceRate(let r): r.encode(to: &writer)
        }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        let tag = try reader.u8("command")
        switch tag {
        case 1: self = .transfer(try Transfer(from: &reader))
        case 2: self = .hold(try Hold(from: &reader))
        case 3: self = .postHold(try PostHold(from: &reader))
        case 4: self = .voidHold(try VoidHold(from: &reader))
        case 5: self = .settlement(try SettlementEntry(from: &reader))
        case 16: self = .createParticipant(try Participant(from: &reader))
        case 17: self = .createAccount(try CreateAccount(from: &reader))
        case 18: self = .setKeys(try SetKeys(from: &reader))
        case 19: self = .freeze(try AccountID(from: &reader))
        case 20: self = .unfreeze(try AccountID(from: &reader))
        case 21: self = .issue(try Issue(from: &reader))
        case 22: self = .redeem(try Redeem(from: &reader))
        case 23: self = .setLimits(try SetLimits(from: &reader))
        case 24: self = .addValidator(try Validator(from: &reader))
        case 25: self = .removeValidator(Ed25519.PublicKey(try reader.bytes32("validator key")))
        case 26: self = .configureGateway(try GatewayConfig(from: &reader))
        case 27: self = .setReferenceRate(try ReferenceRate(from: &reader))
        default: throw .unknownTag(field: "command", tag: UInt64(tag))
        }
    }
}

/// Move `amount` from `source` to `target`.
public struct Transfer: Hashable, Sendable, CanonicalCodable {
    public var source: AccountID
    public var target: AccountID
    public var amount: Amount
    /// Free text for the statement (at most `Limits.referenceBytesMax` bytes).
    public var reference: String

    public init(source: AccountID, target: AccountID, amount: Amount, reference: String = "") throws(DecodeError) {
        try TextRules.check(reference, field: "reference", max: Limits.referenceBytesMax)
        (self.source, self.target, self.amount, self.reference) = (source, target, amount, reference)
    }

    public func encode(to writer: inout CanonicalWriter) {
        source.encode(to: &writer)
        target.encode(to: &writer)
        amount.encode(to: &writer)
        writer.string(reference)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try self.init(
            source: AccountID(from: &reader), target: AccountID(from: &reader), amount: Amount(from: &reader),
            reference: reader.string("reference", max: Limits.referenceBytesMax))
    }
}

/// Reserve `amount` of `source` for `target` (the first phase of a two-phase transfer). The held
/// funds cannot be spent; `PostHold` moves them, `VoidHold` or the timeout releases them.
public struct Hold: Hashable, Sendable, CanonicalCodable {
    public var id: ID128
    public var source: AccountID
    public var target: AccountID
    public var amount: Amount
    /// How long the hold lasts, in block time from the block that applies it; after that it is void.
    public var timeoutMilliseconds: UInt64
    public var reference: String

    public init(
        id: ID128, source: AccountID, target: AccountID, amount: Amount, timeoutMilliseconds: UInt64,
        reference: String = ""
    ) throws(DecodeError) {
        try TextRules.check(reference, field: "reference", max: Limits.referenceBytesMax)
        (self.id, self.source, self.target, self.amount) = (id, source, target, amount)
        (self.timeoutMilliseconds, self.reference) = (timeoutMilliseconds, reference)
    }

    public func encode(to writer: inout CanonicalWriter) {
        id.encode(to: &writer)
        source.encode(to: &writer)
        target.encode(to: &writer)
        amount.encode(to: &writer)
        writer.u64(timeoutMilliseconds)
        writer.string(reference)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try self.init(
            id: ID128(from: &reader), source: AccountID(from: &reader), target: AccountID(from: &reader),
            amount: Amount(from: &reader), timeoutMilliseconds: reader.u64("timeout"),
            reference: reader.string("reference", max: Limits.referenceBytesMax))
    }
}

/// Complete a hold: move `amount` of it (all of it when nil) and release the rest.
public struct PostHold: Hashable, Sendable, CanonicalCodable {
    public var id: ID128
    public var amount: Amount?

    public init(id: ID128, amount: Amount? = nil) { (self.id, self.amount) = (id, amount) }

    public func encode(to writer: inout CanonicalWriter) {
        id.encode(to: &writer)
        writer.optional(amount) { w, a in a.encode(to: &w) }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        id = try ID128(from: &reader)
        amount = try reader.optional("amount") { (r: inout CanonicalReader) throws(DecodeError) in try Amount(from: &r) }
    }
}

/// Release a hold without moving anything.
public struct VoidHold: Hashable, Sendable, CanonicalCodable {
    public var id: ID128

    public init(id: ID128) { self.id = id }

    public func encode(to writer: inout CanonicalWriter) { id.encode(to: &writer) }
    public init(from reader: inout CanonicalReader) throws(DecodeError) { id = try ID128(from: &reader) }
}

/// A participant (institution) with its role: admitted by a command, or listed in genesis.
public struct Participant: Hashable, Sendable, CanonicalCodable {
    public var id: InstitutionID
    public var role: ParticipantRole
    public var name: String

    public init(id: InstitutionID, role: ParticipantRole, name: String) throws(DecodeError) {
        try TextRules.check(name, field: "name", max: Limits.displayNameBytesMax)
        (self.id, self.role, self.name) = (id, role, name)
    }

    public func encode(to writer: inout CanonicalWriter) {
        id.encode(to: &writer)
        role.encode(to: &writer)
        writer.string(name)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        try self.init(
            id: InstitutionID(from: &reader), role: ParticipantRole(from: &reader),
            name: reader.string("name", max: Limits.displayNameBytesMax))
    }
}

/// Open an account controlled by `keys`.
public struct CreateAccount: Hashable, Sendable, CanonicalCodable {
    public var id: AccountID
    public var keys: KeySet
    public var flags: AccountFlags

    public init(id: AccountID, keys: KeySet, flags: AccountFlags = []) { (self.id, self.keys, self.flags) = (id, keys, flags) }

    public func encode(to writer: inout CanonicalWriter) {
        id.encode(to: &writer)
        keys.encode(to: &writer)
        flags.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (id, keys, flags) = (try AccountID(from: &reader), try KeySet(from: &reader), try AccountFlags(from: &reader))
    }
}

/// Replace an account's keys and quorum.
public struct SetKeys: Hashable, Sendable, CanonicalCodable {
    public var account: AccountID
    public var keys: KeySet

    public init(account: AccountID, keys: KeySet) { (self.account, self.keys) = (account, keys) }

    public func encode(to writer: inout CanonicalWriter) {
        account.encode(to: &writer)
        keys.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (account, keys) = (try AccountID(from: &reader), try KeySet(from: &reader))
    }
}

/// Create money: move `amount` from the central bank's issuance account `issuer` to `target`.
public struct Issue: Hashable, Sendable, CanonicalCodable {
    public var issuer: AccountID
    public var target: AccountID
    public var amount: Amount

    public init(issuer: AccountID, target: AccountID, amount: Amount) { (self.issuer, self.target, self.amount) = (issuer, target, amount) }

    public func encode(to writer: inout CanonicalWriter) {
        issuer.encode(to: &writer)
        target.encode(to: &writer)
        amount.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (issuer, target, amount) = (try AccountID(from: &reader), try AccountID(from: &reader), try Amount(from: &reader))
    }
}

/// Destroy money: move `amount` from `source` back to the issuance account `issuer`.
public struct Redeem: Hashable, Sendable, CanonicalCodable {
    public var source: AccountID
    public var issuer: AccountID
    public var amount: Amount

    public init(source: AccountID, issuer: AccountID, amount: Amount) { (self.source, self.issuer, self.amount) = (source, issuer, amount) }

    public func encode(to writer: inout CanonicalWriter) {
        source.encode(to: &writer)
        issuer.encode(to: &writer)
        amount.encode(to: &writer)
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        (source, issuer, amount) = (try AccountID(from: &reader), try AccountID(from: &reader), try Amount(from: &reader))
    }
}

/// Set (or, with nil, remove) an account's debit limits in one currency, in minor units.
public struct SetLimits: Hashable, Sendable, CanonicalCodable {
    public var account: AccountID
    public var currency: Currency
    public var perTransactionMax: Int64?
    public var dailyDebitMax: Int64?

    public init(account: AccountID, currency: Currency, perTransactionMax: Int64?, dailyDebitMax: Int64?) {
        (self.account, self.currency, self.perTransactionMax, self.dailyDebitMax) = (account, currency, perTransactionMax, dailyDebitMax)
    }

    public func encode(to writer: inout CanonicalWriter) {
        account.encode(to: &writer)
        currency.encode(to: &writer)
        writer.optional(perTransactionMax) { w, v in w.i64(v) }
        writer.optional(dailyDebitMax) { w, v in w.i64(v) }
    }

    public init(from reader: inout CanonicalReader) throws(DecodeError) {
        account = try AccountID(from: &reader)
        currency = try Currency(from: &reader)
        perTransactionMax = try reader.optional("per-transaction max") { (r: inout CanonicalReader) throws(DecodeError) in try r.i64("limit") }
        dailyDebitMax = try reader.optional("daily debit max") { (r: inout CanonicalReader) throws(DecodeError) in try r.i64("limit") }
    }
}
