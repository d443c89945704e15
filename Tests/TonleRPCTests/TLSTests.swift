import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import Testing
import TonleRPC

/// TLS on the RPC port, with certificates made by the `openssl` command: a client that trusts
/// the CA is served; with a client CA configured, only clients with a certificate it signed are.
@Suite struct TLSTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, in a temporary directory.
    static func certificates() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tonle-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
            set -e
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=tonle-test-ca
            printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key -out client.csr -subj /CN=gateway
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = dir
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestError("openssl failed to make test certificates") }
        return dir
    }

    func get(_ port: Int, ca: URL, clientCertificate: URL? = nil) async throws -> Int {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca.appendingPathComponent("ca.pem").path))
        if let dir = clientCertificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(dir.appendingPathComponent("client.pem").path).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: dir.appendingPathComponent("client.key").path, format: .pem))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        defer { _ = client.shutdown() }
        let response = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/v1/status"), timeout: .seconds(10))
        return Int(response.status.code)
    }

    @Test func servesTLSAndRequiresClientCertificatesWhenConfigured() async throws {
        let dir = try Self.certificates()
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = RPCHarness.testConfig
        (config.tlsCertificateFile, config.tlsKeyFile) = (dir.appendingPathComponent("server.pem").path, dir.appendingPathComponent("server.key").path)
        try await RPCHarness.with(FakeNode(), config: config, observed: Observations()) { rpc in
            let status = try await get(rpc.port, ca: dir)
            #expect(status == 200)
            // Plain HTTP to a TLS port gets no answer.
            await #expect(throws: (any Error).self) { _ = try await rpc.request(.GET, "/health") }
        }
        config.tlsClientCAFile = dir.appendingPathComponent("ca.pem").path
        try await RPCHarness.with(FakeNode(), config: config, observed: Observations()) { rpc in
            let status = try await get(rpc.port, ca: dir, clientCertificate: dir)
            #expect(status == 200)
            await #expect(throws: (any Error).self) { _ = try await get(rpc.port, ca: dir) }
        }
    }
}
