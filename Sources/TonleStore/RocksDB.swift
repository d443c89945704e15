import CRocksDB
import Foundation
import TonleStorage

/// One RocksDB database with named column families (docs/storage.md). RocksDB is safe to call from
/// several threads, and this class changes nothing after `init`: the store and its merger share it.
/// Every call into RocksDB's C API lives in this file.
final class RocksDatabase: @unchecked Sendable {
    private let handle: OpaquePointer
    private let options: OpaquePointer
    private let tableOptions: OpaquePointer
    private let cache: OpaquePointer
    private let families: [OpaquePointer]
    private let readOptions: OpaquePointer
    private let syncedWrite: OpaquePointer
    let path: String

    /// Opens (creating if needed, unless `createIfMissing` is false) the database in directory `path` with column families
    /// `families` (besides RocksDB's own `default`), and a block cache of `cacheBytes`. `readOnly`
    /// opens an existing database without writing a byte into its directory (a snapshot being served).
    init(path: String, families names: [String], cacheBytes: Int, createIfMissing: Bool = true, readOnly: Bool = false) throws(StoreError) {
        let options = rocksdb_options_create()!
        rocksdb_options_set_create_if_missing(options, createIfMissing ? 1 : 0)
        rocksdb_options_set_create_missing_column_families(options, createIfMissing ? 1 : 0)
        rocksdb_options_increase_parallelism(options, 2)
        rocksdb_options_set_max_background_jobs(options, 2)
        rocksdb_options_set_write_buffer_size(options, 64 << 20)
        // After a crash, recover every write up to the last one that is whole (synced writes always are).
        rocksdb_options_set_wal_recovery_mode(options, 2)
        // RocksDB's own diagnostic log (`LOG` in the directory): a few files of bounded size.
        rocksdb_options_set_keep_log_file_num(options, 4)
        rocksdb_options_set_max_log_file_size(options, 16 << 20)
        let tableOptions = rocksdb_block_based_options_create()!
        rocksdb_block_based_options_set_filter_policy(tableOptions, rocksdb_filterpolicy_create_bloom(10))
        let cache = rocksdb_cache_create_lru(max(cacheBytes, 1 << 20))!
        rocksdb_block_based_options_set_block_cache(tableOptions, cache)
        rocksdb_options_set_block_based_table_factory(options, tableOptions)
        let all = ["default"] + names
        var handles = [OpaquePointer?](repeating: nil, count: all.count)
        var error: UnsafeMutablePointer<CChar>?
        let cNames = all.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        let namePointers = cNames.map { UnsafePointer($0) }
        let familyOptions = [OpaquePointer?](repeating: options, count: all.count)
        let opened = readOnly
            ? rocksdb_open_for_read_only_column_families(options, path, Int32(all.count), namePointers, familyOptions, &handles, 0, &error)
            : rocksdb_open_column_families(options, path, Int32(all.count), namePointers, familyOptions, &handles, &error)
        guard let opened, error == nil else {
            let message = Self.take(error) ?? "unknown error"
            rocksdb_block_based_options_destroy(tableOptions)
            rocksdb_cache_destroy(cache)
            rocksdb_options_destroy(options)
            throw .io("cannot open \(path): \(message)")
        }
        (self.path, self.options, self.tableOptions, self.cache, handle) = (path, options, tableOptions, cache, opened)
        if let defaultFamily = handles[0] { rocksdb_column_family_handle_destroy(defaultFamily) }
        families = handles.dropFirst().map { $0! }
        readOptions = rocksdb_readoptions_create()
        syncedWrite = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncedWrite, 1)
    }

    /// Set by `close`: the database is closed and its lock released.
    private var closed = false

    /// Closes the database now rather than when the last reference goes (a merger or snapshot
    /// thread may still hold one for a moment after its last call): the owner calls it once
    /// every other user is done, so the directory can be opened again at once. Nothing may be
    /// called afterwards.
    func close() {
        guard !closed else { return }
        closed = true
        families.forEach { rocksdb_column_family_handle_destroy($0) }
        rocksdb_close(handle)
    }

    deinit {
        close()
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(syncedWrite)
        rocksdb_block_based_options_destroy(tableOptions)
        rocksdb_cache_destroy(cache)
        rocksdb_options_destroy(options)
    }

    /// The value of `key` in column family `family` (its index in the names given to `init`).
    func get(_ family: Int, _ key: [UInt8]) throws(StoreError) -> [UInt8]? {
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let value = key.withUnsafeBufferPointer { key in
            key.withMemoryRebound(to: CChar.self) { key in
                rocksdb_get_cf(handle, readOptions, families[family], key.baseAddress, key.count, &length, &error)
            }
        }
        if let message = Self.take(error) { throw .io("reading \(path): \(message)") }
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    /// Applies `batch` atomically; with `sync`, durable when this returns. Without `logged`, the
    /// write skips RocksDB's write-ahead log (a bulk import, which flushes before it counts).
    func write(_ batch: RocksBatch, sync: Bool, logged: Bool = true) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        let options = sync ? syncedWrite : rocksdb_writeoptions_create()
        defer { if !sync { rocksdb_writeoptions_destroy(options) } }
        if !logged, !sync { rocksdb_writeoptions_disable_WAL(options, 1) }
        rocksdb_write(handle, options, batch.handle, &error)
        if let message = Self.take(error) { throw .io("writing \(path): \(message)") }
    }

    func batch() -> RocksBatch { RocksBatch(families: families) }

    /// Visits the entries of `family` from the greatest key ≤ `start` downwards (all keys when
    /// `start` is nil, from the greatest), while `body` returns true.
    func scanBackwards(_ family: Int, from start: [UInt8]?, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) throws(StoreError) {
        try scan(family, backwards: true, from: start, body)
    }

    /// Visits the entries of `family` from the least key ≥ `start` upwards (all keys when nil).
    func scanForwards(_ family: Int, from start: [UInt8]?, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) throws(StoreError) {
        try scan(family, backwards: false, from: start, body)
    }

    private func scan(_ family: Int, backwards: Bool, from start: [UInt8]?, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) throws(StoreError) {
        let iterator = rocksdb_create_iterator_cf(handle, readOptions, families[family])!
        defer { rocksdb_iter_destroy(iterator) }
        switch (start, backwards) {
        case (nil, true): rocksdb_iter_seek_to_last(iterator)
        case (nil, false): rocksdb_iter_seek_to_first(iterator)
        case (let start?, true): start.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek_for_prev(iterator, $0.baseAddress, $0.count) } }
        case (let start?, false): start.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) } }
        }
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0, valueLength = 0
            let key = UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength)
            let value = UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength)
            guard body(key, value) else { break }
            if backwards { rocksdb_iter_prev(iterator) } else { rocksdb_iter_next(iterator) }
        }
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_iter_get_error(iterator, &error)
        if let message = Self.take(error) { throw .io("reading \(path): \(message)") }
    }

    /// Writes every column family's memory tables to files and waits (a checkpoint of the log).
    func flush() throws(StoreError) {
        let options = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(options) }
        rocksdb_flushoptions_set_wait(options, 1)
        for family in families {
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_flush_cf(handle, options, family, &error)
            if let message = Self.take(error) { throw .io("flushing \(path): \(message)") }
        }
    }

    /// A consistent copy of the database in the new directory `directory` (RocksDB's checkpoint:
    /// files hard-linked where the file system allows, the write-ahead log copied). Memory tables
    /// are written to files first only when the log holds `flushAbove` bytes or more; below that
    /// the copied log carries them (every write here goes through the log).
    func checkpoint(to directory: String, flushAbove: UInt64) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        guard let checkpoint = rocksdb_checkpoint_object_create(handle, &error) else {
            throw .io("checkpoint of \(path): \(Self.take(error) ?? "unknown error")")
        }
        defer { rocksdb_checkpoint_object_destroy(checkpoint) }
        rocksdb_checkpoint_create(checkpoint, directory, flushAbove, &error)
        if let message = Self.take(error) { throw .io("checkpoint of \(path) to \(directory): \(message)") }
    }

    /// Bytes of table files (SST) of column family `family` (RocksDB's estimate: memory tables and
    /// the write-ahead log are not counted).
    func fileBytes(_ family: Int) -> UInt64 {
        var bytes: UInt64 = 0
        return rocksdb_property_int_cf(handle, families[family], "rocksdb.total-sst-files-size", &bytes) == 0 ? bytes : 0
    }

    /// Compacts every column family completely (old versions and deleted keys leave the files).
    func compact() {
        for family in families { rocksdb_compact_range_cf(handle, family, nil, 0, nil, 0) }
    }

    /// A RocksDB error message, freed.
    private static func take(_ error: UnsafeMutablePointer<CChar>?) -> String? {
        guard let error else { return nil }
        defer { rocksdb_free(error) }
        return String(cString: error)
    }
}

/// Writes applied together by `RocksDatabase.write`.
final class RocksBatch {
    fileprivate let handle: OpaquePointer
    private let families: [OpaquePointer]

    fileprivate init(families: [OpaquePointer]) { (handle, self.families) = (rocksdb_writebatch_create(), families) }
    deinit { rocksdb_writebatch_destroy(handle) }

    func put(_ family: Int, _ key: [UInt8], _ value: [UInt8]) {
        Self.withBytes(key, value) { rocksdb_writebatch_put_cf(handle, families[family], $0, $1, $2, $3) }
    }

    func delete(_ family: Int, _ key: [UInt8]) {
        key.withUnsafeBufferPointer { key in
            key.withMemoryRebound(to: CChar.self) { rocksdb_writebatch_delete_cf(handle, families[family], $0.baseAddress, $0.count) }
        }
    }

    /// Deletes every key in `[start, end)`.
    func deleteRange(_ family: Int, _ start: [UInt8], _ end: [UInt8]) {
        Self.withBytes(start, end) { rocksdb_writebatch_delete_range_cf(handle, families[family], $0, $1, $2, $3) }
    }

    /// `a` and `b` as the C API takes two byte strings: each a pointer and a length.
    private static func withBytes(_ a: [UInt8], _ b: [UInt8], _ body: (UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int) -> Void) {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                a.withMemoryRebound(to: CChar.self) { a in
                    b.withMemoryRebound(to: CChar.self) { b in body(a.baseAddress, a.count, b.baseAddress, b.count) }
                }
            }
        }
    }
}
