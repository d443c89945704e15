import TonleTypes

/// Why the mempool did not take a transaction.
public enum MempoolRejection: Error, Equatable, Sendable, CustomStringConvertible {
    /// Already waiting here (same id).
    case duplicate
    /// The creator's client id already names a waiting transaction: the same request again
    /// (`sameRequest`: answer with the original) or another one (the id is reused).
    case requestWaiting(original: TransactionID, sameRequest: Bool)
    /// Full by count or bytes; try again later.
    case full(transactionsMax: Int, bytesMax: Int)
    case wrongChain
    /// Expiry at or before now.
    case expired
    /// Expiry further ahead than the ledger allows.
    case expiryTooFar
    case invalidSignature

    public var code: String {
        switch self {
        case .duplicate: "DUPLICATE"
        case .requestWaiting(_, let same): same ? "DUPLICATE" : "CLIENT_ID_REUSED"
        case .full: "MEMPOOL_FULL"
        case .wrongChain: "WRONG_CHAIN"
        case .expired: "EXPIRED"
        case .expiryTooFar: "EXPIRY_TOO_FAR"
        case .invalidSignature: "BAD_SIGNATURE"
        }
    }

    public var description: String {
        switch self {
        case .duplicate: "the transaction is already waiting in the mempool"
        case .requestWaiting(let original, let same):
            same ? "the same request is already waiting as transaction \(original)"
                : "the creator already used this client id for transaction \(original), a different request; use a new client id"
        case .full(let count, let bytes): "the mempool is full (\(count) transactions or \(bytes) bytes); retry later"
        case .wrongChain: "the transaction is for another chain"
        case .expired: "the transaction's expiry has passed"
        case .expiryTooFar: "the transaction's expiry is more than \(Limits.transactionLifetimeMaxMilliseconds / 60_000) minutes ahead"
        case .invalidSignature: "a signature on the transaction does not verify"
        }
    }
}

/// Transactions waiting for a block, in arrival order, bounded by count and bytes (DESIGN §5).
/// Stateless checks happen on admission (signatures are checked by the shell beforehand, in
/// parallel); stateful ones happen at execution. Committed transactions are removed by id; the
/// rest are never re-checked, except that expired ones are dropped when seen.
public struct Mempool: Sendable {
    public let transactionsMax: Int
    public let bytesMax: Int
    private var entries: [TransactionID: Entry] = [:]
    /// The waiting transaction of each request (creator and client id): one at a time.
    private var requests: [RequestKey: TransactionID] = [:]
    /// Arrival order; ids removed from `entries` are skipped and compacted away lazily.
    private var order: [TransactionID] = []
    private var orderStart = 0
    public private(set) var bytes = 0

    private struct Entry: Sendable {
        let transaction: Transaction
        let size: Int
    }

    /// A creator's request: what exactly-once keys on.
    public struct RequestKey: Hashable, Sendable {
        public let creator: AccountID
        public let clientID: ID128
        public init(_ body: TransactionBody) { (creator, clientID) = (body.creator, body.clientID) }
    }

    public init(transactionsMax: Int, bytesMax: Int) { (self.transactionsMax, self.bytesMax) = (transactionsMax, bytesMax) }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public func contains(_ id: TransactionID) -> Bool { entries[id] != nil }
    public func transaction(_ id: TransactionID) -> Transaction? { entries[id]?.transaction }

    /// Up to `limit` waiting transactions, oldest first (what a node offers a peer that has just
    /// linked: it may never have seen them).
    public func waiting(limit: Int) -> [Transaction] {
        var found: [Transaction] = []
        var index = orderStart
        while index < order.count, found.count < limit {
            if let entry = entries[order[index]] { found.append(entry.transaction) }
            index += 1
        }
        return found
    }

    /// Admits `transaction` (whose signatures the caller has checked) if it passes the stateless checks.
    public mutating func admit(_ transaction: Transaction, size: Int, chainID: ChainID, nowMilliseconds: UInt64) throws(MempoolRejection) {
        let id = transaction.id
        guard entries[id] == nil else { throw .duplicate }
        let request = RequestKey(transaction.body)
        if let original = requests[request], let waiting = entries[original]?.transaction {
            throw .requestWaiting(original: original, sameRequest: waiting.body.requestDigest == transaction.body.requestDigest)
        }
        guard transaction.body.chainID == chainID else { throw .wrongChain }
        let expiry = transaction.body.expiry.millisecondsSinceEpoch
        guard expiry > nowMilliseconds else { throw .expired }
        guard expiry <= nowMilliseconds + Limits.transactionLifetimeMaxMilliseconds else { throw .expiryTooFar }
        guard entries.count < transactionsMax, bytes + size <= bytesMax else { throw .full(transactionsMax: transactionsMax, bytesMax: bytesMax) }
        entries[id] = Entry(transaction: transaction, size: size)
        requests[request] = id
        order.append(id)
        bytes += size
    }

    /// The oldest transactions that fit a block of `transactionsMax` and `bytesMax`, skipping
    /// (and dropping) those expired at `nowMilliseconds`. They stay until committed.
    public mutating func proposal(transactionsMax: Int, bytesMax: Int, nowMilliseconds: UInt64) -> [Transaction] {
        var chosen: [Transaction] = [], size = 0, expired: [TransactionID] = []
        var index = orderStart
        while index < order.count, chosen.count < transactionsMax {
            defer { index += 1 }
            guard let entry = entries[order[index]] else { continue }
            if entry.transaction.body.expiry.millisecondsSinceEpoch <= nowMilliseconds {
                expired.append(order[index])
                continue
            }
            guard size + entry.size <= bytesMax else { break }
            chosen.append(entry.transaction)
            size += entry.size
        }
        remove(expired)
        return chosen
    }

    /// Removes `ids` (committed in a block, or expired). Unknown ids are ignored.
    public mutating func remove(_ ids: some Sequence<TransactionID>) {
        for id in ids {
            guard let entry = entries.removeValue(forKey: id) else { continue }
            bytes -= entry.size
            let request = RequestKey(entry.transaction.body)
            if requests[request] == id { requests[request] = nil }
        }
        // Advance past removed ids at the front; rebuild when most of the array is dead, so its
        // length stays within twice the live count (plus a constant).
        while orderStart < order.count, entries[order[orderStart]] == nil { orderStart += 1 }
        if order.count - orderStart > 2 * entries.count + 1_024 || (orderStart > 1_024 && orderStart * 2 > order.count) {
            order = order[orderStart...].filter { entries[$0] != nil }
            orderStart = 0
        }
        if entries.isEmpty { (order, orderStart, requests) = ([], 0, [:]) }
    }
}
