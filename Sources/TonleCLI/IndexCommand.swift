import ArgumentParser
import Foundation
import Logging
import TonleCrypto
import TonleIndexer
import TonleNode
import TonleRPC
import TonleTypes

/// `tonle index`: the SQL reporting sink (docs/reporting.md).
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "Follow certified blocks from a node into PostgreSQL reporting tables.",
        discussion: """
            Verifies every block against the validator set handed on from --genesis (its certificate, its transactions,
            their signatures, and its results against the next block), then writes it in one SQL transaction: blocks,
            transactions, postings, settlement_entries, accounts, gateways (schema 'tonle'; docs/reporting.md).
            Resumes after the last block written; killing it loses nothing. A block is indexed once the next one exists.
            Exit codes: 0 reached --until-height; 1 the node served something the certificates do not back, or the
            database belongs to another chain (nothing of the block was written). The node or database being
            unreachable is retried with backoff and logged.
            """)

    @Option(help: "PostgreSQL URL: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-full] (default: $TONLE_POSTGRES).")
    var postgres: String?

    @Option(help: "The chain's genesis file: the validator set trusted for block 1, and the opening balances.")
    var genesis: String

    @Option(help: "Stop once this block is indexed (default: follow the chain until stopped).")
    var untilHeight: UInt64?

    @Flag(help: "Print the summary as JSON.") var json = false
    @OptionGroup var node: NodeOptions

    func run() async throws {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        let logger = { var logger = Logger(label: "tonle-index"); logger.logLevel = .info; return logger }()
        guard let text = postgres ?? ProcessInfo.processInfo.environment["TONLE_POSTGRES"] else {
            throw CLIError("--postgres (or $TONLE_POSTGRES) is required: postgres://USER@HOST:PORT/DATABASE")
        }
        let url: PostgresURL
        do { url = try PostgresURL(text) } catch { throw CLIError(error.description) }
        if let untilHeight, untilHeight > Limits.heightMax { throw CLIError("--until-height must be at most \(Limits.heightMax)") }
        let chain = try GenesisFile.load(path: genesis)
        var options = Indexer.Options(untilHeight: untilHeight)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        options.verifySignatures = { checks in BatchVerifier.verify(checks, workers: cores) { DispatchQueue.concurrentPerform(iterations: $0, execute: $1) } }
        let started = ContinuousClock.now
        let summary = try await node.withClient { client in
            logger.info("indexing \(client.base) into \(url)")
            let indexer = Indexer(source: NodeBlockSource(client: client), genesis: chain, options: options, logger: logger) {
                try await PostgresSink.connect(url, logger: logger)
            }
            do { return try await indexer.run() } catch let error as Indexer.Fatal { throw CLIError(error.description) }
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        if json {
            printJSON(["first_height": summary.firstHeight, "last_height": summary.lastHeight, "blocks": summary.blocks, "transactions": summary.transactions,
                       "postings": summary.postings, "settlement_entries": summary.entries, "seconds": seconds,
                       "fetch_seconds": summary.fetching / .seconds(1), "verify_seconds": summary.verifying / .seconds(1),
                       "write_seconds": summary.writing / .seconds(1)])
        } else if summary.blocks == 0 {
            print("nothing to index: the database is at block \(summary.lastHeight)")
        } else {
            print("indexed blocks \(summary.firstHeight) to \(summary.lastHeight): \(summary.transactions) transactions, \(summary.postings) postings, \(summary.entries) settlement entries in \(String(format: "%.1f", seconds)) s")
        }
    }
}

/// Blocks and validator sets from a node's API, as they come (the indexer checks them).
struct NodeBlockSource: BlockSource {
    let client: RPCClient

    func block(_ height: UInt64) async throws -> BlockView? {
        let answer = try await client.call(.GET, "/v1/blocks/\(height)?transactions=true")
        if answer.status == 404 {
            // Not stored yet, or pruned: only the second is final.
            let status = try await client.get("/v1/status", as: StatusView.self)
            if height < status.oldestBlockHeight {
                throw Indexer.Fatal(description: "the node at \(client.base) keeps blocks from \(status.oldestBlockHeight) on; block \(height) was pruned there or it state-synced. Index from an archive node (storage.retain_blocks 0).")
            }
            return nil
        }
        guard answer.isSuccess else { throw CLIError("the node answered \(answer.refusal)") }
        do { return try JSONDecoder().decode(BlockView.self, from: answer.data) } catch { throw CLIError("the node's block \(height) did not decode: \(error)") }
    }

    func validators(signing height: UInt64) async throws -> ValidatorSet {
        let view = try await client.get("/v1/validators?height=\(height)", as: ValidatorsView.self)
        guard let bytes = Hex.decode(view.encoded) else { throw CLIError("the node's validator set for block \(height) is not hexadecimal") }
        do { return try ValidatorSet(canonical: bytes) } catch { throw CLIError("the node's validator set for block \(height) is not canonical: \(error)") }
    }
}
