import NIOCore
import NIOPosix
import Synchronization

/// A raw TCP connection for tests that misbehave on purpose: it writes exactly the bytes it is
/// given, when it is told to, collects what comes back, and notices when the server closes it.
/// Whatever must happen at a given moment (several connects at once, a write after a delay) is
/// done on the connection's event loop, not in the test's task: a test's task may wait a long
/// time for a thread while other tests keep the cooperative pool busy.
public final class RawConnection: Sendable {
    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) { (self.channel, self.collector) = (channel, collector) }

    public static func open(port: Int) async throws -> RawConnection { try await open(port: port, count: 1)[0] }

    /// `count` connections, all begun at once (the server accepts them in a burst, whatever the
    /// test's task is doing).
    public static func open(port: Int, count: Int) async throws -> [RawConnection] {
        let connects = (0..<count).map { _ in
            let collector = Collector()
            let channel = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
                .connect(host: "127.0.0.1", port: port)
            return (channel, collector)
        }
        var connections: [RawConnection] = []
        for (channel, collector) in connects { connections.append(RawConnection(channel: try await channel.get(), collector: collector)) }
        return connections
    }

    /// Writes `first` now and `second` `milliseconds` later, timed on the event loop.
    public func send(_ first: String, then second: String, afterMilliseconds milliseconds: Int64) {
        let channel = self.channel
        channel.writeAndFlush(ByteBuffer(string: first), promise: nil)
        channel.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) { channel.writeAndFlush(ByteBuffer(string: second), promise: nil) }
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

    /// The status code of the response the server has begun to send, once its head is complete
    /// (within `seconds`); nil if none came in time or it was not HTTP.
    public func responseStatus(within seconds: Double) async -> Int? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
        while !received.contains("\r\n\r\n"), channel.isActive, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        let statusLine = received.prefix { $0 != "\r" }.split(separator: " ")
        guard received.contains("\r\n\r\n"), statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1.") else { return nil }
        return Int(statusLine[1])
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0 += buffer.readableBytesView }
        }
    }
}
