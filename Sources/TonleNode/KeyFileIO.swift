import Foundation
import TonleCrypto

/// Reads and writes signing-key files (format: docs/keys.md). Files are created with mode 0600
/// and never replaced unless asked; a file that group or others can read is refused, because its
/// key must be assumed leaked.
public enum KeyFileIO {
    /// Writes `key` to a new file at `path` (mode 0600, synced to disk before returning).
    public static func write(_ key: Ed25519.SigningKey, to path: String, overwrite: Bool = false) throws(NodeError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw NodeError.key("\(path) already exists; choose another path or pass --force to replace it") }
            throw NodeError.key("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // An existing file keeps its old mode under O_TRUNC: set 0600 explicitly.
        guard fchmod(fd, 0o600) == 0 else { throw NodeError.key("cannot set mode 0600 on \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(KeyFile.encode(key).utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw NodeError.key("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// Reads the key in `path`, refusing files that group or others may read.
    public static func read(_ path: String) throws(NodeError) -> Ed25519.SigningKey {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NodeError.key("cannot open key file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw NodeError.key("cannot stat \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw NodeError.key("\(path) is not a regular file") }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw NodeError.key("key file \(path) has mode \(String(mode, radix: 8)): group or others can read it. Run 'chmod 600 \(path)' (and consider the key leaked if others had access)")
        }
        // Read to the end (a read may return short), at most one byte past the limit.
        var buffer = [UInt8](repeating: 0, count: KeyFile.textBytesMax + 1)
        var count = 0
        while count < buffer.count {
            let got = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + count, $0.count - count) }
            if got == 0 { break }
            guard got > 0 || errno == EINTR else { throw NodeError.key("cannot read \(path): \(String(cString: strerror(errno)))") }
            count += max(got, 0)
        }
        defer { buffer.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        guard let text = String(validating: buffer.prefix(count), as: UTF8.self) else {
            throw NodeError.key("key file \(path) is not text: not a Tonle key file")
        }
        do { return try KeyFile.decode(text) } catch { throw NodeError.key("key file \(path): \(error)") }
    }
}
