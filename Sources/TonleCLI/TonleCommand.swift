import ArgumentParser
import Foundation
import TonleNode

/// `tonle`: the administrator's and gateway engineer's command line (docs/cli.md).
public struct TonleCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tonle",
        abstract: "Keys, transactions, queries, offline verification and benchmarks for a Tonle payment ledger.",
        discussion: """
            The node is --node URL, else $TONLE_NODE, else http://127.0.0.1:26700. Text by default; --json for scripts.
            Exit codes: 0 success; 1 failure (invalid input, refused, INVALID); 2 not found; 3 node unreachable; 64 usage error.
            """,
        subcommands: [
            Keygen.self, KeyCommand.self, GenesisCommand.self, TxCommand.self, AdminCommand.self, AccountCommand.self, StatementCommand.self, BlockCommand.self,
            BlocksCommand.self, ValidatorsCommand.self, StatusCommand.self, WatchCommand.self, VerifyCommand.self, KHQRCommand.self,
            SettleCommand.self, RateCommand.self, PositionsCommand.self, EntriesCommand.self, SettlementCommand.self, BackupCommand.self, RestoreCommand.self,
            IndexCommand.self, BenchCommand.self,
        ])

    public init() {}

    /// Runs the command line; `CLIError`s print as one line and exit with their code.
    public static func runMain(_ arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(error.exitCode)
        } catch let error as NodeError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

/// Prints one line of JSON made from `object` (keys sorted, so output is stable).
func printJSON(_ object: Any) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// Prints raw JSON bytes from the node as they came (one line).
func printJSON(data: Data) {
    guard let object = try? JSONSerialization.jsonObject(with: data) else { return print(String(decoding: data, as: UTF8.self)) }
    printJSON(object)
}

/// A text table: a header row and columns padded to their widest cell.
struct Table {
    let header: [String]
    var rows: [[String]] = []

    init(_ header: String...) { self.header = header }

    mutating func add(_ cells: String...) { rows.append(cells) }

    func print() {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        for row in all {
            Swift.print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
    }
}

/// Label/value lines, labels padded to one width.
func printFields(_ fields: [(String, String)]) {
    let width = (fields.map(\.0.count).max() ?? 0) + 2
    for (label, value) in fields { print(label.padding(toLength: width, withPad: " ", startingAt: 0) + value) }
}

/// Milliseconds since 1970 as ISO 8601.
func isoTime(_ milliseconds: UInt64) -> String { Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601) }
