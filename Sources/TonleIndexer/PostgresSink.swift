import Foundation
import Logging
import NIOCore
import PostgresNIO
import TonleCrypto
import TonleLedger
import TonleTypes

/// Where the indexer stands: the last block written, and the set that signs the next one.
public struct IndexerPosition: Sendable, Equatable {
    public var height: UInt64
    public var blockHash: Digest
    public var nextValidators: ValidatorSet
}

/// The reporting tables in PostgreSQL (schema `tonle`, docs/reporting.md): created when missing,
/// written one block per SQL transaction, so that a kill leaves either all of a block or none
/// of it, and the indexer resumes after the last block whose transaction committed.
public final class PostgresSink: Sendable {
    public static let schemaVersion: Int32 = 1
    let connection: PostgresConnection
    let logger: Logger

    public init(connection: PostgresConnection, logger: Logger) { (self.connection, self.logger) = (connection, logger) }

    public static func connect(_ url: PostgresURL, logger: Logger) async throws -> PostgresSink {
        let connection = try await PostgresConnection.connect(configuration: url.configuration, id: 1, logger: logger)
        return PostgresSink(connection: connection, logger: logger)
    }

    public func close() async { try? await connection.close() }

    /// The tables (docs/reporting.md, "Tables"). Every statement may run again.
    static let schema: [String] = [
        "CREATE SCHEMA IF NOT EXISTS tonle",
        """
        CREATE TABLE IF NOT EXISTS tonle.indexer (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), schema_version integer NOT NULL,
            chain_id text NOT NULL, genesis_hash text NOT NULL, height bigint NOT NULL, block_hash text NOT NULL,
            next_validators bytea NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())
        """,
        "CREATE TABLE IF NOT EXISTS tonle.currencies (code text PRIMARY KEY, exponent smallint NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS tonle.blocks (
            height bigint PRIMARY KEY, hash text NOT NULL UNIQUE, previous_hash text NOT NULL, time timestamptz NOT NULL,
            time_ms bigint NOT NULL, proposer text NOT NULL, transactions integer NOT NULL, applied integer NOT NULL,
            state_root_after text NOT NULL, header bytea NOT NULL, certificate bytea NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS tonle.transactions (
            height bigint NOT NULL, tx_index integer NOT NULL, id text NOT NULL, client_id text NOT NULL, creator text NOT NULL,
            institution text NOT NULL, kind text NOT NULL, commands integer NOT NULL, result text NOT NULL, failed_command integer,
            detail text, bytes bytea NOT NULL, PRIMARY KEY (height, tx_index))
        """,
        "CREATE INDEX IF NOT EXISTS transactions_id ON tonle.transactions (id)",
        "CREATE INDEX IF NOT EXISTS transactions_institution ON tonle.transactions (institution, height)",
        """
        CREATE TABLE IF NOT EXISTS tonle.postings (
            height bigint NOT NULL, tx_index integer NOT NULL, posting_index integer NOT NULL, command integer NOT NULL,
            kind text NOT NULL, account text NOT NULL, institution text NOT NULL, currency text NOT NULL, amount_minor bigint NOT NULL,
            counterparty text NOT NULL, PRIMARY KEY (height, tx_index, posting_index))
        """,
        "CREATE INDEX IF NOT EXISTS postings_account ON tonle.postings (account, height)",
        "CREATE INDEX IF NOT EXISTS postings_institution ON tonle.postings (institution, height)",
        """
        CREATE TABLE IF NOT EXISTS tonle.settlement_entries (
            gateway text NOT NULL, reference_class text NOT NULL, reference text NOT NULL, kind text NOT NULL, height bigint NOT NULL,
            tx_index integer NOT NULL, command integer NOT NULL, time timestamptz NOT NULL, business_date date NOT NULL,
            account text NOT NULL, currency text NOT NULL, amount_minor bigint NOT NULL, foreign_currency text,
            foreign_amount_minor bigint, fx_rate numeric, quote_id text, original text, counterparty text, counterparty_country text,
            purpose text, returned_minor bigint NOT NULL DEFAULT 0, transaction_id text NOT NULL, entry_digest text NOT NULL, uetr uuid UNIQUE,
            reference_rate numeric, deviation_bps integer, PRIMARY KEY (gateway, reference_class, reference))
        """,
        "CREATE INDEX IF NOT EXISTS settlement_entries_day ON tonle.settlement_entries (gateway, business_date, currency)",
        "CREATE INDEX IF NOT EXISTS settlement_entries_account ON tonle.settlement_entries (account, height)",
        """
        CREATE TABLE IF NOT EXISTS tonle.accounts (
            id text PRIMARY KEY, institution text NOT NULL, issuance boolean NOT NULL, opened_height bigint NOT NULL)
        """,
        "CREATE TABLE IF NOT EXISTS tonle.gateways (gateway text PRIMARY KEY, cutoff_ms integer NOT NULL, height bigint NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS tonle.reference_rates (
            unit_currency text NOT NULL, quoted_currency text NOT NULL, business_date date NOT NULL, rate numeric NOT NULL,
            tolerance_bps integer NOT NULL, height bigint NOT NULL, PRIMARY KEY (unit_currency, quoted_currency, business_date))
        """,
        """
        CREATE TABLE IF NOT EXISTS tonle.holds (
            id text PRIMARY KEY, source text NOT NULL, target text NOT NULL, currency text NOT NULL, amount_minor bigint NOT NULL,
            expires_ms bigint NOT NULL, height bigint NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS holds_expiry ON tonle.holds (expires_ms)",
    ]

    /// Why the database cannot take this chain.
    public struct Mismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates what is missing and returns where indexing stands: after genesis for a new
    /// database (its opening balances written), else the last indexed block — of this chain
    /// only (the database's chain id and genesis hash must be `genesis`'s).
    public func prepare(genesis: Genesis) async throws -> IndexerPosition {
        // An existing database is only read: creating what exists would still take table locks,
        // and wait behind any report that holds one.
        let exists = try await connection.query("SELECT to_regclass('tonle.indexer') IS NOT NULL", logger: logger)
        for try await found in exists.decode(Bool.self) where found {
            if let position = try await Self.position(connection, genesis: genesis, logger: logger) { return position }
        }
        // A new database: the tables, the opening balances and the position in one transaction
        // (two indexers started at once: one creates, the other fails, retries and reads).
        return try await connection.withTransaction(logger: logger) { connection in
            for statement in Self.schema { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            try await connection.query("LOCK TABLE tonle.indexer IN EXCLUSIVE MODE", logger: logger)
            if let position = try await Self.position(connection, genesis: genesis, logger: logger) { return position }
            let codes = Currency.allCases.map(\.code), exponents = Currency.allCases.map { Int16($0.exponent) }
            try await connection.query(
                "INSERT INTO tonle.currencies SELECT * FROM unnest(\(codes)::text[], \(exponents)::smallint[]) ON CONFLICT DO NOTHING", logger: logger)
            let rows = BlockRows(genesis: genesis)
            try await Self.insertAccounts(connection, rows, logger: logger)
            try await Self.insertPostings(connection, rows, logger: logger)
            let validators = ByteBuffer(bytes: genesis.validators.encoded)
            try await connection.query("""
                INSERT INTO tonle.indexer (schema_version, chain_id, genesis_hash, height, block_hash, next_validators)
                VALUES (\(Self.schemaVersion), \(genesis.chainID.text), \(genesis.hash.hex), 0, \(Digest.zero.hex), \(validators))
                """, logger: logger)
            return IndexerPosition(height: 0, blockHash: .zero, nextValidators: genesis.validators)
        }
    }

    /// The stored position, checked against `genesis`; nil when the database is new.
    static func position(_ connection: PostgresConnection, genesis: Genesis, logger: Logger) async throws -> IndexerPosition? {
        let rows = try await connection.query(
            "SELECT schema_version, chain_id, genesis_hash, height, block_hash, next_validators FROM tonle.indexer", logger: logger)
        for try await (version, chain, genesisHash, height, hash, validators) in rows.decode((Int32, String, String, Int64, String, ByteBuffer).self) {
            guard version == schemaVersion else { throw Mismatch(description: "the database's tonle schema is version \(version); this indexer writes version \(schemaVersion)") }
            guard chain == genesis.chainID.text, genesisHash == genesis.hash.hex else {
                throw Mismatch(description: "the database indexes chain \(chain) (genesis \(genesisHash)), not \(genesis.chainID.text) (genesis \(genesis.hash.hex)); use another database")
            }
            guard height >= 0, let raw = Bytes32(hex: hash), let set = try? ValidatorSet(canonical: Array(validators.readableBytesView)) else {
                throw Mismatch(description: "tonle.indexer holds a position that does not decode")
            }
            return IndexerPosition(height: UInt64(height), blockHash: Digest(raw), nextValidators: set)
        }
        return nil
    }

    /// The live holds among `ids`, for the block about to be derived.
    public func holds(_ ids: [ID128]) async throws -> [ID128: HoldBook.Hold] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await connection.query(
            "SELECT id, source, target, currency, amount_minor FROM tonle.holds WHERE id = ANY(\(ids.map(\.description)))", logger: logger)
        var found: [ID128: HoldBook.Hold] = [:]
        for try await (id, source, target, currency, amount) in rows.decode((String, String, String, String, Int64).self) {
            guard let id = ID128(hex: id), let source = try? AccountID(source), let target = try? AccountID(target), let currency = Currency(code: currency) else {
                throw Mismatch(description: "tonle.holds holds a row that does not decode")
            }
            found[id] = HoldBook.Hold(source: source, target: target, amount: Amount(amount, currency))
        }
        return found
    }

    /// The cut-offs configured for `gateways` (absent: midnight, the ledger's default).
    public func cutoffs(_ gateways: [InstitutionID]) async throws -> [InstitutionID: UInt32] {
        guard !gateways.isEmpty else { return [:] }
        let rows = try await connection.query(
            "SELECT gateway, cutoff_ms FROM tonle.gateways WHERE gateway = ANY(\(gateways.map(\.text)))", logger: logger)
        var found: [InstitutionID: UInt32] = [:]
        for try await (gateway, cutoff) in rows.decode((String, Int32).self) {
            guard let id = try? InstitutionID(gateway), cutoff >= 0 else { throw Mismatch(description: "tonle.gateways holds a row that does not decode") }
            found[id] = UInt32(cutoff)
        }
        return found
    }

    /// The reference rates published for `keys` (the pairs and dates a block's entries quote).
    public func referenceRates(_ keys: [BlockRows.RateKey]) async throws -> [BlockRows.RateKey: ReferenceRate] {
        guard !keys.isEmpty else { return [:] }
        let rows = try await connection.query("""
            SELECT unit_currency, quoted_currency, business_date::text, rate::text, tolerance_bps FROM tonle.reference_rates
            WHERE (unit_currency || '/' || quoted_currency || '/' || business_date::text) = ANY(\(keys.map { "\($0.unit)/\($0.quoted)/\($0.date)" }))
            """, logger: logger)
        var found: [BlockRows.RateKey: ReferenceRate] = [:]
        for try await (unit, quoted, day, rate, tolerance) in rows.decode((String, String, String, String, Int32).self) {
            guard let date = BusinessDate(day), let bps = UInt16(exactly: tolerance),
                  let stored = try? ReferenceRate(unitCurrency: unit, quotedCurrency: quoted, businessDate: date, rate: rate, toleranceBasisPoints: bps)
            else { throw Mismatch(description: "tonle.reference_rates holds a row that does not decode") }
            found[BlockRows.RateKey(unit, quoted, date)] = stored
        }
        return found
    }

    /// Writes `block` and its rows in one SQL transaction, after `previous` (which the stored
    /// position must still be: a second indexer that got there first makes this one stop).
    public func write(_ block: VerifiedBlock, _ rows: BlockRows, after previous: IndexerPosition) async throws {
        let header = block.header
        guard header.height <= Limits.heightMax else { throw Mismatch(description: "block height \(header.height) is beyond the ledger's range") }
        let height = Int64(header.height), time = Self.signed(header.time.millisecondsSinceEpoch)
        try await connection.withTransaction(logger: logger) { connection in
            let stored = try await connection.query("SELECT height, block_hash FROM tonle.indexer FOR UPDATE", logger: logger)
            var current: (Int64, String)?
            for try await row in stored.decode((Int64, String).self) { current = row }
            guard let current, current.0 == Int64(previous.height), current.1 == previous.blockHash.hex else {
                throw Mismatch(description: "another indexer moved tonle.indexer to \(current.map { "height \($0.0)" } ?? "nothing") while this one was at \(previous.height); run one indexer per database")
            }
            let applied = Int32(block.results.filter(\.isApplied).count)
            try await connection.query("""
                INSERT INTO tonle.blocks VALUES (\(height), \(header.hash.hex), \(header.previousBlockHash.hex), to_timestamp(\(time)::double precision / 1000),
                \(time), \(header.proposer.hex), \(Int32(block.transactions.count)), \(applied), \(block.stateRootAfter.hex),
                \(ByteBuffer(bytes: block.headerBytes)), \(ByteBuffer(bytes: block.certificateBytes))) ON CONFLICT DO NOTHING
                """, logger: logger)
            try await Self.insertTransactions(connection, rows, logger: logger)
            try await Self.insertPostings(connection, rows, logger: logger)
            try await Self.insertEntries(connection, rows, time: time, logger: logger)
            try await Self.insertAccounts(connection, rows, logger: logger)
            for (gateway, cutoff) in rows.cutoffs {
                try await connection.query("""
                    INSERT INTO tonle.gateways VALUES (\(gateway), \(Int32(cutoff)), \(height))
                    ON CONFLICT (gateway) DO UPDATE SET cutoff_ms = EXCLUDED.cutoff_ms, height = EXCLUDED.height
                    """, logger: logger)
            }
            for rate in rows.rates {
                try await connection.query("""
                    INSERT INTO tonle.reference_rates VALUES (\(rate.unitCurrency), \(rate.quotedCurrency), \(rate.businessDate.description)::date,
                    \(rate.rate)::numeric, \(Int32(rate.toleranceBasisPoints)), \(height))
                    ON CONFLICT (unit_currency, quoted_currency, business_date) DO UPDATE
                    SET rate = EXCLUDED.rate, tolerance_bps = EXCLUDED.tolerance_bps, height = EXCLUDED.height
                    """, logger: logger)
            }
            for (gateway, reference, amount) in rows.returns {
                try await connection.query("""
                    UPDATE tonle.settlement_entries SET returned_minor = returned_minor + \(amount)
                    WHERE gateway = \(gateway) AND reference_class = 'payment' AND reference = \(reference)
                    """, logger: logger)
            }
            try await Self.writeHolds(connection, rows, height: height, time: time, logger: logger)
            try await connection.query("""
                UPDATE tonle.indexer SET height = \(height), block_hash = \(header.hash.hex),
                next_validators = \(ByteBuffer(bytes: block.nextValidators.encoded)), updated_at = now()
                """, logger: logger)
        }
    }

    // MARK: Rows

    /// A certified UInt64 as a bigint (heights and times are far below 2^63; clamp, never trap).
    static func signed(_ value: UInt64) -> Int64 { Int64(clamping: value) }

    static func insertTransactions(_ connection: PostgresConnection, _ rows: BlockRows, logger: Logger) async throws {
        let t = rows.transactions
        guard !t.isEmpty else { return }
        let height = [Int64](repeating: Int64(clamping: rows.height), count: t.count)
        try await connection.query("""
            INSERT INTO tonle.transactions SELECT h, i, id, c, cr, inst, k, n, r, NULLIF(f, -1), NULLIF(d, ''), b FROM unnest(
            \(height)::bigint[], \(t.map(\.index))::integer[], \(t.map(\.id))::text[], \(t.map(\.clientID))::text[], \(t.map(\.creator))::text[],
            \(t.map(\.institution))::text[], \(t.map(\.kind))::text[], \(t.map(\.commands))::integer[], \(t.map(\.result))::text[],
            \(t.map { $0.failedCommand ?? -1 })::integer[], \(t.map { $0.detail ?? "" })::text[], \(t.map { ByteBuffer(bytes: $0.bytes) })::bytea[])
            AS u(h, i, id, c, cr, inst, k, n, r, f, d, b) ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    static func insertPostings(_ connection: PostgresConnection, _ rows: BlockRows, logger: Logger) async throws {
        let p = rows.postings
        guard !p.isEmpty else { return }
        let height = [Int64](repeating: Int64(clamping: rows.height), count: p.count)
        try await connection.query("""
            INSERT INTO tonle.postings SELECT * FROM unnest(
            \(height)::bigint[], \(p.map(\.transactionIndex))::integer[], \(p.map(\.index))::integer[], \(p.map(\.command))::integer[],
            \(p.map(\.kind))::text[], \(p.map(\.account))::text[], \(p.map(\.institution))::text[], \(p.map(\.currency))::text[],
            \(p.map(\.amount))::bigint[], \(p.map(\.counterparty))::text[]) ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    static func insertEntries(_ connection: PostgresConnection, _ rows: BlockRows, time: Int64, logger: Logger) async throws {
        let e = rows.entries
        guard !e.isEmpty else { return }
        let height = [Int64](repeating: Int64(clamping: rows.height), count: e.count)
        try await connection.query("""
            INSERT INTO tonle.settlement_entries SELECT g, rc, r, k, h, i, c, to_timestamp(\(time)::double precision / 1000), bd::date, a, cur, amt,
                NULLIF(fc, ''), NULLIF(fa, -1), NULLIF(fx, '')::numeric, NULLIF(q, ''), NULLIF(o, ''), NULLIF(cp, ''), NULLIF(cc, ''), NULLIF(pu, ''),
                0, t, dg, NULLIF(ue, '')::uuid, NULLIF(rr, '')::numeric, NULLIF(dv, -1)
            FROM unnest(\(e.map(\.gateway))::text[], \(e.map(\.referenceClass))::text[], \(e.map(\.reference))::text[], \(e.map(\.kind))::text[],
                \(height)::bigint[], \(e.map(\.transactionIndex))::integer[], \(e.map(\.command))::integer[], \(e.map(\.businessDate.description))::text[],
                \(e.map(\.account))::text[], \(e.map(\.currency))::text[], \(e.map(\.amount))::bigint[], \(e.map { $0.foreignCurrency ?? "" })::text[],
                \(e.map { $0.foreignAmount ?? -1 })::bigint[], \(e.map { $0.fxRate ?? "" })::text[], \(e.map { $0.quoteID ?? "" })::text[],
                \(e.map { $0.original ?? "" })::text[], \(e.map { $0.counterparty ?? "" })::text[], \(e.map { $0.counterpartyCountry ?? "" })::text[],
                \(e.map { $0.purpose ?? "" })::text[], \(e.map(\.transaction))::text[], \(e.map(\.entryDigest))::text[], \(e.map { $0.uetr ?? "" })::text[],
                \(e.map { $0.referenceRate ?? "" })::text[], \(e.map { $0.deviationBasisPoints ?? -1 })::integer[])
            AS u(g, rc, r, k, h, i, c, bd, a, cur, amt, fc, fa, fx, q, o, cp, cc, pu, t, dg, ue, rr, dv) ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    static func insertAccounts(_ connection: PostgresConnection, _ rows: BlockRows, logger: Logger) async throws {
        let a = rows.accounts
        guard !a.isEmpty else { return }
        let height = [Int64](repeating: Int64(clamping: rows.height), count: a.count)
        try await connection.query("""
            INSERT INTO tonle.accounts SELECT * FROM unnest(\(a.map(\.id))::text[], \(a.map(\.institution))::text[], \(a.map(\.issuance))::boolean[],
            \(height)::bigint[]) ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// The holds the block touched: what is left of each, and none that expired by its time.
    static func writeHolds(_ connection: PostgresConnection, _ rows: BlockRows, height: Int64, time: Int64, logger: Logger) async throws {
        let live = rows.holds.compactMap { entry in entry.hold.map { (entry.id, $0, entry.expiresMilliseconds) } }
        let gone = rows.holds.filter { $0.hold == nil }.map(\.id.description)
        if !gone.isEmpty { try await connection.query("DELETE FROM tonle.holds WHERE id = ANY(\(gone))", logger: logger) }
        if !live.isEmpty {
            let heights = [Int64](repeating: height, count: live.count)
            try await connection.query("""
                INSERT INTO tonle.holds SELECT * FROM unnest(\(live.map(\.0.description))::text[], \(live.map(\.1.source.text))::text[],
                \(live.map(\.1.target.text))::text[], \(live.map(\.1.amount.currency.code))::text[], \(live.map(\.1.amount.minorUnits))::bigint[],
                \(live.map { signed($0.2) })::bigint[], \(heights)::bigint[])
                ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, target = EXCLUDED.target, currency = EXCLUDED.currency,
                amount_minor = EXCLUDED.amount_minor, expires_ms = EXCLUDED.expires_ms, height = EXCLUDED.height
                """, logger: logger)
        }
        // A hold is live while the block time is before its expiry (the ledger's rule).
        try await connection.query("DELETE FROM tonle.holds WHERE expires_ms <= \(time)", logger: logger)
    }
}
