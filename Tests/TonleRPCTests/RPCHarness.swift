import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import TonleRPC

/// A real RPC server on 127.0.0.1 (port chosen by the kernel) around a `FakeNode`, and a real
/// HTTP client. Every answer is recorded against the route it matched, so a test can check that
/// the statuses seen are exactly the statuses `RPCServer.routes` (and docs/openapi.json) declare.
struct RPCHarness {
    struct Answer {
        let status: Int
        let headers: [(String, String)]
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static let client = HTTPClient(eventLoopGroupProvider: .singleton)

    let port: Int
    let observed: Observations

    /// Runs `body` against a fresh server with `config`, then stops the server.
    static func with<T>(_ node: FakeNode, config: RPCConfig = RPCHarness.testConfig, observed: Observations,
                        connections: RPCConnections = RPCConnections(), _ body: (RPCHarness) async throws -> T) async throws -> T {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "rpc-test")
        logger.logLevel = .warning
        let app = try RPCServer.application(api: node, config: config, logger: logger, connections: connections) { continuation.yield($0) }
        // Stopped gracefully, as the node stops it: cancelling a server while a connection is being
        // set up can trap in NIO ("Deinited NIOAsyncWriter without calling finish()").
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        let task = Task { try await group.run() }
        func stop() async {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
        }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next() else {
            await stop()
            throw TestError("the server did not start")
        }
        do {
            let result = try await body(RPCHarness(port: port, observed: observed))
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }

    static var testConfig: RPCConfig {
        var config = RPCConfig()
        (config.port, config.bodyBytesMax, config.eventStreamsMax, config.waitSecondsMax) = (0, 256 << 10, 2, 10)
        return config
    }

    /// With a body (`json` or `body`), the request says `Content-Type: application/json` unless `headers` names a content type.
    func request(_ method: HTTPMethod, _ path: String, json: Any? = nil, body: String? = nil, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if json != nil || body != nil, !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let json { request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await Self.client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let answer = Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(bytes.readableBytesView))
        observed.record(method.rawValue, path, answer.status)
        if answer.status >= 400, path.hasPrefix("/v1"), method != .HEAD {
            // Every refusal from the API is JSON with a code and a message.
            if !(answer.json["code"] is String && answer.json["message"] is String) {
                Issue.record("\(method) \(path) answered \(answer.status) without {code, message}")
            }
        }
        return answer
    }

    /// Opens `/v1/events` and returns the response, for reading events as they come.
    func events(_ query: String = "", headers: [(String, String)] = []) async throws -> (status: Int, events: EventReader) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/events\(query)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await Self.client.execute(request, timeout: .seconds(60))
        observed.record("GET", "/v1/events", Int(response.status.code))
        return (Int(response.status.code), EventReader(body: response.body))
    }
}

/// Reads server-sent events from a streaming body.
final class EventReader {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var buffer = ""

    init(body: HTTPClientResponse.Body) { iterator = body.makeAsyncIterator() }

    /// The next event's fields (id, event, data), skipping comments and `retry`.
    func next() async throws -> [String: String]? {
        while true {
            if let range = buffer.range(of: "\n\n") {
                let block = buffer[..<range.lowerBound]
                buffer.removeSubrange(..<range.upperBound)
                var fields: [String: String] = [:]
                for line in block.split(separator: "\n") where !line.hasPrefix(":") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    fields[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                }
                if fields["data"] != nil { return fields }
                continue
            }
            guard let chunk = try await iterator.next() else { return nil }
            buffer += String(buffer: chunk)
        }
    }
}

/// Which statuses each declared route answered with.
final class Observations: Sendable {
    private let seen = Mutex<[String: Set<Int>]>([:])

    func record(_ method: String, _ path: String, _ status: Int) {
        // 405 answers a method no route of the path takes: it belongs to no route.
        guard status != 405 else { return }
        let bare = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        guard let route = RPCServer.routes.first(where: { $0.method == method && Self.matches($0.path, bare) }) else { return }
        _ = seen.withLock { $0["\(route.method) \(route.path)", default: []].insert(status) }
    }

    var byRoute: [String: Set<Int>] { seen.withLock { $0 } }

    /// `/v1/blocks/{height}` matches `/v1/blocks/7`.
    static func matches(_ template: String, _ path: String) -> Bool {
        let a = template.split(separator: "/"), b = path.split(separator: "/")
        return a.count == b.count && zip(a, b).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
