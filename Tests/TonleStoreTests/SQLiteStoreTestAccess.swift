import CSQLite

/// Raw SQL on a database file, to damage it on purpose in tests.
enum SQLiteStoreTestAccess {
    static func execute(_ path: String, _ sql: String) throws -> Bool {
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK else { return false }
        defer { sqlite3_close(handle) }
        return sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK
    }
}
