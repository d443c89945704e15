import CSQLite
import TonleStorage

/// `SQLITE_TRANSIENT`: SQLite copies bound bytes before the call returns. (The C macro is a cast
/// Swift cannot import.)
let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection, used by one owner at a time.
final class SQLiteConnection {
    let handle: OpaquePointer

    init(path: String) throws(StoreError) {
        var handle: OpaquePointer?
        let status = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw .io("cannot open \(path): \(message)")
        }
        self.handle = handle
    }

    deinit { sqlite3_close_v2(handle) }

    func execute(_ sql: String) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &error) == SQLITE_OK else {
            let message = error.map { String(cString: $0) } ?? lastError
            sqlite3_free(error)
            throw .io("\(message) in: \(sql.prefix(80))")
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
            throw .io("\(lastError) preparing: \(sql.prefix(80))")
        }
        return SQLiteStatement(statement, connection: self)
    }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }
}

/// A prepared statement, reused: bind, step, and it resets itself for the next use.
final class SQLiteStatement {
    private let statement: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(_ statement: OpaquePointer, connection: SQLiteConnection) { (self.statement, self.connection) = (statement, connection) }
    deinit { sqlite3_finalize(statement) }

    /// Binds parameters 1, 2, … to `values`.
    @discardableResult
    func bind(_ values: SQLiteValue...) -> SQLiteStatement {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .int(let number): sqlite3_bind_int64(statement, index, number)
            case .text(let text): sqlite3_bind_text(statement, index, text, -1, transient)
            case .blob(let bytes): bytes.withUnsafeBytes { _ = sqlite3_bind_blob(statement, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), transient) }
            case .null: sqlite3_bind_null(statement, index)
            }
        }
        return self
    }

    /// Runs a statement that returns no rows.
    func run() throws(StoreError) {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw .io(connection.lastError) }
    }

    /// The rows, each read by `row` while it is current.
    func rows<T>(_ row: (SQLiteRow) -> T) throws(StoreError) -> [T] {
        defer { sqlite3_reset(statement) }
        var out: [T] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: out.append(row(SQLiteRow(statement: statement)))
            case SQLITE_DONE: return out
            default: throw .io(connection.lastError)
            }
        }
    }

    /// The first row, if any.
    func first<T>(_ row: (SQLiteRow) -> T) throws(StoreError) -> T? {
        defer { sqlite3_reset(statement) }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return row(SQLiteRow(statement: statement))
        case SQLITE_DONE: return nil
        default: throw .io(connection.lastError)
        }
    }
}

enum SQLiteValue {
    case int(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

/// The current row of a statement.
struct SQLiteRow {
    let statement: OpaquePointer

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
