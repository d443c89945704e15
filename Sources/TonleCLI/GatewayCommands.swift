import ArgumentParser
import Foundation
import TonleRPC

/// `tonle rate UNIT QUOTED [--date]`: the central bank's reference rate of a pair.
struct RateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate", abstract: "The central bank's reference rate of a currency pair on a business date, with its band (exit 2 if none).")
    @Argument(help: "The unit currency, e.g. CNY.") var unit: String
    @Argument(help: "The quoted currency, e.g. KHR.") var quoted: String
    @Option(help: "Business date YYYY-MM-DD in ICT (default: today).") var date: String?
    @Flag(help: "Print the node's JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        guard [unit, quoted].allSatisfy({ $0.count == 3 && $0.allSatisfy(\.isLetter) }) else { throw CLIError("UNIT and QUOTED are ISO 4217 letters, e.g. CNY KHR") }
        let view = try await node.withClient { client in
            try await client.get("/v1/reference-rates/\(unit.uppercased())/\(quoted.uppercased())" + (date.map { "?date=\($0)" } ?? ""), as: ReferenceRateView.self)
        }
        if json { return printJSON(try JSONSerialization.jsonObject(with: JSONEncoder().encode(view))) }
        print("\(view.unitCurrency)/\(view.quotedCurrency) on \(view.businessDate): \(view.rate) \(view.quotedCurrency) per \(view.unitCurrency), band ± \(view.toleranceBasisPoints) bp (block \(view.height))")
    }
}

/// `tonle positions GATEWAY [--date]`: a gateway's positions on a business date.
struct PositionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "positions", abstract: "A gateway's gross and net positions (KHR and USD) on a business date, and its prefund and payable now.")

    @Argument(help: "The gateway (institution id).") var gateway: String
    @Option(help: "Business date YYYY-MM-DD in ICT (default: the gateway's current date).") var date: String?
    @Flag(help: "With Merkle proofs of the position records (for 'tonle verify position'); use with --json.") var proof = false
    @Flag(help: "Print the node's JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        let id = try Parse.institution(gateway, "GATEWAY")
        let query = [date.map { "date=\($0)" }, proof ? "proof=true" : nil].compactMap { $0 }.joined(separator: "&")
        let view = try await node.withClient { client in
            try await client.get("/v1/gateways/\(id.text)/positions" + (query.isEmpty ? "" : "?\(query)"), as: GatewayPositionsView.self)
        }
        if json { return printJSON(try JSONSerialization.jsonObject(with: JSONEncoder().encode(view))) }
        print("\(view.gateway) on \(view.businessDate) (ICT, cut-off \(view.cutoffMilliseconds) ms after midnight), as of block \(view.height)")
        let window = { (days: UInt16?) in days.map { "\($0) business day(s)" } ?? "none" }
        let alerts = view.prefundAlerts.map { "\($0.threshold) \($0.currency)" }.joined(separator: ", ")
        print("refund window \(window(view.refundWindowDays)), reversal window \(window(view.reversalWindowDays)), prefund alert below \(alerts.isEmpty ? "none" : alerts)\n")
        var table = Table("CURRENCY", "ENTRIES", "GROSS IN", "GROSS OUT", "REFUNDS", "REVERSALS", "TOP-UPS", "NET SETTLED", "PAYABLE DUE", "NET POSITION", "CLOSED BY")
        for p in view.positions {
            table.add(p.currency, "\(p.count)", p.grossInward, p.grossOutward, p.refunds, p.reversals, p.topUps, p.netSettled, p.payableDue, p.netPosition, p.closedBy ?? "open")
        }
        table.print()
        print("")
        var balances = Table("ACCOUNT", "CURRENCY", "BALANCE NOW")
        for b in view.balances { balances.add(b.account, b.currency, b.balance) }
        balances.print()
    }
}

/// `tonle entries GATEWAY [--date] [--currency] [--csv]`: the gateway's statement for a date.
struct EntriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entries", abstract: "A gateway's settlement entries on a business date, newest first: its statement (--csv for a file).")

    @Argument(help: "The gateway (institution id).") var gateway: String
    @Option(help: "Business date YYYY-MM-DD in ICT (default: the gateway's current date).") var date: String?
    @Option(help: "KHR or USD.") var currency = "KHR"
    @Option(help: "At most this many entries (all pages are read up to it).") var limit = 10_000
    @Flag(help: "CSV with a header row.") var csv = false
    @Flag(help: "JSON lines, one entry each.") var json = false
    @OptionGroup var node: NodeOptions

    static let columns = ["business_date", "gateway", "reference", "class", "kind", "currency", "amount", "account", "foreign_currency",
                          "foreign_amount", "fx_rate", "original", "returned", "height", "time_ms", "transaction", "entry_digest"]

    func run() async throws {
        let id = try Parse.institution(gateway, "GATEWAY")
        let code = try Parse.currency(currency).code
        var entries: [SettlementEntryView] = []
        try await node.withClient { client in
            var cursor: String?
            repeat {
                var path = "/v1/gateways/\(id.text)/entries?currency=\(code)&limit=\(min(1_000, limit - entries.count))"
                if let date { path += "&date=\(date)" }
                if let cursor { path += "&before=\(cursor)" }
                let page = try await client.get(path, as: GatewayEntriesView.self)
                entries += page.entries
                cursor = page.next
            } while cursor != nil && entries.count < limit
        }
        if json {
            for entry in entries { printJSON(try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry))) }
        } else if csv {
            print(Self.columns.joined(separator: ","))
            for e in entries {
                let cells = [e.businessDate, e.gateway, e.reference, e.referenceClass, e.kind, e.currency, e.amount, e.account, e.foreignCurrency ?? "",
                             e.foreignAmount ?? "", e.fxRate ?? "", e.original ?? "", e.returned, "\(e.height)", "\(e.timeMilliseconds)", e.transaction, e.entryDigest]
                print(cells.map(CSV.field).joined(separator: ","))
            }
        } else {
            var table = Table("REFERENCE", "KIND", "AMOUNT", "ACCOUNT", "FOREIGN", "RATE", "BLOCK")
            for e in entries {
                table.add(e.reference, e.kind, "\(e.amount) \(e.currency)", e.account, e.foreignAmount.map { "\($0) \(e.foreignCurrency ?? "")" } ?? "",
                          e.fxRate ?? "", "\(e.height)")
            }
            table.print()
        }
    }
}

/// `tonle settlement GATEWAY REFERENCE`: an entry by its reference.
struct SettlementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settlement", abstract: "Look up a gateway's settlement entry by its external reference (exit 2 if none).")

    @Argument(help: "The gateway (institution id).") var gateway: String
    @Argument(help: "The external reference.") var reference: String
    @Flag(help: "With Merkle proofs of the entry records (for 'tonle verify entry'); use with --json.") var proof = false
    @Flag(help: "Print the node's JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        let id = try Parse.institution(gateway, "GATEWAY")
        let escaped = reference.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? reference
        let view = try await node.withClient { client in
            try await client.get("/v1/settlements/\(id.text)/\(escaped)" + (proof ? "?proof=true" : ""), as: SettlementLookupView.self)
        }
        if json { return printJSON(try JSONSerialization.jsonObject(with: JSONEncoder().encode(view))) }
        for (index, e) in view.entries.enumerated() {
            if index > 0 { print("") }
            var fields = [("reference", "\(e.gateway)/\(e.reference) (\(e.referenceClass))"), ("kind", e.kind), ("amount", "\(e.amount) \(e.currency)"),
                          ("account", e.account)]
            if let foreign = e.foreignAmount { fields.append(("foreign", "\(foreign) \(e.foreignCurrency ?? "") at \(e.fxRate ?? "?")")) }
            if let original = e.original { fields.append(("original", original)) }
            fields += [("returned", e.returned), ("business date", e.businessDate), ("block", "\(e.height)"), ("time", isoTime(e.timeMilliseconds)),
                       ("transaction", e.transaction)]
            printFields(fields)
        }
    }
}

/// RFC 4180 fields: quoted when they hold a comma, quote or line break.
enum CSV {
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
