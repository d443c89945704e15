import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TonleTypes

/// ISO 20022 camt.053 statements from four real `tonle-node` processes: written by `tonle
/// statement`, valid against the official schema (xmllint, installed by deploy/test.sh), with
/// opening and closing booked balances equal to the ledger's and one entry per movement.
extension ProcessTests {
    /// The statement's parts, read with Python's XML parser: per currency the signed balances and
    /// entries (amount, kind, references, counterparty, foreign leg).
    static let camtSummary = #"""
        import json, sys, xml.etree.ElementTree as ET
        ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
        def signed(node):
            value = node.find("c:Amt", ns).text
            return ("-" if node.find("c:CdtDbtInd", ns).text == "DBIT" else "") + value
        out = {}
        for stmt in ET.parse(sys.argv[1]).getroot().iter("{%s}Stmt" % ns["c"]):
            currency = stmt.find("c:Acct/c:Ccy", ns).text
            balances = {b.find("c:Tp/c:CdOrPrtry/c:Cd", ns).text: signed(b) for b in stmt.findall("c:Bal", ns)}
            entries = []
            for e in stmt.findall("c:Ntry", ns):
                tx = e.find("c:NtryDtls/c:TxDtls", ns)
                get = lambda path: (tx.find(path, ns).text if tx is not None and tx.find(path, ns) is not None else None)
                foreign = tx.find("c:AmtDtls/c:InstdAmt/c:Amt", ns) if tx is not None else None
                entries.append({"amount": signed(e), "kind": e.find("c:BkTxCd/c:Prtry/c:Cd", ns).text, "status": e.find("c:Sts/c:Cd", ns).text,
                                "end_to_end": get("c:Refs/c:EndToEndId"), "remittance": get("c:RmtInf/c:Ustrd"),
                                "counterparty": get("c:RltdPties/c:DbtrAcct/c:Nm") or get("c:RltdPties/c:CdtrAcct/c:Nm"),
                                "foreign": None if foreign is None else foreign.text + " " + foreign.get("Ccy"),
                                "rate": get("c:AmtDtls/c:InstdAmt/c:CcyXchg/c:XchgRate")})
            out[currency] = {"opening": balances.get("OPBD"), "closing": balances.get("CLBD"), "entries": entries}
        print(json.dumps(out))
        """#

    /// Major-unit decimal text as minor units (2 decimals for USD, none for KHR).
    static func minor(_ text: String?, _ currency: Currency) -> Int64? {
        guard let text else { return nil }
        return try? DecimalText.parse(text.hasPrefix("-") ? String(text.dropFirst()) : text, exponent: currency.exponent, code: currency.code)
            .multipliedReportingOverflow(by: text.hasPrefix("-") ? -1 : 1).partialValue
    }

    @Test("camt.053 statements: valid against the ISO schema, balances equal to the ledger's, one entry per movement")
    func camt053Statements() async throws {
        let xmllint = URL(fileURLWithPath: "/usr/bin/xmllint")
        try #require(FileManager.default.isExecutableFile(atPath: xmllint.path), "deploy/test.sh installs libxml2-utils (xmllint)")
        let schema = LocalNetwork.repository.appendingPathComponent("Tests/TonleNodeTests/ISO20022/camt.053.001.08.xsd").path
        try await withNetwork { network in
            let dir = network.directory.path
            let node = ["--node", "http://127.0.0.1:\(network.rpcPorts[0])"]
            let key = { (name: String) in ["--key", "\(dir)/keys/\(name).key"] }
            // srey@wing: a remittance from Korea (credited in USD, with its foreign leg and rate), a
            // transfer out with a reference that XML must escape, and a hold of sokha's posted to
            // it (the post names only the hold, yet moves srey's money).
            let remit = try tonle(["settle", "remit", "--gateway", "upi", "--reference", "WU-STMT-1", "--to", "srey@wing", "--currency", "USD",
                                   "--foreign", "200000", "--foreign-currency", "KRW", "--rate", "0.00068", "--uetr", "3f2c0b8e-5d1a-4c6e-9b7f-2a1d4e8c6b90"]
                                  + key("upi") + ["--wait", "30"] + node)
            #expect(remit.status == 0, "\(remit.stdout)\(remit.stderr)")
            let transfer = try tonle(["tx", "transfer", "--from", "srey@wing", "--to", "dara@aba", "--amount", "25.50", "--currency", "USD",
                                      "--reference", "Rent & <Dec>"] + key("wing") + ["--wait", "30"] + node)
            #expect(transfer.status == 0, "\(transfer.stdout)\(transfer.stderr)")
            let holdID = String(repeating: "ab", count: 16)
            let hold = try tonle(["tx", "hold", "--id", holdID, "--from", "sokha@aba", "--to", "srey@wing", "--amount", "1000", "--currency", "KHR"]
                                 + key("aba") + ["--wait", "30"] + node)
            #expect(hold.status == 0, "\(hold.stdout)\(hold.stderr)")
            let post = try tonle(["tx", "post", "--id", holdID, "--creator", "srey@wing"] + key("wing") + ["--wait", "30"] + node)
            #expect(post.status == 0, "\(post.stdout)\(post.stderr)")

            // Today in ICT, and the ledger's balances now.
            let today = BusinessCalendar.date(of: Timestamp(millisecondsSinceEpoch: LocalNetwork.milliseconds()), cutoffMilliseconds: 0).description
            let account = try tonle(["account", "srey@wing", "--json"] + node)
            let balances = Dictionary(uniqueKeysWithValues: (account.json["balances"] as? [[String: Any]] ?? []).map {
                ($0["currency"] as? String ?? "?", $0["balance"] as? String ?? "?")
            })
            #expect(balances["USD"] == "10110.50" && balances["KHR"] == "40001000", "\(account.stdout)")

            let file = network.directory.appendingPathComponent("srey-\(today).xml").path
            let written = try tonle(["statement", "srey@wing", "--date", today, "--out", file] + node)
            #expect(written.status == 0, "\(written.stdout)\(written.stderr)")
            let valid = try run(xmllint, ["--noout", "--schema", schema, file], seconds: 60)
            #expect(valid.status == 0 && valid.stderr.contains("validates"), "\(valid.stdout)\(valid.stderr)")
            #expect(try String(contentsOfFile: file, encoding: .utf8).contains("<UETR>3f2c0b8e-5d1a-4c6e-9b7f-2a1d4e8c6b90</UETR>"), "the remittance's UETR, where the schema puts it")

            let parsed = try run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", Self.camtSummary, file], seconds: 60)
            let summary = (try? JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [String: [String: Any]]) ?? [:]
            #expect(Set(summary.keys) == ["KHR", "USD"], "\(parsed.stdout)\(parsed.stderr)")
            for (code, expected) in [("USD", "10110.50"), ("KHR", "40001000")] {
                let currency = Currency(code: code)!, part = summary[code] ?? [:]
                let entries = part["entries"] as? [[String: Any]] ?? []
                // Opening plus every entry is the closing balance, which is the ledger's.
                let sum = entries.reduce(Self.minor(part["opening"] as? String, currency) ?? 0) { $0 + (Self.minor($1["amount"] as? String, currency) ?? 0) }
                #expect(part["closing"] as? String == expected && Self.minor(expected, currency) == sum, "\(code): \(part)")
                #expect(entries.allSatisfy { $0["status"] as? String == "BOOK" })
            }
            let usd = summary["USD"]?["entries"] as? [[String: Any]] ?? [], khr = summary["KHR"]?["entries"] as? [[String: Any]] ?? []
            #expect(summary["USD"]?["opening"] as? String == "10000.00" && summary["KHR"]?["opening"] as? String == "40000000", "genesis balances open the first day")
            #expect(usd.count == 2 && khr.count == 1, "\(usd) \(khr)")
            let remitted = usd.first { $0["kind"] as? String == "INWARD_REMITTANCE" } ?? [:]
            #expect(remitted["amount"] as? String == "136.00" && remitted["foreign"] as? String == "200000 KRW" && remitted["rate"] as? String == "0.00068"
                    && remitted["counterparty"] as? String == "prefund@upi" && remitted["end_to_end"] as? String == "WU-STMT-1", "\(remitted)")
            let paid = usd.first { $0["kind"] as? String == "TRANSFER" } ?? [:]
            #expect(paid["amount"] as? String == "-25.50" && paid["counterparty"] as? String == "dara@aba"
                    && paid["end_to_end"] as? String == "Rent & <Dec>" && paid["remittance"] as? String == "Rent & <Dec>", "\(paid)")
            #expect(khr.first?["kind"] as? String == "HOLD_POSTED" && khr.first?["amount"] as? String == "1000", "\(khr)")

            // The route answers the same document; refusals are clear.
            let direct = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(network.rpcPorts[0])/v1/accounts/srey@wing/statement?date=\(today)")!)
            #expect((direct.1 as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("application/xml") == true)
            #expect(String(decoding: direct.0, as: UTF8.self).contains("<Cd>CLBD</Cd>"))
            let missing = try tonle(["statement", "nobody@wing", "--date", today] + node)
            #expect(missing.status == 2 && missing.stderr.contains("NOT_FOUND"), "\(missing.stderr)")
            let future = try tonle(["statement", "srey@wing", "--date", "2999-01-01"] + node)
            #expect(future.status == 2 && future.stderr.contains("no block of 2999-01-01 yet"), "\(future.stderr)")
            let badDate = try tonle(["statement", "srey@wing", "--date", "2026-13-01"] + node)
            #expect(badDate.status != 0 && badDate.stderr.contains("--date must be YYYY-MM-DD"), "\(badDate.stderr)")
        }
    }
}
