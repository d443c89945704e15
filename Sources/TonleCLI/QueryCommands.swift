import ArgumentParser
import Foundation
import TonleLedger
import TonleRPC
import TonleTypes

/// `tonle account ID [--proof] [--history]`.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account", abstract: "Show an account: balances, held amounts, keys, flags; or its transactions with --history.",
        discussion: """
            With --proof the node adds a Merkle proof of the account anchored to a certified block header; save it with --json and check it
            offline with 'tonle verify account FILE --validators FILE'. Exits 2 if the account does not exist.
            """)

    @Argument(help: "The account id, name@institution.") var id: String
    @Flag(help: "Ask for a Merkle proof anchored to a certified header (may wait for the next block).") var proof = false
    @Flag(help: "List the account's transactions instead, newest first.") var history = false
    @Option(help: "With --history: how many.") var limit = 20
    @Option(help: "With --history: the 'next' cursor of the previous page.") var before: String?
    @Flag(help: "Print the node's JSON.") var json = false
    @Flag(help: "With --history: a statement as CSV, one row per movement of money (reads each transaction).") var csv = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        let account = try Parse.account(id, "ID")
        let escaped = account.text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? account.text
        try await node.withClient { client in
            if history {
                var path = "/v1/accounts/\(escaped)/transactions?limit=\(limit)"
                if let before { path += "&before=\(before)" }
                let page = try await client.get(path, as: AccountHistoryView.self)
                if csv { return try await AccountStatement.print(page, account: account, client: client) }
                if json { return printJSON(try JSONSerialization.jsonObject(with: JSONEncoder().encode(page))) }
                var table = Table("HEIGHT", "INDEX", "TRANSACTION")
                for entry in page.transactions { table.add("\(entry.height)", "\(entry.index)", entry.id) }
                table.print()
                if let next = page.next { print("more: --before \(next)") }
                return
            }
            let answer = try await client.call(.GET, "/v1/accounts/\(escaped)" + (proof ? "?proof=true" : ""), timeout: .seconds(60))
            guard answer.isSuccess else { throw CLIError("the node answered \(answer.refusal)", exitCode: answer.status == 404 ? ExitCode.notFound : 1) }
            if json { return printJSON(data: answer.data) }
            let view = try JSONDecoder().decode(AccountView.self, from: answer.data)
            var fields = [("account", view.id), ("as of block", "\(view.height)"), ("keys", view.keys.joined(separator: ", ")), ("quorum", "\(view.quorum)")]
            if !view.flags.isEmpty { fields.append(("flags", view.flags.joined(separator: ", "))) }
            fields.append(("frozen", view.frozen ? "YES" : "no"))
            printFields(fields)
            var table = Table("CURRENCY", "BALANCE", "HELD", "AVAILABLE")
            for balance in view.balances { table.add(balance.currency, balance.balance, balance.held, balance.available) }
            print("")
            table.print()
            for limit in view.limits {
                print("limit \(limit.currency): per transaction \(limit.perTransactionMax ?? "none"), daily \(limit.dailyDebitMax ?? "none"), debited today \(limit.debitedToday)")
            }
            if let proof = view.proof {
                print("\nproof: state after block \(proof.height), root \(proof.stateRoot), anchored in block \(proof.height + 1) (use --json to save it for 'tonle verify account')")
            }
        }
    }
}

/// `tonle statement ACCOUNT --date YYYY-MM-DD [--format camt053] [--out FILE]`.
struct StatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statement", abstract: "Write an account's ISO 20022 camt.053 statement for a business date (ICT).",
        discussion: """
            One Stmt per currency: the opening and closing booked balances (OPBD, CLBD) as the ledger holds them, and one booked entry per
            movement with its reference, counterparty and, for cross-border entries, the foreign amount and exchange rate
            (docs/api.md#statements). Today's statement runs to the latest block. Every node writes the same bytes. Exits 2 if the
            account does not exist. A CSV of an account's movements: 'tonle account ID --history --csv'.
            """)

    @Argument(help: "The account id, name@institution.") var account: String
    @Option(help: "The business date, YYYY-MM-DD (a day in ICT, UTC+7).") var date: String
    @Option(help: "The format: camt053.") var format = "camt053"
    @Option(help: "Write the statement to this file instead of standard output.") var out: String?
    @OptionGroup var node: NodeOptions

    func validate() throws {
        guard BusinessDate(date) != nil else { throw ValidationError("--date must be YYYY-MM-DD") }
        guard format == "camt053" else { throw ValidationError("--format must be camt053 (CSV: tonle account ID --history --csv)") }
    }

    func run() async throws {
        let id = try Parse.account(account, "ACCOUNT")
        let escaped = id.text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id.text
        try await node.withClient { client in
            let answer = try await client.call(.GET, "/v1/accounts/\(escaped)/statement?date=\(date)&format=\(format)", timeout: .seconds(60))
            guard answer.isSuccess else { throw CLIError("the node answered \(answer.refusal)", exitCode: answer.status == 404 ? ExitCode.notFound : 1) }
            guard let out else { return FileHandle.standardOutput.write(answer.data) }
            do { try answer.data.write(to: URL(fileURLWithPath: out), options: .atomic) } catch { throw CLIError("cannot write \(out): \(error.localizedDescription)") }
            FileHandle.standardError.write(Data("wrote \(out)\n".utf8))
        }
    }
}

/// `tonle account ID --history --csv`: the account's movements of money, one row each.
enum AccountStatement {
    static let columns = ["height", "index", "transaction", "result", "command", "kind", "currency", "debit", "credit", "counterparty", "reference"]

    static func print(_ page: AccountHistoryView, account: AccountID, client: RPCClient) async throws {
        Swift.print(columns.joined(separator: ","))
        for entry in page.transactions {
            let status = try await client.get("/v1/transactions/\(entry.id)?transaction=true", as: TransactionStatusView.self)
            guard let base64 = status.transaction, let data = Data(base64Encoded: base64), let tx = try? Transaction(canonical: Array(data)) else {
                throw CLIError("the node did not return transaction \(entry.id)'s bytes")
            }
            let result = status.result ?? status.status
            for (index, command) in tx.body.commands.enumerated() {
                guard let row = movement(command, of: account) else { continue }
                // A rejected transaction moved nothing: its rows say so, with empty amounts.
                let applied = result == "applied"
                let cells = ["\(entry.height)", "\(entry.index)", entry.id, result, "\(index)", row.kind, row.amount.currency.code,
                             applied && row.debit ? row.amount.decimalString : "", applied && !row.debit ? row.amount.decimalString : "",
                             row.counterparty.text, row.reference]
                Swift.print(cells.map(CSV.field).joined(separator: ","))
            }
        }
        if let next = page.next { FileHandle.standardError.write(Data("more: --before \(next)\n".utf8)) }
    }

    /// How `command` moves `account`'s money, if it does: transfers, issuance and redemption,
    /// settlement entries. (Holds move money only when posted; a post names the hold, not the accounts.)
    static func movement(_ command: Command, of account: AccountID) -> (kind: String, amount: Amount, debit: Bool, counterparty: AccountID, reference: String)? {
        func pair(_ kind: String, _ from: AccountID, _ to: AccountID, _ amount: Amount, _ reference: String) -> (String, Amount, Bool, AccountID, String)? {
            if from == account { return (kind, amount, true, to, reference) }
            if to == account { return (kind, amount, false, from, reference) }
            return nil
        }
        switch command {
        case .transfer(let t): return pair("TRANSFER", t.source, t.target, t.amount, t.reference)
        case .issue(let i): return pair("ISSUE", i.issuer, i.target, i.amount, "")
        case .redeem(let r): return pair("REDEEM", r.source, r.issuer, r.amount, "")
        case .settlement(let e):
            let (from, to) = e.postings
            return pair(e.kind.name, from, to, e.amount, "\(e.gateway)/\(e.externalReference)")
        default: return nil
        }
    }
}

/// `tonle block HEIGHT`.
struct BlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block", abstract: "Show a block: header, transactions and their results.",
        discussion: "Save it with --json and check it offline with 'tonle verify block FILE --validators FILE': the header against its certificate, the transactions, results and state root against the header and the next block's. Exits 2 if not stored yet.")

    @Argument(help: "The height.") var height: UInt64
    @Flag(help: "Print the node's JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.withClient { client in
            let answer = try await client.call(.GET, "/v1/blocks/\(height)")
            guard answer.isSuccess else { throw CLIError("the node answered \(answer.refusal)", exitCode: answer.status == 404 ? ExitCode.notFound : 1) }
            if json { return printJSON(data: answer.data) }
            let block = try JSONDecoder().decode(BlockView.self, from: answer.data)
            printFields([
                ("height", "\(block.height)"), ("hash", block.hash), ("previous", block.previousHash),
                ("time", "\(isoTime(block.timeMilliseconds)) (\(block.timeMilliseconds) ms)"), ("proposer", block.proposer),
                ("state root", "\(block.stateRoot) (after this block)"), ("transactions", "\(block.transactions.count)"),
            ])
            if !block.transactions.isEmpty {
                print("")
                var table = Table("INDEX", "TRANSACTION", "RESULT")
                for (index, (id, result)) in zip(block.transactions, block.results).enumerated() { table.add("\(index)", id, result) }
                table.print()
            }
        }
    }
}

/// `tonle blocks [--from H] [--limit N]`.
struct BlocksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blocks", abstract: "List blocks, oldest first (default: the latest 20).")

    @Option(help: "First height (default: the latest --limit blocks).") var from: UInt64?
    @Option(help: "How many (at most 1000).") var limit = 20
    @Flag(help: "Print the node's JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.withClient { client in
            struct Page: Codable { let blocks: [BlockSummaryView] }
            let page = try await client.get("/v1/blocks?limit=\(limit)" + (from.map { "&from=\($0)" } ?? ""), as: Page.self)
            if json { return printJSON(try JSONSerialization.jsonObject(with: JSONEncoder().encode(page))) }
            var table = Table("HEIGHT", "TIME", "TXS", "HASH", "PROPOSER")
            for block in page.blocks {
                table.add("\(block.height)", isoTime(block.timeMilliseconds), "\(block.transactions)", block.hash, String(block.proposer.prefix(16)))
            }
            table.print()
        }
    }
}

/// `tonle validators`.
struct ValidatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validators", abstract: "Show the validator set that signs the next block, or block --height.",
        discussion: "Its --json output is what 'tonle verify --validators' takes: use the set of the height that signed what you verify.")

    @Option(help: "The block whose signers to show (default: the next block).") var height: UInt64?
    @Flag(help: "Print the node's JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func validate() throws {
        if let height, !(1...Limits.heightMax).contains(height) { throw ValidationError("--height is 1 to \(Limits.heightMax)") }
    }

    func run() async throws {
        try await node.withClient { client in
            let answer = try await client.call(.GET, "/v1/validators" + (height.map { "?height=\($0)" } ?? ""))
            guard answer.isSuccess else { throw CLIError("the node answered \(answer.refusal)") }
            if json { return printJSON(data: answer.data) }
            let set = try JSONDecoder().decode(ValidatorsView.self, from: answer.data)
            var table = Table("NAME", "POWER", "PUBLIC KEY")
            for validator in set.validators { table.add(validator.name, "\(validator.power)", validator.publicKey) }
            table.print()
            print("total power \(set.totalPower); a commit needs \(set.quorumPower); signs block \(set.blockHeight)")
        }
    }
}

/// `tonle status`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the node's status: height, latest block, peers, sync state.")

    @Flag(help: "Print the node's JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        try await node.withClient { client in
            let answer = try await client.call(.GET, "/v1/status")
            guard answer.isSuccess else { throw CLIError("the node answered \(answer.refusal)") }
            if json { return printJSON(data: answer.data) }
            let status = try JSONDecoder().decode(StatusView.self, from: answer.data)
            printFields([
                ("node", "\(status.name) (\(status.validator ? "validator" : "observer"), version \(status.version))"), ("chain", status.chainID),
                ("height", "\(status.height) (round \(status.round))"), ("latest block", "\(status.latestBlockHash) at \(isoTime(status.latestBlockTimeMilliseconds))"),
                ("state root", status.stateRoot), ("sync", status.sync), ("peers", "\(status.peers.count)"), ("mempool", "\(status.mempoolTransactions) transactions"),
            ])
        }
    }
}

/// `tonle watch`: follow committed blocks live, over the node's event stream.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Follow committed blocks as they come (one line each), until interrupted.",
        discussion: "Resumes from --from; with --json prints each event's JSON (height, hash, time, state root, every transaction's result).")

    @Option(help: "First height to show (default: the next block).") var from: UInt64?
    @Option(help: "Stop after this many blocks.") var count: Int?
    @Flag(help: "Print each block event as JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        var seen = 0
        try await node.withClient { client in
            try await client.events("/v1/events" + (from.map { "?from=\($0)" } ?? "")) { _, data in
                if json {
                    print(data)
                } else if let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] {
                    let transactions = object["transactions"] as? [[String: Any]] ?? []
                    let rejected = transactions.filter { $0["result"] as? String != "applied" }.count
                    let time = (object["time_ms"] as? NSNumber).map { isoTime($0.uint64Value) } ?? "?"
                    print("block \(object["height"] ?? "?")  \(time)  \(transactions.count) txs\(rejected > 0 ? " (\(rejected) rejected)" : "")  \(object["hash"] as? String ?? "")")
                }
                FileHandle.standardOutput.synchronizeFile()
                seen += 1
                return count.map { seen < $0 } ?? true
            }
        }
    }
}
