import CSodium

/// The cryptography of a peer link (docs/network.md): an ephemeral X25519 key exchange
/// (libsodium's `crypto_kx`, which derives one key per direction with BLAKE2b) and
/// ChaCha20-Poly1305 (IETF) sealing with a per-direction 64-bit counter as the nonce.
public enum KeyExchange {
    /// One side's ephemeral X25519 key pair; used for one handshake and then dropped.
    public struct EphemeralKey: Sendable {
        public let publicKey: Bytes32
        private let secret: SecretBytes

        /// A fresh key pair from the operating system's random source.
        public init() {
            Sodium.ensureReady()
            let secret = SecretBytes(count: Int(crypto_kx_SECRETKEYBYTES))
            var publicKey = Bytes32.zero
            let status = publicKey.withUnsafeMutableBytes { pk in
                crypto_kx_keypair(pk.baseAddress!.assumingMemoryBound(to: UInt8.self), secret.pointer)
            }
            precondition(status == 0, "crypto_kx_keypair failed")
            (self.publicKey, self.secret) = (publicKey, secret)
        }

        /// The two directions' keys shared with the holder of `peer`, or nil when `peer` is a
        /// degenerate point (libsodium refuses it). The initiator of the link is the "client".
        public func sessionKeys(peer: Bytes32, initiator: Bool) -> SessionKeys? {
            let receive = SecretBytes(count: Int(crypto_kx_SESSIONKEYBYTES))
            let transmit = SecretBytes(count: Int(crypto_kx_SESSIONKEYBYTES))
            let status = publicKey.withUnsafeBytes { mine in
                peer.withUnsafeBytes { theirs in
                    let pk = mine.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    let other = theirs.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    return initiator
                        ? crypto_kx_client_session_keys(receive.pointer, transmit.pointer, pk, secret.pointer, other)
                        : crypto_kx_server_session_keys(receive.pointer, transmit.pointer, pk, secret.pointer, other)
                }
            }
            guard status == 0 else { return nil }
            return SessionKeys(receive: receive, transmit: transmit)
        }
    }

    /// The keys of one link: what this side seals with and what it opens with.
    public struct SessionKeys: Sendable {
        fileprivate let receive: SecretBytes
        fileprivate let transmit: SecretBytes

        /// A sealer for outgoing frames and an opener for incoming ones.
        public func channel() -> (sealer: AEADSealer, opener: AEADOpener) {
            (AEADSealer(key: transmit), AEADOpener(key: receive))
        }
    }
}

/// Why a sealed frame cannot be opened or sealed.
public enum AEADError: Error, Equatable, Sendable {
    /// The tag does not match: the frame was altered, replayed, reordered or sealed with another key.
    case authenticationFailed
    /// 2^64 frames on one link: the link must be re-established.
    case nonceExhausted
    /// Shorter than a tag.
    case truncated
}

/// Seals one direction's frames. The nonce is the count of frames sealed before (little-endian,
/// in the 12-byte IETF nonce), so it never repeats under one key.
public struct AEADSealer: Sendable {
    public static let tagBytes = Int(crypto_aead_chacha20poly1305_ietf_ABYTES)
    private let key: SecretBytes
    public private(set) var counter: UInt64 = 0

    fileprivate init(key: SecretBytes) { self.key = key }

    /// `plaintext` encrypted, followed by its 16-byte tag.
    public mutating func seal(_ plaintext: [UInt8]) throws(AEADError) -> [UInt8] {
        guard counter != .max else { throw .nonceExhausted }
        var nonce = AEADNonce(counter)
        counter += 1
        var out = [UInt8](repeating: 0, count: plaintext.count + Self.tagBytes)
        var written: UInt64 = 0
        let status = out.withUnsafeMutableBufferPointer { o in
            plaintext.withUnsafeBufferPointer { p in
                nonce.withPointer { n in
                    crypto_aead_chacha20poly1305_ietf_encrypt(
                        o.baseAddress!, &written, p.baseAddress, UInt64(p.count), nil, 0, nil, n, key.pointer)
                }
            }
        }
        precondition(status == 0 && written == UInt64(out.count), "crypto_aead_chacha20poly1305_ietf_encrypt failed")
        return out
    }
}

/// Opens one direction's frames, expecting the sealer's counter in order.
public struct AEADOpener: Sendable {
    private let key: SecretBytes
    public private(set) var counter: UInt64 = 0

    fileprivate init(key: SecretBytes) { self.key = key }

    /// The plaintext of the next frame; throws if it was not the next frame sealed by the peer.
    public mutating func open(_ sealed: [UInt8]) throws(AEADError) -> [UInt8] {
        guard sealed.count >= AEADSealer.tagBytes else { throw .truncated }
        guard counter != .max else { throw .nonceExhausted }
        var nonce = AEADNonce(counter)
        var out = [UInt8](repeating: 0, count: sealed.count - AEADSealer.tagBytes)
        var written: UInt64 = 0
        let status = out.withUnsafeMutableBufferPointer { o in
            sealed.withUnsafeBufferPointer { s in
                nonce.withPointer { n in
                    crypto_aead_chacha20poly1305_ietf_decrypt(
                        o.baseAddress, &written, nil, s.baseAddress!, UInt64(s.count), nil, 0, n, key.pointer)
                }
            }
        }
        guard status == 0 else { throw .authenticationFailed }
        counter += 1
        return out
    }
}

/// The 12-byte IETF nonce: a 64-bit little-endian counter, then four zero bytes.
private struct AEADNonce {
    var bytes: (UInt64, UInt32)

    init(_ counter: UInt64) { bytes = (counter.littleEndian, 0) }

    mutating func withPointer<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R {
        withUnsafeBytes(of: &bytes) { body($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }
}

/// Secret bytes on the heap, zeroed on release; written once at creation, then only read.
private final class SecretBytes: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>
    let count: Int

    init(count: Int) {
        (self.pointer, self.count) = (UnsafeMutablePointer<UInt8>.allocate(capacity: count), count)
        pointer.initialize(repeating: 0, count: count)
    }

    deinit {
        sodium_memzero(pointer, count)
        pointer.deallocate()
    }
}
