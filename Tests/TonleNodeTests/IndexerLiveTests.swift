import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing
import TonleCrypto
import TonleIndexer
import TonleNode
import TonleRPC
import TonleTypes

/// The SQL reporting sink against four real `tonle-node` processes and a real PostgreSQL:
/// `tonle index` runs as a process, is killed with SIGKILL and resumes; the result equals an
/// uninterrupted run, reconciles with the ledger's balances and entries, and answers the
/// queries in docs/reporting.md. A node that forges a block gets nothing written.
extension ProcessTests {
    @Test("SQL reporting sink: tonle index into a real PostgreSQL, killed and resumed, reconciled with the ledger; forged blocks refused")
    func indexerOnARealNetwork() async throws {
        let postgres = try TestPostgres.start()
        defer { postgres.stop() }
        for database in ["clean", "killed", "forged"] { try postgres.createDatabase(database) }
        try await withNetwork { network in
            let dir = network.directory.path
            let rpc = "http://127.0.0.1:\(network.rpcPorts[1])"
            let node = ["--node", rpc]
            let key = { (name: String) in ["--key", "\(dir)/keys/\(name).key"] }
            func expectApplied(_ arguments: [String], _ what: String) throws {
                let result = try tonle(arguments + ["--wait", "30"] + node)
                #expect(result.status == 0, "\(what): \(result.stdout)\(result.stderr)")
            }

            // A day's business: an inward QR payment (the Python client), an outward payment, a
            // remittance, a partial refund, holds posted in part, in full and voided, a gateway cut-off,
            // and a burst of transfers.
            // Today's KHR/CNY reference rate: the payment below is checked against it (and the client's
            // remittance 5 % off it is refused).
            try expectApplied(["admin", "set-reference-rate", "--unit", "KHR", "--quoted", "CNY", "--rate", "0.0017753", "--tolerance-bps", "100",
                               "--creator", "admin@nbc"] + key("nbc"), "reference rate")
            let client = try python(["docs/examples/gateway_client.py", "--node", "http://127.0.0.1:\(network.rpcPorts[0])",
                                     "--gateway-key", "\(dir)/keys/alipay.key", "--payer-key", "\(dir)/keys/aba.key", "--reference", "ALP-IDX-1"])
            #expect(client.status == 0, "\(client.stdout)\(client.stderr)")
            try expectApplied(["settle", "outward", "--gateway", "upi", "--reference", "UPI-IDX-1", "--from", "sokha@aba", "--currency", "KHR",
                               "--foreign", "100.00", "--foreign-currency", "CNY", "--rate", "563.25"] + key("upi") + key("aba"), "outward")
            try expectApplied(["settle", "remit", "--gateway", "upi", "--reference", "WU-IDX-1", "--to", "srey@wing", "--currency", "USD",
                               "--foreign", "200000", "--foreign-currency", "KRW", "--rate", "0.00068"] + key("upi"), "remittance")
            try expectApplied(["settle", "refund", "--gateway", "alipay", "--reference", "RF-IDX-1", "--original", "ALP-IDX-1", "--account", "merchant.kampot@wing",
                               "--amount", "1000", "--currency", "KHR"] + key("alipay") + key("wing"), "refund")
            let holds = ["00000000000000000000000000000a01", "00000000000000000000000000000a02", "00000000000000000000000000000a03"]
            for (id, amount) in zip(holds, ["5.00", "3.00", "1.00"]) {
                try expectApplied(["tx", "hold"] + key("aba") + ["--id", id, "--from", "sokha@aba", "--to", "dara@aba", "--amount", amount, "--currency", "USD"], "hold \(id)")
            }
            try expectApplied(["tx", "post"] + key("aba") + ["--id", holds[0], "--creator", "dara@aba", "--amount", "2.00", "--currency", "USD"], "partial post")
            try expectApplied(["tx", "post"] + key("aba") + ["--id", holds[1], "--creator", "dara@aba"], "full post")
            try expectApplied(["tx", "void"] + key("aba") + ["--id", holds[2], "--creator", "dara@aba"], "void")
            try expectApplied(["admin", "configure-gateway", "--gateway", "upi", "--cutoff", "17:30:00", "--creator", "admin@nbc"] + key("nbc"), "cut-off")
            let burst = try network.transfers(60, tag: 0x1D8)
            _ = await network.submit(1, burst)
            #expect(await LocalNetwork.eventually(60) { (await network.status(1)?["mempool_transactions"] as? Int) == 0 }, "the burst commits")
            // Index through a height after all of it; the block after it must exist too.
            let tip = try #require(await network.height(1)) + 1
            #expect(await LocalNetwork.eventually(30) { (await network.height(1) ?? 0) > tip })
            let index = ["index", "--genesis", "\(dir)/genesis.json", "--until-height", "\(tip)"] + node

            // An uninterrupted run.
            let clean = try tonle(index + ["--postgres", postgres.url("clean"), "--json"], seconds: 300)
            #expect(clean.status == 0 && clean.json["last_height"] as? Int == Int(tip), "\(clean.stdout)\(clean.stderr)")
            #expect(clean.json["blocks"] as? Int == Int(tip) && (clean.json["transactions"] as? Int ?? 0) >= 70, "\(clean.stdout)")

            // A run killed with SIGKILL in the middle of a block's SQL transaction: another session
            // holds a lock on tonle.holds, which every block writes last, so the indexer stops there
            // with block K + 1's other rows inserted but not committed (K + 1: a block that moves money).
            // It is killed, then resumed.
            let k = try #require(Int(try postgres.query("clean", "SELECT min(height) - 1 FROM tonle.postings WHERE height >= 2").first ?? ""))
            let first = try tonle(index.map { $0 == "\(tip)" ? "\(k)" : $0 } + ["--postgres", postgres.url("killed")])
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let locker = Process()
            locker.executableURL = postgres.bin.appendingPathComponent("psql")
            locker.arguments = ["-h", "127.0.0.1", "-p", "\(postgres.port)", "-U", TestPostgres.user, "-d", "killed", "-c",
                                "BEGIN; LOCK TABLE tonle.holds IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;"]
            (locker.standardOutput, locker.standardError) = (FileHandle.nullDevice, FileHandle.nullDevice)
            try locker.run()
            let lockedSQL = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'holds' AND l.mode = 'AccessExclusiveLock' AND l.granted"
            #expect(await LocalNetwork.eventually(30) { (try? postgres.query("killed", lockedSQL)) == ["1"] }, "the lock is held")
            let killed = Process()
            killed.executableURL = LocalNetwork.binaries.appendingPathComponent("tonle")
            killed.arguments = ["index", "--genesis", "\(dir)/genesis.json", "--postgres", postgres.url("killed")] + node
            (killed.standardOutput, killed.standardError) = (FileHandle.nullDevice, FileHandle.nullDevice)
            try killed.run()
            let waitingSQL = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM tonle.holds WHERE expires_ms%'"
            let waiting = await LocalNetwork.eventually(60) { (try? postgres.query("killed", waitingSQL)) == ["1"] }
            kill(killed.processIdentifier, SIGKILL)
            killed.waitUntilExit()
            _ = try postgres.query("killed", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")
            locker.waitUntilExit()
            #expect(waiting && killed.terminationReason == .uncaughtSignal, "the indexer was killed inside block \(k + 1)'s transaction")
            let killedAt = try #require(Int(try postgres.query("killed", "SELECT height FROM tonle.indexer").first ?? ""))
            #expect(killedAt == k, "block \(k + 1) was rolled back")
            // Every block is all there or not at all.
            for table in ["blocks", "transactions", "postings", "settlement_entries"] {
                try #expect(postgres.query("killed", "SELECT coalesce(max(height), 0) FROM tonle.\(table) WHERE height > \(k)") == ["0"], "\(table)")
            }
            try #expect(postgres.query("killed", """
                SELECT count(*) FROM tonle.blocks b WHERE b.transactions <> (SELECT count(*) FROM tonle.transactions t WHERE t.height = b.height)
                """) == ["0"])
            let resumed = try tonle(index + ["--postgres", postgres.url("killed"), "--json"], seconds: 300)
            #expect(resumed.status == 0 && resumed.json["first_height"] as? Int == k + 1 && resumed.json["last_height"] as? Int == Int(tip),
                    "killed at \(killedAt): \(resumed.stdout)\(resumed.stderr)")
            let tables = try dumps(postgres, "clean")
            try #expect(dumps(postgres, "killed") == tables, "killed at block \(killedAt) and resumed, the tables equal an uninterrupted run's")
            let again = try tonle(index + ["--postgres", postgres.url("clean")])
            #expect(again.status == 0 && again.stdout.contains("nothing to index"), "\(again.stdout)\(again.stderr)")
            try #expect(dumps(postgres, "clean") == tables, "a second run changes nothing")

            // The blocks are the chain's.
            for height in 1...tip {
                let hash = await network.block(1, height)?["hash"] as? String
                try #expect(postgres.query("clean", "SELECT hash FROM tonle.blocks WHERE height = \(height)") == [hash ?? "?"], "block \(height)")
            }
            // Every account's postings sum to its balance on the ledger, per currency.
            let sums = try postgres.query("clean", "SELECT account, currency, sum(amount_minor) FROM tonle.postings GROUP BY 1, 2 ORDER BY 1, 2")
            let accounts = try postgres.query("clean", "SELECT id FROM tonle.accounts ORDER BY id")
            var ledger: [String] = [], supply: [String: Int64] = [:]
            for account in accounts {
                let view = try #require(await network.get(1, "v1/accounts/\(account)"), "account \(account)")
                let issuance = (view["flags"] as? [String])?.contains("issuance") == true
                for balance in view["balances"] as? [[String: Any]] ?? [] {
                    let currency = balance["currency"] as? String ?? "?", minor = (balance["balance_minor"] as? NSNumber)?.int64Value ?? 0
                    if minor != 0 { ledger.append("\(account)|\(currency)|\(minor)") }
                    if !issuance { supply[currency, default: 0] += minor }
                }
            }
            #expect(sums.filter { !$0.hasSuffix("|0") } == ledger.sorted(), "postings by account and currency equal the ledger's balances")
            #expect(sums.contains { $0.hasPrefix("dara@aba|USD|") } && ledger.contains { $0.hasPrefix("merchant.kampot@wing|KHR|") })

            // Settlement entries equal the node's report, with the refund counted against the original.
            let date = try #require(try postgres.query("clean", "SELECT business_date FROM tonle.settlement_entries WHERE reference = 'UPI-IDX-1'").first)
            let report = try #require(await network.get(1, "v1/gateways/upi/entries?date=\(date)&currency=KHR"))
            let reported = (report["entries"] as? [[String: Any]] ?? []).map { "\($0["reference"] as? String ?? "")|\($0["kind"] as? String ?? "")|\($0["amount_minor"] as? Int ?? 0)" }
            try #expect(postgres.query("clean", """
                SELECT reference, kind, amount_minor FROM tonle.settlement_entries WHERE gateway = 'upi' AND business_date = '\(date)' AND currency = 'KHR'
                ORDER BY reference
                """) == reported.sorted() && !reported.isEmpty, "\(reported)")
            try #expect(postgres.query("clean", "SELECT returned_minor, fx_rate, reference_rate, deviation_bps FROM tonle.settlement_entries WHERE reference = 'ALP-IDX-1'")
                        == ["1000|0.0017753|0.0017753|0"], "the refund counted, and the reference rate the ledger checked the quote against")
            try #expect(postgres.query("clean", "SELECT unit_currency, quoted_currency, rate, tolerance_bps FROM tonle.reference_rates") == ["KHR|CNY|0.0017753|100"])
            try #expect(postgres.query("clean", "SELECT count(*), min(source), min(target) FROM tonle.holds") == ["0||"], "posted and voided holds are gone")
            try #expect(postgres.query("clean", "SELECT cutoff_ms FROM tonle.gateways WHERE gateway = 'upi'") == ["63000000"], "17:30 ICT")

            // The queries in docs/reporting.md run, and its supply query agrees with the ledger.
            let documented = try reportingQueries()
            #expect(documented.count >= 4, "docs/reporting.md has its reconciliation queries")
            for (title, sql) in documented {
                let rows = try postgres.query("clean", sql)
                if title.contains("supply") {
                    #expect(rows.sorted() == supply.filter { $0.value != 0 }.map { "\($0.key)|\($0.value)" }.sorted(), "\(title): \(rows) vs \(supply)")
                } else {
                    #expect(!rows.isEmpty, "\(title) returns rows")
                }
            }

            // A node that forges: an altered result, a transaction swapped for another, a signature
            // changed. Each run stops before the forged block with nothing of it written.
            let forgedHeight = try #require(UInt64(try postgres.query("clean", "SELECT height FROM tonle.settlement_entries WHERE reference = 'UPI-IDX-1'").first ?? ""))
            let otherBytes = try #require(try await TamperingSource.fetch(rpc, forgedHeight - 1)?.transactionBytes?.first, "the block before has a transaction")
            let forgeries: [(String, @Sendable (inout BlockView) -> Void)] = [
                ("a result", { $0.results[0] = "INSUFFICIENT_FUNDS"; $0.rejections = [RejectionView(index: 0, .rejected(.insufficientFunds, command: 0))] }),
                ("a transaction", { $0.transactionBytes?[0] = otherBytes }),
                ("a signature", { view in
                    var bytes = [UInt8](Data(base64Encoded: view.transactionBytes![0])!)
                    bytes[bytes.count - 1] ^= 1
                    view.transactionBytes![0] = Data(bytes).base64EncodedString()
                }),
            ]
            let genesis = try GenesisFile.load(path: "\(dir)/genesis.json")
            for (what, forge) in forgeries {
                let indexer = Indexer(source: TamperingSource(base: rpc, height: forgedHeight, forge: forge), genesis: genesis,
                                      options: Indexer.Options(untilHeight: tip), logger: Logger(label: "forged")) {
                    try await PostgresSink.connect(try PostgresURL(postgres.url("forged")), logger: Logger(label: "forged"))
                }
                do {
                    _ = try await indexer.run()
                    Issue.record("a forged \(what) was indexed")
                } catch let error as Indexer.Fatal {
                    #expect(error.description.contains("certificates do not back"), "\(what): \(error)")
                }
                try #expect(postgres.query("forged", "SELECT height FROM tonle.indexer") == ["\(forgedHeight - 1)"], "forged \(what)")
                try #expect(postgres.query("forged", "SELECT count(*) FROM tonle.postings WHERE height >= \(forgedHeight)") == ["0"])
            }
            let honest = try tonle(index + ["--postgres", postgres.url("forged")], seconds: 300)
            try #expect(honest.status == 0 && dumps(postgres, "forged") == tables, "\(honest.stdout)\(honest.stderr)")
        }
    }

    /// Every reporting table of `database`, sorted, as text (the position's time aside).
    func dumps(_ postgres: TestPostgres, _ database: String) throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        for (table, order) in [("blocks", "height"), ("transactions", "height, tx_index"), ("postings", "height, tx_index, posting_index"),
                               ("settlement_entries", "gateway, reference_class, reference"), ("accounts", "id"), ("gateways", "gateway"),
                               ("holds", "id"), ("currencies", "code")] {
            tables[table] = try postgres.query(database, "SELECT * FROM tonle.\(table) ORDER BY \(order)")
        }
        tables["indexer"] = try postgres.query(database, "SELECT schema_version, chain_id, genesis_hash, height, block_hash, next_validators FROM tonle.indexer")
        return tables
    }

    /// The `sql` blocks of docs/reporting.md under a heading, with the heading.
    func reportingQueries() throws -> [(String, String)] {
        let text = try String(contentsOf: LocalNetwork.repository.appendingPathComponent("docs/reporting.md"), encoding: .utf8)
        var found: [(String, String)] = [], heading = "", block: [String]?
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("#") { heading = line }
            if line == "```sql" { block = [] } else if line == "```", let lines = block {
                found.append((heading, lines.joined(separator: "\n")))
                block = nil
            } else if block != nil {
                block!.append(line)
            }
        }
        return found
    }
}

/// A node's answers with block `height` altered by `forge`.
struct TamperingSource: BlockSource {
    let base: String
    let height: UInt64
    let forge: @Sendable (inout BlockView) -> Void

    static func fetch(_ base: String, _ height: UInt64) async throws -> BlockView? {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "\(base)/v1/blocks/\(height)?transactions=true")!)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
        return try JSONDecoder().decode(BlockView.self, from: data)
    }

    func block(_ height: UInt64) async throws -> BlockView? {
        guard var view = try await Self.fetch(base, height) else { return nil }
        if height == self.height { forge(&view) }
        return view
    }

    func validators(signing height: UInt64) async throws -> ValidatorSet {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "\(base)/v1/validators?height=\(height)")!)
        let view = try JSONDecoder().decode(ValidatorsView.self, from: data)
        return try ValidatorSet(canonical: Hex.decode(view.encoded) ?? [])
    }
}
