import Foundation
import Logging
import TonleCrypto
import TonleLedger
import TonleRPC
import TonleTypes

/// Where the indexer reads blocks: a node's HTTP API (`tonle index --node`), or anything that
/// answers the same (tests). Nothing it returns is trusted: the indexer checks it all.
public protocol BlockSource: Sendable {
    /// `GET /v1/blocks/{height}?transactions=true`; nil while the node has not stored it.
    func block(_ height: UInt64) async throws -> BlockView?
    /// `GET /v1/validators?height=H`: the set that signs block `height`.
    func validators(signing height: UInt64) async throws -> ValidatorSet
}

/// Follows certified blocks from a `BlockSource` into PostgreSQL (docs/reporting.md): each block
/// is verified against the validator set the chain hands on from genesis, its rows derived from
/// its certified transactions and results, and written in one SQL transaction with the new
/// position. A block is indexed once the next one exists, which certifies its results.
public struct Indexer: Sendable {
    public struct Options: Sendable {
        /// Stop after this height (else follow the chain until stopped).
        public var untilHeight: UInt64?
        /// How long to wait before asking again for a block not yet certified.
        public var poll: Duration = .milliseconds(250)
        /// The longest wait between retries after the node or the database failed.
        public var backoffMax: Duration = .seconds(5)
        /// Checks a batch of signatures (on several cores in `tonle index`).
        public var verifySignatures: @Sendable ([SignatureCheck]) -> [Bool] = { $0.map(\.isValid) }
        public init(untilHeight: UInt64? = nil) { self.untilHeight = untilHeight }
    }

    /// What a run did.
    public struct Summary: Sendable, Equatable {
        public var firstHeight: UInt64
        public var lastHeight: UInt64
        public var blocks: Int = 0
        public var transactions: Int = 0
        public var postings: Int = 0
        public var entries: Int = 0
        /// Where the time went: reading blocks and sets from the node, verifying them (signatures
        /// included) and deriving their rows, writing them to PostgreSQL.
        public var fetching: Duration = .zero
        public var verifying: Duration = .zero
        public var writing: Duration = .zero
    }

    /// A failure that retrying cannot mend: the node served something the certificates do not
    /// back, or the database belongs to another chain. Nothing of the block was written.
    public struct Fatal: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    let source: any BlockSource
    let genesis: Genesis
    let options: Options
    let logger: Logger
    /// Opens the database (again after a failure).
    let connect: @Sendable () async throws -> PostgresSink

    public init(source: any BlockSource, genesis: Genesis, options: Options, logger: Logger, connect: @escaping @Sendable () async throws -> PostgresSink) {
        (self.source, self.genesis, self.options, self.logger, self.connect) = (source, genesis, options, logger, connect)
    }

    /// Indexes until `options.untilHeight` (or forever). Transient failures of the node or the
    /// database are logged and retried with backoff; a `Fatal` one ends the run.
    public func run() async throws -> Summary {
        var summary: Summary?
        var backoff = Duration.milliseconds(200)
        while true {
            do {
                let sink = try await connect()
                let outcome: Result<Void, any Error>
                do {
                    let position = try await sink.prepare(genesis: genesis)
                    if summary == nil {
                        summary = Summary(firstHeight: position.height + 1, lastHeight: position.height)
                        logger.info("indexing from block \(position.height + 1)", metadata: ["chain": "\(genesis.chainID)"])
                    }
                    try await follow(sink, from: position, summary: &summary!) { backoff = .milliseconds(200) }
                    outcome = .success(())
                } catch {
                    outcome = .failure(error)
                }
                await sink.close()
                try outcome.get()
                return summary!
            } catch let error as Fatal {
                throw error
            } catch let error as VerifiedBlock.Invalid {
                throw Fatal(description: "the node served a block the certificates do not back: \(error); nothing of it was written")
            } catch let error as PostgresSink.Mismatch {
                throw Fatal(description: error.description)
            } catch let error as BlockRows.Incomplete {
                throw Fatal(description: error.description)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning("indexing paused: \(String(reflecting: error)); retrying in \(backoff)")
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, options.backoffMax)
            }
        }
    }

    /// Indexes block after block from `position` on `sink`; calls `progressed` after each.
    func follow(_ sink: PostgresSink, from start: IndexerPosition, summary: inout Summary, progressed: () -> Void) async throws {
        var position = start
        var lastReport = ContinuousClock.now, reportedHeight = position.height
        while options.untilHeight.map({ position.height < $0 }) ?? true {
            try Task.checkCancellation()
            let height = position.height + 1
            let clock = ContinuousClock(), fetched = clock.now
            guard let view = try await source.block(height), view.nextHeader != nil else {
                try await Task.sleep(for: options.poll)
                continue
            }
            let nextValidators = try await validators(after: view, current: position.nextValidators)
            let verified = clock.now
            let block = try VerifiedBlock.verify(view, chainID: genesis.chainID, previousHash: position.blockHash, validators: position.nextValidators,
                                                 nextValidators: nextValidators, verifySignatures: options.verifySignatures)
            let rows = try await rows(of: block, sink: sink)
            let written = clock.now
            try await sink.write(block, rows, after: position)
            (summary.fetching, summary.verifying, summary.writing) = (
                summary.fetching + (verified - fetched), summary.verifying + (written - verified), summary.writing + (clock.now - written)
            )
            position = IndexerPosition(height: height, blockHash: block.header.hash, nextValidators: nextValidators)
            summary.lastHeight = height
            summary.blocks += 1
            summary.transactions += rows.transactions.count
            summary.postings += rows.postings.count
            summary.entries += rows.entries.count
            progressed()
            if ContinuousClock.now - lastReport >= .seconds(10) {
                logger.info("indexed to block \(height)", metadata: ["blocks": "\(height - reportedHeight)", "transactions": "\(summary.transactions)"])
                (lastReport, reportedHeight) = (.now, height)
            }
        }
    }

    /// The set that signs the block after `view`: the current one unless the header announces
    /// another, which is then fetched and must have the announced hash.
    func validators(after view: BlockView, current: ValidatorSet) async throws -> ValidatorSet {
        guard let bytes = Hex.decode(view.header), let header = try? BlockHeader(canonical: bytes) else {
            throw VerifiedBlock.Invalid("block \(view.height)'s header is not canonical hexadecimal")
        }
        guard header.nextValidatorsHash != current.hash else { return current }
        let next = try await source.validators(signing: header.height + 1)
        guard next.hash == header.nextValidatorsHash else {
            throw VerifiedBlock.Invalid("the validator set served for block \(header.height + 1) has hash \(next.hash.hex), not \(header.nextValidatorsHash.hex) as block \(header.height) announces")
        }
        return next
    }

    /// The block's rows, with the holds it posts and the cut-offs of the gateways it settles for read first.
    func rows(of block: VerifiedBlock, sink: PostgresSink) async throws -> BlockRows {
        var posted: Set<ID128> = [], gateways: Set<InstitutionID> = []
        for command in block.transactions.flatMap(\.body.commands) {
            switch command {
            case .postHold(let post): posted.insert(post.id)
            case .voidHold(let void): posted.insert(void.id)
            case .settlement(let entry): gateways.insert(entry.gateway)
            default: break
            }
        }
        var book = HoldBook(try await sink.holds(posted.sorted()))
        let cutoffs = try await sink.cutoffs(gateways.sorted())
        // The reference rates the entries' quotes may have been checked against: their pairs, on
        // the business dates around the block's (a cut-off moves the date by at most one).
        let today = BusinessCalendar.date(of: block.header.time, cutoffMilliseconds: 0).day
        var keys: Set<BlockRows.RateKey> = []
        for case .settlement(let entry) in block.transactions.flatMap(\.body.commands) {
            guard let fx = entry.fx else { continue }
            for day in [today, today &+ 1] { keys.insert(BlockRows.RateKey(fx.unitCurrency, fx.quotedCurrency, BusinessDate(day: day))) }
        }
        let rates = try await sink.referenceRates(Array(keys))
        return try BlockRows(block, book: &book, cutoff: { cutoffs[$0] ?? 0 }, rate: { rates[$0] })
    }
}
