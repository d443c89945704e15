import COpenSSL

/// A SHA-256 digest: 32 bytes inline, compared and sorted by its bytes.
public struct Digest: FixedBytes32 {
    public static let byteCount = 32
    /// All zero bytes: "no previous block", "empty tree".
    public static let zero = Digest(Bytes32.zero)

    public var raw: Bytes32

    public init(_ raw: Bytes32) { self.raw = raw }

    @inlinable public func hash(into hasher: inout Hasher) { raw.hash(into: &hasher) }
}

/// SHA-256 through OpenSSL libcrypto's EVP interface, with the algorithm fetched once per process.
public enum SHA256 {
    /// The hash of `bytes` in one call.
    public static func hash(_ bytes: [UInt8]) -> Digest { bytes.withUnsafeBytes { hash($0) } }

    /// The hash of `bytes` in one call.
    public static func hash(_ bytes: ArraySlice<UInt8>) -> Digest { bytes.withUnsafeBytes { hash($0) } }

    /// The hash of the bytes in `buffer` in one call.
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> Digest {
        Digest(Bytes32 { out in
            let status = EVP_Digest(
                buffer.baseAddress, buffer.count,
                out.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, EVPSHA256.shared.md, nil)
            precondition(status == 1, "EVP_Digest failed")
        })
    }
}

/// An incremental SHA-256 computation. `finalize()` returns the digest and starts afresh, so one
/// hasher serves many messages without allocating (the fast path for hashing many small inputs).
/// Not for sharing across threads: give each thread its own.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        self.context = context
        restart()
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds `buffer` to the message.
    public func update(_ buffer: UnsafeRawBufferPointer) {
        precondition(EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1, "EVP_DigestUpdate failed")
    }

    /// Adds `bytes` to the message.
    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Adds `bytes` to the message.
    public func update(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything added since the last `finalize()`; the hasher is then empty again.
    public func finalize() -> Digest {
        let digest = Digest(Bytes32 { out in
            let status = EVP_DigestFinal_ex(context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), nil)
            precondition(status == 1, "EVP_DigestFinal_ex failed")
        })
        restart()
        return digest
    }

    /// The digest of `buffer` alone (anything added before is discarded).
    public func hash(_ buffer: UnsafeRawBufferPointer) -> Digest {
        update(buffer)
        return finalize()
    }

    /// The digest of `bytes` alone.
    public func hash(_ bytes: [UInt8]) -> Digest { bytes.withUnsafeBytes { hash($0) } }

    private func restart() {
        precondition(EVP_DigestInit_ex2(context, EVPSHA256.shared.md, nil) == 1, "EVP_DigestInit_ex2 failed")
    }
}

/// The SHA-256 algorithm object, fetched once: fetching per call is what makes OpenSSL 3 slow
/// for small inputs. An `EVP_MD` is immutable after the fetch and safe to share across threads.
struct EVPSHA256: @unchecked Sendable {
    static let shared = EVPSHA256()
    let md: OpaquePointer

    private init() {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA256") }
        self.md = md
    }
}
