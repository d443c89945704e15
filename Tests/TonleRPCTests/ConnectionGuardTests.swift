import Foundation
import Testing
import TonleRPC
import TonleTestSupport

/// Slow and greedy clients (docs/operations.md): a request that does not arrive whole within the
/// deadline loses its connection; an address holds at most so many connections. Real sockets, a
/// short deadline, and bounds on every wait, so a guard that does nothing fails instead of hanging.
/// No check depends on this task running promptly (other tests may hold the cooperative pool for
/// a minute): timed writes happen on the event loop, and the idle timeout is far away.
@Suite struct ConnectionGuardTests {
    static var config: RPCConfig {
        var config = RPCHarness.testConfig
        (config.requestDeadlineMilliseconds, config.connectionsPerClientMax, config.idleTimeoutMilliseconds) = (400, 4, 600_000)
        return config
    }

    @Test("a client trickling its request headers, or sending less body than it announced, is closed at the deadline")
    func slowRequestsAreClosed() async throws {
        let connections = RPCConnections()
        try await RPCHarness.with(FakeNode(), config: Self.config, observed: Observations(), connections: connections) { rpc in
            // Headers one byte every 100 ms, for up to 4 s: never whole, so the deadline must end it.
            let trickler = try await RawConnection.open(port: rpc.port)
            var sent = 0
            for byte in "GET /v1/status HTTP/1.1\r\nHost: tonle\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaa".map(String.init) {
                guard await trickler.send(byte) else { break }
                sent += 1
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(await trickler.closedByServer(within: 2), "the trickling client still holds its connection after \(sent) bytes")
            #expect(sent < 40)

            // A body shorter than its Content-Length, then silence.
            let short = try await RawConnection.open(port: rpc.port)
            await short.send("POST /v1/transactions HTTP/1.1\r\nHost: tonle\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"transaction\":")
            #expect(await short.closedByServer(within: 3))
            #expect(connections.lateCount == 2)
        }
    }

    @Test("a request that arrives whole in time is answered, and an answer that takes longer than the deadline (a long poll) is not cut")
    func timelyRequestsAreServed() async throws {
        try await RPCHarness.with(FakeNode(), config: Self.config, observed: Observations()) { rpc in
            // Slow but within the deadline: two halves 150 ms apart.
            let client = try await RawConnection.open(port: rpc.port)
            client.send("GET /health HTTP/1.1\r\nHo", then: "st: tonle\r\n\r\n", afterMilliseconds: 150)
            for _ in 0..<50 where !client.received.contains("\"ok\"") { try await Task.sleep(for: .milliseconds(20)) }
            #expect(client.received.hasPrefix("HTTP/1.1 200"))
            // A long poll of 2 s on the same connection outlives the 400 ms request deadline.
            await client.send("GET /v1/transactions/\(String(repeating: "0", count: 64))?wait=2 HTTP/1.1\r\nHost: tonle\r\n\r\n")
            try await Task.sleep(for: .milliseconds(1_000))
            #expect(client.isOpen)
            for _ in 0..<150 where !client.received.contains("\"unknown\"") { try await Task.sleep(for: .milliseconds(20)) }
            #expect(client.received.contains("\"status\":\"unknown\""))
            await client.close()
        }
    }

    @Test("one address holds at most connections_per_client_max connections; one more is closed as it opens, and a freed place is taken again")
    func connectionsPerClientAreCapped() async throws {
        let connections = RPCConnections()
        try await RPCHarness.with(FakeNode(), config: Self.config, observed: Observations(), connections: connections) { rpc in
            var held: [RawConnection] = []
            for _ in 0..<4 { held.append(try await RawConnection.open(port: rpc.port)) }
            for _ in 0..<50 where connections.openCount < 4 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(connections.openCount == 4)
            let extra = try await RawConnection.open(port: rpc.port)
            #expect(await extra.closedByServer(within: 2))
            #expect(connections.refusedCount == 1)
            #expect(held.allSatisfy { $0.isOpen })

            await held.removeFirst().close()
            for _ in 0..<50 where connections.openCount > 3 { try await Task.sleep(for: .milliseconds(20)) }
            let next = try await RawConnection.open(port: rpc.port)
            await next.send("GET /health HTTP/1.1\r\nHost: tonle\r\n\r\n")
            for _ in 0..<50 where !next.received.contains("\"ok\"") { try await Task.sleep(for: .milliseconds(20)) }
            #expect(next.received.hasPrefix("HTTP/1.1 200"))
            for connection in held + [next] { await connection.close() }
        }
    }
}
