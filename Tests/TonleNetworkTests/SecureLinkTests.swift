import NIOCore
import NIOEmbedded
import Testing
import TonleConsensus
import TonleCrypto
import TonleTypes
@testable import TonleNetwork

/// Two embedded channels wired back to back: what one writes, the other reads.
struct LinkPair {
    let a: EmbeddedChannel, b: EmbeddedChannel
    let aLink: SecureLinkHandler, bLink: SecureLinkHandler
    let aEvents: EventRecorder, bEvents: EventRecorder

    init(aKey: Ed25519.SigningKey = .generate(), bKey: Ed25519.SigningKey = .generate(), aNetwork: Digest = LinkPair.network,
         bNetwork: Digest = LinkPair.network, bAdmits: @escaping @Sendable (Ed25519.PublicKey) -> Bool = { _ in true }) throws {
        let (aLimit, bLimit) = (FrameLimit(), FrameLimit())
        aLink = SecureLinkHandler(identity: LinkIdentity(key: aKey, networkID: aNetwork, authorise: { _ in true }), initiator: true, frameLimit: aLimit)
        bLink = SecureLinkHandler(identity: LinkIdentity(key: bKey, networkID: bNetwork, authorise: bAdmits), initiator: false, frameLimit: bLimit)
        (aEvents, bEvents) = (EventRecorder(), EventRecorder())
        a = EmbeddedChannel(handlers: [ByteToMessageHandler(FrameDecoder(limit: aLimit)), MessageToByteHandler(FrameEncoder()), aLink, aEvents])
        b = EmbeddedChannel(handlers: [ByteToMessageHandler(FrameDecoder(limit: bLimit)), MessageToByteHandler(FrameEncoder()), bLink, bEvents])
        try a.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try b.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
    }

    static let network = SHA256.hash(Array("test network".utf8))

    /// Moves bytes both ways until neither side has anything to send. Returns what was moved, per direction.
    @discardableResult
    func pump(tamperAtoB: ((inout ByteBuffer) -> Void)? = nil) throws -> [ByteBuffer] {
        var moved: [ByteBuffer] = []
        for _ in 0..<10 {
            var progressed = false
            while var out = try a.readOutbound(as: ByteBuffer.self) {
                tamperAtoB?(&out)
                moved.append(out)
                if b.isActive { _ = try? b.writeInbound(out) }
                progressed = true
            }
            while let out = try b.readOutbound(as: ByteBuffer.self) {
                if a.isActive { _ = try? a.writeInbound(out) }
                progressed = true
            }
            if !progressed { break }
        }
        return moved
    }
}

/// Records what reaches the end of a pipeline.
final class EventRecorder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    var established: [LinkEstablished] = []
    var messages: [[UInt8]] = []
    var errors: [any Error] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? LinkEstablished { established.append(e) }
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        messages.append(buffer.readBytes(length: buffer.readableBytes)!)
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { errors.append(error) }
}

@Suite("Secure link handshake and frames (EmbeddedChannel)")
struct SecureLinkTests {
    @Test("both sides establish, learn each other's key, and exchange sealed messages both ways")
    func happyPath() throws {
        let (aKey, bKey) = (Ed25519.SigningKey.generate(), Ed25519.SigningKey.generate())
        let pair = try LinkPair(aKey: aKey, bKey: bKey)
        try pair.pump()
        #expect(pair.aEvents.established == [LinkEstablished(peer: bKey.publicKey, initiator: true)])
        #expect(pair.bEvents.established == [LinkEstablished(peer: aKey.publicKey, initiator: false)])
        let message = PeerMessage.status(height: 42).encoded
        try pair.a.writeAndFlush(pair.a.allocator.buffer(bytes: message)).wait()
        let wire = try pair.pump()
        #expect(pair.bEvents.messages == [message])
        // The frame on the wire is sealed: not the plaintext, and 16 bytes longer (the tag).
        #expect(wire.count == 1 && wire[0].readableBytes == 4 + message.count + AEADSealer.tagBytes)
        #expect(!wire[0].readableBytesView.elementsEqual([0, 0, 0, UInt8(message.count)] + message))
        try pair.b.writeAndFlush(pair.b.allocator.buffer(bytes: [9, 9, 9])).wait()
        try pair.pump()
        #expect(pair.aEvents.messages == [[9, 9, 9]])
    }

    @Test("a peer whose key is not authorised is refused: no link, the connection closes")
    func unauthorisedKeyRefused() throws {
        let pair = try LinkPair(bAdmits: { _ in false })
        try pair.pump()
        #expect(pair.bEvents.established.isEmpty)
        #expect(!pair.b.isActive)
        #expect(pair.bLink.closeReason.map { if case .notAuthorised = $0 { true } else { false } } == true)
    }

    @Test("a peer of another network (different genesis hash) is refused")
    func wrongNetworkRefused() throws {
        let pair = try LinkPair(bNetwork: SHA256.hash([1]))
        try pair.pump()
        #expect(pair.aEvents.established.isEmpty && pair.bEvents.established.isEmpty)
        #expect(pair.bLink.closeReason == .wrongNetwork)
    }

    @Test("a peer presenting this node's own key is refused")
    func selfConnectionRefused() throws {
        let key = Ed25519.SigningKey.generate()
        let pair = try LinkPair(aKey: key, bKey: key)
        try pair.pump()
        #expect(pair.bLink.closeReason == .selfConnection)
    }

    @Test("a signature made for another transcript fails: the handshake binds both ephemeral keys")
    func forgedAuthRefused() throws {
        // Flip one bit of A's hello (its ephemeral key): B derives other keys, so A's sealed auth fails to open.
        let pair = try LinkPair()
        var frames = 0
        try pair.pump(tamperAtoB: { buffer in
            frames += 1
            if frames == 1 { buffer.setInteger(buffer.getInteger(at: buffer.readerIndex + 4 + 70, as: UInt8.self)! ^ 1, at: buffer.readerIndex + 4 + 70) }
        })
        #expect(pair.bEvents.established.isEmpty)
        #expect(pair.bLink.closeReason == .authenticationFailed)
    }

    @Test("an altered sealed frame closes the link")
    func tamperedFrameCloses() throws {
        let pair = try LinkPair()
        try pair.pump()
        try pair.a.writeAndFlush(pair.a.allocator.buffer(bytes: [1, 2, 3])).wait()
        try pair.pump(tamperAtoB: { buffer in buffer.setInteger(buffer.getInteger(at: buffer.readerIndex + 5, as: UInt8.self)! ^ 0x80, at: buffer.readerIndex + 5) })
        #expect(pair.bEvents.messages.isEmpty)
        #expect(pair.bLink.closeReason == .authenticationFailed)
        #expect(!pair.b.isActive)
    }

    @Test("a replayed sealed frame closes the link (the nonce is a counter)")
    func replayedFrameCloses() throws {
        let pair = try LinkPair()
        try pair.pump()
        try pair.a.writeAndFlush(pair.a.allocator.buffer(bytes: [7])).wait()
        let frames = try pair.pump()
        #expect(pair.bEvents.messages == [[7]])
        _ = try? pair.b.writeInbound(frames[0])
        #expect(pair.bEvents.messages == [[7]])
        #expect(pair.bLink.closeReason == .authenticationFailed)
    }

    @Test("an oversized length prefix closes the link before the frame is buffered")
    func oversizedFrameCloses() throws {
        let pair = try LinkPair()
        try pair.pump()
        var buffer = pair.b.allocator.buffer(capacity: 8)
        buffer.writeInteger(UInt32(NetworkLimits.frameBytesMax + 1))
        buffer.writeBytes([0, 0, 0, 0])
        _ = try? pair.b.writeInbound(buffer)
        #expect(!pair.b.isActive)
        #expect(pair.bLink.closeReason == .frameTooLarge(NetworkLimits.frameBytesMax + 1))
    }

    @Test("before the handshake completes, a frame longer than a handshake message closes the link unread; after it, frames up to the full maximum pass")
    func handshakeFrameLimit() throws {
        let early = try LinkPair()
        var buffer = early.b.allocator.buffer(capacity: 8)
        buffer.writeInteger(UInt32(NetworkLimits.handshakeFrameBytesMax + 1))
        _ = try? early.b.writeInbound(buffer)
        #expect(!early.b.isActive)
        #expect(early.bLink.closeReason == .frameTooLarge(NetworkLimits.handshakeFrameBytesMax + 1))

        let established = try LinkPair()
        try established.pump()
        let large = [UInt8](repeating: 9, count: 1 << 20)
        try established.a.writeAndFlush(established.a.allocator.buffer(bytes: large)).wait()
        try established.pump()
        #expect(established.b.isActive && established.bEvents.messages == [large])
    }

    @Test("a malformed hello closes the link")
    func malformedHelloCloses() throws {
        let pair = try LinkPair()
        var buffer = pair.b.allocator.buffer(capacity: 8)
        buffer.writeInteger(UInt32(3))
        buffer.writeBytes([1, 2, 3])
        _ = try? pair.b.writeInbound(buffer)
        #expect(!pair.b.isActive)
        #expect(pair.bLink.closeReason == .malformedHello("3 bytes, expected 97"))
    }

    @Test("writes before the link is established fail instead of leaving in the clear")
    func noPlaintextBeforeEstablished() throws {
        let pair = try LinkPair()
        _ = try pair.a.readOutbound(as: ByteBuffer.self)   // the hello
        #expect(throws: LinkError.notEstablished) { try pair.a.writeAndFlush(pair.a.allocator.buffer(bytes: [1])).wait() }
        #expect(try pair.a.readOutbound(as: ByteBuffer.self) == nil)
    }
}

@Suite("Peer messages")
struct PeerMessageTests {
    @Test("every message kind round-trips; trailing bytes and unknown tags are refused")
    func roundTrip() throws {
        let root = SHA256.hash([1]), key = SHA256.hash([2])
        let messages: [PeerMessage] = [
            .status(height: 7), .blocksRequest(from: 3, count: 64), .transactions([]), .blocks([]),
            .snapshotsRequest, .snapshots([SnapshotOffer(height: 1_000, stateRoot: root, depth: 8)]), .snapshotTopRequest(height: 1_000),
            .snapshotTop(height: 1_000, summaries: [.empty, .leaf(root), .branch(key), .empty]), .snapshotTop(height: 5, summaries: []),
            .chunkRequest(height: 1_000, index: 255), .chunk(height: 1_000, index: 255, entries: [StateEntry(key: key, value: [1, 2])]),
            .chunk(height: 1_000, index: 1, entries: nil),
        ]
        for message in messages {
            #expect(try PeerMessage(encoded: message.encoded) == message)
            #expect(throws: DecodeError.self) { try PeerMessage(encoded: message.encoded + [0]) }
        }
        #expect(throws: DecodeError.unknownTag(field: "peer message", tag: 99)) { try PeerMessage(encoded: [99]) }
    }

    @Test("state sync's messages refuse what is out of range: a chunk depth over 16, height 0, an unknown summary, a value over 1 MiB")
    func stateSyncRanges() throws {
        let root = SHA256.hash([1])
        for (height, depth) in [(UInt64(1_000), UInt8(17)), (0, 8)] {
            var bytes = PeerMessage.snapshots([SnapshotOffer(height: 1, stateRoot: root, depth: 1)]).encoded
            bytes.replaceSubrange(5..<13, with: withUnsafeBytes(of: height.littleEndian) { Array($0) })
            bytes[bytes.count - 1] = depth
            #expect(throws: DecodeError.self) { try PeerMessage(encoded: bytes) }
        }
        var summary = PeerMessage.snapshotTop(height: 1, summaries: [.empty]).encoded
        summary[summary.count - 1] = 3
        #expect(throws: DecodeError.unknownTag(field: "summary", tag: 3)) { try PeerMessage(encoded: summary) }
        let large = PeerMessage.chunk(height: 1, index: 0, entries: [StateEntry(key: root, value: [UInt8](repeating: 0, count: StateSyncLimits.valueBytesMax + 1))])
        #expect(throws: DecodeError.self) { try PeerMessage(encoded: large.encoded) }
    }

    @Test("peer addresses parse as KEY@HOST:PORT and refuse anything else")
    func addresses() {
        let key = Ed25519.SigningKey.generate().publicKey
        #expect(PeerAddress("\(key.hex)@127.0.0.1:26601") == PeerAddress(key: key, host: "127.0.0.1", port: 26601))
        for bad in ["", "\(key.hex)", "\(key.hex)@127.0.0.1", "\(key.hex)@:1", "zz@127.0.0.1:1", "\(key.hex)@h:0", "\(key.hex)@h:70000"] {
            #expect(PeerAddress(bad) == nil, "\(bad)")
        }
    }
}
