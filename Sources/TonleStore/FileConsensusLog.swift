import Foundation
import TonleStorage

/// The consensus WAL in a file (`consensus.wal`): framed records appended with `write` and made
/// durable together by one `fdatasync` in `sync` (group commit: a peer's vote costs no sync of its
/// own). Opening truncates a torn tail and stops with an error on damage in the middle.
public final class FileConsensusLog: ConsensusLog {
    public let path: String
    private let fd: Int32
    private var cached: [[UInt8]]
    /// Appends not yet synced.
    private var unsynced = 0
    /// `fdatasync` calls made (for the node's metrics).
    public private(set) var syncs = 0

    public init(path: String) throws(StoreError) {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        let bytes = try FileIO.readAll(fd, path: path)
        let (records, valid) = try LogFraming.parse(bytes)
        if valid < bytes.count {
            guard ftruncate(fd, off_t(valid)) == 0, fsync(fd) == 0 else { throw .io("cannot truncate the torn tail of \(path)") }
        }
        cached = records
        guard lseek(fd, 0, SEEK_END) >= 0 else { throw .io("cannot seek \(path)") }
    }

    deinit { close(fd) }

    public func append(_ record: [UInt8]) throws(StoreError) {
        try FileIO.writeAll(fd, LogFraming.frame(record), path: path)
        cached.append(record)
        unsynced += 1
    }

    public func sync() throws(StoreError) {
        guard unsynced > 0 else { return }
        guard fdatasync(fd) == 0 else { throw .io("cannot sync \(path): \(String(cString: strerror(errno)))") }
        unsynced = 0
        syncs += 1
    }

    public func records() -> [[UInt8]] { cached }

    public func reset() throws(StoreError) {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0, fsync(fd) == 0 else { throw .io("cannot reset \(path)") }
        (cached, unsynced) = ([], 0)
    }
}

/// The sign-state in a file (`sign-state`), replaced atomically: write a temporary file, sync it,
/// rename it over the old one, sync the directory.
public final class FileSignState: SignStateStore {
    public let path: String
    public private(set) var last: SignStateRecord?

    public init(path: String) throws(StoreError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { return }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open \(path)") }
        defer { close(fd) }
        let (records, valid) = try LogFraming.parse(try FileIO.readAll(fd, path: path))
        guard records.count == 1, valid > 0, let record = SignStateRecord(framedPayload: records[0]) else {
            throw .corrupt("\(path) is not a sign-state file; the node must not sign until an operator restores it")
        }
        last = record
    }

    public func save(_ record: SignStateRecord) throws(StoreError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot create \(temporary)") }
        defer { close(fd) }
        try FileIO.writeAll(fd, LogFraming.frame(record.payload), path: temporary)
        guard fsync(fd) == 0 else { throw .io("cannot sync \(temporary)") }
        guard rename(temporary, path) == 0 else { throw .io("cannot replace \(path)") }
        let directory = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if directory >= 0 { _ = fsync(directory); close(directory) }
        last = record
    }
}

enum FileIO {
    static func readAll(_ fd: Int32, path: String) throws(StoreError) -> [UInt8] {
        var bytes: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 1 << 16)
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw .io("cannot seek \(path)") }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            guard count > 0 || errno == EINTR else { throw .io("cannot read \(path): \(String(cString: strerror(errno)))") }
            if count > 0 { bytes += buffer.prefix(count) }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard written > 0 || errno == EINTR else { throw .io("cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += max(written, 0)
        }
    }
}
