import COpenSSL
import CSodium

/// The C libraries called directly, with no Swift wrapper in between: the yardstick that
/// `tonle bench crypto` holds the wrappers against. Not for production use.
/// Each loop returns a value derived from every result so the work cannot be optimised away.
public enum CryptoBaseline {
    /// `EVP_Digest` once per input, with the algorithm fetched once.
    public static func sha256OneShot(_ input: [UInt8], iterations: Int) -> UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        var fold: UInt8 = 0
        let md = EVPSHA256.shared.md
        input.withUnsafeBytes { data in
            for _ in 0..<iterations {
                _ = EVP_Digest(data.baseAddress, data.count, &out, nil, md, nil)
                fold ^= out[0]
            }
        }
        return fold
    }

    /// One `EVP_MD_CTX` reused: init, update, final per input.
    public static func sha256ReusedContext(_ input: [UInt8], iterations: Int) -> UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        var fold: UInt8 = 0
        let md = EVPSHA256.shared.md
        let context = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(context) }
        input.withUnsafeBytes { data in
            for _ in 0..<iterations {
                _ = EVP_DigestInit_ex2(context, md, nil)
                _ = EVP_DigestUpdate(context, data.baseAddress, data.count)
                _ = EVP_DigestFinal_ex(context, &out, nil)
                fold ^= out[0]
            }
        }
        return fold
    }

    /// `crypto_sign_detached` with a key made from `seed`.
    public static func ed25519Sign(seed: [UInt8], message: [UInt8], iterations: Int) -> UInt8 {
        Sodium.ensureReady()
        var publicKey = [UInt8](repeating: 0, count: 32)
        var secretKey = [UInt8](repeating: 0, count: 64)
        var signature = [UInt8](repeating: 0, count: 64)
        crypto_sign_seed_keypair(&publicKey, &secretKey, seed)
        var fold: UInt8 = 0
        for _ in 0..<iterations {
            crypto_sign_detached(&signature, nil, message, UInt64(message.count), secretKey)
            fold ^= signature[0]
        }
        return fold
    }

    /// `crypto_sign_verify_detached`; returns how many verified.
    public static func ed25519Verify(publicKey: [UInt8], signature: [UInt8], message: [UInt8], iterations: Int) -> Int {
        Sodium.ensureReady()
        var valid = 0
        for _ in 0..<iterations where crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0 {
            valid += 1
        }
        return valid
    }
}
