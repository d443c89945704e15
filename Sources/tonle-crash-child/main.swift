// Test helper for the crash test (Tests/TonleStoreTests/CrashTests.swift): applies workload
// blocks to a SQLite store and reports each commit, until it is killed or reaches the last block.
//
//     tonle-crash-child DATABASE SEED ACCOUNTS BLOCKS TRANSFERS_PER_BLOCK MERGE_ENTRIES_MAX
import Foundation
import TonleStore
import TonleWorkload

/// One line on standard output, written at once (unbuffered), so a kill never loses a reported commit.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = CommandLine.arguments
guard arguments.count == 7, let seed = UInt64(arguments[2]), let accounts = Int(arguments[3]), let blocks = UInt64(arguments[4]),
      let transfers = Int(arguments[5]), let mergeEntriesMax = Int(arguments[6]) else {
    FileHandle.standardError.write(Data("usage: tonle-crash-child DATABASE SEED ACCOUNTS BLOCKS TRANSFERS_PER_BLOCK MERGE_ENTRIES_MAX\n".utf8))
    exit(64)
}
do {
    var options = SQLiteStore.Options()
    options.mergeEntriesMax = mergeEntriesMax
    let store = try SQLiteStore(path: arguments[1], options: options)
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
