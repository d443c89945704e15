import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where the node is and how to reach it: `--node` (else `$TONLE_NODE`, else the first local
/// validator), and for an https node the CA to trust and, for mutual TLS, a client certificate.
struct NodeOptions: ParsableArguments {
    @Option(help: "The node's RPC address (default: $TONLE_NODE, else http://127.0.0.1:26700).")
    var node: String?

    @Option(help: "PEM CA certificate to trust for an https node (default: $TONLE_TLS_CA; else the system's).")
    var tlsCA: String?

    @Option(help: "PEM client certificate, for a node that asks for one (default: $TONLE_TLS_CERT).")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert (default: $TONLE_TLS_KEY).")
    var tlsKey: String?

    /// Runs `body` with a client, and closes the client after.
    func withClient<T>(_ body: (RPCClient) async throws -> T) async throws -> T {
        let client = try RPCClient(self)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }
}

/// A client of the node's HTTP/JSON API (docs/api.md), on AsyncHTTPClient.
final class RPCClient: Sendable {
    let base: String
    let http: HTTPClient

    init(_ options: NodeOptions) throws(CLIError) {
        let environment = ProcessInfo.processInfo.environment
        let text = options.node ?? environment["TONLE_NODE"] ?? "http://127.0.0.1:26700"
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CLIError("--node: '\(text)' is not an http(s) URL such as http://127.0.0.1:26700")
        }
        base = text.hasSuffix("/") ? String(text.dropLast()) : text
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = options.tlsCA ?? environment["TONLE_TLS_CA"] { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            let cert = options.tlsCert ?? environment["TONLE_TLS_CERT"], key = options.tlsKey ?? environment["TONLE_TLS_KEY"]
            if (cert == nil) != (key == nil) { throw CLIError("--tls-cert and --tls-key go together") }
            if let cert, let key {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        } catch let error as CLIError { throw error } catch { throw CLIError("TLS files: \(error)") }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func close() async { try? await http.shutdown() }

    struct Answer {
        let status: Int
        let data: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:] }
        var isSuccess: Bool { (200..<300).contains(status) }
        /// The API's refusal as one line: CODE: message.
        var refusal: String { "\(json["code"] as? String ?? "HTTP_\(status)"): \(json["message"] as? String ?? String(decoding: data.prefix(200), as: UTF8.self))" }
    }

    /// Sends one request; the answer whatever its status. Fails only if the node cannot be reached.
    func call(_ method: HTTPMethod, _ path: String, body: Any? = nil, timeout: TimeAmount = .seconds(30)) async throws(CLIError) -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        do {
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            }
            let response = try await http.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 256 << 20)
            return Answer(status: Int(response.status.code), data: Data(bytes.readableBytesView))
        } catch {
            throw CLIError("cannot reach the node at \(base): \(error). Is it running? (--node or TONLE_NODE)", exitCode: ExitCode.unreachable)
        }
    }

    /// GET `path` and decode it; a refusal becomes an error (exit 2 for NOT_FOUND).
    func get<T: Decodable>(_ path: String, as type: T.Type, timeout: TimeAmount = .seconds(30)) async throws(CLIError) -> T {
        let answer = try await call(.GET, path, timeout: timeout)
        guard answer.isSuccess else {
            throw CLIError("the node answered \(answer.refusal)", exitCode: answer.status == 404 ? ExitCode.notFound : 1)
        }
        do { return try JSONDecoder().decode(T.self, from: answer.data) } catch { throw CLIError("the node's answer to \(path) did not decode: \(error)") }
    }

    /// Opens a server-sent-event stream and calls `handle` with each event's id and data until it returns false.
    func events(_ path: String, _ handle: (_ id: String?, _ data: String) async throws -> Bool) async throws {
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "Accept", value: "text/event-stream")
        let response: HTTPClientResponse
        do { response = try await http.execute(request, timeout: .hours(24 * 365)) } catch {
            throw CLIError("cannot reach the node at \(base): \(error). Is it running? (--node or TONLE_NODE)", exitCode: ExitCode.unreachable)
        }
        guard response.status == .ok else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            throw CLIError("the node answered \(Answer(status: Int(response.status.code), data: Data(bytes.readableBytesView)).refusal)")
        }
        guard try await ServerSentEvents.read(response.body, handle) else {
            throw CLIError("the node closed the event stream", exitCode: ExitCode.unreachable)
        }
    }
}

/// Server-sent events from a streaming body (docs/api.md#events).
enum ServerSentEvents {
    /// Calls `handle` with each event's id and data until it returns false (then true), or the
    /// stream ends (then false). Comments and events without data are skipped.
    static func read(_ body: HTTPClientResponse.Body, _ handle: (_ id: String?, _ data: String) async throws -> Bool) async throws -> Bool {
        var buffer = ""
        for try await chunk in body {
            buffer += String(buffer: chunk)
            while let end = buffer.range(of: "\n\n") {
                let block = buffer[..<end.lowerBound]
                buffer.removeSubrange(..<end.upperBound)
                var id: String?, data: String?
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                    if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                }
                if let data, try await !handle(id, data) { return true }
            }
        }
        return false
    }
}

/// The exit codes of `tonle` (docs/cli.md).
enum ExitCode {
    static let failure: Int32 = 1
    /// The block, transaction or account asked for does not exist (yet).
    static let notFound: Int32 = 2
    /// The node could not be reached.
    static let unreachable: Int32 = 3
}
