import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Low-prefund alerts on four real nodes: the central bank sets a threshold on the ledger; the
/// remittance that takes the prefund below it raises one alert on every node (gauge, counter, log
/// line, `prefund_low` event); a second one while low raises none; a top-up clears it.
extension ProcessTests {
    @Test("Low-prefund alerts: a threshold on the ledger, a metric, a log line and an event when a gateway's prefund falls below it")
    func prefundAlertsOnARealNetwork() async throws {
        try await withNetwork { network in
            let dir = network.directory.path
            let node = ["--node", "http://127.0.0.1:\(network.rpcPorts[0])"]
            let key = { (name: String) in ["--key", "\(dir)/keys/\(name).key"] }
            // A client following upi's events from the next block on, for a minute at most.
            let events = network.directory.appendingPathComponent("upi-events.txt")
            _ = FileManager.default.createFile(atPath: events.path, contents: nil)
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-sN", "--max-time", "40", "http://127.0.0.1:\(network.rpcPorts[2])/v1/events?gateway=upi"]
            curl.standardOutput = try FileHandle(forWritingTo: events)
            try curl.run()
            defer { if curl.isRunning { kill(curl.processIdentifier, SIGKILL) } }

            let prefund = try #require(await network.get(0, "v1/accounts/prefund@upi"))
            let usd = try #require((prefund["balances"] as? [[String: Any]])?.first { $0["currency"] as? String == "USD" }?["balance_minor"] as? Int)
            let threshold = usd - 10_000  // 100.00 USD below the balance: a 136.00 USD remittance crosses it
            let configured = try tonle(["admin", "configure-gateway", "--gateway", "upi", "--prefund-alert", "USD:\(threshold / 100).\(String(format: "%02d", threshold % 100))",
                                        "--creator", "admin@nbc"] + key("nbc") + ["--wait", "30"] + node)
            #expect(configured.status == 0, "\(configured.stdout)\(configured.stderr)")
            func remit(_ reference: String) throws -> CLIResult {
                try tonle(["settle", "remit", "--gateway", "upi", "--reference", reference, "--to", "srey@wing", "--currency", "USD",
                           "--foreign", "200000", "--foreign-currency", "KRW", "--rate", "0.00068"] + key("upi") + ["--wait", "30"] + node)
            }
            let shown = try tonle(["positions", "upi", "--json"] + node).json["prefund_alerts"] as? [[String: Any]]
            #expect(shown?.count == 1 && shown?.first?["currency"] as? String == "USD" && shown?.first?["threshold_minor"] as? Int == threshold, "\(shown ?? [])")
            #expect(try remit("ALERT-1").status == 0)
            let labels = #"gateway="upi",currency="USD""#
            func metric(_ index: Int, _ name: String) async -> Double? {
                guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(network.rpcPorts[index])/metrics")!) else { return nil }
                return String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("\(name){\(labels)}") }?.split(separator: " ").last.flatMap { Double($0) }
            }
            for index in 0..<4 {
                #expect(await LocalNetwork.eventually(30) { await metric(index, "tonle_gateway_prefund_low") == 1 }, "node \(index) sees the prefund low")
                let (count, shown) = (await metric(index, "tonle_gateway_prefund_low_total"), await metric(index, "tonle_gateway_prefund_alert_minor_units"))
                #expect(count == 1 && shown == Double(threshold), "node \(index): \(count ?? -1) alerts, threshold \(shown ?? -1)")
            }
            // Still low after another: no second alert.
            #expect(try remit("ALERT-2").status == 0)
            let topup = try tonle(["settle", "topup", "--gateway", "upi", "--reference", "WIRE-ALERT-1", "--amount", "1000.00", "--currency", "USD"]
                                  + key("nbc") + ["--wait", "30"] + node)
            #expect(topup.status == 0, "\(topup.stdout)\(topup.stderr)")
            for index in 0..<4 {
                #expect(await LocalNetwork.eventually(30) { await metric(index, "tonle_gateway_prefund_low") == 0 }, "node \(index): the top-up clears it")
                let count = await metric(index, "tonle_gateway_prefund_low_total")
                #expect(count == 1, "node \(index): one alert for one fall, not \(count ?? -1)")
            }
            #expect(network.log(1).contains("gateway prefund below its alert threshold"), "the log says so")

            // The event, once, after the block that caused it, with the balance and the threshold.
            // Its three blocks (two remittances and the top-up) have reached the client.
            #expect(await LocalNetwork.eventually(20) { ((try? String(contentsOf: events, encoding: .utf8)) ?? "").components(separatedBy: "event: block").count > 3 })
            kill(curl.processIdentifier, SIGKILL)
            curl.waitUntilExit()
            let stream = (try? String(contentsOf: events, encoding: .utf8)) ?? ""
            let alerts = stream.components(separatedBy: "\n\n").filter { $0.contains("event: prefund_low") }
            #expect(alerts.count == 1, "\(stream)")
            let data = alerts.first?.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } ?? ""
            let alert = (try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]) ?? [:]
            #expect(alert["gateway"] as? String == "upi" && alert["currency"] as? String == "USD" && alert["threshold_minor"] as? Int == threshold
                    && alert["balance_minor"] as? Int == usd - 13_600, "\(alert)")
        }
    }
}
