import Logging
import NIOCore
import NIOPosix
import Synchronization
import TonleConsensus
import TonleCrypto
import TonleTypes

/// A peer this node dials: its key and where it listens.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    public let key: Ed25519.PublicKey
    public let host: String
    public let port: Int

    public init(key: Ed25519.PublicKey, host: String, port: Int) { (self.key, self.host, self.port) = (key, host, port) }

    /// Parses `KEYHEX@HOST:PORT`.
    public init?(_ text: String) {
        let parts = text.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, let key = Bytes32(hex: parts[0]), let colon = parts[1].lastIndex(of: ":"),
              let port = Int(parts[1][parts[1].index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        let host = String(parts[1][..<colon])
        guard !host.isEmpty else { return nil }
        (self.key, self.host, self.port) = (Ed25519.PublicKey(key), host, port)
    }

    public var description: String { "\(key.hex)@\(host):\(port)" }
}

/// Settings of the peer network (docs/operations.md, section p2p).
public struct NetworkConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 26_600
    public var peers: [PeerAddress] = []
    public var reconnectMinimumMilliseconds: Int64 = 100
    /// The redial cap: short, so that links come back within about half a second of a heal (a
    /// failed dial of a peer that is down costs one refused or timed-out connect).
    public var reconnectMaximumMilliseconds: Int64 = 500
    /// Bytes queued for one peer and not yet taken by its socket; beyond it, messages to that
    /// peer are dropped (consensus re-sends its own messages, sync re-asks) and counted.
    public var peerQueueBytesMax = 64 << 20
    public var handshakeTimeoutMilliseconds: Int64 = 5_000
    /// A link that brings nothing for this long is closed (peers send a status at least every second).
    public var idleTimeoutMilliseconds: Int64 = 10_000
    /// Inbound connections from one address that have not completed the handshake; a further one
    /// is closed as it opens.
    public var unauthenticatedPerAddressMax = 8
    /// Inbound connections that have not completed the handshake, from all addresses.
    public var unauthenticatedMax = 128

    public init() {}
}

/// What the network tells its owner. Delivered on an event-loop thread: do little and hand over.
public enum NetworkEvent: Sendable {
    case connected(Ed25519.PublicKey)
    case disconnected(Ed25519.PublicKey)
    case message(PeerMessage, from: Ed25519.PublicKey)
}

/// The peer manager: listens, dials configured peers with capped exponential backoff, keeps one
/// authenticated link per peer, and sends with a bounded queue per peer (docs/network.md).
public final class PeerNetwork: Sendable {
    private let group: any EventLoopGroup
    private let identity: LinkIdentity
    private let config: NetworkConfig
    private let logger: Logger
    private let onEvent: @Sendable (NetworkEvent) -> Void
    private let state = Mutex(State())
    private let dialers = Mutex<[Task<Void, Never>]>([])

    private struct State {
        var links: [Ed25519.PublicKey: Link] = [:]
        var server: (any Channel)?
        var stopped = false
        var dropped = 0
        /// Inbound connections still in their handshake, with their remote address.
        var unauthenticated: [ObjectIdentifier: String] = [:]
        var refusedUnauthenticated = 0
    }

    /// One established link.
    final class Link: Sendable {
        let channel: any Channel
        let initiator: Bool
        let queued = Atomic<Int>(0)
        init(channel: any Channel, initiator: Bool) { (self.channel, self.initiator) = (channel, initiator) }
    }

    public init(
        group: any EventLoopGroup, identity: LinkIdentity, config: NetworkConfig, logger: Logger,
        onEvent: @escaping @Sendable (NetworkEvent) -> Void
    ) {
        (self.group, self.identity, self.config, self.logger, self.onEvent) = (group, identity, config, logger, onEvent)
    }

    /// The address the listener is bound to (a port of 0 in the configuration picks a free one).
    public var boundPort: Int { state.withLock { $0.server?.localAddress?.port ?? 0 } }

    /// Keys of the peers with an established link, sorted.
    public var connectedPeers: [Ed25519.PublicKey] { state.withLock { $0.links.keys.sorted() } }

    /// Local and remote port of each link, by peer key (tests check both ends hold the same connection).
    var linkPorts: [[Int]] {
        state.withLock { state in state.links.sorted { $0.key < $1.key }.map { [$0.value.channel.localAddress?.port ?? 0, $0.value.channel.remoteAddress?.port ?? 0] } }
    }

    /// Messages dropped because a peer's queue was full, since start.
    public var droppedMessages: Int { state.withLock { $0.dropped } }

    /// Inbound connections closed as they opened because their address (or the node) had as many
    /// unauthenticated connections as allowed, since start.
    public var refusedConnections: Int { state.withLock { $0.refusedUnauthenticated } }

    /// Binds the listener and starts one dialer per configured peer.
    public func start() async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel, initiator: false) }
            }
            .bind(host: config.host, port: config.port).get()
        state.withLock { $0.server = server }
        logger.info("peer listener bound", metadata: ["address": "\(config.host):\(server.localAddress?.port ?? 0)"])
        let tasks = config.peers.filter { $0.key != identity.key.publicKey }.map { peer in
            Task { await self.dial(peer) }
        }
        dialers.withLock { $0 = tasks }
    }

    /// Closes the listener and every link; dialers stop.
    public func shutdown() async {
        let (server, links) = state.withLock { state -> ((any Channel)?, [Link]) in
            state.stopped = true
            return (state.server, Array(state.links.values))
        }
        for task in dialers.withLock({ $0 }) { task.cancel() }
        try? await server?.close()
        for link in links { try? await link.channel.close() }
    }

    /// Sends to one peer, if linked and its queue has room.
    public func send(_ message: PeerMessage, to peer: Ed25519.PublicKey) {
        guard let link = state.withLock({ $0.links[peer] }) else { return }
        enqueue(message.encoded, on: link)
    }

    /// Sends to every linked peer.
    public func broadcast(_ message: PeerMessage) {
        let links = state.withLock { Array($0.links.values) }
        guard !links.isEmpty else { return }
        let bytes = message.encoded
        for link in links { enqueue(bytes, on: link) }
    }

    private func enqueue(_ bytes: [UInt8], on link: Link) {
        let size = bytes.count
        guard link.queued.add(size, ordering: .relaxed).newValue <= config.peerQueueBytesMax else {
            link.queued.subtract(size, ordering: .relaxed)
            state.withLock { $0.dropped += 1 }
            return
        }
        let buffer = link.channel.allocator.buffer(bytes: bytes)
        link.channel.writeAndFlush(buffer).whenComplete { _ in link.queued.subtract(size, ordering: .relaxed) }
    }

    private func configure(_ channel: any Channel, initiator: Bool, expectedPeer: Ed25519.PublicKey? = nil) throws {
        let handler = PeerHandler(network: self, initiator: initiator, idleMilliseconds: config.idleTimeoutMilliseconds)
        let frameLimit = FrameLimit()
        if !initiator { try channel.pipeline.syncOperations.addHandler(HandshakeAdmission(network: self)) }
        try channel.pipeline.syncOperations.addHandlers([
            IdleStateHandler(readTimeout: .milliseconds(config.idleTimeoutMilliseconds)),
            ByteToMessageHandler(FrameDecoder(limit: frameLimit)),
            MessageToByteHandler(FrameEncoder()),
            SecureLinkHandler(identity: identity, initiator: initiator, frameLimit: frameLimit, expectedPeer: expectedPeer,
                              handshakeTimeout: .milliseconds(config.handshakeTimeoutMilliseconds)),
            handler,
        ])
    }

    /// Counts an inbound connection that has not proved its key yet; false (and counted as
    /// refused) when its address, or the node, already has as many as allowed.
    fileprivate func admitUnauthenticated(_ channel: any Channel) -> Bool {
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        return state.withLock { state in
            let fromAddress = state.unauthenticated.values.lazy.filter { $0 == address }.count
            guard fromAddress < config.unauthenticatedPerAddressMax, state.unauthenticated.count < config.unauthenticatedMax else {
                state.refusedUnauthenticated += 1
                return false
            }
            state.unauthenticated[ObjectIdentifier(channel)] = address
            return true
        }
    }

    /// Dials `peer` whenever there is no link to it, backing off exponentially (with jitter) up to the cap.
    private func dial(_ peer: PeerAddress) async {
        var backoff = config.reconnectMinimumMilliseconds
        while !Task.isCancelled, !state.withLock({ $0.stopped }) {
            if state.withLock({ $0.links[peer.key] != nil }) {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            do {
                let channel = try await ClientBootstrap(group: group)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connectTimeout(.seconds(3))
                    .channelInitializer { [self] channel in channel.eventLoop.makeCompletedFuture { try self.configure(channel, initiator: true, expectedPeer: peer.key) } }
                    .connect(host: peer.host, port: peer.port).get()
                try? await channel.closeFuture.get()
                if state.withLock({ $0.links[peer.key] != nil }) { backoff = config.reconnectMinimumMilliseconds }
            } catch {
                logger.debug("dial failed", metadata: ["peer": "\(peer.key.hex.prefix(8))", "error": "\(error)"])
            }
            let jitter = Int64.random(in: 0...(backoff / 4 + 1))
            try? await Task.sleep(for: .milliseconds(backoff + jitter))
            backoff = min(backoff * 2, config.reconnectMaximumMilliseconds)
        }
    }

    // MARK: Called by the links' handlers, on their event loops.

    /// Registers an established link; with two links to one peer, keeps the one the lower key opened.
    func established(_ channel: any Channel, peer: Ed25519.PublicKey, initiator: Bool) -> Bool {
        let link = Link(channel: channel, initiator: initiator)
        let preferInitiator = identity.key.publicKey < peer
        let (accepted, replaced) = state.withLock { state -> (Bool, Link?) in
            state.unauthenticated[ObjectIdentifier(channel)] = nil
            if state.stopped { return (false, nil) }
            guard let existing = state.links[peer] else {
                state.links[peer] = link
                return (true, nil)
            }
            if existing.initiator == preferInitiator || link.initiator != preferInitiator { return (false, nil) }
            state.links[peer] = link
            return (true, existing)
        }
        if let replaced { replaced.channel.close(promise: nil) }
        if accepted, replaced == nil {
            logger.info("peer connected", metadata: ["peer": "\(peer.hex.prefix(8))", "initiator": "\(initiator)"])
            onEvent(.connected(peer))
        }
        return accepted
    }

    func closed(_ channel: any Channel, peer: Ed25519.PublicKey?, reason: (any Error)?) {
        state.withLock { _ = $0.unauthenticated.removeValue(forKey: ObjectIdentifier(channel)) }
        guard let peer else {
            if let reason { logger.info("link refused", metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"]) }
            return
        }
        let removed = state.withLock { state -> Bool in
            guard let link = state.links[peer], link.channel === channel else { return false }
            state.links[peer] = nil
            return true
        }
        if removed {
            logger.info("peer disconnected", metadata: ["peer": "\(peer.hex.prefix(8))", "reason": "\(reason.map { "\($0)" } ?? "closed")"])
            onEvent(.disconnected(peer))
        }
    }

    func received(_ message: PeerMessage, from peer: Ed25519.PublicKey) { onEvent(.message(message, from: peer)) }
}

/// First in an inbound connection's pipeline: admits it against the limits on unauthenticated
/// connections, or closes it before the handshake starts.
final class HandshakeAdmission: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let network: PeerNetwork

    init(network: PeerNetwork) { self.network = network }

    func channelActive(context: ChannelHandlerContext) {
        guard network.admitUnauthenticated(context.channel) else {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }
}

/// The last handler of a link: decodes messages and reports to the network.
final class PeerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let network: PeerNetwork
    private let initiator: Bool
    private let idleMilliseconds: Int64
    private var peer: Ed25519.PublicKey?
    private var accepted = false
    private var reason: (any Error)?

    init(network: PeerNetwork, initiator: Bool, idleMilliseconds: Int64) {
        (self.network, self.initiator, self.idleMilliseconds) = (network, initiator, idleMilliseconds)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let established = event as? LinkEstablished {
            peer = established.peer
            accepted = network.established(context.channel, peer: established.peer, initiator: initiator)
            if !accepted { context.close(promise: nil) }
        } else if event is IdleStateHandler.IdleStateEvent {
            reason = reason ?? LinkError.idle(milliseconds: idleMilliseconds)
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard accepted, let peer else { return }
        var buffer = unwrapInboundIn(data)
        do {
            network.received(try PeerMessage(encoded: buffer.readBytes(length: buffer.readableBytes) ?? []), from: peer)
        } catch {
            reason = LinkError.malformedMessage("\(error)")
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reason = reason ?? error
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        network.closed(context.channel, peer: accepted ? peer : nil, reason: reason)
        context.fireChannelInactive()
    }
}
