import ArgumentParser
import Foundation
import TonleCrypto
import TonleNode
import TonleTypes

/// `tonle tx ...`: build, sign and inspect transactions.
struct TxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx", abstract: "Build, sign and inspect transactions.", subcommands: [TransferTx.self, InspectTx.self])
}

/// `tonle tx transfer`: a signed transfer, printed as canonical bytes with its id.
struct TransferTx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Build and sign a transfer; print its id and canonical bytes.",
        discussion: "Without --node (or $TONLE_NODE) nothing is sent: pass the printed hex to 'tonle tx inspect' to check it. With --submit it is sent to the node, and with --wait the command waits for its block.")

    @Option(help: "Key file of the signer.") var key: String
    @Option(help: "Account to debit (name@institution).") var from: String
    @Option(help: "Account to credit.") var to: String
    @Option(help: "Amount in major units: 1250 (KHR), 12.50 (USD).") var amount: String
    @Option(help: "KHR or USD.") var currency: String
    @Option(help: "Free-text reference for statements.") var reference = ""
    @Option(help: "Network name (default: $TONLE_CHAIN_ID, else tonle-local).") var chain: String?
    @Option(help: "Submitting account (default: --from).") var creator: String?
    @Option(help: "Client id, 32 hex digits (default: random).") var clientID: String?
    @Option(help: "Seconds from now until the transaction expires.") var expiresIn: UInt64 = 600
    @Option(help: "Absolute expiry in ms since 1970 (overrides --expires-in).") var expiryMs: UInt64?
    @Flag(help: "Print JSON instead of text.") var json = false
    @Flag(help: "Submit to the node (--node, else $TONLE_NODE, else http://127.0.0.1:26700).") var submit = false
    @Option(help: "The node's RPC address.") var node: String?
    @Option(help: "With --submit: wait up to this many seconds for the transaction's block.") var wait: UInt64?

    func run() throws {
        let signer = try KeyFileIO.read(key)
        let body = try buildBody()
        let tx = try cli("transaction") { () throws(DecodeError) in try Transaction.signing(body, with: [signer]) }
        let bytes = tx.encoded
        if submit || node != nil {
            try Submitter(client: RPCClient(node), json: json).submit(bytes, id: tx.id.description, wait: wait)
            return
        }
        if json {
            printJSON(["id": tx.id.description, "hex": Hex.encode(bytes), "base64": Data(bytes).base64EncodedString(), "bytes": bytes.count])
        } else {
            TransactionPrinter.print(tx)
            print("hex          \(Hex.encode(bytes))")
        }
    }

    private func buildBody() throws(CLIError) -> TransactionBody {
        let chainID = try cli("--chain") { () throws(IdentifierError) in
            try ChainID(chain ?? ProcessInfo.processInfo.environment["TONLE_CHAIN_ID"] ?? "tonle-local")
        }
        let source = try cli("--from") { () throws(IdentifierError) in try AccountID(from) }
        let target = try cli("--to") { () throws(IdentifierError) in try AccountID(to) }
        let creatorID = try creator.map { text throws(CLIError) in try cli("--creator") { () throws(IdentifierError) in try AccountID(text) } } ?? source
        guard let ledgerCurrency = Currency(code: currency.uppercased()) else {
            throw CLIError("--currency: '\(currency)' is not a ledger currency; use KHR or USD")
        }
        let value = try cli("--amount") { () throws(AmountError) in try Amount(parsing: amount, currency: ledgerCurrency) }
        guard value.minorUnits > 0 else { throw CLIError("--amount: must be more than zero") }
        let client: ID128
        if let clientID {
            guard let parsed = ID128(hex: clientID) else { throw CLIError("--client-id: need 32 hexadecimal digits") }
            client = parsed
        } else {
            var random = SystemRandomNumberGenerator()
            client = ID128(high: random.next(), low: random.next())
        }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let expiry = Timestamp(millisecondsSinceEpoch: expiryMs ?? now + expiresIn * 1000)
        return try cli("transfer") { () throws(DecodeError) in
            let transfer = try Transfer(source: source, target: target, amount: value, reference: reference)
            return try TransactionBody(chainID: chainID, creator: creatorID, clientID: client, expiry: expiry, commands: [.transfer(transfer)])
        }
    }
}

/// `tonle tx inspect HEX`: decode a signed transaction and check its signatures, offline.
struct InspectTx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Decode a signed transaction (hex or base64) and verify its signatures offline.",
        discussion: "Prints VALID and exits 0, or INVALID with the reason and exits 1.")

    @Argument(help: "The transaction's canonical bytes, as hex or base64.") var encoded: String
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        let text = encoded.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Hex.decode(text) ?? Data(base64Encoded: text).map(Array.init) else {
            throw CLIError("INVALID: the argument is neither hexadecimal nor base64")
        }
        let tx: Transaction
        do { tx = try Transaction(canonical: bytes) } catch { throw CLIError("INVALID: not a canonical transaction: \(error)") }
        let invalid = tx.signatureChecks.filter { !$0.isValid }.map(\.publicKey.hex)
        if json {
            printJSON(["id": tx.id.description, "valid": invalid.isEmpty, "invalid_signers": invalid])
        } else {
            TransactionPrinter.print(tx)
        }
        guard invalid.isEmpty else { throw CLIError("INVALID: bad signature from \(invalid.joined(separator: ", "))") }
        if !json { print("VALID") }
    }
}

/// Runs `body`, turning its typed error into a `CLIError` that names the option.
func cli<T, E: Error>(_ option: String, _ body: () throws(E) -> T) throws(CLIError) -> T {
    do { return try body() } catch { throw CLIError("\(option): \(error)") }
}

/// The human-readable form of a transaction.
enum TransactionPrinter {
    static func print(_ tx: Transaction) {
        let body = tx.body, bytes = tx.encoded
        let row = { (label: String, value: String) in Swift.print(label.padding(toLength: 13, withPad: " ", startingAt: 0) + value) }
        row("id", tx.id.description)
        row("chain", body.chainID.text)
        row("creator", body.creator.text)
        row("client id", body.clientID.description)
        row("expiry", "\(iso8601(body.expiry)) (\(body.expiry.millisecondsSinceEpoch) ms)")
        for (index, command) in body.commands.enumerated() { row("command \(index + 1)", summary(command)) }
        let message = body.encoded
        for signature in tx.signatures {
            let ok = signature.publicKey.isValidSignature(signature.signature, for: message)
            row("signed by", "\(signature.publicKey.hex) \(ok ? "valid" : "INVALID")")
        }
        row("size", "\(bytes.count) bytes")
    }

    static func iso8601(_ time: Timestamp) -> String {
        let date = Date(timeIntervalSince1970: Double(time.millisecondsSinceEpoch) / 1000)
        return date.formatted(.iso8601)
    }

    static func summary(_ command: Command) -> String {
        switch command {
        case .transfer(let t): "transfer \(t.amount) \(t.source) → \(t.target)" + (t.reference.isEmpty ? "" : " \"\(t.reference)\"")
        case .hold(let h): "hold \(h.id) \(h.amount) \(h.source) → \(h.target)"
        case .postHold(let p): "post hold \(p.id)" + (p.amount.map { " \($0)" } ?? " (all)")
        case .voidHold(let v): "void hold \(v.id)"
        case .settlement(let s): "settlement \(s.kind) \(s.gateway)/\(s.externalReference) \(s.amount) \(s.debtor) → \(s.creditor)"
        case .createParticipant(let c): "create participant \(c.id) (\(c.role))"
        case .createAccount(let c): "create account \(c.id) (\(c.keys.keys.count) key(s), quorum \(c.keys.quorum))"
        case .setKeys(let s): "set keys of \(s.account) (\(s.keys.keys.count) key(s), quorum \(s.keys.quorum))"
        case .freeze(let a): "freeze \(a)"
        case .unfreeze(let a): "unfreeze \(a)"
        case .issue(let i): "issue \(i.amount) \(i.issuer) → \(i.target)"
        case .redeem(let r): "redeem \(r.amount) \(r.source) → \(r.issuer)"
        case .setLimits(let l): "set limits of \(l.account) in \(l.currency)"
        case .addValidator(let v): "add validator \(v.publicKey) power \(v.power)"
        case .removeValidator(let key): "remove validator \(key)"
        }
    }
}

/// Submits canonical transaction bytes and optionally waits for the block (docs/api.md).
struct Submitter {
    let client: RPCClient
    let json: Bool

    func submit(_ bytes: [UInt8], id: String, wait: UInt64?) throws(CLIError) {
        let answer = try client.call("POST", "v1/transactions", body: ["transaction": Data(bytes).base64EncodedString()])
        guard answer.status == 202 || answer.status == 200 else {
            let code = answer.json["code"] as? String ?? "HTTP_\(answer.status)", message = answer.json["message"] as? String ?? ""
            throw CLIError("the node refused the transaction: \(code): \(message)")
        }
        var status = answer.json
        if let wait, status["status"] as? String != "committed" {
            let deadline = Date().addingTimeInterval(TimeInterval(wait))
            while Date() < deadline {
                status = try client.call("GET", "v1/transactions/\(id)").json
                if status["status"] as? String == "committed" { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            guard status["status"] as? String == "committed" else { throw CLIError("transaction \(id) not committed after \(wait) s; it is \(status["status"] ?? "unknown")") }
        }
        if json {
            printJSON(status.merging(["id": id]) { a, _ in a })
        } else {
            let where_ = (status["height"] as? Int).map { " in block \($0) (\(status["result"] ?? ""))" } ?? ""
            print("\(id) \(status["status"] ?? "pending")\(where_)")
        }
    }
}
