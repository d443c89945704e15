import Testing
import TonleIndexer

/// `tonle index --postgres`: what the URL may say, and what it may not.
@Suite struct PostgresURLTests {
    @Test func acceptsWhatLibpqWrites() throws {
        let tcp = try PostgresURL("postgres://tonle:s3cret@db.bank.internal:6432/reports?sslmode=require")
        #expect(tcp.configuration.host == "db.bank.internal" && tcp.configuration.port == 6432)
        #expect(tcp.configuration.username == "tonle" && tcp.configuration.password == "s3cret" && tcp.configuration.database == "reports")
        #expect(tcp.description == "postgres://tonle:***@db.bank.internal:6432/reports?sslmode=require", "logs never show the password")
        let socket = try PostgresURL("postgresql://auditor@localhost/reports?host=/var/run/postgresql")
        #expect(socket.configuration.unixSocketPath == "/var/run/postgresql/.s.PGSQL.5432" && socket.configuration.password == nil)
        #expect(try PostgresURL("postgres://tonle@127.0.0.1/reports").configuration.port == 5432)
    }

    @Test(arguments: [
        ("http://tonle@127.0.0.1/reports", "not a postgres:// URL"),
        ("postgres://127.0.0.1/reports", "names no user"),
        ("postgres://tonle@127.0.0.1/", "names no database"),
        ("postgres://tonle@127.0.0.1:0/reports", "port 0"),
        ("postgres://tonle@127.0.0.1/reports?sslmode=maybe", "sslmode 'maybe'"),
        ("postgres://tonle@127.0.0.1/reports?timeout=5", "unknown parameter 'timeout'"),
        ("postgres://tonle@127.0.0.1/reports?sslmode=verify-full&sslrootcert=/nonexistent.pem", "sslrootcert"),
        ("postgres://tonle:pw@/reports", "names no host"),
    ])
    func refusesWithAReason(_ text: String, _ reason: String) {
        do {
            _ = try PostgresURL(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(reason) && !error.description.contains("pw@"), "\(error)")
        }
    }
}
