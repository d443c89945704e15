// Test helper for the crash test (Tests/TonleStoreTests/CrashTests.swift): applies workload
// blocks to a store and reports each commit, until it is killed or reaches the last block.
//
//     tonle-crash-child sqlite|rocksdb DATABASE SEED ACCOUNTS BLOCKS TRANSFERS_PER_BLOCK MERGE_ENTRIES_MAX
import Foundation
import TonleStorage
import TonleStore
import TonleWorkload

/// One line on standard output, written at once (unbuffered), so a kill never loses a reported commit.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = CommandLine.arguments
guard arguments.count == 8, ["sqlite", "rocksdb"].contains(arguments[1]), let seed = UInt64(arguments[3]), let accounts = Int(arguments[4]),
      let blocks = UInt64(arguments[5]), let transfers = Int(arguments[6]), let mergeEntriesMax = Int(arguments[7]) else {
    FileHandle.standardError.write(Data("usage: tonle-crash-child sqlite|rocksdb DATABASE SEED ACCOUNTS BLOCKS TRANSFERS_PER_BLOCK MERGE_ENTRIES_MAX\n".utf8))
    exit(64)
}
do {
    let store: any LedgerStore
    if arguments[1] == "sqlite" {
        var options = SQLiteStore.Options()
        options.mergeEntriesMax = mergeEntriesMax
        store = try SQLiteStore(path: arguments[2], options: options)
    } else {
        var options = RocksStore.Options()
        options.mergeEntriesMax = mergeEntriesMax
        store = try RocksStore(path: arguments[2], options: options)
    }
    let workload = Workload(seed: seed, accounts: accounts)
    try workload.initialise(store)
    say("ready \(store.appliedHeight!)")
    while store.appliedHeight! < blocks {
        try workload.applyNext(to: store, transfers: transfers)
        say("applied \(store.appliedHeight!)")
    }
    say("done")
} catch {
    FileHandle.standardError.write(Data("tonle-crash-child: \(error)\n".utf8))
    exit(1)
}
