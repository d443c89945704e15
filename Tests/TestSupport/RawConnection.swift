import NIOCore
import NIOPosix
import Synchronization

/// A raw TCP connection for tests that misbehave on purpose: it writes exactly the bytes it is
/// given, when it is told to, collects what comes back, and notices when the server closes it.
public final class RawConnection: Sendable {
    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) { (self.channel, self.collector) = (channel, collector) }

    public static func open(port: Int) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    /// Writes `bytes` as they are (false once the server has closed the connection).
    @discardableResult
    public func send(bytes: [UInt8]) async -> Bool {
        guard channel.isActive else { return false }
        return (try? await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()) != nil
    }

    /// Writes `text` as it is (false once the server has closed the connection).
    @discardableResult
    public func send(_ text: String) async -> Bool {
        guard channel.isActive else { return false }
        return (try? await channel.writeAndFlush(ByteBuffer(string: text)).get()) != nil
    }

    public var isOpen: Bool { channel.isActive }

    /// What the server has sent so far.
    public var received: String { String(decoding: collector.bytes.withLock { $0 }, as: UTF8.self) }

    /// Waits up to `seconds` for the server to close the connection; true if it did.
    public func closedByServer(within seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
        while channel.isActive, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !channel.isActive
    }

    public func close() async { try? await channel.close() }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0 += buffer.readableBytesView }
        }
    }
}
