import CSodium

/// libsodium's one-time initialisation. `sodium_init` is itself thread-safe; the lazy global
/// makes sure it runs before the first call into the library.
enum Sodium {
    private static let ready: Bool = sodium_init() >= 0

    /// Call before any libsodium function; traps if the library cannot start (no entropy source).
    @inline(__always) static func ensureReady() {
        precondition(ready, "libsodium failed to initialise")
    }
}
