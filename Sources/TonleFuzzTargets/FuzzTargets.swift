import Foundation
import KHQR
import NIOCore
import NIOEmbedded
import TonleConsensus
import TonleCrypto
import TonleNetwork
import TonleRPC
import TonleTypes

/// The fuzz targets: each reads bytes from outside exactly as the node (or the CLI) does, and
/// checks what must hold of any input — no trap, no sanitizer report, and a decoded value
/// re-encodes to the very bytes it came from (one value, one encoding). libFuzzer runs them
/// through `tonle-fuzz` (deploy/fuzz.sh); `TonleFuzzTargetsTests` runs each over its committed
/// corpus in every test run, so an input that once failed stays a regression test.
public enum FuzzTargets {
    /// Every target by name, in the order `tonle-fuzz` lists them.
    public static let all: [(name: String, run: @Sendable ([UInt8]) -> Void)] = [
        ("transaction", transaction), ("block", block), ("vote", vote), ("peer-message", peerMessage),
        ("frame-handshake", frameHandshake), ("khqr", khqr), ("rpc-body", rpcBody), ("key-file", keyFile),
    ]

    public static func target(_ name: String) -> (@Sendable ([UInt8]) -> Void)? { all.first { $0.name == name }?.run }

    /// A signed transaction's canonical bytes, as a submission or gossip carries them; a decoded
    /// one has its id and signatures checked, as admission does.
    static func transaction(_ bytes: [UInt8]) {
        guard let transaction = roundTrip(Transaction.self, bytes) else { return }
        _ = transaction.id
        _ = transaction.hasValidSignatures
    }

    /// A block, as a proposal or block sync carries it.
    static func block(_ bytes: [UInt8]) {
        guard let block = roundTrip(Block.self, bytes) else { return }
        _ = block.hash
    }

    /// The consensus values a peer sends: votes, proposals, commit certificates, validator sets
    /// (each kind decodes only bytes of its own kind).
    static func vote(_ bytes: [UInt8]) {
        if let vote = roundTrip(Vote.self, bytes) { _ = vote.signatureCheck.isValid }
        if let proposal = roundTrip(Proposal.self, bytes) { _ = proposal.signatureCheck.isValid }
        _ = roundTrip(CommitCertificate.self, bytes)
        _ = roundTrip(ValidatorSet.self, bytes)
    }

    /// What an established peer link delivers: one message per sealed frame.
    static func peerMessage(_ bytes: [UInt8]) {
        guard let message = try? PeerMessage(encoded: bytes) else { return }
        precondition(message.encoded == bytes, "a peer message decoded from bytes that are not its encoding")
    }

    /// A stranger's bytes on the peer port: the frame decoder, then the handshake, as the node's
    /// pipeline has them. The first byte picks the role and how the rest is cut into reads; the
    /// seed corpus has hellos of the fuzzing identity's network, so mutations get past the first check.
    static func frameHandshake(_ bytes: [UInt8]) {
        guard let control = bytes.first else { return }
        let limit = FrameLimit()
        let link = SecureLinkHandler(identity: fuzzIdentity, initiator: control & 1 == 1, frameLimit: limit, handshakeTimeout: .seconds(60))
        let channel = EmbeddedChannel(handlers: [ByteToMessageHandler(FrameDecoder(limit: limit)), MessageToByteHandler(FrameEncoder()), link])
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }  // tears the pipeline down even when the link closed itself
        guard (try? channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()) != nil else { return }
        let chunk = Int(control >> 1) + 1
        var offset = 1
        while offset < bytes.count, channel.isActive {
            let end = min(bytes.count, offset + chunk)
            _ = try? channel.writeInbound(channel.allocator.buffer(bytes: bytes[offset..<end]))
            offset = end
        }
        while (try? channel.readOutbound(as: ByteBuffer.self)) ?? nil != nil {}
        while (try? channel.readInbound(as: ByteBuffer.self)) ?? nil != nil {}
    }

    /// A KHQR payload (a QR code a customer scans, or one inside a settlement entry). A decoded
    /// code encodes again, and that encoding decodes to the same code.
    static func khqr(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self), let code = try? KHQR.decode(text, nowMilliseconds: 1_795_000_000_000) else { return }
        guard let encoded = try? code.encode() else { return }
        let again = try? KHQR.decode(encoded, nowMilliseconds: 1_795_000_000_000)
        precondition(again == code, "a decoded KHQR re-encodes to a payload that decodes differently")
    }

    /// The body of `POST /v1/transactions` and `/batch`, through the same functions the routes call.
    static func rpcBody(_ bytes: [UInt8]) {
        let buffer = ByteBuffer(bytes: bytes)
        _ = try? SubmissionBody.single(buffer)
        _ = try? SubmissionBody.batch(buffer, transactionsMax: 4_096)
    }

    /// A key file a user hands the CLI or the node.
    static func keyFile(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self), let key = try? KeyFile.decode(text) else { return }
        _ = key.publicKey
    }

    /// `bytes` as an `M`, if they are one; a decoded value must re-encode to exactly `bytes`.
    static func roundTrip<M: CanonicalMessage>(_: M.Type, _ bytes: [UInt8]) -> M? {
        guard let value = try? M(canonical: bytes) else { return nil }
        precondition(value.encoded == bytes, "\(M.self) decoded from bytes that are not its canonical encoding")
        return value
    }

    /// The node whose peer port `frame-handshake` plays: a fixed key and network, authorising everyone.
    public static let fuzzIdentity = LinkIdentity(
        key: Ed25519.SigningKey(seed: Bytes32([UInt8](repeating: 7, count: 32))!), networkID: SHA256.hash(Array("tonle fuzz network".utf8)), authorise: { _ in true })
}

// MARK: The C entry points of tonle-fuzz (Sources/tonle-fuzz/main.c)

nonisolated(unsafe) private var selectedTarget: (@Sendable ([UInt8]) -> Void)?

@_cdecl("tonle_fuzz_select")
public func tonleFuzzSelect(_ name: UnsafePointer<CChar>) -> Int32 {
    selectedTarget = FuzzTargets.target(String(cString: name))
    return selectedTarget == nil ? 1 : 0
}

@_cdecl("tonle_fuzz_one_input")
public func tonleFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget?(bytes)
    return 0
}

@_cdecl("tonle_fuzz_list")
public func tonleFuzzList() {
    print(FuzzTargets.all.map(\.name).joined(separator: " "))
}
