import TonleCrypto
import TonleTypes

/// Reads committed state: the store implements this (the SQLite store, the in-memory one).
public protocol LedgerStateReader {
    /// The value stored under `key`, or nil.
    func stateValue(for key: Digest) -> [UInt8]?
}

extension LedgerStateReader {
    /// The decoded record under `key`, or nil. Stored state that does not decode is corruption.
    public func stateRecord(_ key: Digest) -> StateRecord? {
        stateValue(for: key).map { bytes in
            do { return try StateRecord(encoded: bytes) } catch { preconditionFailure("corrupt state record at \(key): \(error)") }
        }
    }
}

/// One change to the state map: new value bytes for a key, or nil to delete it.
public struct StateWrite: Hashable, Sendable {
    public let key: Digest
    public let value: [UInt8]?

    public init(key: Digest, value: [UInt8]?) { (self.key, self.value) = (key, value) }
}

/// The state as a block sees it while executing: committed state underneath, this block's
/// changes over it, and the current transaction's changes on top. A rejected transaction's
/// changes are discarded in one step; an applied one's join the block's.
struct StateOverlay {
    private let reader: any LedgerStateReader
    private var block: [Digest: StateRecord?] = [:]
    private var transaction: [Digest: StateRecord?] = [:]
    /// Decoded committed values, so a record is decoded once per block.
    private var decoded: [Digest: StateRecord?] = [:]

    init(_ reader: any LedgerStateReader) { self.reader = reader }

    mutating func record(_ key: Digest) -> StateRecord? {
        if let value = transaction[key] { return value }
        if let value = block[key] { return value }
        if let value = decoded[key] { return value }
        let value = reader.stateRecord(key)
        decoded[key] = .some(value)
        return value
    }

    mutating func set(_ key: Digest, _ record: StateRecord?) { transaction[key] = .some(record) }

    /// The current transaction's changes join the block's.
    mutating func commitTransaction() {
        block.merge(transaction) { _, new in new }
        transaction.removeAll(keepingCapacity: true)
    }

    mutating func discardTransaction() { transaction.removeAll(keepingCapacity: true) }

    /// The accounts the current transaction has written, sorted by id.
    func transactionAccounts() -> [AccountRecord] {
        transaction.values.compactMap { record in
            if case .account(let account)? = record { return account }
            return nil
        }.sorted { $0.id < $1.id }
    }

    /// The block's changes, encoded and sorted by key.
    func writes() -> [StateWrite] {
        precondition(transaction.isEmpty, "a transaction is still open")
        return block.map { StateWrite(key: $0.key, value: $0.value?.encoded) }.sorted { $0.key < $1.key }
    }

    /// Every account the block wrote, with its committed record (decoded once, as read) and its
    /// record now, in no particular order.
    func accountChanges() -> [(before: AccountRecord?, after: AccountRecord?)] {
        var changes: [(before: AccountRecord?, after: AccountRecord?)] = []
        for (key, value) in block {
            let committed: StateRecord?
            if let known = decoded[key] { committed = known } else { committed = reader.stateRecord(key) }
            var (before, after): (AccountRecord?, AccountRecord?) = (nil, nil)
            if case .account(let account)? = committed { before = account }
            if case .account(let account)? = value { after = account }
            if before != nil || after != nil { changes.append((before, after)) }
        }
        return changes
    }

    // Typed access. A record of the wrong type under a key is corruption, not user error.

    mutating func account(_ id: AccountID) -> AccountRecord? {
        guard let record = record(StateKey.account(id)) else { return nil }
        guard case .account(let account) = record else { preconditionFailure("not an account record for \(id)") }
        return account
    }

    mutating func save(_ account: AccountRecord) { set(StateKey.account(account.id), .account(account)) }

    mutating func participant(_ id: InstitutionID) -> Participant? {
        guard let record = record(StateKey.participant(id)) else { return nil }
        guard case .participant(let participant) = record else { preconditionFailure("not a participant record for \(id)") }
        return participant
    }

    mutating func hold(_ id: ID128) -> HoldRecord? {
        guard let record = record(StateKey.hold(id)) else { return nil }
        guard case .hold(let hold) = record else { preconditionFailure("not a hold record for \(id)") }
        return hold
    }

    mutating func meta() -> LedgerMeta {
        guard case .meta(let meta) = record(StateKey.meta) else { preconditionFailure("ledger meta record missing: state not initialised from genesis") }
        return meta
    }

    mutating func validators() -> ValidatorSchedule {
        guard case .validators(let schedule) = record(StateKey.validators) else { preconditionFailure("validator schedule record missing") }
        return schedule
    }
}
