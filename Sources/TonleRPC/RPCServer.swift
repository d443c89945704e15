import Foundation
import Hummingbird
import Logging
import TonleCrypto
import TonleTypes

/// What the RPC needs from a node (the node implements it; tests may too). Every method is safe
/// to call from any task.
public protocol NodeAPI: Sendable {
    /// Checks (signatures in parallel) and admits transactions; one outcome each, in order.
    func submit(_ transactions: [Transaction]) async -> [SubmitOutcome]
    /// Where a transaction is.
    func transactionStatus(_ id: TransactionID) async -> TransactionStatusView
    /// A stored block, or nil above the stored height.
    func block(_ height: UInt64) async -> BlockView?
    /// The node's status right now.
    func status() -> StatusView
    /// Prometheus text exposition of the node's metrics.
    func metricsText() -> String
}

/// The result of submitting one transaction.
public enum SubmitOutcome: Sendable, Equatable {
    /// Waiting in the mempool (newly admitted, or already there).
    case pending(TransactionID)
    /// Already in a block.
    case committed(TransactionStatusView)
    /// Refused: a stable code, a message, and whether retrying later may succeed.
    case refused(code: String, message: String, retryable: Bool)
}

/// `GET /v1/transactions/{id}`.
public struct TransactionStatusView: Codable, Sendable, Equatable {
    public var id: String
    /// pending, committed or unknown.
    public var status: String
    public var height: UInt64?
    public var index: UInt32?
    /// "applied", or a rejection code (docs/errors.md).
    public var result: String?

    public init(id: String, status: String, height: UInt64? = nil, index: UInt32? = nil, result: String? = nil) {
        (self.id, self.status, self.height, self.index, self.result) = (id, status, height, index, result)
    }
}

/// `GET /v1/blocks/{height}`.
public struct BlockView: Codable, Sendable, Equatable {
    public var height: UInt64
    public var hash: String
    public var previousHash: String
    public var timeMilliseconds: UInt64
    public var proposer: String
    /// The state root after this block's transactions.
    public var stateRoot: String
    public var transactions: [String]
    /// One per transaction: "applied" or a rejection code.
    public var results: [String]

    public init(height: UInt64, hash: String, previousHash: String, timeMilliseconds: UInt64, proposer: String, stateRoot: String,
                transactions: [String], results: [String]) {
        (self.height, self.hash, self.previousHash, self.timeMilliseconds, self.proposer) = (height, hash, previousHash, timeMilliseconds, proposer)
        (self.stateRoot, self.transactions, self.results) = (stateRoot, transactions, results)
    }

    enum CodingKeys: String, CodingKey {
        case height, hash, previousHash = "previous_hash", timeMilliseconds = "time_ms", proposer, stateRoot = "state_root", transactions, results
    }
}

/// `GET /v1/status`.
public struct StatusView: Codable, Sendable, Equatable {
    public var name: String
    public var chainID: String
    public var version: String
    public var height: UInt64
    public var round: UInt32
    public var stateRoot: String
    public var latestBlockHash: String
    public var latestBlockTimeMilliseconds: UInt64
    public var validator: Bool
    public var peers: [String]
    /// "caught_up" or "syncing".
    public var sync: String
    public var mempoolTransactions: Int

    public init(name: String, chainID: String, version: String, height: UInt64, round: UInt32, stateRoot: String, latestBlockHash: String,
                latestBlockTimeMilliseconds: UInt64, validator: Bool, peers: [String], sync: String, mempoolTransactions: Int) {
        (self.name, self.chainID, self.version, self.height, self.round, self.stateRoot) = (name, chainID, version, height, round, stateRoot)
        (self.latestBlockHash, self.latestBlockTimeMilliseconds, self.validator, self.peers) = (latestBlockHash, latestBlockTimeMilliseconds, validator, peers)
        (self.sync, self.mempoolTransactions) = (sync, mempoolTransactions)
    }

    enum CodingKeys: String, CodingKey {
        case name, chainID = "chain_id", version, height, round, stateRoot = "state_root", latestBlockHash = "latest_block_hash"
        case latestBlockTimeMilliseconds = "latest_block_time_ms", validator, peers, sync, mempoolTransactions = "mempool_transactions"
    }
}

/// Settings of the RPC listener.
public struct RPCConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 26_700
    /// Request bodies larger than this are refused with 413.
    public var bodyBytesMax = 16 << 20
    /// Transactions in one batch request.
    public var batchTransactionsMax = 4_096

    public init() {}
}

/// The HTTP/JSON API (docs/api.md), on Hummingbird.
public enum RPCServer {
    struct SubmitRequest: Decodable { let transaction: String }
    struct BatchRequest: Decodable { let transactions: [String] }
    struct ErrorBody: Codable { let code: String; let message: String }
    struct Accepted: Codable { let id: String; let status: String }

    /// The application serving `api`; run it as a service.
    public static func application(api: some NodeAPI, config: RPCConfig, logger: Logger) -> some ApplicationProtocol {
        Application(router: router(api: api, config: config), configuration: .init(address: .hostname(config.host, port: config.port)), logger: logger)
    }

    public static func router(api: some NodeAPI, config: RPCConfig) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ in json(["status": "ok"]) }
        router.get("/ready") { _, _ in
            let status = api.status()
            return status.sync == "caught_up" ? json(["status": "ready"]) : json(["status": status.sync], status: .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: api.metricsText())))
        }
        router.get("/v1/status") { _, _ in json(api.status()) }
        router.get("/v1/transactions/:id") { _, context in
            let text = context.parameters.get("id") ?? ""
            guard let raw = Bytes32(hex: text) else { return error("MALFORMED_ID", "transaction ids are 64 hexadecimal digits", .badRequest) }
            return json(await api.transactionStatus(TransactionID(Digest(raw))))
        }
        router.get("/v1/blocks/:height") { _, context in
            guard let height = context.parameters.get("height").flatMap(UInt64.init) else {
                return error("MALFORMED_HEIGHT", "the height must be a whole number", .badRequest)
            }
            guard let block = await api.block(height) else { return error("NOT_FOUND", "no block \(height) is stored here", .notFound) }
            return json(block)
        }
        router.post("/v1/transactions") { request, _ in
            let body: SubmitRequest
            switch await decode(SubmitRequest.self, request, config) {
            case .success(let value): body = value
            case .failure(let response): return response.response
            }
            let transaction: Transaction
            switch parse(body.transaction) {
            case .success(let value): transaction = value
            case .failure(let response): return response.response
            }
            return respond(await api.submit([transaction])[0])
        }
        router.post("/v1/transactions/batch") { request, _ in
            let body: BatchRequest
            switch await decode(BatchRequest.self, request, config) {
            case .success(let value): body = value
            case .failure(let response): return response.response
            }
            guard body.transactions.count <= config.batchTransactionsMax else {
                return error("BATCH_TOO_LARGE", "at most \(config.batchTransactionsMax) transactions per batch", .contentTooLarge)
            }
            var parsed: [Int: Transaction] = [:], outcomes = [SubmitOutcome?](repeating: nil, count: body.transactions.count)
            for (index, text) in body.transactions.enumerated() {
                switch parse(text) {
                case .success(let tx): parsed[index] = tx
                case .failure(let failure): outcomes[index] = .refused(code: failure.code, message: failure.message, retryable: false)
                }
            }
            let order = parsed.keys.sorted()
            for (index, outcome) in zip(order, await api.submit(order.map { parsed[$0]! })) { outcomes[index] = outcome }
            return json(["results": outcomes.map { batchItem($0!) }])
        }
        return router
    }

    struct Failure: Error {
        let code: String, message: String, status: HTTPResponse.Status
        var response: Response { error(code, message, status) }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ config: RPCConfig) async -> Result<T, Failure> {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: config.bodyBytesMax) } catch {
            return .failure(Failure(code: "BODY_TOO_LARGE", message: "request bodies are limited to \(config.bodyBytesMax) bytes", status: .contentTooLarge))
        }
        do { return .success(try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))) } catch {
            return .failure(Failure(code: "MALFORMED_REQUEST", message: "the body is not the expected JSON: \(error)", status: .badRequest))
        }
    }

    /// A transaction from base64 canonical bytes.
    static func parse(_ base64: String) -> Result<Transaction, Failure> {
        guard let data = Data(base64Encoded: base64) else {
            return .failure(Failure(code: "MALFORMED_TRANSACTION", message: "the transaction is not valid base64", status: .badRequest))
        }
        guard data.count <= Limits.transactionBytesMax else {
            return .failure(Failure(code: "TRANSACTION_TOO_LARGE", message: "transactions are limited to \(Limits.transactionBytesMax) bytes", status: .contentTooLarge))
        }
        do { return .success(try Transaction(canonical: Array(data))) } catch {
            return .failure(Failure(code: "MALFORMED_TRANSACTION", message: "the bytes are not a canonical transaction: \(error)", status: .badRequest))
        }
    }

    static func respond(_ outcome: SubmitOutcome) -> Response {
        switch outcome {
        case .pending(let id): json(Accepted(id: id.digest.hex, status: "pending"), status: .accepted)
        case .committed(let view): json(view)
        case .refused(let code, let message, let retryable):
            retryable
                ? error(code, message, .serviceUnavailable, headers: [.retryAfter: "1"])
                : error(code, message, code == "MEMPOOL_FULL" ? .serviceUnavailable : .badRequest)
        }
    }

    struct BatchItem: Codable { let id: String?; let status: String; let code: String?; let message: String?; let height: UInt64?; let result: String? }

    static func batchItem(_ outcome: SubmitOutcome) -> BatchItem {
        switch outcome {
        case .pending(let id): BatchItem(id: id.digest.hex, status: "pending", code: nil, message: nil, height: nil, result: nil)
        case .committed(let v): BatchItem(id: v.id, status: "committed", code: nil, message: nil, height: v.height, result: v.result)
        case .refused(let code, let message, _): BatchItem(id: nil, status: "refused", code: code, message: message, height: nil, result: nil)
        }
    }

    static func error(_ code: String, _ message: String, _ status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        json(ErrorBody(code: code, message: message), status: status, headers: headers)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try! encoder.encode(value))))
    }
}
