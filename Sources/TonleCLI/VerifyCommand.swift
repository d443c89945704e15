import ArgumentParser
import Foundation
import TonleCrypto
import TonleNode
import TonleRPC
import TonleTypes

/// `tonle verify block|account FILE --validators FILE`: checks, offline, what a node returned —
/// trusting only the validator set given.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a block's commit certificate, or an account proof, offline against a validator set.",
        discussion: """
            FILE is the --json output of 'tonle block' or 'tonle account --proof' ('-' reads standard input).
            --validators is the --json output of 'tonle validators', or a genesis file: the set that signed that height.
            Prints VALID and exits 0, or INVALID with the reason and exits 1.
            """,
        subcommands: [Block.self, Account.self])

    struct Inputs: ParsableArguments {
        @Argument(help: "The node's JSON answer ('-' for standard input).") var file: String
        @Option(help: "The validator set: 'tonle validators --json' output, or a genesis file.") var validators: String
        @Flag(help: "On success print JSON ({\"valid\":true,...}); failures are still an error line and exit 1.") var json = false

        func answer() throws -> Data {
            if file == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
            do { return try Data(contentsOf: URL(fileURLWithPath: file)) } catch { throw CLIError("cannot read \(file): \(error.localizedDescription)") }
        }

        func validatorSet() throws -> ValidatorSet {
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
        static let configuration = CommandConfiguration(abstract: "Check a block's header against its commit certificate and a validator set.")
        @OptionGroup var inputs: Inputs

        func run() throws {
            let set = try inputs.validatorSet()
            let view: BlockView
            do { view = try JSONDecoder().decode(BlockView.self, from: try inputs.answer()) } catch let error as CLIError { throw error } catch {
                throw CLIError("INVALID: not a block from 'tonle block --json': \(error)")
            }
            do {
                guard let header = Hex.decode(view.header), let certificate = Hex.decode(view.certificate) else {
                    throw OfflineVerifier.Invalid("header and certificate must be hexadecimal")
                }
                let verified = try OfflineVerifier.verifyHeader(header, certificate: certificate, validators: set)
                guard verified.hash.hex == view.hash, verified.height == view.height else {
                    throw OfflineVerifier.Invalid("the certified header is block \(verified.height) \(verified.hash.hex), not the \(view.height) \(view.hash) the file claims")
                }
                if inputs.json {
                    printJSON(["valid": true, "height": verified.height, "hash": verified.hash.hex, "validators_hash": set.hash.hex])
                } else {
                    print("VALID: block \(verified.height) \(verified.hash.hex) is certified by validators with more than 2/3 of the power")
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
}
