import ArgumentParser
import Foundation
import TonleNode

/// `tonle`: the administrator's and gateway engineer's command line (docs/cli.md).
public struct TonleCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tonle",
        abstract: "Keys, transactions and benchmarks for a Tonle payment ledger.",
        discussion: "Exit codes: 0 success; 1 failure (invalid input, invalid signature, file problems); 64 usage error.",
        subcommands: [Keygen.self, KeyCommand.self, GenesisCommand.self, TxCommand.self, BenchCommand.self])

    public init() {}

    /// Runs the command line; `CLIError`s print as one line and exit 1.
    public static func runMain(_ arguments: [String]? = nil) {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(1)
        } catch let error as NodeError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

/// Prints one line of JSON made from `object` (keys sorted, so output is stable).
func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}
