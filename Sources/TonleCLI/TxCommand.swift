import ArgumentParser
import Foundation
import TonleCrypto
import TonleNode
import TonleRPC
import TonleTypes

/// `tonle tx ...`: build, sign, submit, inspect and look up transactions.
struct TxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx", abstract: "Build, sign, submit, inspect and look up transactions.",
        subcommands: [TransferTx.self, HoldTx.self, PostTx.self, VoidTx.self, InspectTx.self, ShowTx.self, ReceiptTx.self])
}

/// What every signed command takes: signer keys, transaction fields, and where to send it.
struct SignOptions: ParsableArguments {
    @Option(help: "Key file of a signer; repeat for an account whose quorum needs several.") var key: [String]
    @Option(help: "Network name (default: $TONLE_CHAIN_ID, else tonle-local).") var chain: String?
    @Option(help: "Client id, 32 hex digits (default: random). Resubmitting the same id is idempotent.") var clientID: String?
    @Option(help: "Seconds from now until the transaction expires.") var expiresIn: UInt64 = 600
    @Option(help: "Absolute expiry in ms since 1970 (overrides --expires-in).") var expiryMs: UInt64?
    @Flag(help: "Print JSON instead of text.") var json = false
    @Flag(help: "Submit to the node (also implied by --node or --wait).") var submit = false
    @Option(help: "With a submission: wait up to this many seconds for the transaction's block.") var wait: UInt64?
    @OptionGroup var node: NodeOptions

    /// Every number in its range before anything is built (docs/architecture.md, "Untrusted input").
    func validate() throws {
        let lifetimeSeconds = Limits.transactionLifetimeMaxMilliseconds / 1_000
        guard (1...lifetimeSeconds).contains(expiresIn) else { throw ValidationError("--expires-in is 1 to \(lifetimeSeconds) seconds (the node refuses a later expiry)") }
        if let wait, wait > CLILimits.waitSecondsMax { throw ValidationError("--wait is at most \(CLILimits.waitSecondsMax) seconds") }
    }

    /// Builds, signs and prints `commands`, or submits them (and waits) when asked.
    func run(_ commands: [Command], creator: AccountID) async throws {
        let signers = try key.map { try KeyFileIO.read($0) }
        guard !signers.isEmpty else { throw CLIError("--key: at least one key file is needed to sign") }
        let (chain, client, expiry) = (try chainID(), try clientIdentifier(), expiry())
        let body = try cli("transaction") { () throws(DecodeError) in
            try TransactionBody(chainID: chain, creator: creator, clientID: client, expiry: expiry, commands: commands)
        }
        let tx = try cli("transaction") { () throws(DecodeError) in try Transaction.signing(body, with: signers) }
        if submit || node.node != nil || wait != nil {
            try await node.withClient { client in try await Submitter(client: client, json: json).submit(tx, wait: wait) }
            return
        }
        let bytes = tx.encoded
        if json {
            printJSON(["id": tx.id.description, "hex": Hex.encode(bytes), "base64": Data(bytes).base64EncodedString(), "bytes": bytes.count])
        } else {
            TransactionPrinter.print(tx)
            print("hex          \(Hex.encode(bytes))")
        }
    }

    private func chainID() throws(CLIError) -> ChainID {
        try cli("--chain") { () throws(IdentifierError) in try ChainID(chain ?? ProcessInfo.processInfo.environment["TONLE_CHAIN_ID"] ?? "tonle-local") }
    }

    private func clientIdentifier() throws(CLIError) -> ID128 {
        guard let clientID else { return .random() }
        guard let parsed = ID128(hex: clientID) else { throw CLIError("--client-id: need 32 hexadecimal digits") }
        return parsed
    }

    private func expiry() -> Timestamp {
        Timestamp(millisecondsSinceEpoch: expiryMs ?? UInt64(Date().timeIntervalSince1970 * 1000) + expiresIn * 1000)
    }
}

extension ID128 {
    static func random() -> ID128 {
        var generator = SystemRandomNumberGenerator()
        return ID128(high: generator.next(), low: generator.next())
    }
}

/// Parsers for option values, each failing with the option's name and what is expected.
enum Parse {
    static func account(_ text: String, _ option: String) throws(CLIError) -> AccountID {
        try cli(option) { () throws(IdentifierError) in try AccountID(text) }
    }

    static func institution(_ text: String, _ option: String) throws(CLIError) -> InstitutionID {
        try cli(option) { () throws(IdentifierError) in try InstitutionID(text) }
    }

    static func currency(_ text: String) throws(CLIError) -> Currency {
        guard let currency = Currency(code: text.uppercased()) else { throw CLIError("--currency: '\(text)' is not a ledger currency; use KHR or USD") }
        return currency
    }

    /// A positive amount in major units.
    static func amount(_ text: String, _ currency: String, _ option: String = "--amount") throws(CLIError) -> Amount {
        let ledgerCurrency = try Parse.currency(currency)
        let value = try cli(option) { () throws(AmountError) in try Amount(parsing: text, currency: ledgerCurrency) }
        guard value.minorUnits > 0 else { throw CLIError("\(option): must be more than zero") }
        return value
    }

    static func id128(_ text: String, _ option: String) throws(CLIError) -> ID128 {
        guard let value = ID128(hex: text) else { throw CLIError("\(option): need 32 hexadecimal digits") }
        return value
    }

    /// A public key: 64 hex digits, or a key file whose public key to take.
    static func publicKey(_ text: String, _ option: String) throws -> Ed25519.PublicKey {
        if let raw = Bytes32(hex: text) { return Ed25519.PublicKey(raw) }
        guard FileManager.default.fileExists(atPath: text) else { throw CLIError("\(option): '\(text)' is neither 64 hex digits nor a key file") }
        return try KeyFileIO.read(text).publicKey
    }
}

/// `tonle tx transfer`.
struct TransferTx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer", abstract: "Build and sign a transfer; print it, or submit it with --submit/--node/--wait.",
        discussion: "Without a submission nothing is sent: pass the printed hex to 'tonle tx inspect' to check it.")

    @Option(help: "Account to debit (name@institution).") var from: String
    @Option(help: "Account to credit.") var to: String
    @Option(help: "Amount in major units: 1250 (KHR), 12.50 (USD).") var amount: String
    @Option(help: "KHR or USD.") var currency: String
    @Option(help: "Free-text reference for statements.") var reference = ""
    @Option(help: "Submitting account (default: --from).") var creator: String?
    @OptionGroup var options: SignOptions

    func run() async throws {
        let source = try Parse.account(from, "--from"), target = try Parse.account(to, "--to")
        let value = try Parse.amount(amount, currency)
        let transfer = try cli("transfer") { () throws(DecodeError) in try Transfer(source: source, target: target, amount: value, reference: reference) }
        try await options.run([.transfer(transfer)], creator: try creator.map { text throws(CLIError) in try Parse.account(text, "--creator") } ?? source)
    }
}

/// `tonle tx hold`: reserve funds for a later post or void (two-phase transfers).
struct HoldTx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Reserve funds of --from for --to until posted, voided or timed out.",
        discussion: "Prints the hold id; post it with 'tonle tx post --id ID' or void it with 'tonle tx void --id ID', signed by the owner of --to.")

    @Option(help: "Hold id, 32 hex digits (default: random).") var id: String?
    @Option(help: "Account whose funds are held.") var from: String
    @Option(help: "Account the funds go to when posted.") var to: String
    @Option(help: "Amount in major units.") var amount: String
    @Option(help: "KHR or USD.") var currency: String
    @Option(help: "Seconds until the hold lapses (block time).") var timeout: UInt64 = 3_600
    @Option(help: "Free-text reference.") var reference = ""
    @OptionGroup var options: SignOptions

    func validate() throws {
        let maximum = Limits.holdTimeoutMaxMilliseconds / 1_000
        guard (1...maximum).contains(timeout) else { throw ValidationError("--timeout is 1 to \(maximum) seconds (30 days)") }
    }

    func run() async throws {
        let holdID = try id.map { text throws(CLIError) in try Parse.id128(text, "--id") } ?? .random()
        let source = try Parse.account(from, "--from"), target = try Parse.account(to, "--to")
        let value = try Parse.amount(amount, currency)
        let hold = try cli("hold") { () throws(DecodeError) in
            try Hold(id: holdID, source: source, target: target, amount: value, timeoutMilliseconds: timeout * 1_000, reference: reference)
        }
        if !options.json { print("hold id      \(holdID)") }
        try await options.run([.hold(hold)], creator: source)
    }
}

/// `tonle tx post`: complete a hold (all of it, or a part).
struct PostTx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "post", abstract: "Post a hold: move its funds (or --amount of them) to its target. Signed by the target's owner.")

    @Option(help: "The hold id.") var id: String
    @Option(help: "The hold's target account, which signs.") var creator: String
    @Option(help: "Post only this much (major units); the rest is released.") var amount: String?
    @Option(help: "Currency of --amount.") var currency: String?
    @OptionGroup var options: SignOptions

    func run() async throws {
        let holdID = try Parse.id128(id, "--id")
        var partial: Amount?
        if let amount {
            guard let currency else { throw CLIError("--amount needs --currency") }
            partial = try Parse.amount(amount, currency)
        }
        try await options.run([.postHold(PostHold(id: holdID, amount: partial))], creator: try Parse.account(creator, "--creator"))
    }
}

/// `tonle tx void`: cancel a hold.
struct VoidTx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "void", abstract: "Void a hold: release its funds back to the source. Signed by the target's owner.")

    @Option(help: "The hold id.") var id: String
    @Option(help: "The hold's target account, which signs.") var creator: String
    @OptionGroup var options: SignOptions

    func run() async throws {
        try await options.run([.voidHold(VoidHold(id: try Parse.id128(id, "--id")))], creator: try Parse.account(creator, "--creator"))
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

/// `tonle tx receipt ID`: a committed transaction's receipt, to check offline with `tonle verify receipt`.
struct ReceiptTx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt", abstract: "Fetch a committed transaction's receipt: its bytes and result, with Merkle proofs to certified headers.",
        discussion: "Save it with --json and check it offline: 'tonle verify receipt FILE --validators FILE' (the set that signed the block after the transaction's). Exits 2 when the node has not committed the transaction.")

    @Argument(help: "The transaction id (64 hex digits).") var id: String
    @Flag(help: "Print the node's JSON (what 'tonle verify receipt' reads).") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        guard Bytes32(hex: id) != nil else { throw CLIError("the id must be 64 hexadecimal digits") }
        let answer = try await node.withClient { client in try await client.call(.GET, "/v1/transactions/\(id)/receipt", timeout: .seconds(60)) }
        guard answer.isSuccess else { throw CLIError("the node answered \(answer.refusal)", exitCode: answer.status == 404 ? ExitCode.notFound : 1) }
        if json { return printJSON(data: answer.data) }
        let receipt = try JSONDecoder().decode(ReceiptView.self, from: answer.data)
        print("transaction \(receipt.id): number \(receipt.index) of block \(receipt.height), result \(receipt.result)"
              + (receipt.detail.map { " (\($0))" } ?? "") + "; certified by block \(receipt.height + 1) (save with --json, check with 'tonle verify receipt')")
    }
}

/// `tonle tx show ID`: where a transaction is, and what it says.
struct ShowTx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a transaction: pending, committed (block, index, result) or unknown, with its contents.",
        discussion: "Exits 2 when the node does not know the transaction.")

    @Argument(help: "The transaction id (64 hex digits).") var id: String
    @Option(help: "Wait up to this many seconds for it to be committed (at most the node's rpc.wait_seconds_max, 60 by default).") var wait: Int = 0
    @Flag(help: "Print the node's JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func validate() throws {
        guard (0...Int(CLILimits.waitSecondsMax)).contains(wait) else { throw ValidationError("--wait is 0 to \(CLILimits.waitSecondsMax) seconds") }
    }

    func run() async throws {
        guard Bytes32(hex: id) != nil else { throw CLIError("the id must be 64 hexadecimal digits") }
        let answer = try await node.withClient { client in
            try await client.call(.GET, "/v1/transactions/\(id)?transaction=true" + (wait > 0 ? "&wait=\(wait)" : ""), timeout: .seconds(Int64(wait) + 30))
        }
        guard answer.isSuccess else { throw CLIError("the node answered \(answer.refusal)") }
        let object = answer.json
        if json { printJSON(data: answer.data) } else {
            var fields = [("status", object["status"] as? String ?? "?")]
            if let height = object["height"] as? Int { fields.append(("block", "\(height), index \(object["index"] as? Int ?? 0)")) }
            if object["result"] != nil { fields.append(("result", RejectionText.describe(object))) }
            printFields(fields)
            if let base64 = object["transaction"] as? String, let data = Data(base64Encoded: base64), let tx = try? Transaction(canonical: Array(data)) {
                TransactionPrinter.print(tx)
            }
        }
        if object["status"] as? String == "unknown" { throw CLIError("the node does not know transaction \(id)", exitCode: ExitCode.notFound) }
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
        var fields = [("id", tx.id.description), ("chain", body.chainID.text), ("creator", body.creator.text), ("client id", body.clientID.description),
                      ("expiry", "\(isoTime(body.expiry.millisecondsSinceEpoch)) (\(body.expiry.millisecondsSinceEpoch) ms)")]
        for (index, command) in body.commands.enumerated() { fields.append(("command \(index + 1)", summary(command))) }
        let message = body.encoded
        for signature in tx.signatures {
            let ok = signature.publicKey.isValidSignature(signature.signature, for: message)
            fields.append(("signed by", "\(signature.publicKey.hex) \(ok ? "valid" : "INVALID")"))
        }
        fields.append(("size", "\(bytes.count) bytes"))
        for (label, value) in fields { Swift.print(label.padding(toLength: 13, withPad: " ", startingAt: 0) + value) }
    }

    static func summary(_ command: Command) -> String {
        switch command {
        case .transfer(let t): "transfer \(t.amount) \(t.source) → \(t.target)" + (t.reference.isEmpty ? "" : " \"\(t.reference)\"")
        case .hold(let h): "hold \(h.id) \(h.amount) \(h.source) → \(h.target)"
        case .postHold(let p): "post hold \(p.id)" + (p.amount.map { " \($0)" } ?? " (all)")
        case .voidHold(let v): "void hold \(v.id)"
        case .settlement(let s):
            "settlement \(s.kind.name) \(s.gateway)/\(s.externalReference) \(s.amount) account \(s.account)"
                + (s.foreignAmount.map { " foreign \($0.minorUnits) \($0.currency) minor" } ?? "") + (s.fx.map { " rate \($0.rate)" } ?? "")
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
        case .configureGateway(let g): "configure gateway \(g.gateway) (cut-off \(g.cutoffMilliseconds) ms, \(g.limits.count) limit(s))"
        case .setReferenceRate(let r): "reference rate \(r.unitCurrency)/\(r.quotedCurrency) on \(r.businessDate): \(r.rate) ± \(r.toleranceBasisPoints) bp"
        }
    }
}

/// Submits a transaction and optionally waits for its block (docs/api.md).
struct Submitter {
    let client: RPCClient
    let json: Bool

    func submit(_ tx: Transaction, wait: UInt64?) async throws(CLIError) {
        let id = tx.id.description
        let answer = try await client.call(.POST, "/v1/transactions", body: ["transaction": Data(tx.encoded).base64EncodedString()])
        guard answer.isSuccess else { throw CLIError("the node refused the transaction: \(answer.refusal)") }
        var status = answer.json
        if let wait, status["status"] as? String != "committed" {
            let deadline = Date().addingTimeInterval(TimeInterval(wait))
            while Date() < deadline, status["status"] as? String != "committed" {
                let seconds = max(1, min(60, Int(deadline.timeIntervalSinceNow.rounded(.up))))
                let polled = try await client.call(.GET, "/v1/transactions/\(id)?wait=\(seconds)", timeout: .seconds(Int64(seconds) + 30))
                guard polled.isSuccess else { throw CLIError("the node answered \(polled.refusal)") }
                status = polled.json
            }
            guard status["status"] as? String == "committed" else {
                throw CLIError("transaction \(id) not committed after \(wait) s; it is \(status["status"] ?? "unknown"). Check later with 'tonle tx show \(id)'")
            }
        }
        status["transaction"] = nil
        // A settlement entry already recorded under its reference: the node answers with the original transaction.
        let original = (status["id"] as? String).flatMap { $0 == id ? nil : $0 }
        if json {
            printJSON(status.merging(["id": id]) { a, _ in a }.merging(original.map { ["original": $0] } ?? [:]) { a, _ in a })
        } else {
            let where_ = (status["height"] as? Int).map { " in block \($0) (\(status["result"] ?? ""))" } ?? ""
            if let original {
                print("\(id) not submitted: its settlement entry is already recorded by \(original), committed\(where_)")
            } else {
                print("\(id) \(status["status"] ?? "pending")\(where_)")
            }
        }
        if let result = status["result"] as? String, result != "applied" {
            throw CLIError("transaction \(id) was committed but rejected: \(RejectionText.describe(status)) (docs/errors.md)")
        }
    }
}

/// A result as people read it: `applied`, or `KHQR_INVALID (KHQR_CRC_MISMATCH) in command 1`
/// (commands counted from 1, as the ledger's descriptions do).
enum RejectionText {
    static func describe(_ status: [String: Any]) -> String {
        let result = status["result"] as? String ?? "?"
        let detail = (status["detail"] as? String).map { " (\($0))" } ?? ""
        let command = (status["command"] as? Int).map { " in command \($0 + 1)" } ?? ""
        return result + detail + command
    }
}
