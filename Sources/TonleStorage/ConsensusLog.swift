/// The consensus write-ahead log: the inputs of the current height. The driver replays it after
/// a restart to rebuild the core exactly (docs/consensus.md). Records are durable once `sync`
/// returns: a crash may lose records appended since the last sync (the newest first, never one
/// before a lost one), so the driver syncs before anything it signs leaves the node.
public protocol ConsensusLog: AnyObject {
    /// Appends one record; durable after the next `sync`.
    func append(_ record: [UInt8]) throws(StoreError)
    /// Makes every record appended so far durable (nothing to do when none is pending).
    func sync() throws(StoreError)
    /// The records since the last reset, oldest first (a torn tail was dropped on open).
    func records() -> [[UInt8]]
    /// Empties the log (a new height begins).
    func reset() throws(StoreError)
}

/// The last message a validator signed, kept durable so it never signs a different message for
/// the same or an earlier height, round and step — not even after a crash.
public struct SignStateRecord: Hashable, Sendable {
    public let height: UInt64
    public let round: UInt32
    /// 1 propose, 2 prevote, 3 precommit.
    public let step: UInt8
    /// The signed message's bytes.
    public let signed: [UInt8]

    public init(height: UInt64, round: UInt32, step: UInt8, signed: [UInt8]) { (self.height, self.round, self.step, self.signed) = (height, round, step, signed) }

    /// (height, round, step) in the order signing must follow.
    public var slot: [UInt64] { [height, UInt64(round), UInt64(step)] }

    /// The record's bytes (as stored inside one framed record).
    public var payload: [UInt8] { LogFraming.le(height, 8) + LogFraming.le(UInt64(round), 4) + [step] + signed }

    public init?(framedPayload bytes: [UInt8]) {
        guard bytes.count >= 13 else { return nil }
        (height, round, step) = (LogFraming.read(bytes, 0, 8), UInt32(LogFraming.read(bytes, 8, 4)), bytes[12])
        signed = Array(bytes[13...])
    }
}

/// Where the sign-state lives.
public protocol SignStateStore: AnyObject {
    var last: SignStateRecord? { get }
    /// Replaces the record; durable when it returns.
    func save(_ record: SignStateRecord) throws(StoreError)
}

/// The log's bytes: records of `u32` length, `u32` CRC-32 of the payload (little-endian), payload.
/// Reading stops at a torn tail — a last record cut short or failing its checksum with nothing
/// after it — and reports it, so the caller can truncate; a bad record with more bytes after it
/// is corruption in the middle, which no crash explains.
public enum LogFraming {
    public static let recordBytesMax = 32 << 20

    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        precondition(payload.count <= recordBytesMax, "WAL record of \(payload.count) bytes")
        return le(UInt64(payload.count), 4) + le(UInt64(CRC32.checksum(payload)), 4) + payload
    }

    /// The records in `bytes`, and the length of the valid prefix (shorter than `bytes` when the
    /// tail is torn).
    public static func parse(_ bytes: [UInt8]) throws(StoreError) -> (records: [[UInt8]], validBytes: Int) {
        var records: [[UInt8]] = [], offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 8 else { break }   // torn header
            let length = Int(read(bytes, offset, 4)), checksum = UInt32(read(bytes, offset + 4, 4))
            let end = offset + 8 + length
            guard end <= bytes.count else { break }          // torn payload (whatever its header claims)
            guard length <= recordBytesMax else {
                throw .corrupt("WAL record at byte \(offset) claims \(length) bytes")
            }
            let payload = Array(bytes[offset + 8..<end])
            guard CRC32.checksum(payload) == checksum else {
                if end == bytes.count { break }              // torn last record
                throw .corrupt("WAL record at byte \(offset) fails its checksum and is not the last: the log is damaged")
            }
            records.append(payload)
            offset = end
        }
        return (records, offset)
    }

    static func le(_ value: UInt64, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    static func read(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
        (0..<count).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }
}

/// CRC-32 (IEEE 802.3, as in zlib), for WAL records.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(~UInt32(0)) { table[Int(($0 ^ UInt32($1)) & 0xff)] ^ ($0 >> 8) }
    }
}

/// A log in memory, framed like the file: for tests and the simulator, which can tear its tail
/// or make it crash at a chosen write.
public final class MemoryConsensusLog: ConsensusLog {
    public private(set) var bytes: [UInt8] = []
    /// When set, the append that brings this to zero writes half its record and throws: a crash mid-write.
    public var appendsBeforeCrash: Int?
    public private(set) var appends = 0
    /// Syncs that had records to make durable.
    public private(set) var syncs = 0
    /// The bytes a crash cannot lose.
    public private(set) var durable = 0

    public init() {}

    public func append(_ record: [UInt8]) throws(StoreError) {
        let framed = LogFraming.frame(record)
        if let remaining = appendsBeforeCrash {
            if remaining == 0 {
                bytes += framed.prefix(framed.count / 2)
                throw .io("simulated crash while writing the WAL")
            }
            appendsBeforeCrash = remaining - 1
        }
        bytes += framed
        appends += 1
    }

    /// Reopening after a crash: the torn tail is dropped.
    public func records() -> [[UInt8]] {
        do {
            let (records, valid) = try LogFraming.parse(bytes)
            bytes.removeSubrange(valid...)
            return records
        } catch { preconditionFailure("memory WAL damaged: \(error)") }
    }

    public func sync() throws(StoreError) {
        guard durable < bytes.count else { return }
        durable = bytes.count
        syncs += 1
    }

    public func reset() throws(StoreError) { (bytes, durable) = ([], 0) }

    /// A crash during a write the node had not yet been told was durable: garbage at the tail.
    public func tearTail(_ garbage: [UInt8]) { bytes += garbage }

    /// A crash: of what was appended since the last sync, only the first `keep` bytes (at most)
    /// reached the disk — possibly ending inside a record.
    public func loseUnsynced(keep: Int) { bytes.removeSubrange(min(bytes.count, durable + max(0, keep))...) }
}

/// A sign-state in memory.
public final class MemorySignState: SignStateStore {
    public private(set) var last: SignStateRecord?
    public init() {}
    public func save(_ record: SignStateRecord) throws(StoreError) { last = record }
}
