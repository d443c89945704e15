import NIOCore
import TonleCrypto
import TonleTypes

/// Who this node is on the peer network, and whom it admits.
public struct LinkIdentity: Sendable {
    public let key: Ed25519.SigningKey
    /// SHA-256 of the genesis document: links between different networks are refused.
    public let networkID: Digest
    /// Whether a peer key may hold a link: a validator of the current set or a configured observer.
    public let authorise: @Sendable (Ed25519.PublicKey) -> Bool

    public init(key: Ed25519.SigningKey, networkID: Digest, authorise: @escaping @Sendable (Ed25519.PublicKey) -> Bool) {
        (self.key, self.networkID, self.authorise) = (key, networkID, authorise)
    }
}

/// Fired inbound when both sides have proved their keys.
public struct LinkEstablished: Sendable, Equatable {
    public let peer: Ed25519.PublicKey
    /// True when this side opened the TCP connection.
    public let initiator: Bool
}

/// The handshake's first frame, sent in the clear by both sides at once (docs/network.md).
struct Hello: Equatable {
    static let version: UInt8 = 1
    static let byteCount = 1 + 32 * 3
    let networkID: Digest
    let staticKey: Ed25519.PublicKey
    let ephemeralKey: Bytes32

    var encoded: [UInt8] {
        var w = CanonicalWriter()
        w.u8(Self.version)
        w.bytes32(networkID.raw)
        w.bytes32(staticKey.raw)
        w.bytes32(ephemeralKey)
        return w.bytes
    }

    init(networkID: Digest, staticKey: Ed25519.PublicKey, ephemeralKey: Bytes32) {
        (self.networkID, self.staticKey, self.ephemeralKey) = (networkID, staticKey, ephemeralKey)
    }

    init(encoded bytes: [UInt8]) throws(LinkError) {
        guard bytes.count == Self.byteCount else { throw .malformedHello("\(bytes.count) bytes, expected \(Self.byteCount)") }
        guard bytes[0] == Self.version else { throw .malformedHello("protocol version \(bytes[0]), this node speaks \(Self.version)") }
        networkID = Digest(Bytes32(bytes[1..<33])!)
        staticKey = Ed25519.PublicKey(Bytes32(bytes[33..<65])!)
        ephemeralKey = Bytes32(bytes[65..<97])!
    }

    /// What each side signs: a domain string, its role, and the hash of both hellos (initiator's first).
    static func authMessage(transcript: Digest, initiator: Bool) -> [UInt8] {
        Array("tonle-link-auth-v1".utf8) + [initiator ? 1 : 2] + transcript.raw.bytes
    }

    static func transcript(initiator: Hello, responder: Hello) -> Digest {
        SHA256.hash(Array("tonle-link-v1".utf8) + initiator.encoded + responder.encoded)
    }
}

/// The authenticated, encrypted link (docs/network.md). Below it: frames; above it: plaintext
/// messages. Both sides send a Hello; the initiator then sends, sealed, its Ed25519 signature of
/// the handshake transcript, and the responder answers with its own only after it admits the
/// initiator. A side establishes the link when the peer's signature verifies and its key is
/// authorised. Every later frame is sealed with ChaCha20-Poly1305 under a per-direction
/// key and counter. Any failure closes this link only.
public final class SecureLinkHandler: ChannelDuplexHandler, @unchecked Sendable {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case awaitingHello
        case awaitingAuth(peer: Ed25519.PublicKey, transcript: Digest)
        case established
        case closed
    }

    private let identity: LinkIdentity
    private let initiator: Bool
    /// The key the dialled address is configured with; anyone else answering there is refused.
    private let expectedPeer: Ed25519.PublicKey?
    private let handshakeTimeout: TimeAmount
    /// The link's frame size limit, raised once the handshake completes.
    private let frameLimit: FrameLimit
    private let ephemeral = KeyExchange.EphemeralKey()
    private var state = State.awaitingHello
    private var sealer: AEADSealer?
    private var opener: AEADOpener?
    private var timeout: Scheduled<Void>?
    /// The reason this side closed the link, for logs and tests.
    public private(set) var closeReason: LinkError?

    public init(identity: LinkIdentity, initiator: Bool, frameLimit: FrameLimit, expectedPeer: Ed25519.PublicKey? = nil,
                handshakeTimeout: TimeAmount = .seconds(5)) {
        (self.identity, self.initiator, self.expectedPeer, self.handshakeTimeout) = (identity, initiator, expectedPeer, handshakeTimeout)
        self.frameLimit = frameLimit
    }

    private var myHello: Hello { Hello(networkID: identity.networkID, staticKey: identity.key.publicKey, ephemeralKey: ephemeral.publicKey) }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { begin(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        begin(context: context)
        context.fireChannelActive()
    }

    private func begin(context: ChannelHandlerContext) {
        guard timeout == nil, case .awaitingHello = state else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: handshakeTimeout) {
            let (handler, context) = loopBound.value
            if case .established = handler.state { return }
            handler.fail(.handshakeTimeout, context: context)
        }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: myHello.encoded)), promise: nil)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        state = .closed
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        let bytes = frame.readBytes(length: frame.readableBytes) ?? []
        do {
            switch state {
            case .awaitingHello:
                let hello = try Hello(encoded: bytes)
                guard hello.networkID == identity.networkID else { throw LinkError.wrongNetwork }
                guard hello.staticKey != identity.key.publicKey else { throw LinkError.selfConnection }
                if let expectedPeer, hello.staticKey != expectedPeer { throw LinkError.notAuthorised(hello.staticKey.hex) }
                guard let keys = ephemeral.sessionKeys(peer: hello.ephemeralKey, initiator: initiator) else { throw LinkError.badKeyExchange }
                (sealer, opener) = keys.channel()
                let transcript = initiator ? Hello.transcript(initiator: myHello, responder: hello) : Hello.transcript(initiator: hello, responder: myHello)
                state = .awaitingAuth(peer: hello.staticKey, transcript: transcript)
                // The initiator proves its key first; the responder answers only once it admits the initiator.
                if initiator { try sendAuth(transcript, context: context) }
            case .awaitingAuth(let peer, let transcript):
                let plaintext = try open(bytes)
                guard let signature = Ed25519.Signature(plaintext),
                      peer.isValidSignature(signature, for: Hello.authMessage(transcript: transcript, initiator: !initiator))
                else { throw LinkError.badSignature }
                guard identity.authorise(peer) else { throw LinkError.notAuthorised(peer.hex) }
                if !initiator { try sendAuth(transcript, context: context) }
                state = .established
                frameLimit.established()
                timeout?.cancel()
                context.fireUserInboundEventTriggered(LinkEstablished(peer: peer, initiator: initiator))
            case .established:
                let plaintext = try open(bytes)
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: plaintext)))
            case .closed:
                return
            }
        } catch let error as LinkError {
            fail(error, context: context)
        } catch {
            fail(.authenticationFailed, context: context)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .established = state else {
            promise?.fail(LinkError.notEstablished)
            return
        }
        var buffer = unwrapOutboundIn(data)
        do {
            try sendSealed(buffer.readBytes(length: buffer.readableBytes) ?? [], context: context, promise: promise)
        } catch {
            promise?.fail(error)
            fail(.authenticationFailed, context: context)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error as? LinkError ?? .malformedMessage("\(error)"), context: context)
    }

    private func sendSealed(_ plaintext: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) throws {
        guard sealer != nil else { throw LinkError.notEstablished }
        let sealed = try sealer!.seal(plaintext)
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: sealed)), promise: promise)
    }

    private func sendAuth(_ transcript: Digest, context: ChannelHandlerContext) throws {
        try sendSealed(identity.key.sign(Hello.authMessage(transcript: transcript, initiator: initiator)).bytes, context: context)
        context.flush()
    }

    private func open(_ bytes: [UInt8]) throws(LinkError) -> [UInt8] {
        do { return try opener!.open(bytes) } catch { throw .authenticationFailed }
    }

    private func fail(_ error: LinkError, context: ChannelHandlerContext) {
        if case .closed = state { return }
        state = .closed
        closeReason = closeReason ?? error
        timeout?.cancel()
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
