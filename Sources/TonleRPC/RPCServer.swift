import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import TonleCrypto
import TonleTypes

/// Settings of the RPC listener (docs/operations.md, `rpc.*`).
public struct RPCConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 26_700
    /// Request bodies larger than this are refused with 413.
    public var bodyBytesMax = 16 << 20
    /// Transactions in one batch request.
    public var batchTransactionsMax = 4_096
    /// Requests a second per client address, on average; bursts up to `rateBurst`.
    public var ratePerSecond = 1_000.0
    public var rateBurst = 2_000.0
    /// Open `/v1/events` streams at once.
    public var eventStreamsMax = 256
    /// The longest `?wait=` a long poll may ask for, in seconds.
    public var waitSecondsMax = 60
    /// How long `?proof=true` waits for the block that anchors the proof.
    public var proofWaitSeconds = 10
    /// A request must arrive whole, head and body, within this long of its first byte, or its
    /// connection is closed (a client that trickles its request, or sends less body than it announced).
    public var requestDeadlineMilliseconds: Int64 = 10_000
    /// A connection with no request for this long is closed.
    public var idleTimeoutMilliseconds: Int64 = 60_000
    /// Connections one client address may hold open; a further one is closed as it opens.
    public var connectionsPerClientMax = 64
    /// Connections open at once in all; past it the port stops accepting until one closes.
    public var connectionsMax = 4_096
    /// TLS on the RPC port: PEM certificate chain and key; with `clientCAFile`, clients must
    /// present a certificate signed by that CA.
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    public var tlsClientCAFile: String?

    public init() {}
}

/// One route of the API: what the router serves and docs/openapi.json documents (a test holds
/// the two, and the statuses each route returns, equal).
public struct RouteSpec: Sendable, Hashable {
    public let method: String
    /// In OpenAPI form: `/v1/blocks/{height}`.
    public let path: String
    public let statuses: Set<Int>
}

/// The HTTP/JSON API (docs/api.md), on Hummingbird.
public enum RPCServer {
    /// Every route and every status it can answer with.
    public static let routes: [RouteSpec] = [
        RouteSpec(method: "GET", path: "/health", statuses: [200]),
        RouteSpec(method: "GET", path: "/ready", statuses: [200, 503]),
        RouteSpec(method: "GET", path: "/metrics", statuses: [200, 429]),
        RouteSpec(method: "GET", path: "/v1/status", statuses: [200, 429]),
        RouteSpec(method: "POST", path: "/v1/transactions", statuses: [200, 202, 400, 413, 415, 429, 503]),
        RouteSpec(method: "POST", path: "/v1/transactions/batch", statuses: [200, 400, 413, 415, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/transactions/{id}", statuses: [200, 400, 429]),
        RouteSpec(method: "GET", path: "/v1/transactions/{id}/receipt", statuses: [200, 400, 404, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/accounts/{id}", statuses: [200, 400, 404, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/accounts/{id}/transactions", statuses: [200, 400, 429]),
        RouteSpec(method: "GET", path: "/v1/accounts/{id}/statement", statuses: [200, 400, 404, 409, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/blocks", statuses: [200, 400, 429]),
        RouteSpec(method: "GET", path: "/v1/blocks/{height}", statuses: [200, 400, 404, 429]),
        RouteSpec(method: "GET", path: "/v1/validators", statuses: [200, 400, 404, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/events", statuses: [200, 400, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/gateways/{id}/positions", statuses: [200, 400, 404, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/gateways/{id}/entries", statuses: [200, 400, 404, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/settlements/{gateway}/{reference}", statuses: [200, 400, 404, 429, 503]),
        RouteSpec(method: "GET", path: "/v1/reference-rates/{unit}/{quoted}", statuses: [200, 400, 404, 429, 503]),
        RouteSpec(method: "GET", path: "/explorer", statuses: [200, 429]),
        RouteSpec(method: "GET", path: "/explorer/{file}", statuses: [200, 404, 429]),
    ]

    /// The application serving `api`; run it as a service. `onListening` gets the bound port;
    /// `connections` counts what the connection guard does (ConnectionGuard.swift).
    public static func application(api: some NodeAPI, config: RPCConfig, logger: Logger, connections: RPCConnections = RPCConnections(),
                                   onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws(APIError) -> some ApplicationProtocol {
        let server: HTTPServerBuilder
        do { server = try serverBuilder(config, connections: connections) } catch let error as APIError { throw error } catch {
            throw APIError("TLS", "cannot set up TLS: \(error)", .internalServerError)
        }
        return Application(
            router: router(api: api, config: config, logger: logger), server: server,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: nil,
                                 availableConnectionsDelegate: MaximumAvailableConnections(config.connectionsMax, logger: logger)),
            onServerRunning: { await onListening($0.localAddress?.port ?? 0) }, logger: logger)
    }

    /// The TLS settings, or nil without `tlsCertificateFile`.
    static func tlsConfiguration(_ config: RPCConfig) throws -> TLSConfiguration? {
        guard let certificateFile = config.tlsCertificateFile else { return nil }
        guard let keyFile = config.tlsKeyFile else { throw APIError("TLS", "rpc.tls_cert_file needs rpc.tls_key_file", .internalServerError) }
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        if let ca = config.tlsClientCAFile {
            tls.trustRoots = .file(ca)
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }

    public static func router(api: some NodeAPI, config: RPCConfig, logger: Logger) -> Router<RPCRequestContext> {
        let router = Router(context: RPCRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(ratePerSecond: config.ratePerSecond, burst: config.rateBurst)))
        let streams = StreamCounter(max: config.eventStreamsMax)
        func route(_ method: HTTPRequest.Method, _ path: String,
                   _ handler: @escaping @Sendable (Request, RPCRequestContext) async throws(APIError) -> Response) {
            precondition(routes.contains { $0.method == method.rawValue && $0.path == path }, "\(method) \(path) is not in RPCServer.routes")
            let hummingbirdPath = path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "")
            router.on(RouterPath(hummingbirdPath), method: method) { request, context in
                do throws(APIError) { return try await handler(request, context) } catch { return RPCServer.error(error) }
            }
        }

        route(.get, "/health") { _, _ in json(["status": "ok"]) }
        // The block explorer (docs/operations.md, "Explorer"): static files compiled into the binary;
        // the page reads the API above from the same origin.
        route(.get, "/explorer") { _, _ in Explorer.response("index.html")! }
        route(.get, "/explorer/{file}") { _, context throws(APIError) in
            guard let response = Explorer.response(context.parameters.get("file") ?? "") else { throw .notFound("no explorer file by that name") }
            return response
        }
        route(.get, "/ready") { _, _ in
            let status = api.status()
            return status.sync == "caught_up" ? json(["status": "ready"]) : json(["status": status.sync], status: .serviceUnavailable)
        }
        route(.get, "/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: api.metricsText())))
        }
        route(.get, "/v1/status") { _, _ in json(api.status()) }
        route(.post, "/v1/transactions") { request, _ throws(APIError) in
            let transaction = try SubmissionBody.single(try await body(request, config))
            return respond(await api.submit([transaction])[0])
        }
        route(.post, "/v1/transactions/batch") { request, _ throws(APIError) in
            let items = try SubmissionBody.batch(try await body(request, config), transactionsMax: config.batchTransactionsMax)
            var parsed: [(Int, Transaction)] = [], outcomes = [SubmitOutcome?](repeating: nil, count: items.count)
            for (index, item) in items.enumerated() {
                switch item {
                case .success(let transaction): parsed.append((index, transaction))
                case .failure(let error): outcomes[index] = .refused(code: error.code, message: error.message, retryable: false)
                }
            }
            for ((index, _), outcome) in zip(parsed, await api.submit(parsed.map(\.1))) { outcomes[index] = outcome }
            if !outcomes.isEmpty, outcomes.allSatisfy({ if case .refused(_, _, true) = $0 { true } else { false } }) {
                throw APIError("NODE_BUSY", "the node refused every transaction for now (mempool full or busy); retry after a second", .serviceUnavailable,
                               headers: [.retryAfter: "1"])
            }
            return json(["results": outcomes.map { batchItem($0!) }])
        }
        route(.get, "/v1/transactions/{id}") { request, context throws(APIError) in
            let id = try transactionID(context.parameters.get("id"))
            let wait = try RequestInput.count(request.uri.queryParameters.get("wait"), default: 0, 0...config.waitSecondsMax, "wait")
            let withTransaction = try RequestInput.flag(request.uri.queryParameters.get("transaction"), "transaction")
            var view = await api.transactionStatus(id, withTransaction: withTransaction)
            let deadline = ContinuousClock.now + .seconds(wait)
            while view.status != "committed", ContinuousClock.now < deadline, !api.commits.isClosed, !Task.isShuttingDownGracefully {
                _ = await api.commits.wait(beyond: api.commits.height, timeout: min(.seconds(1), deadline - .now))
                view = await api.transactionStatus(id, withTransaction: withTransaction)
            }
            return json(view)
        }
        route(.get, "/v1/accounts/{id}") { request, context throws(APIError) in
            let account = try accountID(context.parameters.get("id"))
            let proof = try RequestInput.flag(request.uri.queryParameters.get("proof"), "proof")
            return json(try await api.account(account, proof: proof))
        }
        route(.get, "/v1/accounts/{id}/transactions") { request, context throws(APIError) in
            let account = try accountID(context.parameters.get("id"))
            let query = request.uri.queryParameters
            let limit = try RequestInput.count(query.get("limit"), default: 100, 1...1_000, "limit")
            let before = try query.get("before").map { text throws(APIError) in
                guard let position = HistoryPosition(text) else {
                    throw .malformed("CURSOR", "before must be HEIGHT:INDEX (height 0 to \(Limits.heightMax), index 0 to \(UInt32.max)), as in the 'next' of the previous page")
                }
                return position
            }
            return json(try await api.accountTransactions(account, before: before, limit: limit))
        }
        route(.get, "/v1/accounts/{id}/statement") { request, context throws(APIError) in
            let account = try accountID(context.parameters.get("id"))
            let query = request.uri.queryParameters
            guard let date = try businessDate(query.get("date")) else { throw .malformed("DATE", "date is required: YYYY-MM-DD (a business date in ICT)") }
            guard (query.get("format") ?? "camt053") == "camt053" else { throw .malformed("QUERY", "format must be camt053") }
            let statement = try await api.accountStatement(account, date: date)
            return Response(status: .ok, headers: [.contentType: "application/xml; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: Camt053.document(statement))))
        }
        route(.get, "/v1/blocks") { request, _ throws(APIError) in
            let query = request.uri.queryParameters
            let limit = try RequestInput.count(query.get("limit"), default: 20, 1...1_000, "limit")
            let newest = api.status().height
            let defaultFrom = newest >= UInt64(limit) ? newest - UInt64(limit) + 1 : 1
            let from = try RequestInput.number(query.get("from"), default: defaultFrom, 1...Limits.heightMax, "from")
            return json(["blocks": await api.blocks(from: from, limit: limit)])
        }
        route(.get, "/v1/blocks/{height}") { request, context throws(APIError) in
            let height = try RequestInput.height(context.parameters.get("height"), "the height")
            let withTransactions = try RequestInput.flag(request.uri.queryParameters.get("transactions"), "transactions")
            guard var block = await api.block(height) else {
                let status = api.status()
                throw .notFound("no block \(height) is stored here: this node keeps blocks \(status.oldestBlockHeight) to \(status.height) (older ones were pruned, or it state-synced; ask an archive node)")
            }
            if withTransactions {
                // Pruning can remove the block between the two reads: then it is gone, as above.
                guard let transactions = await api.blockTransactions(height), transactions.count == block.transactions.count else {
                    throw .notFound("block \(height) was pruned while it was read; ask an archive node")
                }
                block.transactionBytes = transactions.map { Data($0.encoded).base64EncodedString() }
            }
            return json(block)
        }
        route(.get, "/v1/validators") { request, _ throws(APIError) in
            let height = try request.uri.queryParameters.get("height").map { text throws(APIError) in try RequestInput.height(text, "height") }
            return json(try await api.validators(signing: height))
        }
        route(.get, "/v1/transactions/{id}/receipt") { _, context throws(APIError) in
            json(try await api.receipt(try transactionID(context.parameters.get("id"))))
        }
        route(.get, "/v1/events") { request, _ throws(APIError) in
            // The stream resumes after a height: the client's last event id, or the one before `from`.
            // Both are checked when both are given, though the event id wins.
            let from = try request.uri.queryParameters.get("from").map { text throws(APIError) in try RequestInput.height(text, "from") }
            let filter = EventStream.Filter(
                account: try request.uri.queryParameters.get("account").map { text throws(APIError) in try accountID(text) },
                gateway: try request.uri.queryParameters.get("gateway").map { text throws(APIError) in try institutionID(text) })
            let after: UInt64
            if let lastID = request.headers[.lastEventID] {
                guard let last = RequestInput.decimal(lastID, in: 0...Limits.heightMax) else {
                    throw .malformed("EVENT_ID", "Last-Event-ID must be a block height: a whole number from 0 to \(Limits.heightMax)")
                }
                after = last
            } else {
                after = from.map { $0 - 1 } ?? api.commits.height
            }
            guard streams.acquire() else {
                throw APIError("TOO_MANY_STREAMS", "\(config.eventStreamsMax) event streams are open; retry later", .serviceUnavailable, headers: [.retryAfter: "5"])
            }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    defer { streams.release() }
                    try await EventStream.run(api: api, after: after, filter: filter, writer: &writer)
                })
        }
        route(.get, "/v1/gateways/{id}/positions") { request, context throws(APIError) in
            let gateway = try institutionID(context.parameters.get("id"))
            let date = try businessDate(request.uri.queryParameters.get("date"))
            let proof = try RequestInput.flag(request.uri.queryParameters.get("proof"), "proof")
            let view = try await api.withCommittedState { state in
                Result { () throws(APIError) in try SettlementReports.positions(state, gateway: gateway, date: date, proof: proof) }
            }
            return json(proof ? view.anchored(try await api.stateAnchor(after: view.height)) : view)
        }
        route(.get, "/v1/gateways/{id}/entries") { request, context throws(APIError) in
            let gateway = try institutionID(context.parameters.get("id"))
            let query = request.uri.queryParameters
            let date = try businessDate(query.get("date"))
            let currencyText = query.get("currency") ?? "KHR"
            guard let currency = Currency(code: currencyText) else { throw .malformed("QUERY", "currency must be KHR or USD") }
            let limit = try RequestInput.count(query.get("limit"), default: 100, 1...1_000, "limit")
            let before = try query.get("before").map { text throws(APIError) in
                guard let raw = Bytes32(hex: text) else { throw .malformed("CURSOR", "before must be the 'next' of the previous page") }
                return Digest(raw)
            }
            return json(try await api.withCommittedState { state in
                Result { () throws(APIError) in
                    try SettlementReports.entries(state, gateway: gateway, currency: currency, date: date, before: before, limit: limit)
                }
            })
        }
        route(.get, "/v1/settlements/{gateway}/{reference}") { request, context throws(APIError) in
            let gateway = try institutionID(context.parameters.get("gateway"))
            let reference = context.parameters.get("reference")?.removingPercentEncoding ?? ""
            guard SettlementEntry.isValidReference(reference) else {
                throw .malformed("REFERENCE", "external references are 1-64 of A-Z a-z 0-9 . _ : -")
            }
            let proof = try RequestInput.flag(request.uri.queryParameters.get("proof"), "proof")
            let view = try await api.withCommittedState { state in
                Result { () throws(APIError) in try SettlementReports.lookup(state, gateway: gateway, reference: reference, proof: proof) }
            }
            guard let height = view.proofHeight else { return json(view) }
            return json(view.anchored(try await api.stateAnchor(after: height)))
        }
        route(.get, "/v1/reference-rates/{unit}/{quoted}") { request, context throws(APIError) in
            let pair = [context.parameters.get("unit") ?? "", context.parameters.get("quoted") ?? ""]
            // Any three capitals: a pair nobody published is simply not found.
            guard pair.allSatisfy({ $0.utf8.count == 3 && $0.utf8.allSatisfy { (65...90).contains($0) } }) else {
                throw .malformed("CURRENCY", "the pair is two ISO 4217 codes in capitals, e.g. /v1/reference-rates/CNY/KHR")
            }
            let date = try businessDate(request.uri.queryParameters.get("date"))
            return json(try await api.withCommittedState { state in
                Result { () throws(APIError) in try SettlementReports.referenceRate(state, unit: pair[0], quoted: pair[1], date: date) }
            })
        }
        return router
    }

    static func institutionID(_ text: String?) throws(APIError) -> InstitutionID {
        let decoded = text?.removingPercentEncoding ?? ""
        do { return try InstitutionID(decoded) } catch { throw .malformed("GATEWAY", "'\(decoded)' is not an institution id: \(error)") }
    }

    static func businessDate(_ text: String?) throws(APIError) -> BusinessDate? {
        guard let text else { return nil }
        guard let date = BusinessDate(text) else { throw .malformed("DATE", "date must be YYYY-MM-DD (a business date in ICT)") }
        return date
    }

    struct ErrorBody: Codable { let code: String; let message: String }
    struct Accepted: Codable { let id: String; let status: String }

    /// A request body said to be JSON, of at most `rpc.body_bytes_max` bytes.
    static func body(_ request: Request, _ config: RPCConfig) async throws(APIError) -> ByteBuffer {
        try RequestInput.requireJSON(request)
        // A body announced as too large is refused before a byte of it is awaited.
        if let declared = request.headers[.contentLength], let length = RequestInput.decimal(declared, in: 0...UInt64.max), length > config.bodyBytesMax {
            throw APIError("BODY_TOO_LARGE", "request bodies are limited to \(config.bodyBytesMax) bytes; this one announces \(length)", .contentTooLarge)
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: config.bodyBytesMax) } catch is NIOTooManyBytesError {
            throw APIError("BODY_TOO_LARGE", "request bodies are limited to \(config.bodyBytesMax) bytes", .contentTooLarge)
        } catch {
            throw .malformed("REQUEST", "the body did not arrive whole")
        }
        return buffer
    }

    /// A transaction from base64 canonical bytes.
    public static func parse(_ base64: String) throws(APIError) -> Transaction {
        guard let data = Data(base64Encoded: base64) else { throw .malformed("TRANSACTION", "the transaction is not valid base64") }
        guard data.count <= Limits.transactionBytesMax else {
            throw APIError("TRANSACTION_TOO_LARGE", "transactions are limited to \(Limits.transactionBytesMax) bytes", .contentTooLarge)
        }
        do { return try Transaction(canonical: Array(data)) } catch {
            throw .malformed("TRANSACTION", "the bytes are not a canonical transaction: \(error)")
        }
    }

    static func transactionID(_ text: String?) throws(APIError) -> TransactionID {
        guard let raw = text.flatMap(Bytes32.init(hex:)) else { throw .malformed("ID", "transaction ids are 64 hexadecimal digits") }
        return TransactionID(Digest(raw))
    }

    static func accountID(_ text: String?) throws(APIError) -> AccountID {
        let decoded = text?.removingPercentEncoding ?? ""
        do { return try AccountID(decoded) } catch { throw .malformed("ACCOUNT", "'\(decoded)' is not an account id (name@institution): \(error)") }
    }

    static func respond(_ outcome: SubmitOutcome) -> Response {
        switch outcome {
        case .pending(let id): json(Accepted(id: id.digest.hex, status: "pending"), status: .accepted)
        case .committed(let view): json(view)
        case .refused(let code, let message, let retryable):
            error(APIError(code, message, retryable ? .serviceUnavailable : .badRequest, headers: retryable ? [.retryAfter: "1"] : [:]))
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

    static func error(_ error: APIError) -> Response {
        json(ErrorBody(code: error.code, message: error.message), status: error.status, headers: error.headers)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try! encoder.encode(value))))
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}

/// Counts open event streams against a maximum.
final class StreamCounter: Sendable {
    private let open = Mutex(0)
    let max: Int
    init(max: Int) { self.max = max }
    func acquire() -> Bool { open.withLock { if $0 >= max { return false }; $0 += 1; return true } }
    func release() { open.withLock { $0 -= 1 } }
}
