import ArgumentParser
import Foundation
import KHQR
import TonleCrypto
import TonleLedger
import TonleRPC
import TonleTypes

/// `tonle settle ...`: build, sign and submit cross-border settlement entries (docs/settlement.md).
struct SettleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settle", abstract: "Cross-border settlement entries: payments, remittances, refunds, reversals, top-ups, net settlement.",
        discussion: """
            Payments and corrections are signed by the gateway (--key: its key file; creator prefund@GATEWAY unless --creator); outward
            payments and refunds also by the debited account's keys (repeat --key). Top-ups are the central bank's (creator admin@nbc);
            a net settlement needs the central bank's and the gateway's keys.
            """,
        subcommands: [Inward.self, Outward.self, Remit.self, Refund.self, Reversal.self, TopUp.self, Net.self])

    /// The fields every entry has, and the FX quote of the payment kinds.
    struct EntryOptions: ParsableArguments {
        @Option(help: "The gateway (institution id), e.g. alipay.") var gateway: String
        @Option(help: "The gateway's own reference (1-64 of A-Z a-z 0-9 . _ : -), unique per gateway and class for ever.") var reference: String
        @Option(help: "Submitting account (default: prefund@GATEWAY for gateway entries, admin@nbc for the central bank's).") var creator: String?
        @Option(help: "Foreign party: a masked wallet id or name.") var counterparty: String?
        @Option(help: "Foreign party's country, ISO 3166 (CN, TH, ...).") var country: String?
        @Option(help: "ISO 20022 purpose code (MP2B, GP2P, ...).") var purpose: String?
        @Option(help: "ISO 20022 UETR, a version 4 UUID (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx); unique on the ledger.") var uetr: String?

        func gatewayID() throws(CLIError) -> InstitutionID { try Parse.institution(gateway, "--gateway") }

        func creatorID(default fallback: String) throws(CLIError) -> AccountID {
            try Parse.account(creator ?? fallback, "--creator")
        }

        func entry(
            _ kind: SettlementKind, amount: Amount, account: AccountID, original: String? = nil, leg: (ForeignAmount, FXQuote)? = nil,
            khqr: String? = nil, cycle: CycleStatement? = nil, purposeDefault: String? = nil
        ) throws(CLIError) -> Command {
            let gatewayID = try gatewayID()
            let uetr = try uetr.map { text throws(CLIError) in
                guard let value = UETR(text) else { throw CLIError("--uetr: '\(text)' is not a version 4 UUID (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)") }
                return value
            }
            return .settlement(try cli("entry") { () throws(DecodeError) in
                try SettlementEntry(
                    kind: kind, gateway: gatewayID, externalReference: reference, amount: amount, account: account, original: original,
                    foreignAmount: leg?.0, fx: leg?.1, counterparty: counterparty, counterpartyCountry: country, khqrPayload: khqr,
                    purposeCode: purpose ?? purposeDefault, cycle: cycle, uetr: uetr)
            })
        }
    }

    /// The foreign leg: its currency and amount, and the quote converting it. Give the rate and
    /// one of the two amounts; the other is computed exactly as the ledger will check it.
    struct FXOptions: ParsableArguments {
        @Option(help: "Foreign currency, ISO 4217 letters (CNY, THB, ...).") var foreignCurrency: String
        @Option(help: "Foreign amount in its major units (100.00 CNY); computed from --amount when left out and the rate's unit is the ledger currency.") var foreign: String?
        @Option(help: "FX rate: units of the quoted currency per one unit of --rate-unit, as decimal text.") var rate: String
        @Option(help: "The currency the rate is per one unit of: the ledger currency or the foreign one (default: the foreign one).") var rateUnit: String?
        @Option(help: "HALF_EVEN, HALF_UP or DOWN.") var rounding = "HALF_EVEN"
        @Option(help: "Quote id (default: the reference).") var quoteID: String?
        @Option(help: "When the gateway quoted, ms since 1970 (default: a minute ago).") var quotedAtMs: UInt64?
        @Option(help: "Seconds the quote stays valid after it was quoted.") var quoteValidFor: UInt64 = 600

        func validate() throws {
            guard (1...CLILimits.quoteValiditySecondsMax).contains(quoteValidFor) else {
                throw ValidationError("--quote-valid-for is 1 to \(CLILimits.quoteValiditySecondsMax) seconds")
            }
            if let quotedAtMs, quotedAtMs > CLILimits.timeMillisecondsMax { throw ValidationError("--quoted-at-ms is at most \(CLILimits.timeMillisecondsMax)") }
        }

        /// The settlement amount (given, or computed) and the foreign leg.
        func leg(amount given: Amount?, currency: Currency, reference: String) throws(CLIError) -> (Amount, (ForeignAmount, FXQuote)) {
            let foreignCode = foreignCurrency.uppercased()
            guard let foreignExponent = ISOCurrency.exponent(foreignCode), foreignCode != currency.code else {
                throw CLIError("--foreign-currency: \(foreignCode) is not a known ISO 4217 currency other than \(currency.code) (known: \(ISOCurrency.exponents.keys.sorted().joined(separator: " ")))")
            }
            guard let mode = FXRounding(name: rounding.uppercased()) else { throw CLIError("--rounding: HALF_EVEN, HALF_UP or DOWN") }
            let unit = (rateUnit ?? foreignCode).uppercased()
            guard unit == foreignCode || unit == currency.code else { throw CLIError("--rate-unit: \(foreignCode) or \(currency.code)") }
            let quoted = unit == foreignCode ? currency.code : foreignCode
            let quotedAt = quotedAtMs ?? UInt64(Date().timeIntervalSince1970 * 1000) - 60_000
            let quote = try cli("--rate") { () throws(DecodeError) in
                try FXQuote(quoteID: quoteID ?? reference, unitCurrency: unit, quotedCurrency: quoted, rate: rate, rounding: mode,
                            quotedAt: Timestamp(millisecondsSinceEpoch: quotedAt), expiresAt: Timestamp(millisecondsSinceEpoch: quotedAt + quoteValidFor * 1000))
            }
            var foreignMinor = try foreign.map { text throws(CLIError) in try cli("--foreign") { () throws(AmountError) in try DecimalText.parse(text, exponent: foreignExponent, code: foreignCode) } }
            var settlement = given
            if unit == currency.code {   // ledger amount × rate = foreign amount
                guard let given else { throw CLIError("--amount is needed when the rate is per \(currency.code)") }
                let computed = quote.convert(given.minorUnits, fromExponent: currency.exponent, toExponent: foreignExponent)
                if foreignMinor == nil { foreignMinor = computed }
            } else {                     // foreign amount × rate = ledger amount
                guard let foreignMinor else { throw CLIError("--foreign is needed when the rate is per \(foreignCode)") }
                let computed = quote.convert(foreignMinor, fromExponent: foreignExponent, toExponent: currency.exponent)
                if settlement == nil { settlement = computed.map { Amount($0, currency) } }
            }
            guard let settlement, let foreignMinor, settlement.minorUnits > 0, foreignMinor > 0 else {
                throw CLIError("the conversion gives no positive amount (check --rate, --amount, --foreign)")
            }
            let foreignAmount = try cli("--foreign") { () throws(DecodeError) in try ForeignAmount(currency: foreignCode, minorUnits: foreignMinor) }
            return (settlement, (foreignAmount, quote))
        }
    }

    static func amount(_ text: String?, _ currency: String) throws(CLIError) -> Amount? {
        try text.map { text throws(CLIError) in try Parse.amount(text, currency) }
    }

    struct Inward: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "INWARD_QR_PAYMENT: a tourist's wallet paid a Cambodian merchant's KHQR; the gateway's prefund pays the merchant.",
            discussion: "The merchant account, currency and (dynamic) amount come from the KHQR; a static code needs --amount.")
        @OptionGroup var entry: EntryOptions
        @Option(help: "The KHQR payload scanned.") var khqr: String
        @Option(help: "Amount in major units (default: the dynamic KHQR's).") var amount: String?
        @OptionGroup var fx: FXOptions
        @OptionGroup var options: SignOptions

        func run() async throws {
            let code: KHQR
            do { code = try KHQR.decode(khqr, nowMilliseconds: UInt64(Date().timeIntervalSince1970 * 1000)) } catch {
                throw CLIError("--khqr: \(error.code): \(error)")
            }
            let currency = code.currency.code
            let merchant = try Parse.account(code.bakongAccountID, "the KHQR's account")
            let given = try amount.map { text throws(CLIError) in try Parse.amount(text, currency) }
                ?? code.amountMinorUnits.map { Amount($0, try! Parse.currency(currency)) }
            let (settlement, leg) = try fx.leg(amount: given, currency: try Parse.currency(currency), reference: entry.reference)
            let command = try entry.entry(.inwardQRPayment, amount: settlement, account: merchant, leg: leg, khqr: khqr, purposeDefault: "MP2B")
            try await options.run([command], creator: try entry.creatorID(default: "prefund@\(entry.gateway)"))
        }
    }

    struct Outward: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "OUTWARD_QR_PAYMENT: a Bakong user pays a foreign merchant; the payer's account pays the gateway's payable.",
            discussion: "Sign with the gateway's key and the payer's (--key twice).")
        @OptionGroup var entry: EntryOptions
        @Option(help: "The payer's account.") var from: String
        @Option(help: "Amount in major units (default: computed from --foreign and the rate).") var amount: String?
        @Option(help: "KHR or USD.") var currency: String
        @OptionGroup var fx: FXOptions
        @OptionGroup var options: SignOptions

        func run() async throws {
            let (settlement, leg) = try fx.leg(amount: try SettleCommand.amount(amount, currency), currency: try Parse.currency(currency), reference: entry.reference)
            let command = try entry.entry(.outwardQRPayment, amount: settlement, account: try Parse.account(from, "--from"), leg: leg, purposeDefault: "MP2B")
            try await options.run([command], creator: try entry.creatorID(default: "prefund@\(entry.gateway)"))
        }
    }

    struct Remit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "INWARD_REMITTANCE (--to) or OUTWARD_REMITTANCE (--from): money sent home, or abroad.")
        @OptionGroup var entry: EntryOptions
        @Option(help: "Inward: the beneficiary's account.") var to: String?
        @Option(help: "Outward: the sender's account (sign with its keys too).") var from: String?
        @Option(help: "Amount in major units (default: computed from --foreign and the rate).") var amount: String?
        @Option(help: "KHR or USD.") var currency: String
        @OptionGroup var fx: FXOptions
        @OptionGroup var options: SignOptions

        func run() async throws {
            guard (to == nil) != (from == nil) else { throw CLIError("give --to (inward) or --from (outward)") }
            let (settlement, leg) = try fx.leg(amount: try SettleCommand.amount(amount, currency), currency: try Parse.currency(currency), reference: entry.reference)
            let account = try Parse.account(to ?? from!, to != nil ? "--to" : "--from")
            let command = try entry.entry(to != nil ? .inwardRemittance : .outwardRemittance, amount: settlement, account: account, leg: leg, purposeDefault: "GP2P")
            try await options.run([command], creator: try entry.creatorID(default: "prefund@\(entry.gateway)"))
        }
    }

    /// A refund or reversal: the payment it corrects, the Bakong account, the amount.
    struct CorrectionOptions: ParsableArguments {
        @Option(help: "The original payment's reference.") var original: String
        @Option(help: "The Bakong account: the merchant refunding, or the payer repaid.") var account: String
        @Option(help: "Amount in major units (at most what is left of the original).") var amount: String
        @Option(help: "KHR or USD.") var currency: String

        func run(_ kind: SettlementKind, _ entry: EntryOptions, _ options: SignOptions) async throws {
            let command = try entry.entry(kind, amount: try Parse.amount(amount, currency), account: try Parse.account(account, "--account"), original: original)
            try await options.run([command], creator: try entry.creatorID(default: "prefund@\(entry.gateway)"))
        }
    }

    struct Refund: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "REFUND of an inward payment: the merchant pays back into the gateway's prefund (sign with the merchant's keys too).")
        @OptionGroup var entry: EntryOptions
        @OptionGroup var correction: CorrectionOptions
        @OptionGroup var options: SignOptions

        func run() async throws { try await correction.run(.refund, entry, options) }
    }

    struct Reversal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "REVERSAL of an outward payment the gateway could not complete: its payable pays the payer back.")
        @OptionGroup var entry: EntryOptions
        @OptionGroup var correction: CorrectionOptions
        @OptionGroup var options: SignOptions

        func run() async throws { try await correction.run(.reversal, entry, options) }
    }

    struct TopUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "topup", abstract: "PREFUND_TOPUP: the central bank credits a gateway's prefund for a wire it received.")
        @OptionGroup var entry: EntryOptions
        @Option(help: "Amount in major units.") var amount: String
        @Option(help: "KHR or USD.") var currency: String
        @Option(help: "The central bank's issuance account it comes from.") var from = "issuance@nbc"
        @OptionGroup var options: SignOptions

        func run() async throws {
            let command = try entry.entry(.prefundTopUp, amount: try Parse.amount(amount, currency), account: try Parse.account(from, "--from"), purposeDefault: "CASH")
            try await options.run([command], creator: try entry.creatorID(default: "admin@nbc"))
        }
    }

    struct Net: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "NET_SETTLEMENT: close a gateway's past business date in one currency, with the statement the node reports.",
            discussion: """
                Reads the position from the node (GET /v1/gateways/ID/positions), prints the statement, and signs it with the central bank's
                and the gateway's keys (--key twice). The ledger accepts it only if the statement still equals its own.
                """)
        @OptionGroup var entry: EntryOptions
        @Option(help: "KHR or USD.") var currency: String
        @Option(help: "The business date to close, YYYY-MM-DD (ICT).") var date: String
        @Option(help: "Where the payable goes: prefund@GATEWAY (netting by replenishment, default) or an issuance account (paid by wire).") var to: String?
        @OptionGroup var options: SignOptions

        func run() async throws {
            let ledgerCurrency = try Parse.currency(currency)
            guard let businessDate = BusinessDate(date) else { throw CLIError("--date: YYYY-MM-DD") }
            let gateway = try entry.gatewayID()
            let view = try await options.node.withClient { client in
                try await client.get("/v1/gateways/\(gateway.text)/positions?date=\(businessDate)", as: GatewayPositionsView.self)
            }
            guard let p = view.positions.first(where: { $0.currency == ledgerCurrency.code }) else { throw CLIError("the node reported no \(currency) position") }
            if let closed = p.closedBy { throw CLIError("\(gateway) \(currency) \(businessDate) is already closed by \(closed)") }
            func minor(_ text: String) throws(CLIError) -> Int64 {
                try cli("the node's position") { () throws(AmountError) in try Amount(parsing: text.hasPrefix("-") ? String(text.dropFirst()) : text, currency: ledgerCurrency) }
                    .minorUnits * (text.hasPrefix("-") ? -1 : 1)
            }
            guard let digest = Bytes32(hex: p.entriesDigest) else { throw CLIError("the node's entries digest is not hex") }
            let statement = CycleStatement(
                businessDate: businessDate, count: p.count, grossInward: try minor(p.grossInward), grossOutward: try minor(p.grossOutward),
                refunds: try minor(p.refunds), reversals: try minor(p.reversals), topUps: try minor(p.topUps), netSettled: try minor(p.netSettled),
                entriesDigest: Digest(digest))
            if !options.json {
                printFields([("closing", "\(gateway) \(currency) \(businessDate)"), ("entries", "\(p.count)"), ("gross inward", p.grossInward),
                             ("gross outward", p.grossOutward), ("refunds", p.refunds), ("reversals", p.reversals), ("payable due", p.payableDue),
                             ("net position", p.netPosition), ("entries digest", p.entriesDigest)])
            }
            let account = try Parse.account(to ?? "prefund@\(gateway.text)", "--to")
            let command = try entry.entry(.netSettlement, amount: Amount(try minor(p.payableDue), ledgerCurrency), account: account, cycle: statement,
                                          purposeDefault: "CASH")
            try await options.run([command], creator: try entry.creatorID(default: "admin@nbc"))
        }
    }
}
