import Foundation
import TonleCrypto
import TonleLedger
import TonleTypes

/// What one verified block adds to the reporting tables (docs/reporting.md), derived from its
/// transactions and results alone: the money each applied command moved (`HoldBook`), the
/// settlement entries it recorded, the accounts it opened and the gateways it configured.
public struct BlockRows: Sendable {
    public struct TransactionRow: Sendable, Equatable {
        public var index: Int32
        public var id: String
        public var clientID: String
        public var creator: String
        public var institution: String
        public var kind: String
        public var commands: Int32
        public var result: String
        /// The failing command's index and the rule, for a rejection.
        public var failedCommand: Int32?
        public var detail: String?
        public var bytes: [UInt8]
    }

    /// One side of a movement: `amount` (negative for the debit) on `account`.
    public struct PostingRow: Sendable, Equatable {
        public var transactionIndex: Int32
        public var index: Int32
        public var command: Int32
        public var kind: String
        public var account: String
        public var institution: String
        public var currency: String
        public var amount: Int64
        public var counterparty: String
    }

    public struct EntryRow: Sendable, Equatable {
        public var gateway: String
        public var referenceClass: String
        public var reference: String
        public var kind: String
        public var transactionIndex: Int32
        public var command: Int32
        public var businessDate: BusinessDate
        public var account: String
        public var currency: String
        public var amount: Int64
        public var foreignCurrency: String?
        public var foreignAmount: Int64?
        public var fxRate: String?
        public var quoteID: String?
        public var original: String?
        public var counterparty: String?
        public var counterpartyCountry: String?
        public var purpose: String?
        public var uetr: String?
        /// The reference rate the quote was checked against, and the deviation (as the ledger computes them).
        public var referenceRate: String?
        public var deviationBasisPoints: Int32?
        public var transaction: String
        public var entryDigest: String
    }

    public struct AccountRow: Sendable, Equatable {
        public var id: String
        public var institution: String
        public var issuance: Bool
    }

    public let height: UInt64
    public private(set) var transactions: [TransactionRow] = []
    public private(set) var postings: [PostingRow] = []
    public private(set) var entries: [EntryRow] = []
    public private(set) var accounts: [AccountRow] = []
    /// Gateways whose cut-off an applied command set, with the new cut-off (the last one wins).
    public private(set) var cutoffs: [(gateway: String, milliseconds: UInt32)] = []
    /// Refunds and reversals: the original payment and the amount returned against it.
    public private(set) var returns: [(gateway: String, reference: String, amount: Int64)] = []
    /// Reference rates the central bank published (or corrected) in this block.
    public private(set) var rates: [ReferenceRate] = []
    /// The holds this block opened, posted or voided, each once with what is left of it after the
    /// block (nil: gone), sorted by id.
    public private(set) var holds: [(id: ID128, hold: HoldBook.Hold?, expiresMilliseconds: UInt64)] = []

    /// Why rows could not be derived: the store lacks what an applied command needs.
    public struct Incomplete: Error, CustomStringConvertible {
        public let description: String
    }

    /// A reference rate's key: unit, quoted, business date.
    public struct RateKey: Hashable, Sendable {
        public let unit: String, quoted: String, date: BusinessDate
        public init(_ unit: String, _ quoted: String, _ date: BusinessDate) { (self.unit, self.quoted, self.date) = (unit, quoted, date) }
    }

    /// The rows of `block`. `book` holds every live hold the block may post (it is updated);
    /// `cutoff` gives a gateway's business-date cut-off before this block, `rate` a reference rate
    /// published before it.
    public init(_ block: VerifiedBlock, book: inout HoldBook, cutoff: (InstitutionID) -> UInt32, rate: (RateKey) -> ReferenceRate? = { _ in nil }) throws(Incomplete) {
        height = block.header.height
        var configured: [InstitutionID: UInt32] = [:], expiries: [ID128: UInt64] = [:], published: [RateKey: ReferenceRate] = [:]
        book.clearClosed()
        for (position, (transaction, result)) in zip(block.transactions, block.results).enumerated() {
            let index = Int32(position)  // a block holds at most Limits.blockTransactionsMax
            let body = transaction.body
            var failed: Int32?, detail: String?
            if case .rejected(_, let command, let rule) = result { (failed, detail) = (command.map(Int32.init), rule?.name) }
            transactions.append(TransactionRow(
                index: index, id: transaction.id.digest.hex, clientID: body.clientID.description, creator: body.creator.text,
                institution: body.creator.institution.text, kind: body.commands.first?.kindName ?? "EMPTY", commands: Int32(body.commands.count),
                result: result.code, failedCommand: failed, detail: detail, bytes: transaction.encoded))
            guard result.isApplied else { continue }
            for (commandIndex, command) in body.commands.enumerated() {
                let commandNumber = Int32(commandIndex)  // at most Limits.commandsPerTransactionMax
                guard let movements = book.movements(of: command) else {
                    throw Incomplete(description: "block \(height) transaction \(index) posts a hold the index does not have (was it indexed from block 1?)")
                }
                for movement in movements {
                    // Execution moved only positive amounts; a negative one cannot be certified.
                    guard movement.amount.minorUnits > 0 else { throw Incomplete(description: "block \(height) moves a non-positive amount") }
                    for (account, other, amount) in [(movement.debit, movement.credit, -movement.amount.minorUnits), (movement.credit, movement.debit, movement.amount.minorUnits)] {
                        postings.append(PostingRow(
                            transactionIndex: index, index: Int32(postings.count), command: commandNumber, kind: command.kindName, account: account.text,
                            institution: account.institution.text, currency: movement.amount.currency.code, amount: amount, counterparty: other.text))
                    }
                }
                switch command {
                case .hold(let hold):
                    let (expiry, overflow) = block.header.time.millisecondsSinceEpoch.addingReportingOverflow(hold.timeoutMilliseconds)
                    expiries[hold.id] = overflow ? .max : expiry
                case .setReferenceRate(let reference):
                    published[RateKey(reference.unitCurrency, reference.quotedCurrency, reference.businessDate)] = reference
                    rates.append(reference)
                case .createAccount(let create):
                    accounts.append(AccountRow(id: create.id.text, institution: create.id.institution.text, issuance: create.flags.contains(.issuance)))
                case .configureGateway(let config):
                    configured[config.gateway] = config.cutoffMilliseconds
                    cutoffs.append((config.gateway.text, config.cutoffMilliseconds))
                case .settlement(let entry):
                    let date = BusinessCalendar.date(of: block.header.time, cutoffMilliseconds: configured[entry.gateway] ?? cutoff(entry.gateway))
                    // The ledger applied the entry, so its quote lay within the band of this rate, if any.
                    let reference = entry.fx.flatMap { fx in
                        let key = RateKey(fx.unitCurrency, fx.quotedCurrency, date)
                        return published[key] ?? rate(key)
                    }
                    let deviation = entry.fx.flatMap { fx in reference?.deviationBasisPoints(fx.rate) }
                    entries.append(EntryRow(
                        gateway: entry.gateway.text, referenceClass: entry.kind.referenceClass.name, reference: entry.externalReference, kind: entry.kind.name,
                        transactionIndex: index, command: commandNumber, businessDate: date, account: entry.account.text, currency: entry.amount.currency.code,
                        amount: entry.amount.minorUnits, foreignCurrency: entry.foreignAmount?.currency, foreignAmount: entry.foreignAmount?.minorUnits,
                        fxRate: entry.fx?.rate, quoteID: entry.fx?.quoteID, original: entry.original, counterparty: entry.counterparty,
                        counterpartyCountry: entry.counterpartyCountry, purpose: entry.purposeCode, uetr: entry.uetr?.description,
                        referenceRate: reference?.rate, deviationBasisPoints: deviation.map { Int32(clamping: $0) },
                        transaction: transaction.id.digest.hex,
                        entryDigest: entry.digest.hex))
                    if let original = entry.original, entry.kind == .refund || entry.kind == .reversal {
                        returns.append((entry.gateway.text, original, entry.amount.minorUnits))
                    }
                default:
                    break
                }
            }
        }
        let touched = Set(expiries.keys).union(book.closed).sorted()
        holds = touched.map { id in (id, book.holds[id], expiries[id] ?? 0) }
    }

    /// Opening balances: genesis's accounts, and their balances as postings at height 0.
    public init(genesis: Genesis) {
        height = 0
        for account in genesis.accounts {
            accounts.append(AccountRow(id: account.id.text, institution: account.id.institution.text, issuance: account.flags.contains(.issuance)))
            for balance in account.balances where balance.minorUnits != 0 {
                postings.append(PostingRow(
                    transactionIndex: 0, index: Int32(postings.count), command: 0, kind: "GENESIS", account: account.id.text,
                    institution: account.id.institution.text, currency: balance.currency.code, amount: balance.minorUnits, counterparty: ""))
            }
        }
    }
}

extension Command {
    /// The stable name of the command's kind (a settlement entry's is the entry's kind).
    public var kindName: String {
        switch self {
        case .transfer: "TRANSFER"
        case .hold: "HOLD"
        case .postHold: "HOLD_POSTED"
        case .voidHold: "HOLD_VOIDED"
        case .settlement(let entry): entry.kind.name
        case .createParticipant: "CREATE_PARTICIPANT"
        case .createAccount: "CREATE_ACCOUNT"
        case .setKeys: "SET_KEYS"
        case .freeze: "FREEZE"
        case .unfreeze: "UNFREEZE"
        case .issue: "ISSUE"
        case .redeem: "REDEEM"
        case .setLimits: "SET_LIMITS"
        case .addValidator: "ADD_VALIDATOR"
        case .removeValidator: "REMOVE_VALIDATOR"
        case .configureGateway: "CONFIGURE_GATEWAY"
        case .setReferenceRate: "SET_REFERENCE_RATE"
        }
    }
}
