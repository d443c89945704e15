import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Testing
import TonleCrypto
import TonleLedger
import TonleRPC
import TonleTestSupport
import TonleTypes

/// Every route of the API through a real socket: its success and error paths, and, at the end,
/// that the statuses seen are exactly those the route table (and so docs/openapi.json) declares.
@Suite struct RouterTests {
    @Test func everyRouteAnswersEachDeclaredStatusAndNoOther() async throws {
        let observed = Observations()
        let node = FakeNode()
        try await RPCHarness.with(node, observed: observed) { rpc in
            try await probes(rpc, node)
            try await submissions(rpc, node)
            try await transactionQueries(rpc, node)
            try await receipts(rpc, node)
            try await accounts(rpc, node)
            try await blocksAndValidators(rpc, node)
            try await events(rpc, node)
            try await settlementReports(rpc, node)
            try await hostileInput(rpc, node)
        }
        // A node whose mempool is full and whose loop is busy.
        let busy = FakeNode()
        busy.state.withLock { $0.busy = true }
        try await RPCHarness.with(busy, observed: observed) { rpc in
            let one = try await rpc.request(.POST, "/v1/transactions", json: ["transaction": base64(busy.transaction("sokha@aba"))])
            #expect(one.status == 503 && one.json["code"] as? String == "MEMPOOL_FULL" && one.header("Retry-After") == "1")
            let batch = try await rpc.request(.POST, "/v1/transactions/batch", json: ["transactions": [base64(busy.transaction("sokha@aba"))]])
            #expect(batch.status == 503 && batch.json["code"] as? String == "NODE_BUSY")
            #expect(try await rpc.request(.GET, "/v1/validators").status == 503)
            for path in ["/v1/gateways/upi/positions", "/v1/gateways/upi/entries", "/v1/settlements/upi/upi-1", "/v1/reference-rates/CNY/KHR"] {
                let answer = try await rpc.request(.GET, path)
                #expect(answer.status == 503 && answer.json["code"] as? String == "NODE_BUSY", "\(path)")
            }
        }
        try await rateLimits(observed)
        try await filteredEvents(observed)

        let declared = Dictionary(uniqueKeysWithValues: RPCServer.routes.map { ("\($0.method) \($0.path)", $0.statuses) })
        let seen = observed.byRoute
        for (route, statuses) in declared.sorted(by: { $0.key < $1.key }) {
            #expect(seen[route] == statuses, "\(route): declared \(statuses.sorted()), seen \((seen[route] ?? []).sorted())")
        }
    }

    func base64(_ tx: Transaction) -> String { Data(tx.encoded).base64EncodedString() }

    func probes(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        #expect(try await rpc.request(.GET, "/health").json["status"] as? String == "ok")
        #expect(try await rpc.request(.GET, "/ready").status == 200)
        node.state.withLock { $0.syncing = true }
        let notReady = try await rpc.request(.GET, "/ready")
        #expect(notReady.status == 503 && notReady.json["status"] as? String == "syncing")
        node.state.withLock { $0.syncing = false }
        let metrics = try await rpc.request(.GET, "/metrics")
        #expect(metrics.status == 200 && String(decoding: metrics.body, as: UTF8.self).contains("tonle_height 3"))
        let status = try await rpc.request(.GET, "/v1/status")
        #expect(status.json["chain_id"] as? String == "tonle-test" && status.json["sync"] as? String == "caught_up")
        #expect(try await rpc.request(.GET, "/v1/nothing-here").json["code"] as? String == "NO_SUCH_ROUTE")

        // The explorer's files, each with its type and the content security policy; no other name.
        for (path, type) in [("/explorer", "text/html"), ("/explorer/", "text/html"), ("/explorer/index.html", "text/html"),
                             ("/explorer/app.js", "text/javascript"), ("/explorer/style.css", "text/css")] {
            let file = try await rpc.request(.GET, path)
            #expect(file.status == 200 && file.header("Content-Type")?.hasPrefix(type) == true && file.header("Content-Security-Policy")?.contains("default-src 'none'") == true, "\(path)")
        }
        #expect(try await rpc.request(.GET, "/explorer/%2e%2e%2fmetrics").json["code"] as? String == "NOT_FOUND")
        #expect(try await rpc.request(.GET, "/explorer/app.js.map").json["code"] as? String == "NOT_FOUND")
    }

    func submissions(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        let tx = node.transaction("sokha@aba", 1)
        let accepted = try await rpc.request(.POST, "/v1/transactions", json: ["transaction": base64(tx)])
        #expect(accepted.status == 202 && accepted.json["id"] as? String == tx.id.description && accepted.json["status"] as? String == "pending")
        node.commit(tx.id)
        let again = try await rpc.request(.POST, "/v1/transactions", json: ["transaction": base64(tx)])
        #expect(again.status == 200 && again.json["status"] as? String == "committed" && again.json["height"] as? Int == 4)

        let bad = try await rpc.request(.POST, "/v1/transactions", json: ["transaction": base64(node.transaction("badsig@aba"))])
        #expect(bad.status == 400 && bad.json["code"] as? String == "BAD_SIGNATURE")
        #expect(try await rpc.request(.POST, "/v1/transactions", json: ["transaction": "%%%"]).json["code"] as? String == "MALFORMED_TRANSACTION")
        #expect(try await rpc.request(.POST, "/v1/transactions", json: ["transaction": Data([2, 1, 0]).base64EncodedString()]).json["code"] as? String == "MALFORMED_TRANSACTION")
        #expect(try await rpc.request(.POST, "/v1/transactions", body: "{not json").json["code"] as? String == "MALFORMED_REQUEST")
        let huge = try await rpc.request(.POST, "/v1/transactions", json: ["transaction": Data(count: Limits.transactionBytesMax + 1).base64EncodedString()])
        #expect(huge.status == 413 && huge.json["code"] as? String == "TRANSACTION_TOO_LARGE")
        let body = try await rpc.request(.POST, "/v1/transactions", body: String(repeating: " ", count: 300 << 10))
        #expect(body.status == 413 && body.json["code"] as? String == "BODY_TOO_LARGE")

        // Batches answer per transaction, in order.
        let batch = try await rpc.request(.POST, "/v1/transactions/batch", json: [
            "transactions": [base64(node.transaction("sokha@aba", 2)), "%%%", base64(node.transaction("badsig@aba", 3)), base64(tx)],
        ])
        let results = batch.json["results"] as? [[String: Any]] ?? []
        #expect(batch.status == 200 && results.count == 4)
        #expect(results.map { $0["status"] as? String } == ["pending", "refused", "refused", "committed"])
        #expect(results.map { $0["code"] as? String } == [nil, "MALFORMED_TRANSACTION", "BAD_SIGNATURE", nil])
        #expect(try await rpc.request(.POST, "/v1/transactions/batch", json: ["transactions": 5]).status == 400)
        let many = try await rpc.request(.POST, "/v1/transactions/batch", json: ["transactions": Array(repeating: "AA==", count: 4_097)])
        #expect(many.status == 413 && many.json["code"] as? String == "BATCH_TOO_LARGE")
    }

    /// Numbers past their range, cursors, flags, bodies and methods that are not the API's: each
    /// refused with its code, never trapping (docs/architecture.md, "Untrusted input").
    func hostileInput(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        func code(_ path: String, headers: [(String, String)] = []) async throws -> String? {
            let answer = try await rpc.request(.GET, path, headers: headers)
            #expect(answer.status == 400, "\(path) \(headers): \(answer.status)")
            return answer.json["code"] as? String
        }
        for height in ["9223372036854775808", "18446744073709551615", "18446744073709551616", "0", "-1", "+1", "1e3", "%20"] {
            #expect(try await code("/v1/blocks/\(height)") == "MALFORMED_HEIGHT", "\(height)")
        }
        #expect(try await rpc.request(.GET, "/v1/blocks/9223372036854775807").status == 404)
        for from in ["9223372036854775808", "0", "-5", "x"] {
            #expect(try await code("/v1/blocks?from=\(from)") == "MALFORMED_QUERY", "\(from)")
            #expect(try await code("/v1/events?from=\(from)") == "MALFORMED_HEIGHT", "\(from)")
        }
        #expect(try await code("/v1/events?from=9223372036854775808", headers: [("Last-Event-ID", "0")]) == "MALFORMED_HEIGHT")
        for last in ["18446744073709551615", "9223372036854775808", "-1", "", "1.5", "01"] {
            #expect(try await code("/v1/events", headers: [("Last-Event-ID", last)]) == "MALFORMED_EVENT_ID", "\(last)")
        }
        for cursor in ["18446744073709551615:0", "9223372036854775808:0", "1:4294967296", "1:-1", ":", "1:2:3"] {
            #expect(try await code("/v1/accounts/sokha@aba/transactions?before=\(cursor)") == "MALFORMED_CURSOR", "\(cursor)")
        }
        #expect(try await rpc.request(.GET, "/v1/accounts/sokha@aba/transactions?before=9223372036854775807:4294967295").status == 200)
        #expect(try await code("/v1/accounts/sokha@aba?proof=yes") == "MALFORMED_QUERY")
        #expect(try await code("/v1/transactions/\(String(repeating: "0", count: 64))?transaction=2") == "MALFORMED_QUERY")
        #expect(try await code("/v1/transactions/\(String(repeating: "0", count: 64))?wait=18446744073709551616") == "MALFORMED_QUERY")

        // Bodies: JSON only, said to be JSON, one meaning only.
        let tx = base64(node.transaction("sokha@aba", 50))
        let untyped = try await rpc.request(.POST, "/v1/transactions", body: "{\"transaction\":\"\(tx)\"}", headers: [("Content-Type", "text/plain")])
        #expect(untyped.status == 415 && untyped.json["code"] as? String == "UNSUPPORTED_MEDIA_TYPE")
        let batchUntyped = try await rpc.request(.POST, "/v1/transactions/batch", body: "{\"transactions\":[]}", headers: [("Content-Type", "application/x-www-form-urlencoded")])
        #expect(batchUntyped.status == 415)
        for body in ["{\"transaction\":\"\(tx)\",\"transaction\":\"AA==\"}", "{\"transaction\":\"AA==\",\"transa\\u0063tion\":\"\(tx)\"}",
                     "{\"transaction\":\"\(tx)\",\"extra\":1}", "[\"\(tx)\"]", "\"\(tx)\"", "{\"transaction\":7}", ""] {
            let answer = try await rpc.request(.POST, "/v1/transactions", body: body)
            #expect(answer.status == 400 && answer.json["code"] as? String == "MALFORMED_REQUEST", "\(body.prefix(60))")
        }
        let duplicateBatch = try await rpc.request(.POST, "/v1/transactions/batch", body: "{\"transactions\":[],\"transactions\":[\"\(tx)\"]}")
        #expect(duplicateBatch.status == 400 && duplicateBatch.json["code"] as? String == "MALFORMED_REQUEST")
        #expect(try await rpc.request(.POST, "/v1/transactions", body: "{\"transaction\":\"\(tx)\"}", headers: [("Content-Type", "application/json; charset=utf-8")]).status == 202)
        // A body announced as larger than rpc.body_bytes_max is refused before any of it is awaited.
        let announcer = try await RawConnection.open(port: rpc.port)
        await announcer.send("POST /v1/transactions HTTP/1.1\r\nHost: tonle\r\nContent-Type: application/json\r\nContent-Length: 18446744073709551615\r\n\r\n{")
        let announced = await announcer.responseStatus(within: 5)
        #expect(announced == 413 && announcer.received.contains("BODY_TOO_LARGE"))
        rpc.observed.record("POST", "/v1/transactions", announced ?? 0)
        await announcer.close()

        // A path the API has, with a method it does not take: 405 and the methods it takes.
        for (method, path, allow) in [(HTTPMethod.DELETE, "/v1/blocks/7", "GET"), (.PUT, "/v1/transactions", "POST"), (.GET, "/v1/transactions/batch", "POST"),
                                      (.HEAD, "/v1/events", "GET"), (.PATCH, "/health", "GET"), (.OPTIONS, "/v1/status", "GET")] {
            let answer = try await rpc.request(method, path)
            #expect(answer.status == 405 && answer.header("Allow") == allow, "\(method) \(path): \(answer.status) \(answer.header("Allow") ?? "-")")
            if method != .HEAD { #expect(answer.json["code"] as? String == "METHOD_NOT_ALLOWED") }
        }
        // /v1/transactions/{id} takes GET; /v1/transactions/batch takes POST: a POST to an id path is 405 too.
        #expect(try await rpc.request(.POST, "/v1/transactions/\(String(repeating: "0", count: 64))", body: "{}").header("Allow") == "GET")
        #expect(try await rpc.request(.DELETE, "/v1/nothing-here").status == 404)
    }

    func transactionQueries(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        let tx = node.transaction("sokha@aba", 10)
        _ = try await rpc.request(.POST, "/v1/transactions", json: ["transaction": base64(tx)])
        let pending = try await rpc.request(.GET, "/v1/transactions/\(tx.id)")
        #expect(pending.json["status"] as? String == "pending" && pending.json["transaction"] as? String == base64(tx))
        let unknown = try await rpc.request(.GET, "/v1/transactions/\(String(repeating: "0", count: 64))")
        #expect(unknown.status == 200 && unknown.json["status"] as? String == "unknown")
        #expect(try await rpc.request(.GET, "/v1/transactions/xyz").json["code"] as? String == "MALFORMED_ID")
        #expect(try await rpc.request(.GET, "/v1/transactions/\(tx.id)?wait=999").json["code"] as? String == "MALFORMED_QUERY")

        // A long poll returns as soon as the transaction's block is stored.
        async let waited = rpc.request(.GET, "/v1/transactions/\(tx.id)?wait=10")
        try await Task.sleep(for: .milliseconds(300))
        node.commit(tx.id)
        let answer = try await waited
        #expect(answer.json["status"] as? String == "committed" && answer.json["height"] as? Int == node.state.withLock { Int($0.height) })
        #expect(answer.json["transaction"] == nil)
        #expect(try await rpc.request(.GET, "/v1/transactions/\(tx.id)?transaction=true").json["transaction"] as? String == base64(tx))
    }

    /// A committed transaction's receipt verifies offline under the set of its height and no
    /// other; a changed byte anywhere in it does not verify.
    func receipts(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        let tx = node.transaction("sokha@aba", 11)
        _ = try await rpc.request(.POST, "/v1/transactions", json: ["transaction": base64(tx)])
        #expect(try await rpc.request(.GET, "/v1/transactions/\(tx.id)/receipt").status == 404, "not committed yet")
        node.commit(tx.id)
        let answer = try await rpc.request(.GET, "/v1/transactions/\(tx.id)/receipt")
        #expect(answer.status == 200 && answer.json["result"] as? String == "applied")
        let view = try JSONDecoder().decode(ReceiptView.self, from: answer.body)
        let receipt = try OfflineVerifier.verifyReceipt(view, validators: node.validatorSet)
        #expect(receipt.transaction == tx && receipt.result == .applied)
        let stranger = try ValidatorSet([Validator(publicKey: node.key.publicKey, power: 10, name: "x")])
        #expect(throws: OfflineVerifier.Invalid.self) { try OfflineVerifier.verifyReceipt(view, validators: stranger) }
        var forged = view
        forged.result = "INSUFFICIENT_FUNDS"
        #expect(throws: OfflineVerifier.Invalid.self) { try OfflineVerifier.verifyReceipt(forged, validators: node.validatorSet) }
        #expect(try await rpc.request(.GET, "/v1/transactions/xyz/receipt").json["code"] as? String == "MALFORMED_ID")
        node.state.withLock { $0.anchorAvailable = false }
        let notReady = try await rpc.request(.GET, "/v1/transactions/\(tx.id)/receipt")
        #expect(notReady.status == 503 && notReady.json["code"] as? String == "PROOF_NOT_READY" && notReady.header("Retry-After") == "1")
        node.state.withLock { $0.anchorAvailable = true }
    }

    func accounts(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        let account = try await rpc.request(.GET, "/v1/accounts/sokha@aba")
        #expect(account.status == 200 && account.json["proof"] == nil)
        let balances = account.json["balances"] as? [[String: Any]] ?? []
        #expect(balances.first?["balance"] as? String == "123.45" && balances.first?["held"] as? String == "0.45" && balances.first?["available"] as? String == "123.00")
        #expect(account.json["keys"] as? [String] == [node.key.publicKey.hex] && account.json["quorum"] as? Int == 1)

        // The proof verifies offline against the fake's validator set — and not against another.
        let proven = try await rpc.request(.GET, "/v1/accounts/sokha%40aba?proof=true")
        let proof = try JSONDecoder().decode(AccountView.self, from: proven.body).proof
        let view = try #require(proof)
        let record = try OfflineVerifier.verifyAccount(try AccountID("sokha@aba"), proof: view, validators: node.validatorSet)
        #expect(record.balance(.usd).balance == 12_345)
        let stranger = try ValidatorSet([Validator(publicKey: node.key.publicKey, power: 10, name: "x")])
        #expect(throws: OfflineVerifier.Invalid.self) { try OfflineVerifier.verifyAccount(try AccountID("sokha@aba"), proof: view, validators: stranger) }

        node.state.withLock { $0.anchorAvailable = false }
        let notReady = try await rpc.request(.GET, "/v1/accounts/sokha@aba?proof=true")
        #expect(notReady.status == 503 && notReady.json["code"] as? String == "PROOF_NOT_READY")
        node.state.withLock { $0.anchorAvailable = true }

        #expect(try await rpc.request(.GET, "/v1/accounts/nobody@aba").status == 404)
        #expect(try await rpc.request(.GET, "/v1/accounts/NOT-AN-ID").json["code"] as? String == "MALFORMED_ACCOUNT")

        // History pages backwards with the cursor each page gives.
        let first = try await rpc.request(.GET, "/v1/accounts/sokha@aba/transactions?limit=2")
        #expect((first.json["transactions"] as? [[String: Any]])?.map { $0["height"] as? Int } == [5, 4])
        let next = try #require(first.json["next"] as? String)
        let second = try await rpc.request(.GET, "/v1/accounts/sokha@aba/transactions?limit=2&before=\(next)")
        #expect((second.json["transactions"] as? [[String: Any]])?.map { $0["height"] as? Int } == [3, 2])
        #expect(try await rpc.request(.GET, "/v1/accounts/sokha@aba/transactions?before=yesterday").json["code"] as? String == "MALFORMED_CURSOR")
        #expect(try await rpc.request(.GET, "/v1/accounts/sokha@aba/transactions?limit=0").json["code"] as? String == "MALFORMED_QUERY")

        // A camt.053 statement, its text escaped; refusals by code.
        let statement = try await rpc.request(.GET, "/v1/accounts/sokha@aba/statement?date=2026-12-08")
        let xml = String(decoding: statement.body, as: UTF8.self)
        #expect(statement.status == 200 && xml.hasPrefix("<?xml") && xml.contains("<Ustrd>R&amp;D &lt;1&gt;</Ustrd>") && xml.contains("<Amt Ccy=\"KHR\">1250</Amt>"), "\(xml)")
        #expect(try await rpc.request(.GET, "/v1/accounts/sokha@aba/statement").json["code"] as? String == "MALFORMED_DATE")
        #expect(try await rpc.request(.GET, "/v1/accounts/sokha@aba/statement?date=2026-02-30").json["code"] as? String == "MALFORMED_DATE")
        #expect(try await rpc.request(.GET, "/v1/accounts/sokha@aba/statement?date=2026-12-08&format=csv").json["code"] as? String == "MALFORMED_QUERY")
        #expect(try await rpc.request(.GET, "/v1/accounts/nobody@aba/statement?date=2026-12-08").status == 404)
        #expect(try await rpc.request(.GET, "/v1/accounts/pruned@aba/statement?date=2026-12-08").json["code"] as? String == "STATEMENT_UNAVAILABLE")
        node.state.withLock { $0.busy = true }
        #expect(try await rpc.request(.GET, "/v1/accounts/sokha@aba/statement?date=2026-12-08").status == 503)
        node.state.withLock { $0.busy = false }
    }

    func blocksAndValidators(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        let block = try await rpc.request(.GET, "/v1/blocks/2")
        #expect(block.status == 200 && block.json["height"] as? Int == 2)
        let set = node.validatorSet
        #expect(throws: Never.self) {
            try OfflineVerifier.verifyHeader(Hex.decode(block.json["header"] as? String ?? "") ?? [], certificate: Hex.decode(block.json["certificate"] as? String ?? "") ?? [], validators: set)
        }
        #expect(try await rpc.request(.GET, "/v1/blocks/999").status == 404)
        #expect(try await rpc.request(.GET, "/v1/blocks/0").json["code"] as? String == "MALFORMED_HEIGHT")
        let list = try await rpc.request(.GET, "/v1/blocks?from=2&limit=2")
        #expect((list.json["blocks"] as? [[String: Any]])?.map { $0["height"] as? Int } == [2, 3])
        let latest = try await rpc.request(.GET, "/v1/blocks")
        #expect((latest.json["blocks"] as? [[String: Any]])?.last?["height"] as? Int == node.state.withLock { Int($0.height) })
        #expect(try await rpc.request(.GET, "/v1/blocks?limit=abc").status == 400)
        let validators = try await rpc.request(.GET, "/v1/validators")
        #expect(validators.json["total_power"] as? Int == 10 && validators.json["quorum_power"] as? Int == 7)
        #expect(validators.json["encoded"] as? String == Hex.encode(set.encoded))
        let top = node.state.withLock { $0.height }
        let old = try await rpc.request(.GET, "/v1/validators?height=1")
        #expect(old.status == 200 && old.json["block_height"] as? Int == 1 && old.json["encoded"] as? String == Hex.encode(set.encoded))
        #expect(try await rpc.request(.GET, "/v1/validators").json["block_height"] as? Int == Int(top) + 1, "without a height: the set of the next block")
        let future = try await rpc.request(.GET, "/v1/validators?height=\(top + 2)")
        #expect(future.status == 404 && future.json["code"] as? String == "NOT_FOUND")
        for height in ["0", "-1", "9223372036854775808", "x", ""] {
            #expect(try await rpc.request(.GET, "/v1/validators?height=\(height)").json["code"] as? String == "MALFORMED_HEIGHT", "\(height)")
        }
    }

    func events(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        let top = node.state.withLock { $0.height }
        let (status, reader) = try await rpc.events("?from=\(top - 1)")
        #expect(status == 200)
        #expect(try await reader.next()?["id"] == "\(top - 1)")
        #expect(try await reader.next()?["id"] == "\(top)")
        // A new block arrives on the open stream, with its transactions' results.
        let tx = node.transaction("sokha@aba", 20)
        _ = try await rpc.request(.POST, "/v1/transactions", json: ["transaction": base64(tx)])
        node.commit(tx.id)
        let event = try #require(try await reader.next())
        #expect(event["id"] == "\(top + 1)" && event["event"] == "block" && event["data"]?.contains(tx.id.description) == true)
        // Resuming with Last-Event-ID starts after it; the stream limit (2 here) refuses a third.
        let (_, resumed) = try await rpc.events(headers: [("Last-Event-ID", "\(top)")])
        #expect(try await resumed.next()?["id"] == "\(top + 1)")
        let (refused, _) = try await rpc.events()
        #expect(refused == 503)
        let (malformed, _) = try await rpc.events(headers: [("Last-Event-ID", "yesterday")])
        #expect(malformed == 400)
    }

    /// `?account=` streams only blocks with transactions naming the account, and only those
    /// transactions; `?gateway=` only the gateway's; both at once, or a malformed id, is refused.
    func filteredEvents(_ observed: Observations) async throws {
        let node = FakeNode()
        var config = RPCHarness.testConfig
        config.eventStreamsMax = 3
        try await RPCHarness.with(node, config: config, observed: observed) { rpc in
            let top = node.state.withLock { $0.height }
            let (byAccount, accountReader) = try await rpc.events("?account=sokha@aba")
            let (byGateway, gatewayReader) = try await rpc.events("?gateway=wing")
            let (byEither, eitherReader) = try await rpc.events("?account=sokha@aba&gateway=wing")
            #expect(byAccount == 200 && byGateway == 200 && byEither == 200)
            let other = node.transaction("srey@wing", 30), mine = node.transaction("sokha@aba", 31)
            _ = await node.submit([other, mine])
            node.commit(other.id)
            node.commit(mine.id)
            let first = try #require(try await accountReader.next())
            #expect(first["id"] == "\(top + 2)", "the block of srey@wing's transfer is not sent to sokha@aba's stream")
            #expect(first["data"]?.contains(mine.id.description) == true && first["data"]?.contains(other.id.description) == false)
            let wing = try #require(try await gatewayReader.next())
            #expect(wing["id"] == "\(top + 1)" && wing["data"]?.contains(other.id.description) == true)
            for query in ["?account=nobody", "?gateway=UPI", "?account=sokha@aba&gateway=-x"] {
                let (status, _) = try await rpc.events(query)
                #expect(status == 400, "\(query)")
            }
            // Both given: either.
            #expect(try await eitherReader.next()?["id"] == "\(top + 1)")
            #expect(try await eitherReader.next()?["id"] == "\(top + 2)")
        }
    }

    func rateLimits(_ observed: Observations) async throws {
        var config = RPCHarness.testConfig
        (config.ratePerSecond, config.rateBurst) = (0.001, 1)
        let node = FakeNode()
        try await RPCHarness.with(node, config: config, observed: observed) { rpc in
            for route in RPCServer.routes where route.statuses.contains(429) {
                let path = route.path.replacingOccurrences(of: "{id}", with: route.path.contains("accounts") ? "sokha@aba" : String(repeating: "0", count: 64))
                    .replacingOccurrences(of: "{height}", with: "1").replacingOccurrences(of: "{gateway}", with: "upi")
                    .replacingOccurrences(of: "{reference}", with: "upi-1").replacingOccurrences(of: "{file}", with: "app.js")
                let method: HTTPMethod = route.method == "POST" ? .POST : .GET
                var answer = try await rpc.request(method, path, json: method == .POST ? ["transactions": []] : nil)
                for _ in 0..<3 where answer.status != 429 { answer = try await rpc.request(method, path, json: method == .POST ? ["transactions": []] : nil) }
                #expect(answer.status == 429 && answer.json["code"] as? String == "RATE_LIMITED" && answer.header("Retry-After") == "1", "\(route.path)")
            }
            // Probes are never limited.
            for _ in 0..<5 { #expect(try await rpc.request(.GET, "/health").status == 200) }
        }
    }

    func settlementReports(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        let positions = try await rpc.request(.GET, "/v1/gateways/upi/positions")
        #expect(positions.status == 200 && positions.json["gateway"] as? String == "upi")
        let khr = (positions.json["positions"] as? [[String: Any]])?.first { $0["currency"] as? String == "KHR" }
        #expect(khr?["gross_inward"] as? String == "337950" && khr?["count"] as? Int == 4 && khr?["top_ups"] as? String == "1000000")
        #expect(khr?["net_position"] as? String == "-337950")
        let balances = positions.json["balances"] as? [[String: Any]] ?? []
        #expect(balances.contains { $0["account"] as? String == "prefund@upi" && $0["currency"] as? String == "KHR" && $0["balance"] as? String == "662050" })
        let date = positions.json["business_date"] as? String ?? ""
        #expect(try await rpc.request(.GET, "/v1/gateways/upi/positions?date=\(date)").json["business_date"] as? String == date)
        let otherDay = try await rpc.request(.GET, "/v1/gateways/upi/positions?date=2020-01-01")
        #expect((otherDay.json["positions"] as? [[String: Any]])?.first?["count"] as? Int == 0)
        #expect(try await rpc.request(.GET, "/v1/gateways/upi/positions?date=2026-13-01").json["code"] as? String == "MALFORMED_DATE")
        #expect(try await rpc.request(.GET, "/v1/gateways/UPI/positions").json["code"] as? String == "MALFORMED_GATEWAY")
        #expect(try await rpc.request(.GET, "/v1/gateways/aba/positions").status == 404, "a bank is not a gateway")

        #expect(khr?["reference_checked"] as? Int == 3 && khr?["average_deviation_bps"] as? Int == 0, "the remittances were checked against the reference rate")

        // The reference rate of the day; none on another; malformed pairs refused.
        let rate = try await rpc.request(.GET, "/v1/reference-rates/CNY/KHR")
        #expect(rate.status == 200 && rate.json["rate"] as? String == "563.25" && rate.json["tolerance_bps"] as? Int == 100 && rate.json["business_date"] as? String == date)
        #expect(try await rpc.request(.GET, "/v1/reference-rates/CNY/KHR?date=2020-01-01").status == 404)
        #expect(try await rpc.request(.GET, "/v1/reference-rates/AAA/AAA").status == 404)
        #expect(try await rpc.request(.GET, "/v1/reference-rates/cny/KHR").json["code"] as? String == "MALFORMED_CURRENCY")
        #expect(try await rpc.request(.GET, "/v1/reference-rates/CNY/KHR?date=tomorrow").json["code"] as? String == "MALFORMED_DATE")

        // Entries, newest first, two per page.
        let first = try await rpc.request(.GET, "/v1/gateways/upi/entries?limit=2")
        #expect(first.status == 200)
        #expect((first.json["entries"] as? [[String: Any]])?.map { $0["reference"] as? String } == ["upi-3", "upi-2"])
        let row = (first.json["entries"] as? [[String: Any]])?.first
        #expect(row?["kind"] as? String == "INWARD_REMITTANCE" && row?["amount"] as? String == "168975" && row?["foreign_amount"] as? String == "300.00")
        #expect(row?["foreign_currency"] as? String == "CNY" && row?["fx_rate"] as? String == "563.25" && row?["account"] as? String == "sokha@aba")
        #expect(row?["reference_rate"] as? String == "563.25" && row?["deviation_bps"] as? Int == 0)
        let next = try #require(first.json["next"] as? String)
        let second = try await rpc.request(.GET, "/v1/gateways/upi/entries?limit=2&before=\(next)")
        #expect((second.json["entries"] as? [[String: Any]])?.map { $0["reference"] as? String } == ["upi-1", "wire-1"])
        #expect(second.json["next"] == nil)
        #expect(try await rpc.request(.GET, "/v1/gateways/upi/entries?currency=USD").json["entries"] as? [Any] != nil)
        #expect(try await rpc.request(.GET, "/v1/gateways/upi/entries?currency=CNY").json["code"] as? String == "MALFORMED_QUERY")
        #expect(try await rpc.request(.GET, "/v1/gateways/upi/entries?before=zz").json["code"] as? String == "MALFORMED_CURSOR")
        // A well-formed cursor that names no entry of this statement: nothing there.
        let missing = try await rpc.request(.GET, "/v1/gateways/upi/entries?before=\(String(repeating: "0", count: 64))")
        #expect(missing.status == 404 && missing.json["code"] as? String == "NOT_FOUND")
        #expect(try await rpc.request(.GET, "/v1/gateways/wechat/entries").status == 404)

        let lookup = try await rpc.request(.GET, "/v1/settlements/upi/upi-2")
        #expect(lookup.status == 200 && (lookup.json["entries"] as? [[String: Any]])?.first?["class"] as? String == "payment")
        #expect(try await rpc.request(.GET, "/v1/settlements/upi/nope").status == 404)
        #expect(try await rpc.request(.GET, "/v1/settlements/upi/bad%20ref").json["code"] as? String == "MALFORMED_REFERENCE")
        try await settlementProofs(rpc, node)
    }

    /// Positions and entries with `?proof=true`, verified offline from the JSON as a gateway would;
    /// integers beside every decimal amount; `closed_by` null while open.
    func settlementProofs(_ rpc: RPCHarness, _ node: FakeNode) async throws {
        let plain = try await rpc.request(.GET, "/v1/gateways/upi/positions")
        let khr = (plain.json["positions"] as? [[String: Any]])?.first { $0["currency"] as? String == "KHR" }
        #expect(khr?["gross_inward_minor"] as? Int == 337_950 && khr?["net_position_minor"] as? Int == -337_950 && khr?["top_ups_minor"] as? Int == 1_000_000)
        #expect(khr?.keys.contains("closed_by") == true && khr?["closed_by"] is NSNull, "closed_by is null while the cycle is open")
        #expect(khr?["proof"] == nil)
        #expect((plain.json["balances"] as? [[String: Any]])?.first { $0["account"] as? String == "prefund@upi" && $0["currency"] as? String == "KHR" }?["balance_minor"] as? Int == 662_050)

        let proven = try await rpc.request(.GET, "/v1/gateways/upi/positions?proof=true")
        #expect(proven.status == 200)
        let positions = try JSONDecoder().decode(GatewayPositionsView.self, from: proven.body)
        let date = try #require(BusinessDate(positions.businessDate))
        for position in positions.positions {
            #expect(throws: Never.self) { try OfflineVerifier.verifyPosition(position, gateway: try InstitutionID("upi"), date: date, validators: node.validatorSet) }
        }
        #expect(try await rpc.request(.GET, "/v1/gateways/upi/positions?proof=maybe").json["code"] as? String == "MALFORMED_QUERY")

        let lookup = try await rpc.request(.GET, "/v1/settlements/upi/upi-2?proof=true")
        let entries = try JSONDecoder().decode(SettlementLookupView.self, from: lookup.body)
        let entry = try #require(entries.entries.first)
        #expect(entry.amountMinor == 112_650 && entry.foreignAmountMinor == 20_000 && entry.returnedMinor == 0)
        #expect(try OfflineVerifier.verifyEntry(entry, validators: node.validatorSet).externalReference == "upi-2")
        #expect(try await rpc.request(.GET, "/v1/settlements/upi/upi-2?proof=2").json["code"] as? String == "MALFORMED_QUERY")

        node.state.withLock { $0.anchorAvailable = false }
        for path in ["/v1/gateways/upi/positions?proof=true", "/v1/settlements/upi/upi-2?proof=true"] {
            let notReady = try await rpc.request(.GET, path)
            #expect(notReady.status == 503 && notReady.json["code"] as? String == "PROOF_NOT_READY", "\(path)")
        }
        node.state.withLock { $0.anchorAvailable = true }
    }
}
