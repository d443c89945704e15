import Foundation
import Testing
import TonleRPC
import TonleTestSupport

/// Every integer-like position of every route, against a live 4-validator network (issue: "no
/// request can stop a validator"). The positions are this file's own table, not the OpenAPI
/// document's, and the test fails if a route of the router has no entry here. Each value goes
/// through a raw socket exactly as written; every answer must be a 2xx or a 4xx, and at the end
/// every node still serves and the network still commits.
@Suite("Edges: hostile numbers against a live network", .serialized)
struct EdgeTests {
    /// What each position is given: the issue's list, then forms a lenient parser might take.
    static let values = [
        "0", "1", "-1", "2147483648", "9007199254740993", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "100000000000000000000000", "abc", "",
        "+1", "1e3", "0x10", "1.5", " 1", "\u{FF11}", "00000000000000000000000000001",
    ]

    /// One integer-like position: where a value goes in a request to a route.
    struct Position: Sendable {
        let route: String
        let name: String
        let request: @Sendable (String) -> String
    }

    static let unknownID = String(repeating: "ab", count: 32)

    /// `GET path` with the value in it; `Connection: close` so every request has its own connection.
    static func get(_ path: String, headers: String = "") -> String { "GET \(path) HTTP/1.1\r\nHost: tonle\r\n\(headers)Connection: close\r\n\r\n" }

    static func post(_ path: String, body: String, contentLength: String? = nil) -> String {
        "POST \(path) HTTP/1.1\r\nHost: tonle\r\nContent-Type: application/json\r\nContent-Length: \(contentLength ?? "\(body.utf8.count)")\r\nConnection: close\r\n\r\n\(body)"
    }

    /// The value as it goes into a path segment or a query value.
    static func encoded(_ value: String) -> String { value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? value }

    static let positions: [Position] = {
        let e = encoded
        var table: [Position] = []
        func add(_ route: String, _ name: String, _ request: @escaping @Sendable (String) -> String) { table.append(Position(route: route, name: name, request: request)) }
        for route in ["/health", "/ready", "/metrics", "/v1/status"] {
            add("GET \(route)", "an unknown query parameter") { get("\(route)?height=\(e($0))") }
        }
        add("GET /v1/validators", "height") { get("/v1/validators?height=\(e($0))") }
        add("GET /v1/blocks/{height}", "height") { get("/v1/blocks/\(e($0))") }
        add("GET /v1/blocks/{height}", "transactions") { get("/v1/blocks/1?transactions=\(e($0))") }
        add("GET /v1/reference-rates/{unit}/{quoted}", "unit") { get("/v1/reference-rates/\(e($0))/KHR") }
        add("GET /v1/reference-rates/{unit}/{quoted}", "date year") { get("/v1/reference-rates/CNY/KHR?date=\(e($0))-01-01") }
        add("GET /v1/reference-rates/{unit}/{quoted}", "date") { get("/v1/reference-rates/CNY/KHR?date=\(e($0))") }
        add("GET /v1/blocks", "from") { get("/v1/blocks?from=\(e($0))") }
        add("GET /v1/blocks", "limit") { get("/v1/blocks?limit=\(e($0))") }
        add("GET /v1/transactions/{id}", "id") { get("/v1/transactions/\(e($0))") }
        add("GET /v1/transactions/{id}", "wait") { get("/v1/transactions/\(unknownID)?wait=\(e($0))") }
        add("GET /v1/transactions/{id}", "transaction") { get("/v1/transactions/\(unknownID)?transaction=\(e($0))") }
        add("GET /v1/transactions/{id}/receipt", "id") { get("/v1/transactions/\(e($0))/receipt") }
        add("GET /v1/accounts/{id}", "id") { get("/v1/accounts/\(e($0))") }
        add("GET /v1/accounts/{id}", "proof") { get("/v1/accounts/sokha@aba?proof=\(e($0))") }
        add("GET /v1/accounts/{id}/transactions", "limit") { get("/v1/accounts/sokha@aba/transactions?limit=\(e($0))") }
        add("GET /v1/accounts/{id}/transactions", "before HEIGHT") { get("/v1/accounts/sokha@aba/transactions?before=\(e($0)):0") }
        add("GET /v1/accounts/{id}/transactions", "before INDEX") { get("/v1/accounts/sokha@aba/transactions?before=1:\(e($0))") }
        add("GET /v1/accounts/{id}/transactions", "before") { get("/v1/accounts/nobody@aba/transactions?before=\(e($0))") }
        add("GET /v1/accounts/{id}/statement", "date year") { get("/v1/accounts/sokha@aba/statement?date=\(e($0))-01-01") }
        add("GET /v1/accounts/{id}/statement", "date month") { get("/v1/accounts/sokha@aba/statement?date=2026-\(e($0))-01") }
        add("GET /v1/accounts/{id}/statement", "date day") { get("/v1/accounts/sokha@aba/statement?date=2026-01-\(e($0))") }
        add("GET /v1/accounts/{id}/statement", "format") { get("/v1/accounts/sokha@aba/statement?date=2026-01-01&format=\(e($0))") }
        add("GET /explorer", "an unknown query parameter") { get("/explorer?height=\(e($0))") }
        add("GET /explorer/{file}", "file") { get("/explorer/\(e($0))") }
        add("GET /v1/events", "from") { get("/v1/events?from=\(e($0))") }
        add("GET /v1/events", "Last-Event-ID") { get("/v1/events", headers: "Last-Event-ID: \($0)\r\n") }
        for (route, extra) in [("/v1/gateways/alipay/positions", ""), ("/v1/gateways/alipay/entries", "&currency=USD")] {
            let template = route.replacingOccurrences(of: "alipay", with: "{id}")
            add("GET \(template)", "date year") { get("\(route)?date=\(e($0))-01-01\(extra)") }
            add("GET \(template)", "date month") { get("\(route)?date=2026-\(e($0))-01\(extra)") }
            add("GET \(template)", "date day") { get("\(route)?date=2026-01-\(e($0))\(extra)") }
            add("GET \(template)", "date") { get("\(route)?date=\(e($0))\(extra)") }
            add("GET \(template)", "id") { get(route.replacingOccurrences(of: "alipay", with: e($0))) }
        }
        add("GET /v1/gateways/{id}/entries", "limit") { get("/v1/gateways/alipay/entries?limit=\(e($0))") }
        add("GET /v1/gateways/{id}/entries", "before") { get("/v1/gateways/alipay/entries?before=\(e($0))") }
        add("GET /v1/settlements/{gateway}/{reference}", "reference") { get("/v1/settlements/alipay/\(e($0))") }
        add("GET /v1/settlements/{gateway}/{reference}", "gateway") { get("/v1/settlements/\(e($0))/REF-1") }
        for (route, field) in [("/v1/transactions", "transaction"), ("/v1/transactions/batch", "transactions")] {
            add("POST \(route)", "\(field) as a number") { post(route, body: "{\"\(field)\":\($0)}") }
            add("POST \(route)", "\(field) as text") { post(route, body: "{\"\(field)\":\"\($0)\"}") }
            add("POST \(route)", "Content-Length") { post(route, body: "{\"\(field)\":\"AA==\"}", contentLength: $0) }
        }
        add("POST /v1/transactions/batch", "a list item") { post("/v1/transactions/batch", body: "{\"transactions\":[\($0)]}") }
        return table
    }()

    @Test("the table has an entry for every route the router serves")
    func everyRouteIsCovered() {
        let covered = Set(Self.positions.map(\.route)), served = Set(RPCServer.routes.map { "\($0.method) \($0.path)" })
        #expect(covered == served, "routes without an entry here: \(served.subtracting(covered).sorted()); entries for no route: \(covered.subtracting(served).sorted())")
    }

    @Test("every integer-like position of every route, given 0, ±1, 2^31, 2^53+1, 2^63-1, 2^63, 2^64-1, 2^64, 10^23, text and empty: only 2xx and 4xx, and every node keeps serving")
    func hostileNumbersLeaveEveryNodeServing() async throws {
        let network = try await Self.committingNetwork()
        defer { network.stop() }
        // The three requests from the report first, one to each of three nodes.
        let reported = [Self.get("/v1/blocks/9223372036854775808"), Self.get("/v1/events", headers: "Last-Event-ID: 18446744073709551615\r\n"),
                        Self.get("/v1/accounts/nobody@aba/transactions?before=18446744073709551615:0")]
        var answers: [String] = [], bad: [String] = []
        for (index, request) in reported.enumerated() {
            let status = await Self.send(request, to: network.rpcPorts[index])
            if !Self.acceptable(status) { bad.append("reported #\(index + 1): \(status.map(String.init) ?? "no answer")") }
        }
        var sent = 0
        for position in Self.positions {
            for value in Self.values {
                let port = network.rpcPorts[sent % 4]
                sent += 1
                let status = await Self.send(position.request(value), to: port)
                answers.append("\(position.route) \(position.name)=\(value.debugDescription): \(status.map(String.init) ?? "none")")
                if !Self.acceptable(status) { bad.append(answers.last!) }
            }
        }
        #expect(bad.isEmpty, "\(bad.count) of \(sent) answers were not 2xx/4xx; the first:\n\(bad.prefix(40).joined(separator: "\n"))")
        for index in 0..<4 {
            #expect(network.isRunning(index), "node \(index) stopped; log: \(network.log(index).suffix(2_000))")
            #expect(await Self.send(Self.get("/health"), to: network.rpcPorts[index]) == 200, "node \(index) does not serve")
        }
        // And the network still commits: a transfer submitted now is applied.
        let transfer = try network.transfers(1, tag: 0xED6E)
        #expect(await network.submit(0, transfer)?.first?["status"] as? String == "pending")
        let id = transfer[0].id.description
        #expect(await LocalNetwork.eventually(30) { await network.get(3, "v1/transactions/\(id)")?["result"] as? String == "applied" })
        print("edge test: \(sent) requests answered 2xx or 4xx; network files: \(network.directory.path)")
    }

    @Test("schemathesis: every route against docs/openapi.json on a live network, all checks on — no 5xx, no schema violation, positive data accepted, negative data refused, 405 with Allow")
    func schemathesis() async throws {
        let network = try await Self.committingNetwork()
        defer { network.stop() }
        // Data for the generator to find: transfers (history, transaction ids) and the settlement
        // entry whose reference docs/openapi.json gives as the example.
        let transfers = try network.transfers(8, tag: 0x57)
        _ = await network.submit(1, transfers)
        let client = try await Self.run(["/usr/bin/env", "python3", "docs/examples/gateway_client.py", "--node", "http://127.0.0.1:\(network.rpcPorts[0])",
                                         "--gateway-key", network.directory.appendingPathComponent("keys/alipay.key").path,
                                         "--payer-key", network.directory.appendingPathComponent("keys/aba.key").path, "--reference", "ALP-20261121-0001"],
                                        in: LocalNetwork.repository, seconds: 120)
        #expect(client.status == 0, "the gateway client seeds a settlement entry: \(client.output.suffix(2_000))")

        let environment = ProcessInfo.processInfo.environment
        let seed = environment["TONLE_SCHEMATHESIS_SEED"] ?? "\(UInt32.random(in: 1...UInt32.max))"
        let examples = environment["TONLE_SCHEMATHESIS_EXAMPLES"] ?? "25"
        let directory = LocalNetwork.repository.appendingPathComponent("Tests/TonleNodeTests/Schemathesis")
        let report = network.directory.appendingPathComponent("schemathesis.log")
        let run = try await Self.run(["/usr/bin/env", "SCHEMATHESIS_HOOKS=hooks", "python3", "-c", "from schemathesis.cli import schemathesis; schemathesis()",
                                      "--config-file", "schemathesis.toml", "run", LocalNetwork.repository.appendingPathComponent("docs/openapi.json").path,
                                      "--url", "http://127.0.0.1:\(network.rpcPorts[2])", "--checks", "all", "--max-examples", examples, "--seed", seed,
                                      "--no-color"], in: directory, seconds: 900)
        try run.output.write(to: report, atomically: true, encoding: .utf8)
        let summary = run.output.split(separator: "\n").last { $0.contains(" in ") && $0.hasPrefix("=") } ?? "no summary"
        print("schemathesis (seed \(seed), \(examples) examples per operation): \(summary); report: \(report.path)")
        #expect(run.status == 0, "schemathesis failed with seed \(seed) (TONLE_SCHEMATHESIS_SEED=\(seed) replays it); report \(report.path):\n\(run.output.suffix(6_000))")
        #expect(run.output.contains("passed"), "schemathesis ran no test case: \(run.output.suffix(2_000))")
        for index in 0..<4 { #expect(network.isRunning(index), "node \(index) stopped") }
    }

    /// Runs a command (a path and its arguments) in `directory`, waiting without holding a thread;
    /// killed after `seconds`. Output and errors together.
    static func run(_ command: [String], in directory: URL, seconds: Double) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = directory
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        (process.standardOutput, process.standardError) = (handle, handle)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(seconds)
        while process.isRunning {
            if ContinuousClock.now > deadline { process.terminate() }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    /// A started 4-validator network that has committed a block or two.
    static func committingNetwork() async throws -> LocalNetwork {
        let network = try LocalNetwork()
        do { try network.startAll() } catch {
            network.stop()
            throw error
        }
        #expect(await LocalNetwork.eventually(90) { await network.height(0).map { $0 >= 2 } ?? false }, "the network commits")
        return network
    }

    static func acceptable(_ status: Int?) -> Bool { status.map { (200..<300).contains($0) || (400..<500).contains($0) } ?? false }

    /// Sends `request` on a fresh connection and returns the status of the answer (the head is
    /// enough: an event stream never ends).
    static func send(_ request: String, to port: Int) async -> Int? {
        guard let connection = try? await RawConnection.open(port: port) else { return nil }
        defer { Task { await connection.close() } }
        await connection.send(request)
        return await connection.responseStatus(within: 15)
    }
}
