import Foundation
import NIOSSL
import PostgresNIO

/// A PostgreSQL connection URL, as libpq spells it (docs/reporting.md):
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE][&host=/SOCKET/DIR][&sslrootcert=FILE]`.
/// `sslmode` is `disable`, `prefer` (the default: TLS if the server offers it, unverified),
/// `require` (TLS, unverified) or `verify-full` (TLS, the certificate checked against
/// `sslrootcert` or the system's CAs, and the host name). `host=/dir` connects to the server's
/// Unix socket in that directory instead of TCP.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public let configuration: PostgresConnection.Configuration
    /// The URL without its password, for logs.
    public let description: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(Invalid) {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
            throw Invalid(description: "--postgres: '\(Self.redacted(text))' is not a postgres:// URL such as postgres://tonle@127.0.0.1:5432/reports")
        }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let known: Set<String> = ["sslmode", "host", "sslrootcert", "application_name"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) { throw Invalid(description: "--postgres: unknown parameter '\(unknown)'") }
        let port = url.port ?? 5432
        guard (1...65_535).contains(port) else { throw Invalid(description: "--postgres: port \(port) is not 1-65535") }
        guard let user = url.user?.removingPercentEncoding, !user.isEmpty else { throw Invalid(description: "--postgres: the URL names no user (postgres://USER@HOST/DATABASE)") }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !database.isEmpty, !database.contains("/") else { throw Invalid(description: "--postgres: the URL names no database (postgres://USER@HOST/DATABASE)") }
        let password = url.password?.removingPercentEncoding

        let tls: PostgresConnection.Configuration.TLS
        do {
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            switch query["sslmode"] ?? "prefer" {
            case "disable": tls = .disable
            case "prefer": tls = .prefer(try NIOSSLContext(configuration: unverified))
            case "require": tls = .require(try NIOSSLContext(configuration: unverified))
            case "verify-full":
                var verified = TLSConfiguration.makeClientConfiguration()
                if let roots = query["sslrootcert"] {
                    do { verified.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(roots)) } catch {
                        throw Invalid(description: "--postgres: sslrootcert \(roots) holds no PEM certificate that loads (\(error))")
                    }
                }
                tls = .require(try NIOSSLContext(configuration: verified))
            case let mode: throw Invalid(description: "--postgres: sslmode '\(mode)' is not disable, prefer, require or verify-full")
            }
        } catch let error as Invalid { throw error } catch { throw Invalid(description: "--postgres: TLS: \(error)") }

        var configuration: PostgresConnection.Configuration
        if let directory = query["host"], directory.hasPrefix("/") {
            configuration = .init(unixSocketPath: "\(directory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            guard let host = url.host, !host.isEmpty else { throw Invalid(description: "--postgres: the URL names no host") }
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(10)
        self.configuration = configuration
        description = Self.redacted(text)
    }

    /// `text` with any password replaced by `***`.
    static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? text
    }
}
