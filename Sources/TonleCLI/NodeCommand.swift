import ArgumentParser
import Foundation
import Logging
import TonleNode

/// `tonle-node`: runs a validator or observer node (docs/operations.md).
public struct TonleNodeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tonle-node",
        abstract: "Runs a Tonle validator or observer node.",
        discussion: "Exit codes: 0 stopped by SIGTERM/SIGINT; 1 could not start or stopped on a fatal error (the log says why).",
        subcommands: [Start.self])

    public init() {}

    /// Parses the command line and runs it; errors print as one line and exit 1.
    public static func runMain() async {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch let error as NodeError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Starts the node described by a configuration file.",
            discussion: "Every key may be overridden by an environment variable: p2p.listen by TONLE_P2P_LISTEN, and so on (docs/operations.md).")

        @Option(name: .long, help: "The node's configuration file (JSON).")
        var config: String

        func run() async throws {
            try await Node.run(configPath: config, logger: Logger(label: "tonle-node"))
        }
    }
}
