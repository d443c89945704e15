import NIOCore
import TonleConsensus

/// Why a link was closed by its own side.
public enum LinkError: Error, Equatable, Sendable, CustomStringConvertible {
    case frameTooLarge(Int)
    case malformedHello(String)
    case wrongNetwork
    case selfConnection
    case badKeyExchange
    case authenticationFailed
    case badSignature
    case notAuthorised(String)
    case handshakeTimeout
    case notEstablished
    case malformedMessage(String)
    /// Nothing arrived for the idle timeout (peers send a status at least every second).
    case idle(milliseconds: Int64)

    public var description: String {
        switch self {
        case .frameTooLarge(let n): "a frame of \(n) bytes is over the maximum (\(NetworkLimits.handshakeFrameBytesMax) bytes until the handshake completes, \(NetworkLimits.frameBytesMax) after)"
        case .malformedHello(let reason): "malformed hello: \(reason)"
        case .wrongNetwork: "the peer belongs to another network (genesis hash differs)"
        case .selfConnection: "the peer presented this node's own key"
        case .badKeyExchange: "the peer's ephemeral key is degenerate"
        case .authenticationFailed: "a frame failed authentication (altered, replayed or out of order)"
        case .badSignature: "the peer's handshake signature is invalid"
        case .notAuthorised(let key): "peer key \(key) is neither a validator nor a configured observer"
        case .handshakeTimeout: "the handshake did not complete in time"
        case .notEstablished: "write before the link was established"
        case .malformedMessage(let reason): "malformed message: \(reason)"
        case .idle(let milliseconds): "idle: nothing received for \(milliseconds) ms"
        }
    }
}

/// The largest frame a link reads now: `NetworkLimits.handshakeFrameBytesMax` until its handshake
/// completes, then `NetworkLimits.frameBytesMax`. Shared by a link's frame decoder and its
/// `SecureLinkHandler` (which raises it), on the link's event loop.
public final class FrameLimit {
    public private(set) var bytesMax: Int

    public init(bytesMax: Int = NetworkLimits.handshakeFrameBytesMax) { self.bytesMax = bytesMax }

    /// The handshake is done: frames up to the full maximum.
    public func established() { bytesMax = NetworkLimits.frameBytesMax }
}

/// Splits the byte stream into frames: a 4-byte big-endian length, then that many bytes.
/// A length over the current maximum is an error before anything is buffered for it.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer
    public let limit: FrameLimit

    public init(limit: FrameLimit) { self.limit = limit }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= limit.bytesMax else { throw LinkError.frameTooLarge(Int(length)) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Prefixes each outgoing frame with its length.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ByteBuffer

    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.writeInteger(UInt32(data.readableBytes))
        out.writeImmutableBuffer(data)
    }
}
