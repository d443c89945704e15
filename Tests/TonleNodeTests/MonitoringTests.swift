import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The monitoring shipped in deploy/monitoring against four real `tonle-node` processes and a real
/// Prometheus (Debian's `prometheus`, installed by deploy/test.sh): the scrape config and rules
/// load, the alert rules pass their unit tests, every metric the rules and the dashboard name is
/// exported by a live node, and every dashboard query evaluates over the scraped series.
extension ProcessTests {
    static var monitoring: URL { LocalNetwork.repository.appendingPathComponent("deploy/monitoring") }

    /// The `tonle_…` names in `text`, with a histogram's `_bucket`/`_sum`/`_count` taken off.
    static func metricNames(in text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "\\btonle_[a-z_]+")
        let names = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) }
        return Set(names.map { name in
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
            return name
        })
    }

    /// The dashboard's queries, panel by panel.
    static func dashboardQueries() throws -> [(panel: String, expr: String)] {
        let dashboard = try JSONSerialization.jsonObject(with: Data(contentsOf: monitoring.appendingPathComponent("grafana-dashboard.json"))) as! [String: Any]
        let panels = dashboard["panels"] as? [[String: Any]] ?? []
        return panels.flatMap { panel in
            (panel["targets"] as? [[String: Any]] ?? []).map { (panel["title"] as? String ?? "?", $0["expr"] as? String ?? "") }
        }
    }

    @Test("Monitoring shipped: Prometheus scrapes a live network with deploy/monitoring's config, rules and dashboard")
    func monitoringShipped() async throws {
        let promtool = URL(fileURLWithPath: "/usr/bin/promtool"), prometheus = URL(fileURLWithPath: "/usr/bin/prometheus")
        try #require(FileManager.default.isExecutableFile(atPath: promtool.path), "deploy/test.sh installs Debian's prometheus (promtool)")
        let checked = try run(promtool, ["check", "config", "prometheus.yml"], in: Self.monitoring, seconds: 60)
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        let unit = try run(promtool, ["test", "rules", "alerts.test.yml"], in: Self.monitoring, seconds: 60)
        #expect(unit.status == 0 && unit.stdout.contains("SUCCESS"), "\(unit.stdout)\(unit.stderr)")

        let rulesText = try String(contentsOf: Self.monitoring.appendingPathComponent("alerts.yml"), encoding: .utf8)
        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 20, "the dashboard's panels carry their queries")
        let named = Self.metricNames(in: rulesText).union(queries.flatMap { Self.metricNames(in: $0.expr) })
        #expect(named.isSuperset(of: ["tonle_height", "tonle_linked_quorum", "tonle_peer_height_max", "tonle_mempool_transactions_max",
                                      "tonle_gateway_prefund_minor_units"]), "\(named.sorted())")

        try await withNetwork { network in
            // A committed settlement entry, so its counter exists and upi's USD prefund moves:
            // 200,000 KRW at 0.00068 USD per KRW is 136.00 USD, paid out of the prefund.
            let dir = network.directory.path
            let remit = try tonle(["settle", "remit", "--gateway", "upi", "--reference", "MON-1", "--to", "srey@wing", "--currency", "USD",
                                   "--foreign", "200000", "--foreign-currency", "KRW", "--rate", "0.00068", "--key", "\(dir)/keys/upi.key",
                                   "--wait", "30", "--node", "http://127.0.0.1:\(network.rpcPorts[1])"])
            #expect(remit.status == 0, "\(remit.stdout)\(remit.stderr)")

            // Every name the rules and the dashboard use is exported by a live node.
            var exported: Set<String> = []
            let complete = await LocalNetwork.eventually(20) {
                guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(network.rpcPorts[0])/metrics")!) else { return false }
                let text = String(decoding: data, as: UTF8.self)
                exported = Self.metricNames(in: text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n"))
                return exported.isSuperset(of: named)
            }
            #expect(complete, "named by deploy/monitoring but not exported: \(named.subtracting(exported).sorted())")

            // The shipped config, pointed at this network's ports and scraping every second.
            let work = network.directory.appendingPathComponent("prometheus")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            var config = try String(contentsOf: Self.monitoring.appendingPathComponent("prometheus.yml"), encoding: .utf8)
            for (index, port) in network.rpcPorts.prefix(4).enumerated() { config = config.replacingOccurrences(of: "127.0.0.1:\(26_700 + index)", with: "127.0.0.1:\(port)") }
            config = config.replacingOccurrences(of: "interval: 5s", with: "interval: 1s")
                .replacingOccurrences(of: "- alerts.yml", with: "- \(Self.monitoring.appendingPathComponent("alerts.yml").path)")
            try config.write(to: work.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
            let port = try LocalNetwork.freePorts(1)[0]
            let server = Process()
            server.executableURL = prometheus
            server.arguments = ["--config.file=\(work.path)/prometheus.yml", "--storage.tsdb.path=\(work.path)/data",
                                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"]
            let log = work.appendingPathComponent("prometheus.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            (server.standardOutput, server.standardError) = (try FileHandle(forWritingTo: log), try FileHandle(forWritingTo: log))
            try server.run()
            defer { server.terminate(); server.waitUntilExit() }

            func query(_ expr: String) async -> (status: String, result: [[String: Any]]) {
                var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
                components.queryItems = [URLQueryItem(name: "query", value: expr)]
                guard let (data, _) = try? await URLSession.shared.data(from: components.url!),
                      let answer = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return ("unreachable", []) }
                return (answer["status"] as? String ?? "?", (answer["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? [])
            }
            func value(_ sample: [String: Any]) -> Double? { ((sample["value"] as? [Any])?.last as? String).flatMap(Double.init) }

            // All four validators are up, scraped through the shipped job.
            let scraped = await LocalNetwork.eventually(60) { await query("up{job=\"tonle\"} == 1").result.count == 4 }
            #expect(scraped, "Prometheus scrapes the four nodes; its log: \(work.path)/prometheus.log")
            // The prefund gauge is the ledger's balance: 200,000.00 USD at genesis less the 136.00 paid.
            let prefunds = await query("tonle_gateway_prefund_minor_units{gateway=\"upi\",currency=\"USD\"}").result
            #expect(prefunds.count == 4 && prefunds.allSatisfy { value($0) == 19_986_400 }, "\(prefunds)")
            let quorum = await query("tonle_linked_quorum").result
            #expect(quorum.count == 4 && quorum.allSatisfy { value($0) == 1 }, "\(quorum)")
            // Every dashboard query evaluates; the rate-based ones once there are two scrapes.
            let evaluated = await LocalNetwork.eventually(30) { await query("rate(tonle_height[1m]) > 0").result.count == 4 }
            #expect(evaluated, "heights move on every node")
            for (panel, expr) in queries {
                let answer = await query(expr)
                #expect(answer.status == "success", "\(panel): \(expr)")
            }
            let lag = await query("tonle_peer_height_max - tonle_height").result
            #expect(lag.count == 4 && lag.allSatisfy { (value($0) ?? 99) < 5 }, "no node is behind: \(lag)")
            // The alert rules are loaded and evaluate without error; on a healthy network none fires
            // (TonleHeightStalled may be pending while Prometheus holds a single sample of a height).
            var rules: [[String: Any]] = []
            let rulesEvaluated = await LocalNetwork.eventually(30) {
                guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/v1/rules")!),
                      let answer = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let groups = (answer["data"] as? [String: Any])?["groups"] as? [[String: Any]] else { return false }
                rules = groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
                return rules.count == 9 && rules.allSatisfy { ($0["lastEvaluation"] as? String).map { !$0.hasPrefix("0001") } ?? false }
            }
            #expect(rulesEvaluated, "\(rules.map { $0["name"] ?? "?" })")
            for rule in rules {
                #expect(rule["health"] as? String == "ok", "\(rule["name"] ?? "?"): \(rule["lastError"] ?? "")")
                let firing = (rule["alerts"] as? [[String: Any]] ?? []).filter { $0["state"] as? String == "firing" }
                #expect(firing.isEmpty, "\(rule["name"] ?? "?") fires on a healthy network: \(firing)")
            }
        }
    }
}
