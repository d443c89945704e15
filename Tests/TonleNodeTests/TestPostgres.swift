import Foundation

/// A real PostgreSQL server from Debian's packages (deploy/lib.sh installs them), in a temporary
/// directory on a free loopback port, for one test: `initdb`, the server as a child process, and
/// `stop()`. As root it runs as the `postgres` user, since
/// PostgreSQL refuses to run as root.
final class TestPostgres: @unchecked Sendable {
    let directory: URL
    let port: Int
    let bin: URL
    let asPostgres: Bool
    let server = Process()
    static let user = "tonle"

    static func start() throws -> TestPostgres {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else {
            throw LocalNetwork.TestFailure("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): run deploy/test.sh, which installs it")
        }
        return try TestPostgres(bin: URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin"))
    }

    private init(bin: URL) throws {
        self.bin = bin
        asPostgres = getuid() == 0
        directory = URL(fileURLWithPath: "/tmp/tonle-pg-\(UUID().uuidString.prefix(8))")
        port = try LocalNetwork.freePorts(1)[0]
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if asPostgres { _ = try shell(["/bin/chown", "postgres:postgres", directory.path], asPostgres: false) }
        let data = directory.appendingPathComponent("data").path
        let initialised = try shell([bin.appendingPathComponent("initdb").path, "-D", data, "-U", Self.user, "-A", "trust", "-E", "UTF8", "--no-sync"])
        guard initialised.status == 0 else { throw LocalNetwork.TestFailure("initdb failed: \(initialised.output)") }
        // The server runs as this test's child, not daemonized by pg_ctl: Foundation's Process
        // learns that a child exited when a descriptor the child inherited closes, and a daemon
        // would hold it open.
        let command = [bin.appendingPathComponent("postgres").path, "-D", data, "-p", "\(port)", "-k", directory.path,
                       "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
        let wrapped = asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
        server.executableURL = URL(fileURLWithPath: wrapped[0])
        server.arguments = Array(wrapped.dropFirst())
        let log = directory.appendingPathComponent("log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        (server.standardOutput, server.standardError) = (handle, handle)
        try server.run()
        let deadline = Date().addingTimeInterval(60)
        while try shell([bin.appendingPathComponent("pg_isready").path, "-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user]).status != 0 {
            guard server.isRunning, Date() < deadline else { stop(); throw LocalNetwork.TestFailure("PostgreSQL did not start: \(self.log)") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    var log: String { (try? String(contentsOf: directory.appendingPathComponent("log"), encoding: .utf8)) ?? "" }

    /// A connection URL for `database` (created by `createDatabase`).
    func url(_ database: String) -> String { "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    func createDatabase(_ name: String) throws {
        let created = try shell([bin.appendingPathComponent("createdb").path, "-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, name])
        guard created.status == 0 else { throw LocalNetwork.TestFailure("createdb \(name) failed: \(created.output)") }
    }

    /// Runs `sql` with psql in `database`; its rows, unaligned, fields separated by `|`.
    func query(_ database: String, _ sql: String) throws -> [String] {
        let result = try shell([bin.appendingPathComponent("psql").path, "-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "-d", database,
                                "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], separateErrors: true)
        guard result.status == 0 else { throw LocalNetwork.TestFailure("psql failed on \(sql): \(result.output)") }
        return result.output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Fast shutdown (SIGINT, which runuser passes on), SIGKILL after 30 s; the directory removed.
    func stop() {
        if server.isRunning {
            kill(server.processIdentifier, SIGINT)
            let deadline = Date().addingTimeInterval(30)
            while server.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a command (as `postgres` when the test runs as root); its status and output (with
    /// `separateErrors`, standard error apart, after a line `--- stderr`).
    @discardableResult
    func shell(_ command: [String], asPostgres: Bool? = nil, separateErrors: Bool = false) throws -> (status: Int32, output: String) {
        let process = Process()
        let wrapped = (asPostgres ?? self.asPostgres) ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
        process.executableURL = URL(fileURLWithPath: wrapped[0])
        process.arguments = Array(wrapped.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString)"), err = out.appendingPathExtension("err")
        for file in [out, err] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        defer { for file in [out, err] { try? FileManager.default.removeItem(at: file) } }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: separateErrors ? err : out)
        try process.run()
        process.waitUntilExit()
        let output = (try? String(contentsOf: out, encoding: .utf8)) ?? "", errors = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        return (process.terminationStatus, process.terminationStatus == 0 || !separateErrors ? output : output + "--- stderr\n" + errors)
    }
}
