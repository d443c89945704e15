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

/// Turns the router's own refusals (no such route, a method a route does not take) into the
/// API's JSON errors, so every refusal a client sees has a code and a message.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = RPCRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "NO_SUCH_ROUTE" : "HTTP_\(error.status.code)"
            let message = error.status == .notFound ? "no \(request.method) \(request.uri.path) here; see docs/api.md for the routes" : (error.body ?? "\(error.status)")
            return RPCServer.error(APIError(code, message, error.status))
        }
    }
}
