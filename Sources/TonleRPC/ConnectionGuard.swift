import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The RPC port's defence against slow and greedy clients (docs/operations.md, "Slow and greedy
/// clients"): a request must arrive whole — head and body — within `rpc.request_deadline_ms` of
/// its first byte, or its connection is closed; one client address holds at most
/// `rpc.connections_per_client_max` connections, and a further one is closed as it opens.
/// Counts are read by the node's metrics.
public final class RPCConnections: Sendable {
    private struct State {
        /// Open connections per client address; an address leaves the table with its last one.
        var open: [String: Int] = [:]
        var refused = 0
        var late = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Open connections right now.
    public var openCount: Int { state.withLock { $0.open.values.reduce(0, +) } }
    /// Connections closed as they opened, their address being at its limit, since start.
    public var refusedCount: Int { state.withLock { $0.refused } }
    /// Connections closed because a request did not arrive whole in time, since start.
    public var lateCount: Int { state.withLock { $0.late } }

    /// Counts a new connection from `client`; false (and counted as refused) when it has `max` already.
    func open(_ client: String, max: Int) -> Bool {
        state.withLock { state in
            guard state.open[client, default: 0] < max else {
                state.refused += 1
                return false
            }
            state.open[client, default: 0] += 1
            return true
        }
    }

    func close(_ client: String) {
        state.withLock { state in
            let remaining = state.open[client, default: 1] - 1
            state.open[client] = remaining > 0 ? remaining : nil
        }
    }

    func countLate() { state.withLock { $0.late += 1 } }
}

/// Wraps the HTTP (or TLS) child channel: puts a `RequestDeadlineHandler` first in each
/// connection's pipeline, before any decoding, so it sees the first byte of every request.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let connections: RPCConnections
    let config: RPCConfig

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let handler = RequestDeadlineHandler(connections: connections, perClientMax: config.connectionsPerClientMax,
                                                 deadline: .milliseconds(config.requestDeadlineMilliseconds), logger: logger)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async { await base.handle(value: value, logger: logger) }
}

/// First in a connection's pipeline (raw bytes, before TLS and HTTP): admits the connection
/// against its address's limit, and starts a request's clock at its first byte. The
/// `RequestEndHandler` after the HTTP decoder stops the clock when the request's end has
/// arrived; if the clock runs out first, the connection is closed. A connection waiting
/// between requests has no clock (the idle timeout covers it), nor does one whose request has
/// arrived and is being answered (long polls, event streams).
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connections: RPCConnections
    private let perClientMax: Int
    private let deadline: TimeAmount
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// The address this connection is counted under, once admitted.
    private var client: String?
    private var refused = false
    private var clock: Scheduled<Void>?

    init(connections: RPCConnections, perClientMax: Int, deadline: TimeAmount, logger: Logger) {
        (self.connections, self.perClientMax, self.deadline, self.logger) = (connections, perClientMax, deadline, logger)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // An accepted connection gets its handlers before it is active; should one already be
        // active, admit it on the next turn of the loop, once its pipeline is complete.
        if context.channel.isActive { context.eventLoop.assumeIsolated().execute { self.admit(context) } }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        requestBegan()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        requestEnded()
        if let client { connections.close(client) }
        client = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestEnded()
        self.context = nil
    }

    /// A request's first byte (or its head) arrived: start its clock, unless one is running.
    func requestBegan() {
        guard clock == nil, let context, !refused else { return }
        clock = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) { [self] in
            clock = nil
            connections.countLate()
            logger.debug("closing a connection: its request did not arrive whole in time",
                         metadata: ["client": "\(client ?? "?")", "deadline_ms": "\(deadline.nanoseconds / 1_000_000)"])
            context.close(promise: nil)
        }
    }

    /// A request's end arrived: stop its clock.
    func requestEnded() {
        clock?.cancel()
        clock = nil
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard client == nil, !refused else { return }
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard connections.open(address, max: perClientMax) else {
            refused = true
            logger.debug("refusing a connection: its address holds the most allowed", metadata: ["client": "\(address)", "max": "\(perClientMax)"])
            context.close(promise: nil)
            return
        }
        client = address
    }
}

/// After the HTTP decoder: tells the connection's `RequestDeadlineHandler` when a request's head
/// arrives (pipelined requests may come without a new read) and when its end does.
final class RequestEndHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private var deadline: RequestDeadlineHandler?

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = try? context.pipeline.syncOperations.handler(type: RequestDeadlineHandler.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadline?.requestBegan()
        case .body: break
        case .end: deadline?.requestEnded()
        }
        context.fireChannelRead(data)
    }
}

extension RPCServer {
    /// The HTTP/1 server, with TLS when configured, behind the connection guard.
    static func serverBuilder(_ config: RPCConfig, connections: RPCConnections) throws -> HTTPServerBuilder {
        let tls = try tlsConfiguration(config)
        let http1Configuration = HTTP1Channel.Configuration(additionalChannelHandlers: [RequestEndHandler()], idleTimeout: .milliseconds(config.idleTimeoutMilliseconds))
        return HTTPServerBuilder { responder in
            let http1 = HTTP1Channel(responder: responder, configuration: http1Configuration)
            guard let tls else { return GuardedChildChannel(base: http1, connections: connections, config: config) }
            return GuardedChildChannel(base: try TLSChannel(http1, tlsConfiguration: tls), connections: connections, config: config)
        }
    }
}
