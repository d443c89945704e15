@testable import TonleStore

/// Raw writes to a RocksStore's `state/` database, to damage it on purpose in tests.
enum RocksStoreTestAccess {
    /// Puts `value` at `key` in the state values of the (closed) store in `path`, behind its tree's back.
    static func putStateValue(_ path: String, key: [UInt8], value: [UInt8]) throws {
        let database = try RocksDatabase(path: path + "/state", families: RocksStore.Keyed.names, cacheBytes: 1 << 20, createIfMissing: false)
        let batch = database.batch()
        batch.put(RocksStore.Keyed.state.rawValue, key, value)
        try database.write(batch, sync: true)
    }
}
