import Hummingbird
import NIOCore
import Synchronization

/// The request context of the RPC: Hummingbird's basics plus the client's address, which the
/// rate limiter keys on.
public struct RPCRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Token buckets per client address: `ratePerSecond` requests a second on average, bursts of up
/// to `burst`. A client over its rate gets 429 RATE_LIMITED with Retry-After. The table of
/// clients is bounded: when full, buckets that have refilled completely (idle clients) are
/// forgotten first, and if none have, the whole table is reset.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let ratePerSecond: Double
    let burst: Double
    let clientsMax: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(ratePerSecond: Double, burst: Double, clientsMax: Int = 10_000) {
        (self.ratePerSecond, self.burst, self.clientsMax) = (ratePerSecond, burst, clientsMax)
    }

    /// Takes one token for `client`; false when it has none left.
    public func allow(_ client: String, now: ContinuousClock.Instant = .now) -> Bool {
        buckets.withLock { buckets in
            if buckets[client] == nil, buckets.count >= clientsMax {
                buckets = buckets.filter { refilled($0.value, now).tokens < burst }
                if buckets.count >= clientsMax { buckets.removeAll() }
            }
            var bucket = refilled(buckets[client] ?? Bucket(tokens: burst, updated: now), now)
            guard bucket.tokens >= 1 else {
                buckets[client] = bucket
                return false
            }
            bucket.tokens -= 1
            buckets[client] = bucket
            return true
        }
    }

    private func refilled(_ bucket: Bucket, _ now: ContinuousClock.Instant) -> Bucket {
        let elapsed = now - bucket.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Bucket(tokens: min(burst, bucket.tokens + max(0, seconds) * ratePerSecond), updated: now)
    }
}

/// Applies a `RateLimiter` to every request but the health and readiness probes.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = RPCRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path != "/health", path != "/ready" else { return try await next(request, context) }
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        guard limiter.allow(client) else {
            return RPCServer.error(APIError("RATE_LIMITED", "more than \(Int(limiter.ratePerSecond)) requests a second from \(client); slow down, or send transactions in batches (POST /v1/transactions/batch)", .tooManyRequests, headers: [.retryAfter: "1"]))
        }
        return try await next(request, context)
    }
}

/// Turns the router's own refusals into the API's JSON errors, so every refusal a client sees
/// has a code and a message: a path no route has is 404 NO_SUCH_ROUTE; a path a route has, asked
/// with a method it does not take, is 405 METHOD_NOT_ALLOWED with the methods it takes in `Allow`.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = RPCRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            guard error.status == .notFound else { return RPCServer.error(APIError("HTTP_\(error.status.code)", error.body ?? "\(error.status)", error.status)) }
            let allowed = Self.methods(forPath: request.uri.path)
            if !allowed.isEmpty, !allowed.contains(request.method.rawValue) {
                let list = allowed.joined(separator: ", ")
                return RPCServer.error(APIError("METHOD_NOT_ALLOWED", "\(request.uri.path) takes \(list), not \(request.method)", .methodNotAllowed, headers: [.allow: list]))
            }
            return RPCServer.error(APIError("NO_SUCH_ROUTE", "no \(request.method) \(request.uri.path) here; see docs/api.md for the routes", .notFound))
        }
    }

    /// The methods of the route `path` resolves to, sorted. As in the router's trie, a segment
    /// goes to a template's constant when one matches, and to a `{name}` only when none does.
    static func methods(forPath path: String) -> [String] {
        let segments = path.split(separator: "/")
        var candidates = RPCServer.routes.map { ($0.method, $0.path.split(separator: "/")) }.filter { $0.1.count == segments.count }
        for (position, segment) in segments.enumerated() {
            let constant = candidates.filter { $0.1[position] == segment }
            candidates = constant.isEmpty ? candidates.filter { $0.1[position].hasPrefix("{") } : constant
        }
        return Set(candidates.map(\.0)).sorted()
    }
}
