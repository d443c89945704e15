import Foundation
import Testing
import TonleStorage
import TonleStore

@Suite struct ConsensusLogTests {
    func path(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-wal-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name).path
    }

    @Test func recordsSurviveReopening() throws {
        let file = path("consensus.wal")
        do {
            let log = try FileConsensusLog(path: file)
            for n in 0..<20 { try log.append(Array(repeating: UInt8(n), count: n * 10)) }
        }
        let reopened = try FileConsensusLog(path: file)
        #expect(reopened.records() == (0..<20).map { Array(repeating: UInt8($0), count: $0 * 10) })
        try reopened.reset()
        #expect(try FileConsensusLog(path: file).records().isEmpty)
    }

    /// Appends are written at once (a process crash loses none) and synced together: one
    /// `fdatasync` for any number of appends, none when nothing is pending.
    @Test func appendsAreSyncedTogether() throws {
        let file = path("consensus.wal")
        let log = try FileConsensusLog(path: file)
        for n in 0..<5 { try log.append([UInt8(n)]) }
        #expect(try FileConsensusLog(path: file).records() == (0..<5).map { [UInt8($0)] }, "written before any sync")
        try log.sync()
        try log.sync()
        #expect(log.syncs == 1)
        try log.append([9])
        try log.sync()
        #expect(log.syncs == 2)
        try log.reset()
        try log.sync()
        #expect(log.syncs == 2, "nothing pending after a reset")
    }

    @Test(arguments: [1, 7, 12, 47])   // each record is 48 bytes: the cut stays inside the last one
    func aTornTailIsTruncated(cut: Int) throws {
        let file = path("consensus.wal")
        do {
            let log = try FileConsensusLog(path: file)
            for n in 0..<3 { try log.append(Array(repeating: UInt8(n), count: 40)) }
        }
        // The last record loses `cut` bytes, as if the machine died mid-write.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - UInt64(cut))
        try handle.close()
        let reopened = try FileConsensusLog(path: file)
        #expect(reopened.records().count == 2)
        try reopened.append([9, 9])
        #expect(try FileConsensusLog(path: file).records() == [Array(repeating: 0, count: 40), Array(repeating: 1, count: 40), [9, 9]])
    }

    @Test func damageInTheMiddleStopsWithAClearError() throws {
        let file = path("consensus.wal")
        do {
            let log = try FileConsensusLog(path: file)
            for n in 0..<3 { try log.append(Array(repeating: UInt8(n), count: 40)) }
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[20] ^= 0xff   // inside the first record's payload
        try bytes.write(to: URL(fileURLWithPath: file))
        #expect {
            _ = try FileConsensusLog(path: file)
        } throws: { error in
            guard case StoreError.corrupt(let message) = error else { return false }
            return message.contains("not the last")
        }
    }

    @Test func garbageAtTheTailIsATornTail() throws {
        let log = MemoryConsensusLog()
        try log.append([1, 2, 3])
        log.tearTail([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5])   // a header claiming a huge record
        #expect(log.records() == [[1, 2, 3]])
        try log.append([4])
        #expect(log.records() == [[1, 2, 3], [4]])
    }

    @Test func aCrashMidWriteLeavesHalfARecord() throws {
        let log = MemoryConsensusLog()
        log.appendsBeforeCrash = 1
        try log.append([1])
        #expect(throws: StoreError.self) { try log.append(Array(repeating: 2, count: 30)) }
        #expect(log.records() == [[1]])
    }

    @Test func signStateIsReplacedAtomicallyAndRead() throws {
        let file = path("sign-state")
        do {
            let state = try FileSignState(path: file)
            #expect(state.last == nil)
            try state.save(SignStateRecord(height: 5, round: 2, step: 3, signed: [1, 2, 3]))
            try state.save(SignStateRecord(height: 6, round: 0, step: 2, signed: [4]))
        }
        #expect(try FileSignState(path: file).last == SignStateRecord(height: 6, round: 0, step: 2, signed: [4]))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: StoreError.self) { try FileSignState(path: file) }
    }
}
