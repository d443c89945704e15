import ArgumentParser
import Foundation
import TonleCrypto
import TonleNode
import TonleRPC
import TonleTypes

/// `tonle verify block|receipt|account FILE --validators FILE`: checks, offline, what a node
/// returned — trusting only the validator set given.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a block, a receipt, or an account, position or entry proof offline against a validator set.",
        discussion: """
            FILE is the --json output of 'tonle block', 'tonle tx receipt', 'tonle account --proof', 'tonle positions --proof'
            or 'tonle settlement --proof' ('-' reads standard input).
            --validators is the --json output of 'tonle validators --height H', or a genesis file: the set that signed the
            certifying block (for a block, its own height; for a receipt or a proof, the block after). When a block's
            next height was signed by another set, pass that one with --next-validators.
            Prints VALID and exits 0, or INVALID with the reason and exits 1.
            """,
        subcommands: [Block.self, Receipt.self, Account.self, Position.self, Entry.self])

    struct Inputs: ParsableArguments {
        @Argument(help: "The node's JSON answer ('-' for standard input).") var file: String
        @Option(help: "The validator set: 'tonle validators --json' output, or a genesis file.") var validators: String
        @Flag(help: "On success print JSON ({\"valid\":true,...}); failures are still an error line and exit 1.") var json = false

        func answer() throws -> Data {
            if file == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
            do { return try Data(contentsOf: URL(fileURLWithPath: file)) } catch { throw CLIError("cannot read \(file): \(error.localizedDescription)") }
        }

        func validatorSet() throws -> ValidatorSet { try Self.validatorSet(from: validators) }

        /// The file decoded as `T`, or INVALID naming the command whose output it should be.
        func decoded<T: Decodable>(_ type: T.Type, from command: String) throws -> T {
            do { return try JSONDecoder().decode(T.self, from: try answer()) } catch let error as CLIError { throw error } catch {
                throw CLIError("INVALID: not the output of '\(command)': \(error)")
            }
        }

        /// A validator set from 'tonle validators --json' output or a genesis file.
        static func validatorSet(from validators: String) throws -> ValidatorSet {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: validators)) } catch { throw CLIError("cannot read \(validators): \(error.localizedDescription)") }
            let object = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
            if let encoded = object["encoded"] as? String {
                guard let bytes = Hex.decode(encoded) else { throw CLIError("--validators: 'encoded' is not hexadecimal") }
                do { return try ValidatorSet(canonical: bytes) } catch { throw CLIError("--validators: not a canonical validator set: \(error)") }
            }
            guard object["chain_id"] != nil else {
                throw CLIError("--validators: \(validators) is neither 'tonle validators --json' output nor a genesis file")
            }
            return try GenesisFile.load(path: validators).validators
        }
    }

    struct Block: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a whole block: its header against its certificate, its transactions against the header, its results and state root against the next header.")
        @OptionGroup var inputs: Inputs
        @Option(help: "The set that signed the next block, when it differs from --validators.") var nextValidators: String?

        func run() throws {
            let set = try inputs.validatorSet()
            let nextSet = try nextValidators.map { try Inputs.validatorSet(from: $0) } ?? set
            let view: BlockView
            do { view = try JSONDecoder().decode(BlockView.self, from: try inputs.answer()) } catch let error as CLIError { throw error } catch {
                throw CLIError("INVALID: not a block from 'tonle block --json': \(error)")
            }
            let complete: Bool
            do { complete = try OfflineVerifier.verifyBlock(view, validators: set, nextValidators: nextSet) } catch { throw CLIError("INVALID: \(error)") }
            guard complete else {
                throw CLIError("INCOMPLETE: block \(view.height)'s header and transactions are certified, but its results and state root are certified by block \(view.height + 1), which the file lacks; fetch it again once that block is committed")
            }
            if inputs.json {
                printJSON(["valid": true, "height": view.height, "hash": view.hash, "transactions": view.transactions.count, "state_root": view.stateRoot,
                           "validators_hash": set.hash.hex])
            } else {
                print("VALID: block \(view.height) \(view.hash) is certified; its \(view.transactions.count) transactions, their results and the state root after it are the ones certified by blocks \(view.height) and \(view.height + 1)")
            }
        }
    }

    struct Receipt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a transaction receipt: the transaction in its block, its result in the next block's header, that header's certificate.")
        @OptionGroup var inputs: Inputs

        func run() throws {
            let set = try inputs.validatorSet()
            let view: ReceiptView
            do { view = try JSONDecoder().decode(ReceiptView.self, from: try inputs.answer()) } catch let error as CLIError { throw error } catch {
                throw CLIError("INVALID: not a receipt from 'tonle tx receipt --json': \(error)")
            }
            do {
                let receipt = try OfflineVerifier.verifyReceipt(view, validators: set)
                if inputs.json {
                    printJSON(["valid": true, "id": view.id, "height": receipt.height, "index": Int(receipt.index), "result": view.result,
                               "creator": receipt.transaction.body.creator.text])
                } else {
                    print("VALID: transaction \(view.id) by \(receipt.transaction.body.creator) is number \(receipt.index) (from 0) of block \(receipt.height), and its result \(receipt.result) is certified by block \(receipt.height + 1)")
                }
            } catch { throw CLIError("INVALID: \(error)") }
        }
    }

    struct Account: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check an account proof: its Merkle path to a state root in a certified header.")
        @OptionGroup var inputs: Inputs

        func run() throws {
            let set = try inputs.validatorSet()
            let view: AccountView
            do { view = try JSONDecoder().decode(AccountView.self, from: try inputs.answer()) } catch let error as CLIError { throw error } catch {
                throw CLIError("INVALID: not an account from 'tonle account --proof --json': \(error)")
            }
            guard let proof = view.proof else { throw CLIError("INVALID: the file has no proof; fetch it with 'tonle account ID --proof --json'") }
            do {
                let account = try TonleTypes.AccountID(view.id)
                let record = try OfflineVerifier.verifyAccount(account, proof: proof, validators: set)
                // The proven record must say what the rest of the file says.
                guard AccountView(record: record, height: view.height).balances == view.balances, record.frozen == view.frozen else {
                    throw OfflineVerifier.Invalid("the balances in the file differ from the proven record")
                }
                let balances = view.balances.map { "\($0.balance) \($0.currency)" }.joined(separator: ", ")
                if inputs.json {
                    printJSON(["valid": true, "account": account.text, "height": proof.height, "anchor_height": proof.height + 1, "state_root": proof.stateRoot])
                } else {
                    print("VALID: \(account) as of block \(proof.height) (\(balances)) is in the state certified by block \(proof.height + 1)")
                }
            } catch { throw CLIError("INVALID: \(error)") }
        }
    }

    struct Position: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a gateway's positions: each one's Merkle proof (of its record, or of its absence) to a certified state root, and its figures.")
        @OptionGroup var inputs: Inputs

        func run() throws {
            let set = try inputs.validatorSet()
            let view = try inputs.decoded(GatewayPositionsView.self, from: "tonle positions GATEWAY --proof --json")
            guard let gateway = try? TonleTypes.InstitutionID(view.gateway), let date = BusinessDate(view.businessDate) else {
                throw CLIError("INVALID: the file's gateway or business date is not one the ledger has")
            }
            var lines: [String] = []
            do {
                for position in view.positions {
                    let record = try OfflineVerifier.verifyPosition(position, gateway: gateway, date: date, validators: set)
                    lines.append("\(position.currency): \(record.count) entries, net position \(position.netPosition)" + (position.closedBy.map { ", closed by \($0)" } ?? ", open"))
                }
            } catch { throw CLIError("INVALID: \(error)") }
            if inputs.json {
                printJSON(["valid": true, "gateway": view.gateway, "business_date": view.businessDate, "height": view.height, "anchor_height": view.height + 1])
            } else {
                print("VALID: \(view.gateway)'s positions on \(view.businessDate) as of block \(view.height) are in the state certified by block \(view.height + 1): "
                      + lines.joined(separator: "; "))
            }
        }
    }

    struct Entry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check settlement entries: each one's Merkle proof to a certified state root, and its fields.")
        @OptionGroup var inputs: Inputs

        func run() throws {
            let set = try inputs.validatorSet()
            let view = try inputs.decoded(SettlementLookupView.self, from: "tonle settlement GATEWAY REFERENCE --proof --json")
            guard !view.entries.isEmpty else { throw CLIError("INVALID: the file has no entries") }
            do {
                for entry in view.entries {
                    try OfflineVerifier.verifyEntry(entry, validators: set)
                    guard entry.gateway == view.gateway, entry.reference == view.reference else {
                        throw OfflineVerifier.Invalid("an entry is \(entry.gateway)/\(entry.reference), not \(view.gateway)/\(view.reference)")
                    }
                }
            } catch { throw CLIError("INVALID: \(error)") }
            let anchor = (view.entries[0].proof?.height ?? 0) + 1
            if inputs.json {
                printJSON(["valid": true, "gateway": view.gateway, "reference": view.reference, "entries": view.entries.count, "anchor_height": anchor])
            } else {
                let described = view.entries.map { "\($0.kind) \($0.amount) \($0.currency) to \($0.account) in block \($0.height)" }.joined(separator: "; ")
                print("VALID: \(view.gateway)/\(view.reference) is in the state certified by block \(anchor): \(described)")
            }
        }
    }
}
