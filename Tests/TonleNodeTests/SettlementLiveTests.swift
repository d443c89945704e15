import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Cross-border settlement against four real `tonle-node` processes: the Python gateway client
/// (written from the documents alone), `tonle settle`, reports, and a net settlement that closes a
/// business date after a cut-off set a few seconds ahead.
extension ProcessTests {
    /// Runs `python3 ARGUMENTS` from the repository, killed after `seconds`.
    func python(_ arguments: [String], seconds: Double = 180) throws -> CLIResult {
        try run(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments, in: LocalNetwork.repository, seconds: seconds)
    }

    @Test("Settlement on a real network: the Python gateway client, tonle settle, positions, statements, net settlement")
    func settlementOnARealNetwork() async throws {
        try await withNetwork { network in
            let dir = network.directory.path
            let node = ["--node", "http://127.0.0.1:\(network.rpcPorts[2])"]
            let key = { (name: String) in ["--key", "\(dir)/keys/\(name).key"] }

            // The central bank's reference rate for today: riel to yuan, ± 1 %.
            let published = try tonle(["admin", "set-reference-rate", "--unit", "KHR", "--quoted", "CNY", "--rate", "0.0017753", "--tolerance-bps", "100",
                                       "--creator", "admin@nbc"] + key("nbc") + ["--wait", "30"] + node)
            #expect(published.status == 0, "\(published.stdout)\(published.stderr)")
            let rate = try tonle(["rate", "KHR", "CNY"] + node)
            #expect(rate.status == 0 && rate.stdout.contains("0.0017753 CNY per KHR, band ± 100 bp"), "\(rate.stdout)\(rate.stderr)")
            #expect(try tonle(["rate", "THB", "KHR"] + node).status == 2, "none published")

            // The Python client: a KHQR it made itself, an inward QR payment, the replay, a transfer.
            let client = try python(["docs/examples/gateway_client.py", "--node", "http://127.0.0.1:\(network.rpcPorts[0])",
                                     "--gateway-key", "\(dir)/keys/alipay.key", "--payer-key", "\(dir)/keys/aba.key", "--reference", "ALP-PY-1"])
            #expect(client.status == 0, "\(client.stdout)\(client.stderr)")
            let summary = (try? JSONSerialization.jsonObject(with: Data((client.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any]) ?? [:]
            let payment = summary["payment"] as? [String: Any] ?? [:], replay = summary["replay"] as? [String: Any] ?? [:]
            #expect(payment["result"] as? String == "applied" && (summary["transfer"] as? [String: Any])?["result"] as? String == "applied")
            #expect(replay["status_code"] as? Int == 200 && replay["original"] as? String == payment["id"] as? String, "the node answers a replay with the original")
            #expect(payment["recorded"] as? String == "99.99", "56325 riel at 0.0017753 CNY per riel, half-even")
            // The payment was checked against the reference rate; a remittance 5 % off it was refused.
            let deviant = summary["reference_rate"] as? [String: Any] ?? [:]
            #expect(deviant["result"] as? String == "REFERENCE_RATE_DEVIATION" && deviant["reference"] as? String == "0.0017753", "\(deviant)")
            // The payment's UETR is recorded; a remittance reusing it is refused in its block.
            let uetr = summary["uetr"] as? [String: Any] ?? [:]
            #expect(uetr["recorded"] as? String == uetr["value"] as? String && uetr["value"] != nil && uetr["reused"] as? String == "DUPLICATE_UETR", "\(uetr)")
            // The transfer rebuilt after a "lost" answer (same client id, a new expiry and id): answered
            // with the original while it waited and once committed; the money moved once.
            let retry = summary["retry"] as? [String: Any] ?? [:], transferID = (summary["transfer"] as? [String: Any])?["id"] as? String
            #expect((retry["waiting"] as? [Any])?.last as? String == transferID && (retry["committed"] as? [Any])?.last as? String == transferID, "\(retry)")
            #expect((retry["committed"] as? [Any])?.dropFirst().first as? String == "committed" && retry["id"] as? String != transferID, "\(retry)")
            #expect(retry["moved_khr"] as? Int == 1_000, "the money moved once: \(retry)")
            let lookup = try tonle(["settlement", "alipay", "ALP-PY-1", "--json"] + node)
            let looked = (lookup.json["entries"] as? [[String: Any]])?.first ?? [:]
            #expect(lookup.status == 0 && looked["kind"] as? String == "INWARD_QR_PAYMENT", "\(lookup.stderr)")
            #expect(looked["reference_rate"] as? String == "0.0017753" && looked["deviation_bps"] as? Int == 0, "\(looked)")
            let alipayDay = (try tonle(["positions", "alipay", "--json"] + node).json["positions"] as? [[String: Any]])?.first { $0["currency"] as? String == "KHR" }
            #expect(alipayDay?["reference_checked"] as? Int == 1 && alipayDay?["average_deviation_bps"] as? Int == 0, "\(alipayDay ?? [:])")

            // An outward payment through UnionPay: 100.00 CNY at 563.25 KHR per CNY, signed by the gateway and the payer's bank.
            let outward = ["settle", "outward", "--gateway", "upi", "--reference", "UPI-OUT-1", "--from", "sokha@aba", "--currency", "KHR",
                           "--foreign", "100.00", "--foreign-currency", "CNY", "--rate", "563.25"]
            let paid = try tonle(outward + key("upi") + key("aba") + ["--wait", "30", "--json"] + node)
            #expect(paid.status == 0 && paid.json["result"] as? String == "applied", "\(paid.stdout)\(paid.stderr)")
            // The same reference with another body is refused at admission.
            let changed = try tonle(["settle", "outward", "--gateway", "upi", "--reference", "UPI-OUT-1", "--from", "sokha@aba", "--currency", "KHR",
                                     "--foreign", "100.01", "--foreign-currency", "CNY", "--rate", "563.25"] + key("upi") + key("aba") + ["--wait", "30"] + node)
            #expect(changed.status == 1 && changed.stderr.contains("DUPLICATE_REFERENCE_MISMATCH"), "\(changed.stdout)\(changed.stderr)")
            // Without the payer's signature the block rejects it.
            let unsigned = try tonle(["settle", "outward", "--gateway", "upi", "--reference", "UPI-OUT-2", "--from", "sokha@aba", "--currency", "KHR",
                                      "--foreign", "10.00", "--foreign-currency", "CNY", "--rate", "563.25"] + key("upi") + ["--wait", "30"] + node)
            #expect(unsigned.status == 1 && unsigned.stderr.contains("QUORUM_NOT_MET"), "\(unsigned.stdout)\(unsigned.stderr)")
            // A remittance from Korea in USD, and a refund beyond the original.
            let remit = try tonle(["settle", "remit", "--gateway", "upi", "--reference", "WU-1", "--to", "srey@wing", "--currency", "USD",
                                   "--foreign", "200000", "--foreign-currency", "KRW", "--rate", "0.00068"] + key("upi") + ["--wait", "30"] + node)
            #expect(remit.status == 0, "\(remit.stdout)\(remit.stderr)")
            let refund = try tonle(["settle", "refund", "--gateway", "alipay", "--reference", "RF-1", "--original", "ALP-PY-1", "--account", "merchant.kampot@wing",
                                    "--amount", "56326", "--currency", "KHR"] + key("alipay") + key("wing") + ["--wait", "30"] + node)
            #expect(refund.status == 1 && refund.stderr.contains("REFUND_EXCEEDS_ORIGINAL"), "\(refund.stdout)\(refund.stderr)")

            // Every validator counts the committed entries by kind and result.
            let metricsURL = URL(string: "http://127.0.0.1:\(network.rpcPorts[3])/metrics")!
            let counted = await LocalNetwork.eventually(15) {
                guard let (data, _) = try? await URLSession.shared.data(from: metricsURL) else { return false }
                let metrics = String(decoding: data, as: UTF8.self)
                return metrics.contains(#"tonle_settlement_entries_total{kind="INWARD_QR_PAYMENT",result="applied"} 1"#)
                    && metrics.contains(#"tonle_settlement_entries_total{kind="REFUND",result="REFUND_EXCEEDS_ORIGINAL"} 1"#)
            }
            #expect(counted, "tonle_settlement_entries_total on \(metricsURL)")

            // The merchant's statement: the payment credited; the refused refund listed, moving nothing.
            let statement = try tonle(["account", "merchant.kampot@wing", "--history", "--csv"] + node)
            #expect(statement.status == 0 && statement.stdout.hasPrefix("height,index,transaction,result,command,kind,currency,debit,credit"), "\(statement.stdout)\(statement.stderr)")
            #expect(statement.stdout.contains(",applied,0,INWARD_QR_PAYMENT,KHR,,56325,prefund@alipay,alipay/ALP-PY-1"), "\(statement.stdout)")
            #expect(statement.stdout.contains(",REFUND_EXCEEDS_ORIGINAL,0,REFUND,KHR,,,prefund@alipay,alipay/RF-1"), "\(statement.stdout)")

            // The day's positions and the gateway's statement as CSV.
            let positions = try tonle(["positions", "upi", "--json"] + node)
            let rows = positions.json["positions"] as? [[String: Any]] ?? []
            let khr = rows.first { $0["currency"] as? String == "KHR" }, usd = rows.first { $0["currency"] as? String == "USD" }
            #expect(khr?["gross_outward"] as? String == "56325" && khr?["payable_due"] as? String == "56325", "\(positions.stdout)\(positions.stderr)")
            #expect(usd?["gross_inward"] as? String == "136.00")
            let csv = try tonle(["entries", "upi", "--currency", "KHR", "--csv"] + node)
            let lines = csv.stdout.split(separator: "\n")
            #expect(csv.status == 0 && lines.first?.hasPrefix("business_date,gateway,reference") == true && lines.count == 2, "\(csv.stdout)\(csv.stderr)")
            #expect(lines.last?.contains(",UPI-OUT-1,payment,OUTWARD_QR_PAYMENT,KHR,56325,sokha@aba,CNY,100.00,563.25,") == true, "\(csv.stdout)")

            // Close the day: move the cut-off a few seconds ahead, wait for it, then net-settle the date that ended.
            let date = try #require(positions.json["business_date"] as? String)
            let ict = Date().addingTimeInterval(7 * 3600 + 5)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let parts = calendar.dateComponents([.hour, .minute, .second], from: ict)
            let cutoff = String(format: "%02d:%02d:%02d", parts.hour!, parts.minute!, parts.second!)
            let configured = try tonle(["admin", "configure-gateway", "--gateway", "upi", "--cutoff", cutoff, "--reversal-window-days", "0", "--creator", "admin@nbc"]
                                       + key("nbc") + ["--wait", "30"] + node)
            #expect(configured.status == 0, "\(configured.stdout)\(configured.stderr)")
            #expect(await LocalNetwork.eventually(30) {
                let now = try? tonle(["positions", "upi", "--json"] + node)
                return (now?.json["business_date"] as? String).map { $0 != date } ?? false
            }, "the business date rolls over at the cut-off")
            // The reversal window (0 days: the payment's own date) closed with the date.
            let late = try tonle(["settle", "reversal", "--gateway", "upi", "--reference", "UPI-REV-LATE", "--original", "UPI-OUT-1", "--account", "sokha@aba",
                                  "--amount", "100", "--currency", "KHR"] + key("upi") + ["--wait", "30"] + node)
            #expect(late.status == 1 && late.stderr.contains("REVERSAL_WINDOW_CLOSED"), "\(late.stdout)\(late.stderr)")
            let net = ["settle", "net", "--gateway", "upi", "--currency", "KHR", "--date", date]
            let oneSignature = try tonle(net + ["--reference", "NET-1"] + key("nbc") + ["--wait", "30"] + node)
            #expect(oneSignature.status == 1 && oneSignature.stderr.contains("QUORUM_NOT_MET"), "\(oneSignature.stdout)\(oneSignature.stderr)")
            let closed = try tonle(net + ["--reference", "NET-2"] + key("nbc") + key("upi") + ["--wait", "30"] + node)
            #expect(closed.status == 0 && closed.stdout.contains("payable due     56325"), "\(closed.stdout)\(closed.stderr)")
            let after = try tonle(["positions", "upi", "--date", date, "--json"] + node)
            let closedRow = (after.json["positions"] as? [[String: Any]])?.first { $0["currency"] as? String == "KHR" }
            #expect(closedRow?["closed_by"] as? String == "NET-2", "\(after.stdout)")
            #expect(after.json["reversal_window_days"] as? Int == 0 && after.json["refund_window_days"] == nil, "the configuration shows its windows")
            let balances = after.json["balances"] as? [[String: Any]] ?? []
            #expect(balances.contains { $0["account"] as? String == "payable@upi" && $0["currency"] as? String == "KHR" && $0["balance"] as? String == "0" })
            #expect(balances.contains { $0["account"] as? String == "prefund@upi" && $0["currency"] as? String == "KHR" && $0["balance"] as? String == "800056325" })

            // The closed positions and the net settlement entry, proved and checked offline with the
            // set that signed the anchoring block; an edited figure is INVALID.
            let proven = try tonle(["positions", "upi", "--date", date, "--proof", "--json"] + node)
            let provenHeight = try #require(proven.json["height"] as? Int, "\(proven.stdout)\(proven.stderr)")
            let setFile = "\(dir)/validators-anchor.json", positionsFile = "\(dir)/positions.json", entryFile = "\(dir)/entry.json"
            try tonle(["validators", "--height", "\(provenHeight + 1)", "--json"] + node).stdout.write(toFile: setFile, atomically: true, encoding: .utf8)
            try proven.stdout.write(toFile: positionsFile, atomically: true, encoding: .utf8)
            let positionsValid = try tonle(["verify", "position", positionsFile, "--validators", setFile])
            #expect(positionsValid.status == 0 && positionsValid.stdout.contains("KHR: 1 entries") && positionsValid.stdout.contains("closed by NET-2"),
                    "\(positionsValid.stdout)\(positionsValid.stderr)")
            try proven.stdout.replacingOccurrences(of: "\"closed_by\":\"NET-2\"", with: "\"closed_by\":null").write(toFile: positionsFile, atomically: true, encoding: .utf8)
            let reopened = try tonle(["verify", "position", positionsFile, "--validators", setFile])
            #expect(reopened.status == 1 && reopened.stderr.contains("differ from the proven position record"), "\(reopened.stdout)\(reopened.stderr)")
            let entry = try tonle(["settlement", "upi", "NET-2", "--proof", "--json"] + node)
            try entry.stdout.write(toFile: entryFile, atomically: true, encoding: .utf8)
            let anchor = try #require(((entry.json["entries"] as? [[String: Any]])?.first?["proof"] as? [String: Any])?["height"] as? Int)
            try tonle(["validators", "--height", "\(anchor + 1)", "--json"] + node).stdout.write(toFile: setFile, atomically: true, encoding: .utf8)
            let entryValid = try tonle(["verify", "entry", entryFile, "--validators", setFile])
            #expect(entryValid.status == 0 && entryValid.stdout.contains("NET_SETTLEMENT 56325 KHR"), "\(entryValid.stdout)\(entryValid.stderr)")
            try entry.stdout.replacingOccurrences(of: "\"amount_minor\":56325", with: "\"amount_minor\":56326").write(toFile: entryFile, atomically: true, encoding: .utf8)
            let entryForged = try tonle(["verify", "entry", entryFile, "--validators", setFile])
            #expect(entryForged.status == 1 && entryForged.stderr.contains("INVALID: "), "\(entryForged.stdout)\(entryForged.stderr)")
        }
    }
}
