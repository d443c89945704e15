import CSodium

/// Ed25519 signatures (RFC 8032) through libsodium.
public enum Ed25519 {}

extension Ed25519 {
    /// A public key: 32 bytes inline. Sorted by its bytes wherever keys are listed canonically.
    public struct PublicKey: FixedBytes32 {
        public static let byteCount = 32
        public var raw: Bytes32

        /// The key's bytes. (Whether they are a valid curve point shows when a signature is
        /// verified against it: verification then fails.)
        public init(_ raw: Bytes32) { self.raw = raw }

        /// True when `signature` is this key's signature of `message`.
        /// libsodium rejects non-canonical signatures and small-order keys.
        public func isValidSignature(_ signature: Signature, for message: UnsafeRawBufferPointer) -> Bool {
            Sodium.ensureReady()
            return signature.withUnsafeBytes { sig in
                raw.withUnsafeBytes { key in
                    crypto_sign_verify_detached(
                        sig.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                        key.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
                }
            }
        }

        /// True when `signature` is this key's signature of `message`.
        public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
            message.withUnsafeBytes { isValidSignature(signature, for: $0) }
        }

    }

    /// A signature: 64 bytes inline (R then S).
    public struct Signature: Hashable, Sendable, CustomStringConvertible {
        public static let byteCount = 64
        var r: Bytes32
        var s: Bytes32

        /// The signature held in exactly 64 bytes; nil otherwise.
        public init?(_ bytes: some Collection<UInt8>) {
            guard bytes.count == Signature.byteCount,
                  let r = Bytes32(bytes.prefix(32)), let s = Bytes32(bytes.suffix(32))
            else { return nil }
            (self.r, self.s) = (r, s)
        }

        /// Parses exactly 128 hexadecimal digits.
        public init?(hex: some StringProtocol) {
            guard let bytes = Hex.decode(hex), let value = Signature(bytes) else { return nil }
            self = value
        }

        init(filling body: (UnsafeMutableRawBufferPointer) -> Void) {
            (r, s) = (.zero, .zero)
            Swift.withUnsafeMutableBytes(of: &self) { body($0) }
        }

        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try Swift.withUnsafeBytes(of: self) { try body($0) }
        }

        public var bytes: [UInt8] { r.bytes + s.bytes }
        public var hex: String { Hex.encode(bytes) }
        public var description: String { hex }
    }

    /// A signing (secret) key. Its secret half never appears in `description`, `debugDescription`,
    /// `dump` or string interpolation; the only way out is `KeyFile.encode`. The secret bytes live
    /// in one heap block that is zeroed when the last copy of the key goes away.
    public struct SigningKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        public let publicKey: PublicKey
        private let secret: SecretKeyBytes

        /// A new key from the operating system's random source.
        public static func generate() -> SigningKey {
            Sodium.ensureReady()
            var seed = Bytes32.zero
            seed.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
            defer { seed = .zero }
            return SigningKey(seed: seed)
        }

        /// The key whose RFC 8032 seed (the 32-byte "private key") is `seed`.
        public init(seed: Bytes32) {
            Sodium.ensureReady()
            let secret = SecretKeyBytes()
            var publicKey = Bytes32.zero
            let status = seed.withUnsafeBytes { seedBytes in
                publicKey.withUnsafeMutableBytes { pk in
                    crypto_sign_seed_keypair(
                        pk.baseAddress!.assumingMemoryBound(to: UInt8.self), secret.pointer,
                        seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            precondition(status == 0, "crypto_sign_seed_keypair failed")
            self.secret = secret
            self.publicKey = PublicKey(publicKey)
        }

        /// The 32-byte seed. Internal: only the key-file encoder may take it out.
        var seed: Bytes32 { Bytes32(UnsafeBufferPointer(start: secret.pointer, count: 32))! }

        /// Signs `message` (deterministic: the same key and message give the same signature).
        public func sign(_ message: UnsafeRawBufferPointer) -> Signature {
            Signature { out in
                let status = crypto_sign_detached(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), nil,
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                    secret.pointer)
                precondition(status == 0, "crypto_sign_detached failed")
            }
        }

        /// Signs `message`.
        public func sign(_ message: [UInt8]) -> Signature { message.withUnsafeBytes { sign($0) } }

        public var description: String { "SigningKey(public: \(publicKey.hex), secret: redacted)" }
        public var debugDescription: String { description }
        public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey]) }
    }
}

/// The 64-byte libsodium secret key (seed followed by public key), zeroed on release.
/// Written once in `SigningKey.init` and only read afterwards, so sharing it is safe.
private final class SecretKeyBytes: @unchecked Sendable {
    let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(crypto_sign_SECRETKEYBYTES))

    init() { pointer.initialize(repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES)) }

    deinit {
        sodium_memzero(pointer, Int(crypto_sign_SECRETKEYBYTES))
        pointer.deallocate()
    }
}
